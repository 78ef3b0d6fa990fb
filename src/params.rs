// SPDX-License-Identifier: GPL-2.0

//! The module parameters (declared in `src/shim/params.c`): `kprobes=`,
//! `kretprobes=` and `uprobes=`, whose items each become a control line,
//! run like a write to `probes` (errors go to the kernel log as well as
//! `error_log`), with insmod's credentials for a user probe's ptrace check.
//! On the first bad item, nothing stays registered and the module does not
//! load. The limits of user probes a load may lower (`max_uprobes=`,
//! `max_uprobe_procs=`, `xol_slots=`; [`set_limits`]), and `selftest=1`,
//! which creates the `selftest` file.
//!
//! Context: module init (sleepable).

use crate::files::State;
use crate::lang::lex::FixedBuf;
use crate::lang::line::is_user_target;
use crate::sys::bindings;
use kernel::prelude::*;

/// Sets the limits of user probes from `max_uprobes=`,
/// `max_uprobe_procs=` and `xol_slots=`: each at least 1 and at most its
/// default, or the load fails with `EINVAL` (and the reason in the kernel
/// log).
pub(crate) fn set_limits() -> Result {
    // SAFETY: Plain reads of the module's own parameters.
    let (probes, procs, slots) = unsafe {
        (
            bindings::rprobes_param_max_uprobes(),
            bindings::rprobes_param_max_uprobe_procs(),
            bindings::rprobes_param_xol_slots(),
        )
    };
    for (name, v, max) in [
        ("max_uprobes", probes, bindings::RPROBES_MAX_UPROBES),
        (
            "max_uprobe_procs",
            procs,
            bindings::RPROBES_MAX_UPROBE_PROCS,
        ),
        ("xol_slots", slots, bindings::RPROBES_XOL_SLOTS),
    ] {
        if v == 0 || v > max {
            pr_err!("{}={}: must be 1 to {}\n", name, v, max);
            return Err(EINVAL);
        }
    }
    crate::uprobes::set_limits(probes as usize, procs as usize, slots as usize);
    Ok(())
}

/// Whether the module was loaded with `selftest=1` (the `selftest` file,
/// for the test suite, exists only then).
pub(crate) fn selftest() -> bool {
    // SAFETY: Reads the module's `bool` parameter, written only while the
    // module loads (the parameter is read-only in sysfs).
    unsafe { bindings::rprobes_param_selftest() }
}

/// Adds the probes of the `kprobes=`, `kretprobes=`, `uprobes=` and
/// `uretprobes=` parameters; on the first bad item nothing stays
/// registered.
pub(crate) fn add_param_probes(state: &State) -> Result {
    // SAFETY: The shim returns pointers to the module's NUL-terminated
    // parameter buffers, which live as long as the module.
    let (kp, krp, up, urp) = unsafe {
        (
            CStr::from_char_ptr(bindings::rprobes_param_kprobes()),
            CStr::from_char_ptr(bindings::rprobes_param_kretprobes()),
            CStr::from_char_ptr(bindings::rprobes_param_uprobes()),
            CStr::from_char_ptr(bindings::rprobes_param_uretprobes()),
        )
    };
    let r = add_param_list(state, "kprobes", kp.to_str().map_err(|_| EINVAL)?)
        .and_then(|()| add_param_list(state, "kretprobes", krp.to_str().map_err(|_| EINVAL)?))
        .and_then(|()| add_param_list(state, "uprobes", up.to_str().map_err(|_| EINVAL)?))
        .and_then(|()| add_param_list(state, "uretprobes", urp.to_str().map_err(|_| EINVAL)?));
    if r.is_err() {
        state.unregister_all(false);
    }
    r
}

/// One parameter's items: `SYM[+OFF]|ADDR` (`kprobes`),
/// `SYM[:MAXACTIVE]` (`kretprobes`, as the line `r[MAXACTIVE] SYM`), or
/// `PID:0xADDR|[PID:]PATH:0xOFF|[PID:]PATH:SYMBOL[+OFF]` (`uprobes`, and
/// `uretprobes` as the line `r POINT`).
fn add_param_list(state: &State, param: &str, list: &str) -> Result {
    use core::fmt::Write;
    for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        // Each parameter takes its own kind of point only: the line
        // parser would otherwise take `uprobes=vfs_read` for a kernel
        // probe and `kprobes=PID:0xADDR` for a user one.
        let user = is_user_target(item);
        if param.starts_with('u') && !user {
            pr_err!(
                "{}=: cannot probe '{}': not a user probe point (PID:0xADDR, [PID:]PATH:0xOFF or [PID:]PATH:SYMBOL[+OFF])\n",
                param,
                item
            );
            return Err(EINVAL);
        }
        if param == "kprobes" && user {
            pr_err!(
                "kprobes=: cannot probe '{}': not a kernel probe point (a user one goes in uprobes=)\n",
                item
            );
            return Err(EINVAL);
        }
        let mut line = FixedBuf::<{ bindings::RPROBES_PARAM_MAX as usize + 16 }>::new();
        let written = if param == "uretprobes" {
            write!(line, "r {item}")
        } else if param == "kretprobes" {
            match item.rsplit_once(':') {
                Some((sym, n)) if !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()) => {
                    write!(line, "r{n} {sym}")
                }
                _ => write!(line, "r {item}"),
            }
        } else {
            write!(line, "p {item}")
        };
        written.map_err(|_| E2BIG)?;
        if let Err((e, kind)) = state.exec(line.as_str().as_bytes()) {
            // As `error_log` says it: the message, then the detail (a
            // refused instruction's reason).
            let (sep, detail) = match kind.detail() {
                Some(d) => (": ", d),
                None => ("", ""),
            };
            pr_err!(
                "{}=: cannot probe '{}': {}{}{} (errno {})\n",
                param,
                item,
                kind.message(),
                sep,
                detail,
                -e.to_errno()
            );
            return Err(e);
        }
    }
    Ok(())
}

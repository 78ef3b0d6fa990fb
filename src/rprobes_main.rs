// SPDX-License-Identifier: GPL-2.0

//! rprobes: dynamic probes on kernel functions, controlled through debugfs
//! with the tracefs `kprobe_events` line syntax.
//!
//! ```text
//! insmod rprobes.ko kprobes=vfs_read,do_sys_openat2
//! echo 'p:myprobe vfs_read+16' >> /sys/kernel/debug/rprobes/probes
//! cat /sys/kernel/debug/rprobes/profile
//! ```
//!
//! Layout: pure logic that is also tested on the host ([`probe_line`],
//! [`hist`], [`retlayout`], [`kallsyms`]); thin `unsafe` wrappers over
//! kernel APIs ([`kprobe`], [`percpu`], [`control`], [`kbind`], and the
//! return trampoline [`trampoline`]); safe probe logic on top
//! ([`registry`], [`retprobe`], [`files`], [`error_log`]).
//!
//! Lock order: `State::registry` before `State::errors` (see
//! [`registry`]); an open control file's own mutex before both (see
//! [`control`]).

use kernel::{new_mutex, prelude::*, sync::Mutex};

mod control;
mod error_log;
mod events;
pub mod fetch_arg;
mod fetch_eval;
pub mod fetch_fmt;
mod files;
mod filter;
pub mod hist;
pub mod insn;
pub mod kallsyms;
mod kbind;
mod kprobe;
mod percpu;
pub mod probe_line;
mod registry;
pub mod retlayout;
mod retprobe;
mod selftest;
mod symtab;
mod trampoline;
mod uprobe;
pub mod uprobe_target;
mod uprobes;
/// Kernel structure offsets of the pure code (`fetch_arg`), from bindgen.
pub mod vfs_layout {
    pub use crate::kbind::{DENTRY_NAME_OFFSET, FILE_DENTRY_OFFSET};
}
mod xol;

use error_log::ErrorLog;
use probe_line::{ErrorKind, ParseError};
use registry::Registry;

module! {
    type: RProbes,
    name: "rprobes",
    authors: ["rprobes developers"],
    description: "Dynamic kernel probes with a tracefs-compatible debugfs interface",
    license: "GPL",
}

/// Everything the control files and the probes share.
#[pin_data]
pub(crate) struct State {
    /// The probes. Taken before `errors`.
    #[pin]
    pub(crate) registry: Mutex<Registry>,
    /// Recently rejected commands.
    #[pin]
    pub(crate) errors: Mutex<ErrorLog>,
    /// The result of the last `explain` line.
    #[pin]
    pub(crate) explain: Mutex<KVec<u8>>,
    /// The event stream. Dropped after `registry` (whose drop unregisters
    /// every probe, so no handler writes into it any more).
    pub(crate) events: events::Events,
}

/// Monotonic time in ns, for `error_log` time stamps.
fn now_ns() -> u64 {
    // SAFETY: `ktime_get` has no preconditions in process context.
    unsafe { kernel::bindings::ktime_get() as u64 }
}

/// `line` with non-printable bytes shown as `?` (for the error log only).
fn printable(line: &[u8]) -> Result<KVec<u8>> {
    let mut v = KVec::with_capacity(line.len(), GFP_KERNEL)?;
    for &b in line {
        let c = if b == b'\t' || (0x20..0x7f).contains(&b) {
            b
        } else {
            b'?'
        };
        v.push(c, GFP_KERNEL)?;
    }
    Ok(v)
}

impl State {
    /// Runs one control line; a rejected line is logged in `error_log`.
    pub(crate) fn run_line(&self, raw: &[u8]) -> Result {
        self.exec(raw).map_err(|(e, _)| e)
    }

    /// Like [`Self::run_line`], also returning the reason of a rejection.
    fn exec(&self, raw: &[u8]) -> core::result::Result<(), (Error, ErrorKind)> {
        let line = match core::str::from_utf8(raw) {
            Ok(l) if !raw.contains(&0) => l,
            _ => {
                let kind = ErrorKind::BadEncoding;
                let err = ParseError::new(kind, 0);
                return Err((self.log(raw, err, kind.errno()), kind));
            }
        };
        let res = self.registry.lock().execute(line);
        res.map_err(|e| (self.log(line.as_bytes(), e.err, e.errno), e.err.kind))
    }

    /// Logs a line that grew past `MAX_LINE_LEN`.
    pub(crate) fn log_overlong(&self) -> Error {
        let err = ParseError::new(ErrorKind::LineTooLong, 0);
        self.log(b"(overlong line)", err, ErrorKind::LineTooLong.errno())
    }

    /// Logs a clear (`> probes`) that left probes registered: the kernel
    /// could not disarm them (see `KProbe::unregister`).
    pub(crate) fn log_clear(&self, e: Error) -> Error {
        let e = registry::unreg_error(e);
        self.log(b"(clear)", e.err, e.errno)
    }

    fn log(&self, raw: &[u8], err: ParseError, errno: i32) -> Error {
        if let Ok(text) = printable(raw) {
            // `printable` only keeps ASCII, so this cannot fail.
            let line = core::str::from_utf8(&text).unwrap_or("");
            self.errors.lock().add(now_ns(), line, &err);
        }
        Error::from_errno(-errno)
    }

    /// Adds the probes of the `kprobes=`, `kretprobes=` and `uprobes=`
    /// parameters; on the first bad item nothing stays registered.
    fn add_param_probes(&self) -> Result {
        // SAFETY: The shim returns pointers to the module's NUL-terminated
        // parameter buffers, which live as long as the module.
        let (kp, krp, up) = unsafe {
            (
                CStr::from_char_ptr(kbind::rprobes_param_kprobes()),
                CStr::from_char_ptr(kbind::rprobes_param_kretprobes()),
                CStr::from_char_ptr(kbind::rprobes_param_uprobes()),
            )
        };
        let r = self
            .add_param_list("kprobes", kp.to_str().map_err(|_| EINVAL)?)
            .and_then(|()| self.add_param_list("kretprobes", krp.to_str().map_err(|_| EINVAL)?))
            .and_then(|()| self.add_param_list("uprobes", up.to_str().map_err(|_| EINVAL)?));
        if r.is_err() {
            self.unregister_all(false);
        }
        r
    }

    /// Removes every probe (with `shutdown`, also forgets every probed
    /// address space), waiting while the kernel cannot disarm a kernel
    /// probe (no memory, see `KProbe::unregister`): afterwards no handler
    /// runs and no return is hijacked any more.
    fn unregister_all(&self, shutdown: bool) {
        let mut tries = 0u32;
        loop {
            let mut reg = self.registry.lock();
            let res = if shutdown {
                reg.shutdown()
            } else {
                reg.clear()
            };
            drop(reg);
            if res.is_ok() {
                return;
            }
            if tries % 1000 == 0 {
                pr_warn!("cannot disarm every probe (out of memory?), retrying\n");
            }
            tries = tries.wrapping_add(1);
            // SAFETY: Process context (module init or exit).
            unsafe { kbind::msleep(10) };
        }
    }

    /// One parameter's items: `SYM[+OFF]|ADDR` (`kprobes`),
    /// `SYM[:MAXACTIVE]` (`kretprobes`, as the line `r[MAXACTIVE] SYM`), or
    /// `PID:0xADDR|PID:PATH:0xOFF` (`uprobes`).
    fn add_param_list(&self, param: &str, list: &str) -> Result {
        use core::fmt::Write;
        for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            // Each parameter takes its own kind of point only: the line
            // parser would otherwise take `uprobes=vfs_read` for a kernel
            // probe and `kprobes=PID:0xADDR` for a user one.
            let user = probe_line::is_user_target(item);
            if param == "uprobes" && !user {
                pr_err!(
                    "uprobes=: cannot probe '{}': not a user probe point (PID:0xADDR or PID:PATH:0xOFF)\n",
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
            let mut line =
                probe_line::FixedBuf::<{ kbind::RPROBES_PARAM_MAX as usize + 16 }>::new();
            let written = if param == "kretprobes" {
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
            if let Err((e, kind)) = self.exec(line.as_str().as_bytes()) {
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
}

struct RProbes {
    /// Dropped first: no control file can run once the state goes.
    _dir: control::Dir,
    /// Dropped after every probe is unregistered (see `Drop`) and before
    /// the state: waits for returns in flight, whose probes the state owns.
    _ret: retprobe::RetGlobal,
    /// Dropped after every user probe is gone (see `Drop`), before the
    /// state its reaper uses.
    _user: uprobes::UGlobal,
    state: Pin<KBox<State>>,
    _modules: symtab::ModuleWatch,
}

impl kernel::Module for RProbes {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let events = events::Events::new()?;
        let state = KBox::pin_init(
            pin_init!(State {
                registry <- new_mutex!(Registry::new()),
                errors <- new_mutex!(ErrorLog::new()),
                explain <- new_mutex!(KVec::new()),
                events,
            }),
            GFP_KERNEL,
        )?;
        let modules = symtab::ModuleWatch::new()?;
        let ret = retprobe::RetGlobal::new()?;
        let user = uprobes::UGlobal::new(&state)?;
        // From here on, a failure removes the probes before `user` and
        // `ret` go (`ret` waits for the returns in flight, which need their
        // probes: the state goes last), as `drop` does.
        let files = state.add_param_probes().and_then(|()| {
            let dir = control::Dir::new(c"rprobes")?;
            files::create_all(&dir, &state)?;
            Ok(dir)
        });
        let dir = match files {
            Ok(dir) => dir,
            Err(e) => {
                state.unregister_all(true);
                return Err(e);
            }
        };
        pr_info!(
            "loaded, {} probe(s) from parameters\n",
            state.registry.lock().len()
        );
        Ok(Self {
            _dir: dir,
            _ret: ret,
            _user: user,
            state,
            _modules: modules,
        })
    }
}

impl Drop for RProbes {
    fn drop(&mut self) {
        let n = self.state.registry.lock().len();
        pr_info!("unloading, removing {} probe(s)\n", n);
        // Unregister everything now: `_ret` then waits for the returns
        // still in flight before the state (and their probes) go.
        self.state.unregister_all(true);
    }
}

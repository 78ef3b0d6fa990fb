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
//! Layout: pure logic that is also tested on the host ([`probe_line`]);
//! thin `unsafe` wrappers over kernel APIs ([`kprobe`], [`percpu`],
//! [`control`], [`kbind`]); safe probe logic on top ([`registry`],
//! [`files`], [`error_log`]).
//!
//! Lock order: `State::registry` before `State::errors` (see
//! [`registry`]); an open control file's own mutex before both (see
//! [`control`]).

use kernel::{new_mutex, prelude::*, sync::Mutex};

mod control;
mod error_log;
pub mod fetch_arg;
pub mod fetch_fmt;
mod files;
pub mod kallsyms;
mod kbind;
mod kprobe;
mod percpu;
pub mod probe_line;
mod registry;
mod symtab;

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

    fn log(&self, raw: &[u8], err: ParseError, errno: i32) -> Error {
        if let Ok(text) = printable(raw) {
            // `printable` only keeps ASCII, so this cannot fail.
            let line = core::str::from_utf8(&text).unwrap_or("");
            self.errors.lock().add(now_ns(), line, &err);
        }
        Error::from_errno(-errno)
    }

    /// Adds the probes of the `kprobes=` parameter; on the first bad item
    /// nothing stays registered.
    fn add_param_probes(&self) -> Result {
        // SAFETY: The shim returns a pointer to the module's NUL-terminated
        // parameter buffer, which lives as long as the module.
        let param = unsafe { CStr::from_char_ptr(kbind::rprobes_param_kprobes()) };
        let param = param.to_str().map_err(|_| EINVAL)?;
        for item in param.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let mut line = KVec::new();
            line.extend_from_slice(b"p ", GFP_KERNEL)?;
            line.extend_from_slice(item.as_bytes(), GFP_KERNEL)?;
            if let Err((e, kind)) = self.exec(&line) {
                pr_err!(
                    "kprobes=: cannot probe '{}': {} ({:?})\n",
                    item,
                    kind.message(),
                    e
                );
                self.registry.lock().clear();
                return Err(e);
            }
        }
        Ok(())
    }
}

struct RProbes {
    /// Dropped first: no control file can run once the state goes.
    _dir: control::Dir,
    state: Pin<KBox<State>>,
    _modules: symtab::ModuleWatch,
}

impl kernel::Module for RProbes {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let state = KBox::pin_init(
            pin_init!(State {
                registry <- new_mutex!(Registry::new()),
                errors <- new_mutex!(ErrorLog::new()),
            }),
            GFP_KERNEL,
        )?;
        let modules = symtab::ModuleWatch::new()?;
        state.add_param_probes()?;
        let dir = control::Dir::new(c"rprobes")?;
        files::create_all(&dir, &state)?;
        pr_info!(
            "loaded, {} probe(s) from parameters\n",
            state.registry.lock().len()
        );
        Ok(Self {
            _dir: dir,
            state,
            _modules: modules,
        })
    }
}

impl Drop for RProbes {
    fn drop(&mut self) {
        let n = self.state.registry.lock().len();
        pr_info!("unloading, removing {} probe(s)\n", n);
    }
}

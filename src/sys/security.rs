// SPDX-License-Identifier: GPL-2.0

//! Who may do what: kernel lockdown and capabilities, the checks tracefs
//! makes (or that rprobes adds where tracefs relies on its file modes).
//! The third check, ptrace rights over a probed process, is made where the
//! process is resolved ([`super::user::resolve`], `src/shim/security.c`).
//! `Documentation/rprobes/security.rst` says who may do what.
//!
//! Context: process context (a file's `open()`, a control line), sleepable;
//! [`locked_down`] may also run in atomic context (it only reads the
//! lockdown level, and the kernel logs a refusal rate-limited).

use kernel::{bindings, prelude::*};

/// What the kernel's lockdown is asked about (`enum lockdown_reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lockdown {
    /// Registering kprobes (`LOCKDOWN_KPROBES`, what tracefs'
    /// `__register_trace_kprobe()` asks): refused at `confidentiality`.
    Kprobes,
    /// Opening the tracing files (`LOCKDOWN_TRACEFS`, what tracefs asks
    /// at every `open()`): refused at `confidentiality`.
    Tracefs,
}

/// `Err(EPERM)` (the kernel's errno) if the kernel is locked down against
/// `what`; the kernel then logs the refusal itself ("Lockdown: PROG: use
/// of kprobes is restricted; see man kernel_lockdown.7").
pub(crate) fn locked_down(what: Lockdown) -> Result {
    let reason = match what {
        Lockdown::Kprobes => bindings::lockdown_reason_LOCKDOWN_KPROBES,
        Lockdown::Tracefs => bindings::lockdown_reason_LOCKDOWN_TRACEFS,
    };
    // SAFETY: `security_locked_down` takes any reason and only reads the
    // current lockdown level (and logs).
    let r = unsafe { bindings::security_locked_down(reason) };
    if r == 0 {
        Ok(())
    } else {
        Err(Error::from_errno(r))
    }
}

/// Whether the opener of `file` had `CAP_SYS_ADMIN` in the initial user
/// namespace (`file_ns_capable()`: the credentials the file was opened
/// with, `f_cred`, not those of whoever uses it later), which rprobes asks
/// of every open for writing. A refusal is audited as any capability
/// check.
///
/// # Safety
///
/// `file` is a valid `struct file` (in its `open()` or later, before its
/// release).
pub(crate) unsafe fn opener_is_admin(file: *mut bindings::file) -> bool {
    // SAFETY: `file` is valid (the caller's contract); `init_user_ns` is
    // the kernel's static initial namespace, only read.
    unsafe {
        bindings::file_ns_capable(
            file,
            &raw mut bindings::init_user_ns,
            bindings::CAP_SYS_ADMIN as i32,
        )
    }
}

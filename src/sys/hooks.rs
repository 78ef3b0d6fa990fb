// SPDX-License-Identifier: GPL-2.0

//! Scheduler tracepoint hooks (`src/shim/hooks.c`): the owners register
//! their callbacks here and unhook by dropping the returned object, which
//! waits until no callback runs any more.
//!
//! Context of the callbacks: tracepoint probes, preemption disabled (an RCU
//! read-side critical section); `sched_process_free` runs from an RCU
//! callback (softirq).

use super::bindings;
use kernel::prelude::*;

/// `sched_process_free` calls `f(task)` for a dead task about to be freed.
pub(crate) struct TaskFreeHook(());

impl TaskFreeHook {
    /// Hooks `f`.
    ///
    /// # Safety
    ///
    /// `f` may be called with any dead task from any context until the
    /// returned object drops.
    pub(crate) unsafe fn new(f: unsafe extern "C" fn(*mut kernel::ffi::c_void)) -> Result<Self> {
        // SAFETY: The caller's guarantee.
        let r = unsafe { bindings::rprobes_task_free_hook(Some(f)) };
        if r < 0 {
            return Err(Error::from_errno(r));
        }
        Ok(Self(()))
    }
}

impl Drop for TaskFreeHook {
    fn drop(&mut self) {
        // SAFETY: Hooked in `new`; process context (module exit).
        unsafe { bindings::rprobes_task_free_unhook() };
    }
}

/// Process events: `fork(parent_mm, child)` for a child with its own copy
/// of a parent's address space, before it runs; `gone()` when a thread
/// group exits or a process execs.
pub(crate) struct ProcHooks(());

impl ProcHooks {
    /// Hooks `fork` and `gone`.
    ///
    /// # Safety
    ///
    /// Both may be called from the tracepoints until the returned object
    /// drops.
    pub(crate) unsafe fn new(
        fork: unsafe extern "C" fn(*mut kernel::ffi::c_void, *mut kernel::ffi::c_void),
        gone: unsafe extern "C" fn(),
    ) -> Result<Self> {
        // SAFETY: The caller's guarantee.
        let r = unsafe { bindings::rprobes_proc_hook(Some(fork), Some(gone)) };
        if r != 0 {
            return Err(Error::from_errno(r));
        }
        Ok(Self(()))
    }
}

impl Drop for ProcHooks {
    fn drop(&mut self) {
        // SAFETY: Hooked in `new`; process context (module exit).
        unsafe { bindings::rprobes_proc_unhook() };
    }
}

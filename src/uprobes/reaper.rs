// SPDX-License-Identifier: GPL-2.0

//! The reaper: a delayed work item (the kernel crate's workqueue) that
//! frees the probes and state of address spaces that died (exit, exec).
//! The process hooks kick it when a thread group exits or a process execs;
//! it polls a while for address spaces that are about to die.
//!
//! What a run does belongs to the level that owns the probes (it takes the
//! registry mutex): that level implements [`Reap`] and outlives the reaper.
//! The same level puts path probes into an address space that maps their
//! file ([`install`], from a task work of [`super::path`]).
//!
//! Context: [`kick`] may run anywhere (tracepoints, preemption off); a run
//! is process context (workqueue), sleepable.

use core::ptr::{null_mut, NonNull};
use core::sync::atomic::{
    AtomicBool, AtomicPtr,
    Ordering::{Acquire, Relaxed, Release},
};
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow};
use kernel::time::msecs_to_jiffies;
use kernel::workqueue::{self, impl_has_delayed_work, new_delayed_work, DelayedWork, WorkItem};

/// What a run of the reaper does.
pub(crate) trait Reap: Sync {
    /// Frees what died; returns whether something seems about to die (then
    /// the reaper looks again soon).
    fn reap(&self) -> bool;
    /// Puts the path probes' breakpoints into current's address space
    /// (a task work of current; sleeps).
    fn install(&self);
    /// In a fork child (a task work before it runs): removes the `PID:`
    /// probes' breakpoints of the parent's address space `parent` from its
    /// copy.
    fn fork_fix(&self, parent: usize);
    /// Takes every breakpoint out of address space `mm`, whose XOL area
    /// cannot be made (a task work of the process).
    fn give_up(&self, mm: usize);
}

/// The module's reaper (an `Arc` reference held for [`kick`]), while it
/// runs.
static REAPER: AtomicPtr<Reaper> = AtomicPtr::new(null_mut());

/// The delayed work item.
///
/// # Invariants
///
/// `job` is valid until [`Reaper::stop`] has returned.
#[pin_data]
pub(crate) struct Reaper {
    #[pin]
    work: DelayedWork<Reaper>,
    job: NonNull<dyn Reap>,
    stopped: AtomicBool,
}

// SAFETY: `job` is only used as a shared reference to a `Sync` object.
unsafe impl Send for Reaper {}
// SAFETY: As above.
unsafe impl Sync for Reaper {}

impl_has_delayed_work! {
    impl HasDelayedWork<Self> for Reaper { self.work }
}

impl WorkItem for Reaper {
    type Pointer = Arc<Reaper>;

    fn run(this: Arc<Reaper>) {
        if this.stopped.load(Acquire) {
            return;
        }
        // SAFETY: Not stopped: `job` is valid (type invariant; `stop`
        // waits for this run before it returns).
        let job = unsafe { this.job.as_ref() };
        if job.reap() {
            kick(50);
        }
    }
}

impl Reaper {
    /// Starts the module's reaper, which runs `job`.
    ///
    /// # Safety
    ///
    /// `job` stays valid until [`Reaper::stop`] has returned, and `stop` is
    /// called before the module goes.
    pub(crate) unsafe fn start(job: &dyn Reap) -> Result<Arc<Self>> {
        let job = NonNull::from(job);
        // SAFETY: Only the lifetime is erased; the caller keeps `job` valid
        // as long as the type invariant needs it.
        let job: NonNull<dyn Reap> = unsafe { core::mem::transmute(job) };
        // INVARIANT: The caller's guarantee.
        let r = Arc::pin_init(
            pin_init!(Self {
                work <- new_delayed_work!("rprobes_reaper"),
                job,
                stopped: AtomicBool::new(false),
            }),
            GFP_KERNEL,
        )?;
        // The static's reference, given back by `stop`.
        REAPER.store(Arc::into_raw(r.clone()).cast_mut(), Release);
        Ok(r)
    }

    /// Stops the reaper: no run afterwards, and none running. The callers
    /// of [`kick`] are gone already (their hooks unregistered). Sleeps.
    pub(crate) fn stop(this: Arc<Self>) {
        this.stopped.store(true, Release);
        let raw = REAPER.swap(null_mut(), Acquire);
        // SAFETY: The work item is initialised and pinned in `this`.
        let dwork = unsafe {
            workqueue::DelayedWork::raw_as_work(core::ptr::addr_of!(this.work))
                .cast::<kernel::bindings::work_struct>()
        };
        // SAFETY: `dwork` is the `work` of a `delayed_work` (see
        // `raw_as_work`); cancelling waits for a running call.
        let pending = unsafe {
            kernel::bindings::cancel_delayed_work_sync(kernel::container_of!(
                dwork,
                kernel::bindings::delayed_work,
                work
            ))
        };
        if pending {
            // The queued run's reference (taken by `enqueue_delayed` with
            // `Arc::into_raw`), which will never run now.
            // SAFETY: That reference is ours to drop.
            drop(unsafe { Arc::from_raw(Arc::as_ptr(&this)) });
        }
        if !raw.is_null() {
            // SAFETY: The static's reference from `start`.
            drop(unsafe { Arc::from_raw(raw) });
        }
    }
}

/// Runs `f` with the job, from a task work (which holds a module
/// reference: the reaper cannot be stopped meanwhile).
fn with_job(f: impl FnOnce(&dyn Reap)) {
    let raw = REAPER.load(Acquire);
    if raw.is_null() {
        return;
    }
    // SAFETY: The static holds a reference until `stop`, which runs at
    // module exit, after every task work (each holds a module reference).
    let r = unsafe { &*raw };
    if r.stopped.load(Acquire) {
        return;
    }
    // SAFETY: Not stopped: `job` is valid (type invariant).
    f(unsafe { r.job.as_ref() });
}

/// [`Reap::install`], from a task work of [`super::path`].
pub(crate) fn install() {
    with_job(|j| j.install());
}

/// [`Reap::fork_fix`], from a task work of the fork hook.
pub(crate) fn fork_fix(parent: usize) {
    with_job(|j| j.fork_fix(parent));
}

/// [`Reap::give_up`], from the task work that failed to make an XOL area.
pub(crate) fn give_up(mm: usize) {
    with_job(|j| j.give_up(mm));
}

/// Runs the reaper in `ms` milliseconds, unless it is queued already. Any
/// context.
pub(crate) fn kick(ms: u32) {
    let raw = REAPER.load(Acquire);
    if raw.is_null() {
        return;
    }
    // SAFETY: The static holds a reference until `stop`, which runs only
    // once no hook can call this any more (and `run` is cancelled first).
    let r: Arc<Reaper> = unsafe { ArcBorrow::from_raw(raw) }.into();
    if r.stopped.load(Relaxed) {
        return;
    }
    // Already queued: the reference comes back and is dropped.
    let _ = workqueue::system().enqueue_delayed(r, msecs_to_jiffies(ms));
}

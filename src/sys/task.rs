// SPDX-License-Identifier: GPL-2.0

//! Tasks: the running task read inline (`current`, its pid and comm), the
//! module's references that a task in flight holds, and task work (code run
//! in a task's own context before it returns to user space).
//!
//! Context: [`current`], [`current_pid`], [`current_comm`],
//! [`module_get`], [`module_try_get`], [`module_put`] and
//! [`TaskWork::queue`] may run anywhere, interrupts off included;
//! [`pid_uses_mm`] takes the RCU read lock.

use core::sync::atomic::{AtomicPtr, Ordering::Relaxed};
use kernel::bindings;
use kernel::{prelude::*, types::Opaque};

extern "C" {
    /// The running task (x86's exported per-CPU `current_task`, a
    /// `struct task_struct *`).
    static current_task: *mut kernel::ffi::c_void;
}

/// The running task: `current`, inline. It stays valid for as long as it
/// runs (a probe handler's duration, say).
#[inline(always)]
pub(crate) fn current() -> *mut bindings::task_struct {
    let task: *mut bindings::task_struct;
    // SAFETY: A `%gs`-relative load of the per-CPU variable `current_task`,
    // the instruction `get_current()` compiles to; it only reads memory.
    unsafe {
        core::arch::asm!(
            "mov {task}, qword ptr gs:[{var}]",
            task = out(reg) task,
            var = sym current_task,
            // A task's `current` is itself wherever it runs: pure.
            options(nostack, preserves_flags, pure, readonly),
        )
    };
    task
}

/// The running task's pid (`task_pid_nr(current)`), inline.
#[inline(always)]
pub(crate) fn current_pid() -> i32 {
    // SAFETY: `current` is valid while it runs, and its pid never changes.
    unsafe { (*current()).pid }
}

/// Current's thread group id (its process, as user space names it).
pub(crate) fn current_tgid() -> i32 {
    // SAFETY: `current` is valid while it runs, and its tgid never changes.
    unsafe { (*current()).tgid }
}

/// Where `comm` (`char[TASK_COMM_LEN]`, 16 bytes) is in a task.
pub(crate) const COMM_OFFSET: usize = core::mem::offset_of!(bindings::task_struct, comm);
const _: () = assert!(COMM_OFFSET % 8 == 0 && bindings::TASK_COMM_LEN == 16);
// `comm` is 16 bytes: this does not compile otherwise.
const _: fn(&bindings::task_struct) -> &[kernel::ffi::c_char; 16] = |t| &t.comm;

/// The running task's comm as two words (NUL-padded bytes), inline.
///
/// `set_task_comm` may rewrite it concurrently (tracefs copies it unlocked
/// too): volatile reads of whole words; a torn name is only cosmetic.
#[inline(always)]
pub(crate) fn current_comm_words() -> (u64, u64) {
    // SAFETY: `comm` is 16 bytes at an 8-byte aligned offset (checked
    // above) of the running task, which is valid while it runs.
    unsafe {
        let c = current().cast::<u8>().add(COMM_OFFSET).cast::<u64>();
        (c.read_volatile(), c.add(1).read_volatile())
    }
}

/// The running task's address space (`current->mm`, null in kernel
/// threads), as a pointer only: it identifies the address space while the
/// task runs in it.
#[inline(always)]
pub(crate) fn current_mm() -> *mut bindings::mm_struct {
    // SAFETY: `current` is valid while it runs; only its own task changes
    // its `mm` (exec, exit), so the read is not racy for the task itself.
    unsafe { (*current()).mm }
}

/// Whether thread group `tgid` still exists and uses `mm`.
pub(crate) fn pid_uses_mm(tgid: i32, mm: *const bindings::mm_struct) -> bool {
    let _rcu = kernel::sync::rcu::read_lock();
    // SAFETY: Under the RCU read lock, as `find_vpid()` and `pid_task()`
    // want; the task found stays valid until it is released.
    unsafe {
        let pid = bindings::find_vpid(tgid);
        if pid.is_null() {
            return false;
        }
        let t = bindings::pid_task(pid, bindings::pid_type_PIDTYPE_TGID);
        !t.is_null() && core::ptr::addr_of!((*t).mm).read_volatile().cast_const() == mm.cast()
    }
}

fn this_module() -> *mut bindings::module {
    kernel::module::this_module::<crate::LocalModule>().as_ptr()
}

/// Takes a reference on the module (`__module_get`): for work in flight
/// that the module's code must still be there for (a hijacked return).
pub(crate) fn module_get() {
    // SAFETY: `THIS_MODULE` is this module, which is live while its code
    // runs.
    unsafe { bindings::__module_get(this_module()) };
}

/// Takes a reference on the module unless it is going (`try_module_get`).
pub(crate) fn module_try_get() -> bool {
    // SAFETY: As for `module_get`.
    unsafe { bindings::try_module_get(this_module()) }
}

/// Drops a reference taken by [`module_get`] or [`module_try_get`].
pub(crate) fn module_put() {
    // SAFETY: The caller gives up a reference it holds.
    unsafe { bindings::module_put(this_module()) };
}

/// Code run in a task's own context before it next returns to user space
/// (or as it exits), with `task_work_add(TWA_RESUME)`: where a trap handler
/// or a tracepoint cannot do the work itself (allocate, take `mmap_lock`).
///
/// The owner embeds it (it must not move while queued) and passes an
/// argument that the function takes over. A queued work holds a module
/// reference until its function returns.
///
/// # Invariants
///
/// While queued, `cb` is in the task's work list and `run`/`arg` are the
/// function and argument of that request; nothing else queues it then.
#[repr(C)]
pub(crate) struct TaskWork {
    cb: Opaque<bindings::callback_head>,
    run: AtomicPtr<kernel::ffi::c_void>,
    arg: AtomicPtr<kernel::ffi::c_void>,
}

// SAFETY: The work is queued from one place at a time (see `queue`) and
// otherwise only read by the task that runs it.
unsafe impl Send for TaskWork {}
// SAFETY: As above.
unsafe impl Sync for TaskWork {}

/// The function a [`TaskWork`] runs, with its argument.
pub(crate) type TaskWorkFn = unsafe fn(*mut kernel::ffi::c_void);

impl TaskWork {
    /// A work that is not queued.
    pub(crate) const fn new() -> Self {
        Self {
            // SAFETY: All-zero is a valid, unqueued `callback_head`.
            cb: Opaque::new(unsafe { core::mem::zeroed() }),
            run: AtomicPtr::new(core::ptr::null_mut()),
            arg: AtomicPtr::new(core::ptr::null_mut()),
        }
    }

    /// Queues `run(arg)` on `task` (current if null). Any context.
    ///
    /// Fails with `ENODEV` when the module is going and `ESRCH` when the
    /// task is exiting: then `run` will not be called and `arg` is the
    /// caller's again.
    ///
    /// # Safety
    ///
    /// `self` is not queued, and stays where it is (and alive) until `run`
    /// is called; `run(arg)` is sound to call once in `task`'s context
    /// (`task` is a live task).
    pub(crate) unsafe fn queue(
        &self,
        task: *mut bindings::task_struct,
        run: TaskWorkFn,
        arg: *mut kernel::ffi::c_void,
    ) -> Result {
        self.run.store(run as *mut kernel::ffi::c_void, Relaxed);
        self.arg.store(arg, Relaxed);
        // SAFETY: `cb` is ours and not queued (the caller's guarantee).
        unsafe { (*self.cb.get()).func = Some(Self::trampoline) };
        if !module_try_get() {
            return Err(ENODEV);
        }
        let task = if task.is_null() { current() } else { task };
        // SAFETY: `task` is live, `cb` stays put until it ran (the
        // caller's guarantee); `task_work_add` orders the stores above
        // before the callback can run.
        let r = unsafe {
            bindings::task_work_add(
                task,
                self.cb.get(),
                bindings::task_work_notify_mode_TWA_RESUME,
            )
        };
        if r != 0 {
            module_put();
            return Err(Error::from_errno(r));
        }
        Ok(())
    }

    /// Runs the queued function, then drops the module reference.
    ///
    /// # Safety
    ///
    /// Called by the task-work machinery only, with the `cb` of a
    /// [`TaskWork`] queued by [`Self::queue`].
    unsafe extern "C" fn trampoline(cb: *mut bindings::callback_head) {
        // `cb` is the first field of a `#[repr(C)]` `TaskWork`.
        let w = cb.cast::<TaskWork>().cast_const();
        // SAFETY: The work is still there (the owner keeps it until `run`
        // is called); read what is needed before the call, which may free
        // it.
        let (run, arg) = unsafe { ((*w).run.load(Relaxed), (*w).arg.load(Relaxed)) };
        // SAFETY: `run` was stored by `queue` as a `TaskWorkFn`.
        let run: TaskWorkFn = unsafe { core::mem::transmute(run) };
        // SAFETY: The contract of `queue`: once, in the task's context.
        unsafe { run(arg) };
        // The module's exit waits for `synchronize_rcu_tasks()`, so the few
        // instructions left after this cannot be freed under us.
        module_put();
    }
}

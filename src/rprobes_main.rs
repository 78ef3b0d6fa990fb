// SPDX-License-Identifier: GPL-2.0

//! rprobes: dynamic probes on kernel functions and user-space code,
//! controlled through debugfs with the tracefs `kprobe_events` line syntax.
//!
//! ```text
//! insmod rprobes.ko kprobes=vfs_read,do_sys_openat2
//! echo 'p:myprobe vfs_read+16' >> /sys/kernel/debug/rprobes/probes
//! cat /sys/kernel/debug/rprobes/profile
//! ```
//!
//! The house, one folder per mechanism (`Documentation/rprobes/design.rst`
//! draws it), leaves first:
//!
//! - [`lang`] and [`insn`]: pure `no_std` logic, also host-tested (the
//!   control language; the x86-64 decoder of user probes);
//! - [`sys`]: thin `unsafe` wrappers over the kernel (bindings, kprobes,
//!   per-CPU data, tasks, user memory, kallsyms, tracepoints), with the C
//!   shims of `src/shim/`;
//! - [`probe`]: what every probe shares (names, command errors);
//! - [`events`]: what a hit records (filters, fetch arguments, the ring
//!   buffer) and how it reads back;
//! - [`retprobes`], [`kprobes`], [`uprobes`]: the three kinds of probe;
//! - [`registry`]: the set of probes and the commands that change it;
//! - [`files`]: the debugfs control files and their shared state;
//! - [`params`], [`selftest`]: module parameters, test targets.
//!
//! Lock order (see [`files`]): an open control file's mutex, the registry
//! mutex, the error log; `mmap_lock` after the registry. The hit paths take
//! no lock.

use kernel::prelude::*;

pub(crate) mod events;
pub(crate) mod files;
pub mod insn;
pub(crate) mod kprobes;
pub mod lang;
pub(crate) mod params;
pub(crate) mod probe;
pub(crate) mod registry;
pub mod retprobes;
pub(crate) mod selftest;
pub(crate) mod sys;
pub(crate) mod uprobes;

/// Kernel structure offsets of the pure code (`lang::fetch_arg`), from
/// bindgen (the host build has its own values).
pub mod vfs_layout {
    pub use crate::sys::bindings::{DENTRY_NAME_OFFSET, FILE_DENTRY_OFFSET};
}

/// The kernel stack's size, for the pure code (`lang::fetch_arg`'s largest
/// `$stackN`), from bindgen (the host build has its own value).
pub mod stack_layout {
    /// `THREAD_SIZE`.
    pub const THREAD_SIZE: usize = crate::sys::bindings::RPROBES_THREAD_SIZE as usize;
}

module! {
    type: RProbes,
    name: "rprobes",
    authors: ["rprobes developers"],
    description: "Dynamic kernel probes with a tracefs-compatible debugfs interface",
    license: "GPL",
}

/// `sched_process_free`: a dead task gives back the return instances and
/// the steps it left in flight.
///
/// # Safety
///
/// `task` is a dead task about to be freed (the tracepoint's contract): it
/// runs no code any more.
unsafe extern "C" fn on_task_free(task: *mut kernel::ffi::c_void) {
    let task = task as usize;
    uprobes::task_gone(task);
    // SAFETY: Per this function's contract.
    unsafe { retprobes::instances::task_freed(task) };
}

/// The module. Fields drop in this order (see `Drop`).
struct RProbes {
    /// Dropped first: no control file can run once the state goes.
    _dir: files::debugfs::Dir,
    /// Dropped after every probe is unregistered (see `Drop`): waits for
    /// returns in flight (whose probes the state owns) while the task-free
    /// hook below still reclaims those of dead tasks.
    _ret: retprobes::RetGlobal,
    /// Dropped after every user probe is gone, before the state its reaper
    /// uses.
    _user: uprobes::UGlobal,
    /// Dropped after the returns are back.
    _task_free: sys::hooks::TaskFreeHook,
    _modules: sys::ksym::ModuleWatch,
    state: Pin<KBox<files::State>>,
}

impl kernel::Module for RProbes {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        params::set_limits()?;
        let state = files::State::new()?;
        let modules = sys::ksym::ModuleWatch::new()?;
        // SAFETY: `on_task_free` may be called for any dead task from any
        // context until the hook drops.
        let task_free = unsafe { sys::hooks::TaskFreeHook::new(on_task_free) }?;
        let ret = retprobes::RetGlobal::new();
        // SAFETY: The state outlives `user` (a field dropped before it, and
        // dropped before it on every failure below).
        let user = unsafe { uprobes::UGlobal::new(&*state) }?;
        // From here on, a failure removes the probes before `user` and
        // `ret` go (`ret` waits for the returns in flight, which need their
        // probes: the state goes last), as `drop` does.
        let dir = params::add_param_probes(&state).and_then(|()| {
            let dir = files::debugfs::Dir::new(c"rprobes")?;
            files::create_all(&dir, &state, params::selftest())?;
            Ok(dir)
        });
        let dir = match dir {
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
            _task_free: task_free,
            _modules: modules,
            state,
        })
    }
}

impl Drop for RProbes {
    fn drop(&mut self) {
        let n = self.state.registry.lock().len();
        pr_info!("unloading, removing {} probe(s)\n", n);
        // Unregister everything now: `_ret` then waits for the returns
        // still in flight before the state (and their probes) go. The
        // trace events too: the tracing core's lock stays reachable
        // while the module goes.
        // SAFETY: Module exit, paired with `rprobes_tevent_exit_end`.
        unsafe { sys::bindings::rprobes_tevent_exit_begin() };
        self.state.unregister_all(true);
        // SAFETY: As above.
        unsafe { sys::bindings::rprobes_tevent_exit_end() };
    }
}

// SPDX-License-Identifier: GPL-2.0

//! User-space probes: an `int3` written into one process's copy of its
//! text, a die notifier that catches it, and the probed instruction either
//! emulated in the kernel or single-stepped out of line in the process's
//! XOL area, created lazily at the first hit that needs it.
//!
//! ```text
//! echo 'p:app/entry 1234:/usr/bin/app:0x1130' > /sys/kernel/debug/rprobes/probes
//! ```
//!
//! The flow of a hit:
//!
//! ```text
//! int3 in user mode --> die notifier (shim/die.c) --> trap::rprobes_uprobes_int3
//!     --> table::POINTS (mm, address): a `PID:` probe, or
//!         table::MMS (mm) --> mm::UMm::file_point (its mappings of probed
//!         files) --> table::PATHS (file, offset): a path probe
//!     --> probe::Site::hit
//!         count + event (events::ring / events::eval)
//!         emulate::emulate (the fast path), or
//!         step: xol slot, TF --> debug trap --> trap::step_trap --> fix-ups
//! ```
//!
//! Files: [`table`] (the lock-free tables), [`mm`] (a probed address
//! space), [`probe`] (a probe point and its hit), [`emulate`] (registers and
//! emulation), [`trap`] (the trap paths, the signal and process hooks),
//! [`xol`] (the XOL area), [`reaper`] (freeing dead address spaces),
//! [`set`] (the registry's part: add, remove, views), [`explain`] (the
//! decoder's verdict on a live process's instruction), [`symbol`]
//! (`PID:PATH:SYMBOL[+OFF]` looked up in the ELF file), [`guard`] (the
//! unwinder guards that let C++ exceptions pass hijacked returns).
//!
//! Objects: a [`mm::UMm`] per probed address space (its XOL area, step
//! statistics, its mappings of probed files), a [`probe::UProbe`] per probe
//! point, a [`probe::UInst`] per `PID:` probe's breakpoint (a path probe
//! has nothing per address space). [`UProbes`] (in the registry) owns
//! them; the trap paths find them in lock-free hash tables of raw pointers.
//!
//! Lifetimes: an entry leaves its table before its object is freed, with a
//! `synchronize_rcu()` in between; the trap handlers run with interrupts
//! off (an RCU read-side critical section), so an object they found stays
//! valid until they return. A [`mm::UMm`] holds an `ARef<Mm>` (mm_count),
//! so an mm pointer is never reused while a table names it. A step in
//! flight holds a module reference, so the module cannot go while a task
//! is between its trap and its step's trap.
//!
//! Lock order: the registry mutex, then `mmap_lock` (in the memory
//! accesses of `src/shim/user.c`). The trap paths, the signal hook and the
//! process hooks take no lock; the reaper takes the registry mutex.

pub(crate) mod emulate;
pub(crate) mod explain;
pub(crate) mod guard;
pub(crate) mod mm;
pub(crate) mod path;
pub(crate) mod probe;
pub(crate) mod reaper;
pub(crate) mod set;
pub(crate) mod symbol;
pub(crate) mod table;
pub(crate) mod trap;
pub(crate) mod xol;

use crate::insn::MAX_INSN_LEN;
use crate::sys::{bindings, hooks::ProcHooks};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use kernel::prelude::*;
use kernel::sync::Arc;
use reaper::{Reap, Reaper};

pub(crate) use probe::UProbe;
pub(crate) use set::{NewUProbe, UProbes};
pub(crate) use trap::task_gone;

/// The breakpoint instruction.
pub(crate) const INT3: u8 = 0xcc;
/// User probes in all, at most (a bound on memory); a load may lower the
/// limit (`max_uprobes=`, [`LIMIT_PROBES`]).
pub(crate) const MAX_UPROBES: usize = bindings::RPROBES_MAX_UPROBES as usize;
/// Probed address spaces at once, at most (a bound on memory); a load
/// may lower the limit (`max_uprobe_procs=`, [`LIMIT_PROCS`]).
pub(crate) const MAX_UPROBE_PROCS: usize = bindings::RPROBES_MAX_UPROBE_PROCS as usize;

/// Whether hits are counted and recorded (the registry's `enabled`).
pub(crate) static ENABLED: AtomicBool = AtomicBool::new(true);

/// Step what [`crate::insn::emul`] would emulate (`echo 'step_only 1' >
/// selftest`): the differential test of emulation against execution.
pub(crate) static STEP_ONLY: AtomicBool = AtomicBool::new(false);

/// The limit of user probes in all (`max_uprobes=`, at most
/// [`MAX_UPROBES`]); set at load by [`set_limits`].
static LIMIT_PROBES: AtomicUsize = AtomicUsize::new(MAX_UPROBES);
/// The limit of probed address spaces (`max_uprobe_procs=`, at most
/// [`MAX_UPROBE_PROCS`]).
static LIMIT_PROCS: AtomicUsize = AtomicUsize::new(MAX_UPROBE_PROCS);

/// Sets the limits of user probes (module load, before any probe): probes
/// in all, probed processes, and the XOL slots of each area used.
pub(crate) fn set_limits(probes: usize, procs: usize, slots: usize) {
    LIMIT_PROBES.store(probes.clamp(1, MAX_UPROBES), Relaxed);
    LIMIT_PROCS.store(procs.clamp(1, MAX_UPROBE_PROCS), Relaxed);
    xol::set_slot_limit(slots);
}

const _: () = assert!(xol::SLOT_BYTES > MAX_INSN_LEN);

/// The module-wide part of user probes: the die notifier, the process
/// event hooks and the reaper. Created at module init, dropped at exit
/// after every user probe is gone.
pub(crate) struct UGlobal {
    /// Unhooked first, so that nothing kicks the reaper any more.
    proc: Option<ProcHooks>,
    reaper: Option<Arc<Reaper>>,
}

impl UGlobal {
    /// Hooks the traps and process events; the reaper runs `job`.
    ///
    /// # Safety
    ///
    /// `job` outlives the returned object.
    pub(crate) unsafe fn new(job: &dyn Reap) -> Result<Self> {
        // SAFETY: The caller's guarantee; `stop` runs in `drop`.
        let reaper = unsafe { Reaper::start(job) }?;
        // SAFETY: The callbacks stay valid until the hooks drop (in
        // `drop`, or right here on failure).
        let proc = match unsafe { ProcHooks::new(trap::on_fork, trap::on_gone) } {
            Ok(p) => p,
            Err(e) => {
                Reaper::stop(reaper);
                return Err(e);
            }
        };
        // SAFETY: `NMMS` is a static (the C side reads it with READ_ONCE);
        // the trap handlers are `#[no_mangle]` functions of this module,
        // valid until `rprobes_die_unhook`.
        let r = unsafe { bindings::rprobes_die_hook(table::NMMS.as_ptr()) };
        if r != 0 {
            drop(proc);
            Reaper::stop(reaper);
            return Err(Error::from_errno(r));
        }
        Ok(Self {
            proc: Some(proc),
            reaper: Some(reaper),
        })
    }
}

impl Drop for UGlobal {
    fn drop(&mut self) {
        // Every probe is gone (the registry is shut down first), and no
        // step is in flight (each holds a module reference), so no trap
        // needs us any more. The process hooks go first: they kick the
        // reaper.
        drop(self.proc.take());
        // SAFETY: Hooked in `new`; waits for running callbacks.
        unsafe { bindings::rprobes_die_unhook() };
        if let Some(r) = self.reaper.take() {
            Reaper::stop(r);
        }
    }
}

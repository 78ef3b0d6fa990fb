// SPDX-License-Identifier: GPL-2.0

//! Unwinder guards: what lets a C++ exception (or `pthread_cancel()`'s
//! forced unwind) pass through calls whose return a return probe hijacked.
//!
//! An unwinder (libgcc's `_Unwind_RaiseException()` and its kin) walks the
//! stack by return addresses and finds each function's unwind information
//! by its return address. The trampoline in the XOL area belongs to no ELF
//! object: the walk stops there, `_Unwind_RaiseException()` finds no
//! handler, and the program calls `std::terminate()` (the kernel's own
//! uretprobes have that limit). So while user return probes exist, hidden
//! path probes sit on the unwinder's entries:
//!
//! ```text
//! _Unwind_RaiseException, _Unwind_Resume,     the thread's frames parked: the
//! _Unwind_Resume_or_Rethrow,                  real return addresses back in
//! _Unwind_ForcedUnwind   (libgcc_s.so.1)      their slots (xol::Xol::park)
//! __cxa_begin_catch      (libstdc++.so.6)     parked frames above %rsp, still
//!                                             holding their address, get the
//!                                             trampoline back; the others'
//!                                             calls were unwound: dropped
//! ```
//!
//! A guard is a path probe without an event (no hit counted, not listed),
//! on the libraries above, and on the file of each return probe (a static
//! program carries its own unwinder). It exists from the first return
//! probe to the last (and on while returns are in flight). A call unwound
//! through is not a return: it is neither counted nor recorded, like a
//! call `longjmp()` left. `_Unwind_Backtrace()` (glibc's `backtrace()`) is
//! not guarded: its walk ends at the trampoline, as with the kernel's
//! uretprobes.
//!
//! Context: [`run`] is trap context (interrupts off, current's frames); the
//! rest runs under the registry mutex.

use super::mm::UMm;
use super::set::{NewUProbe, UProbes};
use crate::events::ring::ID_LIMIT;
use crate::lang::upoint::UTarget;
use crate::probe::name;
use crate::sys::bindings::pt_regs;
use crate::sys::file::RoFile;
use crate::sys::task;
use kernel::prelude::*;

/// What a guard does at its entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Guard {
    /// An unwinder starts: park the thread's frames.
    Park,
    /// A catch handler starts: the live parked frames get their
    /// trampoline back.
    Unpark,
}

/// The unwinder's libraries (Debian's paths; a missing one is skipped).
const LIBS: [&str; 2] = [
    "/lib/x86_64-linux-gnu/libgcc_s.so.1",
    "/lib/x86_64-linux-gnu/libstdc++.so.6",
];

/// The entries guarded, in whichever file defines them.
const ENTRIES: [(&str, Guard); 5] = [
    ("_Unwind_RaiseException", Guard::Park),
    ("_Unwind_Resume", Guard::Park),
    ("_Unwind_Resume_or_Rethrow", Guard::Park),
    ("_Unwind_ForcedUnwind", Guard::Park),
    ("__cxa_begin_catch", Guard::Unpark),
];

/// The guards' group and event (no user name has a `~`).
pub(super) const GUARD_GROUP: &str = "rprobes";
pub(super) const GUARD_EVENT: &str = "~unwind";

/// Guard `g` hit by the current task (trap context, `regs` at the entry).
#[inline(never)]
pub(super) fn run(g: Guard, umm: &UMm, regs: &pt_regs) {
    if umm.xol.frames_in_flight() == 0 {
        return;
    }
    let me = task::current() as usize;
    match g {
        Guard::Park => umm.xol.park(me),
        Guard::Unpark => {
            // Each frame held a module reference.
            for _ in 0..umm.xol.unpark(me, regs.sp as u64) {
                task::module_put();
            }
        }
    }
}

/// The guards' state in the registry.
#[derive(Default)]
pub(crate) struct Guards {
    /// The files guards were tried on (inode keys).
    files: KVec<usize>,
    /// The next guard's id (past the events' ids: a guard records none).
    seq: u32,
}

impl UProbes {
    /// A return probe was added (on `own`, its file if it has one): the
    /// guards on the unwinder's libraries and on `own`, once each. A file
    /// without those entries, or a guard that cannot be placed (memory, a
    /// user probe already there), is skipped: the guards are a best
    /// effort, and their absence only matters to a program that unwinds.
    pub(super) fn ensure_guards(&mut self, own: Option<&str>) {
        for path in Iterator::chain(LIBS.iter().copied(), own) {
            let Ok(f) = RoFile::open(path) else {
                continue;
            };
            let key = f.inode().key();
            drop(f);
            if self.guards.files.contains(&key) || self.guards.files.push(key, GFP_KERNEL).is_err()
            {
                continue;
            }
            for (symbol, g) in ENTRIES {
                let id = ID_LIMIT + self.guards.seq % ID_LIMIT;
                self.guards.seq = self.guards.seq.wrapping_add(1);
                let _ = self.add_guard(NewUProbe {
                    id,
                    group: name(GUARD_GROUP),
                    event: name(GUARD_EVENT),
                    target: UTarget::Symbol {
                        pid: None,
                        path,
                        symbol,
                        offset: 0,
                        symbol_pos: path.len() + 1,
                    },
                    target_pos: 0,
                    args: None,
                    ret: false,
                    guard: Some(g),
                });
            }
        }
    }

    /// The guards go once no return probe is left and no return is in
    /// flight (a frame parked by an exception still needs its
    /// `__cxa_begin_catch`).
    pub(super) fn drop_guards_if_unused(&mut self) {
        if self.guards.files.is_empty()
            || self.all().any(|p| p.is_return())
            || self.returns_in_flight() != 0
        {
            return;
        }
        let mut idx = KVec::new();
        for (i, p) in self.all().enumerate() {
            if p.guard.is_some() && idx.push(i, GFP_KERNEL).is_err() {
                return;
            }
        }
        if self.remove_indexes(&idx).is_ok() {
            self.guards.files.clear();
        }
    }
}

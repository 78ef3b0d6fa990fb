// SPDX-License-Identifier: GPL-2.0

//! One user probe point ([`UProbe`]) and its hit: counted and recorded,
//! then the probed instruction emulated (the fast path) or single-stepped
//! out of line in an XOL slot.
//!
//! Context: [`UProbe::hit`] runs in the int3 trap handler (interrupts off,
//! in the probed task): no lock, no allocation.

use super::emulate::{emulate, gpr, set_gpr, TF};
use super::mm::UMm;
use super::xol::{Step, StepInfo};
use super::ENABLED;
use crate::events::eval::{self, Args, Ctx};
use crate::events::filter::Filter;
use crate::events::ring::{self, Head};
use crate::insn::{Emulation, Fixups, Verdict, MAX_INSN_LEN};
use crate::probe::{Name, Named, TargetText};
use crate::sys::bindings::pt_regs;
use crate::sys::percpu::{PerCpu, Zeroable};
use crate::sys::task;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use kernel::prelude::*;
use kernel::sync::Arc;

/// Per-CPU hit count of one probe.
#[derive(Default)]
pub(super) struct UStats {
    hits: AtomicU64,
}

// SAFETY: An all-zero atomic is a valid zero; atomics are `Sync` and have no
// destructor.
unsafe impl Zeroable for UStats {}

/// One user probe point.
pub(crate) struct UProbe {
    /// Names the probe in recorded events.
    pub(super) id: u32,
    pub(super) group: Name,
    pub(super) event: Name,
    /// The probe point as it reads back (as written).
    pub(super) target: TargetText,
    /// For `PID:PATH:SYMBOL[+OFF]`: the file offset the symbol resolved
    /// to when the probe was added.
    pub(super) file_offset: Option<u64>,
    /// Its address space.
    pub(super) umm: Arc<UMm>,
    /// The address space's key in the tables ([`UMm::key`]).
    pub(super) mm: usize,
    /// The probed address.
    pub(super) vaddr: u64,
    /// The byte the breakpoint replaced.
    pub(super) orig: u8,
    /// Length of the probed instruction.
    pub(super) len: u8,
    /// Emulate or step (the decoder's verdict).
    pub(super) verdict: Verdict,
    /// Fix-ups of a step (an emulated instruction is stepped when the task
    /// has TF set or its stack write would fault).
    pub(super) fixups: Fixups,
    /// What runs in the XOL slot: the instruction, or its rewrite that
    /// addresses memory through `scratch` instead of `%rip`.
    pub(super) step: [u8; MAX_INSN_LEN],
    /// The scratch register and the address it must hold for the step.
    pub(super) scratch: Option<(u8, u64)>,
    /// A `rep` string instruction (its step traps after each iteration).
    pub(super) rep: bool,
    pub(super) stats: PerCpu<UStats>,
    /// Armed by the user (`armed` file).
    pub(super) armed: AtomicBool,
    /// Fetch arguments recorded with each hit's event.
    pub(super) args: Option<KBox<Args>>,
    /// Which tasks' hits count (with the global `set_event_pid`).
    pub(super) filter: Filter,
}

impl Named for UProbe {
    fn names(&self) -> (&Name, &Name) {
        (&self.group, &self.event)
    }
}

impl UProbe {
    /// Writes the probe point as resolved: `PID:PATH:0xOFF` for one
    /// written `PID:PATH:SYMBOL[+OFF]` (the symbol has no `:`, so the
    /// last one ends the path), else as written.
    pub(super) fn write_resolved(&self, w: &mut impl core::fmt::Write) -> core::fmt::Result {
        let t = self.target.as_str();
        match (self.file_offset, t.rfind(':')) {
            (Some(off), Some(i)) => write!(w, "{}0x{off:x}", &t[..=i]),
            _ => w.write_str(t),
        }
    }

    pub(super) fn hits(&self) -> u64 {
        let mut h = 0u64;
        self.stats
            .for_each(|s| h = h.wrapping_add(s.hits.load(Relaxed)));
        h
    }

    /// The probe's fetch arguments.
    pub(crate) fn args(&self) -> Option<&Args> {
        self.args.as_deref()
    }

    /// The handler: counts the hit and records an event (trap context),
    /// with `regs` as they are at the probed instruction. Inlined into the
    /// trap handler: the common case (no arguments) is a few loads, the
    /// counter and the ring buffer's reserve and commit.
    #[inline(always)]
    fn count(&self, regs: &pt_regs) {
        if !ENABLED.load(Relaxed) || !self.armed.load(Relaxed) || !self.filter.pass() {
            return;
        }
        let s = self.stats.this_cpu();
        s.hits.store(s.hits.load(Relaxed).wrapping_add(1), Relaxed);
        match self.args.as_deref() {
            None => ring::record(Head::entry(self.id, self.vaddr), 0, |_: &mut [u8]| {}),
            Some(args) => self.record_args(args, regs),
        }
    }

    /// [`Self::count`]'s event with fetch arguments.
    #[inline(never)]
    fn record_args(&self, args: &Args, regs: &pt_regs) {
        let ctx = Ctx {
            regs,
            retval: None,
            entry_args: None,
            user: true,
        };
        eval::record_args(Head::entry(self.id, self.vaddr), args, &ctx);
    }

    /// Handles a hit: `regs.ip` is just past our int3 at `self.vaddr`.
    /// The emulated case is the fast path, inlined into the trap handler.
    #[inline(always)]
    pub(super) fn hit(&self, regs: &mut pt_regs) {
        let umm = &*self.umm;
        let bp = self.vaddr;
        regs.ip = bp as usize;
        let me = task::current() as usize;
        // The same hit again after a step aborted for a signal: counted
        // already.
        let counted = umm.take_replay(me, bp);
        // A task that steps itself (TF) gets its trap from a real step.
        if regs.flags as u64 & TF == 0 {
            if let Verdict::Emulate(e) = self.verdict {
                if self.args.is_none() {
                    if emulate(e, regs, bp, self.len) {
                        umm.emulated.fetch_add(1, Relaxed);
                        // Last: little is live across the ring buffer's
                        // calls.
                        if !counted {
                            self.count(regs);
                        }
                        return;
                    }
                } else if self.emulate_args(e, regs, counted) {
                    return;
                }
            }
        }
        self.step(regs, me, counted);
    }

    /// The emulated case of [`Self::hit`] with fetch arguments: they see
    /// the registers from before the instruction.
    #[inline(never)]
    fn emulate_args(&self, e: Emulation, regs: &mut pt_regs, counted: bool) -> bool {
        let before = *regs;
        if !emulate(e, regs, self.vaddr, self.len) {
            return false;
        }
        if !counted {
            self.count(&before);
        }
        self.umm.emulated.fetch_add(1, Relaxed);
        true
    }

    /// The stepped case of [`Self::hit`]: the instruction runs out of line
    /// in an XOL slot, with TF.
    #[inline(never)]
    fn step(&self, regs: &mut pt_regs, me: usize, counted: bool) {
        let umm = &*self.umm;
        let bp = self.vaddr;
        if umm.xol.area() == 0 {
            if !umm.xol_failed() {
                UMm::request_area(umm);
            }
            umm.retries.fetch_add(1, Relaxed);
            return;
        }
        // A module reference, released when the step ends; fails once the
        // module is going (then the breakpoint is about to be removed: trap
        // again until it is).
        if !task::module_try_get() {
            umm.retries.fetch_add(1, Relaxed);
            return;
        }
        let Some(slot) = umm.xol.alloc() else {
            task::module_put();
            umm.retries.fetch_add(1, Relaxed);
            return;
        };
        if !counted {
            self.count(regs);
        }
        umm.xol
            .write(slot, &self.step[..usize::from(self.len)], self.id);
        let mut saved = 0;
        if let Some((reg, value)) = self.scratch {
            saved = gpr(regs, reg);
            set_gpr(regs, reg, value);
        }
        let step = Step {
            slot,
            orig: bp,
            info: StepInfo {
                len: self.len,
                fixups: self.fixups.bits(),
                scratch: self.scratch.map(|(r, _)| r),
                saved_tf: regs.flags as u64 & TF != 0,
                rep: self.rep,
            },
            saved,
        };
        umm.xol.begin(me, &step);
        regs.ip = umm.xol.slot_addr(slot) as usize;
        regs.flags |= TF as usize;
        umm.stepped.fetch_add(1, Relaxed);
    }
}

impl Drop for UProbe {
    fn drop(&mut self) {
        self.umm.remove_point(self.vaddr);
        // No trap handler uses the probe any more (it left the table a
        // grace period ago): no slot gets its instruction again.
        self.umm.xol.forget(self.id);
    }
}

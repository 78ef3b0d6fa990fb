// SPDX-License-Identifier: GPL-2.0

//! One user probe point ([`UProbe`]: a line of `probes`), a `PID:` probe's
//! breakpoint in its address space ([`UInst`]; a path probe has none: a
//! hit finds it by file and offset through the address space's mappings,
//! [`super::mm::Maps`]), and a hit ([`Site::hit`]): counted and recorded,
//! then the probed instruction emulated (the fast path) or single-stepped
//! out of line in an XOL slot.
//!
//! Context: [`Site::hit`] runs in the int3 trap handler (interrupts off,
//! in the probed task): no lock, no allocation.

use super::emulate::{emulate, gpr, set_gpr, TF};
use super::guard::{self, Guard};
use super::mm::UMm;
use super::table::{hash_point, Hashed};
use super::xol::{Miss, Ret, Step, StepInfo};
use super::{ENABLED, STEP_ONLY};
use crate::events::eval::{self, Args, Ctx};
use crate::events::filter::Filter;
use crate::events::ring::{self, Head};
use crate::events::tevent;
use crate::insn::{Emulation, Fixups, Verdict, MAX_INSN_LEN};
use crate::lang::fetch_arg::{EntrySave, MAX_ENTRY_ARGS};
use crate::probe::{Name, Named};
use crate::retprobes::handler::{cycles, cycles_to_ns, RetRecord, Return, RING};
use crate::retprobes::hist::{self, BUCKETS};
use crate::sys::bindings::pt_regs;
use crate::sys::file::Inode;
use crate::sys::percpu::{self, PerCpu, Zeroable};
use crate::sys::{task, user};
use core::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU64,
    Ordering::{Acquire, Relaxed},
};
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

/// Per-CPU return statistics of a return probe: the entry-to-return
/// latency histogram (ns), and returns on another CPU than their entry.
pub(super) struct URetStats {
    hist: [AtomicU64; BUCKETS],
    migrated: AtomicU64,
    /// The last [`RING`] returns on this CPU (`returns`).
    next: AtomicU64,
    ring: [RetRecord; RING],
}

// SAFETY: As for `UStats`.
unsafe impl Zeroable for URetStats {}

/// Where a probe's breakpoints go.
pub(crate) enum Kind {
    /// `PID:...`: one address of one address space (its instance; none
    /// once the process is gone: the probe keeps its counts).
    Pid {
        /// The probed address.
        vaddr: u64,
    },
    /// `PATH:...`: a file offset, in every address space that maps the
    /// file (now and later).
    Path {
        /// The file (its inode, held).
        inode: Inode,
        /// The probed file offset.
        offset: u64,
    },
}

/// A probe's breakpoint in one address space: what the int3 handler finds
/// by (mm, address) in [`super::table::POINTS`].
///
/// # Invariants
///
/// `point` is the [`UProbe`] that owns this instance (in its `insts`); the
/// probe is freed only after its instances left the table and a grace
/// period passed.
pub(crate) struct UInst {
    pub(super) point: *const UProbe,
    pub(super) umm: Arc<UMm>,
    /// The probed address.
    pub(super) vaddr: u64,
}

// SAFETY: `point` is only read (a `Sync` probe) while the owner is alive.
unsafe impl Send for UInst {}
// SAFETY: As above.
unsafe impl Sync for UInst {}

impl Hashed for UInst {
    fn hash(&self) -> usize {
        hash_point(self.umm.key(), self.vaddr)
    }
}

/// One user probe point.
pub(crate) struct UProbe {
    /// Names the probe in recorded events.
    pub(super) id: u32,
    pub(super) group: Name,
    pub(super) event: Name,
    /// The probe point as it reads back (as written): its own allocation
    /// of its length (a [`crate::probe::TargetText`] is 320 bytes; this
    /// keeps a probe in a 512-byte slab object).
    pub(super) target: KVec<u8>,
    /// For a point in a file (`[PID:]PATH:...`): its file offset (a
    /// symbol resolved when the probe was added); `None` for `PID:0xADDR`.
    pub(super) file_offset: Option<u64>,
    /// Where its breakpoints go.
    pub(super) kind: Kind,
    /// A `PID:` probe's breakpoint, while its process lives (it points
    /// back to it: see [`UInst`]); always empty for a path probe.
    pub(super) insts: KVec<KBox<UInst>>,
    /// For a path probe with a USDT semaphore: (address space, address of
    /// the counter it incremented there, or inherited in a fork child).
    /// Registry mutex.
    pub(super) sems: KVec<(usize, u64)>,
    /// The file offset of its USDT semaphore (`(0xREF)`).
    pub(super) ref_ctr: Option<u64>,
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
    /// The scratch register and the address it must hold for the step,
    /// relative to the probed address (and whether it wraps at 4 GiB: an
    /// `addr32` operand).
    pub(super) scratch: Option<(u8, u64, bool)>,
    /// A `rep` string instruction (its step traps after each iteration).
    pub(super) rep: bool,
    pub(super) stats: PerCpu<UStats>,
    /// Armed by the user (`armed` file).
    pub(super) armed: AtomicBool,
    /// Fetch arguments recorded with each hit's event.
    pub(super) args: Option<KBox<Args>>,
    /// Which tasks' hits count (with the global `set_event_pid`).
    pub(super) filter: Filter,
    /// A return probe (`r`, `%return`): its entry hijacks the return, and
    /// the return is the hit.
    pub(super) ret: bool,
    /// A return probe's latency histogram.
    pub(super) rstats: Option<PerCpu<URetStats>>,
    /// The hash of `event` (looked up by name without comparing it with
    /// every probe's).
    pub(super) ev_hash: u32,
    /// Returns not hijacked: the thread had [`super::xol::MAX_DEPTH`] in flight;
    /// the address space [`super::xol::NFRAMES`], or the return address could
    /// not be read or written.
    pub(super) miss_depth: AtomicU64,
    pub(super) miss_other: AtomicU64,
    /// An unwinder guard: no event, its entry parks or unparks the
    /// thread's return frames ([`super::guard`]).
    pub(super) guard: Option<Guard>,
    /// The event's trace event (`trace_events=1`), or null: set and
    /// cleared under the registry mutex, which frees a trace event only
    /// an RCU grace period after clearing it in every probe of the event.
    pub(super) tevent: AtomicPtr<crate::sys::bindings::rprobes_tevent>,
}

/// The emulation of verdict `v`, unless the emulator's are stepped
/// ([`STEP_ONLY`]).
#[inline(always)]
fn emulation(v: &Verdict) -> Option<&Emulation> {
    match v {
        Verdict::Emulate(Emulation::Exec { .. }) if STEP_ONLY.load(Relaxed) => None,
        Verdict::Emulate(e) => Some(e),
        _ => None,
    }
}

// A probe fits a 512-byte slab object (memory per probe point).
const _: () = assert!(core::mem::size_of::<UProbe>() <= 512);

impl Named for UProbe {
    fn names(&self) -> (&Name, &Name) {
        (&self.group, &self.event)
    }
}

// The key of a path probe in `PATHS` (where it is only while the registry
// owns it, boxed, and freed a grace period after it left).
impl Hashed for UProbe {
    fn hash(&self) -> usize {
        match &self.kind {
            Kind::Path { inode, offset } => hash_point(inode.key(), *offset),
            Kind::Pid { vaddr } => *vaddr as usize,
        }
    }
}

impl UProbe {
    /// Whether this is the path probe at `offset` of file `file`.
    #[inline]
    pub(super) fn is_at(&self, file: usize, off: u64) -> bool {
        matches!(&self.kind, Kind::Path { inode, offset } if inode.key() == file && *offset == off)
    }

    /// A path probe's file offset.
    pub(super) fn path_offset(&self) -> Option<u64> {
        match &self.kind {
            Kind::Path { offset, .. } => Some(*offset),
            Kind::Pid { .. } => None,
        }
    }

    /// Writes the probe point as resolved: `PID:PATH:0xOFF` for one
    /// written `PID:PATH:SYMBOL[+OFF]` (the symbol has no `:`, so the
    /// last one ends the path), else as written.
    pub(super) fn write_resolved(&self, w: &mut impl core::fmt::Write) -> core::fmt::Result {
        let t = self.target_text();
        match (self.file_offset, t.rfind(':')) {
            (Some(off), Some(i)) => write!(w, "{}0x{off:x}", &t[..=i]),
            _ => w.write_str(t),
        }
    }

    /// The probe point as written (`probes`).
    pub(crate) fn target_text(&self) -> &str {
        // Copied from a `str` (`set::UProbes::new_probe`).
        core::str::from_utf8(&self.target).unwrap_or("")
    }

    /// A path probe's file (its inode's key).
    pub(super) fn inode_key(&self) -> Option<usize> {
        match &self.kind {
            Kind::Path { inode, .. } => Some(inode.key()),
            Kind::Pid { .. } => None,
        }
    }

    /// A path probe's inode for the shim's checks; null for a `PID:` probe.
    pub(super) fn inode_ptr(&self) -> *mut kernel::ffi::c_void {
        match &self.kind {
            Kind::Path { inode, .. } => inode.as_ptr(),
            Kind::Pid { .. } => core::ptr::null_mut(),
        }
    }

    pub(super) fn hits(&self) -> u64 {
        let mut h = 0u64;
        self.stats
            .for_each(|s| h = h.wrapping_add(s.hits.load(Relaxed)));
        h
    }

    /// A return probe.
    pub(crate) fn is_return(&self) -> bool {
        self.ret
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
    fn count(&self, regs: &pt_regs, vaddr: u64) {
        if self.ret
            || self.guard.is_some()
            || !ENABLED.load(Relaxed)
            || !self.armed.load(Relaxed)
            || !self.filter.pass()
        {
            return;
        }
        let s = self.stats.this_cpu();
        s.hits.store(s.hits.load(Relaxed).wrapping_add(1), Relaxed);
        match self.args.as_deref() {
            None => ring::record(Head::entry(self.id, vaddr), 0, |_: &mut [u8]| {}),
            Some(args) => self.record_args(args, regs, vaddr),
        }
        let ev = self.tevent.load(Acquire);
        if !ev.is_null() {
            self.trace_event(ev, regs, vaddr, None);
        }
    }

    /// The hit for tracefs and perf (`trace_events=1`): at `vaddr`, or
    /// the return `r`.
    #[inline(never)]
    fn trace_event(
        &self,
        ev: *mut crate::sys::bindings::rprobes_tevent,
        regs: &pt_regs,
        vaddr: u64,
        r: Option<&Ret>,
    ) {
        // SAFETY: The trap handlers run with interrupts off (an RCU
        // read-side section), and a trace event is freed only a grace
        // period after it was cleared here.
        if !unsafe { tevent::on_raw(ev) } {
            return;
        }
        let args = self.args.as_deref();
        let ctx = Ctx {
            regs,
            retval: r.map(|_| regs.ax as u64),
            entry_args: r.and_then(|r| args.map(|a| (&r.args, &a.entry))),
            user: true,
            file_base: self.file_offset.map(|o| vaddr.wrapping_sub(o)),
        };
        // SAFETY: As above.
        unsafe { tevent::write_raw(ev, vaddr, r.map(|r| r.ret), args, &ctx) };
    }

    /// [`Self::count`]'s event with fetch arguments.
    #[inline(never)]
    fn record_args(&self, args: &Args, regs: &pt_regs, vaddr: u64) {
        let ctx = Ctx {
            regs,
            retval: None,
            entry_args: None,
            user: true,
            file_base: self.file_offset.map(|o| vaddr.wrapping_sub(o)),
        };
        eval::record_args(Head::entry(self.id, vaddr), args, &ctx);
    }

    /// A return of a call of this return probe's function at `func`, to
    /// `ret` (trap context): counted and recorded with `$retval`.
    pub(super) fn count_return(&self, regs: &pt_regs, r: &Ret) {
        if !ENABLED.load(Relaxed) || !self.armed.load(Relaxed) || !self.filter.pass() {
            return;
        }
        let s = self.stats.this_cpu();
        s.hits.store(s.hits.load(Relaxed).wrapping_add(1), Relaxed);
        if let Some(rs) = self.rstats.as_ref() {
            let rs = rs.this_cpu();
            let now = cycles();
            let lat = cycles_to_ns(now.saturating_sub(r.t0));
            let b = &rs.hist[hist::bucket(lat)];
            b.store(b.load(Relaxed).wrapping_add(1), Relaxed);
            let cpu = percpu::cpu();
            if r.cpu != cpu {
                rs.migrated
                    .store(rs.migrated.load(Relaxed).wrapping_add(1), Relaxed);
            }
            let n = rs.next.load(Relaxed);
            rs.next.store(n.wrapping_add(1), Relaxed);
            let pid = task::current_pid() as u32;
            rs.ring[(n % RING as u64) as usize].write(
                now,
                pid,
                cpu,
                regs.ax as u64,
                r.ret as usize,
            );
        }
        let head = Head::ret(self.id, r.func, r.ret);
        let ev = self.tevent.load(Acquire);
        if !ev.is_null() {
            self.trace_event(ev, regs, r.func, Some(r));
        }
        match self.args.as_deref() {
            None => ring::record(head, 0, |_: &mut [u8]| {}),
            Some(args) => {
                let ctx = Ctx {
                    regs,
                    retval: Some(regs.ax as u64),
                    entry_args: Some((&r.args, &args.entry)),
                    user: true,
                    file_base: self.file_offset.map(|o| r.func.wrapping_sub(o)),
                };
                eval::record_args(head, args, &ctx);
            }
        }
    }

    /// A return probe's summed latency histogram and migrated returns.
    pub(super) fn histogram(&self) -> Option<([u64; BUCKETS], u64)> {
        let rs = self.rstats.as_ref()?;
        let mut h = [0u64; BUCKETS];
        let mut m = 0u64;
        rs.for_each(|s| {
            for (d, c) in h.iter_mut().zip(s.hist.iter()) {
                *d = d.wrapping_add(c.load(Relaxed));
            }
            m = m.wrapping_add(s.migrated.load(Relaxed));
        });
        Some((h, m))
    }

    /// Appends the recent returns (every CPU's last [`RING`]) to `out`.
    pub(super) fn recent(&self, out: &mut KVec<Return>) -> Result {
        let Some(rs) = self.rstats.as_ref() else {
            return Ok(());
        };
        let func = match self.kind {
            Kind::Pid { vaddr } => vaddr as usize,
            // Its address differs per process: the file offset.
            Kind::Path { offset, .. } => offset as usize,
        };
        let mut err = Ok(());
        rs.for_each(|s| {
            for r in s.ring.iter() {
                if let (Some(rec), true) = (r.read(func), err.is_ok()) {
                    err = out.push(rec, GFP_KERNEL).map_err(|_| ENOMEM);
                }
            }
        });
        err
    }

    /// Returns not hijacked (depth, other causes).
    pub(super) fn misses(&self) -> (u64, u64) {
        (self.miss_depth.load(Relaxed), self.miss_other.load(Relaxed))
    }

    /// The scratch register and the value it gets for a step at `vaddr`.
    fn scratch_at(&self, vaddr: u64) -> Option<(u8, u64)> {
        self.scratch.map(|(reg, rel, wrap32)| {
            let v = vaddr.wrapping_add(rel);
            (reg, if wrap32 { v & 0xffff_ffff } else { v })
        })
    }
}

impl UInst {
    /// The probe.
    #[inline(always)]
    pub(super) fn point(&self) -> &UProbe {
        // SAFETY: The owner outlives its instances (type invariant).
        unsafe { &*self.point }
    }

    /// Where it is.
    #[inline(always)]
    pub(super) fn site(&self) -> Site<'_> {
        Site {
            p: self.point(),
            umm: &self.umm,
            vaddr: self.vaddr,
        }
    }
}

/// A hit's probe, address space and address (of its int3).
pub(super) struct Site<'a> {
    pub(super) p: &'a UProbe,
    pub(super) umm: &'a UMm,
    pub(super) vaddr: u64,
}

impl Site<'_> {
    /// Handles a hit: `regs.ip` is just past our int3 at `self.vaddr`.
    /// The emulated case is the fast path, inlined into the trap handler.
    #[inline(always)]
    pub(super) fn hit(&self, regs: &mut pt_regs) {
        let p = self.p;
        let umm = self.umm;
        let bp = self.vaddr;
        regs.ip = bp as usize;
        let me = task::current() as usize;
        if let Some(g) = p.guard {
            guard::run(g, umm, regs);
        }
        if p.ret && !self.hijack(regs, me) {
            // No trampoline yet: the task traps again once it exists.
            return;
        }
        // The same hit again after a step aborted for a signal: counted
        // already.
        let counted = umm.take_replay(me, bp);
        // A task that steps itself (TF) gets its trap from a real step.
        if regs.flags as u64 & TF == 0 {
            if let Some(e) = emulation(&p.verdict) {
                if p.args.is_none() {
                    if emulate(e, regs, bp, p.len) {
                        umm.emulated.fetch_add(1, Relaxed);
                        // Last: little is live across the ring buffer's
                        // calls.
                        if !counted {
                            p.count(regs, bp);
                        }
                        return;
                    }
                } else if self.emulate_args(e, regs, me, counted) {
                    return;
                }
            }
        }
        self.step(regs, me, counted);
    }

    /// A return probe's entry: the return address at `%rsp` replaced by
    /// the trampoline's, the real one kept in a frame of the thread
    /// ([`xol::Xol::push_frame`]). False when the area is not there yet
    /// (its creation is queued: the task traps again). A return that
    /// cannot be hijacked is counted as missed, and the call runs on.
    #[inline(never)]
    fn hijack(&self, regs: &pt_regs, me: usize) -> bool {
        let (p, umm) = (self.p, self.umm);
        let tramp = umm.xol.tramp();
        if tramp == 0 {
            if umm.xol_failed() {
                p.miss_other.fetch_add(1, Relaxed);
                return true;
            }
            UMm::request_area(umm);
            umm.retries.fetch_add(1, Relaxed);
            return false;
        }
        let sp = regs.sp as u64;
        let Some(ret) = user::read_u64(sp) else {
            p.miss_other.fetch_add(1, Relaxed);
            return true;
        };
        // This entry's trap taken again (a step that found no free slot):
        // hijacked already. (The trampoline's address there with another
        // function's frame is a chain: a tail call into this one.)
        if ret == tramp && umm.xol.has_frame(me, sp, self.vaddr) {
            return true;
        }
        // Each frame holds a module reference: the trampoline's int3 needs
        // the module until the return came back.
        if !task::module_try_get() {
            p.miss_other.fetch_add(1, Relaxed);
            return true;
        }
        // `$argN` of the return: the words the entry has.
        let args = match p.args.as_deref().map(|a| &a.entry) {
            None | Some(EntrySave::None) => [0; MAX_ENTRY_ARGS],
            Some(EntrySave::Regs) => {
                [regs.di, regs.si, regs.dx, regs.cx, regs.r8, regs.r9].map(|v| v as u64)
            }
            Some(save) => eval::entry_words(save, regs, true),
        };
        let frame = Ret {
            ret,
            func: self.vaddr,
            id: p.id,
            cpu: percpu::cpu(),
            t0: cycles(),
            args,
        };
        let pushed = umm.xol.push_frame(me, sp, &frame);
        let stale = match pushed {
            Ok(n) | Err((_, n)) => n,
        };
        for _ in 0..stale {
            task::module_put();
        }
        if let Err((why, _)) = pushed {
            task::module_put();
            match why {
                Miss::Depth => p.miss_depth.fetch_add(1, Relaxed),
                Miss::Full => p.miss_other.fetch_add(1, Relaxed),
            };
            return true;
        }
        if !user::write_u64(sp, tramp) {
            umm.xol.unpush(me);
            task::module_put();
            p.miss_other.fetch_add(1, Relaxed);
        }
        true
    }

    /// The emulated case of [`Self::hit`] with fetch arguments: they see
    /// the registers from before the instruction.
    #[inline(never)]
    fn emulate_args(&self, e: &Emulation, regs: &mut pt_regs, me: usize, counted: bool) -> bool {
        let p = self.p;
        if let Emulation::Exec { .. } = e {
            // It may store: the arguments are fetched before it runs, as
            // before a step (and the step, if it comes to one, is counted).
            if !counted {
                p.count(regs, self.vaddr);
            }
            if emulate(e, regs, self.vaddr, p.len) {
                self.umm.emulated.fetch_add(1, Relaxed);
            } else {
                self.step(regs, me, true);
            }
            return true;
        }
        let before = *regs;
        if !emulate(e, regs, self.vaddr, p.len) {
            return false;
        }
        if !counted {
            p.count(&before, self.vaddr);
        }
        self.umm.emulated.fetch_add(1, Relaxed);
        true
    }

    /// The stepped case of [`Self::hit`]: the instruction runs out of line
    /// in an XOL slot, with TF.
    #[inline(never)]
    fn step(&self, regs: &mut pt_regs, me: usize, counted: bool) {
        let p = self.p;
        let umm = self.umm;
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
            p.count(regs, bp);
        }
        umm.xol.write(slot, &p.step[..usize::from(p.len)], p.id);
        let scratch = p.scratch_at(bp);
        let mut saved = 0;
        if let Some((reg, value)) = scratch {
            saved = gpr(regs, reg);
            set_gpr(regs, reg, value);
        }
        let step = Step {
            slot,
            orig: bp,
            info: StepInfo {
                len: p.len,
                fixups: p.fixups.bits(),
                scratch: scratch.map(|(r, _)| r),
                saved_tf: regs.flags as u64 & TF != 0,
                rep: p.rep,
            },
            saved,
        };
        umm.xol.begin(me, &step);
        regs.ip = umm.xol.slot_addr(slot) as usize;
        regs.flags |= TF as usize;
        umm.stepped.fetch_add(1, Relaxed);
    }
}

impl UInst {
    /// Forgets the instance in its address space (out of the table a grace
    /// period ago: no trap handler uses it): no slot gets its instruction
    /// again.
    pub(super) fn forget(&self, id: u32) {
        self.umm.xol.forget(id);
    }
}

impl Drop for UProbe {
    fn drop(&mut self) {
        for i in self.insts.iter() {
            i.forget(self.id);
        }
    }
}

// SPDX-License-Identifier: GPL-2.0

//! The XOL ("execute out of line") area of one probed address space: the
//! slots where probed instructions are single-stepped, the record of each
//! step in flight, and the return trampoline of user return probes with
//! the return frames in flight.
//!
//! The area is [`XOL_PAGES`] pages of slots and one page more, the
//! trampoline (full of `int3`: a return hijacked by a return probe's entry
//! lands on its first byte), all of our own ([`Page`]s), mapped `r-x`
//! into the process (`crate::sys::user::xol_map`) in the process's own
//! context, at its first hit that needs a step. User space can never write it (no
//! `VM_MAYWRITE`, `VM_IO`); we write a slot through the kernel's mapping of
//! the page, only while we own the slot.
//!
//! A slot is taken per step (not per thread), so the number of threads is
//! not bounded by the number of slots: a thread finding all [`NSLOTS`]
//! (or the `xol_slots=` load parameter's number) taken traps again and
//! retries. A slot is held for one instruction, however long that takes
//! (a page fault of the stepped copy that waits, for I/O or a userfaultfd
//! handler, keeps it; a signal meanwhile aborts the step and frees it).
//!
//! Locking: none. A slot is owned by whoever sets its bit in `used`; its
//! record by whoever then claims `owner` (the stepping task at its trap,
//! or the task-free hook for a task that died mid-step), so a step is
//! completed or abandoned exactly once. The pages are set once, before
//! the area's address is published. A return frame is owned by whoever
//! sets its bit in `fused`; it belongs to one task (`owner`), which alone
//! pushes and pops its frames (in its own traps), or the task-free hook
//! once it died.

use crate::lang::fetch_arg::MAX_ENTRY_ARGS;
use crate::sys::user;
use core::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize,
    Ordering::{AcqRel, Acquire, Relaxed, Release},
};
use kernel::page::{Page, PAGE_SIZE};
use kernel::prelude::*;

/// Pages in an area.
pub(crate) const XOL_PAGES: usize = 4;
/// What an area is filled with around its instructions.
const INT3_BYTE: u8 = super::INT3;
/// Bytes per slot: the longest instruction (15) and int3 padding.
pub(crate) const SLOT_BYTES: usize = 32;
/// Slots per area.
pub(crate) const NSLOTS: usize = XOL_PAGES * PAGE_SIZE / SLOT_BYTES;
/// Bytes of the slots of an area.
pub(crate) const XOL_BYTES: u64 = (XOL_PAGES * PAGE_SIZE) as u64;
/// Pages of an area: the slots' and the trampoline's.
pub(crate) const AREA_PAGES: usize = XOL_PAGES + 1;
/// Return frames in flight per address space, at most.
pub(crate) const NFRAMES: usize = 1024;
/// Return frames in flight per thread, at most (the kernel's uprobes
/// have 64 too: `MAX_URETPROBE_DEPTH`); a deeper call is not hijacked.
pub(crate) const MAX_DEPTH: usize = 64;
/// Bytes of the return frames of one address space.
pub(crate) const FRAMES_BYTES: usize = NFRAMES * core::mem::size_of::<Frame>();

const _: () = assert!(NSLOTS == crate::sys::bindings::RPROBES_XOL_SLOTS as usize);

/// The slots of each area that steps use (`xol_slots=`, at most
/// [`NSLOTS`]): a load may lower it, so that a test fills an area with a
/// few threads.
static SLOT_LIMIT: AtomicUsize = AtomicUsize::new(NSLOTS);

/// Sets [`SLOT_LIMIT`] (module load, before any area exists).
pub(super) fn set_slot_limit(n: usize) {
    SLOT_LIMIT.store(n.clamp(1, NSLOTS), Relaxed);
}

/// What a step needs to be completed: packed into one word.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StepInfo {
    /// Length of the probed instruction.
    pub(crate) len: u8,
    /// [`crate::insn::Fixups`] bits.
    pub(crate) fixups: u8,
    /// Scratch register number, if the copy uses one.
    pub(crate) scratch: Option<u8>,
    /// The task had TF set itself.
    pub(crate) saved_tf: bool,
    /// A `rep` string instruction: its step traps after each iteration,
    /// with `%rip` at the slot's start until the last one.
    pub(crate) rep: bool,
}

impl StepInfo {
    fn pack(self) -> u64 {
        u64::from(self.len)
            | u64::from(self.fixups) << 8
            | self.scratch.map_or(0, |r| u64::from(r) << 16 | 1 << 24)
            | u64::from(self.saved_tf) << 25
            | u64::from(self.rep) << 26
    }

    fn unpack(w: u64) -> Self {
        Self {
            len: w as u8,
            fixups: (w >> 8) as u8,
            scratch: (w & 1 << 24 != 0).then_some((w >> 16) as u8 & 15),
            saved_tf: w & 1 << 25 != 0,
            rep: w & 1 << 26 != 0,
        }
    }
}

/// A step in flight in one slot.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Step {
    /// Slot index.
    pub(crate) slot: usize,
    /// The probed instruction's address.
    pub(crate) orig: u64,
    /// How to complete it.
    pub(crate) info: StepInfo,
    /// The scratch register's own value, to restore.
    pub(crate) saved: u64,
}

/// The record of the step in one slot.
/// Bytes of the step records of one address space.
pub(crate) const RECORDS_BYTES: usize = NSLOTS * core::mem::size_of::<Record>();

/// What [`Xol::create`] makes: the pages, one step record per slot, and
/// the return frames.
struct Made {
    pages: KVec<Page>,
    records: KVec<Record>,
    frames: KVec<Frame>,
}

/// A return hijacked by a return probe's entry, in flight.
#[derive(Default)]
struct Frame {
    /// The task (`task_struct *`), 0 when free.
    owner: AtomicUsize,
    /// Order of the task's frames: the newest returns first.
    seq: AtomicU64,
    /// Where the return address is (`%rsp` at the entry).
    sp: AtomicU64,
    /// The real return address.
    ret: AtomicU64,
    /// The probed address (the function), and the probe's id.
    func: AtomicU64,
    id: AtomicU32,
    /// The CPU of the entry.
    cpu: AtomicU32,
    /// TSC at the entry.
    t0: AtomicU64,
    /// The `$argN` words saved at the entry (see
    /// [`crate::lang::fetch_arg::EntrySave`]).
    args: [AtomicU64; MAX_ENTRY_ARGS],
    /// The slot holds the real return address while an unwinder walks
    /// the stack ([`Xol::park`]).
    parked: AtomicBool,
}

/// A return frame popped: see [`Xol::pop_frame`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ret {
    pub(crate) ret: u64,
    pub(crate) func: u64,
    pub(crate) id: u32,
    pub(crate) cpu: u32,
    pub(crate) t0: u64,
    pub(crate) args: [u64; MAX_ENTRY_ARGS],
}

/// Why a return probe's entry did not hijack the return.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Miss {
    /// The thread has [`MAX_DEPTH`] frames in flight.
    Depth,
    /// The address space has [`NFRAMES`] frames in flight.
    Full,
}

struct Record {
    /// The stepping task (`task_struct *`), 0 when none.
    owner: AtomicUsize,
    /// Order of the steps of one task (a signal handler may step inside a
    /// step): the newest is completed first.
    seq: AtomicU64,
    orig: AtomicU64,
    info: AtomicU64,
    saved: AtomicU64,
    /// Whose instruction the slot holds (the `tag` of its last
    /// [`Xol::write`]; 0: none yet). Only the slot's owner uses it.
    holds: AtomicU32,
}

/// One address space's XOL area.
///
/// # Invariants
///
/// `made` is null or a `KBox<Made>` (from `KBox::into_raw`) that this
/// object owns, set once by [`Xol::create`] before `vaddr` is published
/// (release ordering) and freed when the area drops. Once `vaddr` is not
/// 0, `made` is set.
pub(crate) struct Xol {
    vaddr: AtomicU64,
    made: AtomicPtr<Made>,
    used: [AtomicU64; NSLOTS / 64],
    /// Return frames taken.
    fused: [AtomicU64; NFRAMES / 64],
    fseq: AtomicU64,
    seq: AtomicU64,
    in_use: AtomicU32,
    hwm: AtomicU32,
    /// The slots steps use: `0..limit` ([`SLOT_LIMIT`] when made).
    limit: usize,
}

impl Xol {
    /// No area yet (and no memory for one: a process that never steps
    /// costs only this object).
    pub(crate) fn new() -> Self {
        Self {
            vaddr: AtomicU64::new(0),
            made: AtomicPtr::new(core::ptr::null_mut()),
            used: [const { AtomicU64::new(0) }; NSLOTS / 64],
            fused: [const { AtomicU64::new(0) }; NFRAMES / 64],
            fseq: AtomicU64::new(0),
            seq: AtomicU64::new(0),
            in_use: AtomicU32::new(0),
            hwm: AtomicU32::new(0),
            limit: SLOT_LIMIT.load(Relaxed),
        }
    }

    /// The area's user address, 0 if there is none.
    #[inline]
    pub(crate) fn area(&self) -> u64 {
        self.vaddr.load(Acquire)
    }

    /// What the area's creation made, once it exists.
    #[inline]
    fn made(&self) -> Option<&Made> {
        let p = self.made.load(Acquire);
        // SAFETY: Type invariant: null or our live box, which is never
        // changed once set and lives as long as `self`.
        (!p.is_null()).then(|| unsafe { &*p })
    }

    /// The area's pages, once it exists.
    #[inline]
    fn pages(&self) -> Option<&[Page]> {
        self.made().map(|m| &m.pages[..])
    }

    /// The step records (one per slot), none before the area exists (no
    /// step can begin then).
    #[inline]
    fn records(&self) -> &[Record] {
        self.made().map_or(&[], |m| &m.records[..])
    }

    /// Creates the area in the current task's address space: pages full of
    /// `int3`, mapped `r-x`. Process context; the caller makes sure only
    /// one creation runs at a time.
    pub(crate) fn create(&self) -> Result<u64> {
        if self.area() != 0 {
            return Ok(self.area());
        }
        let mut pages = KVec::with_capacity(AREA_PAGES, GFP_KERNEL)?;
        let fill = [INT3_BYTE; 256];
        for _ in 0..AREA_PAGES {
            let page = Page::alloc_page(GFP_KERNEL)?;
            for off in (0..PAGE_SIZE).step_by(fill.len()) {
                // SAFETY: `fill` is readable for its length, and nobody
                // else has the page yet.
                unsafe { page.write_raw(fill.as_ptr(), off, fill.len()) }?;
            }
            pages.push(page, GFP_KERNEL)?;
        }
        let mut records = KVec::with_capacity(NSLOTS, GFP_KERNEL)?;
        for _ in 0..NSLOTS {
            // Cannot fail: reserved.
            let _ = records.push(
                Record {
                    owner: AtomicUsize::new(0),
                    seq: AtomicU64::new(0),
                    orig: AtomicU64::new(0),
                    info: AtomicU64::new(0),
                    saved: AtomicU64::new(0),
                    holds: AtomicU32::new(0),
                },
                GFP_KERNEL,
            );
        }
        let mut frames = KVec::with_capacity(NFRAMES, GFP_KERNEL)?;
        for _ in 0..NFRAMES {
            // Cannot fail: reserved.
            let _ = frames.push(Frame::default(), GFP_KERNEL);
        }
        let boxed = KBox::new(
            Made {
                pages,
                records,
                frames,
            },
            GFP_KERNEL,
        )?;
        // The mapping takes its own references on the pages.
        let addr = user::xol_map(&boxed.pages)?;
        // INVARIANT: set before `vaddr` is published, once (the area did
        // not exist, and only one creation runs).
        self.made.store(KBox::into_raw(boxed), Release);
        self.vaddr.store(addr, Release);
        Ok(addr)
    }

    /// Takes a free slot, or `None` when all are in use.
    pub(crate) fn alloc(&self) -> Option<usize> {
        let slot = claim_bit(&self.used, self.limit)?;
        let n = self.in_use.fetch_add(1, Relaxed) + 1;
        self.hwm.fetch_max(n, Relaxed);
        Some(slot)
    }

    fn free(&self, slot: usize) {
        self.used[slot / 64].fetch_and(!(1 << (slot % 64)), Release);
        self.in_use.fetch_sub(1, Relaxed);
    }

    /// User address of a slot.
    #[inline]
    pub(crate) fn slot_addr(&self, slot: usize) -> u64 {
        self.area() + (slot * SLOT_BYTES) as u64
    }

    /// Writes the instruction to step into a slot we own (from
    /// [`Self::alloc`]), with int3 after it: a copy that runs on past its
    /// end without the step trap traps there. `tag` (not 0) names the
    /// instruction: a probe's id, whose step bytes never change. Trap
    /// context.
    pub(crate) fn write(&self, slot: usize, insn: &[u8], tag: u32) {
        let Some(rec) = self.records().get(slot) else {
            return;
        };
        // A slot usually holds the same instruction as last time (the same
        // probe, the same first free slot): leave it alone then. Writing
        // code that was just executed costs a self-modifying-code flush
        // (a machine clear on hardware, retranslation under QEMU's TCG),
        // and even reading it back costs a mapping of the page.
        if rec.holds.load(Relaxed) == tag {
            return;
        }
        let off = slot * SLOT_BYTES;
        let Some(page) = self.pages().and_then(|p| p.get(off / PAGE_SIZE)) else {
            return;
        };
        if insn.len() > SLOT_BYTES {
            return;
        }
        let mut want = [INT3_BYTE; SLOT_BYTES];
        want[..insn.len()].copy_from_slice(insn);
        // SAFETY: `want` is readable for its length; we own the slot: nobody
        // else writes it, and no task executes it until we send one there.
        if unsafe { page.write_raw(want.as_ptr(), off % PAGE_SIZE, SLOT_BYTES) }.is_ok() {
            rec.holds.store(tag, Relaxed);
        }
    }

    /// Forgets that slots hold instruction `tag` (its probe is gone: its
    /// id may come back with other bytes).
    pub(crate) fn forget(&self, tag: u32) {
        for r in self.records().iter() {
            let _ = r.holds.compare_exchange(tag, 0, Relaxed, Relaxed);
        }
    }

    /// Records the step that `owner` starts in `slot`.
    pub(crate) fn begin(&self, owner: usize, s: &Step) {
        let Some(r) = self.records().get(s.slot) else {
            return;
        };
        r.seq.store(self.seq.fetch_add(1, Relaxed), Relaxed);
        r.orig.store(s.orig, Relaxed);
        r.info.store(s.info.pack(), Relaxed);
        r.saved.store(s.saved, Relaxed);
        r.owner.store(owner, Release);
    }

    /// `owner`'s newest step (the one its trap is for), left in flight:
    /// its slot and how to complete it.
    pub(crate) fn peek_newest(&self, owner: usize) -> Option<(usize, StepInfo)> {
        let slot = self.newest(owner)?;
        let r = self.records().get(slot)?;
        // Only `owner` itself (this task) or the task-free hook (once it
        // is dead) ends its steps: the record stays as read.
        Some((slot, StepInfo::unpack(r.info.load(Relaxed))))
    }

    /// Claims and ends `owner`'s step in `slot`, if it has one there.
    pub(crate) fn finish_at(&self, slot: usize, owner: usize) -> Option<Step> {
        self.claim(slot, owner)
    }

    fn newest(&self, owner: usize) -> Option<usize> {
        let mut best: Option<(u64, usize)> = None;
        let records = self.records();
        for_each_bit(&self.used, |i| {
            let Some(r) = records.get(i) else {
                return;
            };
            if r.owner.load(Acquire) == owner {
                let seq = r.seq.load(Relaxed);
                if best.is_none_or(|(s, _)| seq > s) {
                    best = Some((seq, i));
                }
            }
        });
        best.map(|(_, i)| i)
    }

    fn claim(&self, slot: usize, owner: usize) -> Option<Step> {
        let r = self.records().get(slot)?;
        if owner == 0 || r.owner.compare_exchange(owner, 0, AcqRel, Relaxed).is_err() {
            return None;
        }
        let s = Step {
            slot,
            orig: r.orig.load(Relaxed),
            info: StepInfo::unpack(r.info.load(Relaxed)),
            saved: r.saved.load(Relaxed),
        };
        self.free(slot);
        Some(s)
    }

    /// Abandons every step of a dead task; returns how many.
    pub(crate) fn abandon(&self, owner: usize) -> u32 {
        let mut n = 0;
        for slot in 0..NSLOTS {
            if self.used[slot / 64].load(Acquire) & 1 << (slot % 64) != 0
                && self.claim(slot, owner).is_some()
            {
                n += 1;
            }
        }
        n
    }

    /// Abandons every step in flight (the address space is dead, and so
    /// are its tasks); returns how many.
    pub(crate) fn abandon_all(&self) -> u32 {
        let mut n = 0;
        for (slot, r) in self.records().iter().enumerate() {
            let owner = r.owner.load(Acquire);
            if owner != 0 && self.claim(slot, owner).is_some() {
                n += 1;
            }
        }
        n
    }

    /// The trampoline's user address, 0 while there is no area.
    #[inline]
    pub(crate) fn tramp(&self) -> u64 {
        match self.area() {
            0 => 0,
            a => a + XOL_BYTES,
        }
    }

    fn frames(&self) -> &[Frame] {
        self.made().map_or(&[], |m| &m.frames[..])
    }

    /// Calls `f` with each frame of `owner` in flight (index, frame).
    fn each_frame(&self, owner: usize, mut f: impl FnMut(usize, &Frame)) {
        let frames = self.frames();
        for_each_bit(&self.fused, |i| {
            if let Some(fr) = frames.get(i) {
                if fr.owner.load(Acquire) == owner {
                    f(i, fr);
                }
            }
        });
    }

    /// Frees frame `i` if `owner` still owns it.
    fn drop_frame(&self, i: usize, owner: usize) -> bool {
        let Some(fr) = self.frames().get(i) else {
            return false;
        };
        if fr
            .owner
            .compare_exchange(owner, 0, AcqRel, Relaxed)
            .is_err()
        {
            return false;
        }
        self.fused[i / 64].fetch_and(!(1 << (i % 64)), Release);
        true
    }

    /// Whether `owner` has a frame for a call of `func` whose return
    /// address is at `sp` (a trap on the entry taken again).
    pub(crate) fn has_frame(&self, owner: usize, sp: u64, func: u64) -> bool {
        let mut found = false;
        self.each_frame(owner, |_, fr| {
            found |= fr.sp.load(Relaxed) == sp && fr.func.load(Relaxed) == func;
        });
        found
    }

    /// Records a return of `owner` (`f`: a call of `f.func`, probe `f.id`,
    /// whose return address `f.ret` is at `sp`). Frames of `owner` at `sp` or
    /// deeper are dropped first: their calls are gone (`longjmp`, an
    /// exception, a coroutine switch: a new call now uses their stack
    /// slot), but a frame at `sp` when `ret` is the trampoline (a probed
    /// function's tail call into this one: a chain) and one deeper whose
    /// slot still holds the trampoline's address (another stack's: a
    /// `sigaltstack` above this one). Trap context (current is `owner`). Returns how many
    /// were dropped, or why none could be taken.
    pub(crate) fn push_frame(
        &self,
        owner: usize,
        sp: u64,
        f: &Ret,
    ) -> core::result::Result<u32, (Miss, u32)> {
        let ret = f.ret;
        let mut stale = 0u32;
        let mut depth = 0usize;
        let tramp = self.tramp();
        let chained = ret == tramp;
        self.each_frame(owner, |i, fr| {
            let at = fr.sp.load(Relaxed);
            // Below the stack pointer: gone, unless its slot still holds
            // the trampoline's address (a signal handler on a
            // `sigaltstack` above the interrupted stack: that call is
            // alive; a dead one's slot is soon another call's).
            let below = at < sp && user::read_u64(at) != Some(tramp);
            if below || (at == sp && !chained) {
                if self.drop_frame(i, owner) {
                    stale += 1;
                }
            } else {
                depth += 1;
            }
        });
        if depth >= MAX_DEPTH {
            return Err((Miss::Depth, stale));
        }
        let frames = self.frames();
        let Some(i) = claim_bit(&self.fused, frames.len()) else {
            return Err((Miss::Full, stale));
        };
        // In range: `claim_bit` gives a bit below `frames.len()`.
        let fr = &frames[i];
        fr.seq.store(self.fseq.fetch_add(1, Relaxed), Relaxed);
        fr.sp.store(sp, Relaxed);
        fr.ret.store(ret, Relaxed);
        fr.func.store(f.func, Relaxed);
        fr.id.store(f.id, Relaxed);
        fr.cpu.store(f.cpu, Relaxed);
        fr.t0.store(f.t0, Relaxed);
        for (d, v) in fr.args.iter().zip(&f.args) {
            d.store(*v, Relaxed);
        }
        fr.parked.store(false, Relaxed);
        fr.owner.store(owner, Release);
        Ok(stale)
    }

    /// Takes back `owner`'s newest frame (a hijack that could not be
    /// written).
    pub(crate) fn unpush(&self, owner: usize) {
        if let Some((i, _)) = self.newest_frame(owner) {
            self.drop_frame(i, owner);
        }
    }

    fn newest_frame(&self, owner: usize) -> Option<(usize, u64)> {
        let mut best: Option<(u64, usize, u64)> = None;
        self.each_frame(owner, |i, fr| {
            let seq = fr.seq.load(Relaxed);
            if best.is_none_or(|(s, _, _)| seq > s) {
                best = Some((seq, i, fr.sp.load(Relaxed)));
            }
        });
        best.map(|(_, i, sp)| (i, sp))
    }

    /// The return `owner` just made to the trampoline, its return address
    /// popped from `slot` (`%rsp` - 8 now): its newest frame there, taken
    /// (a chain has several there: the caller takes them in turn). The
    /// frames are not a stack: coroutines (`swapcontext`) suspend calls on
    /// other stacks and resume them in any order, so the frame is found by
    /// its slot, not by age. Frames newer than it and deeper than `slot`
    /// whose slot no longer holds the trampoline's address are calls gone
    /// without returning (`longjmp`): dropped on the way. Without a frame at
    /// `slot` (a `ret $imm` popped more), the nearest one below it within
    /// 64 KiB. Also returns how many frames went (the taken one included):
    /// each held a module reference.
    pub(crate) fn pop_frame(&self, owner: usize, slot: u64) -> (Option<Ret>, u32) {
        // (seq, index, sp) of the frame at `slot`, else of the nearest below.
        let mut best: Option<(u64, usize, u64)> = None;
        self.each_frame(owner, |i, fr| {
            let (seq, sp) = (fr.seq.load(Relaxed), fr.sp.load(Relaxed));
            if sp > slot || slot - sp >= 1 << 16 || fr.parked.load(Relaxed) {
                return;
            }
            let better = match best {
                None => true,
                Some((s, _, b)) => sp > b || (sp == b && seq > s),
            };
            if better {
                best = Some((seq, i, sp));
            }
        });
        let Some((seq, i, _)) = best else {
            return (None, 0);
        };
        let fr = &self.frames()[i];
        let r = Ret {
            ret: fr.ret.load(Relaxed),
            func: fr.func.load(Relaxed),
            id: fr.id.load(Relaxed),
            cpu: fr.cpu.load(Relaxed),
            t0: fr.t0.load(Relaxed),
            args: core::array::from_fn(|k| fr.args[k].load(Relaxed)),
        };
        if !self.drop_frame(i, owner) {
            return (None, 0);
        }
        let mut gone = 1;
        let tramp = self.tramp();
        self.each_frame(owner, |j, f| {
            let at = f.sp.load(Relaxed);
            if f.seq.load(Relaxed) > seq
                && at < slot
                && user::read_u64(at) != Some(tramp)
                && self.drop_frame(j, owner)
            {
                gone += 1;
            }
        });
        (Some(r), gone)
    }

    /// An unwinder starts walking `owner`'s stack (`_Unwind_RaiseException`
    /// and its kin, [`super::guard`]): the real return address put back in
    /// the slot of each of its frames that holds the trampoline's, and the
    /// frame parked (it gets no return while parked). An unwinder finds no
    /// unwind information for the trampoline and stops there (a C++
    /// exception would call `std::terminate()`); the real addresses lead
    /// it on. Trap context (current is `owner`).
    pub(crate) fn park(&self, owner: usize) {
        let tramp = self.tramp();
        // Real return addresses first, then the chains' frames on them
        // (a function's tail call into another: one slot, several frames).
        for chains in [false, true] {
            self.each_frame(owner, |_, fr| {
                let (at, ret) = (fr.sp.load(Relaxed), fr.ret.load(Relaxed));
                if (ret == tramp) != chains || fr.parked.load(Relaxed) {
                    return;
                }
                let parked = match user::read_u64(at) {
                    Some(v) if v == tramp => !chains && user::write_u64(at, ret),
                    Some(_) => chains,
                    None => false,
                };
                if parked {
                    fr.parked.store(true, Relaxed);
                }
            });
        }
    }

    /// A catch handler starts (`__cxa_begin_catch`, `sp` its `%rsp`): the
    /// parked frames of `owner` whose call is alive (above `sp`, the slot
    /// still holding the real return address) get the trampoline back;
    /// the others' calls were unwound: dropped. Returns how many were
    /// dropped (each held a module reference). Trap context.
    pub(crate) fn unpark(&self, owner: usize, sp: u64) -> u32 {
        let tramp = self.tramp();
        let mut gone = 0;
        // Real return addresses first, then the chains' frames on them.
        for chains in [false, true] {
            self.each_frame(owner, |i, fr| {
                if !fr.parked.load(Relaxed) {
                    return;
                }
                let (at, ret) = (fr.sp.load(Relaxed), fr.ret.load(Relaxed));
                if (ret == tramp) != chains {
                    return;
                }
                let now = user::read_u64(at);
                let alive = at > sp
                    && if chains {
                        now == Some(tramp)
                    } else {
                        now == Some(ret) && user::write_u64(at, tramp)
                    };
                if alive {
                    fr.parked.store(false, Relaxed);
                } else if self.drop_frame(i, owner) {
                    gone += 1;
                }
            });
        }
        gone
    }

    /// Frees every frame of a dead task; returns how many.
    pub(crate) fn abandon_frames(&self, owner: usize) -> u32 {
        let mut n = 0;
        self.each_frame(owner, |i, _| {
            if self.drop_frame(i, owner) {
                n += 1;
            }
        });
        n
    }

    /// Frees every frame (the address space is dead); returns how many.
    pub(crate) fn abandon_all_frames(&self) -> u32 {
        let mut n = 0;
        for (i, fr) in self.frames().iter().enumerate() {
            let owner = fr.owner.load(Acquire);
            if owner != 0 && self.drop_frame(i, owner) {
                n += 1;
            }
        }
        n
    }

    /// `owner`'s frames in flight, as (stack slot, real return address),
    /// into `out`; returns how many (at most `out.len()`).
    pub(crate) fn frames_of(&self, owner: usize, out: &mut [(u64, u64)]) -> usize {
        let mut n = 0;
        self.each_frame(owner, |_, fr| {
            if let Some(o) = out.get_mut(n) {
                *o = (fr.sp.load(Relaxed), fr.ret.load(Relaxed));
                n += 1;
            }
        });
        n
    }

    /// Return frames in flight.
    pub(crate) fn frames_in_flight(&self) -> u32 {
        self.fused
            .iter()
            .map(|w| w.load(Relaxed).count_ones())
            .sum()
    }

    /// Slot index of a user address inside the area.
    pub(crate) fn slot_of(&self, addr: u64) -> Option<usize> {
        let a = self.area();
        (a != 0 && addr >= a && addr < a + XOL_BYTES).then(|| ((addr - a) as usize) / SLOT_BYTES)
    }

    /// Slots in use now, and the most ever in use at once.
    pub(crate) fn usage(&self) -> (u32, u32) {
        (self.in_use.load(Relaxed), self.hwm.load(Relaxed))
    }

    /// The slots steps may use.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }
}

/// Claims the first clear bit below `limit` of bitmap `words` (lock-free:
/// a CAS per try); its index, or `None` when they are all taken. The bits
/// at `limit` and above count as taken.
fn claim_bit(words: &[AtomicU64], limit: usize) -> Option<usize> {
    for (w, word) in words.iter().enumerate().take(limit.div_ceil(64)) {
        let beyond = match limit - w * 64 {
            n if n >= 64 => 0,
            n => u64::MAX << n,
        };
        let mut cur = word.load(Relaxed);
        while cur | beyond != u64::MAX {
            let bit = (!(cur | beyond)).trailing_zeros();
            match word.compare_exchange_weak(cur, cur | 1 << bit, Acquire, Relaxed) {
                Ok(_) => return Some(w * 64 + bit as usize),
                Err(now) => cur = now,
            }
        }
    }
    None
}

/// Calls `f` with the index of each bit set in bitmap `words` (a snapshot
/// of each word, read with acquire).
fn for_each_bit(words: &[AtomicU64], mut f: impl FnMut(usize)) {
    for (w, word) in words.iter().enumerate() {
        let mut bits = word.load(Acquire);
        while bits != 0 {
            f(w * 64 + bits.trailing_zeros() as usize);
            bits &= bits - 1;
        }
    }
}

impl Drop for Xol {
    fn drop(&mut self) {
        let p = *self.made.get_mut();
        if !p.is_null() {
            // SAFETY: Type invariant: our box. The process's mapping (if
            // it still exists) holds its own page references.
            drop(unsafe { KBox::from_raw(p) });
        }
    }
}

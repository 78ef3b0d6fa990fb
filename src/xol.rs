// SPDX-License-Identifier: GPL-2.0

//! The XOL ("execute out of line") area of one probed address space: the
//! slots where probed instructions are single-stepped, and the record of
//! each step in flight.
//!
//! The area is [`XOL_PAGES`] pages of our own, mapped `r-x` into the process
//! by the shim (`rprobes_xol_map`) in the process's own context, at its
//! first hit that needs a step. User space can never write it (no
//! `VM_MAYWRITE`, `VM_IO`); we write a slot through the kernel's mapping of
//! the page, only while we own the slot.
//!
//! A slot is taken per step (not per thread), so the number of threads is
//! not bounded by the number of slots: a thread finding all [`NSLOTS`]
//! taken traps again and retries, and slots are held only for the few
//! instructions of a step (or while a signal handler interrupts one).
//!
//! Locking: none. A slot is owned by whoever sets its bit in `used`; its
//! record by whoever then claims `owner` (the stepping task at its trap,
//! or the task-free hook for a task that died mid-step), so a step is
//! completed or abandoned exactly once.

use crate::kbind;
use core::sync::atomic::{
    AtomicU32, AtomicU64, AtomicUsize,
    Ordering::{AcqRel, Acquire, Relaxed, Release},
};
use kernel::prelude::*;

/// Pages in an area.
pub(crate) const XOL_PAGES: usize = 4;
const PAGE_SIZE: usize = 4096;
/// Bytes per slot: the longest instruction (15) and int3 padding.
pub(crate) const SLOT_BYTES: usize = 32;
/// Slots per area.
pub(crate) const NSLOTS: usize = XOL_PAGES * PAGE_SIZE / SLOT_BYTES;
/// Bytes of an area.
pub(crate) const XOL_BYTES: u64 = (XOL_PAGES * PAGE_SIZE) as u64;

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
struct Record {
    /// The stepping task (`task_struct *`), 0 when none.
    owner: AtomicUsize,
    /// Order of the steps of one task (a signal handler may step inside a
    /// step): the newest is completed first.
    seq: AtomicU64,
    orig: AtomicU64,
    info: AtomicU64,
    saved: AtomicU64,
}

/// One address space's XOL area.
///
/// # Invariants
///
/// `pages[i]` is 0 or a page from `rprobes_xol_page_alloc` that this object
/// holds a reference on; `kaddr[i]` is its kernel address. Once `vaddr` is
/// not 0 (published with release ordering), every page and address is set
/// and stays so until the area drops.
pub(crate) struct Xol {
    vaddr: AtomicU64,
    pages: [AtomicUsize; XOL_PAGES],
    kaddr: [AtomicUsize; XOL_PAGES],
    used: [AtomicU64; NSLOTS / 64],
    records: KVec<Record>,
    seq: AtomicU64,
    in_use: AtomicU32,
    hwm: AtomicU32,
}

impl Xol {
    /// No area yet.
    pub(crate) fn new() -> Result<Self> {
        let mut records = KVec::with_capacity(NSLOTS, GFP_KERNEL)?;
        for _ in 0..NSLOTS {
            records.push(
                Record {
                    owner: AtomicUsize::new(0),
                    seq: AtomicU64::new(0),
                    orig: AtomicU64::new(0),
                    info: AtomicU64::new(0),
                    saved: AtomicU64::new(0),
                },
                GFP_KERNEL,
            )?;
        }
        Ok(Self {
            vaddr: AtomicU64::new(0),
            pages: [const { AtomicUsize::new(0) }; XOL_PAGES],
            kaddr: [const { AtomicUsize::new(0) }; XOL_PAGES],
            used: [const { AtomicU64::new(0) }; NSLOTS / 64],
            records,
            seq: AtomicU64::new(0),
            in_use: AtomicU32::new(0),
            hwm: AtomicU32::new(0),
        })
    }

    /// The area's user address, 0 if there is none.
    #[inline]
    pub(crate) fn area(&self) -> u64 {
        self.vaddr.load(Acquire)
    }

    /// Creates the area in the current task's address space. Process
    /// context; the caller makes sure only one creation runs at a time.
    pub(crate) fn create(&self) -> Result<u64> {
        if self.area() != 0 {
            return Ok(self.area());
        }
        let mut pages = [core::ptr::null_mut::<kernel::ffi::c_void>(); XOL_PAGES];
        let mut res = Ok(0);
        for p in pages.iter_mut() {
            // SAFETY: Allocates a page we own (or returns NULL).
            *p = unsafe { kbind::rprobes_xol_page_alloc() };
            if p.is_null() {
                res = Err(ENOMEM);
                break;
            }
        }
        if res.is_ok() {
            // SAFETY: `pages` holds XOL_PAGES valid pages; the shim takes
            // its own references for the mapping.
            let r = unsafe { kbind::rprobes_xol_map(pages.as_mut_ptr(), XOL_PAGES as u32) };
            res = if r < 0 {
                Err(Error::from_errno(r as i32))
            } else {
                Ok(r as u64)
            };
        }
        let addr = match res {
            Ok(a) => a,
            Err(e) => {
                for p in pages.iter().filter(|p| !p.is_null()) {
                    // SAFETY: Our reference from `rprobes_xol_page_alloc`.
                    unsafe { kbind::rprobes_page_put(*p) };
                }
                return Err(e);
            }
        };
        for (i, p) in pages.iter().enumerate() {
            // SAFETY: `p` is a valid page.
            let k = unsafe { kbind::rprobes_page_address(*p) };
            self.pages[i].store(*p as usize, Relaxed);
            self.kaddr[i].store(k as usize, Relaxed);
        }
        // INVARIANT: every page and kernel address is set before `vaddr`
        // is published.
        self.vaddr.store(addr, Release);
        Ok(addr)
    }

    /// Takes a free slot, or `None` when all are in use.
    pub(crate) fn alloc(&self) -> Option<usize> {
        for (w, word) in self.used.iter().enumerate() {
            let mut cur = word.load(Relaxed);
            while cur != u64::MAX {
                let bit = (!cur).trailing_zeros();
                match word.compare_exchange_weak(cur, cur | 1 << bit, Acquire, Relaxed) {
                    Ok(_) => {
                        let n = self.in_use.fetch_add(1, Relaxed) + 1;
                        self.hwm.fetch_max(n, Relaxed);
                        return Some(w * 64 + bit as usize);
                    }
                    Err(now) => cur = now,
                }
            }
        }
        None
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
    /// end without the step trap traps there.
    pub(crate) fn write(&self, slot: usize, insn: &[u8]) {
        let off = slot * SLOT_BYTES;
        let k = self.kaddr[off / PAGE_SIZE].load(Relaxed);
        if k == 0 || insn.len() > SLOT_BYTES {
            return;
        }
        let dst = (k + off % PAGE_SIZE) as *mut u8;
        let mut want = [0xccu8; SLOT_BYTES];
        want[..insn.len()].copy_from_slice(insn);
        // SAFETY: `dst` is the start of the slot in our own page (type
        // invariant: the area exists, as the caller took a slot of it),
        // SLOT_BYTES long, and we own the slot: nobody else writes it, and
        // no task executes it until we send one there. User space cannot
        // write the page.
        let slot = unsafe { core::slice::from_raw_parts_mut(dst, SLOT_BYTES) };
        // A slot usually holds the same instruction as last time (the same
        // probe, the same first free slot): leave it alone then. Writing
        // code that was just executed costs a self-modifying-code flush
        // (a machine clear on hardware, retranslation under QEMU's TCG).
        if *slot != want {
            slot.copy_from_slice(&want);
        }
    }

    /// Records the step that `owner` starts in `slot`.
    pub(crate) fn begin(&self, owner: usize, s: &Step) {
        let r = &self.records[s.slot];
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
        let r = &self.records[slot];
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
        for (w, word) in self.used.iter().enumerate() {
            let mut bits = word.load(Acquire);
            while bits != 0 {
                let i = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let r = &self.records[i];
                if r.owner.load(Acquire) == owner {
                    let seq = r.seq.load(Relaxed);
                    if best.is_none_or(|(s, _)| seq > s) {
                        best = Some((seq, i));
                    }
                }
            }
        }
        best.map(|(_, i)| i)
    }

    fn claim(&self, slot: usize, owner: usize) -> Option<Step> {
        let r = self.records.get(slot)?;
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
        for slot in 0..NSLOTS {
            let owner = self.records[slot].owner.load(Acquire);
            if owner != 0 && self.claim(slot, owner).is_some() {
                n += 1;
            }
        }
        n
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
}

impl Drop for Xol {
    fn drop(&mut self) {
        for p in self.pages.iter() {
            let p = p.load(Relaxed);
            if p != 0 {
                // SAFETY: Type invariant: our reference on the page. The
                // process's mapping (if it still exists) holds its own.
                unsafe { kbind::rprobes_page_put(p as *mut kernel::ffi::c_void) };
            }
        }
    }
}

// SPDX-License-Identifier: GPL-2.0

//! The lock-free tables the trap paths find their objects in: probe
//! points by (mm, address) ([`POINTS`]) and probed address spaces by mm
//! ([`MMS`]), open-addressing hash tables of raw pointers.
//!
//! Writers hold the registry mutex. Readers run in RCU read-side critical
//! sections (a trap handler with interrupts off, a tracepoint probe); an
//! object stays valid for them because it is freed only after its entry is
//! removed and an RCU grace period has passed.

use super::mm::UMm;
use super::probe::UProbe;
use super::{MAX_UPROBES, MAX_UPROBE_PROCS};
use core::ptr::null_mut;
use core::sync::atomic::{
    AtomicPtr, AtomicU32,
    Ordering::{Acquire, Relaxed, Release},
};
use kernel::prelude::*;

/// A table entry that was removed (a probe sequence goes on past it).
pub(super) fn tomb<T>() -> *mut T {
    core::ptr::without_provenance_mut(1)
}

/// Open-addressing hash table of raw pointers, read without locks.
///
/// Writers hold the registry mutex. Readers run in RCU read-side critical
/// sections; an object stays valid for them because it is freed only after
/// its entry is removed and an RCU grace period has passed.
pub(crate) struct Table<T, const N: usize> {
    pub(super) slots: [AtomicPtr<T>; N],
}

impl<T, const N: usize> Table<T, N> {
    const fn new() -> Self {
        Self {
            slots: [const { AtomicPtr::new(null_mut()) }; N],
        }
    }

    /// The entry for which `is` holds, starting at `hash`.
    ///
    /// # Safety
    ///
    /// The caller is in an RCU read-side critical section (or holds the
    /// registry mutex), so that objects named by the table stay valid while
    /// the returned reference is used.
    #[inline]
    pub(super) unsafe fn find(&self, hash: usize, is: impl Fn(&T) -> bool) -> Option<&T> {
        let mut i = hash % N;
        for _ in 0..N {
            let p = self.slots[i].load(Acquire);
            if p.is_null() {
                return None;
            }
            if p != tomb() {
                // SAFETY: Entries point to live objects (see the type's
                // documentation and this function's safety section).
                let t = unsafe { &*p };
                if is(t) {
                    return Some(t);
                }
            }
            i = (i + 1) % N;
        }
        None
    }

    /// Adds an entry (the caller holds the registry mutex and made sure no
    /// equal key is present). Fails when the table is full.
    pub(super) fn insert(&self, hash: usize, p: *const T) -> Result {
        let mut i = hash % N;
        for _ in 0..N {
            let cur = self.slots[i].load(Relaxed);
            if cur.is_null() || cur == tomb() {
                self.slots[i].store(p.cast_mut(), Release);
                return Ok(());
            }
            i = (i + 1) % N;
        }
        Err(ENOSPC)
    }

    /// Removes the entry pointing to `p` (registry mutex held). The object
    /// may be freed only after an RCU grace period.
    pub(super) fn remove(&self, hash: usize, p: *const T) {
        let mut i = hash % N;
        for _ in 0..N {
            let cur = self.slots[i].load(Relaxed);
            if cur.is_null() {
                return;
            }
            if cur.cast_const() == p {
                let next = self.slots[(i + 1) % N].load(Relaxed);
                // The end of a run: no probe sequence goes on past it, so
                // it and the tombstones before it can become empty.
                if next.is_null() {
                    let mut j = i;
                    self.slots[j].store(null_mut(), Release);
                    j = (j + N - 1) % N;
                    while self.slots[j].load(Relaxed) == tomb() {
                        self.slots[j].store(null_mut(), Release);
                        j = (j + N - 1) % N;
                    }
                } else {
                    self.slots[i].store(tomb(), Release);
                }
                return;
            }
            i = (i + 1) % N;
        }
    }
}

pub(super) fn hash_mm(mm: usize) -> usize {
    ((mm as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40) as usize
}

pub(super) fn hash_point(mm: usize, vaddr: u64) -> usize {
    let h =
        (mm as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ vaddr.wrapping_mul(0xc2b2_ae3d_27d4_eb4f);
    (h >> 32) as usize
}

/// Probe points, by (mm, address).
pub(super) static POINTS: Table<UProbe, { 2 * MAX_UPROBES }> = Table::new();
/// Probed address spaces, by mm.
pub(super) static MMS: Table<UMm, MAX_UPROBE_PROCS> = Table::new();
/// Probed address spaces (for the task-free hook and the reaper), and the
/// die notifier's filter (`src/shim/die.c`): while it is 0, no int3 or
/// step trap can be ours. It goes up before an address space's first
/// breakpoint is written, and down only after its state is out of [`MMS`]
/// and a grace period has passed (so after any trap that saw the state).
pub(super) static NMMS: AtomicU32 = AtomicU32::new(0);

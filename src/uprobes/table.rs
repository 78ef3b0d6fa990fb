// SPDX-License-Identifier: GPL-2.0

//! The lock-free tables the trap paths find their objects in: `PID:`
//! probes' points in address spaces by (mm, address) ([`POINTS`]), path
//! probes by (file, offset) ([`PATHS`]) and probed address spaces by mm
//! ([`MMS`]), open-addressing hash tables of raw pointers whose arrays
//! grow.
//!
//! Writers hold the registry mutex. Readers run in RCU read-side critical
//! sections (a trap handler with interrupts off, a tracepoint probe); an
//! object stays valid for them because it is freed only after its entry is
//! removed and an RCU grace period has passed.

use super::mm::UMm;
use super::probe::{UInst, UProbe};
use core::ptr::null_mut;
use core::sync::atomic::{
    AtomicPtr, AtomicU32, AtomicUsize,
    Ordering::{Acquire, Relaxed, Release},
};
use kernel::alloc::flags::__GFP_NOWARN;
use kernel::prelude::*;

/// A table entry that was removed (a probe sequence goes on past it).
pub(super) fn tomb<T>() -> *mut T {
    core::ptr::without_provenance_mut(1)
}

pub(super) fn hash_mm(mm: usize) -> usize {
    ((mm as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40) as usize
}

pub(super) fn hash_point(mm: usize, vaddr: u64) -> usize {
    let h =
        (mm as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ vaddr.wrapping_mul(0xc2b2_ae3d_27d4_eb4f);
    (h >> 32) as usize
}

/// `PID:` probes' points in address spaces ([`UInst`]), by (mm, address).
pub(super) static POINTS: DynTable<UInst, 1024> = DynTable::new();
/// Path probes ([`UProbe`]), by (file, offset): see [`hash_point`] (the
/// file's key in place of the mm).
pub(super) static PATHS: DynTable<UProbe, 1024> = DynTable::new();
/// Probed address spaces, by mm.
pub(super) static MMS: DynTable<UMm, 64> = DynTable::new();
/// Probed address spaces (for the task-free hook and the reaper), and the
/// die notifier's filter (`src/shim/die.c`): while it is 0, no int3 or
/// step trap can be ours. It goes up before an address space's first
/// breakpoint is written, and down only after its state is out of [`MMS`]
/// and a grace period has passed (so after any trap that saw the state).
pub(super) static NMMS: AtomicU32 = AtomicU32::new(0);

/// An object of a [`DynTable`]: its hash, for moving it to a bigger array.
pub(crate) trait Hashed {
    fn hash(&self) -> usize;
}

/// The array of a [`DynTable`] (a power of two of slots).
struct Slots<T> {
    slots: KVVec<AtomicPtr<T>>,
    /// Live entries.
    live: AtomicUsize,
    /// Live entries and tombstones (a probe sequence's length bound).
    used: AtomicUsize,
    /// The next older array retired by a growth (see
    /// [`DynTable::take_retired`]), owned (from `KBox::into_raw`) or null.
    prev: AtomicPtr<Slots<T>>,
}

impl<T> Slots<T> {
    fn new(n: usize) -> Result<KBox<Self>> {
        // A failure is the caller's ENOMEM, not a warning.
        let mut slots = KVVec::with_capacity(n, GFP_KERNEL | __GFP_NOWARN)?;
        for _ in 0..n {
            slots.push(AtomicPtr::new(null_mut()), GFP_KERNEL)?;
        }
        Ok(KBox::new(
            Self {
                slots,
                live: AtomicUsize::new(0),
                used: AtomicUsize::new(0),
                prev: AtomicPtr::new(null_mut()),
            },
            GFP_KERNEL,
        )?)
    }

    fn mask(&self) -> usize {
        self.slots.len() - 1
    }
}

/// Arrays retired by growths, freed when this drops (after an RCU grace
/// period that began after they were taken: see
/// [`DynTable::take_retired`]).
pub(crate) struct Retired<T>(*mut Slots<T>);

impl<T> Drop for Retired<T> {
    fn drop(&mut self) {
        let mut p = self.0;
        while !p.is_null() {
            // SAFETY: A chain of retired arrays from `KBox::into_raw`, ours
            // (taken out of the table), no reader left (the holder's
            // grace period).
            let b = unsafe { KBox::from_raw(p) };
            p = b.prev.load(Relaxed);
        }
    }
}

/// An open-addressing hash table of raw pointers, read without locks,
/// whose array grows: it is replaced by one twice as big (or rebuilt
/// without its tombstones) when it is half full; the old one is retired,
/// freed after the next RCU grace period the registry waits for anyway (a
/// growth does not wait: adding many probes at once is not slowed by one
/// grace period per doubling); at least `MIN` slots (a power of two).
///
/// Writers hold the registry mutex. Readers run in RCU read-side critical
/// sections; an object stays valid for them because it is freed only after
/// its entry is removed and an RCU grace period has passed (and so does an
/// array). Empty (no array) until the first insertion.
pub(crate) struct DynTable<T, const MIN: usize> {
    cur: AtomicPtr<Slots<T>>,
    /// Arrays replaced by growths, not freed yet: a chain through
    /// [`Slots::prev`] (each older than the one that points to it).
    retired: AtomicPtr<Slots<T>>,
}

impl<T: Hashed, const MIN: usize> DynTable<T, MIN> {
    const fn new() -> Self {
        Self {
            cur: AtomicPtr::new(null_mut()),
            retired: AtomicPtr::new(null_mut()),
        }
    }

    /// The arrays retired so far (registry mutex held): the caller frees
    /// them (drops the result) after an RCU grace period that begins after
    /// this call.
    pub(super) fn take_retired(&self) -> Retired<T> {
        Retired(self.retired.swap(null_mut(), Relaxed))
    }

    /// The entry for which `is` holds, starting at `hash`.
    ///
    /// # Safety
    ///
    /// The caller is in an RCU read-side critical section (or holds the
    /// registry mutex), so that objects named by the table, and the array,
    /// stay valid while the returned reference is used.
    #[inline]
    pub(super) unsafe fn find(&self, hash: usize, is: impl Fn(&T) -> bool) -> Option<&T> {
        let s = self.cur.load(Acquire);
        if s.is_null() {
            return None;
        }
        // SAFETY: An array is freed only a grace period after it was
        // replaced (the caller's section keeps it).
        let s = unsafe { &*s };
        let m = s.mask();
        let mut i = hash & m;
        for _ in 0..=m {
            let p = s.slots[i].load(Acquire);
            if p.is_null() {
                return None;
            }
            if p != tomb() {
                // SAFETY: Entries point to live objects (see the safety
                // section).
                let t = unsafe { &*p };
                if is(t) {
                    return Some(t);
                }
            }
            i = (i + 1) & m;
        }
        None
    }

    /// Adds an entry (registry mutex held; no equal key present). May
    /// replace the array (and wait for a grace period). `ENOMEM` when a
    /// bigger array cannot be had.
    pub(super) fn insert(&self, hash: usize, p: *const T) -> Result {
        let mut s = self.cur.load(Relaxed);
        // SAFETY: Registry mutex held: the array is ours to look at.
        let full = s.is_null() || unsafe { ((*s).used.load(Relaxed) + 1) * 2 > (*s).slots.len() };
        if full {
            self.grow()?;
            s = self.cur.load(Relaxed);
        }
        // SAFETY: `grow` left an array.
        let s = unsafe { &*s };
        let m = s.mask();
        let mut i = hash & m;
        loop {
            let cur = s.slots[i].load(Relaxed);
            if cur.is_null() {
                s.used.fetch_add(1, Relaxed);
                break;
            }
            if cur == tomb() {
                break;
            }
            i = (i + 1) & m;
        }
        s.live.fetch_add(1, Relaxed);
        s.slots[i].store(p.cast_mut(), Release);
        Ok(())
    }

    /// A new array of twice the live entries (rounded up to a power of
    /// two), the live entries moved into it; the old one freed after a
    /// grace period.
    fn grow(&self) -> Result {
        let old = self.cur.load(Relaxed);
        let live = if old.is_null() {
            0
        } else {
            // SAFETY: Registry mutex held: the array is ours to look at.
            unsafe { (*old).live.load(Relaxed) }
        };
        // Twice the live entries: a quarter to a half full.
        let n = ((live + 1) * 2).next_power_of_two().max(MIN);
        let new = Slots::<T>::new(n)?;
        if !old.is_null() {
            // SAFETY: Registry mutex held: nothing changes the old array.
            for e in unsafe { (*old).slots.iter() } {
                let p = e.load(Relaxed);
                if p.is_null() || p == tomb() {
                    continue;
                }
                // SAFETY: A live entry.
                let mut i = unsafe { (*p).hash() } & new.mask();
                while !new.slots[i].load(Relaxed).is_null() {
                    i = (i + 1) & new.mask();
                }
                new.slots[i].store(p, Relaxed);
                new.live.fetch_add(1, Relaxed);
                new.used.fetch_add(1, Relaxed);
            }
        }
        self.cur.store(KBox::into_raw(new), Release);
        if !old.is_null() {
            // Readers that found the old array may still use it: retired,
            // freed after a later grace period.
            // SAFETY: Registry mutex held; `old` is out of `cur` and ours.
            unsafe { (*old).prev.store(self.retired.load(Relaxed), Relaxed) };
            self.retired.store(old, Relaxed);
        }
        Ok(())
    }

    /// Removes the entry pointing to `p` (registry mutex held). The object
    /// may be freed only after an RCU grace period.
    pub(super) fn remove(&self, hash: usize, p: *const T) {
        let s = self.cur.load(Relaxed);
        if s.is_null() {
            return;
        }
        // SAFETY: Registry mutex held.
        let s = unsafe { &*s };
        let m = s.mask();
        let mut i = hash & m;
        for _ in 0..=m {
            let cur = s.slots[i].load(Relaxed);
            if cur.is_null() {
                return;
            }
            if cur.cast_const() == p {
                s.live.fetch_sub(1, Relaxed);
                if s.slots[(i + 1) & m].load(Relaxed).is_null() {
                    // The end of a run: it and the tombstones before it
                    // become empty.
                    let mut j = i;
                    s.slots[j].store(null_mut(), Release);
                    s.used.fetch_sub(1, Relaxed);
                    j = (j + m) & m;
                    while s.slots[j].load(Relaxed) == tomb() {
                        s.slots[j].store(null_mut(), Release);
                        s.used.fetch_sub(1, Relaxed);
                        j = (j + m) & m;
                    }
                } else {
                    s.slots[i].store(tomb(), Release);
                }
                return;
            }
            i = (i + 1) & m;
        }
    }

    /// Calls `f` with every entry.
    ///
    /// # Safety
    ///
    /// As for [`Self::find`].
    pub(super) unsafe fn for_each(&self, mut f: impl FnMut(&T)) {
        let s = self.cur.load(Acquire);
        if s.is_null() {
            return;
        }
        // SAFETY: The caller's section keeps the array.
        for e in unsafe { (*s).slots.iter() } {
            let p = e.load(Acquire);
            if !p.is_null() && p != tomb() {
                // SAFETY: A live entry (the caller's section keeps it).
                f(unsafe { &*p });
            }
        }
    }

    /// Bytes of the array.
    pub(super) fn footprint(&self) -> usize {
        let s = self.cur.load(Relaxed);
        if s.is_null() {
            0
        } else {
            // SAFETY: Registry mutex held.
            unsafe { (*s).slots.len() * core::mem::size_of::<usize>() }
        }
    }

    /// Frees the array if it has no entry (registry mutex held; waits for
    /// a grace period then): an empty table costs nothing.
    pub(super) fn release_if_empty(&self) {
        let s = self.cur.load(Relaxed);
        // SAFETY: Registry mutex held: the array is ours to look at.
        if s.is_null() || unsafe { (*s).live.load(Relaxed) } != 0 {
            return;
        }
        self.cur.store(null_mut(), Release);
        let retired = self.take_retired();
        // Readers that found the array finish with it first.
        kernel::sync::rcu::synchronize_rcu();
        // SAFETY: From `KBox::into_raw`; no reader is left.
        drop(unsafe { KBox::from_raw(s) });
        drop(retired);
    }

    /// Frees the array once every entry is gone and no reader can be
    /// left (module exit, after a grace period).
    pub(super) fn free(&self) {
        let s = self.cur.swap(null_mut(), Relaxed);
        if !s.is_null() {
            // SAFETY: From `KBox::into_raw`; no reader is left.
            drop(unsafe { KBox::from_raw(s) });
        }
        drop(self.take_retired());
    }
}

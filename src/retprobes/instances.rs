// SPDX-License-Identifier: GPL-2.0

//! The return instances and their allocator.
//!
//! A hijacked return is an *instance*: the real return address, the slot it
//! was taken from (the entry stack pointer), the task, the entry time and
//! CPU, and the arguments saved for `$argN` (the probe it belongs to is
//! kept beside, in [`super::handler`]). There are
//! [`NSTUBS`] instances in a static table, one per trampoline stub, so the
//! stub a function returns into names its instance: the per-task return
//! stack is the task's own kernel stack, whose hijacked slots point at their
//! instances (LIFO by construction: nested and recursive calls use deeper
//! slots).
//!
//! Each return probe owns a range of `maxactive` instances ([`Ranges`],
//! under the registry mutex); an entry claims a free one of its range with
//! one atomic `fetch_or` on the in-use bitmap ([`claim`]), and the return
//! (or the task-free hook, for a task that died inside the function)
//! releases it. Every claimed instance holds a module reference.
//!
//! Context: [`claim`], [`release`], [`real_return`] and [`task_freed`] run
//! in handler or hook context (no lock); [`Ranges`] is used under the
//! registry mutex.

use super::stubs::NSTUBS;
use crate::lang::fetch_arg::MAX_ENTRY_ARGS;
use crate::sys::task;
use core::sync::atomic::{
    AtomicU32, AtomicU64, AtomicUsize,
    Ordering::{Acquire, Relaxed, Release},
};

const WORDS: usize = NSTUBS / 64;

/// One hijacked return.
pub(super) struct Instance {
    /// The real return address.
    pub(super) ret: AtomicUsize,
    /// The stack slot it was taken from (the entry stack pointer).
    pub(super) slot: AtomicUsize,
    /// The task (`task_struct *`).
    pub(super) task: AtomicUsize,
    /// TSC at entry.
    pub(super) t0: AtomicU64,
    /// CPU at entry.
    pub(super) cpu: AtomicU32,
    /// The arguments saved at entry, for `$argN` of return probes (see
    /// [`EntrySave`]).
    pub(super) args: [AtomicU64; MAX_ENTRY_ARGS],
}

impl Instance {
    const fn new() -> Self {
        Self {
            ret: AtomicUsize::new(0),
            slot: AtomicUsize::new(0),
            task: AtomicUsize::new(0),
            t0: AtomicU64::new(0),
            cpu: AtomicU32::new(0),
            args: [const { AtomicU64::new(0) }; MAX_ENTRY_ARGS],
        }
    }
}

pub(super) static INSTANCES: [Instance; NSTUBS] = [const { Instance::new() }; NSTUBS];
/// Bit `i` set: instance `i` is in flight (or being filled in).
static IN_USE: [AtomicU64; WORDS] = [const { AtomicU64::new(0) }; WORDS];
/// Instances reclaimed from tasks that were freed without returning.
static RECLAIMED: AtomicU64 = AtomicU64::new(0);

/// Releases instance `i` (its probe must not be touched afterwards).
pub(super) fn release(i: usize) {
    let inst = &INSTANCES[i];
    inst.task.store(0, Relaxed);
    IN_USE[i / 64].fetch_and(!(1u64 << (i % 64)), Release);
    // The reference the entry took for this instance.
    task::module_put();
}

/// The real return address of in-flight instance `idx`.
pub(crate) fn real_return(idx: usize) -> usize {
    INSTANCES[idx % NSTUBS].ret.load(Relaxed)
}

/// Instances in flight over all return probes.
pub(crate) fn in_flight_total() -> u32 {
    IN_USE.iter().map(|w| w.load(Relaxed).count_ones()).sum()
}

/// Instances reclaimed from tasks freed inside a probed function.
pub(crate) fn reclaimed_total() -> u64 {
    RECLAIMED.load(Relaxed)
}

/// Instances of `base..base + len` in flight now.
pub(super) fn in_flight(base: usize, len: usize) -> u32 {
    let mut n = 0;
    let mut i = base;
    let end = base + len;
    while i < end {
        let bit = i % 64;
        let span = (64 - bit).min(end - i);
        n += (IN_USE[i / 64].load(Acquire) & mask(bit, span)).count_ones();
        i += span;
    }
    n
}

/// Claims a free instance of `base..base + len`, if there is one.
pub(super) fn claim(base: usize, len: usize) -> Option<usize> {
    let end = base + len;
    let mut i = base;
    while i < end {
        let (w, bit) = (i / 64, i % 64);
        let span = (64 - bit).min(end - i);
        let m = mask(bit, span);
        let cur = IN_USE[w].load(Relaxed);
        let free = !cur & m;
        if free == 0 {
            i += span;
            continue;
        }
        let b = 1u64 << free.trailing_zeros();
        if IN_USE[w].fetch_or(b, Acquire) & b == 0 {
            return Some(w * 64 + b.trailing_zeros() as usize);
        }
        // Lost a race for that bit: look at the word again.
    }
    None
}

/// Bits `bit..bit + span` of a word.
fn mask(bit: usize, span: usize) -> u64 {
    if span >= 64 {
        !0
    } else {
        ((1u64 << span) - 1) << bit
    }
}

/// `sched_process_free`: reclaims the instances of `task`, which was freed
/// inside a probed function (it will never return through them).
///
/// # Safety
///
/// `task` is a dead task about to be freed: it runs no code any more, so
/// none of its instances can be returned into.
pub(crate) unsafe fn task_freed(task: usize) {
    for (w, word) in IN_USE.iter().enumerate() {
        let mut bits = word.load(Acquire);
        while bits != 0 {
            let i = w * 64 + bits.trailing_zeros() as usize;
            bits &= bits - 1;
            if INSTANCES[i].task.load(Relaxed) == task {
                RECLAIMED.fetch_add(1, Relaxed);
                release(i);
            }
        }
    }
}

/// Which instances the return probes (live or parked) have reserved.
pub(crate) struct Ranges {
    reserved: [u64; WORDS],
}

impl Ranges {
    /// Nothing reserved.
    pub(crate) const fn new() -> Self {
        Self {
            reserved: [0; WORDS],
        }
    }

    fn is_reserved(&self, i: usize) -> bool {
        self.reserved[i / 64] & (1 << (i % 64)) != 0
    }

    /// Reserves (`on`) or gives back instances `base..base + len`.
    pub(crate) fn set(&mut self, base: usize, len: usize, on: bool) {
        for i in base..base + len {
            if on {
                self.reserved[i / 64] |= 1 << (i % 64);
            } else {
                self.reserved[i / 64] &= !(1 << (i % 64));
            }
        }
    }

    /// First fit of `len` consecutive free instances.
    pub(crate) fn find(&self, len: usize) -> Option<usize> {
        let mut run = 0;
        for i in 0..NSTUBS {
            run = if self.is_reserved(i) { 0 } else { run + 1 };
            if run == len {
                return Some(i + 1 - len);
            }
        }
        None
    }

    /// Instances reserved in all.
    pub(crate) fn count(&self) -> u32 {
        self.reserved.iter().map(|w| w.count_ones()).sum()
    }
}

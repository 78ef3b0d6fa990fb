// SPDX-License-Identifier: GPL-2.0

//! pid to comm, like tracefs' saved cmdlines (`tracing_record_cmdline`):
//! the hit path keeps the current task's comm here, and readers resolve
//! the pid of an event to a comm.
//!
//! A direct-mapped table of [`SLOTS`] entries indexed by the pid. A hit
//! writes its entry only when the entry holds another pid or another comm
//! (after `exec` or `PR_SET_NAME`), so a task that keeps hitting probes only
//! reads it. Writers take no lock: they claim the entry with a
//! compare-and-swap of its key to [`BUSY`] and skip the update if another
//! writer has it (as tracefs skips when its lock is taken); readers check
//! the key before and after reading the comm, as with a seqlock.
//!
//! Context: [`current_pid`] runs in probe handlers (no lock); readers
//! anywhere.

use crate::sys::task;
use core::sync::atomic::{
    fence, AtomicU64,
    Ordering::{Acquire, Relaxed, Release},
};

/// Entries (a power of two).
pub(crate) const SLOTS: usize = 1024;
/// The key of an entry being written.
const BUSY: u64 = u64::MAX;

/// One entry: `key` is `seq << 32 | pid` (`seq` below 2^31, so a key
/// is never [`BUSY`]; 0 means empty: pid 0 is never saved), `comm` the
/// 16 comm bytes as two words.
struct Slot {
    key: AtomicU64,
    comm: [AtomicU64; 2],
}

static CACHE: [Slot; SLOTS] = [const {
    Slot {
        key: AtomicU64::new(0),
        comm: [AtomicU64::new(0), AtomicU64::new(0)],
    }
}; SLOTS];

fn slot(pid: i32) -> &'static Slot {
    &CACHE[pid as u32 as usize % SLOTS]
}

/// The current task's pid, with its comm saved in the cache if the
/// cache does not have it (probe handler context; no lock).
#[inline(always)]
pub(crate) fn current_pid() -> i32 {
    let pid = task::current_pid();
    if pid <= 0 {
        return pid; // The idle tasks: shown as `<idle>`.
    }
    let (c0, c1) = task::current_comm_words();
    let s = slot(pid);
    let key = s.key.load(Relaxed);
    // One test (a [`BUSY`] key never matches: its pid half is -1).
    let differs = u64::from(key as u32 ^ pid as u32)
        | (s.comm[0].load(Relaxed) ^ c0)
        | (s.comm[1].load(Relaxed) ^ c1);
    if differs == 0 {
        return pid;
    }
    if key == BUSY || s.key.compare_exchange(key, BUSY, Relaxed, Relaxed).is_err() {
        return pid; // Another writer has the entry.
    }
    fence(Release);
    s.comm[0].store(c0, Relaxed);
    s.comm[1].store(c1, Relaxed);
    let seq = ((key >> 32) + 1) & 0x7fff_ffff;
    s.key.store(seq << 32 | u64::from(pid as u32), Release);
    pid
}

/// The comm saved for `pid` (NUL-padded), if the cache still has it.
pub(crate) fn comm_of(pid: i32) -> Option<[u8; 16]> {
    if pid <= 0 {
        return None;
    }
    let s = slot(pid);
    // A writer holds an entry for a few instructions: retry a little.
    for _ in 0..64 {
        let k1 = s.key.load(Acquire);
        if k1 == BUSY {
            core::hint::spin_loop();
            continue;
        }
        if k1 as u32 != pid as u32 {
            return None;
        }
        let (c0, c1) = (s.comm[0].load(Relaxed), s.comm[1].load(Relaxed));
        fence(Acquire);
        if s.key.load(Relaxed) == k1 {
            let mut c = [0u8; 16];
            c[..8].copy_from_slice(&c0.to_ne_bytes());
            c[8..].copy_from_slice(&c1.to_ne_bytes());
            return Some(c);
        }
    }
    None
}

// SPDX-License-Identifier: GPL-2.0

//! One probed address space ([`UMm`]): its XOL area (created lazily, at the
//! first hit that needs a step, by a task work in the hitting task), its
//! step statistics, the tokens of steps aborted for a signal, and its
//! mappings of files with path probes ([`Maps`]: where a hit finds its path
//! probe, by file and offset). (The breakpoints a fork child must remove
//! are the registry's: see [`super::UProbes`].)
//!
//! Context: the hit paths use a [`UMm`] they found in [`super::table::MMS`]
//! (trap context, no lock); [`create_area`] runs as task work in the probed
//! task (sleepable, `mmap_lock`); the rest under the registry mutex.

use super::table::{hash_mm, Hashed};
use super::xol::Xol;
use super::INT3;
use crate::sys::task::{self, TaskWork};
use crate::sys::user::{self, FileVma};
use core::fmt::Write;
use core::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize,
    Ordering::{AcqRel, Acquire, Relaxed, Release},
};
use kernel::mm::Mm;
use kernel::prelude::*;
use kernel::sync::{aref::ARef, Arc, ArcBorrow};
use kernel::time::{ClockSource, Monotonic};

/// XOL area states.
const XOL_NONE: u8 = 0;
const XOL_CREATING: u8 = 1;
const XOL_READY: u8 = 2;
const XOL_FAILED: u8 = 3;
/// Failed creations in a row after which the process is given up on.
const XOL_MAX_FAILURES: u32 = 16;
/// Aborted steps remembered per address space.
const MAX_REPLAYS: usize = 16;

/// The mappings of probed files in one address space: (the file's key,
/// the mapping), as the registry last looked them up. A path probe keeps
/// nothing per address space: a hit in a mapping listed here finds its
/// probe by (file, offset) in [`super::table::PATHS`], as the kernel's
/// uprobes find theirs through the mapping.
pub(super) type Maps = KVec<(usize, FileVma)>;

/// One probed address space.
///
/// # Invariants
///
/// `maps` is null or a `KBox<Maps>` (from `KBox::into_raw`) owned by this
/// object; a replaced one is freed only after an RCU grace period (by the
/// registry, which alone replaces it).
pub(crate) struct UMm {
    /// The address space (an `mmgrab` reference: the `mm_struct` is not
    /// reused while the tables name it).
    mm: ARef<Mm>,
    /// The process.
    pub(super) tgid: i32,
    /// The XOL area.
    pub(super) xol: Xol,
    xol_state: AtomicU8,
    xol_failures: AtomicU32,
    /// Steps started.
    pub(super) stepped: AtomicU64,
    /// Hits emulated.
    pub(super) emulated: AtomicU64,
    /// Traps taken again for want of an area or a free slot.
    pub(super) retries: AtomicU64,
    /// Found dead by the reaper (registry mutex held).
    pub(super) reaping: AtomicBool,
    /// Whether a `PID:` probe's breakpoint was ever written here (a fork
    /// child then has breakpoints to remove).
    pub(super) pid_points: AtomicBool,
    /// Hits whose step was aborted for a signal (the task traps on the
    /// breakpoint again when its handler returns): (task, address).
    replay: [(AtomicUsize, AtomicU64); MAX_REPLAYS],
    /// Tokens in `replay` (the hit path looks only when not 0).
    replays: AtomicU32,
    /// Steps aborted for a signal.
    pub(super) aborted: AtomicU64,
    /// The task work that creates the XOL area (queued from a trap, where
    /// nothing may be allocated; one at a time, see `xol_state`).
    area_work: TaskWork,
    /// Its mappings of files with path probes (see [`Maps`]).
    maps: AtomicPtr<Maps>,
    /// When (`ktime`, ns) a breakpoint write last found a page that is not
    /// there without waiting (0: never): for [`STUCK_NS`] after, path
    /// probes skip this process instead of waiting for each breakpoint.
    stuck_at: AtomicU64,
}

/// How long an address space whose page could not be had without waiting
/// is skipped by path probes (a write of many lines on a file waits for it
/// once, not once per line).
const STUCK_NS: u64 = 1_000_000_000;

impl Drop for UMm {
    fn drop(&mut self) {
        let m = *self.maps.get_mut();
        if !m.is_null() {
            // SAFETY: Type invariant: our box; no reader is left (the
            // address space left the tables a grace period ago).
            drop(unsafe { KBox::from_raw(m) });
        }
        // Steps and return frames of tasks that died with the address
        // space: each held a module reference.
        for _ in 0..self.xol.abandon_all() + self.xol.abandon_all_frames() {
            task::module_put();
        }
    }
}

impl Hashed for UMm {
    fn hash(&self) -> usize {
        hash_mm(self.key())
    }
}

impl UMm {
    /// The state of address space `mm` of process `tgid`.
    pub(super) fn new(mm: ARef<Mm>, tgid: i32) -> Result<Self> {
        Ok(Self {
            mm,
            tgid,
            xol: Xol::new(),
            xol_state: AtomicU8::new(XOL_NONE),
            xol_failures: AtomicU32::new(0),
            stepped: AtomicU64::new(0),
            emulated: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            reaping: AtomicBool::new(false),
            replay: [const { (AtomicUsize::new(0), AtomicU64::new(0)) }; MAX_REPLAYS],
            replays: AtomicU32::new(0),
            aborted: AtomicU64::new(0),
            pid_points: AtomicBool::new(false),
            area_work: TaskWork::new(),
            maps: AtomicPtr::new(core::ptr::null_mut()),
            stuck_at: AtomicU64::new(0),
        })
    }

    /// Notes that a breakpoint write here found a page that is not there
    /// without waiting (registry mutex held).
    pub(super) fn mark_stuck(&self) {
        self.stuck_at
            .store(Monotonic::ktime_get().max(1) as u64, Relaxed);
    }

    /// Whether a write found such a page less than [`STUCK_NS`] ago.
    pub(super) fn stuck(&self) -> bool {
        let t = self.stuck_at.load(Relaxed);
        t != 0 && (Monotonic::ktime_get() as u64).wrapping_sub(t) < STUCK_NS
    }

    /// The mappings of probed files (a trap in an RCU read-side critical
    /// section, or the registry).
    #[inline]
    pub(super) fn maps(&self) -> &[(usize, FileVma)] {
        let m = self.maps.load(Acquire);
        if m.is_null() {
            return &[];
        }
        // SAFETY: Type invariant: our box, freed only a grace period after
        // it was replaced (the caller is in a read-side critical section,
        // or is the registry, which alone replaces it).
        unsafe { &(*m)[..] }
    }

    /// The file and file offset of address `vaddr`, if a mapping of a
    /// probed file holds it (trap context).
    #[inline]
    pub(super) fn file_point(&self, vaddr: u64) -> Option<(usize, u64)> {
        self.maps()
            .iter()
            .find(|(_, v)| vaddr >= v.start && vaddr < v.end)
            .map(|(f, v)| (*f, vaddr - v.start + v.offset))
    }

    /// The addresses of file offset `off` of file `file` here.
    pub(super) fn vaddrs_of(&self, file: usize, off: u64) -> impl Iterator<Item = u64> + '_ {
        self.maps()
            .iter()
            .filter(move |(f, _)| *f == file)
            .filter_map(move |(_, v)| v.vaddr_of(off))
    }

    /// Records `vmas` as the mappings of `file` here (registry mutex held):
    /// they replace the file's and any other that overlaps them (the
    /// address range is that file's now). Returns the replaced list, to be
    /// freed after a grace period (`None`: nothing changed).
    pub(super) fn set_maps(&self, file: usize, vmas: &[FileVma]) -> Result<Option<KBox<Maps>>> {
        let old = self.maps();
        let overlaps = |v: &FileVma| vmas.iter().any(|n| n.start < v.end && v.start < n.end);
        let keep = |(f, v): &&(usize, FileVma)| *f != file && !overlaps(v);
        let same = old.iter().filter(|(f, _)| *f == file).count() == vmas.len()
            && vmas.iter().all(|n| {
                old.iter().any(|(f, v)| {
                    *f == file && v.start == n.start && v.end == n.end && v.offset == n.offset
                })
            })
            && old
                .iter()
                .filter(|(f, _)| *f != file)
                .all(|(_, v)| !overlaps(v));
        if same {
            return Ok(None);
        }
        let mut new = KVec::with_capacity(old.len() + vmas.len(), GFP_KERNEL)?;
        for e in old.iter().filter(keep) {
            // Cannot fail: reserved.
            let _ = new.push(*e, GFP_KERNEL);
        }
        for v in vmas {
            let _ = new.push((file, *v), GFP_KERNEL);
        }
        self.publish(new)
    }

    /// Forgets every mapping (registry mutex held); the old list as for
    /// [`Self::set_maps`].
    pub(super) fn clear_maps(&self) -> Option<KBox<Maps>> {
        let old = self.maps.swap(core::ptr::null_mut(), AcqRel);
        // SAFETY: Type invariant: null or our box, now out of reach of new
        // readers.
        (!old.is_null()).then(|| unsafe { KBox::from_raw(old) })
    }

    fn publish(&self, new: Maps) -> Result<Option<KBox<Maps>>> {
        let b = KBox::new(new, GFP_KERNEL)?;
        // INVARIANT: our box, published whole.
        let old = self.maps.swap(KBox::into_raw(b), AcqRel);
        // SAFETY: As in `clear_maps`.
        Ok((!old.is_null()).then(|| unsafe { KBox::from_raw(old) }))
    }

    /// The address space.
    pub(super) fn mm(&self) -> &Mm {
        &self.mm
    }

    /// The key of the address space in the tables (its `mm_struct`).
    #[inline(always)]
    pub(super) fn key(&self) -> usize {
        self.mm.as_raw() as usize
    }

    /// Whether the address space still has users.
    pub(super) fn alive(&self) -> bool {
        user::mm_alive(&self.mm)
    }

    /// Whether the XOL area could not be made (the process runs unprobed).
    pub(super) fn xol_failed(&self) -> bool {
        self.xol_state.load(Relaxed) == XOL_FAILED
    }

    /// Queues the creation of the XOL area in the current task (trap
    /// context). `this` must be reachable from [`super::table::MMS`] (see
    /// [`super::table::DynTable::find`]).
    pub(super) fn request_area(this: &UMm) {
        if this
            .xol_state
            .compare_exchange(XOL_NONE, XOL_CREATING, Acquire, Relaxed)
            .is_err()
        {
            return;
        }
        // SAFETY: `this` is in an `Arc` (the registry's), live: its entry
        // is still in the table and we are in an RCU read-side section.
        let arc: Arc<UMm> = unsafe { ArcBorrow::from_raw(this) }.into();
        let raw = Arc::into_raw(arc);
        // SAFETY: The work is not queued: we moved the state from NONE to
        // CREATING, and it goes back to NONE only once the work ran or
        // failed to queue. It lives in the `UMm`, which the reference
        // handed to `create_area` keeps alive until the work ran; current
        // is live; `create_area` takes the reference back exactly once.
        let r = unsafe {
            this.area_work
                .queue(core::ptr::null_mut(), create_area, raw.cast_mut().cast())
        };
        if r.is_err() {
            // SAFETY: The work was not queued: the reference is ours again.
            drop(unsafe { Arc::from_raw(raw) });
            this.xol_state.store(XOL_NONE, Release);
        }
    }

    /// Remembers that `task`'s next hit at `addr` was counted already.
    pub(super) fn add_replay(&self, task: usize, addr: u64) {
        for (t, a) in self.replay.iter() {
            if t.compare_exchange(0, task, Acquire, Relaxed).is_ok() {
                a.store(addr, Release);
                self.replays.fetch_add(1, Release);
                return;
            }
        }
        // Full: that hit will count twice.
    }

    /// Consumes `task`'s token for `addr`, if it has one.
    #[inline]
    pub(super) fn take_replay(&self, task: usize, addr: u64) -> bool {
        if self.replays.load(Acquire) == 0 {
            return false;
        }
        for (t, a) in self.replay.iter() {
            if t.load(Relaxed) == task && a.load(Acquire) == addr {
                a.store(0, Relaxed);
                t.store(0, Release);
                self.replays.fetch_sub(1, Relaxed);
                return true;
            }
        }
        false
    }

    /// Drops a dead task's tokens.
    pub(super) fn drop_replays(&self, task: usize) {
        for (t, a) in self.replay.iter() {
            if t.load(Relaxed) == task {
                a.store(0, Relaxed);
                t.store(0, Release);
                self.replays.fetch_sub(1, Relaxed);
            }
        }
    }

    /// The `xol` line of this address space.
    pub(super) fn show(&self, w: &mut impl Write) -> core::fmt::Result {
        write!(w, "pid={} area=", self.tgid)?;
        match (self.xol.area(), self.xol_state.load(Relaxed)) {
            (0, XOL_FAILED) => w.write_str("failed")?,
            (0, _) => w.write_str("none")?,
            (a, _) => write!(w, "{a:#x}")?,
        }
        let (used, hwm) = self.xol.usage();
        writeln!(
            w,
            " slots={used}/{} hwm={hwm} stepped={} emulated={} retries={} aborted={} returns={}",
            self.xol.limit(),
            self.stepped.load(Relaxed),
            self.emulated.load(Relaxed),
            self.retries.load(Relaxed),
            self.aborted.load(Relaxed),
            self.xol.frames_in_flight()
        )
    }
}

/// Task work: creates the XOL area in the probed task's own context.
///
/// # Safety
///
/// `arg` is a reference from `Arc::<UMm>::into_raw`, given up to this call.
unsafe fn create_area(arg: *mut kernel::ffi::c_void) {
    // SAFETY: `request_area` passed a reference from `Arc::into_raw`.
    let umm = unsafe { Arc::<UMm>::from_raw(arg.cast_const().cast()) };
    if task::current_mm() as usize != umm.key() {
        // The task exits (or execs): nothing to do.
        umm.xol_state.store(XOL_NONE, Release);
        return;
    }
    match umm.xol.create() {
        Ok(_) => {
            umm.xol_failures.store(0, Relaxed);
            umm.xol_state.store(XOL_READY, Release);
        }
        Err(e) => {
            let n = umm.xol_failures.fetch_add(1, Relaxed) + 1;
            if n < XOL_MAX_FAILURES {
                umm.xol_state.store(XOL_NONE, Release);
                return;
            }
            // Give up on this process rather than make it trap forever: it
            // runs on unprobed.
            pr_warn!(
                "pid {}: cannot create the XOL area ({:?}); its breakpoints are removed\n",
                umm.tgid,
                e
            );
            umm.xol_state.store(XOL_FAILED, Release);
            super::reaper::give_up(umm.key());
        }
    }
}

/// Writes `orig` back at `vaddr` of `mm` if our int3 is still there (in a
/// private mapping, of `inode` if not null); `EBUSY` if it is not. Sleeps.
pub(super) fn restore(mm: &Mm, vaddr: u64, orig: u8, inode: *mut kernel::ffi::c_void) -> Result {
    user::poke_wait(mm, vaddr, inode, INT3, orig)
}

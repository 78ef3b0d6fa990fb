// SPDX-License-Identifier: GPL-2.0

//! User-space probes: an `int3` written into one process's copy of its
//! text, a die notifier that catches it, and the probed instruction either
//! emulated in the kernel or single-stepped out of line in the process's
//! XOL area ([`crate::xol`]).
//!
//! ```text
//! echo 'p:app/entry 1234:/usr/bin/app:0x1130' > /sys/kernel/debug/rprobes/probes
//! ```
//!
//! Objects: a [`UMm`] per probed address space (its XOL area, step
//! statistics, and the breakpoints for fork), a [`UProbe`] per probe point.
//! The registry owns both; the trap paths find them in two lock-free hash
//! tables of raw pointers ([`POINTS`] by (mm, address), [`MMS`] by mm).
//!
//! Lifetimes: an entry leaves its table before its object is freed, with a
//! `synchronize_rcu()` in between; the trap handlers run with interrupts
//! off (an RCU read-side critical section), so an object they found stays
//! valid until they return. A [`UMm`] holds a reference on its `mm_struct`
//! (mm_count), so an mm pointer is never reused while a table names it.
//! A step in flight holds a module reference, so the module cannot go while
//! a task is between its trap and its step's trap.
//!
//! Lock order: the registry mutex, then `mmap_lock` (in the shim's memory
//! accesses). The trap paths and the fork hook take no lock.

use crate::insn::{self, Emulation, Fixups, Verdict, MAX_INSN_LEN};
use crate::kbind::{self, pt_regs};
use crate::percpu::{PerCpu, Zeroable};
use crate::probe_line::{ErrorKind, FixedBuf, ParseError, MAX_EVENT_NAME_LEN};
use crate::registry::{CmdError, Name, Named};
use crate::uprobe_target::UTarget;
use crate::xol::{self, Step, StepInfo, Xol};
use core::fmt::Write;
use core::ptr::null_mut;
use core::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize,
    Ordering::{Acquire, Relaxed, Release},
};
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow};

/// The trap flag in `pt_regs.flags`.
const TF: u64 = 0x100;
/// `DR6.BS`: the debug trap is a single step.
const DR_STEP: u64 = 1 << 14;
/// The breakpoint instruction.
const INT3: u8 = 0xcc;

/// User probes in all, at most (the [`POINTS`] table is twice as big).
pub(crate) const MAX_UPROBES: usize = 2048;
/// User probes per process, at most (the breakpoints a fork child must
/// remove are copied in the fork hook, in atomic context).
pub(crate) const MAX_PER_MM: usize = 64;

/// Whether hits are counted and recorded (the registry's `enabled`).
static ENABLED: AtomicBool = AtomicBool::new(true);

// ---------------------------------------------------------------------------
// Lock-free tables.

/// A table entry that was removed (a probe sequence goes on past it).
fn tomb<T>() -> *mut T {
    core::ptr::without_provenance_mut(1)
}

/// Open-addressing hash table of raw pointers, read without locks.
///
/// Writers hold the registry mutex. Readers run in RCU read-side critical
/// sections; an object stays valid for them because it is freed only after
/// its entry is removed and an RCU grace period has passed.
pub(crate) struct Table<T, const N: usize> {
    slots: [AtomicPtr<T>; N],
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
    unsafe fn find(&self, hash: usize, is: impl Fn(&T) -> bool) -> Option<&T> {
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
    fn insert(&self, hash: usize, p: *const T) -> Result {
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
    fn remove(&self, hash: usize, p: *const T) {
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

fn hash_mm(mm: usize) -> usize {
    ((mm as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40) as usize
}

fn hash_point(mm: usize, vaddr: u64) -> usize {
    let h =
        (mm as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ vaddr.wrapping_mul(0xc2b2_ae3d_27d4_eb4f);
    (h >> 32) as usize
}

/// Probe points, by (mm, address).
static POINTS: Table<UProbe, { 2 * MAX_UPROBES }> = Table::new();
/// Probed address spaces, by mm.
static MMS: Table<UMm, 512> = Table::new();
/// Probed address spaces (for the task-free hook and the reaper), and the
/// die notifier's filter (`rprobes_die_hook`): while it is 0, no int3 or
/// step trap can be ours. It goes up before an address space's first
/// breakpoint is written, and down only after its state is out of [`MMS`]
/// and a grace period has passed (so after any trap that saw the state).
static NMMS: AtomicU32 = AtomicU32::new(0);

// ---------------------------------------------------------------------------
// Address spaces.

/// XOL area states.
const XOL_NONE: u8 = 0;
const XOL_CREATING: u8 = 1;
const XOL_READY: u8 = 2;
const XOL_FAILED: u8 = 3;
/// Failed creations in a row after which the process is given up on.
const XOL_MAX_FAILURES: u32 = 16;

/// One probed address space.
///
/// # Invariants
///
/// `mm` is an `mm_struct` on which this object holds a mm_count reference
/// (from `rprobes_uprobe_resolve`), dropped when it drops.
pub(crate) struct UMm {
    mm: usize,
    tgid: i32,
    xol: Xol,
    xol_state: AtomicU8,
    xol_failures: AtomicU32,
    stepped: AtomicU64,
    emulated: AtomicU64,
    /// Traps taken again for want of an area or a free slot.
    retries: AtomicU64,
    /// Found dead by the reaper (registry mutex held).
    reaping: AtomicBool,
    /// The breakpoints, for fork children: `vaddr << 8 | original byte`,
    /// 0 when free.
    points: [AtomicU64; MAX_PER_MM],
    /// Hits whose step was aborted for a signal (the task traps on the
    /// breakpoint again when its handler returns): (task, address).
    replay: [(AtomicUsize, AtomicU64); MAX_REPLAYS],
    /// Tokens in `replay` (the hit path looks only when not 0).
    replays: AtomicU32,
    /// Steps aborted for a signal.
    aborted: AtomicU64,
    /// The task work that creates the XOL area (queued from a trap, where
    /// nothing may be allocated; one at a time, see `xol_state`).
    area_work: AreaWork,
}

/// `sizeof(struct rp_twork)` (`uprobe_shim.c`), for the `memory` file.
const AREA_WORK_BYTES: usize = 40;

/// A task work allocated ahead, owned by its [`UMm`].
///
/// # Invariants
///
/// `0` is a work from `rprobes_twork_new`, freed when this drops, and
/// queued only by [`UMm::request_area`] in state `XOL_CREATING`.
struct AreaWork(*mut kernel::ffi::c_void);

// SAFETY: The work is a plain allocation, queued from any task (one request
// at a time, as `xol_state` decides) and freed by whoever drops it.
unsafe impl Send for AreaWork {}
// SAFETY: As above: shared access only queues it, one caller at a time.
unsafe impl Sync for AreaWork {}

impl AreaWork {
    fn new() -> Result<Self> {
        // SAFETY: Allocates (process context).
        let w = unsafe { kbind::rprobes_twork_new() };
        if w.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: Just allocated, not queued.
        Ok(Self(w))
    }
}

impl Drop for AreaWork {
    fn drop(&mut self) {
        // SAFETY: Type invariant. A queued or running work holds a reference
        // to the `UMm` that owns this, so the `UMm` drops only once the work
        // is neither queued nor past the point where the shim reads it
        // (`rp_twork_run` copies what it needs before calling `create_area`,
        // which may drop the last reference).
        unsafe { kbind::rprobes_twork_free(self.0) };
    }
}

/// Aborted steps remembered per address space.
const MAX_REPLAYS: usize = 16;

impl Drop for UMm {
    fn drop(&mut self) {
        // Steps of tasks that died with the address space.
        for _ in 0..self.xol.abandon_all() {
            // SAFETY: Each claimed step held a module reference.
            unsafe { kbind::rprobes_module_put() };
        }
        // SAFETY: Type invariant: our mm_count reference.
        unsafe { kbind::rprobes_mm_drop(self.mm as *mut kernel::ffi::c_void) };
    }
}

impl UMm {
    fn alive(&self) -> bool {
        // SAFETY: Type invariant: the mm_struct is valid (mm_count held).
        unsafe { kbind::rprobes_mm_alive(self.mm as *mut kernel::ffi::c_void) }
    }

    /// Queues the creation of the XOL area in the current task (trap
    /// context). `this` must be reachable from [`MMS`] (see
    /// [`Table::find`]).
    fn request_area(this: &UMm) {
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
        // SAFETY: `create_area` takes the reference back exactly once. The
        // work is not queued: we moved the state from NONE to CREATING, and
        // it goes back to NONE only once the work ran or failed to queue.
        let r = unsafe {
            kbind::rprobes_twork_queue(this.area_work.0, Some(create_area), raw.cast_mut().cast())
        };
        if r != 0 {
            // SAFETY: The work was not queued: the reference is ours again.
            drop(unsafe { Arc::from_raw(raw) });
            this.xol_state.store(XOL_NONE, Release);
        }
    }

    /// Remembers that `task`'s next hit at `addr` was counted already.
    fn add_replay(&self, task: usize, addr: u64) {
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
    fn take_replay(&self, task: usize, addr: u64) -> bool {
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
    fn drop_replays(&self, task: usize) {
        for (t, a) in self.replay.iter() {
            if t.load(Relaxed) == task {
                a.store(0, Relaxed);
                t.store(0, Release);
                self.replays.fetch_sub(1, Relaxed);
            }
        }
    }

    fn add_point(&self, vaddr: u64, orig: u8) -> Result {
        let w = vaddr << 8 | u64::from(orig);
        for p in self.points.iter() {
            if p.compare_exchange(0, w, Relaxed, Relaxed).is_ok() {
                return Ok(());
            }
        }
        Err(ENOSPC)
    }

    fn remove_point(&self, vaddr: u64) {
        for p in self.points.iter() {
            let w = p.load(Relaxed);
            if w != 0 && w >> 8 == vaddr {
                p.store(0, Relaxed);
            }
        }
    }

    /// Writes the original bytes back over every breakpoint still there.
    fn restore_all(&self) {
        for p in self.points.iter() {
            let w = p.load(Relaxed);
            if w != 0 {
                restore(self.mm, w >> 8, w as u8);
            }
        }
    }

    fn show(&self, w: &mut impl Write) -> core::fmt::Result {
        write!(w, "pid={} area=", self.tgid)?;
        match (self.xol.area(), self.xol_state.load(Relaxed)) {
            (0, XOL_FAILED) => w.write_str("failed")?,
            (0, _) => w.write_str("none")?,
            (a, _) => write!(w, "{a:#x}")?,
        }
        let (used, hwm) = self.xol.usage();
        writeln!(
            w,
            " slots={used}/{} hwm={hwm} stepped={} emulated={} retries={} aborted={}",
            xol::NSLOTS,
            self.stepped.load(Relaxed),
            self.emulated.load(Relaxed),
            self.retries.load(Relaxed),
            self.aborted.load(Relaxed)
        )
    }
}

/// Task work: creates the XOL area in the probed task's own context.
///
/// # Safety
///
/// `arg` is a reference from `Arc::<UMm>::into_raw`, given up to this call.
unsafe extern "C" fn create_area(arg: *mut kernel::ffi::c_void) {
    // SAFETY: `request_area` passed a reference from `Arc::into_raw`.
    let umm = unsafe { Arc::<UMm>::from_raw(arg.cast_const().cast()) };
    // SAFETY: Reads current->mm.
    let mm = unsafe { kbind::rprobes_current_mm() } as usize;
    if mm != umm.mm {
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
            umm.restore_all();
            umm.xol_state.store(XOL_FAILED, Release);
        }
    }
}

/// Writes `orig` back at `vaddr` if our int3 is still there.
fn restore(mm: usize, vaddr: u64, orig: u8) {
    let mut b = [0u8];
    if umm_rw(mm, vaddr, &mut b, false).is_ok() && b[0] == INT3 {
        let mut o = [orig];
        let _ = umm_rw(mm, vaddr, &mut o, true);
    }
}

/// Reads or writes (within one page) the memory of `mm`, as ptrace does.
fn umm_rw(mm: usize, vaddr: u64, buf: &mut [u8], write: bool) -> Result {
    // SAFETY: `mm` is an mm_struct the caller holds a reference on (a
    // `UMm`'s, or current's); `buf` is valid for its length.
    let r = unsafe {
        kbind::rprobes_umm_rw(
            mm as *mut kernel::ffi::c_void,
            vaddr as usize,
            buf.as_mut_ptr().cast(),
            buf.len() as u32,
            write,
        )
    };
    if r == buf.len() as isize {
        Ok(())
    } else if r < 0 {
        Err(Error::from_errno(r as i32))
    } else {
        Err(EFAULT)
    }
}

// ---------------------------------------------------------------------------
// Probes.

/// Per-CPU hit count of one probe.
#[derive(Default)]
struct UStats {
    hits: AtomicU64,
}

// SAFETY: An all-zero atomic is a valid zero; atomics are `Sync` and have no
// destructor.
unsafe impl Zeroable for UStats {}

/// One user probe point.
pub(crate) struct UProbe {
    id: u32,
    group: Name,
    event: Name,
    target: FixedBuf<320>,
    umm: Arc<UMm>,
    mm: usize,
    vaddr: u64,
    orig: u8,
    len: u8,
    verdict: Verdict,
    /// Fix-ups of a step (an emulated instruction is stepped when the task
    /// has TF set or its stack write would fault).
    fixups: Fixups,
    /// What runs in the XOL slot: the instruction, or its rewrite that
    /// addresses memory through `scratch` instead of `%rip`.
    step: [u8; MAX_INSN_LEN],
    /// The scratch register and the address it must hold for the step.
    scratch: Option<(u8, u64)>,
    /// A `rep` string instruction (its step traps after each iteration).
    rep: bool,
    stats: PerCpu<UStats>,
    armed: AtomicBool,
    /// Fetch arguments recorded with each hit's event.
    args: Option<KBox<crate::fetch_eval::Args>>,
    /// Which tasks' hits count (with the global `set_event_pid`).
    filter: crate::filter::Filter,
}

impl Named for UProbe {
    fn names(&self) -> (&Name, &Name) {
        (&self.group, &self.event)
    }
}

impl UProbe {
    fn hits(&self) -> u64 {
        let mut h = 0u64;
        self.stats
            .for_each(|s| h = h.wrapping_add(s.hits.load(Relaxed)));
        h
    }

    /// The probe's fetch arguments.
    pub(crate) fn args(&self) -> Option<&crate::fetch_eval::Args> {
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
            None => crate::events::record(self.id, crate::events::ENTRY, self.vaddr, 0, &[]),
            Some(args) => self.record_args(args, regs),
        }
    }

    /// [`Self::count`]'s event with fetch arguments.
    #[inline(never)]
    fn record_args(&self, args: &crate::fetch_eval::Args, regs: &pt_regs) {
        let ctx = crate::fetch_eval::Ctx {
            regs,
            retval: None,
            entry_args: None,
            user: true,
        };
        crate::events::record_args(self.id, crate::events::ENTRY, self.vaddr, 0, args, &ctx);
    }

    /// Handles a hit: `regs.ip` is just past our int3 at `self.vaddr`.
    /// The emulated case is the fast path, inlined into the trap handler.
    #[inline(always)]
    fn hit(&self, regs: &mut pt_regs) {
        let umm = &*self.umm;
        let bp = self.vaddr;
        regs.ip = bp as usize;
        let me = crate::percpu::current() as usize;
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
            if umm.xol_state.load(Relaxed) != XOL_FAILED {
                UMm::request_area(umm);
            }
            umm.retries.fetch_add(1, Relaxed);
            return;
        }
        // SAFETY: Takes a module reference, released when the step ends;
        // fails once the module is going (then the breakpoint is about to
        // be removed: trap again until it is).
        if !unsafe { kbind::rprobes_module_try_get() } {
            umm.retries.fetch_add(1, Relaxed);
            return;
        }
        let Some(slot) = umm.xol.alloc() else {
            // SAFETY: The reference just taken.
            unsafe { kbind::rprobes_module_put() };
            umm.retries.fetch_add(1, Relaxed);
            return;
        };
        if !counted {
            self.count(regs);
        }
        umm.xol.write(slot, &self.step[..usize::from(self.len)]);
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
    }
}

// ---------------------------------------------------------------------------
// Registers and emulation.

/// Where each general-purpose register (x86 encoding order: `ax`, `cx`,
/// `dx`, `bx`, `sp`, `bp`, `si`, `di`, `r8` to `r15`) is in `pt_regs`.
const GPR_AT: [usize; 16] = {
    use core::mem::offset_of;
    [
        offset_of!(pt_regs, ax),
        offset_of!(pt_regs, cx),
        offset_of!(pt_regs, dx),
        offset_of!(pt_regs, bx),
        offset_of!(pt_regs, sp),
        offset_of!(pt_regs, bp),
        offset_of!(pt_regs, si),
        offset_of!(pt_regs, di),
        offset_of!(pt_regs, r8),
        offset_of!(pt_regs, r9),
        offset_of!(pt_regs, r10),
        offset_of!(pt_regs, r11),
        offset_of!(pt_regs, r12),
        offset_of!(pt_regs, r13),
        offset_of!(pt_regs, r14),
        offset_of!(pt_regs, r15),
    ]
};

/// Register `n` (its low 4 bits) of `r`: one load (the emulation of
/// `push` runs it at every hit).
#[inline(always)]
fn gpr(r: &pt_regs, n: u8) -> u64 {
    let at = GPR_AT[usize::from(n & 15)];
    // SAFETY: `at` is the offset of one of `pt_regs`' `unsigned long`
    // fields (`GPR_AT`), inside `*r`, aligned.
    let v = unsafe {
        core::ptr::from_ref(r)
            .cast::<u8>()
            .add(at)
            .cast::<kernel::ffi::c_ulong>()
            .read()
    };
    v as u64
}

fn set_gpr(r: &mut pt_regs, n: u8, v: u64) {
    let v = v as usize;
    match n {
        0 => r.ax = v,
        1 => r.cx = v,
        2 => r.dx = v,
        3 => r.bx = v,
        4 => r.sp = v,
        5 => r.bp = v,
        6 => r.si = v,
        7 => r.di = v,
        8 => r.r8 = v,
        9 => r.r9 = v,
        10 => r.r10 = v,
        11 => r.r11 = v,
        12 => r.r12 = v,
        13 => r.r13 = v,
        14 => r.r14 = v,
        _ => r.r15 = v,
    }
}

fn user_read_u64(addr: u64) -> Option<u64> {
    let mut v = 0u64;
    // SAFETY: `v` is a writable word; the source is a user address of
    // current, read without faulting (a bad one fails).
    unsafe { kbind::rprobes_user_read_u64(addr as usize, &mut v) }.then_some(v)
}

fn user_write_u64(addr: u64, v: u64) -> bool {
    // SAFETY: The destination is a user address of current, written
    // without faulting (a bad one fails).
    unsafe { kbind::rprobes_user_write_u64(addr as usize, v) }
}

/// Whether a `jcc` condition holds for these flags.
fn condition(cond: u8, flags: u64) -> bool {
    let cf = flags & 0x1 != 0;
    let pf = flags & 0x4 != 0;
    let zf = flags & 0x40 != 0;
    let sf = flags & 0x80 != 0;
    let of = flags & 0x800 != 0;
    let base = match cond >> 1 {
        0 => of,
        1 => cf,
        2 => zf,
        3 => cf || zf,
        4 => sf,
        5 => pf,
        6 => sf != of,
        _ => zf || sf != of,
    };
    base != (cond & 1 != 0)
}

/// Runs an emulated instruction at `bp` (`len` bytes); false if it cannot
/// be done here (its stack write would fault): then it is stepped.
#[inline(always)]
fn emulate(e: Emulation, regs: &mut pt_regs, bp: u64, len: u8) -> bool {
    let next = bp.wrapping_add(u64::from(len));
    match e {
        Emulation::Nop => regs.ip = next as usize,
        Emulation::Push { reg } => {
            let v = gpr(regs, reg);
            let sp = (regs.sp as u64).wrapping_sub(8);
            if !user_write_u64(sp, v) {
                return false;
            }
            regs.sp = sp as usize;
            regs.ip = next as usize;
        }
        Emulation::Mov { dst, src, wide } => {
            let v = gpr(regs, src);
            set_gpr(regs, dst, if wide { v } else { v & 0xffff_ffff });
            regs.ip = next as usize;
        }
        Emulation::Jmp { rel } => regs.ip = next.wrapping_add(i64::from(rel) as u64) as usize,
        Emulation::Call { rel } => {
            let sp = (regs.sp as u64).wrapping_sub(8);
            if !user_write_u64(sp, next) {
                return false;
            }
            regs.sp = sp as usize;
            regs.ip = next.wrapping_add(i64::from(rel) as u64) as usize;
        }
        Emulation::Jcc { cond, rel } => {
            let to = if condition(cond, regs.flags as u64) {
                next.wrapping_add(i64::from(rel) as u64)
            } else {
                next
            };
            regs.ip = to as usize;
        }
    }
    true
}

/// The fix-ups of a step of an instruction with this verdict: an emulated
/// one is stepped as well when the task has TF set (or a stack write would
/// fault); it is relative to its address, and a `call` pushes it.
fn step_fixups(v: Verdict) -> Fixups {
    match v {
        Verdict::Emulate(Emulation::Call { .. }) => Fixups::IP.with(Fixups::CALL_RET_ADDR),
        Verdict::Emulate(Emulation::Jmp { .. } | Emulation::Jcc { .. }) => {
            Fixups::IP.with(Fixups::BRANCH_REL)
        }
        Verdict::Emulate(_) => Fixups::IP,
        v => v.fixups(),
    }
}

/// Completes a step: `regs` as the step left them.
fn complete(umm: &UMm, s: &Step, regs: &mut pt_regs) {
    let slot_addr = umm.xol.slot_addr(s.slot);
    let fix = Fixups::from_bits(s.info.fixups);
    if let Some(reg) = s.info.scratch {
        set_gpr(regs, reg, s.saved);
    }
    let delta = s.orig.wrapping_sub(slot_addr);
    if fix.contains(Fixups::IP) {
        regs.ip = (regs.ip as u64).wrapping_add(delta) as usize;
    }
    let sp = regs.sp as u64;
    if fix.contains(Fixups::CALL_RET_ADDR) {
        if let Some(ret) = user_read_u64(sp) {
            user_write_u64(sp, ret.wrapping_add(delta));
        }
    }
    if fix.contains(Fixups::PUSHF_TF) && !s.info.saved_tf {
        if let Some(f) = user_read_u64(sp) {
            user_write_u64(sp, f & !TF);
        }
    }
    if !s.info.saved_tf && !fix.contains(Fixups::SET_TF) {
        regs.flags &= !(TF as usize);
    }
    // SAFETY: The step's module reference.
    unsafe { kbind::rprobes_module_put() };
}

// ---------------------------------------------------------------------------
// Trap handlers.

/// `int3` in user mode: `regs.ip` is just past it.
///
/// # Safety
///
/// Called by the die notifier only (`rprobes_die_cb`, by name): `regs` are
/// the trapping task's registers, `mm` its address space, interrupts are
/// off.
#[no_mangle]
unsafe extern "C" fn rprobes_uprobes_int3(
    regs: *mut pt_regs,
    mm: *mut kernel::ffi::c_void,
) -> kernel::ffi::c_int {
    // SAFETY: The die notifier passes the trapping task's registers.
    let regs = unsafe { &mut *regs };
    let mm = mm as usize;
    let bp = (regs.ip as u64).wrapping_sub(1);
    // SAFETY: Interrupts are off: an RCU read-side critical section.
    if let Some(p) = unsafe { POINTS.find(hash_point(mm, bp), |p| p.mm == mm && p.vaddr == bp) } {
        p.hit(regs);
        return NOTIFY_STOP;
    }
    // SAFETY: As above.
    notify(unsafe { int3_not_a_probe(regs, mm, bp) })
}

/// The die notifier's verdicts.
const NOTIFY_STOP: kernel::ffi::c_int = kbind::RPROBES_NOTIFY_STOP as kernel::ffi::c_int;
const NOTIFY_DONE: kernel::ffi::c_int = kbind::RPROBES_NOTIFY_DONE as kernel::ffi::c_int;

/// [`NOTIFY_STOP`] for a trap that was rprobes', else [`NOTIFY_DONE`].
fn notify(ours: bool) -> kernel::ffi::c_int {
    if ours {
        NOTIFY_STOP
    } else {
        NOTIFY_DONE
    }
}

/// [`rprobes_uprobes_int3`] for an `int3` that is not a probe's: the end of a stepped
/// copy, a breakpoint removed meanwhile, or not rprobes' at all.
///
/// # Safety
///
/// As for [`rprobes_uprobes_int3`]; `bp` is the address of the `int3`.
#[inline(never)]
unsafe fn int3_not_a_probe(regs: &mut pt_regs, mm: usize, bp: u64) -> bool {
    // SAFETY: Interrupts are off: an RCU read-side critical section.
    let Some(umm) = (unsafe { MMS.find(hash_mm(mm), |u| u.mm == mm) }) else {
        return false;
    };
    if let Some(slot) = umm.xol.slot_of(bp) {
        // The int3 after a slot's instruction: the copy ran on without a
        // step trap (it cleared TF itself). Complete the step there.
        let me = crate::percpu::current() as usize;
        let start = umm.xol.slot_addr(slot);
        return match umm.xol.finish_at(slot, me) {
            Some(s) => {
                regs.ip = (start + u64::from(s.info.len)) as usize;
                complete(umm, &s, regs);
                true
            }
            None => false,
        };
    }
    // A breakpoint removed since this task hit it: run the original.
    let mut b = 0u8;
    // SAFETY: One writable byte; a user address read without faulting.
    let r = unsafe {
        kbind::copy_from_user_nofault(
            (&raw mut b).cast(),
            bp as usize as *const kernel::ffi::c_void,
            1,
        )
    };
    if r == 0 && b != INT3 {
        regs.ip = bp as usize;
        return true;
    }
    false
}

/// Debug trap in user mode.
///
/// # Safety
///
/// Called by the die notifier only (`rprobes_die_cb`, by name): `regs` are
/// the trapping task's registers, `mm` its address space, `dr6` the DR6
/// value being decoded, interrupts are off.
#[no_mangle]
unsafe extern "C" fn rprobes_uprobes_debug(
    regs: *mut pt_regs,
    mm: *mut kernel::ffi::c_void,
    dr6: *mut kernel::ffi::c_ulong,
) -> kernel::ffi::c_int {
    // SAFETY: The die notifier passes the task's registers and the DR6
    // value being decoded.
    let (regs, dr6) = unsafe { (&mut *regs, &mut *dr6) };
    // SAFETY: Interrupts are off.
    notify(unsafe { step_trap(regs, mm as usize, dr6) })
}

/// [`rprobes_uprobes_debug`]: whether the trap was the end of one of
/// rprobes' steps (then consumed).
///
/// # Safety
///
/// Interrupts are off; `regs` and `mm` are the trapping task's.
unsafe fn step_trap(regs: &mut pt_regs, mm: usize, dr6: &mut kernel::ffi::c_ulong) -> bool {
    if *dr6 as u64 & DR_STEP == 0 {
        return false;
    }
    // SAFETY: Interrupts are off: an RCU read-side critical section.
    let Some(umm) = (unsafe { MMS.find(hash_mm(mm), |u| u.mm == mm) }) else {
        return false;
    };
    let me = crate::percpu::current() as usize;
    let Some((slot, info)) = umm.xol.peek_newest(me) else {
        return false;
    };
    if info.rep && regs.ip as u64 == umm.xol.slot_addr(slot) {
        // A `rep` string instruction trapped between two iterations (with
        // TF the CPU traps after each, `%rip` still at the instruction):
        // not finished. The same execution goes on, counted once.
        if !info.saved_tf {
            // Step on in the slot (TF stays set). A signal now finds the
            // task at the slot's start and aborts the step as usual.
            *dr6 &= !(DR_STEP as kernel::ffi::c_ulong);
            return true;
        }
        // The task steps itself: its SIGTRAP after this iteration, at the
        // original instruction, as without the probe. When its handler
        // returns, the task traps on the breakpoint again: that hit goes on
        // with the same execution, not counted again.
        let Some(s) = umm.xol.finish_at(slot, me) else {
            return false;
        };
        complete(umm, &s, regs);
        umm.add_replay(me, s.orig);
        return false;
    }
    let Some(s) = umm.xol.finish_at(slot, me) else {
        return false;
    };
    complete(umm, &s, regs);
    if s.info.saved_tf {
        // The task steps itself: its SIGTRAP, after the whole instruction.
        return false;
    }
    *dr6 &= !(DR_STEP as kernel::ffi::c_ulong);
    true
}

/// Signal delivery to a task of a probed process (a kprobe on
/// `arch_do_signal_or_restart`, before the signal frame is built): a step
/// that has not run yet (the task is at the start of its slot: the signal
/// came first, or the stepped copy faulted) is aborted, so the handler sees
/// the task as it would be without the probe: at the original instruction,
/// with its own registers and flags, and a fault of the copy with the
/// original instruction's address in `si_addr`. When the handler returns,
/// the task traps on the breakpoint again; that hit is not counted twice
/// unless the copy faulted (then it is the instruction's next execution).
///
/// # Safety
///
/// Called from the kprobe only (preemption disabled): `regs` are the
/// current task's user registers, `mm` its address space.
unsafe extern "C" fn on_signal(regs: *mut pt_regs, mm: *mut kernel::ffi::c_void) {
    // SAFETY: The kprobe passes current's user registers.
    let regs = unsafe { &mut *regs };
    let mm = mm as usize;
    // SAFETY: Preemption is disabled: an RCU read-side critical section.
    let Some(umm) = (unsafe { MMS.find(hash_mm(mm), |u| u.mm == mm) }) else {
        return;
    };
    let ip = regs.ip as u64;
    let Some(slot) = umm.xol.slot_of(ip) else {
        return;
    };
    if ip != umm.xol.slot_addr(slot) {
        return;
    }
    let me = crate::percpu::current() as usize;
    let Some(s) = umm.xol.finish_at(slot, me) else {
        return;
    };
    if let Some(reg) = s.info.scratch {
        set_gpr(regs, reg, s.saved);
    }
    regs.ip = s.orig as usize;
    if !s.info.saved_tf {
        regs.flags &= !(TF as usize);
    }
    // A fault of the stepped copy was queued with the slot's address in
    // si_addr (the kernel maps only its own uprobes' XOL addresses back):
    // the probed instruction's address instead, as without the probe. And
    // then the instruction did execute (it faulted): if the handler
    // returns to it, that is a new execution, counted like any other. Only
    // a step that a signal came before is replayed without counting.
    // SAFETY: Current's own signal queue, under its siglock (the shim).
    let faulted = unsafe {
        kbind::rprobes_step_fault_fixup(umm.xol.slot_addr(slot) as usize, s.orig as usize)
    };
    if !faulted {
        umm.add_replay(me, s.orig);
    }
    umm.aborted.fetch_add(1, Relaxed);
    // SAFETY: The step's module reference.
    unsafe { kbind::rprobes_module_put() };
}

/// A fork child with its own copy of a probed address space: the copy has
/// our breakpoints, and nothing handles them there. Remove them in the
/// child before it runs (preemption disabled: atomic allocation).
///
/// # Safety
///
/// Called by the fork tracepoint only: `parent_mm` is the parent's live
/// address space, `child` the new task, which has not run yet.
unsafe extern "C" fn on_fork(parent_mm: *mut kernel::ffi::c_void, child: *mut kernel::ffi::c_void) {
    let mm = parent_mm as usize;
    // SAFETY: Tracepoint probes run with preemption disabled: an RCU
    // read-side critical section.
    let Some(umm) = (unsafe { MMS.find(hash_mm(mm), |u| u.mm == mm) }) else {
        return;
    };
    let mut fix = ForkFix {
        points: [0; MAX_PER_MM],
    };
    let mut n = 0;
    for p in umm.points.iter() {
        let w = p.load(Relaxed);
        if w != 0 {
            fix.points[n] = w;
            n += 1;
        }
    }
    if n == 0 {
        return;
    }
    let Ok(b) = KBox::new(fix, GFP_ATOMIC) else {
        pr_warn!("fork: out of memory, a child keeps breakpoints\n");
        return;
    };
    let raw = KBox::into_raw(b);
    // SAFETY: `fork_fix` takes the box back exactly once.
    let r = unsafe { kbind::rprobes_task_work(child, Some(fork_fix), raw.cast()) };
    if r != 0 {
        // SAFETY: Not queued: the box is ours again.
        drop(unsafe { KBox::from_raw(raw) });
        pr_warn!("fork: cannot queue the breakpoint removal ({r})\n");
    }
}

/// The breakpoints a fork child must remove.
struct ForkFix {
    points: [u64; MAX_PER_MM],
}

/// Task work in a fork child: writes back the original bytes.
///
/// # Safety
///
/// `arg` is a box from `KBox::<ForkFix>::into_raw`, given up to this call.
unsafe extern "C" fn fork_fix(arg: *mut kernel::ffi::c_void) {
    // SAFETY: `on_fork` passed a box from `KBox::into_raw`.
    let fix = unsafe { KBox::from_raw(arg.cast::<ForkFix>()) };
    // SAFETY: Reads current->mm.
    let mm = unsafe { kbind::rprobes_current_mm() } as usize;
    if mm == 0 {
        return;
    }
    for &w in fix.points.iter().filter(|&&w| w != 0) {
        restore(mm, w >> 8, w as u8);
    }
}

/// A thread group exited or a process exec'd: an address space may be
/// dying; reap it soon.
///
/// # Safety
///
/// None beyond being called from the process tracepoints.
unsafe extern "C" fn on_gone() {
    if NMMS.load(Relaxed) != 0 {
        // SAFETY: Queues the reaper (any context).
        unsafe { kbind::rprobes_reap_kick(20) };
    }
}

/// From the task-free hook: abandons the steps of a task that died
/// between its trap and its step.
pub(crate) fn task_gone(task: usize) {
    if NMMS.load(Relaxed) == 0 {
        return;
    }
    for e in MMS.slots.iter() {
        let p = e.load(Acquire);
        if p.is_null() || p == tomb() {
            continue;
        }
        // SAFETY: The hook runs in an RCU callback (softirq, an RCU
        // read-side critical section); the entry was live when loaded.
        let umm = unsafe { &*p };
        umm.drop_replays(task);
        for _ in 0..umm.xol.abandon(task) {
            // SAFETY: Each step held a module reference.
            unsafe { kbind::rprobes_module_put() };
        }
    }
}

/// The reaper's entry point (a work item), set by [`UGlobal::new`].
static REAP: AtomicPtr<crate::State> = AtomicPtr::new(null_mut());

/// The reaper (a work item).
///
/// # Safety
///
/// Called from the shim's work item only, which `UGlobal` cancels before
/// the state goes.
unsafe extern "C" fn reap_work() {
    let s = REAP.load(Acquire);
    if s.is_null() {
        return;
    }
    // SAFETY: `REAP` is cleared, and this work cancelled, before the state
    // drops (see `UGlobal`).
    let s = unsafe { &*s };
    if s.registry.lock().uprobes_mut().reap() {
        // SAFETY: Queues the reaper again.
        unsafe { kbind::rprobes_reap_kick(50) };
    }
}

// ---------------------------------------------------------------------------
// The registry's part.

/// All user probes and probed address spaces (inside the registry, under
/// its mutex).
pub(crate) struct UProbes {
    probes: KVec<KBox<UProbe>>,
    mms: KVec<Arc<UMm>>,
    /// Polls of the reaper for address spaces that are dying.
    reap_budget: u32,
}

/// A user probe to add, as the registry resolved its names.
pub(crate) struct NewUProbe<'a> {
    pub(crate) id: u32,
    pub(crate) group: Name,
    pub(crate) event: Name,
    pub(crate) target: UTarget<'a>,
    pub(crate) target_pos: usize,
    pub(crate) args: Option<KBox<crate::fetch_eval::Args>>,
}

fn cmd_err(kind: ErrorKind, pos: usize) -> CmdError {
    ParseError::new(kind, pos).into()
}

impl UProbes {
    pub(crate) fn new() -> Self {
        Self {
            probes: KVec::new(),
            mms: KVec::new(),
            reap_budget: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.probes.len()
    }

    pub(crate) fn find(&self, group: Option<&str>, event: &str) -> Option<&UProbe> {
        self.probes
            .iter()
            .find(|p| p.is(group, event))
            .map(|p| &**p)
    }

    pub(crate) fn by_id(&self, id: u32) -> Option<&UProbe> {
        self.probes.iter().find(|p| p.id == id).map(|p| &**p)
    }

    pub(crate) fn set_enabled(on: bool) {
        ENABLED.store(on, Relaxed);
    }

    pub(crate) fn set_armed(&self, group: Option<&str>, event: &str, on: bool) -> bool {
        match self.find(group, event) {
            Some(p) => {
                p.armed.store(on, Relaxed);
                true
            }
            None => false,
        }
    }

    /// Adds a user probe: resolves the point in the live process, judges
    /// the instruction, writes the breakpoint. A failure leaves nothing
    /// behind, not even the state of a process it had to make.
    pub(crate) fn add(&mut self, n: NewUProbe<'_>) -> Result<(), CmdError> {
        let mut fresh = None;
        let r = self.add_inner(n, &mut fresh);
        if let (Err(_), Some(umm)) = (&r, fresh) {
            self.forget_mm(umm);
        }
        r
    }

    /// Drops the state of an address space that has no probe (made by a
    /// failed [`Self::add`]).
    fn forget_mm(&mut self, umm: Arc<UMm>) {
        MMS.remove(hash_mm(umm.mm), Arc::as_ptr(&umm));
        // A trap in that address space may be looking at it.
        kernel::sync::rcu::synchronize_rcu();
        if let Some(i) = self.mms.iter().position(|u| Arc::ptr_eq(u, &umm)) {
            let _ = self.mms.remove(i);
            NMMS.fetch_sub(1, Relaxed);
        }
    }

    /// [`Self::add`]; `fresh` is set to the state of the address space if
    /// this call made it.
    fn add_inner(
        &mut self,
        n: NewUProbe<'_>,
        fresh: &mut Option<Arc<UMm>>,
    ) -> Result<(), CmdError> {
        use ErrorKind::*;
        let pos = n.target_pos;
        let (pid, path, addr) = match n.target {
            UTarget::Addr { pid, addr } => (pid, None, addr),
            UTarget::File { pid, path, offset } => (pid, Some(path), offset),
        };
        if self.probes.len() >= MAX_UPROBES {
            return Err(cmd_err(UprobeTooMany, pos));
        }
        let mut pt = kbind::rprobes_upoint {
            vaddr: 0,
            mm: null_mut(),
            tgid: 0,
            vm_flags: 0,
            mm_ref: true,
            bytes: [0; 16],
        };
        let (pp, pl) = path.map_or((core::ptr::null(), 0), |s| (s.as_ptr(), s.len()));
        // SAFETY: `path` (if any) is `pl` readable bytes; `pt` is writable.
        let got = unsafe {
            kbind::rprobes_uprobe_resolve(pid as i32, pp.cast(), pl, addr as usize, &mut pt)
        };
        if got < 0 {
            let e = Error::from_errno(got as i32);
            let kind = if e == ESRCH {
                NoSuchProcess
            } else if e == ENOENT {
                FileNotMapped
            } else if e == ENOMEM {
                NoMemory
            } else if e == EINVAL {
                NoUserMemory
            } else {
                UprobeNotMapped
            };
            return Err(cmd_err(kind, pos));
        }
        // From here on `mm` holds a reference: keep it in a `UMm`, or drop.
        let mm = pt.mm as usize;
        let drop_mm = || {
            // SAFETY: The reference `rprobes_uprobe_resolve` took.
            unsafe { kbind::rprobes_mm_drop(mm as *mut kernel::ffi::c_void) }
        };
        let f = pt.vm_flags;
        let vaddr = pt.vaddr as u64;
        let check = if self.probes.iter().any(|p| p.mm == mm && p.vaddr == vaddr) {
            Err(UprobeExists)
        } else if f & kbind::RPROBES_UVMA_EXEC == 0 {
            Err(UprobeNotExec)
        } else if f & (kbind::RPROBES_UVMA_SHARED | kbind::RPROBES_UVMA_SPECIAL) != 0 {
            Err(UprobeShared)
        } else {
            Ok(())
        };
        let bytes = &pt.bytes[..(got as usize).min(MAX_INSN_LEN)];
        let check = check.and_then(|()| match insn::decode(bytes) {
            Err(r) => Err(UprobeInsn(r)),
            Ok(i) => match i.verdict() {
                Verdict::Refuse(r) => Err(UprobeInsn(r)),
                _ => Ok(i),
            },
        });
        let decoded = match check {
            Ok(i) => i,
            Err(kind) => {
                drop_mm();
                return Err(cmd_err(kind, pos));
            }
        };
        let umm = match self.mms.iter().find(|u| u.mm == mm) {
            Some(u) => {
                // The UMm holds its own reference already.
                drop_mm();
                u.clone()
            }
            None => {
                let u = self.new_mm(mm, pt.tgid)?;
                *fresh = Some(u.clone());
                u
            }
        };
        let len = decoded.len() as u8;
        let verdict = decoded.verdict();
        let mut step = [0u8; MAX_INSN_LEN];
        step[..usize::from(len)].copy_from_slice(&bytes[..usize::from(len)]);
        let mut scratch = None;
        if let Verdict::StepRipFixup { .. } = verdict {
            let Some(f) = decoded.fixup_rip_scratch(vaddr) else {
                return Err(cmd_err(UprobeInsn(insn::Reason::RipUnfixable), pos));
            };
            step[..usize::from(len)].copy_from_slice(f.insn.as_bytes());
            scratch = Some((f.reg.number(), f.value));
        }
        let mut target = FixedBuf::new();
        let _ = crate::probe_line::write_target(
            &mut target,
            &crate::probe_line::Target::User(n.target),
        );
        let oom = || cmd_err(NoMemory, 0);
        let probe = KBox::new(
            UProbe {
                id: n.id,
                group: n.group,
                event: n.event,
                target,
                umm: umm.clone(),
                mm,
                vaddr,
                orig: bytes[0],
                len,
                verdict,
                fixups: step_fixups(verdict),
                step,
                scratch,
                rep: decoded.is_rep_string(),
                stats: PerCpu::new().map_err(|_| oom())?,
                armed: AtomicBool::new(true),
                args: n.args,
                filter: Default::default(),
            },
            GFP_KERNEL,
        )
        .map_err(|_| oom())?;
        self.probes.reserve(1, GFP_KERNEL).map_err(|_| oom())?;
        umm.add_point(vaddr, bytes[0])
            .map_err(|_| cmd_err(UprobeTooMany, pos))?;
        let ptr: *const UProbe = &*probe;
        if POINTS.insert(hash_point(mm, vaddr), ptr).is_err() {
            umm.remove_point(vaddr);
            return Err(cmd_err(UprobeTooMany, pos));
        }
        // The table names the probe before the int3 exists.
        let mut b = [INT3];
        if let Err(e) = umm_rw(mm, vaddr, &mut b, true) {
            POINTS.remove(hash_point(mm, vaddr), ptr);
            kernel::sync::rcu::synchronize_rcu();
            // `probe` drops here (removing its point).
            let kind = if e == ENOMEM { NoMemory } else { UprobeWrite };
            return Err(cmd_err(kind, pos));
        }
        // Cannot fail: reserved.
        let _ = self.probes.push(probe, GFP_KERNEL);
        Ok(())
    }

    /// A new probed address space (takes over the mm reference).
    fn new_mm(&mut self, mm: usize, tgid: i32) -> Result<Arc<UMm>, CmdError> {
        let oom = || cmd_err(ErrorKind::NoMemory, 0);
        // Signals abort steps that have not run (see `on_signal`): hooked
        // with the first user probe, so that signal delivery costs nothing
        // extra until then.
        // SAFETY: Registers the shim's own kprobe (idempotent).
        let r = unsafe { kbind::rprobes_signal_hook() };
        if r != 0 {
            // SAFETY: The reference `rprobes_uprobe_resolve` took.
            unsafe { kbind::rprobes_mm_drop(mm as *mut kernel::ffi::c_void) };
            return Err(ParseError::with_errno(ErrorKind::FailRegProbe, 0, -r).into());
        }
        let (xol, area_work) = match (Xol::new(), AreaWork::new()) {
            (Ok(x), Ok(w)) => (x, w),
            _ => {
                // SAFETY: The reference `rprobes_uprobe_resolve` took.
                unsafe { kbind::rprobes_mm_drop(mm as *mut kernel::ffi::c_void) };
                return Err(oom());
            }
        };
        // INVARIANT: `mm` carries the reference the caller took.
        let umm = Arc::new(
            UMm {
                mm,
                tgid,
                xol,
                xol_state: AtomicU8::new(XOL_NONE),
                xol_failures: AtomicU32::new(0),
                stepped: AtomicU64::new(0),
                emulated: AtomicU64::new(0),
                retries: AtomicU64::new(0),
                reaping: AtomicBool::new(false),
                replay: [const { (AtomicUsize::new(0), AtomicU64::new(0)) }; MAX_REPLAYS],
                replays: AtomicU32::new(0),
                aborted: AtomicU64::new(0),
                points: [const { AtomicU64::new(0) }; MAX_PER_MM],
                area_work,
            },
            GFP_KERNEL,
        )
        .map_err(|_| oom())?;
        self.mms.reserve(1, GFP_KERNEL).map_err(|_| oom())?;
        MMS.insert(hash_mm(mm), Arc::as_ptr(&umm))
            .map_err(|_| cmd_err(ErrorKind::UprobeTooMany, 0))?;
        NMMS.fetch_add(1, Relaxed);
        let _ = self.mms.push(umm.clone(), GFP_KERNEL);
        Ok(umm)
    }

    /// Removes probe `[GRP/]EVENT`; false if there is none.
    pub(crate) fn remove(&mut self, group: Option<&str>, event: &str) -> bool {
        let Some(i) = self.probes.iter().position(|p| p.is(group, event)) else {
            return false;
        };
        let Ok(p) = self.probes.remove(i) else {
            return false;
        };
        // Original byte first: a task that trapped on the int3 meanwhile
        // finds no probe and the original instruction, and runs it.
        restore(p.mm, p.vaddr, p.orig);
        POINTS.remove(hash_point(p.mm, p.vaddr), &*p);
        kernel::sync::rcu::synchronize_rcu();
        drop(p);
        true
    }

    /// The probe point text of `[GRP/]EVENT`.
    pub(crate) fn target_of(&self, group: Option<&str>, event: &str) -> Option<&str> {
        self.find(group, event).map(|p| p.target.as_str())
    }

    /// Removes every probe (address spaces stay known, with their areas).
    pub(crate) fn clear(&mut self) {
        if self.probes.is_empty() {
            return;
        }
        for p in self.probes.iter() {
            restore(p.mm, p.vaddr, p.orig);
            POINTS.remove(hash_point(p.mm, p.vaddr), &**p);
        }
        kernel::sync::rcu::synchronize_rcu();
        self.probes.clear();
    }

    /// Forgets every address space too (module exit, after `clear`).
    pub(crate) fn shutdown(&mut self) {
        self.clear();
        for u in self.mms.iter() {
            MMS.remove(hash_mm(u.mm), Arc::as_ptr(u));
        }
        kernel::sync::rcu::synchronize_rcu();
        NMMS.store(0, Relaxed);
        self.mms.clear();
    }

    /// Frees the probes and state of address spaces that died (exit, exec).
    /// Returns whether some seem about to die (poll again).
    pub(crate) fn reap(&mut self) -> bool {
        // Decide once which are dead: an address space dying meanwhile must
        // not have its probes freed while they are still in the table.
        let mut any = false;
        for u in self.mms.iter() {
            if !u.alive() {
                u.reaping.store(true, Relaxed);
                any = true;
            }
        }
        let dead = |u: &UMm| u.reaping.load(Relaxed);
        if any {
            for p in self.probes.iter().filter(|p| dead(&p.umm)) {
                POINTS.remove(hash_point(p.mm, p.vaddr), &**p);
            }
            for u in self.mms.iter().filter(|u| dead(u)) {
                MMS.remove(hash_mm(u.mm), Arc::as_ptr(u));
            }
            kernel::sync::rcu::synchronize_rcu();
            let mut i = 0;
            while i < self.probes.len() {
                if dead(&self.probes[i].umm) {
                    let _ = self.probes.remove(i);
                } else {
                    i += 1;
                }
            }
            let mut i = 0;
            while i < self.mms.len() {
                if dead(&self.mms[i]) {
                    let _ = self.mms.remove(i);
                    NMMS.fetch_sub(1, Relaxed);
                } else {
                    i += 1;
                }
            }
            self.reap_budget = 100;
        }
        // An address space whose process is gone (or exec'd) but that
        // still has users is about to die: poll a while for it.
        let dying = self.mms.iter().any(|u| {
            // SAFETY: `u.mm` is valid (mm_count held).
            !unsafe { kbind::rprobes_pid_uses_mm(u.tgid, u.mm as *mut kernel::ffi::c_void) }
        });
        if dying && self.reap_budget > 0 {
            self.reap_budget -= 1;
            return true;
        }
        false
    }

    /// `probes` lines.
    pub(crate) fn show_probes(&self, w: &mut impl Write) -> core::fmt::Result {
        for p in self.probes.iter() {
            w.write_str("p:")?;
            p.write_name(w)?;
            write!(w, " {}", p.target.as_str())?;
            if let Some(args) = p.args() {
                args.write_line(w)?;
            }
            w.write_char('\n')?;
        }
        Ok(())
    }

    /// `profile` rows.
    pub(crate) fn show_profile(&self, w: &mut impl Write) -> core::fmt::Result {
        for p in self.probes.iter() {
            let mut n = FixedBuf::<{ 2 * MAX_EVENT_NAME_LEN }>::new();
            p.write_name(&mut n)?;
            writeln!(
                w,
                "  {:<44} {:>15} {:>15} {:>15} {:>15} {:>10}",
                n.as_str(),
                p.hits(),
                0,
                "-",
                "-",
                "-"
            )?;
        }
        Ok(())
    }

    /// `list` rows.
    pub(crate) fn show_list(&self, w: &mut impl Write, enabled: bool) -> core::fmt::Result {
        for p in self.probes.iter() {
            write!(w, "{:#x} ", p.vaddr)?;
            p.write_name(w)?;
            let on = enabled && p.armed.load(Relaxed);
            writeln!(
                w,
                " {} [{}]{}",
                p.target.as_str(),
                p.verdict.name(),
                if on { "" } else { " [DISABLED]" }
            )?;
        }
        Ok(())
    }

    /// The filter of probe `[GRP/]EVENT`.
    pub(crate) fn filter(
        &self,
        group: Option<&str>,
        event: &str,
    ) -> Option<&crate::filter::Filter> {
        self.find(group, event).map(|p| &p.filter)
    }

    /// `filter` rows.
    pub(crate) fn show_filters(&self, w: &mut impl Write) -> core::fmt::Result {
        for p in self.probes.iter() {
            p.write_name(w)?;
            w.write_char(' ')?;
            p.filter.show(w)?;
            w.write_char('\n')?;
        }
        Ok(())
    }

    /// `armed` rows.
    pub(crate) fn show_armed(&self, w: &mut impl Write) -> core::fmt::Result {
        for p in self.probes.iter() {
            p.write_name(w)?;
            writeln!(w, " {}", u8::from(p.armed.load(Relaxed)))?;
        }
        Ok(())
    }

    /// `xol`: one line per probed address space.
    pub(crate) fn show_xol(&mut self, w: &mut impl Write) -> core::fmt::Result {
        self.reap();
        for u in self.mms.iter() {
            u.show(w)?;
        }
        Ok(())
    }

    /// Bytes the user probes hold.
    pub(crate) fn footprint(&self) -> usize {
        self.probes.len() * core::mem::size_of::<UProbe>()
            + self.mms.len()
                * (core::mem::size_of::<UMm>()
                    + xol::NSLOTS * 40
                    + xol::XOL_PAGES * 4096
                    + AREA_WORK_BYTES)
    }
}

/// The module-wide part of user probes: the die notifier, the process
/// event hooks and the reaper.
pub(crate) struct UGlobal(());

impl UGlobal {
    /// Hooks the traps and process events. `state` must outlive the
    /// returned object.
    pub(crate) fn new(state: &crate::State) -> Result<Self> {
        REAP.store(core::ptr::from_ref(state).cast_mut(), Release);
        // SAFETY: `reap_work` may run from now until `rprobes_reap_stop`.
        unsafe { kbind::rprobes_reap_init(Some(reap_work)) };
        // SAFETY: The callbacks are valid until the matching unhooks (in
        // `drop`).
        let r = unsafe { kbind::rprobes_proc_hook(Some(on_fork), Some(on_gone)) };
        if r != 0 {
            REAP.store(null_mut(), Release);
            return Err(Error::from_errno(r));
        }
        // SAFETY: As above; `NMMS` is a static, and an atomic is read with
        // READ_ONCE on the C side.
        let r = unsafe { kbind::rprobes_die_hook(Some(on_signal), NMMS.as_ptr()) };
        if r != 0 {
            // SAFETY: Hooked above.
            unsafe { kbind::rprobes_proc_unhook() };
            REAP.store(null_mut(), Release);
            return Err(Error::from_errno(r));
        }
        Ok(Self(()))
    }
}

impl Drop for UGlobal {
    fn drop(&mut self) {
        REAP.store(null_mut(), Release);
        // SAFETY: Stops the reaper (it no longer finds the state).
        unsafe { kbind::rprobes_reap_stop() };
        // SAFETY: Hooked in `new`. Every probe is gone (the registry is
        // shut down first), and no step is in flight (each holds a module
        // reference), so no trap needs us any more.
        unsafe {
            kbind::rprobes_proc_unhook();
            kbind::rprobes_die_unhook();
        }
    }
}

const _: () = assert!(xol::SLOT_BYTES > MAX_INSN_LEN);

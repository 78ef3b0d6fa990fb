// SPDX-License-Identifier: GPL-2.0

//! One return probe's state ([`RetCore`]): its instance range, the entry
//! and return paths, and what they record (hits, misses by cause, latency
//! histogram, recent return values, an optional stack trace, the event).
//!
//! Context: [`RetCore::on_entry`] runs in kprobe context and [`on_return`]
//! in the trampoline's handler (interrupts as the returning function left
//! them, preemption off inside): no lock, no allocation; the per-CPU busy
//! flag keeps a handler from nesting into another on its CPU. The readers
//! (`totals`, `histogram`, `recent`, `last_stack`) take racy but untorn
//! snapshots.

use super::hist::{self, BUCKETS};
use super::instances::{self, Instance, INSTANCES};
use super::stubs::{self, ReturnSlot, NSTUBS};
use crate::events::eval::{self, Args, Ctx};
use crate::events::ring::{self, Head};
use crate::events::tevent;
use crate::lang::fetch_arg::{EntrySave, MAX_ENTRY_ARGS};
use crate::sys::bindings::{self as kbind, pt_regs};
use crate::sys::percpu::{self, PerCpu, Zeroable};
use crate::sys::{ksym, task};
use core::fmt::Write;
use core::ptr;
use core::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize,
    Ordering::{Acquire, Relaxed, Release},
};
use kernel::prelude::*;

/// Time stamp counter: read at entry and at return, converted to ns only
/// for the histogram (cheaper than a clocksource read on the hit paths).
#[inline]
pub(crate) fn cycles() -> u64 {
    // SAFETY: `rdtsc` has no preconditions in kernel mode.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// TSC cycles to ns (`tsc_khz` is the calibrated TSC frequency).
pub(crate) fn cycles_to_ns(c: u64) -> u64 {
    // SAFETY: Reads an exported variable that is set at boot.
    let khz = u64::from(unsafe { kbind::tsc_khz }).max(1);
    // No u128 (and no overflow): whole milliseconds, then the rest.
    (c / khz) * 1_000_000 + (c % khz) * 1_000_000 / khz
}

/// The return probe each instance in flight belongs to (set by the entry
/// before the instance can be returned into; stale once it is released).
static OWNER: [AtomicPtr<RetCore>; NSTUBS] = [const { AtomicPtr::new(ptr::null_mut()) }; NSTUBS];

fn bump(c: &AtomicU64) {
    c.store(c.load(Relaxed).wrapping_add(1), Relaxed);
}

/// Entries of the recent-returns ring, per CPU.
pub(crate) const RING: usize = 32;

impl RetRecord {
    /// Records a return (the owning CPU only, preemption off): at TSC
    /// `now`, of task `pid` on `cpu`, with `%ax` `ret`, to `caller`.
    #[inline]
    pub(crate) fn write(&self, now: u64, pid: u32, cpu: u32, ret: u64, caller: usize) {
        let seq = self.seq.load(Relaxed);
        self.seq.store(seq | 1, Relaxed);
        core::sync::atomic::fence(Release);
        self.ts.store(now, Relaxed);
        self.pid.store(pid, Relaxed);
        self.cpu.store(cpu, Relaxed);
        self.ret.store(ret, Relaxed);
        self.caller.store(caller, Relaxed);
        self.seq.store((seq | 1).wrapping_add(1), Release);
    }

    /// The return recorded here (of function `func`), if there is one
    /// and it was not being written meanwhile (any context).
    pub(crate) fn read(&self, func: usize) -> Option<Return> {
        let s0 = self.seq.load(Acquire);
        if s0 == 0 || s0 & 1 != 0 {
            return None;
        }
        let rec = Return {
            ts: cycles_to_ns(self.ts.load(Relaxed)),
            pid: self.pid.load(Relaxed),
            cpu: self.cpu.load(Relaxed),
            ret: self.ret.load(Relaxed),
            caller: self.caller.load(Relaxed),
            func,
        };
        core::sync::atomic::fence(Acquire);
        (self.seq.load(Relaxed) == s0).then_some(rec)
    }
}

/// A recorded return; `seq` is odd while the owning CPU writes it.
#[derive(Default)]
pub(crate) struct RetRecord {
    seq: AtomicU64,
    ts: AtomicU64,
    pid: AtomicU32,
    cpu: AtomicU32,
    ret: AtomicU64,
    caller: AtomicUsize,
}

/// Per-CPU state of one return probe.
///
/// Only the owning CPU writes: with preemption off and the CPU's busy flag
/// held (return side; a nested handler finds the flag taken and only bumps
/// `miss_reentrant`, which the holder never writes), or in the kprobe
/// handler (entry side), so plain load+store is enough; readers take racy
/// but untorn snapshots.
pub(crate) struct RetStats {
    hits: AtomicU64,
    miss_reentrant: AtomicU64,
    miss_maxactive: AtomicU64,
    migrated: AtomicU64,
    hist: [AtomicU64; BUCKETS],
    next: AtomicU64,
    ring: [RetRecord; RING],
}

// SAFETY: All fields are atomics, for which all-zero is a valid zero; no
// destructor; atomics are `Sync`.
unsafe impl Zeroable for RetStats {}

/// Frames kept of a recorded stack trace.
pub(crate) const STACK_DEPTH: usize = 16;

/// The last stack trace recorded at a return of one probe.
struct StackRec {
    writer: AtomicBool,
    seq: AtomicU64,
    len: AtomicUsize,
    pcs: [AtomicUsize; STACK_DEPTH],
}

/// Per-probe return-probe state: an instance range and statistics.
///
/// # Invariants
///
/// Instances `base..base + len` belong to this object, which outlives
/// every one of them that is in flight (the registry keeps it until
/// [`Self::in_flight`] is 0 and its kprobe is unregistered).
pub(crate) struct RetCore {
    base: usize,
    len: usize,
    /// The probe's id, for events.
    id: u32,
    /// The probed function (for `returns`).
    func: AtomicUsize,
    stats: PerCpu<RetStats>,
    stack_on: AtomicBool,
    stack: StackRec,
    /// Fetch arguments recorded at each return.
    args: Option<KBox<Args>>,
    /// The event's trace event, or null ([`crate::kprobes::Probe::set_tevent`]).
    pub(crate) tevent: AtomicPtr<crate::sys::bindings::rprobes_tevent>,
}

/// Snapshot of a [`RetCore`]'s counters.
pub(crate) struct Totals {
    /// Returns handled.
    pub(crate) hits: u64,
    /// Entries or returns skipped because a return handler ran on the CPU.
    pub(crate) miss_reentrant: u64,
    /// Entries skipped because all `maxactive` instances were in flight.
    pub(crate) miss_maxactive: u64,
    /// Returns handled on another CPU than the entry.
    pub(crate) migrated: u64,
}

impl RetCore {
    /// State for instances `base..base + len`.
    pub(crate) fn new(base: usize, len: usize, id: u32, args: Option<KBox<Args>>) -> Result<Self> {
        if len == 0 || base + len > NSTUBS {
            return Err(EINVAL);
        }
        Ok(Self {
            base,
            len,
            id,
            func: AtomicUsize::new(0),
            stats: PerCpu::new()?,
            stack_on: AtomicBool::new(false),
            stack: StackRec {
                writer: AtomicBool::new(false),
                seq: AtomicU64::new(0),
                len: AtomicUsize::new(0),
                pcs: [const { AtomicUsize::new(0) }; STACK_DEPTH],
            },
            args,
            tevent: AtomicPtr::new(core::ptr::null_mut()),
        })
    }

    /// The instance range (for the registry's range allocator).
    pub(crate) fn range(&self) -> (usize, usize) {
        (self.base, self.len)
    }

    /// Records the probed function's address (once registered).
    pub(crate) fn set_func(&self, addr: usize) {
        self.func.store(addr, Relaxed);
    }

    /// Turns stack trace recording on or off.
    pub(crate) fn set_stack(&self, on: bool) {
        self.stack_on.store(on, Relaxed);
    }

    /// Whether stack traces are recorded.
    pub(crate) fn stack_on(&self) -> bool {
        self.stack_on.load(Relaxed)
    }

    /// Bytes this state holds besides the object (per-CPU memory).
    pub(crate) fn footprint(&self) -> usize {
        self.stats.footprint() + self.args.as_ref().map_or(0, |a| a.footprint())
    }

    /// The fetch arguments.
    pub(crate) fn args(&self) -> Option<&Args> {
        self.args.as_deref()
    }

    /// Instances of this probe in flight now.
    pub(crate) fn in_flight(&self) -> u32 {
        instances::in_flight(self.base, self.len)
    }

    /// The entry handler of a return probe (kprobe context).
    ///
    /// # Safety
    ///
    /// `regs` is the frame of a kprobe hit on the first instruction of a
    /// function, and `self` is pinned (its address is stored in instances).
    pub(crate) unsafe fn on_entry(&self, regs: &pt_regs) {
        let s = self.stats.this_cpu();
        let mut cpu = 0u32;
        // SAFETY: Reads this CPU's flag, `current` and the CPU number;
        // preemption is off in kprobe context.
        let task = unsafe { kbind::rprobes_ret_entry(&mut cpu) };
        if task.is_null() {
            bump(&s.miss_reentrant);
            return;
        }
        let Some(idx) = instances::claim(self.base, self.len) else {
            bump(&s.miss_maxactive);
            return;
        };
        // SAFETY: Per this function's contract.
        let slot = unsafe { ReturnSlot::at_entry(regs) };
        let inst = &INSTANCES[idx];
        inst.ret.store(slot.get(), Relaxed);
        inst.slot.store(slot.addr(), Relaxed);
        inst.t0.store(cycles(), Relaxed);
        inst.cpu.store(cpu, Relaxed);
        inst.task.store(task as usize, Relaxed);
        if let Some(a) = self.args.as_deref() {
            match a.entry {
                EntrySave::None => {}
                EntrySave::Regs => {
                    let regs6 = [regs.di, regs.si, regs.dx, regs.cx, regs.r8, regs.r9];
                    for (d, v) in inst.args.iter().zip(regs6) {
                        d.store(v as u64, Relaxed);
                    }
                }
                EntrySave::Slots { .. } => {
                    let words = eval::entry_words(&a.entry, regs, false);
                    for (d, v) in inst.args.iter().zip(words) {
                        d.store(v, Relaxed);
                    }
                }
            }
        }
        OWNER[idx].store(ptr::from_ref(self).cast_mut(), Relaxed);
        // The reference `instances::release` drops.
        task::module_get();
        slot.hijack(idx);
    }

    fn record(&self, regs: &pt_regs, inst: &Instance) {
        let s = self.stats.this_cpu();
        let now = cycles();
        bump(&s.hits);
        let lat = cycles_to_ns(now.saturating_sub(inst.t0.load(Relaxed)));
        bump(&s.hist[hist::bucket(lat)]);
        // Interrupts are off: this stays the CPU we run on.
        let cpu = percpu::cpu();
        if cpu != inst.cpu.load(Relaxed) {
            bump(&s.migrated);
        }
        let n = s.next.load(Relaxed);
        s.next.store(n.wrapping_add(1), Relaxed);
        let pid = task::current_pid() as u32;
        s.ring[(n % RING as u64) as usize].write(now, pid, cpu, regs.ax as u64, regs.ip);
        let func = self.func.load(Relaxed) as u64;
        let head = Head::ret(self.id, func, regs.ip as u64);
        let mut entry = [0u64; MAX_ENTRY_ARGS];
        if self.args.is_some() {
            for (d, s) in entry.iter_mut().zip(inst.args.iter()) {
                *d = s.load(Relaxed);
            }
        }
        let ctx = Ctx {
            regs,
            retval: Some(regs.ax as u64),
            entry_args: self.args.as_deref().map(|a| (&entry, &a.entry)),
            user: false,
            file_base: None,
        };
        match self.args.as_deref() {
            None => ring::record(head, 0, |_: &mut [u8]| {}),
            Some(args) => eval::record_args(head, args, &ctx),
        }
        let ev = self.tevent.load(Acquire);
        // SAFETY: Preemption is off here (`on_return`, between
        // `rprobes_ret_begin` and `rprobes_ret_end`): an RCU read-side
        // section; a trace event is freed only a grace period after it
        // was cleared here.
        if !ev.is_null() && unsafe { tevent::on_raw(ev) } {
            // SAFETY: As above.
            unsafe {
                tevent::write_raw(ev, func, Some(regs.ip as u64), self.args.as_deref(), &ctx)
            };
        }
        if self.stack_on.load(Relaxed) {
            self.record_stack();
        }
    }

    fn record_stack(&self) {
        let mut raw = [0usize; STACK_DEPTH + 8];
        // SAFETY: `raw` has room for `raw.len()` entries.
        let n = unsafe { kbind::stack_trace_save(raw.as_mut_ptr().cast(), raw.len() as u32, 0) }
            as usize;
        let mut pcs = [0usize; STACK_DEPTH];
        let len = fix_trace(&raw[..n.min(raw.len())], &mut pcs);
        let st = &self.stack;
        if st
            .writer
            .compare_exchange(false, true, Acquire, Relaxed)
            .is_err()
        {
            return; // Another CPU records one right now.
        }
        let seq = st.seq.load(Relaxed);
        st.seq.store(seq | 1, Relaxed);
        core::sync::atomic::fence(Release);
        for (d, s) in st.pcs.iter().zip(pcs.iter()) {
            d.store(*s, Relaxed);
        }
        st.len.store(len, Relaxed);
        st.seq.store((seq | 1).wrapping_add(1), Release);
        st.writer.store(false, Release);
    }

    /// The last recorded stack trace (`len` entries of `out`).
    pub(crate) fn last_stack(&self, out: &mut [usize; STACK_DEPTH]) -> usize {
        let st = &self.stack;
        loop {
            let s0 = st.seq.load(Acquire);
            if s0 & 1 != 0 {
                core::hint::spin_loop();
                continue;
            }
            for (o, p) in out.iter_mut().zip(st.pcs.iter()) {
                *o = p.load(Relaxed);
            }
            let len = st.len.load(Relaxed);
            core::sync::atomic::fence(Acquire);
            if st.seq.load(Relaxed) == s0 {
                return len.min(STACK_DEPTH);
            }
        }
    }

    /// Summed counters.
    pub(crate) fn totals(&self) -> Totals {
        let mut t = Totals {
            hits: 0,
            miss_reentrant: 0,
            miss_maxactive: 0,
            migrated: 0,
        };
        self.stats.for_each(|s| {
            t.hits = t.hits.wrapping_add(s.hits.load(Relaxed));
            t.miss_reentrant = t
                .miss_reentrant
                .wrapping_add(s.miss_reentrant.load(Relaxed));
            t.miss_maxactive = t
                .miss_maxactive
                .wrapping_add(s.miss_maxactive.load(Relaxed));
            t.migrated = t.migrated.wrapping_add(s.migrated.load(Relaxed));
        });
        t
    }

    /// The summed latency histogram.
    pub(crate) fn histogram(&self) -> [u64; BUCKETS] {
        let mut h = [0u64; BUCKETS];
        self.stats.for_each(|s| {
            for (d, c) in h.iter_mut().zip(s.hist.iter()) {
                *d = d.wrapping_add(c.load(Relaxed));
            }
        });
        h
    }

    /// Appends the recent returns of every CPU to `out`.
    pub(crate) fn recent(&self, out: &mut KVec<Return>) -> Result {
        let mut err = Ok(());
        let func = self.func.load(Relaxed);
        self.stats.for_each(|s| {
            for r in s.ring.iter() {
                if let (Some(rec), true) = (r.read(func), err.is_ok()) {
                    err = out.push(rec, GFP_KERNEL).map_err(|_| ENOMEM);
                }
            }
        });
        err
    }
}

/// Makes a raw trace taken inside the return handler start at the real
/// caller: drops our own frames up to the trampoline, and turns stub
/// addresses (returns hijacked further up) into their real return
/// addresses. The unwinder cannot walk on past a stub, so the trace ends
/// there.
fn fix_trace(raw: &[usize], out: &mut [usize; STACK_DEPTH]) -> usize {
    let tramp = stubs::text_range();
    let Some(start) = raw.iter().position(|a| tramp.contains(a)) else {
        return 0;
    };
    let mut n = 0;
    for &a in &raw[start + 1..] {
        if n == STACK_DEPTH {
            break;
        }
        if let Some(i) = stubs::stub_index(a) {
            out[n] = instances::real_return(i);
            n += 1;
            break;
        }
        out[n] = a;
        n += 1;
    }
    n
}

/// A recorded return, as `returns` shows it.
#[derive(Clone, Copy)]
pub(crate) struct Return {
    /// Time of the return (TSC, in ns).
    pub(crate) ts: u64,
    /// Task that returned.
    pub(crate) pid: u32,
    /// CPU it returned on.
    pub(crate) cpu: u32,
    /// `%ax` at the return.
    pub(crate) ret: u64,
    /// The real return address.
    pub(crate) caller: usize,
    /// The probed function.
    pub(crate) func: usize,
}

/// The return path: called by the trampoline's handler once the frame and
/// the real return address are in place.
pub(crate) fn on_return(idx: usize, regs: &pt_regs) {
    let inst = &INSTANCES[idx % NSTUBS];
    let owner = OWNER[idx % NSTUBS].load(Relaxed);
    // SAFETY: By `RetCore`'s invariant the owner outlives its in-flight
    // instances, and this one is in flight until `release` below.
    let core = unsafe { &*owner };
    // SAFETY: Paired with `rprobes_ret_end` below; preemption stays off in
    // between, so the per-CPU state is this CPU's.
    let owner_of_cpu = unsafe { kbind::rprobes_ret_begin() };
    if owner_of_cpu {
        core.record(regs, inst);
    } else {
        bump(&core.stats.this_cpu().miss_reentrant);
    }
    // SAFETY: Ends what `rprobes_ret_begin` began.
    unsafe { kbind::rprobes_ret_end(owner_of_cpu) };
    instances::release(idx % NSTUBS);
}

/// Writes `returns` lines for `recs` (sorted by time by the caller).
pub(crate) fn write_returns(w: &mut impl Write, name: &str, recs: &[Return]) -> core::fmt::Result {
    for r in recs {
        write!(
            w,
            "{:>6} [{:03}] {}.{:06}: {}: (",
            r.pid,
            r.cpu,
            r.ts / 1_000_000_000,
            (r.ts / 1000) % 1_000_000,
            name
        )?;
        ksym::write_sym(w, r.caller)?;
        w.write_str(" <- ")?;
        ksym::write_sym(w, r.func)?;
        writeln!(w, ") ret={:#x}", r.ret)?;
    }
    Ok(())
}

// SPDX-License-Identifier: GPL-2.0

//! Return probes: return instances, the entry and return paths, and what
//! they record (hits, misses by cause, latency histogram, recent return
//! values, an optional stack trace).
//!
//! # Return instances
//!
//! A hijacked return is an *instance*: the real return address, the slot it
//! was taken from (the entry stack pointer), the task, the entry time and
//! CPU, and the probe. There are [`NSTUBS`] instances in a static table,
//! one per trampoline stub, so the stub a function returns into names its
//! instance: the per-task return stack is the task's own kernel stack, whose
//! hijacked slots point at their instances (LIFO by construction: nested
//! and recursive calls use deeper slots).
//!
//! Each return probe owns a range of `maxactive` instances ([`RetCore`]);
//! an entry takes a free one from its range with one atomic `fetch_or` on
//! the in-use bitmap, or counts a *maxactive* miss. No lock is taken on the
//! hit paths, which may run in NMI-like (int3) context.
//!
//! # Lifetime
//!
//! - Every in-flight instance holds a reference on the module, so `rmmod`
//!   is refused (`EWOULDBLOCK`) while a task sits inside a probed function;
//!   `in-flight` in `profile`/`returns` shows how many.
//! - A task that never returns (it exits inside the probed function) is
//!   reclaimed when it is freed (`sched_process_free`, where rethook does
//!   the same), which also drops its reference.
//! - A removed return probe keeps its [`RetCore`] until every instance in
//!   its range is back: the registry parks it and frees it later.
//!
//! Lock order: nothing here takes a lock; the registry mutex guards range
//! allocation and parked cores.

use crate::fetch_arg::{EntrySave, MAX_ENTRY_ARGS};
use crate::hist::{self, BUCKETS};
use crate::kbind::{self, pt_regs};
use crate::percpu::{PerCpu, Zeroable};
pub(crate) use crate::trampoline::NSTUBS;
use crate::trampoline::{self, ReturnSlot};
use core::fmt::Write;
use core::ptr;
use core::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize,
    Ordering::{Acquire, Relaxed, Release},
};
use kernel::prelude::*;

const WORDS: usize = NSTUBS / 64;

/// One hijacked return.
struct Instance {
    ret: AtomicUsize,
    slot: AtomicUsize,
    task: AtomicUsize,
    owner: AtomicPtr<RetCore>,
    t0: AtomicU64,
    cpu: AtomicU32,
    /// The arguments saved at entry, for `$argN` of return probes (see
    /// [`EntrySave`]).
    args: [AtomicU64; MAX_ENTRY_ARGS],
}

impl Instance {
    const fn new() -> Self {
        Self {
            ret: AtomicUsize::new(0),
            slot: AtomicUsize::new(0),
            task: AtomicUsize::new(0),
            owner: AtomicPtr::new(ptr::null_mut()),
            t0: AtomicU64::new(0),
            cpu: AtomicU32::new(0),
            args: [const { AtomicU64::new(0) }; MAX_ENTRY_ARGS],
        }
    }
}

static INSTANCES: [Instance; NSTUBS] = [const { Instance::new() }; NSTUBS];
/// Bit `i` set: instance `i` is in flight (or being filled in).
static IN_USE: [AtomicU64; WORDS] = [const { AtomicU64::new(0) }; WORDS];
/// Instances reclaimed from tasks that were freed without returning.
static RECLAIMED: AtomicU64 = AtomicU64::new(0);

/// Time stamp counter: read at entry and at return, converted to ns only
/// for the histogram (cheaper than a clocksource read on the hit paths).
#[inline]
fn cycles() -> u64 {
    // SAFETY: `rdtsc` has no preconditions in kernel mode.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// TSC cycles to ns (`tsc_khz` is the calibrated TSC frequency).
fn cycles_to_ns(c: u64) -> u64 {
    // SAFETY: Reads an exported variable that is set at boot.
    let khz = u64::from(unsafe { kbind::tsc_khz }).max(1);
    // No u128 (and no overflow): whole milliseconds, then the rest.
    (c / khz) * 1_000_000 + (c % khz) * 1_000_000 / khz
}

fn bump(c: &AtomicU64) {
    c.store(c.load(Relaxed).wrapping_add(1), Relaxed);
}

/// Releases instance `i` (its owner must not be touched afterwards).
fn release(i: usize) {
    let inst = &INSTANCES[i];
    inst.task.store(0, Relaxed);
    inst.owner.store(ptr::null_mut(), Relaxed);
    IN_USE[i / 64].fetch_and(!(1u64 << (i % 64)), Release);
    // SAFETY: Drops the reference the entry took for this instance.
    unsafe { kbind::rprobes_module_put() };
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

/// Entries of the recent-returns ring, per CPU.
const RING: usize = 32;

/// A recorded return; `seq` is odd while the owning CPU writes it.
#[derive(Default)]
struct RetRecord {
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
    args: Option<KBox<crate::fetch_eval::Args>>,
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
    pub(crate) fn new(
        base: usize,
        len: usize,
        id: u32,
        args: Option<KBox<crate::fetch_eval::Args>>,
    ) -> Result<Self> {
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
    pub(crate) fn args(&self) -> Option<&crate::fetch_eval::Args> {
        self.args.as_deref()
    }

    /// Instances of this probe in flight now.
    pub(crate) fn in_flight(&self) -> u32 {
        let mut n = 0;
        let mut i = self.base;
        let end = self.base + self.len;
        while i < end {
            let bit = i % 64;
            let span = (64 - bit).min(end - i);
            n += (IN_USE[i / 64].load(Acquire) & mask(bit, span)).count_ones();
            i += span;
        }
        n
    }

    fn alloc(&self) -> Option<usize> {
        let end = self.base + self.len;
        let mut i = self.base;
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
        let Some(idx) = self.alloc() else {
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
                    let words = crate::fetch_eval::entry_words(&a.entry, regs);
                    for (d, v) in inst.args.iter().zip(words) {
                        d.store(v, Relaxed);
                    }
                }
            }
        }
        inst.owner.store(ptr::from_ref(self).cast_mut(), Relaxed);
        // SAFETY: Takes the reference `release` drops.
        unsafe { kbind::rprobes_module_get() };
        slot.hijack(idx);
    }

    fn record(&self, regs: &pt_regs, inst: &Instance) {
        let s = self.stats.this_cpu();
        let now = cycles();
        bump(&s.hits);
        let lat = cycles_to_ns(now.saturating_sub(inst.t0.load(Relaxed)));
        bump(&s.hist[hist::bucket(lat)]);
        // Interrupts are off: this stays the CPU we run on.
        let cpu = crate::percpu::cpu();
        if cpu != inst.cpu.load(Relaxed) {
            bump(&s.migrated);
        }
        let n = s.next.load(Relaxed);
        s.next.store(n.wrapping_add(1), Relaxed);
        let r = &s.ring[(n % RING as u64) as usize];
        let seq = r.seq.load(Relaxed);
        r.seq.store(seq | 1, Relaxed);
        core::sync::atomic::fence(Release);
        r.ts.store(now, Relaxed);
        let pid = crate::percpu::current_pid();
        r.pid.store(pid as u32, Relaxed);
        r.cpu.store(cpu, Relaxed);
        r.ret.store(regs.ax as u64, Relaxed);
        r.caller.store(regs.ip, Relaxed);
        r.seq.store((seq | 1).wrapping_add(1), Release);
        let func = self.func.load(Relaxed) as u64;
        match self.args.as_deref() {
            None => {
                crate::events::record(self.id, crate::events::RETURN, func, regs.ip as u64, &[])
            }
            Some(args) => {
                let mut entry = [0u64; MAX_ENTRY_ARGS];
                for (d, s) in entry.iter_mut().zip(inst.args.iter()) {
                    *d = s.load(Relaxed);
                }
                let ctx = crate::fetch_eval::Ctx {
                    regs,
                    retval: Some(regs.ax as u64),
                    entry_args: Some((&entry, &args.entry)),
                    user: false,
                };
                crate::events::record_args(
                    self.id,
                    crate::events::RETURN,
                    func,
                    regs.ip as u64,
                    args,
                    &ctx,
                );
            }
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
        self.stats.for_each(|s| {
            for r in s.ring.iter() {
                let s0 = r.seq.load(Acquire);
                if s0 == 0 || s0 & 1 != 0 {
                    continue;
                }
                let rec = Return {
                    ts: cycles_to_ns(r.ts.load(Relaxed)),
                    pid: r.pid.load(Relaxed),
                    cpu: r.cpu.load(Relaxed),
                    ret: r.ret.load(Relaxed),
                    caller: r.caller.load(Relaxed),
                    func: self.func.load(Relaxed),
                };
                core::sync::atomic::fence(Acquire);
                if r.seq.load(Relaxed) == s0 && err.is_ok() {
                    err = out.push(rec, GFP_KERNEL).map_err(|_| ENOMEM);
                }
            }
        });
        err
    }
}

/// Bits `bit..bit + span` of a word.
fn mask(bit: usize, span: usize) -> u64 {
    if span >= 64 {
        !0
    } else {
        ((1u64 << span) - 1) << bit
    }
}

/// Makes a raw trace taken inside the return handler start at the real
/// caller: drops our own frames up to the trampoline, and turns stub
/// addresses (returns hijacked further up) into their real return
/// addresses. The unwinder cannot walk on past a stub, so the trace ends
/// there.
fn fix_trace(raw: &[usize], out: &mut [usize; STACK_DEPTH]) -> usize {
    let tramp = trampoline::text_range();
    let Some(start) = raw.iter().position(|a| tramp.contains(a)) else {
        return 0;
    };
    let mut n = 0;
    for &a in &raw[start + 1..] {
        if n == STACK_DEPTH {
            break;
        }
        if let Some(i) = trampoline::stub_index(a) {
            out[n] = real_return(i);
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
    let owner = inst.owner.load(Relaxed);
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
    release(idx % NSTUBS);
}

/// `sched_process_free`: reclaims the instances of a task that was freed
/// inside a probed function (it will never return through them).
///
/// # Safety
///
/// `task` is a dead task about to be freed (the tracepoint's contract): it
/// runs no code any more, so none of its instances can be returned into.
unsafe extern "C" fn on_task_free(task: *mut kernel::ffi::c_void) {
    let task = task as usize;
    // User probes: steps the task left in flight.
    crate::uprobes::task_gone(task);
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

/// The module-wide part of return probes: the task-free hook.
///
/// Dropping it waits until every instance is back (it runs at module exit,
/// after every probe is unregistered, so only returns already on their way
/// can be left), then unhooks.
pub(crate) struct RetGlobal(());

impl RetGlobal {
    /// Hooks task freeing.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: `on_task_free` is safe to call for any dead task, from
        // any context, until `rprobes_task_free_unhook` returns.
        let r = unsafe { kbind::rprobes_task_free_hook(Some(on_task_free)) };
        if r < 0 {
            return Err(Error::from_errno(r));
        }
        Ok(Self(()))
    }
}

impl Drop for RetGlobal {
    fn drop(&mut self) {
        let mut waited = 0u32;
        while in_flight_total() != 0 {
            if waited % 5000 == 0 {
                pr_warn!(
                    "waiting for {} return(s) in flight before unloading\n",
                    in_flight_total()
                );
            }
            // SAFETY: Module exit runs in process context.
            unsafe { kbind::msleep(10) };
            waited += 10;
        }
        // SAFETY: Process context; after this no hook call runs.
        unsafe { kbind::rprobes_task_free_unhook() };
        // A task may still be between `release` and the trampoline's `ret`:
        // wait until every task has passed a voluntary context switch.
        // SAFETY: Process context.
        unsafe { kbind::synchronize_rcu_tasks() };
    }
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
        write_sym(w, r.caller)?;
        w.write_str(" <- ")?;
        write_sym(w, r.func)?;
        writeln!(w, ") ret={:#x}", r.ret)?;
    }
    Ok(())
}

/// Writes the name of the function containing `addr` (no offset, no
/// module), as tracefs prints the probed function of a return event.
pub(crate) fn write_sym_name(w: &mut impl Write, addr: usize) -> core::fmt::Result {
    let mut full = crate::probe_line::FixedBuf::<{ kbind::RPROBES_KSYM_LEN as usize }>::new();
    let _ = write_sym(&mut full, addr);
    let s = full.as_str();
    w.write_str(s.split(['+', ' ']).next().unwrap_or(s))
}

/// Writes `addr` as `func+0x12/0x40 [mod]` (kallsyms).
pub(crate) fn write_sym(w: &mut impl Write, addr: usize) -> core::fmt::Result {
    let mut buf = [0u8; kbind::RPROBES_KSYM_LEN as usize];
    // SAFETY: `buf` has the KSYM_SYMBOL_LEN bytes `sprint_symbol` may write.
    let n = unsafe { kbind::rprobes_sprint_symbol(buf.as_mut_ptr().cast(), addr) };
    let n = (n.max(0) as usize).min(buf.len());
    match core::str::from_utf8(&buf[..n]) {
        Ok(s) if n > 0 => w.write_str(s),
        _ => write!(w, "{addr:#x}"),
    }
}

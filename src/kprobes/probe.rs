// SPDX-License-Identifier: GPL-2.0

//! One kernel probe ([`Probe`]): a `struct kprobe` of its own, per-CPU
//! statistics, and the hit path of entry probes; a return probe's entry
//! goes to its [`RetCore`].
//!
//! Context: [`Probe::on_hit`] runs in kprobe context (preemption off, any
//! context the probed code runs in): no lock, no allocation. The rest runs
//! under the registry mutex.

use crate::events::eval::{self, Args, Ctx};
use crate::events::filter::Filter;
use crate::events::ring::{self, Head};
use crate::events::tevent;
use crate::lang::error::ErrorKind;
use crate::lang::line::Kind;
use crate::probe::{CmdError, Name, Named, TargetText};
use crate::retprobes::handler::RetCore;
use crate::sys::bindings as kbind;
use crate::sys::kprobe::{KProbe, KProbeOwner, Place};
use crate::sys::percpu::{self, PerCpu, Zeroable};
use core::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU32, AtomicU64,
    Ordering::{Acquire, Relaxed, Release},
};
use kernel::prelude::*;

/// Per-CPU statistics of one probe.
///
/// Only the owning CPU writes its instance, with preemption disabled (in
/// the kprobe handler), so plain load+store suffices; readers on other
/// CPUs sum racy but untorn snapshots.
#[derive(Default)]
pub(crate) struct Stats {
    hits: AtomicU64,
    misses: AtomicU64,
    active: AtomicU32,
}

// SAFETY: All-zero atomics are valid zeroes; atomics are `Sync` and have no
// destructor.
unsafe impl Zeroable for Stats {}

fn bump(c: &AtomicU64) {
    c.store(c.load(Relaxed).wrapping_add(1), Relaxed);
}

/// One kernel probe.
#[repr(C)]
pub(crate) struct Probe {
    /// Must stay the first field: see [`KProbeOwner`].
    pub(crate) kprobe: KProbe,
    stats: PerCpu<Stats>,
    /// Return probes only: instances and return-side statistics.
    pub(crate) ret: Option<KBox<RetCore>>,
    /// Entry probes' fetch arguments (a return probe's are in `ret`).
    args: Option<KBox<Args>>,
    /// Names the probe in recorded events.
    pub(crate) id: u32,
    /// The probed address (once registered), for events.
    addr: AtomicU64,
    /// Which tasks' hits count.
    pub(crate) filter: Filter,
    group: Name,
    event: Name,
    /// Entry or return probe.
    pub(crate) kind: Kind,
    /// The probe point as it reads back.
    pub(crate) target: TargetText,
    /// Armed by the user (the kprobe is enabled iff this and the global
    /// `enabled` are set). Changed only with the registry mutex held.
    pub(crate) armed: AtomicBool,
    /// The event's trace event (`trace_events=1`), or null: set and
    /// cleared under the registry mutex, which frees the trace event only
    /// an RCU grace period after clearing it in every probe of the event.
    pub(crate) tevent: AtomicPtr<kbind::rprobes_tevent>,
}

// SAFETY: `Probe` is `#[repr(C)]` with its `KProbe` first, and the only
// `KProbe` constructed with `KProbe::new::<Probe>` is this field.
unsafe impl KProbeOwner for Probe {
    #[inline]
    fn on_hit(&self, regs: &kbind::pt_regs) {
        if !self.filter.pass() {
            return;
        }
        if let Some(ret) = &self.ret {
            // SAFETY: Return probes are only registered on `SYM+0`, the
            // first instruction of a function (see `Probe::new`), and the
            // `RetCore` is boxed, so its address is stable.
            unsafe { ret.on_entry(regs) };
            return;
        }
        let s = self.stats.this_cpu();
        if s.active.load(Relaxed) != 0 {
            // Our own handler re-entered on this CPU (e.g. from an NMI).
            bump(&s.misses);
            return;
        }
        s.active.store(1, Relaxed);
        bump(&s.hits);
        let addr = self.addr.load(Relaxed);
        let head = Head::entry(self.id, addr);
        let ctx = Ctx {
            regs,
            retval: None,
            entry_args: None,
            user: false,
            file_base: None,
        };
        match self.args.as_deref() {
            None => ring::record(head, 0, |_: &mut [u8]| {}),
            Some(args) => eval::record_args(head, args, &ctx),
        }
        let ev = self.tevent.load(Acquire);
        // SAFETY: A probe handler runs in an RCU read-side section (its
        // kprobe's), and a trace event is freed only a grace period after
        // it was cleared here.
        if !ev.is_null() && unsafe { tevent::on_raw(ev) } {
            // SAFETY: As above.
            unsafe { tevent::write_raw(ev, addr, None, self.args.as_deref(), &ctx) };
        }
        s.active.store(0, Relaxed);
    }
}

const _: () = assert!(core::mem::offset_of!(Probe, kprobe) == 0);

impl Probe {
    /// Points the probe (and its return side) at its event's trace event,
    /// or at none (null). Under the registry mutex.
    pub(crate) fn set_tevent(&self, ev: *mut kbind::rprobes_tevent) {
        self.tevent.store(ev, Release);
        if let Some(r) = self.ret.as_ref() {
            r.tevent.store(ev, Release);
        }
    }

    /// Sum of the per-CPU (hits, misses).
    pub(crate) fn totals(&self) -> (u64, u64) {
        let (mut h, mut m) = (0u64, 0u64);
        self.stats.for_each(|s| {
            h = h.wrapping_add(s.hits.load(Relaxed));
            m = m.wrapping_add(s.misses.load(Relaxed));
        });
        (h, m)
    }

    /// Bytes this probe costs: the object, its per-CPU statistics, its
    /// symbol name and its slot in the registry.
    pub(crate) fn footprint(&self) -> usize {
        core::mem::size_of::<Self>()
            + self.stats.footprint()
            + self.kprobe.heap_bytes()
            + core::mem::size_of::<Pin<KBox<Probe>>>()
            + self
                .ret
                .as_ref()
                .map_or(0, |r| core::mem::size_of::<RetCore>() + r.footprint())
    }

    /// The probe's fetch arguments.
    pub(crate) fn args(&self) -> Option<&Args> {
        self.args
            .as_deref()
            .or_else(|| self.ret.as_ref().and_then(|r| r.args()))
    }

    pub(crate) fn in_flight(&self) -> u32 {
        self.ret.as_ref().map_or(0, |r| r.in_flight())
    }

    pub(crate) fn is_return(&self) -> bool {
        matches!(self.kind, Kind::Return { .. })
    }
}

impl Named for Probe {
    fn names(&self) -> (&Name, &Name) {
        (&self.group, &self.event)
    }
}

/// What a new kernel probe is made of, as the registry resolved it.
pub(crate) struct NewProbe<'a> {
    /// Names the probe in recorded events.
    pub(crate) id: u32,
    /// Its event's group.
    pub(crate) group: Name,
    /// Its event.
    pub(crate) event: Name,
    /// Entry or return probe.
    pub(crate) kind: Kind,
    /// The probe point as it reads back.
    pub(crate) target: TargetText,
    /// Where the kprobe goes.
    pub(crate) place: Place<'a>,
    /// A return probe's state (with its fetch arguments).
    pub(crate) ret: Option<RetCore>,
    /// An entry probe's fetch arguments.
    pub(crate) args: Option<KBox<Args>>,
    /// The event's `armed`.
    pub(crate) armed: bool,
    /// The event's filter (`Filter::show` text; empty for none).
    pub(crate) filter: &'a str,
    /// The event's stack recording (return probes).
    pub(crate) stack: bool,
}

/// `maxactive` when a return probe gives none: tracefs' (kretprobe's)
/// default, `max(10, 2 * possible CPUs)`.
pub(crate) fn default_maxactive() -> usize {
    (2 * percpu::num_possible_cpus()).max(10)
}

impl Probe {
    /// A probe, not registered yet.
    pub(crate) fn new(n: NewProbe<'_>) -> Result<Pin<KBox<Self>>> {
        let ret = match n.ret {
            Some(r) => Some(KBox::new(r, GFP_KERNEL)?),
            None => None,
        };
        let probe = Probe {
            kprobe: KProbe::new::<Probe>(n.place)?,
            stats: PerCpu::new()?,
            ret,
            args: n.args,
            id: n.id,
            addr: AtomicU64::new(0),
            filter: Default::default(),
            group: n.group,
            event: n.event,
            kind: n.kind,
            target: n.target,
            armed: AtomicBool::new(n.armed),
            tevent: AtomicPtr::new(core::ptr::null_mut()),
        };
        if !n.filter.is_empty() {
            // What `show` wrote: `set` takes it back.
            let _ = probe.filter.set(n.filter);
        }
        if let Some(r) = probe.ret.as_ref() {
            r.set_stack(n.stack);
        }
        Ok(KBox::pin(probe, GFP_KERNEL)?)
    }

    /// Registers the probe with the kernel, armed or not; a refusal is the
    /// command's error with the caret at `pos` (the probe point).
    pub(crate) fn register(this: Pin<&Self>, armed: bool, pos: usize) -> Result<(), CmdError> {
        // SAFETY: `kprobe` is structurally pinned: `Probe` never moves it
        // out, and the box stays pinned until the probe drops.
        let kp = unsafe { this.map_unchecked(|p| &p.kprobe) };
        if let Err(e) = kp.register(armed) {
            let kind = if e == ENOENT {
                ErrorKind::BadProbeAddr
            } else if e == EILSEQ {
                ErrorKind::BadInsnBndry
            } else {
                ErrorKind::FailRegProbe
            };
            return Err(CmdError::kernel(kind, pos, e));
        }
        let addr = this.kprobe.addr();
        this.addr.store(addr as u64, Relaxed);
        if let Some(r) = this.ret.as_ref() {
            r.set_func(addr);
        }
        Ok(())
    }
}

// SPDX-License-Identifier: GPL-2.0

//! The set of kernel probes, and the commands that change it.
//!
//! Several kernel probes may share one event (`GRP/EVENT`), as in tracefs
//! (`append_trace_kprobe()`): each is its own [`Probe`] (its own kprobe,
//! id, statistics and return instances, so the hit path does not know
//! about events), and the probes of an event have the same type (entry or
//! return) and the same argument names and types. What tracefs keeps per
//! event (armed, the filter, stack recording) is set on all of them
//! together, and a probe added to an event takes the event's settings.
//!
//! Lock order: `State::registry` (this [`Registry`]) is taken before
//! `State::errors`; the hit paths take no lock at all (per-CPU counters,
//! the lock-free instance bitmap of [`crate::retprobe`]).

use crate::fetch_arg::{
    compare_arg_types, diff_arg_type_error, match_command_args, same_arg_bodies, FetchArg,
};
use crate::kbind;
use crate::kprobe::{KProbe, KProbeOwner, Place};
use crate::percpu::{PerCpu, Zeroable};
use crate::probe_line::{
    self, default_event_name, write_target, Command, ErrorKind, FixedBuf, Kind, ParseError,
    ProbeDef, RemoveDef, Target, DEFAULT_GROUP, MAX_EVENT_NAME_LEN,
};
use crate::retprobe::{self, RetCore, NSTUBS};
use crate::symtab::SymTab;
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
use kernel::prelude::*;

/// A group or event name.
pub(crate) type Name = FixedBuf<MAX_EVENT_NAME_LEN>;

/// A probe point as it reads back (`[MOD:]SYM[+OFF]` or `0xADDR`).
type TargetText = FixedBuf<320>;

/// A probe's `GROUP/EVENT` name: kernel and user probes are looked up and
/// printed the same way.
pub(crate) trait Named {
    /// The group and the event.
    fn names(&self) -> (&Name, &Name);

    /// Whether the probe is `[GROUP/]EVENT` (any group if `None`).
    fn is(&self, group: Option<&str>, event: &str) -> bool {
        let (g, e) = self.names();
        e.as_str() == event && group.is_none_or(|group| group == g.as_str())
    }

    /// Writes `GROUP/EVENT`.
    fn write_name(&self, w: &mut impl Write) -> core::fmt::Result {
        let (g, e) = self.names();
        write!(w, "{}/{}", g.as_str(), e.as_str())
    }
}

fn name(s: &str) -> Name {
    let mut n = Name::new();
    let _ = n.write_str(s);
    n
}

/// A command that failed: where, why, and the errno for `write(2)`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CmdError {
    /// Reason and caret position.
    pub(crate) err: ParseError,
    /// Positive errno.
    pub(crate) errno: i32,
}

impl From<ParseError> for CmdError {
    fn from(err: ParseError) -> Self {
        Self {
            err,
            errno: err.errno,
        }
    }
}

impl CmdError {
    fn at(kind: ErrorKind, pos: usize) -> Self {
        ParseError::new(kind, pos).into()
    }
}

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
    kprobe: KProbe,
    stats: PerCpu<Stats>,
    /// Return probes only: instances and return-side statistics.
    ret: Option<KBox<RetCore>>,
    /// Entry probes' fetch arguments (a return probe's are in `ret`).
    args: Option<KBox<crate::fetch_eval::Args>>,
    /// Names the probe in recorded events.
    id: u32,
    /// The probed address (once registered), for events.
    addr: AtomicU64,
    /// Which tasks' hits count.
    filter: crate::filter::Filter,
    group: Name,
    event: Name,
    kind: Kind,
    target: TargetText,
    /// Armed by the user (the kprobe is enabled iff this and the global
    /// `enabled` are set). Changed only with the registry mutex held.
    armed: AtomicBool,
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
            // first instruction of a function (see `Registry::add`), and
            // the `RetCore` is boxed, so its address is stable.
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
        let ip = self.addr.load(Relaxed);
        match self.args.as_deref() {
            None => crate::events::record(self.id, crate::events::ENTRY, ip, 0, &[]),
            Some(args) => {
                let ctx = crate::fetch_eval::Ctx {
                    regs,
                    retval: None,
                    entry_args: None,
                    user: false,
                };
                crate::events::record_args(self.id, crate::events::ENTRY, ip, 0, args, &ctx);
            }
        }
        s.active.store(0, Relaxed);
    }
}

const _: () = assert!(core::mem::offset_of!(Probe, kprobe) == 0);

impl Probe {
    /// Sum of the per-CPU (hits, misses).
    fn totals(&self) -> (u64, u64) {
        let (mut h, mut m) = (0u64, 0u64);
        self.stats.for_each(|s| {
            h = h.wrapping_add(s.hits.load(Relaxed));
            m = m.wrapping_add(s.misses.load(Relaxed));
        });
        (h, m)
    }

    /// Bytes this probe costs: the object, its per-CPU statistics, its
    /// symbol name and its slot in the registry.
    fn footprint(&self) -> usize {
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
    fn args(&self) -> Option<&crate::fetch_eval::Args> {
        self.args
            .as_deref()
            .or_else(|| self.ret.as_ref().and_then(|r| r.args()))
    }

    fn in_flight(&self) -> u32 {
        self.ret.as_ref().map_or(0, |r| r.in_flight())
    }

    fn is_return(&self) -> bool {
        matches!(self.kind, Kind::Return { .. })
    }
}

/// The number of arguments in `args`, and each parsed argument with its
/// word, for the comparisons of [`crate::fetch_arg`].
fn stored_args(
    args: Option<&crate::fetch_eval::Args>,
) -> (usize, impl Iterator<Item = (FetchArg, &str)> + '_) {
    let a: &[crate::fetch_eval::Arg] = args.map_or(&[], |a| &a.args);
    (a.len(), a.iter().map(|a| (a.arg, a.word())))
}

/// The parsed arguments of a line, as [`stored_args`] gives them.
fn line_args<'a>(def: &ProbeDef<'a>) -> (usize, impl Iterator<Item = (FetchArg, &'a str)>) {
    (
        def.args.len(),
        def.args
            .iter()
            .map_while(Result::ok)
            .map(|a| (a.arg, a.word)),
    )
}

/// `[GRP/]EVENT` split into its group (if given) and event.
fn split_spec(spec: &str) -> (Option<&str>, &str) {
    match spec.split_once('/') {
        Some((g, e)) => (Some(g), e),
        None => (None, spec),
    }
}

impl Named for Probe {
    fn names(&self) -> (&Name, &Name) {
        (&self.group, &self.event)
    }
}

/// `%pS` for the `symbol` type, through kallsyms.
struct KernelSyms;

impl crate::fetch_fmt::SymbolPrinter for KernelSyms {
    fn write_symbol(
        &mut self,
        out: &mut crate::fetch_fmt::SeqBuf<'_>,
        addr: u64,
    ) -> core::fmt::Result {
        retprobe::write_sym(out, addr as usize)
    }
}

/// Writes bytes that may not be UTF-8 (fetched strings): valid text as it
/// is, other bytes as `\xNN`.
fn write_lossy(w: &mut impl Write, mut b: &[u8]) -> core::fmt::Result {
    while !b.is_empty() {
        match core::str::from_utf8(b) {
            Ok(s) => return w.write_str(s),
            Err(e) => {
                let (ok, rest) = b.split_at(e.valid_up_to());
                w.write_str(core::str::from_utf8(ok).unwrap_or(""))?;
                write!(w, "\\x{:02x}", rest[0])?;
                b = &rest[1..];
            }
        }
    }
    Ok(())
}

/// Largest text of one argument [`write_arg_text`] makes room for (a
/// `symbol[N]` array of long names; strings and number arrays take less).
const MAX_ARG_TEXT: usize = 256 * 1024;

/// Writes one argument of an event (` NAME=VALUE`) in full: formatted in
/// `buf` when it fits (almost always), else in a heap buffer grown until it
/// does, so that a long array or string is never cut and the arguments after
/// it are not lost (tracefs prints the whole line). Returns false if the
/// record could not be formatted (the arguments after it are skipped).
fn write_arg_text(
    w: &mut impl Write,
    a: &crate::fetch_eval::Arg,
    data: &[u8],
    buf: &mut [u8],
) -> Result<bool, core::fmt::Error> {
    let fmt = |out: &mut crate::fetch_fmt::SeqBuf<'_>| {
        crate::fetch_fmt::write_fetch_arg(out, &a.arg, a.word(), data, 0, &mut KernelSyms).is_ok()
    };
    let mut out = crate::fetch_fmt::SeqBuf::new(buf);
    let mut ok = fmt(&mut out);
    if !out.overflowed() {
        write_lossy(w, out.as_bytes())?;
        return Ok(ok);
    }
    let mut size = 4 * buf.len().max(1024);
    let mut v = KVVec::<u8>::new();
    loop {
        v.clear();
        v.resize(size, 0, GFP_KERNEL)
            .map_err(|_| core::fmt::Error)?;
        let mut out = crate::fetch_fmt::SeqBuf::new(&mut v);
        ok = fmt(&mut out);
        if !out.overflowed() || size >= MAX_ARG_TEXT {
            write_lossy(w, out.as_bytes())?;
            return Ok(ok && !out.overflowed());
        }
        size *= 4;
    }
}

/// All probes, and the global switch.
pub(crate) struct Registry {
    probes: KVec<Pin<KBox<Probe>>>,
    /// Removed (unregistered) return probes with returns still in flight.
    parked: KVec<Pin<KBox<Probe>>>,
    /// Return instances reserved by return probes (live or parked).
    reserved: [u64; NSTUBS / 64],
    enabled: bool,
    symbols: SymTab,
    /// Id of the next probe (ids are not reused while events may name them).
    next_id: u32,
    /// User probes.
    uprobes: crate::uprobes::UProbes,
}

/// `maxactive` when a return probe gives none: tracefs' (kretprobe's)
/// default, `max(10, 2 * possible CPUs)`.
fn default_maxactive() -> usize {
    // SAFETY: Reads `cpu_possible_mask`'s weight.
    let cpus = unsafe { kbind::rprobes_num_possible_cpus() } as usize;
    (2 * cpus).max(10)
}

impl Registry {
    /// No probes, globally enabled.
    pub(crate) fn new() -> Self {
        Self {
            probes: KVec::new(),
            parked: KVec::new(),
            reserved: [0; NSTUBS / 64],
            enabled: true,
            symbols: SymTab::new(),
            next_id: 1,
            uprobes: crate::uprobes::UProbes::new(),
        }
    }

    /// The user probes.
    pub(crate) fn uprobes_mut(&mut self) -> &mut crate::uprobes::UProbes {
        &mut self.uprobes
    }

    /// Removes every probe and forgets every probed address space (module
    /// exit). Kernel probes the kernel cannot disarm (no memory) stay, and
    /// the error is returned: the caller tries again.
    pub(crate) fn shutdown(&mut self) -> Result {
        self.clear()?;
        self.uprobes.shutdown();
        Ok(())
    }

    /// The probe (live or parked) that events with this id come from.
    fn by_id(&self, id: u32) -> Option<&Probe> {
        Iterator::chain(self.probes.iter(), self.parked.iter())
            .find(|p| p.id == id)
            .map(|p| &**p)
    }

    /// Writes one event as a text line.
    pub(crate) fn write_event(
        &self,
        w: &mut impl Write,
        e: &crate::events::Event,
    ) -> core::fmt::Result {
        let mut n = FixedBuf::<{ 2 * MAX_EVENT_NAME_LEN + 8 }>::new();
        match (self.by_id(e.hdr.id), self.uprobes.by_id(e.hdr.id)) {
            (Some(p), _) => p.write_name(&mut n)?,
            (None, Some(u)) => u.write_name(&mut n)?,
            (None, None) => write!(n, "<removed probe {}>", e.hdr.id)?,
        }
        crate::events::write_head(w, e, n.as_str())?;
        let args = match self.by_id(e.hdr.id) {
            Some(p) => p.args(),
            None => self.uprobes.by_id(e.hdr.id).and_then(|u| u.args()),
        };
        if let Some(args) = args {
            let mut buf = [0u8; 1024];
            for a in args.args.iter() {
                if !write_arg_text(w, a, &e.data, &mut buf)? {
                    break;
                }
            }
        }
        w.write_char('\n')
    }

    fn is_reserved(&self, i: usize) -> bool {
        self.reserved[i / 64] & (1 << (i % 64)) != 0
    }

    fn set_reserved(&mut self, base: usize, len: usize, on: bool) {
        for i in base..base + len {
            if on {
                self.reserved[i / 64] |= 1 << (i % 64);
            } else {
                self.reserved[i / 64] &= !(1 << (i % 64));
            }
        }
    }

    /// First fit of `len` consecutive free instances.
    fn find_range(&self, len: usize) -> Option<usize> {
        let mut run = 0;
        for i in 0..NSTUBS {
            run = if self.is_reserved(i) { 0 } else { run + 1 };
            if run == len {
                return Some(i + 1 - len);
            }
        }
        None
    }

    /// Instances reserved by all return probes.
    pub(crate) fn reserved_instances(&self) -> u32 {
        self.reserved.iter().map(|w| w.count_ones()).sum()
    }

    /// Frees a removed, unregistered probe now, or parks it until its
    /// returns in flight are back.
    fn retire(&mut self, p: Pin<KBox<Probe>>) {
        if p.in_flight() != 0 && self.parked.reserve(1, GFP_KERNEL).is_ok() {
            // Cannot fail: capacity reserved.
            let _ = self.parked.push(p, GFP_KERNEL);
            return;
        }
        // Either nothing is in flight, or parking failed for lack of memory:
        // then wait here, as long as the probed calls take to return.
        while p.in_flight() != 0 {
            // SAFETY: Process context (the registry mutex is a sleeping lock).
            unsafe { kbind::msleep(1) };
        }
        if let Some((base, len)) = p.ret.as_ref().map(|r| r.range()) {
            self.set_reserved(base, len, false);
        }
    }

    /// Frees the parked probes whose returns are all back.
    fn sweep(&mut self) {
        let mut i = 0;
        while i < self.parked.len() {
            if self.parked[i].in_flight() == 0 {
                if let Ok(p) = self.parked.remove(i) {
                    self.retire(p);
                }
            } else {
                i += 1;
            }
        }
    }

    /// Removed return probes still waiting for returns in flight.
    pub(crate) fn parked(&self) -> usize {
        self.parked.len()
    }

    /// Number of probes (kernel and user).
    pub(crate) fn len(&self) -> usize {
        self.probes.len() + self.uprobes.len()
    }

    /// Parses and executes one control line.
    pub(crate) fn execute(&mut self, line: &str) -> Result<(), CmdError> {
        self.sweep();
        match probe_line::parse(line)? {
            Command::Empty => Ok(()),
            Command::Add(def) => self.add(line, &def),
            Command::Remove(def) => self.remove(&def),
        }
    }

    /// Whether `def` (of `line`) may be added to the kernel probes named
    /// `group`/`event`, if there are any: tracefs' `register_trace_kprobe()`
    /// and `append_trace_kprobe()`. A new event's name must not be a user
    /// probe's (tracefs keeps kprobe and uprobe events apart, and refuses
    /// the name of the other kind with `EVENT_EXIST`).
    ///
    /// Returns the probe of the event whose settings a new probe takes.
    fn check_append(
        &self,
        line: &str,
        def: &ProbeDef<'_>,
        group: &str,
        event: &str,
        target: &str,
    ) -> Result<Option<&Probe>, CmdError> {
        let mut siblings = self.probes.iter().filter(|p| p.is(Some(group), event));
        let Some(old) = siblings.next().map(|p| &**p) else {
            if self.uprobes.target_of(Some(group), event).is_some() {
                return Err(CmdError::at(ErrorKind::EventExist, 0));
            }
            return Ok(None);
        };
        if old.is_return() != matches!(def.kind, Kind::Return { .. }) {
            return Err(CmdError::at(ErrorKind::DiffProbeType, 0));
        }
        let (n, new) = line_args(def);
        let (on, olds) = stored_args(old.args());
        let diff = compare_arg_types(n, new, on, olds);
        if diff != 0 {
            // tracefs: at the differing argument (its index 2 is the first).
            return Err(diff_arg_type_error(line, diff).into());
        }
        // tracefs' `trace_kprobe_has_same_kprobe()`: the same probe point
        // and argument bodies as any probe of the event.
        let same = |p: &Probe| {
            let (n, new) = line_args(def);
            let (on, olds) = stored_args(p.args());
            p.target.as_str() == target && same_arg_bodies(n, new, on, olds)
        };
        if same(old) || siblings.any(|p| same(p)) {
            return Err(CmdError::at(ErrorKind::SameProbe, 0));
        }
        Ok(Some(old))
    }

    fn add(&mut self, line: &str, def: &ProbeDef<'_>) -> Result<(), CmdError> {
        let group = name(def.group.unwrap_or(DEFAULT_GROUP));
        let event = match def.event {
            Some(e) => name(e),
            None => default_event_name(def),
        };
        let mut target = TargetText::new();
        let _ = write_target(&mut target, &def.target);
        if let Target::User(_) = def.target {
            // A user event holds one probe; the name of a kernel event is
            // refused as tracefs refuses a kprobe event's name for a uprobe.
            if self
                .probes
                .iter()
                .any(|p| p.is(Some(group.as_str()), event.as_str()))
            {
                return Err(CmdError::at(ErrorKind::EventExist, 0));
            }
            if let Some(t) = self.uprobes.target_of(Some(group.as_str()), event.as_str()) {
                let kind = if t == target.as_str() {
                    ErrorKind::SameProbe
                } else {
                    ErrorKind::EventExist
                };
                return Err(CmdError::at(kind, 0));
            }
        }
        if let Target::User(t) = def.target {
            // `@SYM` was refused by the parser (SYM_ON_UPROBE).
            let args = if def.args.is_empty() {
                None
            } else {
                let a = self.build_args(def)?;
                let oom = || CmdError::at(ErrorKind::NoMemory, 0);
                Some(KBox::new(KBox::into_inner(a).for_user(), GFP_KERNEL).map_err(|_| oom())?)
            };
            self.uprobes.add(crate::uprobes::NewUProbe {
                id: self.next_id,
                group,
                event,
                target: t,
                target_pos: def.target_pos,
                args,
            })?;
            self.next_id = self.next_id.wrapping_add(1).max(1);
            return Ok(());
        }
        let args = if def.args.is_empty() {
            None
        } else {
            Some(self.build_args(def)?)
        };
        let (ret_args, entry_args) = match def.kind {
            Kind::Return { .. } => (args, None),
            Kind::Entry => (None, args),
        };
        let oom = || CmdError::at(ErrorKind::NoMemory, 0);
        if let Target::Symbol { name, .. } = def.target {
            // A failed scan is not fatal: the probe then goes on the first
            // match, as `register_kprobe` would place it.
            if let Ok(false) = self.symbols.is_unique(name) {
                return Err(CmdError::at(ErrorKind::NonUniqSymbol, def.target_pos));
            }
        }
        // After the line's own errors, as in tracefs (it parses the whole
        // line before it looks for the event).
        let sibling =
            self.check_append(line, def, group.as_str(), event.as_str(), target.as_str())?;
        // The event's settings: armed, the filter, stack recording.
        let armed = sibling.is_none_or(|p| p.armed.load(Relaxed));
        let mut filter = FixedBuf::<32>::new();
        let stack = sibling.is_some_and(|p| p.ret.as_ref().is_some_and(|r| r.stack_on()));
        if let Some(p) = sibling {
            let _ = p.filter.show(&mut filter);
        }
        let place = match def.target {
            Target::Symbol { name, offset } => Place::Symbol(name, offset as u32),
            Target::Addr(a) => Place::Addr(a as usize),
            Target::User(_) => return Err(CmdError::at(ErrorKind::BadProbeAddr, def.target_pos)),
        };
        let ret = match def.kind {
            Kind::Entry => None,
            Kind::Return { maxactive } => {
                let len = match maxactive {
                    0 => default_maxactive(),
                    n => n as usize,
                };
                let Some(base) = self.find_range(len) else {
                    return Err(ParseError::with_errno(
                        ErrorKind::FailRegProbe,
                        def.target_pos,
                        probe_line::errno::ENOSPC,
                    )
                    .into());
                };
                let core = RetCore::new(base, len, self.next_id, ret_args).map_err(|_| oom())?;
                Some(KBox::new(core, GFP_KERNEL).map_err(|_| oom())?)
            }
        };
        let probe = Probe {
            kprobe: KProbe::new::<Probe>(place).map_err(|_| oom())?,
            stats: PerCpu::new().map_err(|_| oom())?,
            ret,
            args: entry_args,
            id: self.next_id,
            addr: AtomicU64::new(0),
            filter: Default::default(),
            group,
            event,
            kind: def.kind,
            target,
            armed: AtomicBool::new(armed),
        };
        if !filter.as_str().is_empty() {
            // What `show` wrote: `set` takes it back.
            let _ = probe.filter.set(filter.as_str());
        }
        if let Some(r) = probe.ret.as_ref() {
            r.set_stack(stack);
        }
        let probe = KBox::pin(probe, GFP_KERNEL).map_err(|_| oom())?;
        self.probes.reserve(1, GFP_KERNEL).map_err(|_| oom())?;
        // SAFETY: `kprobe` is structurally pinned: `Probe` never moves it
        // out, and the box stays pinned until the probe drops.
        let kp = unsafe { probe.as_ref().map_unchecked(|p| &p.kprobe) };
        if let Err(e) = kp.register(self.enabled && armed) {
            let kind = match e.to_errno().unsigned_abs() as i32 {
                probe_line::errno::ENOENT => ErrorKind::BadProbeAddr,
                probe_line::errno::EILSEQ => ErrorKind::BadInsnBndry,
                _ => ErrorKind::FailRegProbe,
            };
            let errno = e.to_errno().unsigned_abs() as i32;
            return Err(CmdError {
                err: ParseError::with_errno(kind, def.target_pos, errno),
                errno,
            });
        }
        // Ids run from 1 to `ID_LIMIT - 1` (events keep the kind in the top bit).
        self.next_id = self.next_id % (crate::events::ID_LIMIT - 1) + 1;
        probe.addr.store(probe.kprobe.addr() as u64, Relaxed);
        if let Some(r) = probe.ret.as_ref() {
            r.set_func(probe.kprobe.addr());
            let (base, len) = r.range();
            self.set_reserved(base, len, true);
        }
        // Cannot fail: capacity reserved above.
        let _ = self.probes.push(probe, GFP_KERNEL);
        Ok(())
    }

    /// Parses the probe's fetch arguments again into owned programs, with
    /// `@SYM` resolved.
    fn build_args(
        &mut self,
        def: &ProbeDef<'_>,
    ) -> Result<KBox<crate::fetch_eval::Args>, CmdError> {
        let oom = || CmdError::at(ErrorKind::NoMemory, 0);
        let mut v = KVec::new();
        let (mut fixed, mut strings) = (0usize, 0usize);
        for la in def.args.iter() {
            let la = la?;
            let mut arg = la.arg;
            let symbols = &mut self.symbols;
            // A failed scan of /proc/kallsyms (no memory) is not "no such
            // symbol": it fails the line with its own errno.
            let mut scan_err = None;
            arg.resolve_symbols(la.word, |name| {
                symbols.lookup(name).unwrap_or_else(|e| {
                    scan_err = Some(e);
                    None
                })
            })
            .map_err(|errno| match scan_err {
                Some(e) if e == ENOMEM => oom(),
                Some(e) => {
                    let errno = e.to_errno().unsigned_abs() as i32;
                    CmdError {
                        err: ParseError::with_errno(ErrorKind::BadFetchArg, la.pos, errno),
                        errno,
                    }
                }
                // tracefs resolves `@SYM` when it registers the kprobe
                // (traceprobe_update_arg()): an unknown symbol is that
                // registration's ENOENT, reported on the probe point as
                // BAD_PROBE_ADDR; a bad offset its EINVAL, FAIL_REG_PROBE.
                None => {
                    let kind = if errno == probe_line::errno::ENOENT {
                        ErrorKind::BadProbeAddr
                    } else {
                        ErrorKind::FailRegProbe
                    };
                    CmdError {
                        err: ParseError::with_errno(kind, def.target_pos, errno),
                        errno,
                    }
                }
            })?;
            fixed = fixed.max(usize::from(arg.offset) + arg.size());
            if arg.ty.is_string() {
                strings += usize::from(arg.count.max(1));
            }
            let mut word = KVec::new();
            word.extend_from_slice(la.word.as_bytes(), GFP_KERNEL)
                .map_err(|_| oom())?;
            let fast = crate::fetch_eval::Fast::of(&arg);
            v.push(crate::fetch_eval::Arg { arg, word, fast }, GFP_KERNEL)
                .map_err(|_| oom())?;
        }
        // The parser refused a return probe whose `$argN` do not fit.
        let entry = crate::fetch_arg::EntrySave::of(v.iter().map(|a| (0, a.arg)))
            .map_err(|_| CmdError::at(ErrorKind::TooManyEargs, 0))?;
        let args = crate::fetch_eval::Args::new(v, fixed, entry, strings).map_err(|_| oom())?;
        KBox::new(args, GFP_KERNEL).map_err(|_| oom())
    }

    /// `-:[GRP/]EVENT [PROBE [NAME=BODY ...]]`: removes every probe of the
    /// event that matches (tracefs' `trace_kprobe_match()`): all of them
    /// without a probe point, else those at that point (as `probes` lists
    /// it) whose first arguments are the `NAME=BODY` words given. None:
    /// `ENOENT`.
    fn remove(&mut self, def: &RemoveDef<'_>) -> Result<(), CmdError> {
        let named = |p: &Probe| p.is(def.group, def.event);
        let at_target = |p: &Probe| def.target.is_none_or(|(_, t)| t == p.target.as_str());
        let matches = |p: &Probe| {
            let (n, args) = stored_args(p.args());
            named(p) && at_target(p) && match_command_args(n, args, def.args)
        };
        if !self.probes.iter().any(|p| matches(p)) {
            if self.probes.iter().any(|p| named(p)) {
                // The caret under the probe point nothing has, or else
                // under the arguments.
                let pos = match def.target {
                    Some((pos, _)) if !self.probes.iter().any(|p| named(p) && at_target(p)) => pos,
                    _ => { def.args }.next().map_or(2, |(pos, _)| pos),
                };
                return Err(CmdError::at(ErrorKind::NoSuchEvent, pos));
            }
            return self.remove_user(def);
        }
        // Unregistering waits for running entry handlers (one RCU grace
        // period for all); returns already hijacked may still come back, so
        // a probe may have to be parked. The probes the kernel cannot disarm
        // stay as they were, and the error is returned.
        let res =
            KProbe::unregister_all(self.probes.iter().filter(|p| matches(p)).map(|p| &p.kprobe));
        let mut i = self.probes.len();
        while i > 0 {
            i -= 1;
            if !matches(&self.probes[i]) || self.probes[i].kprobe.is_registered() {
                continue;
            }
            if let Ok(p) = self.probes.remove(i) {
                self.retire(p);
            }
        }
        res.map_err(unreg_error)
    }

    /// `-:` for a user probe (a user event has one).
    fn remove_user(&mut self, def: &RemoveDef<'_>) -> Result<(), CmdError> {
        let Some(t) = self.uprobes.target_of(def.group, def.event) else {
            return Err(CmdError::at(ErrorKind::NoSuchEvent, 2));
        };
        if let Some((pos, want)) = def.target {
            if want != t {
                return Err(CmdError::at(ErrorKind::NoSuchEvent, pos));
            }
            let u = self.uprobes.find(def.group, def.event);
            let (n, args) = stored_args(u.and_then(|u| u.args()));
            if !match_command_args(n, args, def.args) {
                let pos = { def.args }.next().map_or(pos, |(pos, _)| pos);
                return Err(CmdError::at(ErrorKind::NoSuchEvent, pos));
            }
        }
        self.uprobes.remove(def.group, def.event);
        Ok(())
    }

    /// Removes every probe, with one RCU grace period for all of them.
    ///
    /// Probes the kernel cannot disarm (no memory) stay, registered and
    /// armed, and the error is returned.
    pub(crate) fn clear(&mut self) -> Result {
        let res = KProbe::unregister_all(self.probes.iter().map(|p| &p.kprobe));
        let mut i = self.probes.len();
        while i > 0 {
            i -= 1;
            if self.probes[i].kprobe.is_registered() {
                continue;
            }
            if let Ok(p) = self.probes.remove(i) {
                self.retire(p);
            }
        }
        self.uprobes.clear();
        res
    }

    /// Whether probes are globally enabled.
    pub(crate) fn enabled(&self) -> bool {
        self.enabled
    }

    /// Globally enables or disables every armed probe. If one cannot be
    /// switched (no memory), the ones already switched are switched back
    /// and the error is returned; if one of those cannot be switched back
    /// either, the settings are made to say what the kernel does (see
    /// [`Self::reconcile`]).
    pub(crate) fn set_enabled(&mut self, on: bool) -> Result {
        if on == self.enabled {
            return Ok(());
        }
        let armed = |p: &&Pin<KBox<Probe>>| p.armed.load(Relaxed);
        for (done, p) in self.probes.iter().filter(armed).enumerate() {
            if let Err(e) = p.kprobe.set_armed(on) {
                let mut undone = true;
                for p in self.probes.iter().filter(armed).take(done) {
                    undone &= p.kprobe.set_armed(!on).is_ok();
                }
                if !undone {
                    self.reconcile();
                }
                return Err(e);
            }
        }
        crate::uprobes::UProbes::set_enabled(on);
        self.enabled = on;
        Ok(())
    }

    /// After the kernel failed to switch a probe back: the global switch
    /// on if any kprobe is armed, and then each probe's `armed` set to
    /// whether its kprobe is, so that a kprobe is armed iff `enabled` and
    /// its `armed` say so (what `list` shows).
    fn reconcile(&mut self) {
        self.enabled |= self.probes.iter().any(|p| p.kprobe.is_armed());
        if self.enabled {
            for p in self.probes.iter() {
                p.armed.store(p.kprobe.is_armed(), Relaxed);
            }
        }
        pr_warn!("probes could not be switched back; settings follow the kernel\n");
    }

    /// The first live probe of event `[GRP/]EVENT` (`ENOENT` if none).
    fn find_spec(&self, spec: &str) -> Result<&Probe> {
        let (group, event) = split_spec(spec);
        self.probes
            .iter()
            .find(|p| p.is(group, event))
            .map(|p| &**p)
            .ok_or(ENOENT)
    }

    /// The live probes of event `[GRP/]EVENT`: of the first probe's group
    /// when `GRP/` is not given (none if there is no such event).
    fn event_probes<'a>(&'a self, spec: &str) -> impl Iterator<Item = &'a Probe> + Clone {
        let first = self.find_spec(spec).ok().map(|p| p.names());
        self.probes
            .iter()
            .filter(move |p| first.is_some_and(|(g, e)| p.is(Some(g.as_str()), e.as_str())))
            .map(|p| &**p)
    }

    /// Whether probe `i` is the first of its event (the event's line in
    /// per-event views).
    fn first_of_event(&self, i: usize) -> bool {
        let (g, e) = self.probes[i].names();
        !self.probes[..i]
            .iter()
            .any(|q| q.is(Some(g.as_str()), e.as_str()))
    }

    /// Arms or disarms every probe of event `[GRP/]EVENT` without
    /// unregistering them (tracefs enables and disables events). If one
    /// cannot be switched (no memory), the ones already switched are
    /// switched back and the error is returned (see [`Self::set_enabled`]).
    pub(crate) fn set_armed(&mut self, spec: &str, on: bool) -> Result {
        let (group, event) = split_spec(spec);
        if self.find_spec(spec).is_err() && self.uprobes.set_armed(group, event, on) {
            return Ok(());
        }
        self.find_spec(spec)?;
        let todo = |p: &&Probe| p.armed.load(Relaxed) != on;
        if self.enabled {
            let mut failed = None;
            for (done, p) in self.event_probes(spec).filter(todo).enumerate() {
                if let Err(e) = p.kprobe.set_armed(on) {
                    failed = Some((done, e));
                    break;
                }
            }
            if let Some((done, e)) = failed {
                let mut undone = true;
                for p in self.event_probes(spec).filter(todo).take(done) {
                    undone &= p.kprobe.set_armed(!on).is_ok();
                }
                if !undone {
                    self.reconcile();
                }
                return Err(e);
            }
        }
        for p in self.event_probes(spec) {
            p.armed.store(on, Relaxed);
        }
        Ok(())
    }

    /// `probes`: one line per probe, in `kprobe_events` syntax.
    pub(crate) fn show_probes(&self, w: &mut impl Write) -> core::fmt::Result {
        for p in self.probes.iter() {
            match p.kind {
                Kind::Entry => w.write_char('p')?,
                Kind::Return { maxactive: 0 } => w.write_char('r')?,
                Kind::Return { maxactive } => write!(w, "r{maxactive}")?,
            }
            w.write_char(':')?;
            p.write_name(w)?;
            write!(w, " {}", p.target.as_str())?;
            if let Some(args) = p.args() {
                args.write_line(w)?;
            }
            w.write_char('\n')?;
        }
        self.uprobes.show_probes(w)
    }

    /// `profile`: name, hits, misses (our reentrancy), kprobe `nmissed`,
    /// and for return probes the misses for want of a free instance
    /// (`maxactive` exhausted) and the returns in flight.
    ///
    /// A return probe's hits are the returns it handled.
    pub(crate) fn show_profile(&self, w: &mut impl Write) -> core::fmt::Result {
        writeln!(
            w,
            "# {:<44} {:>15} {:>15} {:>15} {:>15} {:>10}",
            "probe", "hits", "misses", "nmissed", "maxact-misses", "in-flight"
        )?;
        for p in self.probes.iter() {
            let mut n = FixedBuf::<{ 2 * MAX_EVENT_NAME_LEN }>::new();
            p.write_name(&mut n)?;
            let (hits, misses) = match p.ret.as_ref() {
                Some(r) => {
                    let t = r.totals();
                    (t.hits, t.miss_reentrant)
                }
                None => p.totals(),
            };
            write!(
                w,
                "  {:<44} {:>15} {:>15} {:>15}",
                n.as_str(),
                hits,
                misses,
                p.kprobe.nmissed()
            )?;
            match p.ret.as_ref() {
                Some(r) => writeln!(
                    w,
                    " {:>15} {:>10}",
                    r.totals().miss_maxactive,
                    r.in_flight()
                )?,
                None => writeln!(w, " {:>15} {:>10}", "-", "-")?,
            }
        }
        self.uprobes.show_profile(w)
    }

    /// `latency`: per return probe, the entry-to-return time histogram.
    pub(crate) fn show_latency(&self, w: &mut impl Write) -> core::fmt::Result {
        for p in self.probes.iter() {
            let Some(r) = p.ret.as_ref() else { continue };
            p.write_name(w)?;
            let t = r.totals();
            let h = r.histogram();
            writeln!(
                w,
                ": returns {} (migrated {}), ns:",
                crate::hist::total(&h),
                t.migrated
            )?;
            crate::hist::write(w, &h)?;
        }
        Ok(())
    }

    /// `returns`: the recent returns of every return probe, oldest first.
    pub(crate) fn show_returns(&self, w: &mut impl Write) -> core::fmt::Result {
        let mut all = KVec::<(u64, usize, retprobe::Return)>::new();
        for (i, p) in self.probes.iter().enumerate() {
            let Some(r) = p.ret.as_ref() else { continue };
            let mut recs = KVec::new();
            if r.recent(&mut recs).is_err() {
                return Err(core::fmt::Error);
            }
            for rec in recs.into_iter() {
                all.push((rec.ts, i, rec), GFP_KERNEL)
                    .map_err(|_| core::fmt::Error)?;
            }
        }
        crate::kallsyms::heapsort_by_key(&mut all, |e| (e.0, e.1));
        for (_, i, rec) in all.iter() {
            let mut n = FixedBuf::<{ 2 * MAX_EVENT_NAME_LEN }>::new();
            self.probes[*i].write_name(&mut n)?;
            retprobe::write_returns(w, n.as_str(), core::slice::from_ref(rec))?;
        }
        Ok(())
    }

    /// `stacktrace`: the last stack recorded at a return, per probe that
    /// records them, as tracefs prints a `stacktrace` trigger.
    pub(crate) fn show_stacks(&self, w: &mut impl Write) -> core::fmt::Result {
        for p in self.probes.iter() {
            let Some(r) = p.ret.as_ref().filter(|r| r.stack_on()) else {
                continue;
            };
            p.write_name(w)?;
            writeln!(w, ":")?;
            let mut pcs = [0usize; retprobe::STACK_DEPTH];
            let n = r.last_stack(&mut pcs);
            for &pc in &pcs[..n] {
                w.write_str(" => ")?;
                retprobe::write_sym(w, pc)?;
                w.write_char('\n')?;
            }
        }
        Ok(())
    }

    /// Sets the filter of event `[GRP/]EVENT` (of all its probes).
    pub(crate) fn set_filter(&mut self, spec: &str, filter: &str) -> Result {
        let p = match self.find_spec(spec) {
            Ok(p) => p,
            Err(e) => {
                let (group, event) = match spec.split_once('/') {
                    Some((g, e)) => (Some(g), e),
                    None => (None, spec),
                };
                return self.uprobes.filter(group, event).ok_or(e)?.set(filter);
            }
        };
        let res = p.filter.set(filter);
        // The other probes of the event take the first one's filter, also
        // when `filter` was refused.
        let mut now = FixedBuf::<32>::new();
        let _ = p.filter.show(&mut now);
        for q in self.event_probes(spec).skip(1) {
            let _ = q.filter.set(now.as_str());
        }
        res
    }

    /// `filter`: `GRP/EVENT FILTER` per event.
    pub(crate) fn show_filters(&self, w: &mut impl Write) -> core::fmt::Result {
        for (i, p) in self.probes.iter().enumerate() {
            if !self.first_of_event(i) {
                continue;
            }
            p.write_name(w)?;
            w.write_char(' ')?;
            p.filter.show(w)?;
            w.write_char('\n')?;
        }
        self.uprobes.show_filters(w)
    }

    /// Turns stack recording of return event `[GRP/]EVENT` (all its
    /// probes) on or off.
    pub(crate) fn set_stack(&mut self, spec: &str, on: bool) -> Result {
        // The probes of an event are all return probes, or none.
        self.find_spec(spec)?.ret.as_ref().ok_or(EINVAL)?;
        for p in self.event_probes(spec) {
            if let Some(r) = p.ret.as_ref() {
                r.set_stack(on);
            }
        }
        Ok(())
    }

    /// `instances`: return instances in flight, reclaimed, reserved.
    pub(crate) fn show_instances(&mut self, w: &mut impl Write) -> core::fmt::Result {
        self.sweep();
        writeln!(w, "in_flight {}", retprobe::in_flight_total())?;
        writeln!(w, "reclaimed {}", retprobe::reclaimed_total())?;
        writeln!(w, "reserved {}", self.reserved_instances())?;
        writeln!(w, "capacity {NSTUBS}")?;
        writeln!(w, "parked_probes {}", self.parked())
    }

    /// `armed`: `GRP/EVENT 0|1` per event (the user's setting).
    pub(crate) fn show_armed(&self, w: &mut impl Write) -> core::fmt::Result {
        for (i, p) in self.probes.iter().enumerate() {
            if !self.first_of_event(i) {
                continue;
            }
            p.write_name(w)?;
            writeln!(w, " {}", u8::from(p.armed.load(Relaxed)))?;
        }
        self.uprobes.show_armed(w)
    }

    /// `memory`: the module's own accounting of what probes cost.
    pub(crate) fn show_memory(&self, w: &mut impl Write) -> core::fmt::Result {
        let bytes: usize =
            self.probes.iter().map(|p| p.footprint()).sum::<usize>() + self.uprobes.footprint();
        let n = self.len();
        writeln!(w, "probes {n}")?;
        writeln!(w, "probe_bytes {bytes}")?;
        writeln!(w, "bytes_per_probe {}", bytes.checked_div(n).unwrap_or(0))
    }

    /// `list`: resolved address per probe (like debugfs `kprobes/list`).
    pub(crate) fn show_list(&self, w: &mut impl Write) -> core::fmt::Result {
        for p in self.probes.iter() {
            write!(w, "{:#x} ", p.kprobe.addr())?;
            p.write_name(w)?;
            let on = self.enabled && p.armed.load(Relaxed);
            writeln!(
                w,
                " {}{}",
                p.target.as_str(),
                if on { "" } else { " [DISABLED]" }
            )?;
        }
        self.uprobes.show_list(w, self.enabled)
    }

    /// `xol`: the XOL area of each probed process.
    pub(crate) fn show_xol(&mut self, w: &mut impl Write) -> core::fmt::Result {
        self.uprobes.show_xol(w)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        // What cannot be unregistered now is when its probe drops (it
        // waits until the kernel can disarm it).
        let _ = self.clear();
    }
}

/// The error of a probe that could not be unregistered.
pub(crate) fn unreg_error(e: Error) -> CmdError {
    let errno = e.to_errno().unsigned_abs() as i32;
    let kind = if errno == probe_line::errno::ENOMEM {
        ErrorKind::NoMemory
    } else {
        ErrorKind::FailRegProbe
    };
    CmdError {
        err: ParseError::with_errno(kind, 0, errno),
        errno,
    }
}

// SPDX-License-Identifier: GPL-2.0

//! The set of kernel probes, and the commands that change it.
//!
//! Lock order: `State::registry` (this [`Registry`]) is taken before
//! `State::errors`; the hit path takes no lock at all (per-CPU counters).

use crate::kbind;
use crate::kprobe::{KProbe, KProbeOwner, Place};
use crate::percpu::{PerCpu, Zeroable};
use crate::probe_line::{
    self, default_event_name, write_target, Command, ErrorKind, FixedBuf, Kind, ParseError,
    ProbeDef, RemoveDef, Target, DEFAULT_GROUP, MAX_EVENT_NAME_LEN,
};
use crate::symtab::SymTab;
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
use kernel::prelude::*;

/// A group or event name.
pub(crate) type Name = FixedBuf<MAX_EVENT_NAME_LEN>;

/// A probe point as it reads back (`[MOD:]SYM[+OFF]` or `0xADDR`).
type TargetText = FixedBuf<320>;

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
    fn on_hit(&self, _regs: &kbind::pt_regs) {
        let s = self.stats.this_cpu();
        if s.active.load(Relaxed) != 0 {
            // Our own handler re-entered on this CPU (e.g. from an NMI).
            bump(&s.misses);
            return;
        }
        s.active.store(1, Relaxed);
        bump(&s.hits);
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

    fn is(&self, group: Option<&str>, event: &str) -> bool {
        self.event.as_str() == event && group.is_none_or(|g| g == self.group.as_str())
    }

    /// Bytes this probe costs: the object, its per-CPU statistics, its
    /// symbol name and its slot in the registry.
    fn footprint(&self) -> usize {
        core::mem::size_of::<Self>()
            + self.stats.footprint()
            + self.kprobe.heap_bytes()
            + core::mem::size_of::<Pin<KBox<Probe>>>()
    }

    fn write_name(&self, w: &mut impl Write) -> core::fmt::Result {
        write!(w, "{}/{}", self.group.as_str(), self.event.as_str())
    }
}

/// All probes, and the global switch.
pub(crate) struct Registry {
    probes: KVec<Pin<KBox<Probe>>>,
    enabled: bool,
    symbols: SymTab,
}

impl Registry {
    /// No probes, globally enabled.
    pub(crate) fn new() -> Self {
        Self {
            probes: KVec::new(),
            enabled: true,
            symbols: SymTab::new(),
        }
    }

    /// Number of probes.
    pub(crate) fn len(&self) -> usize {
        self.probes.len()
    }

    /// Parses and executes one control line.
    pub(crate) fn execute(&mut self, line: &str) -> Result<(), CmdError> {
        match probe_line::parse(line)? {
            Command::Empty => Ok(()),
            Command::Add(def) => self.add(&def),
            Command::Remove(def) => self.remove(&def),
        }
    }

    fn add(&mut self, def: &ProbeDef<'_>) -> Result<(), CmdError> {
        let group = name(def.group.unwrap_or(DEFAULT_GROUP));
        let event = match def.event {
            Some(e) => name(e),
            None => default_event_name(def),
        };
        let mut target = TargetText::new();
        let _ = write_target(&mut target, &def.target);
        if let Some(p) = self
            .probes
            .iter()
            .find(|p| p.is(Some(group.as_str()), event.as_str()))
        {
            let kind = if p.kind == def.kind && p.target.as_str() == target.as_str() {
                ErrorKind::SameProbe
            } else {
                ErrorKind::EventExist
            };
            return Err(CmdError::at(kind, 0));
        }
        if let Kind::Return { .. } = def.kind {
            return Err(CmdError::at(ErrorKind::RetprobeUnsupported, 0));
        }
        // The arguments are parsed (and checked) but not evaluated yet.
        if let Some((pos, _)) = def.args.words().next() {
            return Err(CmdError::at(ErrorKind::ArgsUnsupported, pos));
        }
        let oom = || CmdError::at(ErrorKind::NoMemory, 0);
        if let Target::Symbol { name, .. } = def.target {
            // A failed scan is not fatal: the probe then goes on the first
            // match, as `register_kprobe` would place it.
            if let Ok(false) = self.symbols.is_unique(name) {
                return Err(CmdError::at(ErrorKind::NonUniqSymbol, def.target_pos));
            }
        }
        let place = match def.target {
            Target::Symbol { name, offset } => Place::Symbol(name, offset as u32),
            Target::Addr(a) => Place::Addr(a as usize),
        };
        let probe = Probe {
            kprobe: KProbe::new::<Probe>(place).map_err(|_| oom())?,
            stats: PerCpu::new().map_err(|_| oom())?,
            group,
            event,
            kind: def.kind,
            target,
            armed: AtomicBool::new(true),
        };
        let probe = KBox::pin(probe, GFP_KERNEL).map_err(|_| oom())?;
        self.probes.reserve(1, GFP_KERNEL).map_err(|_| oom())?;
        // SAFETY: `kprobe` is structurally pinned: `Probe` never moves it
        // out, and the box stays pinned until the probe drops.
        let kp = unsafe { probe.as_ref().map_unchecked(|p| &p.kprobe) };
        if let Err(e) = kp.register(self.enabled) {
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
        // Cannot fail: capacity reserved above.
        let _ = self.probes.push(probe, GFP_KERNEL);
        Ok(())
    }

    fn remove(&mut self, def: &RemoveDef<'_>) -> Result<(), CmdError> {
        let Some(i) = self.probes.iter().position(|p| p.is(def.group, def.event)) else {
            return Err(CmdError::at(ErrorKind::NoSuchEvent, 2));
        };
        if let Some((pos, t)) = def.target {
            if t != self.probes[i].target.as_str() {
                return Err(CmdError::at(ErrorKind::NoSuchEvent, pos));
            }
        }
        // Dropping the probe unregisters it (and waits for its handlers).
        drop(self.probes.remove(i));
        Ok(())
    }

    /// Removes every probe, with one RCU grace period for all of them.
    pub(crate) fn clear(&mut self) {
        // If this fails (no memory), each probe unregisters as it drops.
        let _ = KProbe::unregister_all(self.probes.iter().map(|p| &p.kprobe));
        self.probes.clear();
    }

    /// Whether probes are globally enabled.
    pub(crate) fn enabled(&self) -> bool {
        self.enabled
    }

    /// Globally enables or disables every armed probe.
    pub(crate) fn set_enabled(&mut self, on: bool) -> Result {
        if on == self.enabled {
            return Ok(());
        }
        for p in self.probes.iter().filter(|p| p.armed.load(Relaxed)) {
            p.kprobe.set_armed(on)?;
        }
        self.enabled = on;
        Ok(())
    }

    /// Arms or disarms one probe (`[GRP/]EVENT`) without unregistering it.
    pub(crate) fn set_armed(&mut self, spec: &str, on: bool) -> Result {
        let (group, event) = match spec.split_once('/') {
            Some((g, e)) => (Some(g), e),
            None => (None, spec),
        };
        let p = self
            .probes
            .iter()
            .find(|p| p.is(group, event))
            .ok_or(ENOENT)?;
        if p.armed.load(Relaxed) == on {
            return Ok(());
        }
        if self.enabled {
            p.kprobe.set_armed(on)?;
        }
        p.armed.store(on, Relaxed);
        Ok(())
    }

    /// `probes`: one line per probe, in `kprobe_events` syntax.
    pub(crate) fn show_probes(&self, w: &mut impl Write) -> core::fmt::Result {
        for p in self.probes.iter() {
            let c = match p.kind {
                Kind::Entry => 'p',
                Kind::Return { .. } => 'r',
            };
            write!(w, "{c}:")?;
            p.write_name(w)?;
            writeln!(w, " {}", p.target.as_str())?;
        }
        Ok(())
    }

    /// `profile`: name, hits, misses (our reentrancy), kprobe `nmissed`.
    pub(crate) fn show_profile(&self, w: &mut impl Write) -> core::fmt::Result {
        for p in self.probes.iter() {
            let mut n = FixedBuf::<{ 2 * MAX_EVENT_NAME_LEN }>::new();
            p.write_name(&mut n)?;
            let (hits, misses) = p.totals();
            writeln!(
                w,
                "  {:<44} {:>15} {:>15} {:>15}",
                n.as_str(),
                hits,
                misses,
                p.kprobe.nmissed()
            )?;
        }
        Ok(())
    }

    /// `armed`: `GRP/EVENT 0|1` per probe (the user's setting).
    pub(crate) fn show_armed(&self, w: &mut impl Write) -> core::fmt::Result {
        for p in self.probes.iter() {
            p.write_name(w)?;
            writeln!(w, " {}", u8::from(p.armed.load(Relaxed)))?;
        }
        Ok(())
    }

    /// `memory`: the module's own accounting of what probes cost.
    pub(crate) fn show_memory(&self, w: &mut impl Write) -> core::fmt::Result {
        let bytes: usize = self.probes.iter().map(|p| p.footprint()).sum();
        let n = self.probes.len();
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
        Ok(())
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.clear();
    }
}

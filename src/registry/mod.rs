// SPDX-License-Identifier: GPL-2.0

//! The set of probes, and the commands that change it.
//!
//! [`Registry`] owns every probe: the kernel probes ([`Probe`], live and
//! parked), the reserved return instances ([`Ranges`]), the user probes
//! ([`UProbes`]) and the global `enabled` switch. A control line goes
//! through [`Registry::execute`]: parsed by [`crate::lang::line`], then
//! [`add`] or [`remove`]; the other files set per-event switches
//! ([`switch`]) or render views ([`views`]).
//!
//! Several kernel probes may share one event (`GRP/EVENT`), as in tracefs
//! (`append_trace_kprobe()`): each is its own [`Probe`] (its own kprobe,
//! id, statistics and return instances, so the hit path does not know
//! about events), and the probes of an event have the same type (entry or
//! return) and the same argument names and types. What tracefs keeps per
//! event (armed, the filter, stack recording) is set on all of them
//! together, and a probe added to an event takes the event's settings. A
//! user event has one probe.
//!
//! Lock order: the registry mutex (`files::State::registry`, around this
//! whole object) is taken before `files::State::errors` and before
//! `mmap_lock` (user probes); the hit paths take no lock at all (per-CPU
//! counters, the lock-free instance bitmap of [`crate::retprobes`], the
//! lock-free tables of [`crate::uprobes`]). Context: sleepable, always
//! under the registry mutex.

mod add;
mod remove;
mod switch;
mod views;

use crate::events::eval::{Arg, Args};
use crate::events::ring::EventRef;
use crate::events::tevent::TEvents;
use crate::kprobes::Probe;
use crate::lang::error::ErrorKind;
use crate::lang::fetch_arg::FetchArg;
use crate::lang::line::{self, Command, ProbeDef, Target};
use crate::probe::{split_spec, CmdError, FullName, Named};
use crate::retprobes::instances::Ranges;
use crate::sys::kprobe::KProbe;
use crate::sys::ksym::SymTab;
use crate::uprobes::UProbes;
use core::fmt::Write;
use kernel::prelude::*;

/// All probes, and the global switch.
pub(crate) struct Registry {
    probes: KVec<Pin<KBox<Probe>>>,
    /// Removed (unregistered) return probes with returns still in flight.
    parked: KVec<Pin<KBox<Probe>>>,
    /// Return instances reserved by return probes (live or parked).
    ranges: Ranges,
    enabled: bool,
    symbols: SymTab,
    /// Id of the next probe (ids are not reused while events may name them).
    next_id: u32,
    /// User probes.
    uprobes: UProbes,
    /// The trace events of kernel events (`trace_events=1`).
    tevents: TEvents,
}

impl Registry {
    /// No probes, globally enabled.
    pub(crate) fn new() -> Self {
        Self {
            probes: KVec::new(),
            parked: KVec::new(),
            ranges: Ranges::new(),
            enabled: true,
            symbols: SymTab::new(),
            next_id: 1,
            uprobes: UProbes::new(),
            tevents: TEvents::new(),
        }
    }

    /// Before the kernel probes for which `going(index, probe)` is true
    /// are removed: the trace events of the events that lose all their
    /// probes go ([`TEvents::release`]).
    fn release_tevents(&mut self, going: impl Fn(usize, &Probe) -> bool) -> Result<(), CmdError> {
        let probes = &self.probes;
        let losing = |g: &str, e: &str| {
            let mut of_event = probes.iter().enumerate().filter(|(_, p)| p.is(Some(g), e));
            of_event.clone().any(|(j, p)| going(j, p)) && of_event.all(|(j, p)| going(j, p))
        };
        let point = |g: &str, e: &str, ptr| {
            for p in probes.iter().filter(|p| p.is(Some(g), e)) {
                p.set_tevent(ptr);
            }
        };
        self.tevents
            .release(losing, point, crate::sys::synchronize_rcu_expedited)
            .map_err(CmdError::unregister)
    }

    /// The user probes.
    pub(crate) fn uprobes_mut(&mut self) -> &mut UProbes {
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

    /// Writes one event as a text line, named after its probe (if it is
    /// still there).
    pub(crate) fn write_event(&self, w: &mut impl Write, e: &EventRef<'_>) -> core::fmt::Result {
        let mut n = FullName::new();
        let args = match (self.by_id(e.hdr.id), self.uprobes.by_id(e.hdr.id)) {
            (Some(p), _) => {
                p.write_name(&mut n)?;
                p.args()
            }
            (None, Some(u)) => {
                u.write_name(&mut n)?;
                u.args()
            }
            (None, None) => {
                write!(n, "<removed probe {}>", e.hdr.id)?;
                None
            }
        };
        crate::events::text::write_event(w, e, n.as_str(), args)
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
            // Process context (the registry mutex is a sleeping lock).
            kernel::time::delay::fsleep(kernel::time::Delta::from_millis(1));
        }
        if let Some((base, len)) = p.ret.as_ref().map(|r| r.range()) {
            self.ranges.set(base, len, false);
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
        // tracefs' validate_probe_symbol(), right after the probe point's
        // syntax: no such symbol, or several.
        let symbols = &mut self.symbols;
        let mut clones = KVec::new();
        let cmd = line::parse_with(line, |sym| match symbols.count(sym) {
            // None: its compiler clones, if it has some (as perf probe
            // does), else "no such symbol".
            Ok(Some(0)) => match symbols.clones(sym) {
                Ok(c) if !c.is_empty() => {
                    clones = c;
                    Ok(())
                }
                _ => Err(ErrorKind::BadProbeAddr),
            },
            Ok(Some(n)) if n > 1 => Err(ErrorKind::NonUniqSymbol),
            // One; or a module that is not loaded, or no table (no
            // memory): register_kprobe() decides.
            _ => Ok(()),
        })?;
        match cmd {
            Command::Empty => Ok(()),
            Command::Add(def) if !clones.is_empty() => self.add_clones(line, &def, &clones),
            Command::Add(def) => self.add(line, &def),
            Command::Remove(def) => self.remove(&def),
        }
    }

    /// A probe line on `SYM` that kallsyms has only compiler clones of
    /// (`SYM.isra.0`, `SYM.constprop.0`, ...): the line once per clone,
    /// with the clone's name as its probe point, so each is a probe of its
    /// own, named after the clone unless the line names the event (then
    /// they are the probes of that one event). All or nothing: a line
    /// refused for one clone removes the probes added for the others, and
    /// its caret is put back where the user's line has it.
    fn add_clones(
        &mut self,
        line: &str,
        def: &ProbeDef<'_>,
        clones: &[KVec<u8>],
    ) -> Result<(), CmdError> {
        let oom = || CmdError::at(ErrorKind::NoMemory, 0);
        let Target::Symbol { name, .. } = def.target else {
            return self.add(line, def);
        };
        let at = def.target_pos;
        let before = self.probes.len();
        for c in clones {
            let mut l = KVec::<u8>::new();
            l.extend_from_slice(line[..at].as_bytes(), GFP_KERNEL)
                .and_then(|()| l.extend_from_slice(c, GFP_KERNEL))
                .and_then(|()| l.extend_from_slice(line[at + name.len()..].as_bytes(), GFP_KERNEL))
                .map_err(|_| oom())?;
            let res = match core::str::from_utf8(&l) {
                Ok(l) => self.execute(l),
                Err(_) => Err(CmdError::at(ErrorKind::BadProbeAddr, at)),
            };
            if let Err(mut e) = res {
                self.drop_since(before);
                if e.err.pos > at {
                    e.err.pos = e.err.pos.saturating_sub(c.len() - name.len()).max(at);
                }
                return Err(e);
            }
        }
        Ok(())
    }

    /// Unregisters and frees the kernel probes added since there were
    /// `before` (a line's own, undone).
    fn drop_since(&mut self, before: usize) {
        let _ = self.release_tevents(|i, _| i >= before);
        let _ = KProbe::unregister_all(self.probes[before..].iter().map(|p| &p.kprobe));
        while self.probes.len() > before {
            let i = self.probes.len() - 1;
            if self.probes[i].kprobe.is_registered() {
                break;
            }
            if let Ok(p) = self.probes.remove(i) {
                self.retire(p);
            }
        }
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
}

impl Drop for Registry {
    fn drop(&mut self) {
        // Trace events must not outlive the module: their removal (which
        // allocates, to take the tracing core's lock) is retried a while.
        let mut tries = 0;
        while !self.tevents.is_empty() && tries < 200 {
            if self.release_tevents(|_, _| true).is_ok() {
                break;
            }
            tries += 1;
            // Process context (module init's failure, or exit).
            kernel::time::delay::fsleep(kernel::time::Delta::from_millis(10));
        }
        // What cannot be unregistered now is when its probe drops (it
        // waits until the kernel can disarm it).
        let _ = self.clear();
    }
}

/// The number of arguments in `args`, and each parsed argument with its
/// word, for the comparisons of [`crate::lang::fetch_arg`].
fn stored_args(args: Option<&Args>) -> (usize, impl Iterator<Item = (FetchArg, &str)> + '_) {
    let a: &[Arg] = args.map_or(&[], |a| &a.args);
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

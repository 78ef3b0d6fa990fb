// SPDX-License-Identifier: GPL-2.0

//! Adding probes: `p`/`r` lines, kernel or user, to a new event or to an
//! existing kernel event (tracefs' `register_trace_kprobe()` and
//! `append_trace_kprobe()`).

use super::{line_args, stored_args, Registry};
use crate::events::eval::{Arg, Args, Fast};
use crate::events::ring::ID_LIMIT;
use crate::events::tevent::{self, TEvent};
use crate::kprobes::{default_maxactive, NewProbe, Probe};
use crate::lang::error::{errno, ErrorKind, ParseError};
use crate::lang::fetch_arg::{compare_arg_types, diff_arg_type_error, same_arg_bodies, EntrySave};
use crate::lang::lex::FixedBuf;
use crate::lang::line::{default_event_name, write_target, Kind, ProbeDef, Target, DEFAULT_GROUP};
use crate::lang::upoint::UTarget;
use crate::probe::{name, CmdError, Name, Named, TargetText};
use crate::retprobes::handler::RetCore;
use crate::sys::kprobe::Place;
use crate::sys::security::{self, Lockdown};
use crate::uprobes::NewUProbe;
use core::sync::atomic::Ordering::Relaxed;
use kernel::prelude::*;

impl Registry {
    /// Whether `def` (of `line`) may be added to the kernel probes named
    /// `group`/`event`, if there are any: tracefs' `register_trace_kprobe()`
    /// and `append_trace_kprobe()`. A new event's name must not be a user
    /// probe's (tracefs keeps kprobe and uprobe events apart, and refuses
    /// the name of the other kind with `EVENT_EXIST`).
    ///
    /// Returns the probe of the event whose settings a new probe takes.
    pub(super) fn check_append(
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

    /// `p`/`r` line `def` (of `line`): a user probe, or a kernel probe on
    /// a new event or added to an existing one.
    pub(super) fn add(&mut self, line: &str, def: &ProbeDef<'_>) -> Result<(), CmdError> {
        let group = name(def.group.unwrap_or(DEFAULT_GROUP));
        let event = match def.event {
            Some(e) => name(e),
            None => default_event_name(def),
        };
        let mut target = TargetText::new();
        let _ = write_target(&mut target, &def.target);
        match def.target {
            Target::User(t) => self.add_user(line, def, t, group, event, target),
            _ => self.add_kernel(line, def, group, event, target),
        }
    }

    /// A user probe, on a new event or added to an existing user event
    /// (tracefs' `append_trace_uprobe()`: the same argument types; not the
    /// same probe point with the same arguments again). An added probe
    /// takes the event's settings (armed, filter).
    fn add_user(
        &mut self,
        line: &str,
        def: &ProbeDef<'_>,
        t: UTarget<'_>,
        group: Name,
        event: Name,
        target: TargetText,
    ) -> Result<(), CmdError> {
        // The name of a kernel event is refused as tracefs refuses a kprobe
        // event's name for a uprobe.
        if self
            .probes
            .iter()
            .any(|p| p.is(Some(group.as_str()), event.as_str()))
        {
            return Err(CmdError::at(ErrorKind::EventExist, 0));
        }
        let appended = self.check_user_append(line, def, &group, &event, &target)?;
        // `@SYM` was refused by the parser (SYM_ON_UPROBE).
        let args = if def.args.is_empty() {
            None
        } else {
            let a = self.build_args(def)?;
            let oom = || CmdError::at(ErrorKind::NoMemory, 0);
            Some(KBox::new(KBox::into_inner(a).for_user(), GFP_KERNEL).map_err(|_| oom())?)
        };
        let (g, e) = (name(group.as_str()), name(event.as_str()));
        self.uprobes.add(NewUProbe {
            id: self.next_id,
            group,
            event,
            target: t,
            target_pos: def.target_pos,
            args,
            ret: matches!(def.kind, Kind::Return { .. }),
            guard: None,
        })?;
        self.next_id = next_id(self.next_id);
        if appended {
            self.uprobes.inherit(Some(g.as_str()), e.as_str());
        }
        Ok(())
    }

    /// Whether user probe `def` (of `line`) is added to an existing user
    /// event (tracefs' `append_trace_uprobe()` checks).
    fn check_user_append(
        &self,
        line: &str,
        def: &ProbeDef<'_>,
        group: &Name,
        event: &Name,
        target: &TargetText,
    ) -> Result<bool, CmdError> {
        let mut siblings = self.uprobes.siblings(Some(group.as_str()), event.as_str());
        let Some(old) = siblings.next() else {
            return Ok(false);
        };
        if old.is_return() != matches!(def.kind, Kind::Return { .. }) {
            return Err(CmdError::at(ErrorKind::DiffProbeType, 0));
        }
        let (n, new) = line_args(def);
        let (on, olds) = stored_args(old.args());
        let diff = compare_arg_types(n, new, on, olds);
        if diff != 0 {
            return Err(diff_arg_type_error(line, diff).into());
        }
        let same = |p: &crate::uprobes::UProbe| {
            let (n, new) = line_args(def);
            let (on, olds) = stored_args(p.args());
            p.target_text() == target.as_str() && same_arg_bodies(n, new, on, olds)
        };
        if same(old) || siblings.any(same) {
            return Err(CmdError::at(ErrorKind::SameProbe, 0));
        }
        Ok(true)
    }

    /// A kernel probe, on a new event or added to an existing one.
    fn add_kernel(
        &mut self,
        line: &str,
        def: &ProbeDef<'_>,
        group: Name,
        event: Name,
        target: TargetText,
    ) -> Result<(), CmdError> {
        let mut args = if def.args.is_empty() {
            None
        } else {
            Some(self.build_args(def)?)
        };
        let oom = || CmdError::at(ErrorKind::NoMemory, 0);
        let place = match def.target {
            // The parser had the symbol checked (Registry::execute).
            Target::Symbol { name, offset } => Place::Symbol(name, offset as u32),
            Target::Addr(a) => Place::Addr(a as usize),
            Target::User(_) => return Err(CmdError::at(ErrorKind::BadProbeAddr, def.target_pos)),
        };
        // After the line's own errors, as in tracefs (it parses the whole
        // line before it looks for the event).
        let sibling =
            self.check_append(line, def, group.as_str(), event.as_str(), target.as_str())?;
        // Then kernel lockdown, where tracefs asks it: first thing in
        // `__register_trace_kprobe()`, for a new event and an appended
        // probe alike (EPERM; the caret where tracefs puts its
        // FAIL_REG_PROBE, under the probe point). User probes write user
        // text, as tracefs' uprobes (which lockdown does not refuse).
        security::locked_down(Lockdown::Kprobes)
            .map_err(|e| CmdError::kernel(ErrorKind::KprobesLockedDown, def.target_pos, e))?;
        // The event's settings: armed, the filter, stack recording.
        let armed = sibling.is_none_or(|p| p.armed.load(Relaxed));
        let mut filter = FixedBuf::<32>::new();
        let stack = sibling.is_some_and(|p| p.ret.as_ref().is_some_and(|r| r.stack_on()));
        if let Some(p) = sibling {
            let _ = p.filter.show(&mut filter);
        }
        let ret = match def.kind {
            Kind::Entry => None,
            Kind::Return { maxactive } => {
                let len = match maxactive {
                    0 => default_maxactive(),
                    n => n as usize,
                };
                let Some(base) = self.ranges.find(len) else {
                    let e = ParseError::with_errno(
                        ErrorKind::FailRegProbe,
                        def.target_pos,
                        errno::ENOSPC,
                    );
                    return Err(e.into());
                };
                Some(RetCore::new(base, len, self.next_id, args.take()).map_err(|_| oom())?)
            }
        };
        let probe = Probe::new(NewProbe {
            id: self.next_id,
            group,
            event,
            kind: def.kind,
            target,
            place,
            ret,
            args,
            armed,
            filter: filter.as_str(),
            stack,
        })
        .map_err(|_| oom())?;
        self.probes.reserve(1, GFP_KERNEL).map_err(|_| oom())?;
        // The event's trace event (`trace_events=1`): the
        // one of the event it joins, or a new one, registered before the
        // probe so that a refused name leaves nothing behind.
        let mut new_tevent = None;
        if tevent::enabled() {
            let (g, e) = probe.names();
            match self.tevents.of(g.as_str(), e.as_str()) {
                Some(t) => probe.set_tevent(t.as_ptr()),
                None => {
                    let ret = probe.is_return();
                    let t = TEvent::add(g.as_str(), e.as_str(), ret, false, probe.args())
                        .map_err(tevent::add_error)?;
                    probe.set_tevent(t.as_ptr());
                    new_tevent = Some(t);
                }
            }
        }
        if let Err(e) = Probe::register(probe.as_ref(), self.enabled && armed, def.target_pos) {
            if let Some(t) = new_tevent {
                // Nobody enabled it yet (or it stays, harmless, until
                // the module goes).
                if let Err((t, _)) = t.remove() {
                    let (g, ev) = probe.names();
                    self.tevents.keep(g.as_str(), ev.as_str(), t);
                }
            }
            return Err(e);
        }
        if let Some(t) = new_tevent {
            let (g, e) = probe.names();
            self.tevents.keep(g.as_str(), e.as_str(), t);
        }
        self.next_id = next_id(self.next_id);
        if let Some(r) = probe.ret.as_ref() {
            let (base, len) = r.range();
            self.ranges.set(base, len, true);
        }
        // Cannot fail: capacity reserved above.
        let _ = self.probes.push(probe, GFP_KERNEL);
        Ok(())
    }

    /// Parses the probe's fetch arguments again into owned programs, with
    /// `@SYM` resolved.
    fn build_args(&mut self, def: &ProbeDef<'_>) -> Result<KBox<Args>, CmdError> {
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
                    let kind = if errno == errno::ENOENT {
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
            let fast = Fast::of(&arg);
            v.push(Arg { arg, word, fast }, GFP_KERNEL)
                .map_err(|_| oom())?;
        }
        // The parser refused a return probe whose `$argN` do not fit.
        let entry = EntrySave::of(v.iter().map(|a| (0, a.arg)))
            .map_err(|_| CmdError::at(ErrorKind::TooManyEargs, 0))?;
        let args = Args::new(v, fixed, entry, strings).map_err(|_| oom())?;
        KBox::new(args, GFP_KERNEL).map_err(|_| oom())
    }
}

/// The id after `id`: ids run from 1 to `ID_LIMIT - 1` (events keep the
/// kind in the top bit), shared by kernel and user probes.
fn next_id(id: u32) -> u32 {
    id % (ID_LIMIT - 1) + 1
}

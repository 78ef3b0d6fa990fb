// SPDX-License-Identifier: GPL-2.0

//! Removing probes: `-:` lines (tracefs' `trace_kprobe_match()`), `>`
//! truncation, and everything at module exit.

use super::{stored_args, Registry};
use crate::kprobes::Probe;
use crate::lang::error::ErrorKind;
use crate::lang::fetch_arg::match_command_args;
use crate::lang::line::RemoveDef;
use crate::probe::{name, CmdError, Name, Named};
use crate::sys::kprobe::KProbe;
use kernel::prelude::*;

impl Registry {
    /// `-:[GRP/]EVENT [PROBE [NAME=BODY ...]]`: removes every probe of the
    /// event that matches (tracefs' `trace_kprobe_match()`): all of them
    /// without a probe point, else those at that point (as `probes` lists
    /// it) whose first arguments are the `NAME=BODY` words given. None:
    /// `ENOENT`.
    ///
    /// `-:GRP/` (no event) removes every event of the group.
    pub(super) fn remove(&mut self, def: &RemoveDef<'_>) -> Result<(), CmdError> {
        if def.event.is_empty() {
            return self.remove_group(def);
        }
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
        self.release_tevents(|_, p| matches(p))?;
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
        res.map_err(CmdError::unregister)
    }

    /// `-:GRP/ [PROBE [NAME=BODY ...]]`: the matching probes of every
    /// event of group GRP, kernel and user ones (tracefs'
    /// `trace_kprobe_match()` with an empty event).
    fn remove_group(&mut self, def: &RemoveDef<'_>) -> Result<(), CmdError> {
        let group = def.group.unwrap_or("");
        let oom = || CmdError::at(ErrorKind::NoMemory, 0);
        let mut events = KVec::<Name>::new();
        let kernel = self.probes.iter().map(|p| p.names());
        for (g, e) in Iterator::chain(kernel, self.uprobes.names()) {
            if g.as_str() == group && !events.iter().any(|x| x.as_str() == e.as_str()) {
                events
                    .push(name(e.as_str()), GFP_KERNEL)
                    .map_err(|_| oom())?;
            }
        }
        let mut removed = false;
        let mut res = Ok(());
        for e in events.iter() {
            let one = RemoveDef {
                event: e.as_str(),
                ..*def
            };
            match self.remove(&one) {
                Ok(()) => removed = true,
                Err(err) if err.err.kind == ErrorKind::NoSuchEvent => {}
                Err(err) => res = Err(err),
            }
        }
        res?;
        if removed {
            Ok(())
        } else {
            Err(CmdError::at(ErrorKind::NoSuchEvent, 2))
        }
    }

    /// `-:` for a user event: all its probes, or with `PROBE [ARGS]` the
    /// one with that probe point and arguments.
    fn remove_user(&mut self, def: &RemoveDef<'_>) -> Result<(), CmdError> {
        if self.uprobes.target_of(def.group, def.event).is_none() {
            return Err(CmdError::at(ErrorKind::NoSuchEvent, 2));
        }
        let Some((pos, want)) = def.target else {
            self.uprobes
                .remove(def.group, def.event)
                .map_err(CmdError::unregister)?;
            return Ok(());
        };
        let mut found = None;
        let mut at_target = false;
        for (i, u) in self.uprobes.siblings(def.group, def.event).enumerate() {
            if u.target_text() != want {
                continue;
            }
            at_target = true;
            let (n, args) = stored_args(u.args());
            if match_command_args(n, args, def.args) {
                found = Some(i);
                break;
            }
        }
        match found {
            Some(i) => self
                .uprobes
                .remove_nth(def.group, def.event, i)
                .map_err(CmdError::unregister),
            None if at_target => {
                let pos = { def.args }.next().map_or(pos, |(pos, _)| pos);
                Err(CmdError::at(ErrorKind::NoSuchEvent, pos))
            }
            None => Err(CmdError::at(ErrorKind::NoSuchEvent, pos)),
        }
    }

    /// Removes every probe, with one RCU grace period for all of them.
    ///
    /// Probes the kernel cannot disarm (no memory) stay, registered and
    /// armed, and the error is returned.
    pub(crate) fn clear(&mut self) -> Result {
        self.release_tevents(|_, _| true)
            .map_err(|e| Error::from_errno(-e.errno))?;
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
        res.and(self.uprobes.clear())
    }
}

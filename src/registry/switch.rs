// SPDX-License-Identifier: GPL-2.0

//! Switches of the probes: global `enabled`, per-event `armed`, filters
//! and stack recording.

use super::Registry;
use crate::kprobes::Probe;
use crate::lang::lex::FixedBuf;
use crate::probe::split_spec;
use crate::uprobes::UProbes;
use core::sync::atomic::Ordering::Relaxed;
use kernel::prelude::*;

impl Registry {
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
        UProbes::set_enabled(on);
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

    /// Sets the filter of event `[GRP/]EVENT` (of all its probes).
    pub(crate) fn set_filter(&mut self, spec: &str, filter: &str) -> Result {
        let p = match self.find_spec(spec) {
            Ok(p) => p,
            Err(e) => {
                let (group, event) = split_spec(spec);
                return self.uprobes.set_filter(group, event, filter).ok_or(e)?;
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
}

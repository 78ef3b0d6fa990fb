// SPDX-License-Identifier: GPL-2.0

//! The views of the probes, as the control files show them.

use super::Registry;
use crate::lang::line::Kind;
use crate::probe::Named;
use crate::retprobes::handler::{write_returns, Return, STACK_DEPTH};
use crate::retprobes::{self, hist, stubs::NSTUBS};
use crate::sys::ksym;
use core::fmt::Write;
use core::sync::atomic::Ordering::Relaxed;
use kernel::prelude::*;

impl Registry {
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
            let n = p.full_name();
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
                hist::total(&h),
                t.migrated
            )?;
            hist::write(w, &h)?;
        }
        self.uprobes.show_latency(w)
    }

    /// `returns`: the recent returns of every return probe, oldest first.
    pub(crate) fn show_returns(&self, w: &mut impl Write) -> core::fmt::Result {
        let mut all = KVec::<(u64, usize, Return)>::new();
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
        // User return probes after the kernel ones (index + kernel count).
        let nk = self.probes.len();
        let mut user = KVec::new();
        self.uprobes
            .recent(&mut user)
            .map_err(|_| core::fmt::Error)?;
        for (ts, i, rec) in user.into_iter() {
            all.push((ts, nk + i, rec), GFP_KERNEL)
                .map_err(|_| core::fmt::Error)?;
        }
        crate::lang::kallsyms::heapsort_by_key(&mut all, |e| (e.0, e.1));
        for (_, i, rec) in all.iter() {
            let n = match self.probes.get(*i) {
                Some(p) => p.full_name(),
                None => self.uprobes.full_name(*i - nk).unwrap_or_default(),
            };
            write_returns(w, n.as_str(), core::slice::from_ref(rec))?;
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
            let mut pcs = [0usize; STACK_DEPTH];
            let n = r.last_stack(&mut pcs);
            for &pc in &pcs[..n] {
                w.write_str(" => ")?;
                ksym::write_sym(w, pc)?;
                w.write_char('\n')?;
            }
        }
        Ok(())
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

    /// `instances`: return instances in flight, reclaimed, reserved.
    pub(crate) fn show_instances(&mut self, w: &mut impl Write) -> core::fmt::Result {
        self.sweep();
        writeln!(w, "in_flight {}", retprobes::in_flight_total())?;
        writeln!(w, "reclaimed {}", retprobes::reclaimed_total())?;
        writeln!(w, "reserved {}", self.ranges.count())?;
        writeln!(w, "capacity {NSTUBS}")?;
        writeln!(w, "parked_probes {}", self.parked())?;
        // User return probes: frames in the probed processes' XOL areas.
        writeln!(w, "user_in_flight {}", self.uprobes.returns_in_flight())
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
        writeln!(w, "bytes_per_probe {}", bytes.checked_div(n).unwrap_or(0))?;
        // What the last open of `trace` held at once (its copy of the
        // buffer and its text).
        writeln!(w, "trace_open_bytes {}", crate::events::ring::trace_bytes())?;
        writeln!(w, "buffer_bytes {}", crate::events::ring::buffer_bytes())
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

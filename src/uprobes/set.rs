// SPDX-License-Identifier: GPL-2.0

//! The registry's part of user probes ([`UProbes`]): every user probe and
//! probed address space, adding (resolve the point in the live process,
//! judge the instruction, write the breakpoint), removing, reaping dead
//! address spaces, and the views.
//!
//! Context: everything here runs under the registry mutex (sleepable;
//! `mmap_lock` inside, for the memory of the probed processes). An object
//! leaves the lock-free tables before it is freed, with an RCU grace
//! period in between.

use super::mm::{restore, UMm};
use super::probe::UProbe;
use super::symbol;
use super::table::{hash_mm, hash_point, MMS, NMMS, POINTS};
use super::trap::SignalHook;
use super::xol;
use super::{emulate::step_fixups, ENABLED, INT3, LIMIT_PROBES, LIMIT_PROCS};
use crate::events::eval::Args;
use crate::events::filter::Filter;
use crate::insn::{self, Verdict, MAX_INSN_LEN};
use crate::lang::error::{ErrorKind, ParseError, UprobeLimit};
use crate::lang::line::{write_target, Target};
use crate::lang::upoint::UTarget;
use crate::probe::{CmdError, Name, Named, TargetText};
use crate::sys::percpu::PerCpu;
use crate::sys::task;
use crate::sys::user::{self, vma};
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, Ordering::Relaxed};
use kernel::mm::Mm;
use kernel::prelude::*;
use kernel::sync::{aref::ARef, Arc};

/// All user probes and probed address spaces (inside the registry, under
/// its mutex).
pub(crate) struct UProbes {
    probes: KVec<KBox<UProbe>>,
    mms: KVec<Arc<UMm>>,
    /// Polls of the reaper for address spaces that are dying.
    reap_budget: u32,
    /// The signal hook (registered with the first probed address space).
    signal: Option<Pin<KBox<SignalHook>>>,
}

/// A user probe to add, as the registry resolved its names.
pub(crate) struct NewUProbe<'a> {
    pub(crate) id: u32,
    pub(crate) group: Name,
    pub(crate) event: Name,
    pub(crate) target: UTarget<'a>,
    pub(crate) target_pos: usize,
    pub(crate) args: Option<KBox<Args>>,
}

fn cmd_err(kind: ErrorKind, pos: usize) -> CmdError {
    ParseError::new(kind, pos).into()
}

impl UProbes {
    pub(crate) fn new() -> Self {
        Self {
            probes: KVec::new(),
            mms: KVec::new(),
            reap_budget: 0,
            signal: None,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.probes.len()
    }

    pub(crate) fn find(&self, group: Option<&str>, event: &str) -> Option<&UProbe> {
        self.probes
            .iter()
            .find(|p| p.is(group, event))
            .map(|p| &**p)
    }

    /// The `(group, event)` of every user probe.
    pub(crate) fn names(&self) -> impl Iterator<Item = (&Name, &Name)> {
        self.probes.iter().map(|p| p.names())
    }

    pub(crate) fn by_id(&self, id: u32) -> Option<&UProbe> {
        self.probes.iter().find(|p| p.id == id).map(|p| &**p)
    }

    pub(crate) fn set_enabled(on: bool) {
        ENABLED.store(on, Relaxed);
    }

    pub(crate) fn set_armed(&self, group: Option<&str>, event: &str, on: bool) -> bool {
        match self.find(group, event) {
            Some(p) => {
                p.armed.store(on, Relaxed);
                true
            }
            None => false,
        }
    }

    /// Adds a user probe: resolves the point in the live process, judges
    /// the instruction, writes the breakpoint. A failure leaves nothing
    /// behind, not even the state of a process it had to make.
    pub(crate) fn add(&mut self, n: NewUProbe<'_>) -> Result<(), CmdError> {
        let mut fresh = None;
        let r = self.add_inner(n, &mut fresh);
        if let (Err(_), Some(umm)) = (&r, fresh) {
            self.forget_mm(umm);
        }
        r
    }

    /// Drops the state of an address space that has no probe (made by a
    /// failed [`Self::add`]).
    fn forget_mm(&mut self, umm: Arc<UMm>) {
        MMS.remove(hash_mm(umm.key()), Arc::as_ptr(&umm));
        // A trap in that address space may be looking at it.
        kernel::sync::rcu::synchronize_rcu();
        if let Some(i) = self.mms.iter().position(|u| Arc::ptr_eq(u, &umm)) {
            let _ = self.mms.remove(i);
            NMMS.fetch_sub(1, Relaxed);
        }
    }

    /// [`Self::add`]; `fresh` is set to the state of the address space if
    /// this call made it.
    fn add_inner(
        &mut self,
        n: NewUProbe<'_>,
        fresh: &mut Option<Arc<UMm>>,
    ) -> Result<(), CmdError> {
        use ErrorKind::*;
        let pos = n.target_pos;
        if self.probes.len() >= LIMIT_PROBES.load(Relaxed) {
            return Err(cmd_err(UprobeTooMany(UprobeLimit::All), pos));
        }
        // A symbol becomes its file offset; the reader's errors are
        // positioned in the probe point.
        let symbol::Point {
            pid,
            path,
            addr,
            symbol: by_symbol,
        } = symbol::resolve(&n.target).map_err(|e| ParseError {
            pos: pos + e.pos,
            ..e
        })?;
        let pt = match user::resolve(pid, path, addr, true) {
            Ok(pt) => pt,
            Err(e) => {
                let kind = if e == ESRCH {
                    NoSuchProcess
                } else if e == ENOENT {
                    FileNotMapped
                } else if e == ENOMEM {
                    NoMemory
                } else if e == EINVAL {
                    NoUserMemory
                } else if e == EPERM {
                    UprobeNoAccess
                } else {
                    UprobeNotMapped
                };
                return Err(cmd_err(kind, pos));
            }
        };
        let Some(mm_ref) = pt.mm else {
            return Err(cmd_err(NoMemory, pos));
        };
        let mm = mm_ref.as_raw() as usize;
        let f = pt.vm_flags;
        let vaddr = pt.vaddr;
        let check = if self.probes.iter().any(|p| p.mm == mm && p.vaddr == vaddr) {
            Err(UprobeExists)
        } else if f & vma::EXEC == 0 {
            Err(UprobeNotExec)
        } else if f & (vma::SHARED | vma::SPECIAL) != 0 {
            Err(UprobeShared)
        } else {
            Ok(())
        };
        let bytes = &pt.bytes[..pt.len.min(MAX_INSN_LEN)];
        let decoded = check.and_then(|()| match insn::decode(bytes) {
            Err(r) => Err(UprobeInsn(r)),
            Ok(i) => match i.verdict() {
                Verdict::Refuse(r) => Err(UprobeInsn(r)),
                _ => Ok(i),
            },
        });
        let decoded = decoded.map_err(|kind| cmd_err(kind, pos))?;
        let umm = match self.mms.iter().find(|u| u.key() == mm) {
            // It holds its own reference already: `mm_ref` drops.
            Some(u) => u.clone(),
            None => {
                let u = self.new_mm(mm_ref, pt.tgid, pos)?;
                *fresh = Some(u.clone());
                u
            }
        };
        let len = decoded.len() as u8;
        let verdict = decoded.verdict();
        let mut step = [0u8; MAX_INSN_LEN];
        step[..usize::from(len)].copy_from_slice(&bytes[..usize::from(len)]);
        let mut scratch = None;
        if let Verdict::StepRipFixup { .. } = verdict {
            let Some(f) = decoded.fixup_rip_scratch(vaddr) else {
                return Err(cmd_err(UprobeInsn(insn::Reason::RipUnfixable), pos));
            };
            step[..usize::from(len)].copy_from_slice(f.insn.as_bytes());
            scratch = Some((f.reg.number(), f.value));
        }
        let mut target = TargetText::new();
        let _ = write_target(&mut target, &Target::User(n.target));
        let oom = || cmd_err(NoMemory, 0);
        let probe = KBox::new(
            UProbe {
                id: n.id,
                group: n.group,
                event: n.event,
                target,
                file_offset: by_symbol.then_some(addr),
                umm: umm.clone(),
                mm,
                vaddr,
                orig: bytes[0],
                len,
                verdict,
                fixups: step_fixups(verdict),
                step,
                scratch,
                rep: decoded.is_rep_string(),
                stats: PerCpu::new().map_err(|_| oom())?,
                armed: AtomicBool::new(true),
                args: n.args,
                filter: Default::default(),
            },
            GFP_KERNEL,
        )
        .map_err(|_| oom())?;
        self.probes.reserve(1, GFP_KERNEL).map_err(|_| oom())?;
        umm.add_point(vaddr, bytes[0])
            .map_err(|_| cmd_err(UprobeTooMany(UprobeLimit::Process), pos))?;
        let ptr: *const UProbe = &*probe;
        if POINTS.insert(hash_point(mm, vaddr), ptr).is_err() {
            // Cannot happen: the table has room for twice the probes.
            umm.remove_point(vaddr);
            return Err(cmd_err(UprobeTooMany(UprobeLimit::All), pos));
        }
        // The table names the probe before the int3 exists.
        let mut b = [INT3];
        if let Err(e) = user::rw(umm.mm(), vaddr, &mut b, true) {
            POINTS.remove(hash_point(mm, vaddr), ptr);
            kernel::sync::rcu::synchronize_rcu();
            // `probe` drops here (removing its point).
            let kind = if e == ENOMEM { NoMemory } else { UprobeWrite };
            return Err(cmd_err(kind, pos));
        }
        // Cannot fail: reserved.
        let _ = self.probes.push(probe, GFP_KERNEL);
        Ok(())
    }

    /// A new probed address space (for a probe point at `pos` of its
    /// line).
    fn new_mm(&mut self, mm: ARef<Mm>, tgid: i32, pos: usize) -> Result<Arc<UMm>, CmdError> {
        let oom = || cmd_err(ErrorKind::NoMemory, 0);
        let too_many = || cmd_err(ErrorKind::UprobeTooMany(UprobeLimit::Processes), pos);
        // Address spaces that died count until they are reaped.
        if self.mms.len() >= LIMIT_PROCS.load(Relaxed) {
            self.reap();
            if self.mms.len() >= LIMIT_PROCS.load(Relaxed) {
                return Err(too_many());
            }
        }
        // Signals abort steps that have not run (see `trap::SignalHook`):
        // hooked with the first user probe, so that signal delivery costs
        // nothing extra until then.
        if self.signal.is_none() {
            let hook =
                SignalHook::new().map_err(|e| CmdError::kernel(ErrorKind::FailRegProbe, 0, e))?;
            self.signal = Some(hook);
        }
        let key = mm.as_raw() as usize;
        let umm =
            Arc::new(UMm::new(mm, tgid).map_err(|_| oom())?, GFP_KERNEL).map_err(|_| oom())?;
        self.mms.reserve(1, GFP_KERNEL).map_err(|_| oom())?;
        // Cannot fail: the table has room for the most address spaces.
        MMS.insert(hash_mm(key), Arc::as_ptr(&umm))
            .map_err(|_| too_many())?;
        NMMS.fetch_add(1, Relaxed);
        let _ = self.mms.push(umm.clone(), GFP_KERNEL);
        Ok(umm)
    }

    /// Removes probe `[GRP/]EVENT`; false if there is none.
    pub(crate) fn remove(&mut self, group: Option<&str>, event: &str) -> bool {
        let Some(i) = self.probes.iter().position(|p| p.is(group, event)) else {
            return false;
        };
        let Ok(p) = self.probes.remove(i) else {
            return false;
        };
        // Original byte first: a task that trapped on the int3 meanwhile
        // finds no probe and the original instruction, and runs it.
        restore(p.umm.mm(), p.vaddr, p.orig);
        POINTS.remove(hash_point(p.mm, p.vaddr), &*p);
        kernel::sync::rcu::synchronize_rcu();
        drop(p);
        true
    }

    /// The probe point text of `[GRP/]EVENT`.
    pub(crate) fn target_of(&self, group: Option<&str>, event: &str) -> Option<&str> {
        self.find(group, event).map(|p| p.target.as_str())
    }

    /// Removes every probe (address spaces stay known, with their areas).
    pub(crate) fn clear(&mut self) {
        if self.probes.is_empty() {
            return;
        }
        for p in self.probes.iter() {
            restore(p.umm.mm(), p.vaddr, p.orig);
            POINTS.remove(hash_point(p.mm, p.vaddr), &**p);
        }
        kernel::sync::rcu::synchronize_rcu();
        self.probes.clear();
    }

    /// Forgets every address space too (module exit, after `clear`).
    pub(crate) fn shutdown(&mut self) {
        self.clear();
        for u in self.mms.iter() {
            MMS.remove(hash_mm(u.key()), Arc::as_ptr(u));
        }
        kernel::sync::rcu::synchronize_rcu();
        NMMS.store(0, Relaxed);
        self.mms.clear();
        // Unregistering waits for a running hook.
        self.signal = None;
    }

    /// Frees the probes and state of address spaces that died (exit, exec).
    /// Returns whether some seem about to die (poll again).
    pub(crate) fn reap(&mut self) -> bool {
        // Decide once which are dead: an address space dying meanwhile must
        // not have its probes freed while they are still in the table.
        let mut any = false;
        for u in self.mms.iter() {
            if !u.alive() {
                u.reaping.store(true, Relaxed);
                any = true;
            }
        }
        let dead = |u: &UMm| u.reaping.load(Relaxed);
        if any {
            for p in self.probes.iter().filter(|p| dead(&p.umm)) {
                POINTS.remove(hash_point(p.mm, p.vaddr), &**p);
            }
            for u in self.mms.iter().filter(|u| dead(u)) {
                MMS.remove(hash_mm(u.key()), Arc::as_ptr(u));
            }
            kernel::sync::rcu::synchronize_rcu();
            let mut i = 0;
            while i < self.probes.len() {
                if dead(&self.probes[i].umm) {
                    let _ = self.probes.remove(i);
                } else {
                    i += 1;
                }
            }
            let mut i = 0;
            while i < self.mms.len() {
                if dead(&self.mms[i]) {
                    let _ = self.mms.remove(i);
                    NMMS.fetch_sub(1, Relaxed);
                } else {
                    i += 1;
                }
            }
            self.reap_budget = 100;
        }
        // An address space whose process is gone (or exec'd) but that
        // still has users is about to die: poll a while for it.
        let dying = self
            .mms
            .iter()
            .any(|u| !task::pid_uses_mm(u.tgid, u.mm().as_raw()));
        if dying && self.reap_budget > 0 {
            self.reap_budget -= 1;
            return true;
        }
        false
    }

    /// `probes` lines.
    pub(crate) fn show_probes(&self, w: &mut impl Write) -> core::fmt::Result {
        for p in self.probes.iter() {
            w.write_str("p:")?;
            p.write_name(w)?;
            write!(w, " {}", p.target.as_str())?;
            if let Some(args) = p.args() {
                args.write_line(w)?;
            }
            w.write_char('\n')?;
        }
        Ok(())
    }

    /// `profile` rows.
    pub(crate) fn show_profile(&self, w: &mut impl Write) -> core::fmt::Result {
        for p in self.probes.iter() {
            let n = p.full_name();
            writeln!(
                w,
                "  {:<44} {:>15} {:>15} {:>15} {:>15} {:>10}",
                n.as_str(),
                p.hits(),
                0,
                "-",
                "-",
                "-"
            )?;
        }
        Ok(())
    }

    /// `list` rows.
    pub(crate) fn show_list(&self, w: &mut impl Write, enabled: bool) -> core::fmt::Result {
        for p in self.probes.iter() {
            write!(w, "{:#x} ", p.vaddr)?;
            p.write_name(w)?;
            let on = enabled && p.armed.load(Relaxed);
            w.write_char(' ')?;
            p.write_resolved(w)?;
            writeln!(
                w,
                " [{}]{}",
                p.verdict.name(),
                if on { "" } else { " [DISABLED]" }
            )?;
        }
        Ok(())
    }

    /// The filter of probe `[GRP/]EVENT`.
    pub(crate) fn filter(&self, group: Option<&str>, event: &str) -> Option<&Filter> {
        self.find(group, event).map(|p| &p.filter)
    }

    /// `filter` rows.
    pub(crate) fn show_filters(&self, w: &mut impl Write) -> core::fmt::Result {
        for p in self.probes.iter() {
            p.write_name(w)?;
            w.write_char(' ')?;
            p.filter.show(w)?;
            w.write_char('\n')?;
        }
        Ok(())
    }

    /// `armed` rows.
    pub(crate) fn show_armed(&self, w: &mut impl Write) -> core::fmt::Result {
        for p in self.probes.iter() {
            p.write_name(w)?;
            writeln!(w, " {}", u8::from(p.armed.load(Relaxed)))?;
        }
        Ok(())
    }

    /// `xol`: one line per probed address space.
    pub(crate) fn show_xol(&mut self, w: &mut impl Write) -> core::fmt::Result {
        self.reap();
        for u in self.mms.iter() {
            u.show(w)?;
        }
        Ok(())
    }

    /// Bytes the user probes hold.
    pub(crate) fn footprint(&self) -> usize {
        self.probes.len() * core::mem::size_of::<UProbe>()
            + self.mms.len()
                * (core::mem::size_of::<UMm>() + xol::NSLOTS * 40 + xol::XOL_PAGES * 4096)
    }
}

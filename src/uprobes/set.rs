// SPDX-License-Identifier: GPL-2.0

//! The registry's part of user probes ([`UProbes`]): every user probe and
//! probed address space, adding (resolve the point in the live process, or
//! the file of a path probe, judge the instruction, write the breakpoints),
//! putting path probes into address spaces that map their file later,
//! removing, reaping dead address spaces, and the views.
//!
//! Context: everything here runs under the registry mutex (sleepable;
//! `mmap_lock` inside, for the memory of the probed processes). An object
//! leaves the lock-free tables before it is freed, with an RCU grace
//! period in between.

use super::guard::{Guard, Guards};
use super::mm::{restore, Maps, UMm};
use super::path::{self, MapHook};
use super::probe::{Kind, UInst, UProbe};
use super::symbol;
use super::table::{hash_mm, hash_point, Hashed, MMS, NMMS, PATHS, POINTS};
use super::trap::SignalHook;
use super::xol;
use super::{emulate::step_fixups, ENABLED, INT3, LIMIT_PROBES, LIMIT_PROCS};
use crate::events::eval::Args;
use crate::events::tevent::{self, TEvent, TEvents};
use crate::insn::{self, Verdict, MAX_INSN_LEN};
use crate::lang::elf::ReadAt;
use crate::lang::error::{ErrorKind, ParseError, UprobeLimit};
use crate::lang::line::{write_target, Target};
use crate::lang::upoint::UTarget;
use crate::probe::{name, CmdError, FullName, Name, Named, TargetText};
use crate::retprobes::{handler::Return, hist};
use crate::sys::bindings;
use crate::sys::percpu::PerCpu;
use crate::sys::task;
use crate::sys::user::{self, vma, FileVma};
use core::fmt::Write;
use core::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU64,
    Ordering::{Acquire, Relaxed, Release},
};
use kernel::mm::Mm;
use kernel::prelude::*;
use kernel::sync::{aref::ARef, Arc};

/// The processes that map one file, and their mappings of it (see
/// [`UProbes::mappers`]).
struct Mappers {
    /// [`path::GEN`] when it was made.
    gen: u64,
    /// The file (its inode's key).
    inode: usize,
    list: KVVec<(ARef<Mm>, i32, KVec<FileVma>)>,
}

impl Mappers {
    /// Every process alive that maps `ino` (the process walk). Sleeps.
    fn of(ino: *mut kernel::ffi::c_void, gen: u64) -> Result<Self> {
        let mut list = KVVec::new();
        for m in user::all_mms()?.into_iter() {
            match user::file_vmas(&m.mm, ino) {
                Ok(v) if !v.is_empty() => list.push((m.mm, m.tgid, v), GFP_KERNEL)?,
                Ok(_) => {}
                Err(e) if e == ENOMEM => return Err(e),
                // No users left, or a fatal signal: nothing to do.
                Err(_) => {}
            }
        }
        Ok(Self {
            gen,
            inode: ino as usize,
            list,
        })
    }
}

/// All user probes and probed address spaces (inside the registry, under
/// its mutex).
pub(crate) struct UProbes {
    /// The user's probes, and the unwinder guards (hidden from the views).
    probes: KVec<KBox<UProbe>>,
    /// The unwinder guards' state ([`super::guard`]).
    pub(super) guards: Guards,
    mms: KVec<Arc<UMm>>,
    /// Polls of the reaper for address spaces that are dying.
    reap_budget: u32,
    /// The signal hook (registered with the first probed address space).
    signal: Option<Pin<KBox<SignalHook>>>,
    /// The mmap hook (registered with the first path probe).
    map_hook: Option<Pin<KBox<MapHook>>>,
    /// Instances out of the table, to free after a grace period.
    dead: KVec<KBox<UInst>>,
    /// Lists of mappings replaced, to free after a grace period.
    dead_maps: KVec<KBox<Maps>>,
    /// Mappings of probed files that got no breakpoint (the byte there
    /// was not the file's, no memory, too many processes).
    pub(super) skipped: u64,
    /// Where a path probe's breakpoint could not be written: (address
    /// space, address, probe id); `list`'s `[in N]` does not count them.
    skips: KVec<(usize, u64, u32)>,
    /// The processes that map the file of the last path probe added, and
    /// where: the next probe on the same file, while nothing mapped a
    /// probed file or forked meanwhile ([`path::GEN`]), goes into the same
    /// mappings without looking at every process again (a write of 1000
    /// lines on one library walks the processes once).
    mappers: Option<Mappers>,
    /// The `PID:` probes' breakpoints ever written, per address space
    /// (its key, `vaddr << 8 | original byte`): what a fork child's copy
    /// may have (the probe may be gone since the fork). Dropped when the
    /// address space is reaped.
    pid_bps: KVec<(usize, u64)>,
    /// The trace events of user events (`trace_events=1`).
    tevents: TEvents,
}

/// A user probe to add, as the registry resolved its names.
pub(crate) struct NewUProbe<'a> {
    pub(crate) id: u32,
    pub(crate) group: Name,
    pub(crate) event: Name,
    pub(crate) target: UTarget<'a>,
    pub(crate) target_pos: usize,
    pub(crate) args: Option<KBox<Args>>,
    /// A return probe.
    pub(crate) ret: bool,
    /// An unwinder guard's ([`super::guard`]); `None` for a user's probe.
    pub(crate) guard: Option<Guard>,
}

fn cmd_err(kind: ErrorKind, pos: usize) -> CmdError {
    ParseError::new(kind, pos).into()
}

impl UProbes {
    pub(crate) fn new() -> Self {
        Self {
            probes: KVec::new(),
            guards: Guards::default(),
            mms: KVec::new(),
            reap_budget: 0,
            signal: None,
            map_hook: None,
            dead: KVec::new(),
            dead_maps: KVec::new(),
            skipped: 0,
            skips: KVec::new(),
            mappers: None,
            pid_bps: KVec::new(),
            tevents: TEvents::new(),
        }
    }

    /// Before the probes at `idx` are removed: the trace events of the
    /// events that lose all their probes go ([`TEvents::release`]).
    fn release_tevents(&mut self, idx: &[usize]) -> Result {
        let probes = &self.probes;
        let losing = |g: &str, e: &str| {
            let mut of_event = probes
                .iter()
                .enumerate()
                .filter(|(_, p)| p.guard.is_none() && p.is(Some(g), e));
            of_event.clone().any(|(j, _)| idx.contains(&j))
                && of_event.all(|(j, _)| idx.contains(&j))
        };
        let point = |g: &str, e: &str, ptr| {
            for p in probes
                .iter()
                .filter(|p| p.guard.is_none() && p.is(Some(g), e))
            {
                p.tevent.store(ptr, Release);
            }
        };
        self.tevents.release(losing, point, grace_period)
    }

    /// The user's probes (not the guards).
    pub(crate) fn len(&self) -> usize {
        self.visible().count()
    }

    /// The user's probes, the unwinder guards aside.
    fn visible(&self) -> impl Iterator<Item = &KBox<UProbe>> {
        self.probes.iter().filter(|p| p.guard.is_none())
    }

    /// Every probe, the guards included, in the registry's order.
    pub(super) fn all(&self) -> impl Iterator<Item = &KBox<UProbe>> {
        self.probes.iter()
    }

    pub(crate) fn find(&self, group: Option<&str>, event: &str) -> Option<&UProbe> {
        let h = ev_hash(event);
        self.probes
            .iter()
            .find(|p| p.ev_hash == h && p.is(group, event))
            .map(|p| &**p)
    }

    /// The `(group, event)` of every user probe.
    pub(crate) fn names(&self) -> impl Iterator<Item = (&Name, &Name)> {
        self.visible().map(|p| p.names())
    }

    pub(crate) fn by_id(&self, id: u32) -> Option<&UProbe> {
        self.probes.iter().find(|p| p.id == id).map(|p| &**p)
    }

    pub(crate) fn set_enabled(on: bool) {
        ENABLED.store(on, Relaxed);
    }

    /// The probes of user event `[GRP/]EVENT`, in the order they were
    /// added.
    pub(crate) fn siblings<'a>(
        &'a self,
        group: Option<&'a str>,
        event: &'a str,
    ) -> impl Iterator<Item = &'a UProbe> + 'a {
        // The event name's hash first: a write of thousands of lines looks
        // names up for each, over every probe.
        let h = ev_hash(event);
        self.probes
            .iter()
            .filter(move |p| p.ev_hash == h && p.is(group, event))
            .map(|p| &**p)
    }

    /// Arms or disarms every probe of the event; false if there is none.
    pub(crate) fn set_armed(&self, group: Option<&str>, event: &str, on: bool) -> bool {
        let mut any = false;
        for p in self.siblings(group, event) {
            p.armed.store(on, Relaxed);
            any = true;
        }
        any
    }

    /// Sets the filter of every probe of the event (the others take the
    /// first one's, also when `filter` is refused); `None` if there is no
    /// such event.
    pub(crate) fn set_filter(
        &self,
        group: Option<&str>,
        event: &str,
        filter: &str,
    ) -> Option<Result> {
        let mut sibs = self.siblings(group, event);
        let first = sibs.next()?;
        let res = first.filter.set(filter);
        let mut now = crate::lang::lex::FixedBuf::<32>::new();
        let _ = first.filter.show(&mut now);
        for q in sibs {
            let _ = q.filter.set(now.as_str());
        }
        Some(res)
    }

    /// The last probe added to the event takes the event's settings
    /// (armed, filter) from its first probe.
    pub(crate) fn inherit(&self, group: Option<&str>, event: &str) {
        let (Some(first), Some(last)) = (
            self.siblings(group, event).next(),
            self.siblings(group, event).last(),
        ) else {
            return;
        };
        last.armed.store(first.armed.load(Relaxed), Relaxed);
        let mut now = crate::lang::lex::FixedBuf::<32>::new();
        let _ = first.filter.show(&mut now);
        let _ = last.filter.set(now.as_str());
    }

    /// Adds a user probe: a `PID:` one (resolves the point in the live
    /// process, judges the instruction, writes the breakpoint) or a path
    /// probe ([`Self::add_path`]). A failure leaves nothing behind, not
    /// even the state of a process it had to make.
    pub(crate) fn add(&mut self, n: NewUProbe<'_>) -> Result<(), CmdError> {
        if self.len() >= LIMIT_PROBES.load(Relaxed) {
            return Err(cmd_err(
                ErrorKind::UprobeTooMany(UprobeLimit::All),
                n.target_pos,
            ));
        }
        let ret = n.ret;
        let own = match n.target {
            UTarget::File { path, .. } | UTarget::Symbol { path, .. } => Some(path),
            UTarget::Addr { .. } => None,
        };
        // The event's trace event (`trace_events=1`): the one of the event
        // it joins, or a new one, registered before the probe so that a
        // refused name leaves nothing behind.
        let group = name(n.group.as_str());
        let event = name(n.event.as_str());
        let mut tev = core::ptr::null_mut();
        let mut new_tev = None;
        if tevent::enabled() {
            match self.tevents.of(group.as_str(), event.as_str()) {
                Some(t) => tev = t.as_ptr(),
                None => {
                    let t =
                        TEvent::add(group.as_str(), event.as_str(), ret, true, n.args.as_deref())
                            .map_err(tevent::add_error)?;
                    tev = t.as_ptr();
                    new_tev = Some(t);
                }
            }
        }
        let r = self.add_user(n);
        match (&r, new_tev) {
            (Ok(()), Some(t)) => self.tevents.keep(group.as_str(), event.as_str(), t),
            (Err(_), Some(t)) => {
                if let Err((t, _)) = t.remove() {
                    self.tevents.keep(group.as_str(), event.as_str(), t);
                }
                tev = core::ptr::null_mut();
            }
            _ => {}
        }
        if r.is_ok() && !tev.is_null() {
            self.point_tevent_last(tev);
        }
        if r.is_ok() && ret {
            self.ensure_guards(own);
        }
        r
    }

    /// Points the probe added last at trace event `ev`.
    fn point_tevent_last(&self, ev: *mut bindings::rprobes_tevent) {
        if let Some(p) = self.probes.iter().rev().find(|p| p.guard.is_none()) {
            p.tevent.store(ev, Release);
        }
    }

    /// An unwinder guard ([`super::guard`]): a path probe, out of the
    /// user's limit.
    pub(super) fn add_guard(&mut self, n: NewUProbe<'_>) -> Result<(), CmdError> {
        self.add_path(n)
    }

    /// [`Self::add`] of the user's probe `n`.
    fn add_user(&mut self, n: NewUProbe<'_>) -> Result<(), CmdError> {
        if n.target.pid().is_none() {
            return self.add_path(n);
        }
        if let UTarget::File {
            ref_ctr: Some(_), ..
        } = n.target
        {
            return Err(cmd_err(ErrorKind::RefCtrNeedsPath, n.target_pos));
        }
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
        grace_period();
        if let Some(i) = self.mms.iter().position(|u| Arc::ptr_eq(u, &umm)) {
            let _ = self.mms.remove(i);
            NMMS.fetch_sub(1, Relaxed);
        }
    }

    /// The instance at `vaddr` of address space `mm` (registry mutex held).
    fn inst_at(&self, mm: usize, vaddr: u64) -> Option<&UInst> {
        // SAFETY: The registry mutex is held: no instance is freed.
        unsafe {
            POINTS.find(hash_point(mm, vaddr), |i| {
                i.umm.key() == mm && i.vaddr == vaddr
            })
        }
    }

    /// Whether a path probe's breakpoint is at `vaddr` of address space
    /// `mm` (registry mutex held).
    fn path_probe_at(&self, mm: usize, vaddr: u64) -> bool {
        let Some(u) = self.mms.iter().find(|u| u.key() == mm) else {
            return false;
        };
        u.file_point(vaddr)
            .is_some_and(|(f, o)| self.probes.iter().any(|p| p.is_at(f, o)))
    }

    /// The probe as judged from its instruction's `bytes` (at `vaddr` for a
    /// `PID:` probe, 0 for a path probe: then the scratch value of a
    /// `%rip`-relative step is relative to the address of each hit).
    #[allow(clippy::too_many_arguments)]
    fn new_probe(
        n: NewUProbe<'_>,
        kind: Kind,
        bytes: &[u8],
        vaddr: u64,
        file_offset: Option<u64>,
        pos: usize,
    ) -> Result<KBox<UProbe>, CmdError> {
        use ErrorKind::*;
        let decoded = match insn::decode(bytes) {
            Err(r) => Err(UprobeInsn(r)),
            Ok(i) => match i.verdict() {
                Verdict::Refuse(r) => Err(UprobeInsn(r)),
                _ => Ok(i),
            },
        };
        let decoded = decoded.map_err(|kind| cmd_err(kind, pos))?;
        let len = decoded.len() as u8;
        let verdict = decoded.verdict();
        let mut step = [0u8; MAX_INSN_LEN];
        step[..usize::from(len)].copy_from_slice(&bytes[..usize::from(len)]);
        let mut scratch = None;
        // A `%rip`-relative instruction that is emulated keeps its step's
        // rewrite too: it is stepped when the task steps itself or an
        // access would fault.
        if let Verdict::StepRipFixup { .. } = decoded.step_verdict() {
            let Some(f) = decoded.fixup_rip_scratch(vaddr) else {
                return Err(cmd_err(UprobeInsn(insn::Reason::RipUnfixable), pos));
            };
            step[..usize::from(len)].copy_from_slice(f.insn.as_bytes());
            let wrap32 = decoded.prefixes.has(crate::insn::Prefixes::ADSIZE);
            scratch = Some((f.reg.number(), f.value.wrapping_sub(vaddr), wrap32));
        }
        let eh = ev_hash(n.event.as_str());
        let mut text = TargetText::new();
        let _ = write_target(&mut text, &Target::User(n.target));
        let oom = || cmd_err(NoMemory, 0);
        let mut target = KVec::with_capacity(text.as_str().len(), GFP_KERNEL).map_err(|_| oom())?;
        // Cannot fail: reserved.
        let _ = target.extend_from_slice(text.as_str().as_bytes(), GFP_KERNEL);
        KBox::new(
            UProbe {
                id: n.id,
                group: n.group,
                event: n.event,
                target,
                file_offset,
                ref_ctr: match n.target {
                    UTarget::File { ref_ctr, .. } => ref_ctr,
                    _ => None,
                },
                kind,
                insts: KVec::new(),
                sems: KVec::new(),
                orig: bytes[0],
                len,
                verdict,
                fixups: step_fixups(verdict),
                guard: n.guard,
                step,
                scratch,
                rep: decoded.is_rep_string(),
                stats: PerCpu::new().map_err(|_| oom())?,
                armed: AtomicBool::new(true),
                args: n.args,
                filter: Default::default(),
                ret: n.ret,
                ev_hash: eh,
                rstats: match n.ret {
                    true => Some(PerCpu::new().map_err(|_| oom())?),
                    false => None,
                },
                miss_depth: AtomicU64::new(0),
                miss_other: AtomicU64::new(0),
                tevent: AtomicPtr::new(core::ptr::null_mut()),
            },
            GFP_KERNEL,
        )
        .map_err(|_| oom())
    }

    /// [`Self::add`] of a `PID:` probe; `fresh` is set to the state of the
    /// address space if this call made it.
    fn add_inner(
        &mut self,
        n: NewUProbe<'_>,
        fresh: &mut Option<Arc<UMm>>,
    ) -> Result<(), CmdError> {
        use ErrorKind::*;
        let pos = n.target_pos;
        // A symbol becomes its file offset; the reader's errors are
        // positioned in the probe point.
        let symbol::Point { pid, path, addr } =
            symbol::resolve(&n.target).map_err(|e| ParseError {
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
                } else if e == EAGAIN {
                    UprobeBusy
                } else if e == ENOEXEC {
                    UprobeCompat
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
        let check = if self.inst_at(mm, vaddr).is_some() || self.path_probe_at(mm, vaddr) {
            Err(UprobeExists)
        } else if f & vma::EXEC == 0 {
            Err(UprobeNotExec)
        } else if f & (vma::SHARED | vma::SPECIAL) != 0 {
            Err(UprobeShared)
        } else {
            Ok(())
        };
        check.map_err(|kind| cmd_err(kind, pos))?;
        let bytes = &pt.bytes[..pt.len.min(MAX_INSN_LEN)];
        let umm = match self.mms.iter().find(|u| u.key() == mm) {
            // It holds its own reference already: `mm_ref` drops.
            Some(u) => u.clone(),
            None => {
                let u = self.new_mm(mm_ref, pt.tgid, pos)?;
                *fresh = Some(u.clone());
                u
            }
        };
        let kind = Kind::Pid { vaddr };
        let mut probe =
            Self::new_probe(n, kind, bytes, vaddr, path.is_some().then_some(addr), pos)?;
        let oom = || cmd_err(NoMemory, 0);
        self.probes.reserve(1, GFP_KERNEL).map_err(|_| oom())?;
        probe.insts.reserve(1, GFP_KERNEL).map_err(|_| oom())?;
        let bp = (mm, vaddr << 8 | u64::from(probe.orig));
        let new_bp = !self.pid_bps.contains(&bp);
        if new_bp {
            self.pid_bps.reserve(1, GFP_KERNEL).map_err(|_| oom())?;
        }
        let inst = KBox::new(
            UInst {
                point: &*probe,
                umm: umm.clone(),
                vaddr,
            },
            GFP_KERNEL,
        )
        .map_err(|_| oom())?;
        let ptr: *const UInst = &*inst;
        if POINTS.insert(inst.hash(), ptr).is_err() {
            return Err(oom());
        }
        // Before the int3 exists: a fork from now on removes it in the
        // child.
        if new_bp {
            // Cannot fail: reserved.
            let _ = self.pid_bps.push(bp, GFP_KERNEL);
        }
        umm.pid_points.store(true, Relaxed);
        // The table names the probe before the int3 exists.
        if let Err(e) = user::poke_wait(umm.mm(), vaddr, core::ptr::null_mut(), probe.orig, INT3) {
            POINTS.remove(inst.hash(), ptr);
            grace_period();
            let kind = if e == ENOMEM {
                NoMemory
            } else if e == EAGAIN {
                UprobeBusy
            } else {
                UprobeWrite
            };
            return Err(cmd_err(kind, pos));
        }
        // Cannot fail: reserved.
        let _ = probe.insts.push(inst, GFP_KERNEL);
        let _ = self.probes.push(probe, GFP_KERNEL);
        Ok(())
    }

    /// Adds a path probe (`PATH:0xOFF`, `PATH:SYMBOL[+OFF]`): the file's
    /// instruction judged, then the breakpoint written into every mapping
    /// of the file in every process alive; later ones get it from the
    /// hooks of [`super::path`]. Processes whose byte there differs from
    /// the file's (their own breakpoint, a debugger's, modified text) are
    /// skipped.
    fn add_path(&mut self, n: NewUProbe<'_>) -> Result<(), CmdError> {
        use ErrorKind::*;
        let pos = n.target_pos;
        let (mut file, offset) = symbol::open_path(&n.target).map_err(|e| ParseError {
            pos: pos + e.pos,
            ..e
        })?;
        if offset >= file.size() {
            return Err(cmd_err(UprobePastEof, pos));
        }
        let mut bytes = [0u8; MAX_INSN_LEN];
        let got = file
            .read_at(offset, &mut bytes)
            .map_err(|e| CmdError::from(ParseError::with_errno(ElfRead, pos, e.max(1))))?;
        let inode = file.inode();
        drop(file);
        let key = inode.key();
        // SAFETY: The registry mutex is held: no probe is freed.
        let exists = unsafe { PATHS.find(hash_point(key, offset), |p| p.is_at(key, offset)) };
        if exists.is_some() {
            return Err(cmd_err(UprobeExists, pos));
        }
        let new_file = !self.probes.iter().any(|p| p.inode_key() == Some(key));
        let kind = Kind::Path { inode, offset };
        let probe = Self::new_probe(n, kind, &bytes[..got], 0, Some(offset), pos)?;
        self.probes
            .reserve(1, GFP_KERNEL)
            .map_err(|_| cmd_err(NoMemory, 0))?;
        if self.map_hook.is_none() {
            let hook = MapHook::new().map_err(|_| cmd_err(UprobeNoMapHook, pos))?;
            self.map_hook = Some(hook);
        }
        if new_file {
            path::add_file(key).map_err(|_| cmd_err(UprobeTooMany(UprobeLimit::Files), pos))?;
        }
        // Hits find it from here on (there is no int3 yet).
        if PATHS.insert(probe.hash(), &*probe).is_err() {
            if new_file {
                path::remove_file(key);
            }
            return Err(cmd_err(NoMemory, 0));
        }
        // Cannot fail: reserved. From here on, a new mapping of the file
        // gets the breakpoint from the mmap hook.
        let _ = self.probes.push(probe, GFP_KERNEL);
        path::PATH_PROBES.fetch_add(1, Relaxed);
        let i = self.probes.len() - 1;
        let r = self.install_everywhere(i);
        self.flush_dead();
        if r.is_err() {
            // Out of memory: nothing may stay behind (or, if a breakpoint
            // cannot be taken back, the probe stays, working).
            let _ = self.remove_indexes(&[i]);
            return Err(cmd_err(NoMemory, 0));
        }
        Ok(())
    }

    /// Path probe `i` into every process alive.
    fn install_everywhere(&mut self, i: usize) -> Result {
        let Kind::Path { ref inode, .. } = self.probes[i].kind else {
            return Ok(());
        };
        let (ino, key) = (inode.as_ptr(), inode.key());
        let gen = path::GEN.load(Acquire);
        let cache = match self.mappers.take() {
            Some(c) if c.gen == gen && c.inode == key => c,
            _ => Mappers::of(ino, gen)?,
        };
        let mut r = Ok(());
        for (mm, tgid, vmas) in cache.list.iter() {
            r = self.install_point(i, mm, *tgid, vmas, false);
            if r.is_err() {
                break;
            }
        }
        self.mappers = Some(cache);
        r
    }

    /// Path probe `i` into the mappings `vmas` of its file in `mm`: the
    /// mappings recorded in the address space's state (made if need be),
    /// then the breakpoint written. An `int3` already there is taken as
    /// this probe's (a fork child's copy of its parent's, a mapping moved
    /// by `mremap`, a second mapping), as the kernel's uprobes take it;
    /// with `adopt` (a fork child), the copy's USDT semaphore count too.
    /// Errors: only `ENOMEM`; a mapping that cannot be probed is counted
    /// in [`Self::skipped`] and remembered in [`Self::skips`].
    fn install_point(
        &mut self,
        i: usize,
        mm: &ARef<Mm>,
        tgid: i32,
        vmas: &[FileVma],
        adopt: bool,
    ) -> Result {
        let (offset, ino, file, orig, id) = match &self.probes[i].kind {
            Kind::Path { inode, offset } => (
                *offset,
                inode.as_ptr(),
                inode.key(),
                self.probes[i].orig,
                self.probes[i].id,
            ),
            Kind::Pid { .. } => return Ok(()),
        };
        if !vmas.iter().any(|v| v.vaddr_of(offset).is_some()) {
            return Ok(());
        }
        let key = mm.as_raw() as usize;
        let umm = match self.mms.iter().find(|u| u.key() == key) {
            // A process whose XOL area cannot be made runs unprobed.
            Some(u) if u.xol_failed() => {
                self.skipped += 1;
                return Ok(());
            }
            Some(u) => u.clone(),
            None => match self.new_mm(mm.clone(), tgid, 0) {
                Ok(u) => u,
                Err(_) => {
                    self.skipped += 1;
                    return Ok(());
                }
            },
        };
        // The mappings before the int3: a hit finds the probe through them.
        self.dead_maps.reserve(1, GFP_KERNEL)?;
        if let Some(old) = umm.set_maps(file, vmas)? {
            // Cannot fail: reserved.
            let _ = self.dead_maps.push(old, GFP_KERNEL);
        }
        for v in vmas {
            let Some(vaddr) = v.vaddr_of(offset) else {
                continue;
            };
            // A `PID:` probe's breakpoint: the hits are its own. A process
            // whose page was not there without waiting a moment ago: not
            // waited for again (once per write of many lines, not per line).
            if self.inst_at(key, vaddr).is_some() || umm.stuck() {
                self.skipped += 1;
                self.skip(key, vaddr, id);
                continue;
            }
            let r = match user::poke_wait(umm.mm(), vaddr, ino, orig, INT3) {
                Err(e) if e == EBUSY => {
                    user::poke_wait(umm.mm(), vaddr, ino, INT3, INT3).map(|()| true)
                }
                r => r.map(|()| false),
            };
            match r {
                Ok(there) => {
                    self.skips.retain(|s| *s != (key, vaddr, id));
                    sem_up(&mut self.probes[i], &umm, adopt && there);
                }
                Err(e) if e == ENOMEM => return Err(e),
                Err(e) => {
                    if e == EAGAIN {
                        umm.mark_stuck();
                    }
                    self.skipped += 1;
                    self.skip(key, vaddr, id);
                }
            }
        }
        Ok(())
    }

    /// Remembers that probe `id` has no breakpoint at `vaddr` of address
    /// space `key` (for `list`; not remembered without memory).
    fn skip(&mut self, key: usize, vaddr: u64, id: u32) {
        let s = (key, vaddr, id);
        if !self.skips.contains(&s) {
            let _ = self.skips.push(s, GFP_KERNEL);
        }
    }

    /// Frees the instances and lists of mappings that left the tables
    /// (after a grace period).
    fn flush_dead(&mut self) {
        if !self.dead.is_empty() || !self.dead_maps.is_empty() {
            grace_period();
            self.dead.clear();
            self.dead_maps.clear();
        }
    }

    /// The path probes' breakpoints into current's address space (a task
    /// work of [`super::path`]: after a mapping of a probed file, or in a
    /// fork child).
    pub(crate) fn install_current(&mut self) {
        let raw = task::current_mm();
        if raw.is_null() || path::PATH_PROBES.load(Relaxed) == 0 {
            return;
        }
        // SAFETY: Current's address space, live while current runs in it.
        let mm: ARef<Mm> = unsafe { Mm::from_raw(raw) }.into();
        let tgid = task::current_tgid();
        let mut files: KVec<usize> = KVec::new();
        for p in self.probes.iter() {
            if let Some(k) = p.inode_key() {
                if !files.contains(&k) && files.push(k, GFP_KERNEL).is_err() {
                    return;
                }
            }
        }
        let key = mm.as_raw() as usize;
        for k in files.iter() {
            let Ok(vmas) = user::file_vmas(&mm, *k as *mut kernel::ffi::c_void) else {
                continue;
            };
            if vmas.is_empty() {
                // Unmapped: its mappings are forgotten.
                if let Some(u) = self.mms.iter().find(|u| u.key() == key) {
                    if self.dead_maps.reserve(1, GFP_KERNEL).is_ok() {
                        if let Ok(Some(old)) = u.set_maps(*k, &[]) {
                            let _ = self.dead_maps.push(old, GFP_KERNEL);
                        }
                    }
                }
                continue;
            }
            for i in 0..self.probes.len() {
                if self.probes[i].inode_key() == Some(*k)
                    && self.install_point(i, &mm, tgid, &vmas, true).is_err()
                {
                    pr_warn!(
                        "path probes: out of memory, pid {} is not fully probed\n",
                        tgid
                    );
                }
            }
        }
        // Semaphores whose data was not mapped when their probe went in.
        if let Some(umm) = self.mms.iter().find(|u| u.key() == key).cloned() {
            let skips = &self.skips;
            for p in self.probes.iter_mut().filter(|p| p.ref_ctr.is_some()) {
                let (Some(f), Some(off)) = (p.inode_key(), p.path_offset()) else {
                    continue;
                };
                let id = p.id;
                if umm
                    .vaddrs_of(f, off)
                    .any(|a| !skips.contains(&(key, a, id)))
                {
                    sem_up(p, &umm, false);
                }
            }
        }
        self.flush_dead();
    }

    /// In a fork child (a task work before it runs): the `PID:` probes'
    /// breakpoints of the parent's address space `parent` out of current's
    /// copy (those gone since the fork too: [`Self::pid_bps`]).
    pub(crate) fn fork_fix(&mut self, parent: usize) {
        let raw = task::current_mm();
        if raw.is_null() {
            return;
        }
        // SAFETY: Current's address space, live while current runs in it.
        let mm = unsafe { Mm::from_raw(raw) };
        for &(k, w) in self.pid_bps.iter() {
            if k == parent {
                let _ = restore(mm, w >> 8, w as u8, core::ptr::null_mut());
            }
        }
    }

    /// Every breakpoint out of address space `key`, whose XOL area cannot
    /// be made: its process runs on unprobed (the probes stay, for the
    /// others). A task work of that process.
    pub(crate) fn give_up(&mut self, key: usize) {
        if let Some(umm) = self.mms.iter().find(|u| u.key() == key).cloned() {
            for p in self.probes.iter_mut() {
                let (Some(f), Some(off)) = (p.inode_key(), p.path_offset()) else {
                    continue;
                };
                for a in umm.vaddrs_of(f, off) {
                    let _ = restore(umm.mm(), a, p.orig, p.inode_ptr());
                }
                sem_down(p, &umm);
            }
            // A trap there finds no probe now, and the original byte.
            if let Some(old) = umm.clear_maps() {
                retire(&mut self.dead_maps, old);
            }
            self.skips.retain(|s| s.0 != key);
        }
        for p in self.probes.iter_mut() {
            let ino = p.inode_ptr();
            let mut j = 0;
            while j < p.insts.len() {
                let i = &p.insts[j];
                if i.umm.key() != key {
                    j += 1;
                    continue;
                }
                let _ = restore(i.umm.mm(), i.vaddr, p.orig, ino);
                POINTS.remove(i.hash(), &**i);
                if let Ok(i) = p.insts.remove(j) {
                    retire(&mut self.dead, i);
                }
            }
        }
        self.flush_dead();
        POINTS.release_if_empty();
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
        MMS.insert(hash_mm(key), Arc::as_ptr(&umm))
            .map_err(|_| oom())?;
        NMMS.fetch_add(1, Relaxed);
        let _ = self.mms.push(umm.clone(), GFP_KERNEL);
        Ok(umm)
    }

    /// Takes probe `p`'s breakpoints out of every address space: the
    /// original byte back first (a task that trapped on an int3 meanwhile
    /// finds no probe and the original instruction, and runs it), then out
    /// of the table (freed after a grace period, by [`Self::flush_dead`]).
    /// A breakpoint whose byte cannot be written back (no memory, a fatal
    /// signal of the writer, a page that is not there without waiting)
    /// keeps its instance, in the table: the probe goes on working there,
    /// and the first such error is returned. Sleeps.
    fn disarm(&mut self, p: &mut UProbe) -> Result {
        let mut res = Ok(());
        let ino = p.inode_ptr();
        if let (Some(f), Some(off)) = (p.inode_key(), p.path_offset()) {
            for umm in self.mms.iter() {
                let key = umm.key();
                let mut left = false;
                for a in umm.vaddrs_of(f, off) {
                    // None written there; a `PID:` probe's breakpoint
                    // stays.
                    if self.skips.contains(&(key, a, p.id)) || self.inst_at(key, a).is_some() {
                        continue;
                    }
                    match restore(umm.mm(), a, p.orig, ino) {
                        Ok(()) => {}
                        Err(e) if e == EBUSY || e == ENOENT || e == ESRCH => {}
                        Err(e) => {
                            pr_warn!(
                                "pid {}: cannot remove the breakpoint at {:#x} ({:?}); the probe stays\n",
                                umm.tgid,
                                a,
                                e
                            );
                            res = res.and(Err(e));
                            left = true;
                        }
                    }
                }
                if !left {
                    sem_down(p, umm);
                }
            }
            return res;
        }
        let mut j = 0;
        while j < p.insts.len() {
            let i = &p.insts[j];
            match restore(i.umm.mm(), i.vaddr, p.orig, ino) {
                // Restored; not ours (any more); the process gone.
                Ok(()) => {}
                Err(e) if e == EBUSY || e == ENOENT || e == ESRCH => {}
                Err(e) => {
                    pr_warn!(
                        "pid {}: cannot remove the breakpoint at {:#x} ({:?}); the probe stays\n",
                        i.umm.tgid,
                        i.vaddr,
                        e
                    );
                    res = res.and(Err(e));
                    j += 1;
                    continue;
                }
            }
            POINTS.remove(i.hash(), &**i);
            if let Ok(i) = p.insts.remove(j) {
                i.forget(p.id);
                retire(&mut self.dead, i);
            }
        }
        res
    }

    /// Removes the probes at indexes `idx` (ascending) of [`Self::probes`]:
    /// each disarmed ([`Self::disarm`]); a path probe's file is then swept
    /// in every process that maps it (a fork child that has not run yet, a
    /// mapping moved), and forgotten with its last probe. A probe with a
    /// breakpoint left (see [`Self::disarm`]) stays, and the first error is
    /// returned: nothing is left behind unhandled, and the line can be
    /// removed again. `ENOMEM` before anything changes.
    pub(super) fn remove_indexes(&mut self, idx: &[usize]) -> Result {
        let mut gone = KVec::with_capacity(idx.len(), GFP_KERNEL)?;
        let mut kept = KVec::with_capacity(idx.len(), GFP_KERNEL)?;
        let mut files: KVec<usize> = KVec::with_capacity(idx.len(), GFP_KERNEL)?;
        for &i in idx.iter().rev() {
            if let Ok(p) = self.probes.remove(i) {
                // Cannot fail: reserved.
                let _ = gone.push(p, GFP_KERNEL);
            }
        }
        let mut res = Ok(());
        for p in gone.iter_mut() {
            let r = self.disarm(p);
            // A breakpoint left: the probe stays, working.
            let keep = match p.kind {
                Kind::Pid { .. } => !p.insts.is_empty(),
                Kind::Path { .. } => r.is_err(),
            };
            // Cannot fail: reserved.
            let _ = kept.push(keep, GFP_KERNEL);
            res = res.and(r);
        }
        // The sweep, one pass over the processes for all the files.
        for (p, _) in gone.iter().zip(kept.iter()).filter(|(_, k)| !**k) {
            if let Some(k) = p.inode_key() {
                if !files.contains(&k) {
                    let _ = files.push(k, GFP_KERNEL);
                }
            }
        }
        if !files.is_empty() {
            sweep(&gone, &kept, &files, &self.skips);
        }
        // Out of the table, then a grace period: then the probes may go.
        for (p, _) in gone.iter().zip(kept.iter()).filter(|(_, k)| !**k) {
            if p.inode_key().is_some() {
                PATHS.remove(p.hash(), &**p);
                for u in self.mms.iter() {
                    u.xol.forget(p.id);
                }
                self.skips.retain(|s| s.2 != p.id);
            }
        }
        if !files.is_empty() {
            grace_period();
        }
        self.flush_dead();
        for (p, keep) in gone.into_iter().zip(kept.iter()) {
            if *keep {
                // Cannot fail: its place was freed above.
                let _ = self.probes.push(p, GFP_KERNEL);
                continue;
            }
            if p.inode_key().is_some() {
                path::PATH_PROBES.fetch_sub(1, Relaxed);
            }
        }
        for k in files.iter() {
            if !self.probes.iter().any(|p| p.inode_key() == Some(*k)) {
                path::remove_file(*k);
            }
        }
        if path::PATH_PROBES.load(Relaxed) == 0 {
            // Unregistering waits for a running handler.
            self.map_hook = None;
        }
        POINTS.release_if_empty();
        PATHS.release_if_empty();
        res
    }

    /// Removes every probe of user event `[GRP/]EVENT`; `Ok(false)` if
    /// there is none. An error: see [`Self::remove_indexes`].
    pub(crate) fn remove(&mut self, group: Option<&str>, event: &str) -> Result<bool> {
        let mut idx = KVec::new();
        for (i, p) in self.probes.iter().enumerate() {
            if p.ev_hash == ev_hash(event) && p.is(group, event) {
                idx.push(i, GFP_KERNEL)?;
            }
        }
        if idx.is_empty() {
            return Ok(false);
        }
        self.release_tevents(&idx)?;
        self.remove_indexes(&idx)?;
        self.drop_guards_if_unused();
        Ok(true)
    }

    /// Removes the `n`th probe of user event `[GRP/]EVENT` (see
    /// [`Self::siblings`]).
    pub(crate) fn remove_nth(&mut self, group: Option<&str>, event: &str, n: usize) -> Result {
        let Some(i) = self
            .probes
            .iter()
            .enumerate()
            .filter(|(_, p)| p.guard.is_none() && p.is(group, event))
            .nth(n)
            .map(|(i, _)| i)
        else {
            return Ok(());
        };
        self.release_tevents(&[i])?;
        self.remove_indexes(&[i])?;
        self.drop_guards_if_unused();
        Ok(())
    }

    /// The probe point text of `[GRP/]EVENT`.
    pub(crate) fn target_of(&self, group: Option<&str>, event: &str) -> Option<&str> {
        self.find(group, event).map(|p| p.target_text())
    }

    /// Removes every probe (address spaces stay known, with their areas).
    /// An error: see [`Self::remove_indexes`].
    pub(crate) fn clear(&mut self) -> Result {
        let mut idx = KVec::with_capacity(self.probes.len(), GFP_KERNEL)?;
        for (i, p) in self.probes.iter().enumerate() {
            if p.guard.is_none() {
                // Cannot fail: reserved.
                let _ = idx.push(i, GFP_KERNEL);
            }
        }
        self.release_tevents(&idx)?;
        self.remove_indexes(&idx)?;
        self.drop_guards_if_unused();
        Ok(())
    }

    /// Forgets every address space too (module exit, after `clear`
    /// succeeded).
    pub(crate) fn shutdown(&mut self) {
        for u in self.mms.iter() {
            MMS.remove(hash_mm(u.key()), Arc::as_ptr(u));
        }
        grace_period();
        NMMS.store(0, Relaxed);
        self.mms.clear();
        self.mappers = None;
        self.dead_maps.clear();
        POINTS.free();
        PATHS.free();
        MMS.free();
        // Unregistering waits for a running hook.
        self.signal = None;
        self.map_hook = None;
    }

    /// Frees the breakpoints and state of address spaces that died (exit,
    /// exec): the probes stay with their counts (a `PID:` probe with none
    /// left is gone, and stays until its line is removed).
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
            for p in self.probes.iter() {
                for i in p.insts.iter().filter(|i| dead(&i.umm)) {
                    POINTS.remove(i.hash(), &**i);
                }
            }
            for u in self.mms.iter().filter(|u| dead(u)) {
                MMS.remove(hash_mm(u.key()), Arc::as_ptr(u));
            }
            grace_period();
            // A `PID:` probe stays, with its counts, until its line is
            // removed (`list` says it is gone).
            for p in self.probes.iter_mut() {
                let mut j = 0;
                while j < p.insts.len() {
                    if dead(&p.insts[j].umm) {
                        let _ = p.insts.remove(j);
                    } else {
                        j += 1;
                    }
                }
            }
            let mms = &self.mms;
            let dead_key = |k: usize| mms.iter().any(|u| u.key() == k && u.reaping.load(Relaxed));
            self.pid_bps.retain(|(k, _)| !dead_key(*k));
            self.skips.retain(|s| !dead_key(s.0));
            for p in self.probes.iter_mut() {
                p.sems.retain(|(k, _)| !dead_key(*k));
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
            POINTS.release_if_empty();
            MMS.release_if_empty();
            // Its references keep dead address spaces' structures.
            self.mappers = None;
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
        for p in self.visible() {
            w.write_str(if p.ret { "r:" } else { "p:" })?;
            p.write_name(w)?;
            write!(w, " {}", p.target_text())?;
            if let Some(args) = p.args() {
                args.write_line(w)?;
            }
            w.write_char('\n')?;
        }
        Ok(())
    }

    /// `profile` rows.
    pub(crate) fn show_profile(&self, w: &mut impl Write) -> core::fmt::Result {
        for p in self.visible() {
            let n = p.full_name();
            // A return probe: returns; missed (all causes, and for want
            // of depth: as a kernel return probe's maxactive misses).
            let (depth, other) = p.misses();
            let maxact: &dyn core::fmt::Display = if p.ret { &depth } else { &"-" };
            writeln!(
                w,
                "  {:<44} {:>15} {:>15} {:>15} {:>15} {:>10}",
                n.as_str(),
                p.hits(),
                depth + other,
                "-",
                maxact,
                "-"
            )?;
        }
        Ok(())
    }

    /// `list` rows.
    pub(crate) fn show_list(&self, w: &mut impl Write, enabled: bool) -> core::fmt::Result {
        for p in self.visible() {
            // A `PID:` probe's address; a path probe's file offset, and
            // in how many mappings its breakpoint is.
            match p.kind {
                Kind::Pid { vaddr, .. } => write!(w, "{vaddr:#x} ")?,
                Kind::Path { offset, .. } => write!(w, "{offset:#x} ")?,
            }
            p.write_name(w)?;
            let on = enabled && p.armed.load(Relaxed);
            w.write_char(' ')?;
            p.write_resolved(w)?;
            write!(w, " [{}]", p.verdict.name())?;
            match p.kind {
                Kind::Path { .. } => write!(w, " [in {}]", self.placed(p))?,
                // Its process is gone: counts only.
                Kind::Pid { .. } if p.insts.is_empty() => w.write_str(" [gone]")?,
                Kind::Pid { .. } => {}
            }
            writeln!(w, "{}", if on { "" } else { " [DISABLED]" })?;
        }
        Ok(())
    }

    /// In how many mappings path probe `p`'s breakpoint is.
    fn placed(&self, p: &UProbe) -> usize {
        let (Some(f), Some(off)) = (p.inode_key(), p.path_offset()) else {
            return 0;
        };
        self.mms
            .iter()
            .map(|u| {
                let k = u.key();
                u.vaddrs_of(f, off)
                    .filter(|a| !self.skips.contains(&(k, *a, p.id)))
                    .count()
            })
            .sum()
    }

    /// User returns in flight, in every probed process.
    pub(crate) fn returns_in_flight(&self) -> u64 {
        self.mms
            .iter()
            .map(|u| u64::from(u.xol.frames_in_flight()))
            .sum()
    }

    /// The recent returns of every user return probe: (time, probe index,
    /// return) appended to `out`.
    pub(crate) fn recent(&self, out: &mut KVec<(u64, usize, Return)>) -> Result {
        for (i, p) in self.probes.iter().enumerate() {
            let mut recs = KVec::new();
            p.recent(&mut recs)?;
            for r in recs.into_iter() {
                out.push((r.ts, i, r), GFP_KERNEL)?;
            }
        }
        Ok(())
    }

    /// The full name of the `i`th user probe.
    pub(crate) fn full_name(&self, i: usize) -> Option<FullName> {
        self.probes.get(i).map(|p| p.full_name())
    }

    /// `latency` rows of the user return probes (as the kernel ones').
    pub(crate) fn show_latency(&self, w: &mut impl Write) -> core::fmt::Result {
        for p in self.visible() {
            let Some((h, migrated)) = p.histogram() else {
                continue;
            };
            p.write_name(w)?;
            writeln!(
                w,
                ": returns {} (migrated {migrated}), ns:",
                hist::total(&h)
            )?;
            hist::write(w, &h)?;
        }
        Ok(())
    }

    /// `filter` rows.
    pub(crate) fn show_filters(&self, w: &mut impl Write) -> core::fmt::Result {
        for p in self.visible() {
            p.write_name(w)?;
            w.write_char(' ')?;
            p.filter.show(w)?;
            w.write_char('\n')?;
        }
        Ok(())
    }

    /// `armed` rows.
    pub(crate) fn show_armed(&self, w: &mut impl Write) -> core::fmt::Result {
        for p in self.visible() {
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
        // Each instance a box; each probe's list its capacity of pointers.
        let (insts, slots) = self.probes.iter().fold((0, 0), |(n, c), p| {
            (n + p.insts.len(), c + p.insts.capacity())
        });
        let maps: usize = self.mms.iter().map(|u| u.maps().len()).sum();
        let sems: usize = self.probes.iter().map(|p| p.sems.capacity()).sum();
        self.probes.len() * core::mem::size_of::<UProbe>()
            + insts * core::mem::size_of::<UInst>()
            + slots * core::mem::size_of::<usize>()
            + maps * core::mem::size_of::<(usize, FileVma)>()
            + sems * core::mem::size_of::<(usize, u64)>()
            + self.skips.capacity() * core::mem::size_of::<(usize, u64, u32)>()
            + POINTS.footprint()
            + PATHS.footprint()
            + MMS.footprint()
            + self.mms.len() * core::mem::size_of::<UMm>()
            // The pages and step records of the XOL areas made (at a
            // first step).
            + self.mms.iter().filter(|u| u.xol.area() != 0).count()
                * (xol::AREA_PAGES * 4096 + xol::RECORDS_BYTES + xol::FRAMES_BYTES)
    }
}

/// After removing the path probes `gone` (but those `kept`, which have a
/// breakpoint left) of the files `files`: every process that maps one of
/// the files is looked at again, and an `int3` left at a probe's offset (a
/// fork child's copy not recorded yet, a mapping moved) is restored, with
/// the semaphore count of that copy; not where none was written (`skips`:
/// a page not had without waiting is not waited for again). Sleeps.
fn sweep(gone: &[KBox<UProbe>], kept: &[bool], files: &[usize], skips: &[(usize, u64, u32)]) {
    let Ok(mms) = user::all_mms() else {
        return;
    };
    for m in mms.iter() {
        for &k in files {
            let ino = k as *mut kernel::ffi::c_void;
            let Ok(vmas) = user::file_vmas(&m.mm, ino) else {
                continue;
            };
            // Not a probe that kept a breakpoint (it stays, working).
            for (p, _) in gone
                .iter()
                .zip(kept.iter())
                .filter(|(p, keep)| !**keep && p.inode_key() == Some(k))
            {
                let Kind::Path { offset, .. } = p.kind else {
                    continue;
                };
                let key = m.mm.as_raw() as usize;
                for a in vmas.iter().filter_map(|v| v.vaddr_of(offset)) {
                    if skips.contains(&(key, a, p.id)) || restore(&m.mm, a, p.orig, ino).is_err() {
                        continue;
                    }
                    if let Some(r) = p.ref_ctr {
                        let mut at = 0;
                        let _ = user::ref_ctr_add(&m.mm, ino, r, &mut at, -1);
                    }
                }
            }
        }
    }
}

/// Probe `p`'s USDT semaphore up in address space `umm`, once per address
/// space (`inherited`: a fork child's copy has its parent's count, only
/// found). Registry mutex held; sleeps.
fn sem_up(p: &mut UProbe, umm: &UMm, inherited: bool) {
    let Some(r) = p.ref_ctr else {
        return;
    };
    let key = umm.key();
    if p.sems.iter().any(|(k, _)| *k == key) || p.sems.reserve(1, GFP_KERNEL).is_err() {
        return;
    }
    let mut at = 0;
    let delta = if inherited { 0 } else { 1 };
    // ENOENT: the data is not mapped yet (the mmap hook comes back).
    if user::ref_ctr_add(umm.mm(), p.inode_ptr(), r, &mut at, delta).is_ok() {
        // Cannot fail: reserved.
        let _ = p.sems.push((key, at), GFP_KERNEL);
    }
}

/// Probe `p`'s USDT semaphore back down in address space `umm`, if it put
/// it up there.
fn sem_down(p: &mut UProbe, umm: &UMm) {
    let Some(r) = p.ref_ctr else {
        return;
    };
    let key = umm.key();
    if let Some(j) = p.sems.iter().position(|(k, _)| *k == key) {
        let mut at = p.sems[j].1;
        let _ = user::ref_ctr_add(umm.mm(), p.inode_ptr(), r, &mut at, -1);
        let _ = p.sems.remove(j);
    }
}

/// The hash of an event name ([`UProbe::ev_hash`]): FNV-1a.
fn ev_hash(event: &str) -> u32 {
    event.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// Waits for an RCU grace period, and frees the tables' arrays retired by
/// growths before it began (their readers are done then). Sleeps.
fn grace_period() {
    let retired = (
        POINTS.take_retired(),
        PATHS.take_retired(),
        MMS.take_retired(),
    );
    // Expedited: a control-plane write waits for it (one per removal of a
    // path probe); the same guarantee, without waiting for the ticks of a
    // normal grace period (some 10 ms each under TCG).
    crate::sys::synchronize_rcu_expedited();
    drop(retired);
}

/// Frees `item` after a grace period: queued on `list` (for the next
/// [`UProbes::flush_dead`]), or waited for right here without memory.
fn retire<T>(list: &mut KVec<KBox<T>>, item: KBox<T>) {
    if list.reserve(1, GFP_KERNEL).is_ok() {
        // Cannot fail: reserved.
        let _ = list.push(item, GFP_KERNEL);
    } else {
        grace_period();
        drop(item);
    }
}

// SPDX-License-Identifier: GPL-2.0

//! The trap paths of user probes: the die notifier's int3 and debug (step)
//! traps, the signal hook that aborts steps a signal comes before, and the
//! process hooks (fork children, dying address spaces, dead tasks).
//!
//! Context: the trap handlers run with interrupts off in the trapping task
//! (an RCU read-side critical section), the signal hook in kprobe context,
//! the tracepoint hooks with preemption off: none takes a lock or
//! allocates (but the fork hook, atomically). Objects are found in the
//! lock-free tables ([`super::table`]).

use super::emulate::{set_gpr, TF};
use super::mm::UMm;
use super::probe::{Site, UInst, UProbe};
use super::table::{hash_mm, hash_point, MMS, NMMS, PATHS, POINTS};
use super::xol::{Step, MAX_DEPTH};
use super::{reaper, INT3};
use crate::insn::Fixups;
use crate::sys::bindings::{self, pt_regs};
use crate::sys::kprobe::{KProbe, KProbeOwner, Place};
use crate::sys::task::{self, TaskWork};
use crate::sys::user;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow};
use kernel::uaccess::{UserPtr, UserSlice};

/// `DR6.BS`: the debug trap is a single step.
const DR_STEP: u64 = 1 << 14;

/// `int3` in user mode: `regs.ip` is just past it.
///
/// # Safety
///
/// Called by the die notifier only (`src/shim/die.c`, by name): `regs` are
/// the trapping task's registers, `mm` its address space, interrupts are
/// off.
#[no_mangle]
unsafe extern "C" fn rprobes_uprobes_int3(
    regs: *mut pt_regs,
    mm: *mut kernel::ffi::c_void,
) -> kernel::ffi::c_int {
    // SAFETY: The die notifier passes the trapping task's registers.
    let regs = unsafe { &mut *regs };
    let mm = mm as usize;
    let bp = (regs.ip as u64).wrapping_sub(1);
    let is = |i: &UInst| i.vaddr == bp && i.umm.key() == mm;
    // SAFETY: Interrupts are off: an RCU read-side critical section.
    if let Some(i) = unsafe { POINTS.find(hash_point(mm, bp), is) } {
        i.site().hit(regs);
        return NOTIFY_STOP;
    }
    // A path probe's: found by file and offset through the address
    // space's mappings of probed files, as the kernel finds its uprobes
    // (inline: under emulation a call costs a few dozen instructions).
    if super::path::PATH_PROBES.load(Relaxed) != 0 {
        // SAFETY: As above.
        if let Some(umm) = unsafe { MMS.find(hash_mm(mm), |u| u.key() == mm) } {
            if let Some((file, off)) = umm.file_point(bp) {
                let is = |p: &UProbe| p.is_at(file, off);
                // SAFETY: As above.
                if let Some(p) = unsafe { PATHS.find(hash_point(file, off), is) } {
                    Site { p, umm, vaddr: bp }.hit(regs);
                    return NOTIFY_STOP;
                }
            }
        }
    }
    // SAFETY: As above.
    notify(unsafe { int3_not_a_probe(regs, mm, bp) })
}

/// The die notifier's verdicts.
const NOTIFY_STOP: kernel::ffi::c_int = bindings::RPROBES_NOTIFY_STOP as kernel::ffi::c_int;
const NOTIFY_DONE: kernel::ffi::c_int = bindings::RPROBES_NOTIFY_DONE as kernel::ffi::c_int;

/// [`NOTIFY_STOP`] for a trap that was rprobes', else [`NOTIFY_DONE`].
fn notify(ours: bool) -> kernel::ffi::c_int {
    if ours {
        NOTIFY_STOP
    } else {
        NOTIFY_DONE
    }
}

/// [`rprobes_uprobes_int3`] for an `int3` that is not a probe's: a return
/// to the trampoline, the end of a stepped copy, a breakpoint removed
/// meanwhile, or not rprobes' at all.
///
/// # Safety
///
/// As for [`rprobes_uprobes_int3`]; `bp` is the address of the `int3`.
#[inline(never)]
unsafe fn int3_not_a_probe(regs: &mut pt_regs, mm: usize, bp: u64) -> bool {
    // SAFETY: Interrupts are off: an RCU read-side critical section.
    let umm = unsafe { MMS.find(hash_mm(mm), |u| u.key() == mm) };
    if let Some(umm) = umm.filter(|u| u.xol.tramp() == bp && bp != 0) {
        // SAFETY: As above.
        return unsafe { return_hit(umm, regs) };
    }
    // A breakpoint removed since this task hit it: run the original (in
    // an address space rprobes may not know too, after a path probe's
    // sweep).
    if umm.is_some() || super::path::PATH_PROBES.load(Relaxed) != 0 {
        let mut b = [0u8];
        if user::read_nofault(bp, &mut b, true) {
            if b[0] != INT3 {
                regs.ip = bp as usize;
                return true;
            }
        } else if unreadable_again(bp) {
            // The page went since the CPU fetched the int3: the private
            // copy rprobes dropped with the page's last breakpoint (the
            // file's page comes back at the next access). Run it again,
            // once: a second miss in a row is not rprobes'.
            regs.ip = bp as usize;
            return true;
        }
    }
    let Some(umm) = umm else {
        return false;
    };
    if let Some(slot) = umm.xol.slot_of(bp) {
        // The int3 after a slot's instruction: the copy ran on without a
        // step trap (it cleared TF itself). Complete the step there.
        let me = task::current() as usize;
        let start = umm.xol.slot_addr(slot);
        return match umm.xol.finish_at(slot, me) {
            Some(s) => {
                regs.ip = (start + u64::from(s.info.len)) as usize;
                complete(umm, &s, regs);
                true
            }
            None => false,
        };
    }
    false
}

/// The last (task, int3 address) whose page could not be read in the trap
/// handler (their xor, 0 if none), and when (TSC).
static UNREADABLE: AtomicUsize = AtomicUsize::new(0);
static UNREADABLE_AT: AtomicU64 = AtomicU64::new(0);

/// Whether the current task's int3 at `bp`, whose page cannot be read
/// now, should run again: yes, unless the same task missed the same
/// address just before (within some 10^7 cycles: an int3 on a page that
/// cannot be read without a fault, execute-only memory, where the process
/// gets its SIGTRAP rather than a loop).
fn unreadable_again(bp: u64) -> bool {
    let key = (task::current() as usize) ^ (bp as usize);
    let now = crate::retprobes::handler::cycles();
    let then = UNREADABLE_AT.swap(now, Relaxed);
    if UNREADABLE.swap(key, Relaxed) == key && now.wrapping_sub(then) < 10_000_000 {
        UNREADABLE.store(0, Relaxed);
        return false;
    }
    true
}

/// A return to the trampoline (`regs.ip` just past its int3): the
/// thread's frame for it taken back, the return counted and recorded if its
/// probe is still there, and the thread put back at the real return
/// address, every register as the function left it. A chain of frames at
/// one return address (a probed function that tail-called another) is
/// followed to its end. False if the thread has no frame (not rprobes'
/// return: the process gets its SIGTRAP).
///
/// # Safety
///
/// As for [`rprobes_uprobes_int3`]; `umm` was found in [`MMS`].
#[inline(never)]
unsafe fn return_hit(umm: &UMm, regs: &mut pt_regs) -> bool {
    let me = task::current() as usize;
    let tramp = umm.xol.tramp();
    // `ret` popped the return address from here.
    let slot = (regs.sp as u64).wrapping_sub(8);
    loop {
        let (r, gone) = umm.xol.pop_frame(me, slot);
        if let Some(r) = r {
            // SAFETY: The caller's guarantee (an RCU read-side section).
            if let Some(p) = unsafe { probe_at(umm, r.func) }.filter(|p| p.id == r.id) {
                p.count_return(regs, &r);
            }
        }
        // Each frame held a module reference.
        for _ in 0..gone {
            task::module_put();
        }
        match r {
            None => return false,
            Some(r) if r.ret == tramp => continue,
            Some(r) => {
                regs.ip = r.ret as usize;
                return true;
            }
        }
    }
}

/// The probe at `vaddr` of address space `umm`, if there is one.
///
/// # Safety
///
/// The caller is in an RCU read-side critical section.
unsafe fn probe_at(umm: &UMm, vaddr: u64) -> Option<&UProbe> {
    let mm = umm.key();
    let is = |i: &UInst| i.vaddr == vaddr && i.umm.key() == mm;
    // SAFETY: The caller's guarantee.
    if let Some(i) = unsafe { POINTS.find(hash_point(mm, vaddr), is) } {
        return Some(i.point());
    }
    let (file, off) = umm.file_point(vaddr)?;
    // SAFETY: The caller's guarantee.
    unsafe { PATHS.find(hash_point(file, off), |p: &UProbe| p.is_at(file, off)) }
}

/// Debug trap in user mode.
///
/// # Safety
///
/// Called by the die notifier only (`src/shim/die.c`, by name): `regs` are
/// the trapping task's registers, `mm` its address space, `dr6` the DR6
/// value being decoded, interrupts are off.
#[no_mangle]
unsafe extern "C" fn rprobes_uprobes_debug(
    regs: *mut pt_regs,
    mm: *mut kernel::ffi::c_void,
    dr6: *mut kernel::ffi::c_ulong,
) -> kernel::ffi::c_int {
    // SAFETY: The die notifier passes the task's registers and the DR6
    // value being decoded.
    let (regs, dr6) = unsafe { (&mut *regs, &mut *dr6) };
    // SAFETY: Interrupts are off.
    notify(unsafe { step_trap(regs, mm as usize, dr6) })
}

/// [`rprobes_uprobes_debug`]: whether the trap was the end of one of
/// rprobes' steps (then consumed).
///
/// # Safety
///
/// Interrupts are off; `regs` and `mm` are the trapping task's.
unsafe fn step_trap(regs: &mut pt_regs, mm: usize, dr6: &mut kernel::ffi::c_ulong) -> bool {
    if *dr6 as u64 & DR_STEP == 0 {
        return false;
    }
    // SAFETY: Interrupts are off: an RCU read-side critical section.
    let Some(umm) = (unsafe { MMS.find(hash_mm(mm), |u| u.key() == mm) }) else {
        return false;
    };
    let me = task::current() as usize;
    let Some((slot, info)) = umm.xol.peek_newest(me) else {
        return false;
    };
    if info.rep && regs.ip as u64 == umm.xol.slot_addr(slot) {
        // A `rep` string instruction trapped between two iterations (with
        // TF the CPU traps after each, `%rip` still at the instruction):
        // not finished. The same execution goes on, counted once.
        if !info.saved_tf {
            // Step on in the slot (TF stays set). A signal now finds the
            // task at the slot's start and aborts the step as usual.
            *dr6 &= !(DR_STEP as kernel::ffi::c_ulong);
            return true;
        }
        // The task steps itself: its SIGTRAP after this iteration, at the
        // original instruction, as without the probe. When its handler
        // returns, the task traps on the breakpoint again: that hit goes on
        // with the same execution, not counted again.
        let Some(s) = umm.xol.finish_at(slot, me) else {
            return false;
        };
        complete(umm, &s, regs);
        umm.add_replay(me, s.orig);
        return false;
    }
    let Some(s) = umm.xol.finish_at(slot, me) else {
        return false;
    };
    complete(umm, &s, regs);
    if s.info.saved_tf {
        // The task steps itself: its SIGTRAP, after the whole instruction.
        return false;
    }
    *dr6 &= !(DR_STEP as kernel::ffi::c_ulong);
    true
}

/// The signal hook: a kprobe on `arch_do_signal_or_restart()`, which runs
/// before a task handles its signals, with its user registers as the first
/// argument. Registered with the first probed address space (so that signal
/// delivery costs nothing extra until then), by [`super::UProbes`].
#[repr(C)]
pub(super) struct SignalHook {
    /// Must stay the first field: see [`KProbeOwner`].
    kprobe: KProbe,
}

// SAFETY: `SignalHook` is `#[repr(C)]` with its `KProbe` first, and the only
// `KProbe` constructed with `KProbe::new::<SignalHook>` is this field.
unsafe impl KProbeOwner for SignalHook {
    fn on_hit(&self, kregs: &pt_regs) {
        if task::current_mm().is_null() {
            return;
        }
        // `regs_get_kernel_argument(kregs, 0)`: the task's user registers,
        // on its kernel stack.
        let regs = kregs.di as *mut pt_regs;
        // SAFETY: `arch_do_signal_or_restart(struct pt_regs *regs)` gets
        // current's user register frame, which only current (this code,
        // preemption disabled) changes while it runs here.
        on_signal(unsafe { &mut *regs });
    }
}

impl SignalHook {
    /// Registers the hook (process context).
    pub(super) fn new() -> Result<Pin<KBox<Self>>> {
        let hook = KBox::pin(
            Self {
                kprobe: KProbe::new::<Self>(Place::Symbol("arch_do_signal_or_restart", 0))?,
            },
            GFP_KERNEL,
        )?;
        // SAFETY: `kprobe` is structurally pinned: the hook never moves it
        // out, and the box stays pinned until the hook drops (which
        // unregisters it).
        let kp = unsafe { hook.as_ref().map_unchecked(|h| &h.kprobe) };
        kp.register(true)?;
        Ok(hook)
    }
}

const _: () = assert!(core::mem::offset_of!(SignalHook, kprobe) == 0);

/// Signal delivery to a task of a probed process (see [`SignalHook`]): a
/// step that has not run yet (the task is at the start of its slot: the
/// signal came first, or the stepped copy faulted) is aborted, so the
/// handler sees the task as it would be without the probe: at the original
/// instruction, with its own registers and flags, and a fault of the copy
/// with the original instruction's address in `si_addr`. When the handler
/// returns, the task traps on the breakpoint again; that hit is not counted
/// twice unless the copy faulted (then it is the instruction's next
/// execution). Kprobe context (preemption disabled).
fn on_signal(regs: &mut pt_regs) {
    let mm = task::current_mm() as usize;
    // SAFETY: Preemption is disabled: an RCU read-side critical section.
    let Some(umm) = (unsafe { MMS.find(hash_mm(mm), |u| u.key() == mm) }) else {
        return;
    };
    let ip = regs.ip as u64;
    let Some(slot) = umm.xol.slot_of(ip) else {
        return;
    };
    if ip != umm.xol.slot_addr(slot) {
        return;
    }
    let me = task::current() as usize;
    let Some(s) = umm.xol.finish_at(slot, me) else {
        return;
    };
    if let Some(reg) = s.info.scratch {
        set_gpr(regs, reg, s.saved);
    }
    regs.ip = s.orig as usize;
    if !s.info.saved_tf {
        regs.flags &= !(TF as usize);
    }
    // A fault of the stepped copy was queued with the slot's address in
    // si_addr (the kernel maps only its own uprobes' XOL addresses back):
    // the probed instruction's address instead, as without the probe. And
    // then the instruction did execute (it faulted): if the handler
    // returns to it, that is a new execution, counted like any other. Only
    // a step that a signal came before is replayed without counting.
    if !user::step_fault_fixup(umm.xol.slot_addr(slot), s.orig) {
        umm.add_replay(me, s.orig);
    }
    umm.aborted.fetch_add(1, Relaxed);
    // The step's module reference.
    task::module_put();
}

/// A fork child with its own copy of a probed address space: the copy has
/// our breakpoints, and nothing handles them there. Remove them in the
/// child before it runs (preemption disabled: atomic allocation).
///
/// # Safety
///
/// Called by the fork tracepoint only: `parent_mm` is the parent's live
/// address space, `child` the new task, which has not run yet.
pub(super) unsafe extern "C" fn on_fork(
    parent_mm: *mut kernel::ffi::c_void,
    child: *mut kernel::ffi::c_void,
) {
    let mm = parent_mm as usize;
    // SAFETY: Tracepoint probes run with preemption disabled: an RCU
    // read-side critical section.
    let Some(umm) = (unsafe { MMS.find(hash_mm(mm), |u| u.key() == mm) }) else {
        return;
    };
    // The child's copy has the parent's path-probe breakpoints: they
    // become the child's before it runs.
    if super::path::PATH_PROBES.load(Relaxed) != 0 {
        super::path::GEN.fetch_add(1, core::sync::atomic::Ordering::Release);
        super::path::queue_install(child.cast());
    }
    // The forking thread's returns in flight: the child's copy of its
    // stack has the trampoline's address where they are, and the child has
    // no XOL area (it is not copied).
    let me = task::current() as usize;
    let mut rets = [(0u64, 0u64); MAX_DEPTH];
    let nrets = umm.xol.frames_of(me, &mut rets);
    if !umm.pid_points.load(Relaxed) && nrets == 0 {
        return;
    }
    // The parent's state, kept alive (its mm is not reused) until the
    // child's task work ran: the registry knows its breakpoints.
    // SAFETY: `umm` is in an `Arc` (the registry's), live: its entry is
    // in the table and we are in an RCU read-side section.
    let parent: Arc<UMm> = unsafe { ArcBorrow::from_raw(umm) }.into();
    let fix = ForkFix {
        work: TaskWork::new(),
        parent,
        rets,
        nrets,
    };
    let Ok(b) = KBox::new(fix, GFP_ATOMIC) else {
        pr_warn!("fork: out of memory, a child keeps breakpoints\n");
        return;
    };
    let raw = KBox::into_raw(b);
    // SAFETY: The work is new and stays in its box until `fork_fix` takes
    // the box back (exactly once); `child` is a live task that has not run.
    let r = unsafe { (*raw).work.queue(child.cast(), fork_fix, raw.cast()) };
    if let Err(e) = r {
        // SAFETY: Not queued: the box is ours again.
        drop(unsafe { KBox::from_raw(raw) });
        pr_warn!("fork: cannot queue the breakpoint removal ({:?})\n", e);
    }
}

/// The parent's state, for a fork child's task work.
struct ForkFix {
    work: TaskWork,
    parent: Arc<UMm>,
    /// The forking thread's returns in flight: (stack slot, real return
    /// address).
    rets: [(u64, u64); MAX_DEPTH],
    nrets: usize,
}

/// Task work in a fork child: the parent's `PID:` breakpoints out of the
/// child's copy.
///
/// # Safety
///
/// `arg` is a box from `KBox::<ForkFix>::into_raw`, given up to this call.
unsafe fn fork_fix(arg: *mut kernel::ffi::c_void) {
    // SAFETY: `on_fork` passed a box from `KBox::into_raw`.
    let fix = unsafe { KBox::from_raw(arg.cast::<ForkFix>()) };
    if fix.parent.pid_points.load(Relaxed) {
        reaper::fork_fix(fix.parent.key());
    }
    // The child returns to the real callers: its copy of the stack gets
    // the real return addresses back where the parent's has the
    // trampoline's (its own memory, written as the task itself would).
    for &(slot, ret) in &fix.rets[..fix.nrets] {
        let mut w = UserSlice::new(UserPtr::from_addr(slot as usize), 8).writer();
        if w.write(&ret).is_err() {
            pr_warn!(
                "fork: a child's return address at {:#x} cannot be put back\n",
                slot
            );
        }
    }
}

/// A thread group exited or a process exec'd: an address space may be
/// dying; reap it soon.
///
/// # Safety
///
/// None beyond being called from the process tracepoints.
pub(super) unsafe extern "C" fn on_gone() {
    if NMMS.load(Relaxed) != 0 {
        reaper::kick(20);
    }
}

/// From the task-free hook: abandons the steps of a task that died
/// between its trap and its step.
pub(crate) fn task_gone(task: usize) {
    if NMMS.load(Relaxed) == 0 {
        return;
    }
    // SAFETY: The hook runs in an RCU callback (softirq, an RCU read-side
    // critical section).
    unsafe {
        MMS.for_each(|umm| {
            umm.drop_replays(task);
            // Each step and each return frame held a module reference.
            for _ in 0..umm.xol.abandon(task) + umm.xol.abandon_frames(task) {
                task::module_put();
            }
        })
    };
}

/// Completes a step: `regs` as the step left them.
fn complete(umm: &UMm, s: &Step, regs: &mut pt_regs) {
    let slot_addr = umm.xol.slot_addr(s.slot);
    let fix = Fixups::from_bits(s.info.fixups);
    if let Some(reg) = s.info.scratch {
        set_gpr(regs, reg, s.saved);
    }
    let delta = s.orig.wrapping_sub(slot_addr);
    if fix.contains(Fixups::IP) {
        regs.ip = (regs.ip as u64).wrapping_add(delta) as usize;
    }
    let sp = regs.sp as u64;
    if fix.contains(Fixups::CALL_RET_ADDR) {
        if let Some(ret) = user::read_u64(sp) {
            user::write_u64(sp, ret.wrapping_add(delta));
        }
    }
    if fix.contains(Fixups::PUSHF_TF) && !s.info.saved_tf {
        if let Some(f) = user::read_u64(sp) {
            user::write_u64(sp, f & !TF);
        }
    }
    if !s.info.saved_tf && !fix.contains(Fixups::SET_TF) {
        regs.flags &= !(TF as usize);
    }
    // The step's module reference.
    task::module_put();
}

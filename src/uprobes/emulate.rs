// SPDX-License-Identifier: GPL-2.0

//! Registers and emulation: what a probed instruction that the decoder
//! marked as emulated does to the task's registers (and stack), done in
//! the trap handler instead of a single step.
//!
//! The common integer instructions (loads, stores, arithmetic, `ret`,
//! indirect branches ...) are run by the pure emulator
//! ([`crate::insn::emul`]) on [`User`]: the task's `pt_regs` and its user
//! memory.
//!
//! Context: trap (interrupts off, in the probed task); user memory is read
//! and written without faulting a page in, and an instruction whose access
//! would fault is stepped instead (the task then gets the real fault).

use crate::insn::emul::{self, Machine};
use crate::insn::{Emulation, Fixups, Verdict};
use crate::sys::bindings::pt_regs;
use crate::sys::user;

/// The trap flag in `pt_regs.flags`.
pub(super) const TF: u64 = 0x100;

/// Where each general-purpose register (x86 encoding order: `ax`, `cx`,
/// `dx`, `bx`, `sp`, `bp`, `si`, `di`, `r8` to `r15`) is in `pt_regs`.
const GPR_AT: [usize; 16] = {
    use core::mem::offset_of;
    [
        offset_of!(pt_regs, ax),
        offset_of!(pt_regs, cx),
        offset_of!(pt_regs, dx),
        offset_of!(pt_regs, bx),
        offset_of!(pt_regs, sp),
        offset_of!(pt_regs, bp),
        offset_of!(pt_regs, si),
        offset_of!(pt_regs, di),
        offset_of!(pt_regs, r8),
        offset_of!(pt_regs, r9),
        offset_of!(pt_regs, r10),
        offset_of!(pt_regs, r11),
        offset_of!(pt_regs, r12),
        offset_of!(pt_regs, r13),
        offset_of!(pt_regs, r14),
        offset_of!(pt_regs, r15),
    ]
};

/// Register `n` (its low 4 bits) of `r`: one load (the emulation of
/// `push` runs it at every hit).
#[inline(always)]
pub(super) fn gpr(r: &pt_regs, n: u8) -> u64 {
    let at = GPR_AT[usize::from(n & 15)];
    // SAFETY: `at` is the offset of one of `pt_regs`' `unsigned long`
    // fields (`GPR_AT`), inside `*r`, aligned.
    let v = unsafe {
        core::ptr::from_ref(r)
            .cast::<u8>()
            .add(at)
            .cast::<kernel::ffi::c_ulong>()
            .read()
    };
    v as u64
}

pub(super) fn set_gpr(r: &mut pt_regs, n: u8, v: u64) {
    let v = v as usize;
    match n {
        0 => r.ax = v,
        1 => r.cx = v,
        2 => r.dx = v,
        3 => r.bx = v,
        4 => r.sp = v,
        5 => r.bp = v,
        6 => r.si = v,
        7 => r.di = v,
        8 => r.r8 = v,
        9 => r.r9 = v,
        10 => r.r10 = v,
        11 => r.r11 = v,
        12 => r.r12 = v,
        13 => r.r13 = v,
        14 => r.r14 = v,
        _ => r.r15 = v,
    }
}

/// The trapping task as the emulator's machine: its registers, and its
/// user memory read and written without faulting (a fault: the
/// instruction is stepped, and the task gets the real one).
struct User<'a>(&'a mut pt_regs);

impl Machine for User<'_> {
    #[inline(always)]
    fn gpr(&self, n: u8) -> u64 {
        gpr(self.0, n)
    }

    #[inline(always)]
    fn set_gpr(&mut self, n: u8, v: u64) {
        let at = GPR_AT[usize::from(n & 15)];
        // SAFETY: `at` is the offset of one of `pt_regs`' `unsigned long`
        // fields (`GPR_AT`), inside `*self.0`, aligned; we hold it
        // exclusively.
        unsafe {
            core::ptr::from_mut(self.0)
                .cast::<u8>()
                .add(at)
                .cast::<kernel::ffi::c_ulong>()
                .write(v as kernel::ffi::c_ulong)
        };
    }

    fn flags(&self) -> u64 {
        self.0.flags as u64
    }

    fn set_flags(&mut self, f: u64) {
        // Only the status flags differ from what the task had.
        self.0.flags = f as usize;
    }

    fn read(&mut self, addr: u64, size: u8) -> Option<u64> {
        if size == 8 {
            // The common case, as the stack of an emulated `push`.
            return user::read_u64(addr);
        }
        let mut b = [0u8; 8];
        let n = usize::from(size).min(8);
        user::read_nofault(addr, &mut b[..n], true).then(|| u64::from_le_bytes(b))
    }

    fn write(&mut self, addr: u64, size: u8, v: u64) -> bool {
        if size == 8 {
            return user::write_u64(addr, v);
        }
        let n = usize::from(size).min(8);
        user::write_nofault(addr, &v.to_le_bytes()[..n])
    }
}

/// Runs an emulated instruction at `bp` (`len` bytes); false if it cannot
/// be done here (its stack write would fault): then it is stepped.
#[inline(always)]
pub(super) fn emulate(e: &Emulation, regs: &mut pt_regs, bp: u64, len: u8) -> bool {
    let next = bp.wrapping_add(u64::from(len));
    match *e {
        Emulation::Nop => regs.ip = next as usize,
        Emulation::Push { reg } => {
            let v = gpr(regs, reg);
            let sp = (regs.sp as u64).wrapping_sub(8);
            if !user::write_u64(sp, v) {
                return false;
            }
            regs.sp = sp as usize;
            regs.ip = next as usize;
        }
        Emulation::Mov { dst, src, wide } => {
            let v = gpr(regs, src);
            set_gpr(regs, dst, if wide { v } else { v & 0xffff_ffff });
            regs.ip = next as usize;
        }
        Emulation::Jmp { rel } => regs.ip = next.wrapping_add(i64::from(rel) as u64) as usize,
        Emulation::Call { rel } => {
            let sp = (regs.sp as u64).wrapping_sub(8);
            if !user::write_u64(sp, next) {
                return false;
            }
            regs.sp = sp as usize;
            regs.ip = next.wrapping_add(i64::from(rel) as u64) as usize;
        }
        Emulation::Exec { ref plan, .. } => {
            // The common forms here; the others out of line.
            match emul::exec_fast(plan, &mut User(regs), next) {
                Some(Ok(rip)) => regs.ip = rip as usize,
                Some(Err(_)) => return false,
                None => return exec(plan, regs, bp, len),
            }
        }
        Emulation::Jcc { cond, rel } => {
            let to = if emul::condition(cond, regs.flags as u64) {
                next.wrapping_add(i64::from(rel) as u64)
            } else {
                next
            };
            regs.ip = to as usize;
        }
    }
    true
}

/// [`emulate`] of an instruction the emulator runs (out of line: the
/// emulations above stay a few instructions in the trap handler).
#[inline(never)]
fn exec(plan: &emul::Plan, regs: &mut pt_regs, bp: u64, len: u8) -> bool {
    match emul::exec(plan, &mut User(regs), bp, len) {
        Ok(rip) => {
            regs.ip = rip as usize;
            true
        }
        Err(_) => false,
    }
}

/// The fix-ups of a step of an instruction with this verdict: an emulated
/// one is stepped as well when the task has TF set (or a stack write would
/// fault); it is relative to its address, and a `call` pushes it.
pub(super) fn step_fixups(v: Verdict) -> Fixups {
    match v {
        Verdict::Emulate(Emulation::Call { .. }) => Fixups::IP.with(Fixups::CALL_RET_ADDR),
        Verdict::Emulate(Emulation::Jmp { .. } | Emulation::Jcc { .. }) => {
            Fixups::IP.with(Fixups::BRANCH_REL)
        }
        Verdict::Emulate(Emulation::Exec { fixups, .. }) => fixups,
        Verdict::Emulate(_) => Fixups::IP,
        v => v.fixups(),
    }
}

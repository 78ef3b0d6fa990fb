// SPDX-License-Identifier: GPL-2.0

//! The trampoline's stubs as the rest of return probes sees them: how many
//! there are ([`NSTUBS`]: one per return instance), where they are (the
//! symbols the asm of [`super::trampoline`] defines), which instance a stub
//! address belongs to, and the return-address slot an entry hijacks
//! ([`ReturnSlot`]).
//!
//! Context: any (address arithmetic; [`ReturnSlot`] in the entry handler).

use crate::sys::bindings::pt_regs;

/// Number of stubs, which is the number of return instances that can be in
/// flight at once over all return probes.
pub(crate) const NSTUBS: usize = 8192;
/// Bytes per stub (a `pushq imm32` and a `jmp rel32`, padded with `int3`).
pub(crate) const STUB_SIZE: usize = 16;

const _: () = assert!(NSTUBS % 64 == 0 && STUB_SIZE.is_power_of_two());

extern "C" {
    static rprobes_ret_tramp: [u8; 0];
    static rprobes_ret_stubs: [u8; 0];
    static rprobes_ret_stubs_end: [u8; 0];
}

/// Address of the first stub.
#[inline]
fn stubs_base() -> usize {
    // Only the address of the asm symbol is taken (no read).
    core::ptr::addr_of!(rprobes_ret_stubs) as usize
}

/// The address range of the trampoline and its stubs (for stack traces).
pub(crate) fn text_range() -> core::ops::Range<usize> {
    // Only the addresses of the asm symbols are taken (no read).
    core::ptr::addr_of!(rprobes_ret_tramp) as usize
        ..core::ptr::addr_of!(rprobes_ret_stubs_end) as usize
}

/// The instance index of a stub address, if `addr` is one.
#[inline]
pub(crate) fn stub_index(addr: usize) -> Option<usize> {
    let off = addr.wrapping_sub(stubs_base());
    (off % STUB_SIZE == 0 && off / STUB_SIZE < NSTUBS).then_some(off / STUB_SIZE)
}

/// The return-address slot of a function being entered.
///
/// # Invariants
///
/// `0` points to the return address pushed by the `call` that entered the
/// probed function, on the current task's kernel stack, and that function
/// has not returned yet.
pub(crate) struct ReturnSlot(*mut usize);

impl ReturnSlot {
    /// The slot of the function a kprobe at its entry interrupted.
    ///
    /// # Safety
    ///
    /// `regs` must be the register frame of a kprobe hit on the first
    /// instruction of a function (offset 0), in the handler of that hit:
    /// then `regs.sp` points to the return address, as for rethook.
    pub(crate) unsafe fn at_entry(regs: &pt_regs) -> Self {
        // INVARIANT: guaranteed by the caller.
        Self(regs.sp as *mut usize)
    }

    /// The return address currently in the slot.
    pub(crate) fn get(&self) -> usize {
        // SAFETY: The slot is a valid, aligned stack word (type invariant).
        unsafe { self.0.read() }
    }

    /// The slot's address (the entry stack pointer).
    pub(crate) fn addr(&self) -> usize {
        self.0 as usize
    }

    /// Makes the function return into stub `idx`.
    pub(crate) fn hijack(self, idx: usize) {
        debug_assert!(idx < NSTUBS);
        // SAFETY: The slot is a valid, writable stack word of the current
        // task (type invariant); the function will `ret` through it, and
        // stub `idx` is code that restores the real address (its instance
        // was filled in by the caller).
        unsafe { self.0.write(stubs_base() + (idx % NSTUBS) * STUB_SIZE) };
    }
}

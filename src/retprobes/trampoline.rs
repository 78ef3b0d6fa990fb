// SPDX-License-Identifier: GPL-2.0

//! The x86_64 return trampoline of return probes, in `global_asm!`.
//!
//! An entry handler replaces the return address of the probed function
//! with the address of one *stub* (see [`ReturnSlot::hijack`]). There are
//! [`NSTUBS`] stubs of [`STUB_SIZE`] bytes each; stub `i` belongs to return
//! instance `i` ([`super::instances`]), so the trampoline finds its instance in
//! O(1), without a lock, without knowing the task:
//!
//! ```text
//! stub i:   pushq $stub_i            # the slot the function returned from
//!           jmp   rprobes_ret_tramp  # gets a value again: a fake return address
//! tramp:    push  ss, sp, flags; room for cs, ip, orig_ax; push di ... r15
//!           call  rprobes_ret_handler(&pt_regs)
//!           pop   r15 ... di; skip orig_ax .. sp
//!           popfq                    # flags (copied into the ss slot)
//!           ret                      # to the real return address
//! ```
//!
//! The handler turns the fake return address into the real one *in the
//! stack slot*, so the unwinder (ORC, with the hints below) walks from the
//! handler through the trampoline straight into the real caller. It fills a
//! complete `struct pt_regs`: every general register as the function left
//! it, `flags`, `sp` as the caller sees it, `ip` = the real return address,
//! `cs`/`ss` = kernel selectors and `orig_ax` = -1. Every register and the
//! flags are restored afterwards, whatever the calling convention says.
//!
//! Every frame offset used by the asm is a `const` computed with
//! `offset_of!`/`size_of` on the bindgen `pt_regs`, and the push order is
//! checked against that structure at compile time (see [`super::frame`]).
//!
//! Context: the stubs and the trampoline run in whatever context the probed
//! function returned in; the handler takes no lock (see [`super::handler`]).

use super::frame::frame_matches;
use super::stubs::{stub_index, NSTUBS, STUB_SIZE};
use super::{handler, instances};
use crate::sys::bindings::{self as kbind, pt_regs};
use core::mem::{offset_of, size_of};

/// Field offsets of the bindgen `pt_regs`, in the trampoline's frame order
/// ([`super::frame::FRAME_ORDER`]).
#[allow(dead_code)] // Read by the `const` assertion below only.
const OFFSETS: [usize; 21] = [
    offset_of!(pt_regs, r15),
    offset_of!(pt_regs, r14),
    offset_of!(pt_regs, r13),
    offset_of!(pt_regs, r12),
    offset_of!(pt_regs, bp),
    offset_of!(pt_regs, bx),
    offset_of!(pt_regs, r11),
    offset_of!(pt_regs, r10),
    offset_of!(pt_regs, r9),
    offset_of!(pt_regs, r8),
    offset_of!(pt_regs, ax),
    offset_of!(pt_regs, cx),
    offset_of!(pt_regs, dx),
    offset_of!(pt_regs, si),
    offset_of!(pt_regs, di),
    offset_of!(pt_regs, orig_ax),
    offset_of!(pt_regs, ip),
    offset_of!(pt_regs, __bindgen_anon_1), // cs
    offset_of!(pt_regs, flags),
    offset_of!(pt_regs, sp),
    offset_of!(pt_regs, __bindgen_anon_2), // ss
];

const _: () = assert!(
    frame_matches(&OFFSETS, size_of::<pt_regs>()),
    "pt_regs does not match the trampoline's push order"
);

/// Bytes the asm reserves for `cs`, `ip` and `orig_ax` below `flags`.
const SKIP_CS_IP_ORIG_AX: usize = offset_of!(pt_regs, flags) - offset_of!(pt_regs, orig_ax);
/// Bytes the asm skips after popping `di`: `orig_ax` up to (not incl.) `ss`.
const SKIP_TO_SS: usize = offset_of!(pt_regs, __bindgen_anon_2) - offset_of!(pt_regs, orig_ax);
const _: () = assert!(SKIP_CS_IP_ORIG_AX == 3 * 8 && SKIP_TO_SS == 5 * 8);

/// The trampoline and its stubs, with `$ret` as the return instruction.
macro_rules! trampoline {
    ($ret:literal) => {
        core::arch::global_asm!(
            // objtool unwind hint (`UNWIND_HINT` of <linux/objtool.h>).
            ".macro rprobes_unwind_hint type:req sp_reg=0 sp_offset=0",
            ".Lrprobes_hint_\\@:",
            ".pushsection .discard.unwind_hints",
            ".long .Lrprobes_hint_\\@ - .",
            ".short \\sp_offset",
            ".byte \\sp_reg",
            ".byte \\type",
            ".byte 0",
            ".balign 4",
            ".popsection",
            ".endm",
            ".pushsection .text.rprobes_ret_tramp, \"ax\", @progbits",
            ".globl rprobes_ret_tramp",
            ".type rprobes_ret_tramp, @function",
            ".balign 16",
            "rprobes_ret_tramp:",
            // [rsp] = the fake return address pushed by a stub.
            "pushq ${kernel_ds}",
            "pushq %rsp",
            "pushfq",
            "subq ${skip_cs_ip}, %rsp",
            "pushq %rdi",
            "pushq %rsi",
            "pushq %rdx",
            "pushq %rcx",
            "pushq %rax",
            "pushq %r8",
            "pushq %r9",
            "pushq %r10",
            "pushq %r11",
            "pushq %rbx",
            "pushq %rbp",
            "pushq %r12",
            "pushq %r13",
            "pushq %r14",
            "pushq %r15",
            "movq %rsp, %rdi",
            "call {handler}",
            "popq %r15",
            "popq %r14",
            "popq %r13",
            "popq %r12",
            "popq %rbp",
            "popq %rbx",
            "popq %r11",
            "popq %r10",
            "popq %r9",
            "popq %r8",
            "popq %rax",
            "popq %rcx",
            "popq %rdx",
            "popq %rsi",
            "popq %rdi",
            // The handler copied `flags` into the `ss` slot.
            "addq ${skip_to_ss}, %rsp",
            "popfq",
            $ret,
            "int3",
            ".balign {stub_size}, 0xcc",
            ".globl rprobes_ret_stubs",
            "rprobes_ret_stubs:",
            ".rept {nstubs}",
            // Entered by `ret`: the function has returned, and where to
            // (and the caller's frame) only the instance knows. An
            // interrupt taken right here must stop the unwinder, not send
            // it on from the slot just popped: with a CALL hint (sp + 0)
            // the next frame's sp equals this one's, and ORC reports
            // "stack going in the wrong direction" (seen on the debug
            // kernel, where interrupts unwind for KASAN and kmemleak).
            // UNDEFINED ends the trace there, marked unreliable.
            "rprobes_unwind_hint type={hint_undefined}",
            "1: pushq $1b",
            "rprobes_unwind_hint type={hint_func} sp_reg={orc_sp} sp_offset=8",
            "jmp rprobes_ret_tramp",
            ".balign {stub_size}, 0xcc",
            ".endr",
            ".globl rprobes_ret_stubs_end",
            "rprobes_ret_stubs_end:",
            ".size rprobes_ret_tramp, . - rprobes_ret_tramp",
            ".popsection",
            // Never probe the trampoline, its stubs or its handler
            // (kprobes reads a module's `_kprobe_blacklist` section, like
            // NOKPROBE_SYMBOL). An entry covers its symbol's kallsyms
            // extent, which for a module symbol ends at the next symbol:
            // `rprobes_ret_tramp` stops at `rprobes_ret_stubs`, so the
            // stubs need their own entry (without it, `p rprobes_ret_stubs`
            // was accepted; a return probe there would take the word
            // above the popped return address for one; test
            // kprobes/limits).
            ".pushsection _kprobe_blacklist, \"aw\"",
            ".balign 8",
            ".quad rprobes_ret_tramp",
            ".quad rprobes_ret_stubs",
            ".quad {handler}",
            ".popsection",
            kernel_ds = const kbind::RPROBES_KERNEL_DS,
            skip_cs_ip = const SKIP_CS_IP_ORIG_AX,
            skip_to_ss = const SKIP_TO_SS,
            stub_size = const STUB_SIZE,
            nstubs = const NSTUBS,
            hint_undefined = const kbind::RPROBES_HINT_UNDEFINED,
            hint_func = const kbind::RPROBES_HINT_FUNC,
            orc_sp = const kbind::RPROBES_ORC_REG_SP,
            handler = sym rprobes_ret_handler,
            options(att_syntax)
        );
    };
}

#[cfg(CONFIG_MITIGATION_RETHUNK)]
trampoline!("jmp __x86_return_thunk");
#[cfg(not(CONFIG_MITIGATION_RETHUNK))]
trampoline!("ret");

/// Called by the trampoline with the frame it built.
///
/// # Safety
///
/// Only the trampoline calls this, with `regs` pointing to the `pt_regs`
/// it pushed, directly below the fake return address a stub pushed.
unsafe extern "C" fn rprobes_ret_handler(regs: *mut pt_regs) {
    // SAFETY: Per the function's contract the word right above the frame is
    // the fake return address (the address of the stub entered).
    let slot = unsafe { regs.add(1).cast::<usize>() };
    // SAFETY: `slot` is a valid stack word (see above).
    let stub = unsafe { slot.read() };
    let Some(idx) = stub_index(stub) else {
        // Cannot happen: only stubs jump here, and they push themselves.
        // There is no way to know where to return to.
        panic!("rprobes: return trampoline entered from {stub:#x}");
    };
    let real = instances::real_return(idx);
    // SAFETY: See above; the real address goes back where `ret` takes it
    // from (and where the unwinder looks for the caller).
    unsafe { slot.write(real) };
    // SAFETY: The trampoline passes its own, exclusively owned frame.
    let regs = unsafe { &mut *regs };
    regs.ip = real;
    regs.sp = slot as usize + 8;
    regs.orig_ax = !0;
    regs.__bindgen_anon_1.csx = u64::from(kbind::RPROBES_KERNEL_CS);
    handler::on_return(idx, regs);
    // `popfq` right before `ret` restores the flags from the `ss` slot.
    regs.__bindgen_anon_2.ssx = regs.flags as u64;
}

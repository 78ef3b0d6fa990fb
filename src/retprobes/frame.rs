// SPDX-License-Identifier: GPL-2.0

//! The frame the return trampoline builds, as a compile-time contract.
//!
//! The trampoline (`trampoline.rs`) builds a `struct pt_regs` with pushes,
//! from the highest field to the lowest, so the push order *is* a layout
//! assumption. [`FRAME_ORDER`] lists the fields from the lowest address up,
//! and [`frame_matches`] checks, in a `const` context, that the real
//! structure (offsets taken with `core::mem::offset_of!` on the bindgen
//! `pt_regs` of the kernel being built against) has exactly that layout. If
//! the kernel ever reorders `pt_regs`, the module fails to build instead of
//! silently saving registers into the wrong slots (the lesson of the arm64
//! kretprobe trampoline review).
//!
//! Pure `no_std` logic: the host tests (`tests/retlayout.rs`) show that a
//! mismatching layout is a build error.

/// Size of one saved register.
pub const WORD: usize = 8;

/// The `pt_regs` fields in the order the trampoline lays them out, lowest
/// address first (the reverse of the push order).
pub const FRAME_ORDER: [&str; 21] = [
    "r15", "r14", "r13", "r12", "bp", "bx", "r11", "r10", "r9", "r8", "ax", "cx", "dx", "si", "di",
    "orig_ax", "ip", "cs", "flags", "sp", "ss",
];

/// Index of a field in [`FRAME_ORDER`] (a `const fn`, for the asm operands).
pub const fn slot(name: &str) -> usize {
    let mut i = 0;
    while i < FRAME_ORDER.len() {
        if str_eq(FRAME_ORDER[i], name) {
            return i;
        }
        i += 1;
    }
    panic!("not a pt_regs field of the trampoline frame");
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Whether a structure whose fields (named as in [`FRAME_ORDER`], in that
/// order) sit at `offsets`, and whose size is `size`, is the frame the
/// trampoline builds: field `i` at `i * WORD`, nothing else in it.
pub const fn frame_matches(offsets: &[usize; 21], size: usize) -> bool {
    let mut i = 0;
    while i < offsets.len() {
        if offsets[i] != i * WORD {
            return false;
        }
        i += 1;
    }
    size == FRAME_ORDER.len() * WORD
}

/// Offset of a frame field in bytes, from the frame's start.
pub const fn offset(name: &str) -> usize {
    slot(name) * WORD
}

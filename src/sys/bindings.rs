// SPDX-License-Identifier: GPL-2.0

//! rprobes' own bindings: `<linux/kprobes.h>`, `<linux/ptrace.h>` and the C
//! shims of `src/shim/`, generated at build time by `scripts/gen-bindings`
//! with the kernel's own bindgen command line (allowlisted to what the
//! module uses), so that `struct kprobe` and `struct pt_regs` come from the
//! real headers of the kernel the module is built against.

#![allow(
    dead_code,
    missing_docs,
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    improper_ctypes,
    unreachable_pub,
    unsafe_op_in_unsafe_fn,
    clippy::all,
    clippy::as_underscore,
    clippy::cast_lossless,
    clippy::ptr_as_ptr,
    clippy::ref_as_ptr,
    clippy::undocumented_unsafe_blocks,
    rustdoc::all
)]

use kernel::ffi;
use pin_init::{MaybeZeroable, Zeroable};

// SAFETY: `__BindgenBitfieldUnit<Storage>` is a newtype around `Storage`
// (as in the kernel's own `bindings` crate).
unsafe impl<Storage> Zeroable for __BindgenBitfieldUnit<Storage> where Storage: Zeroable {}

include!("../../generated/sys_bindings.rs");

// The x86_64 `pt_regs` layout of the pure fetch-argument parser, checked at
// build time against the headers of the kernel the module is built for.
const _: () = {
    use crate::lang::fetch_arg::pt_regs as r;
    use core::mem::{offset_of, size_of};
    assert!(offset_of!(pt_regs, r15) == r::R15 as usize);
    assert!(offset_of!(pt_regs, r14) == r::R14 as usize);
    assert!(offset_of!(pt_regs, r13) == r::R13 as usize);
    assert!(offset_of!(pt_regs, r12) == r::R12 as usize);
    assert!(offset_of!(pt_regs, bp) == r::BP as usize);
    assert!(offset_of!(pt_regs, bx) == r::BX as usize);
    assert!(offset_of!(pt_regs, r11) == r::R11 as usize);
    assert!(offset_of!(pt_regs, r10) == r::R10 as usize);
    assert!(offset_of!(pt_regs, r9) == r::R9 as usize);
    assert!(offset_of!(pt_regs, r8) == r::R8 as usize);
    assert!(offset_of!(pt_regs, ax) == r::AX as usize);
    assert!(offset_of!(pt_regs, cx) == r::CX as usize);
    assert!(offset_of!(pt_regs, dx) == r::DX as usize);
    assert!(offset_of!(pt_regs, si) == r::SI as usize);
    assert!(offset_of!(pt_regs, di) == r::DI as usize);
    assert!(offset_of!(pt_regs, orig_ax) == r::ORIG_AX as usize);
    assert!(offset_of!(pt_regs, ip) == r::IP as usize);
    // `cs`/`csx` and `ss`/`ssx` are unions at the start of their slot.
    assert!(offset_of!(pt_regs, __bindgen_anon_1) == r::CS as usize);
    assert!(offset_of!(pt_regs, flags) == r::FLAGS as usize);
    assert!(offset_of!(pt_regs, sp) == r::SP as usize);
    assert!(offset_of!(pt_regs, __bindgen_anon_2) == r::SS as usize);
    assert!(size_of::<pt_regs>() == r::SIZE);
};

// `%pd`/`%pD` offsets of the kernel the module is built for: they change
// with its configuration (lockdep's spinlocks in front of `d_name` and
// `f_path`), so the pure parser takes them from here (`crate::vfs_layout`).
/// `offsetof(struct dentry, d_name.name)` (`d_name` is a member of an
/// anonymous union).
pub const DENTRY_NAME_OFFSET: u32 = {
    use kernel::bindings::{dentry, qstr};
    (core::mem::offset_of!(dentry, __bindgen_anon_1) + core::mem::offset_of!(qstr, name)) as u32
};
/// `offsetof(struct file, f_path.dentry)` (`f_path` is a member of an
/// anonymous union).
pub const FILE_DENTRY_OFFSET: u32 = {
    use kernel::bindings::{file, path};
    (core::mem::offset_of!(file, __bindgen_anon_1) + core::mem::offset_of!(path, dentry)) as u32
};

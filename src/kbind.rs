// SPDX-License-Identifier: GPL-2.0

//! rprobes' own bindings: `<linux/kprobes.h>`, `<linux/ptrace.h>` and the C
//! shim, generated at build time by `scripts/gen-bindings` with the kernel's
//! own bindgen command line, so that `struct kprobe` and `struct pt_regs`
//! come from the real headers of the kernel the module is built against.

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

include!("../generated/kbind_generated.rs");

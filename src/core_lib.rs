// SPDX-License-Identifier: GPL-2.0

//! Host build of rprobes' pure logic.
//!
//! The same files are `mod`s of the kernel module's crate root
//! (`rprobes_main.rs`); here they form a plain `no_std` library so that
//! `cargo test` can exercise them without a kernel.

#![no_std]

pub mod fetch_arg;
pub mod fetch_fmt;
pub mod hist;
pub mod insn;
pub mod kallsyms;
pub mod probe_line;
pub mod retlayout;
pub mod uprobe_target;

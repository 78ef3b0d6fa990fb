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

/// Kernel structure offsets the pure code needs. The module's crate root
/// takes them from the headers of the kernel it is built for (`kbind.rs`);
/// here they are the x86_64 values of a kernel without lock debugging (the
/// guest kernel of `qemu/kernel.config`), which the host tests expect.
pub mod vfs_layout {
    /// `offsetof(struct dentry, d_name.name)`.
    pub const DENTRY_NAME_OFFSET: u32 = 0x28;
    /// `offsetof(struct file, f_path.dentry)`.
    pub const FILE_DENTRY_OFFSET: u32 = 0x48;
}

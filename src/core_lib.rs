// SPDX-License-Identifier: GPL-2.0

//! Host build of rprobes' pure logic.
//!
//! The same files are modules of the kernel module's crate root
//! (`rprobes_main.rs`), at the same paths: here they form a plain `no_std`
//! library so that `cargo test` and the fuzzers exercise them without a
//! kernel. Only leaf files are shared; nothing here may name a module that
//! needs the kernel.

#![no_std]

pub mod insn;
pub mod lang;

/// The pure parts of return probes.
pub mod retprobes {
    pub mod frame;
    pub mod hist;
}

/// Kernel structure offsets the pure code needs. The module's crate root
/// takes them from the headers of the kernel it is built for (`sys`);
/// here they are the x86_64 values of a kernel without lock debugging (the
/// guest kernel of `qemu/kernel.config`), which the host tests expect.
pub mod vfs_layout {
    /// `offsetof(struct dentry, d_name.name)`.
    pub const DENTRY_NAME_OFFSET: u32 = 0x28;
    /// `offsetof(struct file, f_path.dentry)`.
    pub const FILE_DENTRY_OFFSET: u32 = 0x48;
}

/// The kernel stack's size: 16 KiB, x86_64's without KASAN (the module's
/// crate root takes the value of the kernel it is built for).
pub mod stack_layout {
    /// `THREAD_SIZE`.
    pub const THREAD_SIZE: usize = 16384;
}

// SPDX-License-Identifier: GPL-2.0

//! A regular file read by path, for the ELF symbol reader
//! ([`crate::lang::elf`]) of `PID:PATH:SYMBOL[+OFF]`: opened read-only as
//! the writer (current) would open it, read with `kernel_read` through
//! [`ReadAt`]. The 7.3 `kernel` crate has `fs::File` for descriptors only
//! (no open by path, no read), so the calls are in `src/shim/file.c`.
//!
//! Context: process context only (path lookup, page cache reads sleep).

use super::bindings;
use crate::lang::elf::ReadAt;
use core::ptr::NonNull;
use kernel::prelude::*;

/// An open regular file (a reference on its `struct file`).
pub(crate) struct RoFile {
    file: NonNull<kernel::ffi::c_void>,
    size: u64,
}

impl RoFile {
    /// Opens `path` read-only as current would (its root, credentials,
    /// permissions); anything but a regular file is `EACCES` and is not
    /// opened. Sleeps.
    pub(crate) fn open(path: &str) -> Result<Self> {
        let mut size = 0u64;
        // SAFETY: `path` is `path.len()` readable bytes; `size` is
        // writable.
        let f = unsafe { bindings::rprobes_file_open(path.as_ptr().cast(), path.len(), &mut size) };
        let e = f as isize;
        if (-4095..0).contains(&e) {
            return Err(Error::from_errno(e as i32));
        }
        let file = NonNull::new(f).ok_or(ENOENT)?;
        Ok(Self { file, size })
    }

    /// The file's size when it was opened.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// The file's inode, with a reference of its own.
    pub(crate) fn inode(&self) -> Inode {
        // SAFETY: `self.file` is an open file (our reference); the shim
        // takes a reference on its inode for the result.
        let raw = unsafe { bindings::rprobes_file_inode(self.file.as_ptr()) };
        // INVARIANT: The reference just taken.
        Inode(raw)
    }
}

/// An inode with a reference (`ihold`) of its own: the key of a path
/// probe's file, which cannot be reused for another file while it is held.
///
/// # Invariants
///
/// `self.0` is an inode this object holds a reference on.
pub(crate) struct Inode(*mut kernel::ffi::c_void);

// SAFETY: An inode reference may be dropped from any task (process
// context); the pointer is only compared otherwise.
unsafe impl Send for Inode {}
// SAFETY: As above.
unsafe impl Sync for Inode {}

impl Inode {
    /// The inode's address (its key; compared, never dereferenced).
    pub(crate) fn key(&self) -> usize {
        self.0 as usize
    }

    /// The raw pointer, for the shim's checks.
    pub(crate) fn as_ptr(&self) -> *mut kernel::ffi::c_void {
        self.0
    }
}

impl Drop for Inode {
    fn drop(&mut self) {
        // SAFETY: Our reference (type invariant), dropped once; process
        // context (a probe is freed under the registry mutex).
        unsafe { bindings::rprobes_iput(self.0) }
    }
}

impl ReadAt for RoFile {
    fn read_at(&mut self, off: u64, buf: &mut [u8]) -> Result<usize, i32> {
        // SAFETY: `self.file` is an open file (our reference); `buf` is
        // writable for its length.
        let n = unsafe {
            bindings::rprobes_file_read(self.file.as_ptr(), off, buf.as_mut_ptr().cast(), buf.len())
        };
        if n < 0 {
            Err(-(n as i32))
        } else {
            Ok(n as usize)
        }
    }
}

impl Drop for RoFile {
    fn drop(&mut self) {
        // SAFETY: The reference taken by `rprobes_file_open`, dropped once.
        unsafe { bindings::rprobes_file_close(self.file.as_ptr()) }
    }
}

// SPDX-License-Identifier: GPL-2.0

//! debugfs control files with tracefs semantics.
//!
//! The kernel crate's `debugfs` abstraction is built on `seq_file` with one
//! write callback per `write(2)`; it has no `open()` hook, so it cannot see
//! `O_TRUNC` (tracefs' `>` clears the list, `>>` appends) nor keep per-open
//! state for lines split across writes. This file is the thin `unsafe`
//! layer that provides both on top of `debugfs_create_file_full()`; what a
//! file does is the safe [`Control`] implementation.
//!
//! Semantics of every control file:
//! - `open()` is refused (`EPERM`) under kernel lockdown at
//!   `confidentiality`, as tracefs refuses its files (`LOCKDOWN_TRACEFS`),
//!   and opening for writing needs `CAP_SYS_ADMIN` (`EPERM`), checked with
//!   the opener's credentials (`f_cred`) before anything else (`O_TRUNC`
//!   included); see `Documentation/rprobes/security.rst`;
//! - reading returns a snapshot taken at `open()`, taken again by a seek to
//!   the start (`lseek(fd, 0, SEEK_SET)`: a `seq_file` of tracefs shows
//!   fresh contents when read from the start again);
//! - opening for writing with `O_TRUNC` calls [`Control::truncate`];
//! - written bytes are split into lines; each complete line is executed at
//!   once and the first failing line fails the `write(2)` with its errno;
//! - an unterminated last line is kept and completed by the next write on
//!   the same open file, or executed at `close()` (its error, if any, then
//!   goes to `error_log` only, since `close(2)` cannot report it);
//! - a line longer than [`MAX_LINE_LEN`] fails with `E2BIG` and is dropped.
//!
//! Lock order: an open file's own mutex (`OpenFile`) is taken before any
//! lock of the [`Control`] implementation. Context: process context (file
//! operations), sleepable.

use crate::lang::line::MAX_LINE_LEN;
use crate::sys::security::{self, Lockdown};
use core::marker::PhantomData;
use kernel::{
    bindings,
    ffi::{c_char, c_int, c_void},
    new_mutex,
    prelude::*,
    str::CStr,
    sync::Mutex,
    uaccess::{UserPtr, UserSlice},
};

/// Growable text buffer that control files render into (`kvmalloc`ed:
/// `trace` can be megabytes).
#[derive(Default)]
pub(crate) struct Text(pub(crate) KVVec<u8>);

impl core::fmt::Write for Text {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        // No allocation-failure report: the open fails with ENOMEM, and a
        // failed vmalloc would print a stack trace.
        self.0
            .extend_from_slice(
                s.as_bytes(),
                GFP_KERNEL | kernel::alloc::flags::__GFP_NOWARN,
            )
            .map_err(|_| core::fmt::Error)
    }
}

/// What a control file does.
pub(crate) trait Control: 'static {
    /// The object the file operates on (the `i_private` of the inode).
    type Data: Sync + 'static;
    /// Whether the file accepts writes (its mode then includes 0200).
    const WRITABLE: bool;
    /// Renders the file's contents.
    fn show(data: &Self::Data, out: &mut Text) -> core::fmt::Result;
    /// The file was opened for writing with `O_TRUNC`.
    fn truncate(_data: &Self::Data) -> Result {
        Ok(())
    }
    /// Executes one line (without its newline). Also called with the
    /// unterminated remainder at `close()`.
    fn write_line(_data: &Self::Data, _line: &[u8]) -> Result {
        Err(EINVAL)
    }
    /// A line grew past [`MAX_LINE_LEN`]; returns the error for `write(2)`.
    fn line_too_long(_data: &Self::Data) -> Error {
        E2BIG
    }
    /// A stream (`trace_pipe`): reads consume what [`Self::stream_next`]
    /// produces and block (unless `O_NONBLOCK`) while it has nothing; the
    /// file supports `poll`. `show` is not used.
    const STREAM: bool = false;
    /// Appends the next records to `out` (nothing: none right now).
    fn stream_next(_data: &Self::Data, _out: &mut Text) -> Result {
        Ok(())
    }
    /// Sleeps until [`Self::stream_next`] may have more (`ERESTARTSYS` on a
    /// signal).
    fn stream_wait(_data: &Self::Data) -> Result {
        Ok(())
    }
    /// `poll`: registers on the stream's wait queue, returns the mask.
    ///
    /// # Safety
    ///
    /// `file` and `pt` are the arguments of a VFS `poll` call.
    unsafe fn stream_poll(
        _data: &Self::Data,
        _file: *mut bindings::file,
        _pt: *mut bindings::poll_table_struct,
    ) -> u32 {
        0
    }
}

/// Per-open state: the read snapshot and the partial line being written.
struct OpenFile {
    snapshot: KVVec<u8>,
    /// Streams: bytes of `snapshot` already read.
    off: usize,
    pending: KVec<u8>,
    /// The pending line overflowed: skip input up to the next newline.
    overflow: bool,
}

/// `file_operations` for a [`Control`] type.
struct Fops<C: Control>(PhantomData<C>);

/// `f_mode` bits (`include/linux/fs.h`; plain values, stable in the ABI).
const FMODE_READ: u32 = 1 << 0;
const FMODE_WRITE: u32 = 1 << 1;

impl<C: Control> Fops<C> {
    const VTABLE: bindings::file_operations = bindings::file_operations {
        owner: kernel::module::this_module::<crate::LocalModule>().as_ptr(),
        open: Some(Self::open),
        read: Some(Self::read),
        write: if C::WRITABLE { Some(Self::write) } else { None },
        release: Some(Self::release),
        // A stream has no position: `lseek` fails with ESPIPE.
        llseek: if C::STREAM { None } else { Some(Self::llseek) },
        poll: if C::STREAM { Some(Self::poll) } else { None },
        ..pin_init::zeroed()
    };

    /// # Safety
    ///
    /// Called by the VFS with a valid `inode` of a file created by
    /// [`Dir::file`] (so `i_private` is a `&'static C::Data`) and a valid
    /// `file` being opened.
    unsafe extern "C" fn open(inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
        // SAFETY: See the function's safety section.
        let data = unsafe { &*(*inode).i_private.cast::<C::Data>() };
        // SAFETY: `file` is valid during open.
        let (mode, flags) = unsafe { ((*file).f_mode, (*file).f_flags) };
        // Who may open, before anything happens (a refused `O_TRUNC` open
        // clears nothing): tracefs' `tracing_check_open_get_tr()`, then
        // the capability rprobes asks of writers.
        if let Err(e) = security::locked_down(Lockdown::Tracefs) {
            return e.to_errno();
        }
        // SAFETY: `file` is being opened: valid.
        if mode & FMODE_WRITE != 0 && !unsafe { security::opener_is_admin(file) } {
            return EPERM.to_errno();
        }
        // The per-open state first: once the file is truncated, the open
        // must not fail for lack of memory for it.
        let init = new_mutex!(OpenFile {
            snapshot: KVVec::new(),
            off: 0,
            pending: KVec::new(),
            overflow: false,
        });
        let b = match KBox::pin_init(init, GFP_KERNEL) {
            Ok(b) => b,
            Err(e) => return e.to_errno(),
        };
        if mode & FMODE_WRITE != 0 && flags & bindings::O_TRUNC != 0 {
            if let Err(e) = C::truncate(data) {
                return e.to_errno();
            }
        }
        if mode & FMODE_READ != 0 && !C::STREAM {
            let mut text = Text::default();
            if C::show(data, &mut text).is_err() {
                return ENOMEM.to_errno();
            }
            b.lock().snapshot = text.0;
        }
        // SAFETY: `file` is valid; `private_data` is ours until `release`,
        // which turns it back into the box. The box is never moved out of
        // (we only hand out `Pin` access).
        unsafe { (*file).private_data = KBox::into_raw(Pin::into_inner_unchecked(b)).cast() };
        0
    }

    /// `lseek`: as `default_llseek()`; a seek to the start of a file open
    /// for reading takes its snapshot again (what was read before stays
    /// as it was if that fails for lack of memory: `ENOMEM`).
    ///
    /// # Safety
    ///
    /// VFS `llseek` contract: `file` is open (by [`Self::open`]).
    unsafe extern "C" fn llseek(
        file: *mut bindings::file,
        offset: bindings::loff_t,
        whence: c_int,
    ) -> bindings::loff_t {
        // SAFETY: `file` is open.
        let mode = unsafe { (*file).f_mode };
        if offset == 0 && whence == bindings::SEEK_SET as c_int && mode & FMODE_READ != 0 {
            // SAFETY: `file` is open and its inode's `i_private` is the data.
            let data = unsafe { &*(*(*file).f_inode).i_private.cast::<C::Data>() };
            let mut text = Text::default();
            if C::show(data, &mut text).is_err() {
                return ENOMEM.to_errno().into();
            }
            // SAFETY: See the function's safety section.
            unsafe { Self::state(file) }.lock().snapshot = text.0;
        }
        // SAFETY: The VFS `llseek` arguments, passed on.
        unsafe { bindings::default_llseek(file, offset, whence) }
    }

    /// # Safety
    ///
    /// `file` was opened by [`Self::open`] and not yet released.
    unsafe fn state<'a>(file: *mut bindings::file) -> &'a Mutex<OpenFile> {
        // SAFETY: `open` stored a live `KBox<Mutex<OpenFile>>` there that is
        // freed only by `release`, after the last read/write returned.
        unsafe { &*(*file).private_data.cast::<Mutex<OpenFile>>() }
    }

    /// # Safety
    ///
    /// VFS `read` contract: `file` is open (by [`Self::open`]), `buf` is a
    /// user pointer of `count` bytes and `ppos` a valid position pointer.
    unsafe extern "C" fn read(
        file: *mut bindings::file,
        buf: *mut c_char,
        count: usize,
        ppos: *mut bindings::loff_t,
    ) -> isize {
        if C::STREAM {
            // SAFETY: See the function's safety section.
            let (data, state, flags) = unsafe {
                (
                    &*(*(*file).f_inode).i_private.cast::<C::Data>(),
                    Self::state(file),
                    (*file).f_flags,
                )
            };
            let w = UserSlice::new(UserPtr::from_ptr(buf.cast()), count).writer();
            let nonblock = flags & bindings::O_NONBLOCK != 0;
            return match Self::stream_read(data, state, w, count, nonblock) {
                Ok(n) => n as isize,
                Err(e) => e.to_errno() as isize,
            };
        }
        // SAFETY: See the function's safety section.
        let of = unsafe { Self::state(file) }.lock();
        // SAFETY: `buf`/`count`/`ppos` come from the VFS; the source is our
        // snapshot, valid for `len` bytes while the lock is held.
        unsafe {
            bindings::simple_read_from_buffer(
                buf.cast(),
                count,
                ppos,
                of.snapshot.as_ptr().cast(),
                of.snapshot.len(),
            )
        }
    }

    fn stream_read(
        data: &C::Data,
        state: &Mutex<OpenFile>,
        mut w: kernel::uaccess::UserSliceWriter,
        count: usize,
        nonblock: bool,
    ) -> Result<usize> {
        if count == 0 {
            return Ok(0);
        }
        loop {
            let mut of = state.lock();
            if of.off < of.snapshot.len() {
                let n = count.min(of.snapshot.len() - of.off);
                w.write_slice(&of.snapshot[of.off..of.off + n])?;
                of.off += n;
                return Ok(n);
            }
            let mut t = Text(core::mem::take(&mut of.snapshot));
            t.0.clear();
            of.off = 0;
            let r = C::stream_next(data, &mut t);
            of.snapshot = t.0;
            r?;
            if !of.snapshot.is_empty() {
                continue;
            }
            drop(of);
            if nonblock {
                return Err(EAGAIN);
            }
            C::stream_wait(data)?;
        }
    }

    /// # Safety
    ///
    /// VFS `poll` contract: `file` was opened by [`Self::open`].
    unsafe extern "C" fn poll(
        file: *mut bindings::file,
        pt: *mut bindings::poll_table_struct,
    ) -> bindings::__poll_t {
        // SAFETY: `file` is open; its inode's `i_private` is the data.
        let data = unsafe { &*(*(*file).f_inode).i_private.cast::<C::Data>() };
        // SAFETY: See the function's safety section.
        let of = unsafe { Self::state(file) }.lock();
        if of.off < of.snapshot.len() {
            return crate::sys::bindings::RPROBES_POLL_READABLE;
        }
        drop(of);
        // SAFETY: The VFS `poll` arguments, passed on.
        unsafe { C::stream_poll(data, file, pt) }
    }

    /// # Safety
    ///
    /// VFS `write` contract: `file` is open (by [`Self::open`]), `buf` is a
    /// user pointer of `count` bytes.
    unsafe extern "C" fn write(
        file: *mut bindings::file,
        buf: *const c_char,
        count: usize,
        _ppos: *mut bindings::loff_t,
    ) -> isize {
        // SAFETY: `file` is open and its inode's `i_private` is the data.
        let data = unsafe { &*(*(*file).f_inode).i_private.cast::<C::Data>() };
        // SAFETY: See the function's safety section.
        let state = unsafe { Self::state(file) };
        let reader = UserSlice::new(UserPtr::from_ptr(buf as *mut c_void), count).reader();
        match Self::feed(data, state, reader) {
            Ok(()) => count as isize,
            Err(e) => e.to_errno() as isize,
        }
    }

    fn feed(
        data: &C::Data,
        state: &Mutex<OpenFile>,
        mut reader: kernel::uaccess::UserSliceReader,
    ) -> Result {
        let mut of = state.lock();
        // The partial line as it was before this write: a write that fails
        // to copy or to buffer its bytes (EFAULT, ENOMEM) leaves it so,
        // or `release` would run the truncated line as if it were whole.
        let mut kept = of.pending.len();
        let r = Self::feed_locked(data, &mut of, &mut kept, &mut reader);
        if r.is_err() && !of.overflow {
            of.pending.truncate(kept);
        }
        r
    }

    /// [`Self::feed`] under the lock; `kept` drops to 0 once a line of
    /// this write has run (the rest of `pending` is then this write's own).
    fn feed_locked(
        data: &C::Data,
        of: &mut OpenFile,
        kept: &mut usize,
        reader: &mut kernel::uaccess::UserSliceReader,
    ) -> Result {
        let mut chunk = [0u8; 256];
        while !reader.is_empty() {
            let n = reader.len().min(chunk.len());
            reader.read_slice(&mut chunk[..n])?;
            for &b in &chunk[..n] {
                if b == b'\n' {
                    if core::mem::take(&mut of.overflow) {
                        continue;
                    }
                    *kept = 0;
                    let r = C::write_line(data, &of.pending);
                    of.pending.clear();
                    r?;
                } else if of.overflow {
                    continue;
                } else if of.pending.len() >= MAX_LINE_LEN {
                    // Report it once, keep skipping until the newline.
                    of.overflow = true;
                    of.pending.clear();
                    return Err(C::line_too_long(data));
                } else {
                    of.pending.push(b, GFP_KERNEL)?;
                }
            }
        }
        Ok(())
    }

    /// # Safety
    ///
    /// VFS `release` contract: called once, after the last read/write on
    /// `file`, which was opened by [`Self::open`].
    unsafe extern "C" fn release(inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
        // SAFETY: `open` stored a `KBox<Mutex<OpenFile>>` in `private_data`
        // and nothing else uses it any more.
        let state = unsafe { KBox::from_raw((*file).private_data.cast::<Mutex<OpenFile>>()) };
        let of = state.lock();
        if !of.pending.is_empty() && !of.overflow {
            // SAFETY: The inode is that of a file made by `Dir::file`.
            let data = unsafe { &*(*inode).i_private.cast::<C::Data>() };
            // The error (if any) is recorded by `write_line` in error_log.
            let _ = C::write_line(data, &of.pending);
        }
        0
    }
}

/// Owning handle of a debugfs directory: removed (with its files) on drop.
///
/// # Invariants
///
/// `dentry` is a valid debugfs directory created by this object.
pub(crate) struct Dir {
    dentry: *mut bindings::dentry,
}

// SAFETY: A dentry pointer may be used and removed from any thread.
unsafe impl Send for Dir {}
// SAFETY: `&Dir` only creates files, which debugfs serialises itself.
unsafe impl Sync for Dir {}

impl Dir {
    /// Creates `/sys/kernel/debug/<name>`.
    pub(crate) fn new(name: &CStr) -> Result<Self> {
        // SAFETY: `name` is a valid C string; a null parent means the root.
        let d = unsafe { bindings::debugfs_create_dir(name.as_char_ptr(), core::ptr::null_mut()) };
        // The kernel's error (ENOMEM, ...); ENODEV if there is no debugfs.
        let d = kernel::error::from_err_ptr(d)?;
        if d.is_null() {
            return Err(ENODEV);
        }
        // INVARIANT: `d` is a valid directory we own.
        Ok(Self { dentry: d })
    }

    /// Creates a control file backed by `C` on `data`.
    ///
    /// The file is removed with the directory, before `Dir` is dropped;
    /// `data` is `'static` from debugfs' point of view: the caller keeps it
    /// alive until the `Dir` is dropped (debugfs removal waits for running
    /// file operations, and the module reference held by open files keeps
    /// the module, and so `data`, alive until they are closed).
    pub(crate) fn file<C: Control>(&self, name: &CStr, data: &C::Data) -> Result {
        let mode: u16 = if C::WRITABLE { 0o600 } else { 0o400 };
        // SAFETY: `name` is a valid C string, `dentry` a valid directory
        // (type invariant), the vtable is `'static` and `data` outlives the
        // file (see above).
        let f = unsafe {
            bindings::debugfs_create_file_full(
                name.as_char_ptr(),
                mode,
                self.dentry,
                core::ptr::from_ref(data).cast_mut().cast(),
                core::ptr::null(),
                &Fops::<C>::VTABLE,
            )
        };
        if kernel::error::from_err_ptr(f)?.is_null() {
            return Err(ENODEV);
        }
        Ok(())
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `dentry` is our valid directory;
        // removal waits for file operations in progress.
        unsafe { bindings::debugfs_remove(self.dentry) };
    }
}

// SPDX-License-Identifier: GPL-2.0

//! User memory: words of the current task read and written from a trap
//! without faulting, nofault copies, another process's memory read and
//! written as ptrace does, probe points resolved in a live process, and the
//! XOL mapping. The VMA walks, `vm_mmap()` and the `pagefault_disable()`
//! accesses are in `src/shim/user.c`.
//!
//! Context: [`read_u64`], [`write_u64`], [`read_nofault`] and
//! [`step_fault_fixup`] run in trap or probe context (atomic); the others
//! sleep (`mmap_lock`, page faults). Lock order: the registry mutex, then
//! `mmap_lock` (taken in the shim).

use super::bindings;
use core::sync::atomic::{AtomicU32, Ordering::Relaxed};
use kernel::alloc::flags::__GFP_NOWARN;
use kernel::{mm::Mm, page::Page, prelude::*, sync::aref::ARef};

/// One word of current's user memory, read without faulting a page in
/// (trap context); `None` if it cannot be read now.
#[inline]
pub(crate) fn read_u64(addr: u64) -> Option<u64> {
    let mut v = 0u64;
    // SAFETY: `v` is a writable word; the source is a user address of
    // current, read without faulting (a bad one fails).
    unsafe { bindings::rprobes_user_read_u64(addr as kernel::ffi::c_ulong, &mut v) }.then_some(v)
}

/// Writes one word of current's user memory without faulting a page in
/// (trap context); false if it cannot be written now.
#[inline]
pub(crate) fn write_u64(addr: u64, v: u64) -> bool {
    // SAFETY: The destination is a user address of current, written
    // without faulting (a bad one fails).
    unsafe { bindings::rprobes_user_write_u64(addr as kernel::ffi::c_ulong, v) }
}

/// Writes `buf` at `addr` of current's user memory without faulting a
/// page in (trap context); false (nothing written) if it cannot be
/// written now. The emulator's stores.
#[inline]
pub(crate) fn write_nofault(addr: u64, buf: &[u8]) -> bool {
    // SAFETY: The nofault copy checks the user destination itself (and
    // fails instead of faulting); `buf` is valid for its length.
    let r = unsafe {
        bindings::copy_to_user_nofault(
            addr as usize as *mut kernel::ffi::c_void,
            buf.as_ptr().cast(),
            buf.len(),
        )
    };
    r == 0
}

/// Reads `buf.len()` bytes at `addr` of current's user memory (`user`) or
/// of the kernel without faulting; false on a fault.
#[inline]
pub(crate) fn read_nofault(addr: u64, buf: &mut [u8], user: bool) -> bool {
    if buf.is_empty() {
        return true;
    }
    // SAFETY: The nofault copies check the source themselves (and fail
    // instead of faulting); `buf` is valid for its length.
    let r = unsafe {
        if user {
            bindings::copy_from_user_nofault(
                buf.as_mut_ptr().cast(),
                addr as usize as *const kernel::ffi::c_void,
                buf.len(),
            )
        } else {
            bindings::copy_from_kernel_nofault(
                buf.as_mut_ptr().cast(),
                addr as usize as *const kernel::ffi::c_void,
                buf.len(),
            )
        }
    };
    r == 0
}

/// A `size`-byte (1 to 8) little-endian number of kernel memory at
/// `addr`, read without faulting (the fetch arguments' hot path: straight
/// into the word, no buffer).
#[inline(always)]
pub(crate) fn read_kernel_number(addr: u64, size: u8) -> Option<u64> {
    let mut v = 0u64;
    let n = usize::from(size).min(8);
    // SAFETY: `copy_from_kernel_nofault` checks the source itself (and
    // fails instead of faulting); `v` has room for `n <= 8` bytes, and x86
    // is little-endian, so the low `n` bytes of `v` are the number.
    let r = unsafe {
        bindings::copy_from_kernel_nofault(
            core::ptr::from_mut(&mut v).cast(),
            addr as usize as *const kernel::ffi::c_void,
            n,
        )
    };
    (r == 0).then_some(v)
}

/// For a step of current aborted at the start of its XOL slot (from the
/// signal hook): whether the stepped copy faulted; its signal's `si_addr`
/// then says `orig` instead of `slot`. Takes current's siglock.
pub(crate) fn step_fault_fixup(slot: u64, orig: u64) -> bool {
    // SAFETY: Current's own signal queue, under its siglock (the shim).
    unsafe {
        bindings::rprobes_step_fault_fixup(
            slot as kernel::ffi::c_ulong,
            orig as kernel::ffi::c_ulong,
        )
    }
}

/// Replaces the byte `old` at `vaddr` of `mm` with `new` as ptrace writes
/// (a private mapping's copy-on-write broken first), after checking under
/// the same `mmap_lock` that the address is in a private mapping, and of
/// `inode` if given (its key, [`super::file::Inode::as_ptr`]).
///
/// Errors: `EBUSY` (the byte there is not `old`), `ENOENT` (not mapped,
/// shared, or of another file), `ESRCH` (no users left), `EINTR`,
/// `ENOMEM`, `EFAULT`. Sleeps.
pub(crate) fn poke(
    mm: &Mm,
    vaddr: u64,
    inode: *mut kernel::ffi::c_void,
    old: u8,
    new: u8,
) -> Result {
    // SAFETY: `mm` is a live `mm_struct` (a reference keeps it); the shim
    // takes a user reference for the access; `inode` is only compared.
    let r = unsafe {
        bindings::rprobes_umm_poke(
            mm.as_raw().cast(),
            vaddr as kernel::ffi::c_ulong,
            inode,
            old,
            new,
        )
    };
    if r < 0 {
        Err(Error::from_errno(r as i32))
    } else {
        Ok(())
    }
}

/// Pokes the next this many times fail with `ENOMEM` (the `selftest`
/// file's `fail_pokes N`, for the tests of what a failed write does).
static FAIL_POKES: AtomicU32 = AtomicU32::new(0);

/// Makes the next `n` pokes fail with `ENOMEM` (tests only).
pub(crate) fn fail_pokes(n: u32) {
    FAIL_POKES.store(n, Relaxed);
}

/// [`poke`], again a few times (5 ms apart) while the page is not there
/// without waiting (`EAGAIN`: I/O started): a page on a userfaultfd or
/// FUSE mapping whose handler does not answer gives `EAGAIN` after 25 ms,
/// and the caller (holding the registry mutex) goes on. Sleeps.
pub(crate) fn poke_wait(
    mm: &Mm,
    vaddr: u64,
    inode: *mut kernel::ffi::c_void,
    old: u8,
    new: u8,
) -> Result {
    if FAIL_POKES.load(Relaxed) != 0 {
        FAIL_POKES.fetch_sub(1, Relaxed);
        return Err(ENOMEM);
    }
    retry_eagain(|| poke(mm, vaddr, inode, old, new))
}

/// `f()`, again up to 5 times, 5 ms apart, while it fails with `EAGAIN`
/// (a page that is not there without waiting: I/O started; a userfaultfd
/// or FUSE page whose handler does not answer stays `EAGAIN`). Sleeps.
fn retry_eagain<T>(mut f: impl FnMut() -> Result<T>) -> Result<T> {
    let mut tries = 0;
    loop {
        match f() {
            Err(e) if e == EAGAIN && tries < 5 => {
                tries += 1;
                kernel::time::delay::fsleep(kernel::time::Delta::from_millis(5));
            }
            r => return r,
        }
    }
}

/// An address space of a process alive when [`all_mms`] looked.
pub(crate) struct MmRef {
    /// With its own `mmgrab` reference.
    pub(crate) mm: ARef<Mm>,
    /// A process using it.
    pub(crate) tgid: i32,
}

/// The address spaces of every process alive now (each once). Sleeps.
pub(crate) fn all_mms() -> Result<KVVec<MmRef>> {
    let mut cap = 256usize;
    loop {
        let mut raw: KVVec<bindings::rprobes_mmref> =
            KVVec::with_capacity(cap, GFP_KERNEL | __GFP_NOWARN)?;
        // SAFETY: `raw` has room for `cap` entries; the shim stores at
        // most that many.
        let n = unsafe { bindings::rprobes_all_mms(raw.as_mut_ptr(), cap as kernel::ffi::c_ulong) }
            .max(0) as usize;
        // SAFETY: The shim initialised the first `min(n, cap)` entries.
        unsafe { raw.inc_len(n.min(cap)) };
        // Each stored entry holds an `mmgrab` reference: owned by an
        // `ARef` from here on, dropped with it.
        let mut out = KVVec::with_capacity(raw.len(), GFP_KERNEL | __GFP_NOWARN);
        for r in raw.iter() {
            // SAFETY: See above; the shim never stores a null mm.
            let mm =
                unsafe { ARef::from_raw(core::ptr::NonNull::new_unchecked(r.mm.cast::<Mm>())) };
            if let Ok(v) = out.as_mut() {
                // Cannot fail: reserved.
                let _ = v.push(MmRef { mm, tgid: r.tgid }, GFP_KERNEL);
            }
        }
        let out = out?;
        if n <= cap {
            return Ok(out);
        }
        cap = n + n / 4 + 16;
    }
}

/// A mapping of a file in an address space.
#[derive(Clone, Copy)]
pub(crate) struct FileVma {
    pub(crate) start: u64,
    pub(crate) end: u64,
    /// The file offset mapped at `start`.
    pub(crate) offset: u64,
}

impl FileVma {
    /// The address of file offset `off` in this mapping, if it maps it.
    pub(crate) fn vaddr_of(&self, off: u64) -> Option<u64> {
        let d = off.checked_sub(self.offset)?;
        (d < self.end - self.start).then(|| self.start + d)
    }
}

/// The mappings of `inode` (its key) in `mm` that path probes go into:
/// private, may-exec, not writable. Sleeps (`mmap_lock`).
pub(crate) fn file_vmas(mm: &Mm, inode: *mut kernel::ffi::c_void) -> Result<KVec<FileVma>> {
    let mut cap = 8usize;
    loop {
        let mut raw: KVec<bindings::rprobes_fvma> = KVec::with_capacity(cap, GFP_KERNEL)?;
        // SAFETY: `raw` has room for `cap` entries; `mm` is live (a
        // reference keeps it); `inode` is only compared.
        let n = unsafe {
            bindings::rprobes_mm_file_vmas(mm.as_raw().cast(), inode, raw.as_mut_ptr(), cap as u32)
        };
        if n < 0 {
            return Err(Error::from_errno(n as i32));
        }
        let n = n as usize;
        if n > cap {
            cap = n;
            continue;
        }
        // SAFETY: The shim initialised the first `n` entries.
        unsafe { raw.inc_len(n) };
        let mut out = KVec::with_capacity(n, GFP_KERNEL)?;
        for r in raw.iter() {
            out.push(
                FileVma {
                    start: r.start as u64,
                    end: r.end as u64,
                    offset: r.offset,
                },
                GFP_KERNEL,
            )?;
        }
        return Ok(out);
    }
}

/// Adds `delta` to the USDT semaphore at file offset `offset` of `inode`
/// in `mm` (in its private, writable mapping of the file): at `*vaddr` if
/// not 0, else found and stored there; `delta` 0 only finds it. Errors:
/// `ENOENT` (no such mapping yet), `EINVAL` (it would go below 0),
/// `ESRCH`, `EINTR`, `ENOMEM`, `EFAULT`. Sleeps.
pub(crate) fn ref_ctr_add(
    mm: &Mm,
    inode: *mut kernel::ffi::c_void,
    offset: u64,
    vaddr: &mut u64,
    delta: i16,
) -> Result {
    let mut v = *vaddr as kernel::ffi::c_ulong;
    // SAFETY: `mm` is live (a reference keeps it); the shim takes a user
    // reference; `inode` is only compared; `v` is writable.
    let r =
        unsafe { bindings::rprobes_ref_ctr_add(mm.as_raw().cast(), inode, offset, &mut v, delta) };
    *vaddr = v as u64;
    if r < 0 {
        Err(Error::from_errno(r as i32))
    } else {
        Ok(())
    }
}

/// For the mmap hook (atomic): the inode key of `vma`'s file if `vma` is a
/// private file mapping of current's (text for path probes, data for their
/// semaphores).
///
/// # Safety
///
/// `vma` is a live vma (the hook's argument, under `mmap_lock`).
pub(crate) unsafe fn vma_probe_inode(vma: *mut kernel::ffi::c_void) -> usize {
    // SAFETY: The caller's guarantee.
    unsafe { bindings::rprobes_vma_probe_inode(vma) as usize }
}

/// Protection bits of the mapping at a probe point.
pub(crate) mod vma {
    use super::bindings;
    /// Readable.
    pub(crate) const READ: u32 = bindings::RPROBES_UVMA_READ;
    /// Writable.
    pub(crate) const WRITE: u32 = bindings::RPROBES_UVMA_WRITE;
    /// Executable.
    pub(crate) const EXEC: u32 = bindings::RPROBES_UVMA_EXEC;
    /// Shared (or may be).
    pub(crate) const SHARED: u32 = bindings::RPROBES_UVMA_SHARED;
    /// `VM_IO`, `VM_PFNMAP` or `VM_MIXEDMAP`.
    pub(crate) const SPECIAL: u32 = bindings::RPROBES_UVMA_SPECIAL;
}

/// A user probe point resolved in its process.
pub(crate) struct Point {
    /// The virtual address.
    pub(crate) vaddr: u64,
    /// The address space, if asked for.
    pub(crate) mm: Option<ARef<Mm>>,
    /// The process's thread group id.
    pub(crate) tgid: i32,
    /// [`vma`] bits of the mapping there.
    pub(crate) vm_flags: u32,
    /// The bytes there; `len` of them could be read.
    pub(crate) bytes: [u8; 16],
    /// How many of `bytes` were read (at least 1).
    pub(crate) len: usize,
}

/// Resolves process `pid`'s probe point: virtual address `addr`, or (with
/// `path`) file offset `addr` of that file as mapped into the process, and
/// reads the bytes there. With `want_mm`, the result holds a reference on
/// the address space.
///
/// Current (the writer of the control line, or `insmod` for `uprobes=`)
/// must be allowed to attach to the process as ptrace would
/// (`PTRACE_MODE_ATTACH_REALCREDS`; `src/shim/security.c` makes the
/// kernel's own check, through `/proc/PID/mem`), before anything of the
/// process's memory is looked at.
///
/// Errors: `ESRCH` (no such process), `EINVAL` (no user memory), `EPERM`
/// (no ptrace access), `ENOENT` (the file is not mapped there), `EFAULT`
/// (nothing readable), `ENOEXEC` (a 32-bit process), `EAGAIN` (not
/// readable without waiting: a userfaultfd or FUSE page whose handler does
/// not answer), `ENOMEM`, `EINTR`. Process context, sleeps (path lookup,
/// `mmap_lock`).
pub(crate) fn resolve(pid: u32, path: Option<&str>, addr: u64, want_mm: bool) -> Result<Point> {
    retry_eagain(|| resolve_once(pid, path, addr, want_mm))
}

/// One try of [`resolve`].
fn resolve_once(pid: u32, path: Option<&str>, addr: u64, want_mm: bool) -> Result<Point> {
    let mut pt = bindings::rprobes_upoint {
        vaddr: 0,
        mm: core::ptr::null_mut(),
        tgid: 0,
        vm_flags: 0,
        mm_ref: want_mm,
        bytes: [0; 16],
    };
    let (pp, pl) = path.map_or((core::ptr::null(), 0), |s| (s.as_ptr(), s.len()));
    // SAFETY: `path` (if any) is `pl` readable bytes; `pt` is writable.
    let n = unsafe {
        bindings::rprobes_uprobe_resolve(
            pid as i32,
            pp.cast(),
            pl,
            addr as kernel::ffi::c_ulong,
            &mut pt,
        )
    };
    if n < 0 {
        return Err(Error::from_errno(n as i32));
    }
    let mm = core::ptr::NonNull::new(pt.mm.cast::<Mm>()).map(|p| {
        // SAFETY: The shim took an `mmgrab` reference for us (`mm_ref`),
        // which the `ARef` now owns.
        unsafe { ARef::from_raw(p) }
    });
    Ok(Point {
        vaddr: pt.vaddr as u64,
        mm,
        tgid: pt.tgid,
        vm_flags: pt.vm_flags,
        bytes: pt.bytes,
        len: (n as usize).min(pt.bytes.len()),
    })
}

/// Maps `pages` as current's XOL area: `r-x`, never writable by user space,
/// not copied on fork. Returns the address. Sleeps (`mmap_lock`).
pub(crate) fn xol_map(pages: &[Page]) -> Result<u64> {
    let mut raw = [core::ptr::null_mut::<kernel::ffi::c_void>(); 8];
    let raw = raw.get_mut(..pages.len()).ok_or(EINVAL)?;
    for (r, p) in raw.iter_mut().zip(pages) {
        *r = p.as_ptr().cast();
    }
    // SAFETY: `raw` holds `pages.len()` valid pages, which live through the
    // call; the mapping takes its own references.
    let r = unsafe { bindings::rprobes_xol_map(raw.as_mut_ptr(), raw.len() as u32) };
    if r < 0 {
        Err(Error::from_errno(r as i32))
    } else {
        Ok(r as u64)
    }
}

/// Whether address space `mm` still has users (`mm_users > 0`): once it
/// has none, it never gets one again.
pub(crate) fn mm_alive(mm: &Mm) -> bool {
    // SAFETY: `mm` is a live `mm_struct` (the reference keeps it); its
    // `mm_users` is an atomic counter, read once.
    let users = unsafe {
        core::ptr::addr_of!((*mm.as_raw()).__bindgen_anon_1.mm_users.counter).read_volatile()
    };
    users > 0
}

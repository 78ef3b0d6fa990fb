// SPDX-License-Identifier: GPL-2.0

//! Path probes (`PATH:0xOFF`, `PATH:SYMBOL[+OFF]`): the files they probe,
//! and how their breakpoints reach the processes that map a file later.
//!
//! A path probe's breakpoints go into every address space that maps the
//! file (its inode: any path that reaches it) privately and may execute it,
//! as the kernel's uprobes choose mappings:
//!
//! - **now**: when the probe is added, every process alive is looked at
//!   ([`crate::sys::user::all_mms`]), and each mapping of the file gets
//!   the breakpoint ([`super::UProbes`]);
//! - **later**: a mapping made afterwards (`exec` of the program, the
//!   dynamic loader's or `dlopen`'s `mmap` of a library, `mremap`) calls the
//!   kernel's `uprobe_mmap()` for the new mapping, with `mmap_lock` held
//!   for writing. [`MapHook`], a kprobe on that function, checks whether
//!   the mapping is of a probed file ([`FILES`], lock-free) and if so queues
//!   a task work in the mapping task: on its way back to user space, before
//!   it runs an instruction of the new mapping, it puts the breakpoints in
//!   (under the registry mutex, through [`super::reaper::install`]);
//! - **fork**: a child's copy of its parent's memory has the parent's
//!   breakpoints; the fork hook queues the same task work in the child
//!   (before it first runs), which records them as the child's.
//!
//! There is no exported hook for "a file was mapped": `uprobe_mmap()` is
//! the kernel's own for its uprobes, present whenever `CONFIG_UPROBES` is
//! (the probe's symbol must exist: the module refuses path probes
//! otherwise). A mapping made by another task than the address space's
//! (none in the kernel today: `exec` and `mmap` map for current) is not
//! seen; documented.
//!
//! Context: [`MapHook`]'s handler runs in kprobe context (preemption off,
//! `mmap_lock` held by the task): no lock, an atomic allocation; the task
//! work is process context.

use crate::sys::bindings::pt_regs;
use crate::sys::kprobe::{KProbe, KProbeOwner, Place};
use crate::sys::task::TaskWork;
use crate::sys::user;
use core::sync::atomic::{
    AtomicU64, AtomicUsize,
    Ordering::{Acquire, Relaxed, Release},
};
use kernel::prelude::*;

/// Files with path probes at once, at most.
pub(crate) const MAX_PATH_FILES: usize = 256;

/// The inodes (keys) of the files with path probes, for [`MapHook`]: 0
/// where free. Entries below [`NFILES`] are looked at. Written under the
/// registry mutex; an entry is never moved, so a reader never misses one
/// that stays.
static FILES: [AtomicUsize; MAX_PATH_FILES] = [const { AtomicUsize::new(0) }; MAX_PATH_FILES];
/// Bumped whenever a probed file is mapped or a probed process forks: the
/// registry's list of the processes that map a file
/// ([`super::UProbes`]'s `mappers`) is good while it stays the same.
pub(crate) static GEN: AtomicU64 = AtomicU64::new(0);

/// Path probes (the fork hook looks at it).
pub(crate) static PATH_PROBES: AtomicUsize = AtomicUsize::new(0);
/// The high-water mark of [`FILES`].
static NFILES: AtomicUsize = AtomicUsize::new(0);

/// Adds a file (registry mutex held; not present). `ENOSPC` when
/// [`MAX_PATH_FILES`] files are probed.
pub(super) fn add_file(key: usize) -> Result {
    let n = NFILES.load(Relaxed);
    let i = match FILES[..n].iter().position(|f| f.load(Relaxed) == 0) {
        Some(i) => i,
        None if n < MAX_PATH_FILES => n,
        None => return Err(ENOSPC),
    };
    FILES[i].store(key, Release);
    if i == n {
        NFILES.store(n + 1, Release);
    }
    Ok(())
}

/// Removes a file (registry mutex held).
pub(super) fn remove_file(key: usize) {
    for f in FILES.iter() {
        if f.load(Relaxed) == key {
            f.store(0, Release);
        }
    }
}

/// Whether file `key` has path probes (any context).
#[inline]
fn probed(key: usize) -> bool {
    let n = NFILES.load(Acquire).min(MAX_PATH_FILES);
    FILES[..n].iter().any(|f| f.load(Relaxed) == key)
}

/// The mmap hook: a kprobe on `uprobe_mmap(struct vm_area_struct *vma)`,
/// registered while path probes exist (by [`super::UProbes`]).
#[repr(C)]
pub(super) struct MapHook {
    /// Must stay the first field: see [`KProbeOwner`].
    kprobe: KProbe,
}

// SAFETY: `MapHook` is `#[repr(C)]` with its `KProbe` first, and the only
// `KProbe` constructed with `KProbe::new::<MapHook>` is this field.
unsafe impl KProbeOwner for MapHook {
    fn on_hit(&self, kregs: &pt_regs) {
        // SAFETY: The first argument of `uprobe_mmap()`: a live vma, under
        // the `mmap_lock` its caller holds.
        let key = unsafe { user::vma_probe_inode(kregs.di as *mut kernel::ffi::c_void) };
        if key != 0 && probed(key) {
            GEN.fetch_add(1, Release);
            queue_install(core::ptr::null_mut());
        }
    }
}

impl MapHook {
    /// Registers the hook (process context).
    pub(super) fn new() -> Result<Pin<KBox<Self>>> {
        let hook = KBox::pin(
            Self {
                kprobe: KProbe::new::<Self>(Place::Symbol("uprobe_mmap", 0))?,
            },
            GFP_KERNEL,
        )?;
        // SAFETY: `kprobe` is structurally pinned: the hook never moves it
        // out, and the box stays pinned until the hook drops (which
        // unregisters it).
        let kp = unsafe { hook.as_ref().map_unchecked(|h| &h.kprobe) };
        kp.register(true)?;
        Ok(hook)
    }
}

const _: () = assert!(core::mem::offset_of!(MapHook, kprobe) == 0);

/// A queued [`install`].
struct Install {
    work: TaskWork,
}

/// Queues, in `task` (current if null; a fork child that has not run), a
/// task work that puts the path probes' breakpoints into its address
/// space. Any context (an atomic allocation).
pub(super) fn queue_install(task: *mut kernel::bindings::task_struct) {
    let Ok(b) = KBox::new(
        Install {
            work: TaskWork::new(),
        },
        GFP_ATOMIC,
    ) else {
        pr_warn!("path probes: out of memory, a mapping is not probed\n");
        return;
    };
    let raw = KBox::into_raw(b);
    // SAFETY: The work is new and stays in its box until `install` takes
    // the box back (exactly once); `task` is live (current, or a child
    // that has not run).
    let r = unsafe { (*raw).work.queue(task, install, raw.cast()) };
    if r.is_err() {
        // SAFETY: Not queued: the box is ours again.
        drop(unsafe { KBox::from_raw(raw) });
    }
}

/// Task work: the path probes' breakpoints into current's address space.
///
/// # Safety
///
/// `arg` is a box from `KBox::<Install>::into_raw`, given up to this call.
unsafe fn install(arg: *mut kernel::ffi::c_void) {
    // SAFETY: `queue_install` passed a box from `KBox::into_raw`.
    drop(unsafe { KBox::from_raw(arg.cast::<Install>()) });
    super::reaper::install();
}

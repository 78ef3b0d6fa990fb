// SPDX-License-Identifier: GPL-2.0

//! A thin, pinned owner of a registered `struct kprobe`.
//!
//! All `unsafe` needed to hand a `struct kprobe` to the kernel lives here;
//! the probe logic above it ([`crate::registry`]) is safe Rust.

use crate::kbind;
use core::sync::atomic::{AtomicBool, Ordering::Relaxed};
use kernel::{prelude::*, str::CString, types::Opaque};

/// Owners of a [`KProbe`] that receive its hits.
///
/// # Safety
///
/// Implementors are `#[repr(C)]` and hold their [`KProbe`] as their first
/// field, and that `KProbe` is only ever registered while embedded in an
/// implementor: the kprobe handler turns the `struct kprobe` pointer it is
/// given back into `&Self`.
pub(crate) unsafe trait KProbeOwner: Sync {
    /// Called on every hit, in kprobe context: preemption disabled, may be
    /// in any context the probed code runs in, must not sleep.
    fn on_hit(&self, regs: &kbind::pt_regs);
}

/// A kernel probe point.
///
/// # Invariants
///
/// - `kp` is at offset 0 (`#[repr(C)]`), so a `*mut kprobe` registered by
///   this object points to the `KProbe` and thus to its [`KProbeOwner`].
/// - While `registered` is true, the kernel holds a pointer to `kp` and to
///   `symbol`'s buffer; both stay in place because the object is pinned
///   (it is `!Unpin` through `Opaque`) and is unregistered before it drops.
#[repr(C)]
pub(crate) struct KProbe {
    kp: Opaque<kbind::kprobe>,
    symbol: Option<CString>,
    registered: AtomicBool,
}

// SAFETY: The `struct kprobe` is only touched by the kernel (which does its
// own locking) and by `register`/`unregister`/`set_enabled`, which the
// registry calls with its mutex held.
unsafe impl Send for KProbe {}
// SAFETY: As above; shared access only reads `nmissed`/`addr` racily,
// which the kernel tolerates (it is a statistics counter).
unsafe impl Sync for KProbe {}

/// Kernel handler: turns the `struct kprobe` back into its owner.
///
/// # Safety
///
/// Only installed by [`KProbe::new`] for an owner of type `T`, so `kp`
/// points to the `KProbe` at offset 0 of a live, registered `T`.
unsafe extern "C" fn pre_handler<T: KProbeOwner>(
    kp: *mut kbind::kprobe,
    regs: *mut kbind::pt_regs,
) -> kernel::ffi::c_int {
    // SAFETY: By `KProbeOwner`'s contract and the type invariant the kprobe
    // is at offset 0 of a live `T` (the kernel calls handlers only between
    // register and unregister, and unregister waits for running handlers).
    let owner = unsafe { &*kp.cast::<T>() };
    // SAFETY: The kernel passes the valid register frame of the hit.
    owner.on_hit(unsafe { &*regs });
    0
}

/// Where the probe goes.
pub(crate) enum Place<'a> {
    /// `symbol + offset`.
    Symbol(&'a str, u32),
    /// An absolute address.
    Addr(usize),
}

impl KProbe {
    /// A probe (not yet registered) whose hits go to `T::on_hit`.
    pub(crate) fn new<T: KProbeOwner>(place: Place<'_>) -> Result<Self> {
        // SAFETY: `struct kprobe` is a plain C struct for which all-zero is
        // the documented initial state.
        let mut kp: kbind::kprobe = unsafe { core::mem::zeroed() };
        kp.pre_handler = Some(pre_handler::<T>);
        let symbol = match place {
            Place::Symbol(name, offset) => {
                let s = CString::try_from_fmt(format_args!("{name}"))?;
                kp.symbol_name = s.as_char_ptr();
                kp.offset = offset;
                Some(s)
            }
            Place::Addr(a) => {
                kp.addr = a as *mut kbind::kprobe_opcode_t;
                None
            }
        };
        Ok(Self {
            kp: Opaque::new(kp),
            symbol,
            registered: AtomicBool::new(false),
        })
    }

    /// Registers the probe with the kernel, armed or not.
    ///
    /// Errors are the kernel's: `ENOENT` (no such symbol), `EILSEQ` (not an
    /// instruction boundary), `EINVAL` (blacklisted or not kernel text), ...
    pub(crate) fn register(self: Pin<&Self>, armed: bool) -> Result {
        if self.registered.load(Relaxed) {
            return Err(EBUSY);
        }
        let kp = self.kp.get();
        // SAFETY: `kp` is valid and not registered; the flag write happens
        // before the kernel can see the struct.
        unsafe {
            (*kp).flags = if armed {
                0
            } else {
                kbind::KPROBE_FLAG_DISABLED
            }
        };
        // SAFETY: `self` is pinned, so `kp` and `symbol`'s buffer stay put
        // until `Drop`/`unregister_all` unregisters it (type invariant).
        let ret = unsafe { kbind::register_kprobe(kp) };
        if ret < 0 {
            return Err(Error::from_errno(ret));
        }
        // INVARIANT: registered now; `Drop` will unregister before freeing.
        self.registered.store(true, Relaxed);
        Ok(())
    }

    /// Arms (`enable_kprobe`) or disarms (`disable_kprobe`) a registered probe.
    pub(crate) fn set_armed(&self, armed: bool) -> Result {
        if !self.registered.load(Relaxed) {
            return Err(EINVAL);
        }
        // SAFETY: The probe is registered (checked above) and stays so for
        // the duration of the call: the registry mutex is held by the caller.
        let ret = unsafe {
            if armed {
                kbind::enable_kprobe(self.kp.get())
            } else {
                kbind::disable_kprobe(self.kp.get())
            }
        };
        if ret < 0 {
            Err(Error::from_errno(ret))
        } else {
            Ok(())
        }
    }

    /// Unregisters the probe (a no-op if it is not registered); running
    /// handlers have finished when this returns.
    pub(crate) fn unregister(&self) {
        if self.registered.swap(false, Relaxed) {
            // SAFETY: It was registered (and only this call saw it so: the
            // flag is cleared atomically); `unregister_kprobe` waits for
            // running handlers.
            unsafe { kbind::unregister_kprobe(self.kp.get()) };
        }
    }

    /// Heap bytes held besides the object itself (the symbol name).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.symbol
            .as_ref()
            .map_or(0, |s| s.to_bytes_with_nul().len())
    }

    /// The kernel's count of hits it could not deliver (`kp->nmissed`).
    pub(crate) fn nmissed(&self) -> u64 {
        // SAFETY: `kp` is valid for reads; the kernel updates `nmissed`
        // concurrently, so read it volatile (a statistics snapshot).
        unsafe { core::ptr::addr_of!((*self.kp.get()).nmissed).read_volatile() as u64 }
    }

    /// The resolved address (0 until registered).
    pub(crate) fn addr(&self) -> usize {
        // SAFETY: `kp` is valid for reads; `addr` is written once by
        // `register_kprobe` before `registered` is set.
        unsafe { (*self.kp.get()).addr as usize }
    }

    /// Unregisters many probes with a single RCU grace period
    /// (`unregister_kprobes`), the way tracefs clears its list.
    ///
    /// On allocation failure nothing is unregistered; each probe is then
    /// unregistered on its own when it drops.
    pub(crate) fn unregister_all<'a>(probes: impl Iterator<Item = &'a KProbe> + Clone) -> Result {
        let mut ptrs = KVec::new();
        for p in probes.clone().filter(|p| p.registered.load(Relaxed)) {
            ptrs.push(p.kp.get(), GFP_KERNEL)?;
        }
        if !ptrs.is_empty() {
            // SAFETY: Every pointer is a registered kprobe (checked above),
            // listed once; the caller holds the registry mutex.
            unsafe { kbind::unregister_kprobes(ptrs.as_mut_ptr(), ptrs.len() as i32) };
        }
        for p in probes {
            p.registered.store(false, Relaxed);
        }
        Ok(())
    }
}

impl Drop for KProbe {
    fn drop(&mut self) {
        if *self.registered.get_mut() {
            // SAFETY: Registered (checked), and `unregister_kprobe` waits for
            // running handlers, so nothing uses `kp` after it returns.
            unsafe { kbind::unregister_kprobe(self.kp.get()) };
        }
    }
}

// SPDX-License-Identifier: GPL-2.0

//! A thin, pinned owner of a registered `struct kprobe`.
//!
//! All `unsafe` needed to hand a `struct kprobe` to the kernel lives here;
//! the probe logic above it ([`crate::kprobes`], the signal hook of
//! [`crate::uprobes`]) is safe Rust.
//!
//! Context: the owner's [`KProbeOwner::on_hit`] runs in kprobe context
//! (preemption off, any context the probed code runs in); registering,
//! arming and unregistering sleep (`kprobe_mutex`), and the callers
//! serialise them (the registry mutex, or module init/exit).

use super::bindings;
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
    fn on_hit(&self, regs: &bindings::pt_regs);
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
    kp: Opaque<bindings::kprobe>,
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
    kp: *mut bindings::kprobe,
    regs: *mut bindings::pt_regs,
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
        let mut kp: bindings::kprobe = unsafe { core::mem::zeroed() };
        kp.pre_handler = Some(pre_handler::<T>);
        let symbol = match place {
            Place::Symbol(name, offset) => {
                let s = CString::try_from_fmt(format_args!("{name}"))?;
                kp.symbol_name = s.as_char_ptr();
                kp.offset = offset;
                Some(s)
            }
            Place::Addr(a) => {
                kp.addr = a as *mut bindings::kprobe_opcode_t;
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
    /// instruction boundary), `EINVAL` (blacklisted or not kernel text),
    /// `ENOMEM`, ...
    ///
    /// The probe is always registered disarmed, then armed with
    /// `enable_kprobe()`: when `register_kprobe()` itself fails to arm a
    /// new probe (an ftrace-based probe whose filter hash cannot be
    /// allocated), it takes the probe out of its table again but returns 0
    /// (7.3 `__register_kprobe()`), which would leave a probe that rprobes
    /// lists and the kernel does not have. `enable_kprobe()` reports it.
    pub(crate) fn register(self: Pin<&Self>, armed: bool) -> Result {
        if self.registered.load(Relaxed) {
            return Err(EBUSY);
        }
        let kp = self.kp.get();
        // SAFETY: `kp` is valid and not registered; the flag write happens
        // before the kernel can see the struct.
        unsafe { (*kp).flags = bindings::KPROBE_FLAG_DISABLED };
        // SAFETY: `self` is pinned, so `kp` and `symbol`'s buffer stay put
        // until `Drop`/`unregister_all` unregisters it (type invariant).
        let ret = unsafe { bindings::register_kprobe(kp) };
        if ret < 0 {
            return Err(Error::from_errno(ret));
        }
        if armed {
            // SAFETY: `kp` was just registered, and the registry mutex held
            // by the caller keeps it so.
            let ret = unsafe { bindings::enable_kprobe(kp) };
            if ret < 0 {
                // SAFETY: Registered above, not yet visible as registered
                // to anyone else; this waits for running handlers (none:
                // it was never armed).
                unsafe { bindings::unregister_kprobe(kp) };
                return Err(Error::from_errno(ret));
            }
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
                bindings::enable_kprobe(self.kp.get())
            } else {
                bindings::disable_kprobe(self.kp.get())
            }
        };
        if ret < 0 {
            Err(Error::from_errno(ret))
        } else {
            Ok(())
        }
    }

    /// Disarms a registered probe, the first step of unregistering it.
    ///
    /// `unregister_kprobe()` returns nothing, yet the disarming it starts
    /// with can fail: an ftrace-based probe needs an allocation to leave
    /// ftrace's filter. The kernel then keeps the `struct kprobe` in its
    /// table (7.3 `unregister_kprobes()` only clears its address), and
    /// freeing it would leave the kernel a dangling pointer. So the probe
    /// is disarmed with `disable_kprobe()` first, which reports that
    /// failure (the probe then stays registered and armed); a disarmed
    /// probe unregisters without allocating.
    fn disarm(&self) -> Result {
        // SAFETY: The probe is registered (the callers check) and stays so
        // during the call: the registry mutex is held by the caller (or
        // the probe is being dropped).
        let ret = unsafe { bindings::disable_kprobe(self.kp.get()) };
        if ret < 0 {
            Err(Error::from_errno(ret))
        } else {
            Ok(())
        }
    }

    /// Whether the kernel has the probe disarmed (or gone with its module),
    /// so that unregistering it cannot fail.
    fn disarmed(&self) -> bool {
        // SAFETY: `kp` is valid for reads; the kernel changes `flags` under
        // its own mutex (`kprobe_mutex`), so read it volatile.
        let flags = unsafe { core::ptr::addr_of!((*self.kp.get()).flags).read_volatile() };
        flags & (bindings::KPROBE_FLAG_DISABLED | bindings::KPROBE_FLAG_GONE) != 0
    }

    /// Whether the probe is registered and armed, as the kernel has it.
    pub(crate) fn is_armed(&self) -> bool {
        self.registered.load(Relaxed) && !self.disarmed()
    }

    /// Whether the probe is registered.
    pub(crate) fn is_registered(&self) -> bool {
        self.registered.load(Relaxed)
    }

    /// Unregisters the probe (a no-op if it is not registered); running
    /// handlers have finished when this returns. When the kernel cannot
    /// disarm it (see [`Self::disarm`]), it stays registered and armed,
    /// and the error is returned.
    pub(crate) fn unregister(&self) -> Result {
        if !self.registered.load(Relaxed) {
            return Ok(());
        }
        self.disarm()?;
        if self.registered.swap(false, Relaxed) {
            // SAFETY: It was registered (and only this call saw it so: the
            // flag is cleared atomically) and it is disarmed, so this
            // cannot fail; `unregister_kprobe` waits for running handlers.
            unsafe { bindings::unregister_kprobe(self.kp.get()) };
        }
        Ok(())
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
    /// Each probe is disarmed first (see [`Self::disarm`]); the probes the
    /// kernel cannot disarm stay registered and armed, and the last such
    /// error is returned. Without memory for the pointer list, the probes
    /// are unregistered one by one.
    pub(crate) fn unregister_all<'a>(probes: impl Iterator<Item = &'a KProbe> + Clone) -> Result {
        let mut res = Ok(());
        for p in probes.clone().filter(|p| p.registered.load(Relaxed)) {
            if let Err(e) = p.disarm() {
                res = Err(e);
            }
        }
        let ready = |p: &&KProbe| p.registered.load(Relaxed) && p.disarmed();
        let mut ptrs = KVec::new();
        let listed = probes
            .clone()
            .filter(ready)
            .try_for_each(|p| ptrs.push(p.kp.get(), GFP_KERNEL));
        if listed.is_err() {
            for p in probes.filter(ready) {
                // Cannot fail: disarmed.
                let _ = p.unregister();
            }
            return res;
        }
        // The same probes as in `ptrs`: nothing changed in between.
        for p in probes.filter(ready) {
            p.registered.store(false, Relaxed);
        }
        if !ptrs.is_empty() {
            // SAFETY: Every pointer is a registered, disarmed kprobe, listed
            // once; the caller holds the registry mutex.
            unsafe { bindings::unregister_kprobes(ptrs.as_mut_ptr(), ptrs.len() as i32) };
        }
        res
    }
}

impl Drop for KProbe {
    fn drop(&mut self) {
        if !*self.registered.get_mut() {
            return;
        }
        // The memory must not go while the kernel has it: wait until the
        // kernel can disarm the probe (see `disarm`). `EINVAL`: the kernel
        // has no such probe in its table (nothing to disarm, and
        // `unregister_kprobe` then does nothing but wait for RCU).
        let mut tries = 0u32;
        while self.disarm().is_err_and(|e| e != EINVAL) {
            if tries % 1000 == 0 {
                pr_warn!("cannot disarm a probe to remove it (out of memory?), retrying\n");
            }
            tries = tries.wrapping_add(1);
            // Probes are dropped in process context.
            kernel::time::delay::fsleep(kernel::time::Delta::from_millis(10));
        }
        // SAFETY: Registered (checked) and disarmed (or unknown to the
        // kernel), so this cannot fail; `unregister_kprobe` waits for
        // running handlers, so nothing uses `kp` after it returns.
        unsafe { bindings::unregister_kprobe(self.kp.get()) };
    }
}

// SPDX-License-Identifier: GPL-2.0

//! Per-CPU data: a thin owner of `__alloc_percpu()` memory, this CPU's
//! number and offset read inline, and the possible CPUs.
//!
//! The accessors are C macros, reached through `src/shim/percpu.c`; the
//! hit paths read `this_cpu_off` and `cpu_number` themselves (a `%gs` load
//! each, as the macros compile to).
//!
//! Context: any (nothing here sleeps or takes a lock), except
//! [`PerCpu::new`] (sleepable: it allocates).

use super::bindings;
use core::marker::PhantomData;
use kernel::prelude::*;

extern "C" {
    /// This CPU's per-CPU offset (x86's exported per-CPU `this_cpu_off`).
    static this_cpu_off: usize;
    /// This CPU's number (x86's exported per-CPU `cpu_number`, an `int`).
    static cpu_number: i32;
}

/// This CPU's per-CPU offset: `this_cpu_read(this_cpu_off)`, inline (the
/// hit paths would otherwise pay a call into the C shim for it).
///
/// The caller is expected to have preemption disabled, or to accept the
/// offset of a CPU it may no longer run on.
#[inline(always)]
pub(crate) fn this_cpu_offset() -> usize {
    let off: usize;
    // SAFETY: A `%gs`-relative load of the per-CPU variable `this_cpu_off`,
    // the instruction `this_cpu_read()` compiles to; it only reads memory.
    unsafe {
        core::arch::asm!(
            "mov {off}, qword ptr gs:[{var}]",
            off = out(reg) off,
            var = sym this_cpu_off,
            options(nostack, preserves_flags, readonly),
        )
    };
    off
}

/// The CPU this runs on: `raw_smp_processor_id()`, inline.
#[inline(always)]
pub(crate) fn cpu() -> u32 {
    let cpu: u32;
    // SAFETY: A `%gs`-relative load of the per-CPU variable `cpu_number`,
    // the instruction `raw_smp_processor_id()` compiles to; it only reads
    // memory.
    unsafe {
        core::arch::asm!(
            "mov {cpu:e}, dword ptr gs:[{var}]",
            cpu = out(reg) cpu,
            var = sym cpu_number,
            options(nostack, preserves_flags, readonly),
        )
    };
    cpu
}

/// Marker for types that may live in per-CPU memory.
///
/// # Safety
///
/// An all-zero bit pattern must be a valid value of the type (per-CPU
/// memory comes zeroed from `__alloc_percpu()`), and the type must be
/// usable through a shared reference from any CPU (`Sync`), with no
/// destructor to run.
pub(crate) unsafe trait Zeroable: Sync {}

/// One `T` per possible CPU.
///
/// # Invariants
///
/// `ptr` came from `rprobes_alloc_percpu(size_of::<T>(), align_of::<T>())`,
/// is non-null and owned by this object until it is dropped.
pub(crate) struct PerCpu<T: Zeroable> {
    ptr: *mut kernel::ffi::c_void,
    _t: PhantomData<T>,
}

// SAFETY: `PerCpu` only hands out shared references to `T: Sync`; the
// allocation itself may be freed from any CPU.
unsafe impl<T: Zeroable> Send for PerCpu<T> {}
// SAFETY: As above: all access is through `&T` with `T: Sync`.
unsafe impl<T: Zeroable> Sync for PerCpu<T> {}

impl<T: Zeroable> PerCpu<T> {
    /// Allocates zeroed per-CPU memory.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: Plain allocation call; size and alignment describe `T`.
        let ptr = unsafe {
            bindings::rprobes_alloc_percpu(core::mem::size_of::<T>(), core::mem::align_of::<T>())
        };
        if ptr.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: `ptr` is a fresh, non-null per-CPU allocation for `T`.
        Ok(Self {
            ptr,
            _t: PhantomData,
        })
    }

    /// This CPU's instance.
    ///
    /// The caller is expected to have preemption disabled (a kprobe handler
    /// does); if it has not, the reference may be to another CPU's instance,
    /// which is still a valid `&T` since `T: Sync`.
    #[inline]
    pub(crate) fn this_cpu(&self) -> &T {
        let p = (self.ptr as usize).wrapping_add(this_cpu_offset());
        // SAFETY: By the type invariant `ptr` is a live per-CPU allocation,
        // so adding this CPU's offset (what `this_cpu_ptr()` does) yields a
        // valid, aligned, initialised (zeroed, which `Zeroable` allows) `T`
        // that lives as long as `self`.
        unsafe { &*(p as *const T) }
    }

    /// Bytes of per-CPU memory this object holds (all possible CPUs).
    pub(crate) fn footprint(&self) -> usize {
        let mut n = 0;
        self.for_each(|_| n += 1);
        n * core::mem::size_of::<T>()
    }

    /// Calls `f` on every possible CPU's instance.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&T)) {
        for_each_possible_cpu(|cpu| {
            // SAFETY: `cpu` is a possible CPU and `ptr` a live per-CPU
            // allocation (type invariant), so the pointer is valid for `T`.
            f(unsafe { &*bindings::rprobes_per_cpu_ptr(self.ptr, cpu).cast::<T>() });
        });
    }
}

impl<T: Zeroable> Drop for PerCpu<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant we own `ptr`, and no reference
        // handed out by `this_cpu`/`for_each` outlives `&self`.
        unsafe { bindings::rprobes_free_percpu(self.ptr) };
    }
}

/// Calls `f` with every possible CPU's number, in order.
pub(crate) fn for_each_possible_cpu(mut f: impl FnMut(u32)) {
    let mut cpu: i32 = -1;
    loop {
        // SAFETY: Reads `cpu_possible_mask`; any `prev >= -1` is allowed.
        let next = unsafe { bindings::rprobes_next_possible_cpu(cpu) };
        if next < 0 {
            break;
        }
        f(next as u32);
        cpu = next;
    }
}

/// `num_possible_cpus()`.
pub(crate) fn num_possible_cpus() -> usize {
    // SAFETY: Reads `cpu_possible_mask`'s weight.
    unsafe { bindings::rprobes_num_possible_cpus() as usize }
}

// SPDX-License-Identifier: GPL-2.0

//! The kernel below rprobes: thin `unsafe` wrappers that the mechanisms
//! above (kernel, return and user probes, the event stream, the control
//! files) use as safe Rust. Every `unsafe` block of the module that talks
//! to the kernel directly is here, or in the few places where a mechanism
//! owns a kernel object itself (the trampoline's asm, the ring buffer's
//! reservations, the debugfs file operations).
//!
//! - [`bindings`]: the module's own bindgen output (`<linux/kprobes.h>`,
//!   `<linux/ptrace.h>`, the shims of `src/shim/`), layout-checked against
//!   the pure code;
//! - [`kprobe`]: a pinned owner of a `struct kprobe` ([`kprobe::KProbe`]);
//! - [`file`]: a regular file opened by path and read (ELF symbols);
//! - [`percpu`]: per-CPU memory, this CPU's number and offset;
//! - [`task`]: `current`, its pid and comm, module references, task work;
//! - [`user`]: user memory, probe points in live processes, the XOL
//!   mapping;
//! - [`ksym`]: kallsyms (symbol text, non-unique names);
//! - [`hooks`]: scheduler tracepoints;
//! - [`security`]: kernel lockdown and capabilities (ptrace rights over a
//!   process are checked in [`user::resolve`]).
//!
//! Nothing here knows about probes (`file` only implements the ELF
//! reader's [`crate::lang::elf::ReadAt`]); nothing here takes a lock of rprobes'.
//! The functions say in which contexts they may run.

pub(crate) mod bindings;
pub(crate) mod file;
pub(crate) mod hooks;
pub(crate) mod kprobe;
pub(crate) mod ksym;
pub(crate) mod percpu;
pub(crate) mod security;
pub(crate) mod task;
pub(crate) mod user;

/// Waits for an expedited RCU grace period: the guarantee of
/// `synchronize_rcu()` (every RCU reader that began before has ended),
/// forced with IPIs instead of waiting for the next ticks. For the control
/// plane, where a write waits for one per removed object. Sleeps.
pub(crate) fn synchronize_rcu_expedited() {
    // SAFETY: No argument; the callers are in sleepable process context
    // (no spinlock held, not in an RCU read-side section), as the function
    // requires.
    unsafe { bindings::synchronize_rcu_expedited() };
}

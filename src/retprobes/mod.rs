// SPDX-License-Identifier: GPL-2.0

//! Return probes: rprobes' own return trampoline, the instances that
//! remember hijacked returns, and what a return records.
//!
//! The flow of a return probe's hit:
//!
//! ```text
//! kprobe on the function's entry --> handler::RetCore::on_entry
//!     claims an instance (instances::claim), saves the real return address,
//!     time, CPU and $argN, points the return address at the instance's stub
//! function returns into stub i --> trampoline (global_asm!, full pt_regs)
//!     --> handler::on_return: histogram, recent returns, stack, the event
//!     --> instances::release; ret to the real caller
//! ```
//!
//! Objects: the static table of [`stubs::NSTUBS`] instances (one per
//! stub, [`instances`]); a [`handler::RetCore`] per return probe, owned by its
//! kernel probe (`crate::kprobes`), with a range of instances reserved in
//! [`instances::Ranges`] (owned by the registry). [`frame`] is the
//! trampoline's frame contract and [`hist`] the latency histogram (both
//! pure, host-tested); [`stubs`] says where the stubs are.
//!
//! Within the folder, leaves first: `frame`, `stubs` <- `instances` <-
//! `handler` <- `trampoline` (whose asm calls the handler).
//!
//! Lifetime: every instance in flight holds a module reference, so `rmmod`
//! fails while a task sits inside a probed function; a task freed inside
//! one gives its instances back ([`instances::task_freed`], from the
//! `sched_process_free` hook); a removed return probe keeps its
//! [`handler::RetCore`] until its instances are back (the registry parks it);
//! [`RetGlobal`] waits for the last returns at module exit.
//!
//! Lock order: nothing here takes a lock; the registry mutex guards the
//! ranges and parked probes. Context: the hit paths run in kprobe and
//! trampoline context (atomic, no allocation); see each file.

pub mod frame;
pub(crate) mod handler;
pub mod hist;
pub(crate) mod instances;
pub(crate) mod stubs;
pub(crate) mod trampoline;

use kernel::prelude::*;

/// Returns in flight over all return probes, and reclaimed ones.
pub(crate) use instances::{in_flight_total, reclaimed_total};

/// The module-wide part of return probes.
///
/// Dropping it (module exit, after every probe is unregistered, while the
/// task-free hook still reclaims the instances of dead tasks) waits until
/// every instance is back, then until no task is between an instance's
/// release and the trampoline's last instruction.
pub(crate) struct RetGlobal(());

impl RetGlobal {
    /// The module-wide state (static: nothing to set up).
    pub(crate) fn new() -> Self {
        Self(())
    }
}

impl Drop for RetGlobal {
    fn drop(&mut self) {
        let mut waited = 0u32;
        while in_flight_total() != 0 {
            if waited % 5000 == 0 {
                pr_warn!(
                    "waiting for {} return(s) in flight before unloading\n",
                    in_flight_total()
                );
            }
            // Module exit runs in process context.
            kernel::time::delay::fsleep(kernel::time::Delta::from_millis(10));
            waited += 10;
        }
        // A task may still be between `release` and the trampoline's `ret`:
        // wait until every task has passed a voluntary context switch.
        // SAFETY: Process context.
        unsafe { kernel::bindings::synchronize_rcu_tasks() };
    }
}

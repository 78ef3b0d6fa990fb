// SPDX-License-Identifier: GPL-2.0

//! Kernel probes: one [`Probe`] per probe point, each with its own
//! `struct kprobe` (through [`crate::sys::kprobe::KProbe`]).
//!
//! The flow of a hit:
//!
//! ```text
//! int3/ftrace at the probed address --> kprobe pre-handler
//!     --> Probe::on_hit: filter, per-CPU hit count, reentrancy guard
//!         entry probe:  the event (events::eval::record_args / ring::record)
//!         return probe: retprobes::handler::RetCore::on_entry (hijack)
//! ```
//!
//! Objects: a [`Probe`] is owned by the registry (`crate::registry`), pinned
//! while registered; a return probe's [`crate::retprobes::handler::RetCore`]
//! is owned by its probe and outlives it while returns are in flight (the
//! registry parks the probe).
//!
//! Lock order and context: [`Probe::on_hit`] takes no lock (kprobe
//! context, preemption off); creating, registering, arming and removing
//! run under the registry mutex (sleepable, `kprobe_mutex` inside).

mod probe;

pub(crate) use probe::{default_maxactive, NewProbe, Probe};

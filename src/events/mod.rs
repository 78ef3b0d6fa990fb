// SPDX-License-Identifier: GPL-2.0

//! The event stream: what a hit records, and how readers get it back.
//!
//! ```text
//! handler --filter::Filter::pass--> eval::record_args / ring::record
//!         --fill closure--> ring buffer (per CPU) --Events::consume--> text::write_event
//! ```
//!
//! - [`filter`]: per-probe `pid=`/`comm=` filters and `set_event_pid`,
//!   tested first in every handler;
//! - [`eval`]: fetch-argument programs run against a hit's registers and
//!   memory, laid out into the record ([`eval::record_args`]);
//! - [`ring`]: the kernel ring buffer as a sink ([`ring::record`] takes a
//!   fill closure) and its reader ([`ring::Events`]);
//! - [`comm`]: the pid-to-comm cache the records lean on;
//! - [`text`]: records as tracefs-style text.
//!
//! Objects: one [`ring::Events`] (the buffer), owned by the control state;
//! a [`filter::Filter`] and an [`eval::Args`] per probe, owned by the probe.
//!
//! Context: the writing side (filters, evaluation, the sink, the comm
//! cache) runs in probe handlers, in any context a probed instruction runs
//! in (NMI-like int3 context included): no lock, no allocation, no sleep.
//! The reading side sleeps and is serialised by the registry mutex, which
//! also keeps the probes whose arguments it formats. Nothing here takes a
//! lock of its own.

pub(crate) mod comm;
pub(crate) mod eval;
pub(crate) mod filter;
pub(crate) mod ring;
pub(crate) mod tevent;
pub(crate) mod text;

// SPDX-License-Identifier: GPL-2.0

//! What every kind of probe shares, so that the mechanisms do not need
//! each other: event names ([`Name`], [`Named`]), a probe point's text,
//! and the error of a command ([`CmdError`]).
//!
//! Context: any (plain data).

use crate::lang::error::{ErrorKind, ParseError};
use crate::lang::lex::FixedBuf;
use crate::lang::line::MAX_EVENT_NAME_LEN;
use core::fmt::Write;
use kernel::prelude::*;

/// A group or event name.
pub(crate) type Name = FixedBuf<MAX_EVENT_NAME_LEN>;

/// `GROUP/EVENT` as text.
pub(crate) type FullName = FixedBuf<{ 2 * MAX_EVENT_NAME_LEN + 8 }>;

/// A probe point as it reads back (`[MOD:]SYM[+OFF]`, `0xADDR`,
/// `PID:0xADDR`, `PID:PATH:0xOFF`, `PID:PATH:SYMBOL[+OFF]` as written).
pub(crate) type TargetText = FixedBuf<320>;

/// `s` as a [`Name`] (cut at its length).
pub(crate) fn name(s: &str) -> Name {
    let mut n = Name::new();
    let _ = n.write_str(s);
    n
}

/// A probe's `GROUP/EVENT` name: kernel and user probes are looked up and
/// printed the same way.
pub(crate) trait Named {
    /// The group and the event.
    fn names(&self) -> (&Name, &Name);

    /// Whether the probe is `[GROUP/]EVENT` (any group if `None`).
    fn is(&self, group: Option<&str>, event: &str) -> bool {
        let (g, e) = self.names();
        e.as_str() == event && group.is_none_or(|group| group == g.as_str())
    }

    /// Writes `GROUP/EVENT`.
    fn write_name(&self, w: &mut impl Write) -> core::fmt::Result {
        let (g, e) = self.names();
        write!(w, "{}/{}", g.as_str(), e.as_str())
    }

    /// `GROUP/EVENT` as text.
    fn full_name(&self) -> FullName {
        let mut n = FullName::new();
        let _ = self.write_name(&mut n);
        n
    }
}

/// `[GRP/]EVENT` split into its group (if given) and event.
pub(crate) fn split_spec(spec: &str) -> (Option<&str>, &str) {
    match spec.split_once('/') {
        Some((g, e)) => (Some(g), e),
        None => (None, spec),
    }
}

/// A command that failed: where, why, and the errno for `write(2)`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CmdError {
    /// Reason and caret position.
    pub(crate) err: ParseError,
    /// Positive errno.
    pub(crate) errno: i32,
}

impl From<ParseError> for CmdError {
    fn from(err: ParseError) -> Self {
        Self {
            err,
            errno: err.errno,
        }
    }
}

impl CmdError {
    /// `kind` at caret position `pos`, with the kind's errno.
    pub(crate) fn at(kind: ErrorKind, pos: usize) -> Self {
        ParseError::new(kind, pos).into()
    }

    /// `kind` at `pos`, failing with the kernel's error `e`.
    pub(crate) fn kernel(kind: ErrorKind, pos: usize, e: Error) -> Self {
        let errno = e.to_errno().unsigned_abs() as i32;
        Self {
            err: ParseError::with_errno(kind, pos, errno),
            errno,
        }
    }

    /// The error of a kernel probe the kernel could not unregister.
    pub(crate) fn unregister(e: Error) -> Self {
        let kind = if e == ENOMEM {
            ErrorKind::NoMemory
        } else if e == EBUSY {
            ErrorKind::TraceEventBusy
        } else {
            ErrorKind::FailRegProbe
        };
        Self::kernel(kind, 0, e)
    }
}

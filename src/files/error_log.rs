// SPDX-License-Identifier: GPL-2.0

//! `error_log`: the last rejected commands, in tracefs' format.
//!
//! ```text
//! [   27.574419] rprobes: error: Invalid probed address or symbol
//!   Command: p non_exist_func
//!              ^
//! ```

use super::debugfs::Text;
use crate::lang::error::{write_error_entry, ParseError};
use core::fmt::Write;
use kernel::prelude::*;

/// How many entries are kept (tracefs' `TRACING_LOG_ERRS_MAX`).
pub(crate) const MAX_ENTRIES: usize = 8;

/// The newest [`MAX_ENTRIES`] errors, oldest first.
pub(crate) struct ErrorLog {
    entries: KVec<Text>,
}

impl ErrorLog {
    /// An empty log.
    pub(crate) fn new() -> Self {
        Self {
            entries: KVec::new(),
        }
    }

    /// Records that `line` was rejected with `err`.
    pub(crate) fn add(&mut self, now_ns: u64, line: &str, err: &ParseError) {
        let mut t = Text::default();
        let secs = now_ns / 1_000_000_000;
        let usecs = (now_ns % 1_000_000_000) / 1000;
        if write!(t, "[{secs:5}.{usecs:06}] ").is_err()
            || write_error_entry(&mut t, line, err).is_err()
        {
            return;
        }
        if self.entries.len() >= MAX_ENTRIES {
            drop(self.entries.remove(0));
        }
        let _ = self.entries.push(t, GFP_KERNEL);
    }

    /// Forgets every entry.
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }

    /// Renders the log.
    pub(crate) fn show(&self, out: &mut Text) -> core::fmt::Result {
        for e in self.entries.iter() {
            out.0
                .extend_from_slice(&e.0, GFP_KERNEL)
                .map_err(|_| core::fmt::Error)?;
        }
        Ok(())
    }
}

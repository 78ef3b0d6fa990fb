// SPDX-License-Identifier: GPL-2.0

//! Hit filters, applied first thing in the handlers (kernel and user
//! probes alike) so that a filtered-out hit costs a couple of loads:
//! nothing is counted, recorded or hijacked. While no filter is in force
//! anywhere, a hit pays one load for them.
//!
//! - Per probe (`filter` file): `[GRP/]EVENT pid=PID`, `[GRP/]EVENT
//!   comm=NAME`, `[GRP/]EVENT none`.
//! - Global (`set_event_pid`, as tracefs): hits of any probe count only in
//!   the listed tasks (up to [`MAX_PIDS`]); an empty write clears it.
//!
//! Context: [`Filter::pass`] runs in probe handlers (no lock); the setters
//! are serialised by their callers (the registry mutex).

use crate::sys::task;
use core::fmt::Write;
use core::sync::atomic::{
    AtomicBool, AtomicI32, AtomicU64, AtomicUsize,
    Ordering::{AcqRel, Acquire, Relaxed, Release},
};
use kernel::prelude::*;

/// Most pids in `set_event_pid`.
pub(crate) const MAX_PIDS: usize = 16;

static GLOBAL_PIDS: [AtomicI32; MAX_PIDS] = [const { AtomicI32::new(0) }; MAX_PIDS];
static GLOBAL_N: AtomicUsize = AtomicUsize::new(0);

/// Filters in force: 1 while the global pid list is set, plus 1 per probe
/// filter that is on. While it is 0, [`Filter::pass`] is this one load.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

/// Counts a filter going on (`on`) or off in [`ACTIVE`].
fn account(on: bool) {
    if on {
        ACTIVE.fetch_add(1, Release);
    } else {
        ACTIVE.fetch_sub(1, Release);
    }
}

fn current_pid() -> i32 {
    task::current_pid()
}

/// Whether the global pid filter lets the current task's hits through.
#[inline]
fn global_pass() -> bool {
    let n = GLOBAL_N.load(Acquire);
    if n == 0 {
        return true;
    }
    let pid = current_pid();
    GLOBAL_PIDS[..n.min(MAX_PIDS)]
        .iter()
        .any(|p| p.load(Relaxed) == pid)
}

/// Sets the global pid list (the caller serialises writers, which keeps
/// [`ACTIVE`] right).
pub(crate) fn set_global(pids: &[i32]) -> Result {
    if pids.len() > MAX_PIDS || pids.iter().any(|&p| p <= 0) {
        return Err(EINVAL);
    }
    let was = GLOBAL_N.swap(0, AcqRel) != 0;
    for (slot, &p) in GLOBAL_PIDS.iter().zip(pids) {
        slot.store(p, Relaxed);
    }
    GLOBAL_N.store(pids.len(), Release);
    let now = !pids.is_empty();
    if was != now {
        account(now);
    }
    Ok(())
}

/// Writes the global pid list, one per line.
pub(crate) fn show_global(w: &mut impl Write) -> core::fmt::Result {
    let n = GLOBAL_N.load(Acquire).min(MAX_PIDS);
    for p in &GLOBAL_PIDS[..n] {
        writeln!(w, "{}", p.load(Relaxed))?;
    }
    Ok(())
}

/// One probe's filter.
#[derive(Default)]
pub(crate) struct Filter {
    on: AtomicBool,
    pid: AtomicI32,
    comm: [AtomicU64; 2],
}

impl Filter {
    /// Whether the current task's hit passes (global filter included): one
    /// load while no filter is in force anywhere.
    #[inline(always)]
    pub(crate) fn pass(&self) -> bool {
        ACTIVE.load(Acquire) == 0 || self.pass_filtered()
    }

    /// [`Self::pass`] while some filter is in force.
    #[inline(never)]
    fn pass_filtered(&self) -> bool {
        if !global_pass() {
            return false;
        }
        if !self.on.load(Acquire) {
            return true;
        }
        let pid = self.pid.load(Relaxed);
        if pid != 0 {
            return current_pid() == pid;
        }
        let (lo, hi) = task::current_comm_words();
        self.comm[0].load(Relaxed) == lo && self.comm[1].load(Relaxed) == hi
    }

    /// Applies `pid=N`, `comm=NAME` or `none`; a bad `spec` changes
    /// nothing. [`ACTIVE`] follows the filter going on or off.
    pub(crate) fn set(&self, spec: &str) -> Result {
        // (pid, comm), checked before anything changes.
        let new = match spec.split_once('=') {
            None if spec == "none" => None,
            Some(("pid", val)) => {
                let pid: i32 = val.parse().map_err(|_| EINVAL)?;
                if pid <= 0 {
                    return Err(EINVAL);
                }
                Some((pid, [0u8; 16]))
            }
            Some(("comm", val)) => {
                // TASK_COMM_LEN - 1 characters, NUL-padded like `comm`.
                if val.is_empty() || val.len() > 15 {
                    return Err(EINVAL);
                }
                let mut c = [0u8; 16];
                c[..val.len()].copy_from_slice(val.as_bytes());
                Some((0, c))
            }
            _ => return Err(EINVAL),
        };
        if self.on.swap(false, AcqRel) {
            account(false);
        }
        let Some((pid, c)) = new else {
            return Ok(());
        };
        self.pid.store(pid, Relaxed);
        self.comm[0].store(
            u64::from_ne_bytes(c[..8].try_into().unwrap_or([0; 8])),
            Relaxed,
        );
        self.comm[1].store(
            u64::from_ne_bytes(c[8..].try_into().unwrap_or([0; 8])),
            Relaxed,
        );
        self.on.store(true, Release);
        account(true);
        Ok(())
    }

    /// Writes the filter (`pid=N`, `comm=NAME`, or `none`).
    pub(crate) fn show(&self, w: &mut impl Write) -> core::fmt::Result {
        if !self.on.load(Acquire) {
            return w.write_str("none");
        }
        let pid = self.pid.load(Relaxed);
        if pid != 0 {
            return write!(w, "pid={pid}");
        }
        let mut c = [0u8; 16];
        c[..8].copy_from_slice(&self.comm[0].load(Relaxed).to_ne_bytes());
        c[8..].copy_from_slice(&self.comm[1].load(Relaxed).to_ne_bytes());
        let n = c.iter().position(|&b| b == 0).unwrap_or(16);
        write!(w, "comm={}", core::str::from_utf8(&c[..n]).unwrap_or("?"))
    }
}

impl Drop for Filter {
    fn drop(&mut self) {
        if *self.on.get_mut() {
            account(false);
        }
    }
}

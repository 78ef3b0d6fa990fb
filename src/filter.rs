// SPDX-License-Identifier: GPL-2.0

//! Hit filters, applied first thing in the handlers so that a filtered-out
//! hit costs a couple of loads: nothing is counted, recorded or hijacked.
//!
//! - Per probe (`filter` file): `[GRP/]EVENT pid=PID`, `[GRP/]EVENT
//!   comm=NAME`, `[GRP/]EVENT none`.
//! - Global (`set_event_pid`, as tracefs): hits of any probe count only in
//!   the listed tasks (up to [`MAX_PIDS`]); an empty write clears it.

use crate::kbind;
use core::fmt::Write;
use core::sync::atomic::{
    AtomicBool, AtomicI32, AtomicU64, AtomicUsize,
    Ordering::{Acquire, Relaxed, Release},
};
use kernel::prelude::*;

/// Most pids in `set_event_pid`.
pub(crate) const MAX_PIDS: usize = 16;

static GLOBAL_PIDS: [AtomicI32; MAX_PIDS] = [const { AtomicI32::new(0) }; MAX_PIDS];
static GLOBAL_N: AtomicUsize = AtomicUsize::new(0);

fn current_pid() -> i32 {
    crate::percpu::current_pid()
}

fn current_comm() -> [u8; 16] {
    let mut c = [0u8; 16];
    // SAFETY: `c` has TASK_COMM_LEN (16) bytes.
    unsafe { kbind::rprobes_current_comm(c.as_mut_ptr().cast()) };
    c
}

/// Whether the global pid filter lets the current task's hits through.
#[inline]
pub(crate) fn global_pass() -> bool {
    let n = GLOBAL_N.load(Acquire);
    if n == 0 {
        return true;
    }
    let pid = current_pid();
    GLOBAL_PIDS[..n.min(MAX_PIDS)]
        .iter()
        .any(|p| p.load(Relaxed) == pid)
}

/// Sets the global pid list (the caller serialises writers).
pub(crate) fn set_global(pids: &[i32]) -> Result {
    if pids.len() > MAX_PIDS || pids.iter().any(|&p| p <= 0) {
        return Err(EINVAL);
    }
    GLOBAL_N.store(0, Release);
    for (slot, &p) in GLOBAL_PIDS.iter().zip(pids) {
        slot.store(p, Relaxed);
    }
    GLOBAL_N.store(pids.len(), Release);
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
    /// Whether the current task's hit passes (global filter included).
    #[inline]
    pub(crate) fn pass(&self) -> bool {
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
        let c = current_comm();
        let lo = u64::from_ne_bytes(c[..8].try_into().unwrap_or([0; 8]));
        let hi = u64::from_ne_bytes(c[8..].try_into().unwrap_or([0; 8]));
        self.comm[0].load(Relaxed) == lo && self.comm[1].load(Relaxed) == hi
    }

    /// Applies `pid=N`, `comm=NAME` or `none`.
    pub(crate) fn set(&self, spec: &str) -> Result {
        if spec == "none" {
            self.on.store(false, Release);
            return Ok(());
        }
        let (key, val) = spec.split_once('=').ok_or(EINVAL)?;
        self.on.store(false, Release);
        match key {
            "pid" => {
                let pid: i32 = val.parse().map_err(|_| EINVAL)?;
                if pid <= 0 {
                    return Err(EINVAL);
                }
                self.pid.store(pid, Relaxed);
            }
            "comm" => {
                // TASK_COMM_LEN - 1 characters, NUL-padded like `comm`.
                if val.is_empty() || val.len() > 15 {
                    return Err(EINVAL);
                }
                let mut c = [0u8; 16];
                c[..val.len()].copy_from_slice(val.as_bytes());
                self.pid.store(0, Relaxed);
                self.comm[0].store(
                    u64::from_ne_bytes(c[..8].try_into().unwrap_or([0; 8])),
                    Relaxed,
                );
                self.comm[1].store(
                    u64::from_ne_bytes(c[8..].try_into().unwrap_or([0; 8])),
                    Relaxed,
                );
            }
            _ => return Err(EINVAL),
        }
        self.on.store(true, Release);
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

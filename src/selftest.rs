// SPDX-License-Identifier: GPL-2.0

//! Functions for the guest tests to probe, reached by writing to the
//! debugfs file `selftest` (as `lib/tests/test_kprobes.c` keeps its own
//! targets): a recursive function and a pair of nested ones, with return
//! values that tell every call apart.
//!
//! ```text
//! echo 'recurse 5' > selftest   # rprobes_selftest_recurse(5..0): returns 0,1,..5
//! echo 'nest 7' > selftest      # outer(7) calls inner(7): returns 15, then 115
//! echo 'sleep 500' > selftest    # sleeps 500 ms in rprobes_selftest_sleep
//! ```
//!
//! `rprobes_selftest_sleep` is a sleeping function that nothing else in the
//! system calls (unlike the nanosleep path, where `timeout(1)` sleeps all the
//! time), so tests can count the tasks inside it exactly. A signal ends the
//! sleep early; it returns the milliseconds left.

use core::hint::black_box;
use kernel::prelude::*;

/// Deepest recursion accepted.
pub(crate) const MAX_DEPTH: u64 = 64;

/// Returns `n`, through `n` nested calls of itself.
#[no_mangle]
#[inline(never)]
pub(crate) extern "C" fn rprobes_selftest_recurse(n: u64) -> u64 {
    if black_box(n) == 0 {
        return 0;
    }
    black_box(rprobes_selftest_recurse(n - 1)) + 1
}

/// Returns `2 * x + 1`.
#[no_mangle]
#[inline(never)]
pub(crate) extern "C" fn rprobes_selftest_inner(x: u64) -> u64 {
    black_box(black_box(x).wrapping_mul(2).wrapping_add(1))
}

/// Returns `inner(x) + 100`.
#[no_mangle]
#[inline(never)]
pub(crate) extern "C" fn rprobes_selftest_outer(x: u64) -> u64 {
    black_box(rprobes_selftest_inner(black_box(x))).wrapping_add(100)
}

/// Sleeps `ms` milliseconds (interruptibly); returns the milliseconds left.
#[no_mangle]
#[inline(never)]
pub(crate) extern "C" fn rprobes_selftest_sleep(ms: u32) -> u64 {
    // SAFETY: Process context (a debugfs write).
    unsafe { crate::kbind::msleep_interruptible(black_box(ms)) as u64 }
}

/// Runs one `selftest` command.
pub(crate) fn run(line: &[u8]) -> Result {
    let line = core::str::from_utf8(line).map_err(|_| EINVAL)?.trim();
    if line.is_empty() {
        return Ok(());
    }
    let (cmd, arg) = line.split_once(' ').ok_or(EINVAL)?;
    let n: u64 = arg.trim().parse().map_err(|_| EINVAL)?;
    match cmd {
        "recurse" if n <= MAX_DEPTH => {
            black_box(rprobes_selftest_recurse(n));
        }
        "nest" => {
            black_box(rprobes_selftest_outer(n));
        }
        "sleep" => {
            let ms = u32::try_from(n).map_err(|_| EINVAL)?;
            if rprobes_selftest_sleep(ms) != 0 {
                return Err(EINTR);
            }
        }
        _ => return Err(EINVAL),
    }
    Ok(())
}

// SPDX-License-Identifier: GPL-2.0

//! Power-of-two histograms (entry-to-return latency of return probes).
//!
//! Bucket `0` holds the value 0, bucket `b >= 1` holds `[2^(b-1), 2^b)`.
//! Pure `no_std` logic shared by the module and the host tests.

use core::fmt::{self, Write};

/// Number of buckets: enough for any `u64`.
pub const BUCKETS: usize = 65;

/// The bucket of `v`.
#[inline]
pub const fn bucket(v: u64) -> usize {
    (u64::BITS - v.leading_zeros()) as usize
}

/// The half-open range `[lo, hi)` of bucket `b` (`hi` is `None` for the
/// last, unbounded one).
pub const fn range(b: usize) -> (u64, Option<u64>) {
    match b {
        0 => (0, Some(1)),
        64 => (1 << 63, None),
        _ => (1 << (b - 1), Some(1 << b)),
    }
}

/// Writes `v` with a binary unit suffix, like bpftrace (`512`, `1K`, `4M`).
pub fn write_size(w: &mut impl Write, v: u64) -> fmt::Result {
    const UNITS: [&str; 7] = ["", "K", "M", "G", "T", "P", "E"];
    let mut u = 0;
    let mut v = v;
    while v >= 1024 && v % 1024 == 0 && u + 1 < UNITS.len() {
        v /= 1024;
        u += 1;
    }
    write!(w, "{v}{}", UNITS[u])
}

/// Width of the bar of the largest bucket.
pub const BAR_WIDTH: u64 = 40;

/// Writes the non-empty span of `counts` (from the first to the last
/// non-empty bucket), one line per bucket:
///
/// ```text
/// [1K, 2K)            12 |@@@@@@@@                                |
/// ```
pub fn write(w: &mut impl Write, counts: &[u64; BUCKETS]) -> fmt::Result {
    let Some(first) = counts.iter().position(|&c| c != 0) else {
        return Ok(());
    };
    let last = counts.iter().rposition(|&c| c != 0).unwrap_or(first);
    let max = counts.iter().copied().max().unwrap_or(1).max(1);
    for (b, &c) in counts.iter().enumerate().take(last + 1).skip(first) {
        let mut label = crate::lang::lex::FixedBuf::<32>::new();
        let (lo, hi) = range(b);
        label.write_char('[')?;
        write_size(&mut label, lo)?;
        label.write_str(", ")?;
        match hi {
            Some(h) => write_size(&mut label, h)?,
            None => label.write_str("...")?,
        }
        label.write_char(')')?;
        let n = (c.saturating_mul(BAR_WIDTH) / max) as usize;
        writeln!(
            w,
            "{:<20} {:>10} |{:@<n$}{:w$}|",
            label.as_str(),
            c,
            "",
            "",
            n = n,
            w = BAR_WIDTH as usize - n
        )?;
    }
    Ok(())
}

/// Sum of all counts.
pub fn total(counts: &[u64; BUCKETS]) -> u64 {
    counts.iter().fold(0u64, |a, &c| a.wrapping_add(c))
}

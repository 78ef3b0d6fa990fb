// SPDX-License-Identifier: GPL-2.0

//! Host tests of the log2 latency histogram.

use rprobes_core::retprobes::hist::{self, bucket, range, BUCKETS};

#[test]
fn buckets_cover_every_value_once() {
    assert_eq!(bucket(0), 0);
    assert_eq!(bucket(1), 1);
    assert_eq!(bucket(2), 2);
    assert_eq!(bucket(3), 2);
    assert_eq!(bucket(1023), 10);
    assert_eq!(bucket(1024), 11);
    assert_eq!(bucket(u64::MAX), 64);
    for v in [0u64, 1, 2, 3, 7, 8, 1000, 1 << 40, (1 << 40) - 1, u64::MAX] {
        let (lo, hi) = range(bucket(v));
        assert!(lo <= v && hi.map_or(true, |h| v < h), "{v} not in bucket");
    }
    assert_eq!(range(BUCKETS - 1).1, None);
}

#[test]
fn renders_the_non_empty_span() {
    let mut c = [0u64; BUCKETS];
    c[bucket(1500)] = 4;
    c[bucket(5000)] = 2;
    let mut s = String::new();
    hist::write(&mut s, &c).unwrap();
    let lines: Vec<&str> = s.lines().collect();
    assert_eq!(lines.len(), 3, "{s}");
    assert!(lines[0].starts_with("[1K, 2K)"), "{s}");
    assert!(lines[1].starts_with("[2K, 4K)"), "{s}");
    assert!(lines[2].starts_with("[4K, 8K)"), "{s}");
    assert!(lines[0].contains(&format!("|{}|", "@".repeat(40))), "{s}");
    assert!(
        lines[1].contains(&format!(" 0 |{}|", " ".repeat(40))),
        "{s}"
    );
    assert!(
        lines[2].contains(&format!("|{}{}|", "@".repeat(20), " ".repeat(20))),
        "{s}"
    );
    assert_eq!(hist::total(&c), 6);
    let mut e = String::new();
    hist::write(&mut e, &[0; BUCKETS]).unwrap();
    assert!(e.is_empty());
}

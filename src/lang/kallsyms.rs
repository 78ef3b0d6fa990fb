// SPDX-License-Identifier: GPL-2.0

//! Pure helpers for finding symbol names that occur more than once in
//! `/proc/kallsyms` (tracefs refuses to probe such a name: "The symbol is
//! not unique"). `no_std`, no allocation: tested on the host.

/// 64-bit FNV-1a hash of `s`.
pub fn hash(s: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in s {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Splits one `/proc/kallsyms` line, `ADDR TYPE NAME[\t[MODULE]]`, into
/// `(NAME, MODULE)`; `MODULE` is empty for the core kernel.
pub fn parse_line(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut it = line.splitn(3, |&b| b == b' ');
    let _addr = it.next()?;
    let _ty = it.next()?;
    let rest = it.next()?;
    match rest.iter().position(|&b| b == b'\t') {
        Some(i) => {
            let m = &rest[i + 1..];
            let m = m.strip_prefix(b"[")?.strip_suffix(b"]")?;
            Some((&rest[..i], m))
        }
        None => Some((rest, &[][..])),
    }
}

/// The key a `[MOD:]SYM` probe point is looked up under: the name's hash,
/// and the module's hash (0 for "any module", i.e. a plain `SYM`).
pub fn probe_key(sym: &str) -> (u64, u64) {
    match sym.split_once(':') {
        Some((m, s)) => (hash(s.as_bytes()), hash(m.as_bytes())),
        None => (hash(sym.as_bytes()), 0),
    }
}

/// Given `(name hash, module hash)` pairs sorted by name hash then module
/// hash, calls `dup_name(h)` once for every name seen more than once in
/// all, and `dup_in_module(h, m)` once for every name seen more than once
/// within one module.
pub fn find_duplicates(
    sorted: &[(u64, u64)],
    mut dup_name: impl FnMut(u64),
    mut dup_in_module: impl FnMut(u64, u64),
) {
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i + 1;
        while j < sorted.len() && sorted[j].0 == sorted[i].0 {
            j += 1;
        }
        if j - i > 1 {
            dup_name(sorted[i].0);
            let mut k = i;
            while k < j {
                let mut l = k + 1;
                while l < j && sorted[l].1 == sorted[k].1 {
                    l += 1;
                }
                if l - k > 1 {
                    dup_in_module(sorted[k].0, sorted[k].1);
                }
                k = l;
            }
        }
        i = j;
    }
}

/// In-place heapsort by a key (O(n log n), no allocation).
pub fn heapsort_by_key<T, K: Ord>(v: &mut [T], key: impl Fn(&T) -> K) {
    let n = v.len();
    let sift = |v: &mut [T], mut root: usize, end: usize| loop {
        let mut child = 2 * root + 1;
        if child >= end {
            break;
        }
        if child + 1 < end && key(&v[child]) < key(&v[child + 1]) {
            child += 1;
        }
        if key(&v[root]) >= key(&v[child]) {
            break;
        }
        v.swap(root, child);
        root = child;
    };
    for start in (0..n / 2).rev() {
        sift(v, start, n);
    }
    for end in (1..n).rev() {
        v.swap(0, end);
        sift(v, 0, end);
    }
}

/// In-place heapsort (O(n log n), no allocation).
///
/// Used instead of `<[T]>::sort_unstable`, whose ord-violation panic path
/// objtool does not know as `noreturn` in module objects ("falls through to
/// next function").
pub fn heapsort<T: Ord + Copy>(v: &mut [T]) {
    heapsort_by_key(v, |x| *x);
}

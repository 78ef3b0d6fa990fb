// SPDX-License-Identifier: GPL-2.0

//! Pure helpers for counting the symbols a probe point's name stands for
//! in `/proc/kallsyms`, as tracefs' `validate_probe_symbol()` does before
//! it accepts a probe: none is "Invalid probed address or symbol", more
//! than one "The symbol is not unique". `no_std`, no allocation: tested on
//! the host.

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

/// Whether a `/proc/kallsyms` module column names a real module: not one
/// of the kernel's pseudo-modules (`[__builtin__kprobes]`,
/// `[__builtin__ftrace]`, `[bpf]`), which tracefs' symbol count
/// (`module_kallsyms_on_each_symbol()`) does not see.
pub fn is_real_module(module: &[u8]) -> bool {
    !module.is_empty() && !module.starts_with(b"__builtin__") && module != b"bpf"
}

/// Whether kallsyms name `name` is a compiler clone of function `sym`:
/// `SYM.SUFFIX[.SUFFIX...]`, as GCC names its clones (`SYM.isra.0`,
/// `SYM.constprop.0`, `SYM.part.0`, `SYM.constprop.0.isra.0`) and clang
/// its (`SYM.specialized.1`, `SYM.llvm.123`), but not a cold part split
/// off a function (`SYM.cold`, `SYM.part.0.cold`): no entry there.
/// `sym` itself has no `.` (a clone's name is probed as it is).
pub fn is_clone_of(name: &[u8], sym: &[u8]) -> bool {
    if sym.is_empty() || sym.contains(&b'.') {
        return false;
    }
    let Some(rest) = name.strip_prefix(sym).and_then(|r| r.strip_prefix(b".")) else {
        return false;
    };
    !rest.is_empty()
        && rest
            .split(|&b| b == b'.')
            .all(|part| !part.is_empty() && !part.starts_with(b"cold"))
}

/// How many entries of sorted `v` are `x`.
fn count_eq<T: Ord>(v: &[T], x: &T) -> usize {
    v.partition_point(|e| e <= x) - v.partition_point(|e| e < x)
}

/// How many symbols `[MOD:]SYM` names, counted as tracefs'
/// `number_of_same_symbols()` counts them: a plain `SYM` in the core
/// kernel, or, if the core kernel has none, in all modules; `MOD:SYM` in
/// module MOD. `None` when module MOD is not loaded (tracefs accepts such
/// a probe and registers it when the module comes).
///
/// `core`: the name hashes of the core kernel's symbols, sorted,
/// duplicates kept; `modules`: `(name hash, module hash)` of the modules'
/// symbols, sorted, duplicates kept.
pub fn count_symbol(core: &[u64], modules: &[(u64, u64)], sym: &str) -> Option<usize> {
    let (h, m) = probe_key(sym);
    if m == 0 {
        let n = count_eq(core, &h);
        if n > 0 {
            return Some(n);
        }
        let from = modules.partition_point(|&(n, _)| n < h);
        return Some(modules[from..].iter().take_while(|&&(n, _)| n == h).count());
    }
    if !modules.iter().any(|&(_, mm)| mm == m) {
        return None;
    }
    Some(count_eq(modules, &(h, m)))
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

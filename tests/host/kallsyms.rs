//! Host tests of the duplicate-symbol helpers.

use rprobes_core::lang::kallsyms::{find_duplicates, hash, parse_line, probe_key};

#[test]
fn parses_lines() {
    assert_eq!(
        parse_line(b"ffffffff81000000 T _text"),
        Some((&b"_text"[..], &b""[..]))
    );
    assert_eq!(
        parse_line(b"ffffffffc0000000 t name_show\t[rprobes]"),
        Some((&b"name_show"[..], &b"rprobes"[..]))
    );
    assert_eq!(parse_line(b"garbage"), None);
    assert_eq!(parse_line(b"ffff t x\t[broken"), None);
}

#[test]
fn finds_duplicates() {
    let lines: &[&[u8]] = &[
        b"1 t name_show",
        b"2 t name_show",
        b"3 T vfs_read",
        b"4 t init_one\t[a]",
        b"5 t init_one\t[b]",
        b"6 t twice\t[m]",
        b"7 t twice\t[m]",
    ];
    let mut v: Vec<(u64, u64)> = lines
        .iter()
        .map(|l| {
            let (n, m) = parse_line(l).unwrap();
            (hash(n), if m.is_empty() { 0 } else { hash(m) })
        })
        .collect();
    v.sort_unstable();
    let (mut names, mut in_mod) = (Vec::new(), Vec::new());
    find_duplicates(&v, |h| names.push(h), |h, m| in_mod.push((h, m)));
    names.sort_unstable();
    let mut want = vec![hash(b"name_show"), hash(b"init_one"), hash(b"twice")];
    want.sort_unstable();
    assert_eq!(names, want);
    // Only `twice` is duplicated inside one module ([m]); name_show is
    // duplicated in the core kernel (module hash 0).
    assert!(in_mod.contains(&(hash(b"twice"), hash(b"m"))));
    assert!(in_mod.contains(&(hash(b"name_show"), 0)));
    assert!(!in_mod.iter().any(|&(h, _)| h == hash(b"init_one")));
    assert_eq!(probe_key("m:twice"), (hash(b"twice"), hash(b"m")));
    assert_eq!(probe_key("vfs_read"), (hash(b"vfs_read"), 0));
}

#[test]
fn heapsort_sorts() {
    use rprobes_core::lang::kallsyms::heapsort;
    let mut seed = 0x1234_5678u64;
    for n in [0usize, 1, 2, 3, 10, 100, 1000] {
        let mut v: Vec<(u64, u64)> = (0..n)
            .map(|_| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                (seed >> 60, seed >> 33)
            })
            .collect();
        let mut want = v.clone();
        want.sort();
        heapsort(&mut v);
        assert_eq!(v, want, "n={n}");
    }
}

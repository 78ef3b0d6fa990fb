//! Host tests of the symbol-count helpers (tracefs' validate_probe_symbol()).

use rprobes_core::lang::kallsyms::{count_symbol, hash, is_real_module, parse_line, probe_key};

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

/// The tables `SymTab` keeps, from `/proc/kallsyms` lines.
fn tables(lines: &[&[u8]]) -> (Vec<u64>, Vec<(u64, u64)>) {
    let (mut core, mut modules) = (Vec::new(), Vec::new());
    for l in lines {
        match parse_line(l).unwrap() {
            (n, m) if m.is_empty() => core.push(hash(n)),
            (n, m) if is_real_module(m) => modules.push((hash(n), hash(m))),
            _ => {}
        }
    }
    core.sort_unstable();
    modules.sort_unstable();
    (core, modules)
}

#[test]
fn counts_symbols_as_tracefs() {
    let (core, modules) = tables(&[
        b"1 t name_show",
        b"2 t name_show",
        b"3 T vfs_read",
        b"4 t init_one\t[a]",
        b"5 t init_one\t[b]",
        b"6 t twice\t[m]",
        b"7 t twice\t[m]",
        b"8 t vfs_read\t[m]",
        b"9 t once\t[m]",
        b"a t kprobe_insn_page\t[__builtin__kprobes]",
        b"b t bpf_prog_1\t[bpf]",
    ]);
    let count = |s| count_symbol(&core, &modules, s);
    // Plain names: the core kernel's count if it has the name (a module's
    // vfs_read does not make it ambiguous), else all modules'.
    assert_eq!(count("name_show"), Some(2));
    assert_eq!(count("vfs_read"), Some(1));
    assert_eq!(count("init_one"), Some(2));
    assert_eq!(count("twice"), Some(2));
    assert_eq!(count("once"), Some(1));
    assert_eq!(count("nosuch"), Some(0));
    // Pseudo-modules are not counted.
    assert_eq!(count("kprobe_insn_page"), Some(0));
    assert_eq!(count("bpf_prog_1"), Some(0));
    // MOD:SYM counts within the module; a module that is not loaded: None.
    assert_eq!(count("m:twice"), Some(2));
    assert_eq!(count("m:vfs_read"), Some(1));
    assert_eq!(count("a:init_one"), Some(1));
    assert_eq!(count("a:twice"), Some(0));
    assert_eq!(count("m:"), Some(0));
    assert_eq!(count("nosuchmod:vfs_read"), None);
    assert_eq!(count(":vfs_read"), None);
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

#[test]
fn compiler_clones() {
    use rprobes_core::lang::kallsyms::is_clone_of;
    // GCC's and clang's clone names.
    for n in [
        &b"foo.isra.0"[..],
        b"foo.constprop.0",
        b"foo.part.0",
        b"foo.constprop.0.isra.0",
        b"foo.specialized.1",
        b"foo.llvm.1234567",
    ] {
        assert!(is_clone_of(n, b"foo"), "{}", String::from_utf8_lossy(n));
    }
    // Not clones of foo: the function itself, another function, cold
    // parts (no entry), empty suffixes.
    for n in [
        &b"foo"[..],
        b"foobar.isra.0",
        b"fo.isra.0",
        b"foo.cold",
        b"foo.cold.12",
        b"foo.part.0.cold",
        b"foo.",
        b"foo..isra",
        b"foo.isra.",
        b"bar.foo.isra.0",
    ] {
        assert!(!is_clone_of(n, b"foo"), "{}", String::from_utf8_lossy(n));
    }
    // A name with a `.` is probed as it is: it has no clones.
    assert!(!is_clone_of(b"foo.isra.0.isra.1", b"foo.isra.0"));
    assert!(!is_clone_of(b".isra.0", b""));
}

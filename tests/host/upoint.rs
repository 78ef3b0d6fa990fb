// SPDX-License-Identifier: GPL-2.0

//! Host tests of the user probe point syntax.

use rprobes_core::lang::upoint::{parse, UTarget, UTargetError::*};

#[test]
fn accepts_both_forms() {
    assert_eq!(
        parse("42:0x401000"),
        Ok(UTarget::Addr {
            pid: 42,
            addr: 0x401000
        })
    );
    assert_eq!(
        parse("7:/usr/bin/my:prog:0x1130"),
        Ok(UTarget::File {
            pid: Some(7),
            path: "/usr/bin/my:prog",
            offset: 0x1130,
            ref_ctr: None
        })
    );
}

#[test]
fn rejects_with_reasons() {
    for (s, e) in [
        ("", BadPid),
        ("0:0x10", BadPid),
        ("-1:0x10", BadPid),
        ("x:0x10", BadPid),
        ("99999999999:0x10", BadPid),
        ("1:4096", BadOffset),
        ("1:0x", BadOffset),
        ("1:0x12345678901234567", BadOffset),
        ("1:0xg", BadOffset),
        ("1:bin/x:0x10", BadPath),
        ("1:/bin/x:10", BadOffset),
        ("1:/bin/x:", BadOffset),
        ("1:/bin/x:0xzz", BadOffset),
        ("1:/bin/x:9main", BadOffset),
        ("1:/bin/x:ma-in", BadSymbol),
        ("1:/bin/x:ma in", BadSymbol),
        ("1:/bin/x:+4", BadSymbol),
        ("1:/bin/x:main+", BadSymbolOffset),
        ("1:/bin/x:main+x", BadSymbolOffset),
        ("1:/bin/x:main++4", BadSymbolOffset),
        ("1:/bin/x:main+-4", BadSymbolOffset),
        ("1:/bin/x:main+4+4", BadSymbolOffset),
        ("1:/bin/x:main+0x100000000", BadSymbolOffset),
        ("1:/bin/x:main+99999999999999999999", BadSymbolOffset),
        ("1:bin/x:main", BadPath),
        ("x:/bin/x:main", BadPid),
        ("/bin/x", BadOffset),
        ("/bin/x:", BadOffset),
        ("/bin/x:12", BadOffset),
        ("/bin/x:0x", BadOffset),
        ("/bin/x:ma-in", BadSymbol),
        ("/bin/x:main+x", BadSymbolOffset),
    ] {
        assert_eq!(parse(s), Err(e), "{s}");
    }
}

fn sym(s: &str) -> (u32, &str, &str, u64, usize) {
    match parse(s) {
        Ok(UTarget::Symbol {
            pid,
            path,
            symbol,
            offset,
            symbol_pos,
        }) => (pid.expect("a PID"), path, symbol, offset, symbol_pos),
        other => panic!("{s}: {other:?}"),
    }
}

#[test]
fn symbol_form() {
    assert_eq!(sym("42:/bin/x:main"), (42, "/bin/x", "main", 0, 10));
    assert_eq!(sym("42:/bin/x:main+4"), (42, "/bin/x", "main", 4, 10));
    assert_eq!(sym("42:/bin/x:main+0x10"), (42, "/bin/x", "main", 16, 10));
    assert_eq!(sym("42:/bin/x:main+0"), (42, "/bin/x", "main", 0, 10));
    // kstrtoul's base 0, as tracefs' SYM+OFFS: a leading 0 is octal.
    assert_eq!(sym("42:/bin/x:main+010"), (42, "/bin/x", "main", 8, 10));
    assert_eq!(
        sym("42:/bin/x:main+4294967295"),
        (42, "/bin/x", "main", 0xffff_ffff, 10)
    );
    // Leading zeros of the PID count in the positions.
    assert_eq!(sym("0042:/bin/x:f").4, 12);
    // A colon in the path: the last one separates the symbol.
    assert_eq!(sym("7:/a:b/c:_start"), (7, "/a:b/c", "_start", 0, 9));
    // The charset: C, C++ and Rust mangled names, local clones, versions.
    for name in [
        "_ZN4core3fmt5write17h0123456789abcdefE",
        "_ZN3std2rt10lang_start28_$u7b$$u7b$closure$u7d$$u7d$17h1E",
        "_RNvCs1234_7mycrate4main",
        "_ZNSt6vectorIiSaIiEE9push_backERKi",
        "foo.cold",
        "bar.constprop.0",
        "memcpy@@GLIBC_2.14",
        "x",
        "X9",
        "$x",
        ".L1",
        "@a",
    ] {
        let s = format!("1:/lib/libfoo.so.6:{name}+1");
        let (_, _, got, off, at) = sym(&s);
        assert_eq!((got, off, at), (name, 1, 19), "{s}");
    }
    // Not a symbol: the 0x form stays an offset.
    assert_eq!(
        parse("1:/bin/x:0X1F"),
        Ok(UTarget::File {
            pid: Some(1),
            path: "/bin/x",
            offset: 0x1f,
            ref_ctr: None
        })
    );
}

#[test]
fn symbol_length_and_positions() {
    use rprobes_core::lang::upoint::MAX_USYMBOL_LEN;
    let long = "a".repeat(MAX_USYMBOL_LEN);
    assert_eq!(sym(&format!("1:/x:{long}")).2.len(), MAX_USYMBOL_LEN);
    assert_eq!(parse(&format!("1:/x:{long}a")), Err(BadSymbol), "too long");
    let t = parse("123:/usr/lib/x.so:foo+8").unwrap();
    let (p, s, o) = t.symbol_positions().unwrap();
    let text = "123:/usr/lib/x.so:foo+8";
    assert_eq!(
        (&text[p..p + 1], &text[s..s + 3], &text[o..]),
        ("/", "foo", "+8")
    );
    assert_eq!(parse("1:0x10").unwrap().symbol_positions(), None);
}

#[test]
fn every_error_has_a_message() {
    for e in [BadPid, BadOffset, BadPath, BadSymbol, BadSymbolOffset] {
        assert!(!e.message().is_empty());
    }
}

#[test]
fn path_forms() {
    // tracefs' `uprobe_events` form: no PID, every process that maps it.
    assert_eq!(
        parse("/usr/lib/x86_64-linux-gnu/libc.so.6:0x9a0e0"),
        Ok(UTarget::File {
            pid: None,
            path: "/usr/lib/x86_64-linux-gnu/libc.so.6",
            offset: 0x9a0e0,
            ref_ctr: None
        })
    );
    // A USDT semaphore: `(0xREF)`, even.
    assert_eq!(
        parse("/bin/app:0x10(0x4a7ab8)"),
        Ok(UTarget::File {
            pid: None,
            path: "/bin/app",
            offset: 0x10,
            ref_ctr: Some(0x4a7ab8)
        })
    );
    for bad in [
        "/bin/app:0x10(0x3)",
        "/bin/app:0x10(0x4",
        "/bin/app:0x10(12)",
        "/bin/app:0x10()",
        "/bin/app:0x10(0x4)x",
    ] {
        assert_eq!(parse(bad), Err(BadRefCtr), "{bad}");
    }
    let t = parse("/a:b/libx.so:malloc+4").unwrap();
    assert_eq!(
        t,
        UTarget::Symbol {
            pid: None,
            path: "/a:b/libx.so",
            symbol: "malloc",
            offset: 4,
            symbol_pos: 13
        }
    );
    assert_eq!(t.pid(), None);
    // PATH, SYMBOL and +OFF positions for the caret.
    assert_eq!(t.symbol_positions(), Some((0, 13, 19)));
    assert_eq!(parse("5:/bin/x:main").unwrap().pid(), Some(5));
    assert_eq!(parse("5:0x10").unwrap().pid(), Some(5));
}

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
            pid: 7,
            path: "/usr/bin/my:prog",
            offset: 0x1130
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
    ] {
        assert_eq!(parse(s), Err(e), "{s}");
    }
}

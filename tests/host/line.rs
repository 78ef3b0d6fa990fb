//! Host tests of the control-line parser against tracefs' accept/reject rules
//! (`kprobe_syntax_errors.tc`, `kretprobe_maxactive.tc`, `probepoint.tc`).

use rprobes_core::lang::error::{errno, write_error_entry, ErrorKind, ParseError};
use rprobes_core::lang::line::{
    default_event_name, parse, parse_with, Command, Kind, ProbeDef, Target,
};

fn add(line: &str) -> ProbeDef<'_> {
    match parse(line) {
        Ok(Command::Add(d)) => d,
        other => panic!("{line:?}: expected an add, got {other:?}"),
    }
}

/// `spec` marks the expected caret with `^`, like the selftest does.
fn check_error(spec: &str, kind: ErrorKind) {
    let pos = spec.find('^').expect("caret");
    let line = spec.replacen('^', "", 1);
    let got = parse(&line).map(|_| ()).map_err(|e| (e.kind, e.pos));
    assert_eq!(got, Err((kind, pos)), "line {line:?} (spec {spec:?})");
}

/// Like [`check_error`], and the errno too.
fn check_errno(spec: &str, kind: ErrorKind, errno: i32) {
    check_error(spec, kind);
    let line = spec.replacen('^', "", 1);
    assert_eq!(parse(&line).unwrap_err().errno, errno, "{line:?}");
}

/// A remove line, parsed.
fn remove(line: &str) -> rprobes_core::lang::line::RemoveDef<'_> {
    match parse(line) {
        Ok(Command::Remove(r)) => r,
        other => panic!("{line:?}: expected a remove, got {other:?}"),
    }
}

#[test]
fn accepts_known_good_lines() {
    let d = add("p:myevent kernel_clone");
    assert_eq!(d.kind, Kind::Entry);
    assert_eq!(d.group, None);
    assert_eq!(d.event, Some("myevent"));
    assert_eq!(
        d.target,
        Target::Symbol {
            name: "kernel_clone",
            offset: 0
        }
    );

    let d = add("p:kprobes2/event2 vfs_read");
    assert_eq!((d.group, d.event), (Some("kprobes2"), Some("event2")));

    let d = add("p vfs_read+16");
    assert_eq!(
        d.target,
        Target::Symbol {
            name: "vfs_read",
            offset: 16
        }
    );
    let d = add("p vfs_read+0x10");
    assert_eq!(
        d.target,
        Target::Symbol {
            name: "vfs_read",
            offset: 16
        }
    );

    let d = add("p:event1 trace_printk:trace_printk_irq_work");
    assert_eq!(
        d.target,
        Target::Symbol {
            name: "trace_printk:trace_printk_irq_work",
            offset: 0
        }
    );

    let d = add("p 0xffffffff81000000");
    assert_eq!(d.target, Target::Addr(0xffff_ffff_8100_0000));

    let d = add("r10:myprobeaccept inet_csk_accept");
    assert_eq!(d.kind, Kind::Return { maxactive: 10 });
    let d = add("p:myprobeaccept vfs_read%return");
    assert_eq!(d.kind, Kind::Return { maxactive: 0 });
    assert_eq!(
        d.target,
        Target::Symbol {
            name: "vfs_read",
            offset: 0
        }
    );
    assert_eq!(add("r vfs_read+0").kind, Kind::Return { maxactive: 0 });
    assert_eq!(add("r10 vfs_read").kind, Kind::Return { maxactive: 10 });

    // tracefs' GRP.EVENT spelling.
    let d = add("p:foo.bar vfs_read");
    assert_eq!((d.group, d.event), (Some("foo"), Some("bar")));
    // Dotted (.isra/.constprop) symbols.
    let d = add("p foo.isra.0+4");
    assert_eq!(
        d.target,
        Target::Symbol {
            name: "foo.isra.0",
            offset: 4
        }
    );
    // Words separated by any white space, comments stripped.
    let d = add("  p:e \t vfs_read   # a comment");
    assert_eq!(d.target_pos, 4);
}

#[test]
fn empty_and_comment_lines() {
    assert_eq!(parse(""), Ok(Command::Empty));
    assert_eq!(parse("   \t"), Ok(Command::Empty));
    assert_eq!(parse("# p vfs_read"), Ok(Command::Empty));
}

#[test]
fn remove_lines() {
    match parse("-:myprobe") {
        Ok(Command::Remove(r)) => {
            assert_eq!((r.group, r.event, r.target), (None, "myprobe", None))
        }
        other => panic!("{other:?}"),
    }
    match parse("-:kprobes/testevent _do_fork") {
        Ok(Command::Remove(r)) => {
            assert_eq!(
                (r.group, r.event, r.target),
                (Some("kprobes"), "testevent", Some((20, "_do_fork")))
            )
        }
        other => panic!("{other:?}"),
    }
    // `-:EVENT PROBE NAME=BODY ...`: the words after the probe point are
    // kept for matching the probe's arguments (tracefs'
    // `trace_probe_match_command_args()`).
    match parse("-:e  vfs_read+8   x=%ax  arg2=+0(%di):u8 # comment") {
        Ok(Command::Remove(r)) => {
            assert_eq!(r.target, Some((4, "vfs_read+8")));
            let args: Vec<_> = r.args.collect();
            assert_eq!(args, [(15, "x=%ax"), (21, "arg2=+0(%di):u8")]);
        }
        other => panic!("{other:?}"),
    }
    match parse("-:e") {
        Ok(Command::Remove(r)) => assert_eq!(r.args.count(), 0),
        other => panic!("{other:?}"),
    }
    check_error("^- myprobe", ErrorKind::UnknownCommand);
    check_error("-:^", ErrorKind::NoEventName);
}

/// `-:` as tracefs' `dyn_event_release()` reads it: no name is checked
/// (a name no event has matches nothing: ENOENT later), `.` is no group
/// separator, and `-:GRP/` is every event of the group.
#[test]
fn remove_lines_as_tracefs() {
    let r = remove("-:/x");
    assert_eq!((r.group, r.event), (Some(""), "x"));
    let r = remove("-:grp/");
    assert_eq!((r.group, r.event, r.target), (Some("grp"), "", None));
    let r = remove("-:grp/ vfs_read");
    assert_eq!(
        (r.group, r.event, r.target),
        (Some("grp"), "", Some((7, "vfs_read")))
    );
    let r = remove("-:grp.ev");
    assert_eq!((r.group, r.event), (None, "grp.ev"));
    let r = remove("-:1bad-name");
    assert_eq!((r.group, r.event), (None, "1bad-name"));
    let r = remove("-:a/b/c");
    assert_eq!((r.group, r.event), (Some("a"), "b/c"));
}

#[test]
fn tracefs_syntax_errors() {
    use ErrorKind::*;
    check_error("p^100 vfs_read", BadMaxactType);
    check_error("r^1a111 vfs_read", BadMaxact);
    check_error("r^0 vfs_read", BadMaxact);
    check_error("r^100000 vfs_read", MaxactTooBig);
    check_error("r^4097 vfs_read", MaxactTooBig);
    check_error("p ^hoge-fuga", BadProbeAddr);
    check_error("p ^hoge+1000-1000", BadProbeAddr);
    check_error("p ^vfs_read-4", BadProbeAddr);
    check_error("p ^vfs_read+0x100000000", BadProbeAddr);
    check_error("r ^vfs_read+10", BadRetprobe);
    check_error("p ^vfs_read+10%return", BadRetprobe);
    check_error("r ^0xffffffff81000000", BadRetprobe);
    check_error("p vfs_read^%hoge", BadAddrSuffix);
    check_error("p:^/bar vfs_read", NoGroupName);
    let long = "1234567890123456789012345678901234567890123456789012345678901234";
    check_error(&format!("p:^{long}5/bar vfs_read"), GroupTooLong);
    check_error("p:^foo.1/bar vfs_read", BadGroupName);
    check_error("p:^ vfs_read", NoEventName);
    check_error(&format!("p:foo/^{long}5 vfs_read"), EventTooLong);
    check_error("p:foo/^bar.1 vfs_read", BadEventName);
    check_error("p:foo/^1bar vfs_read", BadEventName);
    check_error("^a:myprobeaccept inet_csk_accept", UnknownCommand);
    check_error("p vfs_read ^$retval", RetvalOnProbe);
    check_error("p:x^", NoProbePoint);
    check_error("p^", NoProbePoint);
    check_error("^x", UnknownCommand);
}

/// 7.3's `trace_kprobe_create_internal()` and
/// `traceprobe_parse_event_name()`, line by line (the guest test
/// control/tracefs_parity compares them with the running kernel).
#[test]
fn tracefs_7_3_rules() {
    use ErrorKind::*;
    // A group without an event: the event name is generated.
    let d = add("p:grp/ vfs_read");
    assert_eq!((d.group, d.event), (Some("grp"), None));
    assert_eq!(default_event_name(&d).as_str(), "p_vfs_read_0");
    let d = add("r10:grp. vfs_read");
    assert_eq!((d.group, d.event), (Some("grp"), None));
    check_error("p:^/ vfs_read", NoGroupName);
    check_error("p:^ vfs_read", NoEventName);
    // A group may have `-` (is_good_system_name()), an event may not.
    let d = add("p:my-grp/ev vfs_read");
    assert_eq!((d.group, d.event), (Some("my-grp"), Some("ev")));
    assert_eq!(add("p:-grp/ vfs_read").group, Some("-grp"));
    check_error("p:grp/^e-v vfs_read", BadEventName);
    check_error("p:^1grp/ev vfs_read", BadGroupName);
    // After `p`/`r`, only a digit starts MAXACTIVE; the rest is ignored.
    assert_eq!(add("pfoo vfs_read").kind, Kind::Entry);
    assert_eq!(add("rfoo:ev vfs_read").event, Some("ev"));
    assert_eq!(add("r-1 vfs_read").kind, Kind::Return { maxactive: 0 });
    check_error("p^1:ev vfs_read", BadMaxactType);
    assert_eq!(
        BadMaxactType.message(),
        "Maxactive is only for function exit"
    );
    // kstrtouint(): too big for an unsigned int is not a number at all.
    check_error("r^99999999999 vfs_read", BadMaxact);
    check_error("r^4294967296 vfs_read", BadMaxact);
    check_error("r^4294967295 vfs_read", MaxactTooBig);
    assert_eq!(add("r0x10 vfs_read").kind, Kind::Return { maxactive: 16 });
    // `%return` on an `r` line is the same return probe.
    assert_eq!(add("r vfs_read%return").kind, Kind::Return { maxactive: 0 });
    // kstrtoul(): a leading `+` is still a number (an address).
    assert_eq!(add("p +5").target, Target::Addr(5));
    // kstrtol(): `-0` is offset 0; a negative offset is refused, with
    // EINVAL as tracefs (not the ENOENT of a failed registration).
    assert_eq!(
        add("p vfs_read-0").target,
        Target::Symbol {
            name: "vfs_read",
            offset: 0
        }
    );
    check_errno("p ^vfs_read-1", BadProbeAddr, errno::EINVAL);
    check_errno("p ^vfs_read+", BadProbeAddr, errno::EINVAL);
    check_errno("p ^vfs_read-+0", BadProbeAddr, errno::EINVAL);
    check_errno("p ^%return", BadProbeAddr, errno::EINVAL);
    // kallsyms' Rust names are longer than 128 bytes.
    let rust = format!("p _R{}", "x".repeat(250));
    assert!(matches!(add(&rust).target, Target::Symbol { .. }));
}

/// The symbol is checked right after the probe point's own syntax, before
/// `%return`'s entry check, the event name and the arguments, as tracefs'
/// validate_probe_symbol() is.
#[test]
fn symbol_checked_in_tracefs_order() {
    use ErrorKind::*;
    let known = |s: &str| match s {
        "vfs_read" | "m:f" => Ok(()),
        "name_show" => Err(NonUniqSymbol),
        _ => Err(BadProbeAddr),
    };
    let check = |spec: &str, kind: ErrorKind| {
        let pos = spec.find('^').expect("caret");
        let line = spec.replacen('^', "", 1);
        let e = parse_with(&line, known).unwrap_err();
        assert_eq!(
            (e.kind, e.pos, e.errno),
            (kind, pos, errno::EINVAL),
            "{spec}"
        );
    };
    check("p:1bad ^nosuch", BadProbeAddr);
    check("r:1bad ^nosuch+8", BadProbeAddr);
    check("p ^nosuch $retval", BadProbeAddr);
    check("p:g/e ^name_show x=%ax", NonUniqSymbol);
    check("p ^nosuch%return", BadProbeAddr);
    // Before the symbol: MAXACTIVE, the suffix, the offset's syntax.
    check("p^1:1bad nosuch", BadMaxactType);
    check("p:1bad nosuch^%hoge", BadAddrSuffix);
    // After it: the entry check of a return probe, the event name, the
    // arguments.
    check("r:1bad ^vfs_read+8", BadRetprobe);
    check("p:^1bad vfs_read+8", BadEventName);
    check("p vfs_read ^$retval", RetvalOnProbe);
    assert!(parse_with("p:ev m:f+4 x=%ax", known).is_ok());
    // Addresses and user probe points are not looked up.
    assert!(parse_with("p 0x1234", known).is_ok());
}

#[test]
fn r10fuzz_is_a_bad_maxactive() {
    // `r10fuzz:` in kretprobe_maxactive.tc; tracefs reports it at column 1.
    check_error("r^10fuzz:x vfs_read", ErrorKind::BadMaxact);
    assert_eq!(
        parse("r1000000:x vfs_read").unwrap_err().kind,
        ErrorKind::MaxactTooBig
    );
}

#[test]
fn errnos() {
    // A failed registration (no such address or module symbol): ENOENT.
    assert_eq!(ErrorKind::BadProbeAddr.errno(), 2);
    assert_eq!(ErrorKind::BadEventName.errno(), 22);
    assert_eq!(ErrorKind::SameProbe.errno(), 17);
    assert_eq!(ErrorKind::DiffProbeType.errno(), 17);
    assert_eq!(
        ErrorKind::DiffProbeType.message(),
        "Probe type is different from existing probe"
    );
    assert_eq!(ErrorKind::BadInsnBndry.errno(), 84);
    // Refusals of Documentation/rprobes/security.rst: EPERM, as
    // security_locked_down() and process_vm_writev(2) give it.
    assert_eq!(ErrorKind::KprobesLockedDown.errno(), 1);
    assert_eq!(ErrorKind::UprobeNoAccess.errno(), 1);
    assert_eq!(
        ErrorKind::KprobesLockedDown.message(),
        "Kernel probes are refused under lockdown (confidentiality)"
    );
    assert_eq!(
        ErrorKind::UprobeNoAccess.message(),
        "No permission to attach to the process (ptrace)"
    );
}

#[test]
fn default_names_like_tracefs() {
    let long = format!("p {}", "s".repeat(100));
    let cases = [
        ("p vfs_read", "p_vfs_read_0"),
        ("p vfs_read+16", "p_vfs_read_16"),
        ("r vfs_read", "r_vfs_read_0"),
        ("p foo.isra.0", "p_foo_isra_0_0"),
        ("p m:sym", "p_m_sym_0"),
        ("p 0xffffffff81000000", "p_0xffffffff81000000"),
    ];
    for (line, want) in cases {
        assert_eq!(default_event_name(&add(line)).as_str(), want, "{line}");
    }
    assert_eq!(default_event_name(&add(&long)).as_str().len(), 63);
}

#[test]
fn error_entry_format() {
    // The caller reports kernel-side failures at the probe point's position.
    let line = "p   non_exist_func";
    let Ok(Command::Add(d)) = parse(line) else {
        panic!()
    };
    let err = ParseError::new(ErrorKind::BadProbeAddr, d.target_pos);
    assert_eq!(err.pos, 2);
    let mut s = String::new();
    write_error_entry(&mut s, line, &err).unwrap();
    let lines: Vec<&str> = s.lines().collect();
    assert_eq!(lines[0], "rprobes: error: Invalid probed address or symbol");
    assert_eq!(lines[1], "  Command: p non_exist_func");
    // ftracetest: the caret line is 13 + pos bytes long including its newline.
    assert_eq!(lines[2].len() + 1, 13 + err.pos);
    assert!(lines[2].ends_with('^'));
}

#[test]
fn overlong_line() {
    let line = format!("p {}", "a".repeat(5000));
    assert_eq!(parse(&line).unwrap_err().kind, ErrorKind::LineTooLong);
}

#[test]
fn never_panics_on_junk() {
    // A cheap deterministic fuzz: every prefix/suffix of a few nasty lines.
    let seeds = [
        "p:a/b sym+0x10%return x y",
        "r4096:g.e 0xffffffff8100 $a",
        "-:g/e sym",
        "p::::// %%%% ++--",
        "r\u{e9}:\u{e9} \u{e9}+1",
    ];
    for s in seeds {
        for i in 0..=s.len() {
            if s.is_char_boundary(i) {
                let _ = parse(&s[..i]);
                let _ = parse(&s[i..]);
            }
        }
    }
}

#[test]
fn user_probe_points() {
    use rprobes_core::lang::upoint::UTarget;
    let d = add("p:g/u 42:0x401000");
    assert_eq!(
        d.target,
        Target::User(UTarget::Addr {
            pid: 42,
            addr: 0x401000
        })
    );
    assert_eq!(d.target_pos, 6);
    let d = add("p 7:/usr/bin/my-prog:0x1a0");
    assert_eq!(
        d.target,
        Target::User(UTarget::File {
            pid: Some(7),
            path: "/usr/bin/my-prog",
            offset: 0x1a0,
            ref_ctr: None
        })
    );
    // Not an identifier character in the path: `_` in the generated name.
    assert_eq!(default_event_name(&d).as_str(), "p_7_my_prog_0x1a0");
    assert_eq!(default_event_name(&add("p 42:0x10")).as_str(), "p_42_0x10");
    let mut t = String::new();
    rprobes_core::lang::line::write_target(&mut t, &d.target).unwrap();
    assert_eq!(t, "7:/usr/bin/my-prog:0x1a0");
    // PID:PATH:SYMBOL[+OFF]: reads back as written, the offset in
    // decimal, no `+0`.
    let d = add("p 7:/usr/lib/libc.so.6:malloc+0x10");
    assert_eq!(
        d.target,
        Target::User(UTarget::Symbol {
            pid: Some(7),
            path: "/usr/lib/libc.so.6",
            symbol: "malloc",
            offset: 16,
            symbol_pos: 21
        })
    );
    assert_eq!(default_event_name(&d).as_str(), "p_7_libc_so_6_malloc_16");
    let mut t = String::new();
    rprobes_core::lang::line::write_target(&mut t, &d.target).unwrap();
    assert_eq!(t, "7:/usr/lib/libc.so.6:malloc+16");
    // Path probes: tracefs' `uprobe_events` form and its default name.
    let d = add("p /usr/lib/libc.so.6:0x9a0e0");
    assert_eq!(
        d.target,
        Target::User(UTarget::File {
            pid: None,
            path: "/usr/lib/libc.so.6",
            offset: 0x9a0e0,
            ref_ctr: None
        })
    );
    assert_eq!(d.target_pos, 2);
    assert_eq!(default_event_name(&d).as_str(), "p_libc_so_6_0x9a0e0");
    let mut t = String::new();
    rprobes_core::lang::line::write_target(&mut t, &d.target).unwrap();
    assert_eq!(t, "/usr/lib/libc.so.6:0x9a0e0");
    // A USDT semaphore reads back as written.
    let d = add("p:g/s /bin/app:0x10(0x4a7ab8)");
    let mut t = String::new();
    rprobes_core::lang::line::write_target(&mut t, &d.target).unwrap();
    assert_eq!(t, "/bin/app:0x10(0x4a7ab8)");
    let d = add("p:g/m /lib/libc.so.6:malloc+0");
    assert_eq!(default_event_name(&d).as_str(), "p_libc_so_6_malloc_0");
    let mut t = String::new();
    rprobes_core::lang::line::write_target(&mut t, &d.target).unwrap();
    assert_eq!(t, "/lib/libc.so.6:malloc");
    let d = add("p:g/e 7:/bin/x:main+0 a=%ax");
    let mut t = String::new();
    rprobes_core::lang::line::write_target(&mut t, &d.target).unwrap();
    assert_eq!(t, "7:/bin/x:main");
    assert_eq!(d.args.len(), 1);
    // A module-qualified kernel symbol is not a user point.
    assert!(matches!(
        add("p ext4:ext4_sync_fs").target,
        Target::Symbol { .. }
    ));
}

#[test]
fn user_probe_point_errors() {
    check_error("p ^0:0x10", ErrorKind::BadUprobePid);
    check_error("p 12:^4096", ErrorKind::BadUprobeOffs);
    check_error("p 12:^bin/ls:0x10", ErrorKind::BadUprobePath);
    check_error("p 12:^/bin/ls:10", ErrorKind::BadUprobeOffs);
    check_error("p 12:^/bin/ls:9main", ErrorKind::BadUprobeOffs);
    check_errno("p 12:/b:c/ls:^ma-in", ErrorKind::BadUprobeSymbol, 22);
    check_errno("p 12:/bin/ls:main^+x", ErrorKind::BadProbeAddr, 22);
    check_errno(
        "p 12:/bin/ls:main^+0x100000000",
        ErrorKind::BadProbeAddr,
        22,
    );
    // Return probes: `r` or tracefs' `%return` suffix (after a `(REF)`),
    // no MAXACTIVE; `$retval` only there; the default name stays `p_`.
    for spec in [
        "r 12:/bin/ls:main",
        "p 12:/bin/ls:main%return",
        "r 12:0x10",
        "p 12:0x10%return",
        "r /bin/ls:0x10",
        "p /bin/ls:0x10(0x20)%return",
    ] {
        let d = add(spec);
        assert!(matches!(d.kind, Kind::Return { maxactive: 0 }), "{spec}");
        assert!(default_event_name(&d).as_str().starts_with("p_"), "{spec}");
    }
    assert_eq!(add("r 12:0x10 rv=$retval").args.len(), 1);
    check_error("p 12:0x10 rv=^$retval", ErrorKind::RetvalOnProbe);
    check_error("r^3 12:0x10", ErrorKind::UprobeMaxactive);
    check_error("r 12:0x10 ^@sym", ErrorKind::SymOnUprobe);
    // Fetch arguments are parsed as at a non-entry kernel point.
    assert_eq!(add("p 12:0x10 x=%ax s=+8(%sp):u32").args.len(), 2);
    // `$argN` at a user entry: the System V registers, then the stack.
    assert_eq!(add("p 12:0x10 x=$arg1 y=$arg7").args.len(), 2);
    assert_eq!(add("r 12:0x10 x=$arg1 y=$retval").args.len(), 2);
    let mut log = String::new();
    let e = ParseError::new(
        ErrorKind::UprobeInsn(rprobes_core::insn::Reason::Syscall),
        2,
    );
    write_error_entry(&mut log, "p 1:0x10", &e).unwrap();
    assert!(
        log.starts_with("rprobes: error: The instruction cannot be probed: syscall\n"),
        "{log}"
    );
}

/// Found by the `probe_line` fuzz target: `2+0` was taken as symbol `2`,
/// which reads back as the address 2.
#[test]
fn symbols_do_not_start_with_a_digit() {
    check_error("r ^2+0", ErrorKind::BadProbeAddr);
    check_error("p ^ext4:9sym", ErrorKind::BadProbeAddr);
}

//! Host tests of the fetch-argument parser and formatter against tracefs
//! (Linux 7.3 `kernel/trace/trace_probe.c` without BTF args, and the
//! kprobe selftests `kprobe_syntax_errors.tc`, `kprobe_args_syntax.tc`,
//! `kprobe_args_type.tc`, `kprobe_args*.tc`).

use rprobes_core::lang::error::{errno, ErrorKind, ParseError};
use rprobes_core::lang::fetch_arg::{
    compare_arg_types, diff_arg_type_error, kernel_argument, kstrtoll, kstrtoull,
    match_command_args, parse_arg, register_name, register_offset, same_arg_bodies,
    split_symbol_offset, ArgLocation, ArgName, EntrySave, FetchArg, FetchType, Insn, ListedArg,
    ProbeSite, Span, StrKind, VfsType, MAX_ENTRY_ARGS, MAX_TRACE_ARGS, REGISTERS,
};
use rprobes_core::lang::fetch_fmt::{
    make_data_loc, write_arg, write_fetch_arg, write_scalar, write_string, RawAddress, SeqBuf,
    SymbolPrinter,
};
use rprobes_core::lang::line::{parse, Command, ProbeDef};

use ErrorKind::*;
use FetchType as T;
use Insn::*;

const EINVAL: i32 = errno::EINVAL;
const E2BIG: i32 = errno::E2BIG;
const ERANGE: i32 = errno::ERANGE;
const EOPNOTSUPP: i32 = errno::EOPNOTSUPP;
const ENOMEM: i32 = errno::ENOMEM;
const EEXIST: i32 = errno::EEXIST;

fn def(line: &str) -> ProbeDef<'_> {
    match parse(line) {
        Ok(Command::Add(d)) => d,
        other => panic!("{line:?}: expected an add, got {other:?}"),
    }
}

/// All the parsed arguments of a line.
fn args(line: &str) -> Vec<ListedArg<'_>> {
    def(line)
        .args
        .iter()
        .map(|a| a.expect("validated args re-parse"))
        .collect()
}

/// The single argument of a line.
fn arg1(line: &str) -> FetchArg {
    let a = args(line);
    assert_eq!(a.len(), 1, "{line}");
    a[0].arg
}

/// The program of the single argument of `p vfs_read ARG`.
fn prog(arg: &str) -> Vec<Insn> {
    arg1(&format!("p vfs_read {arg}")).insns().to_vec()
}

/// `spec` marks the caret with `^`, like the selftests' `check_error`.
fn check_error_errno(spec: &str, kind: ErrorKind, errno: i32) {
    let pos = spec.find('^').expect("caret");
    let line = spec.replacen('^', "", 1);
    assert_eq!(
        parse(&line),
        Err(ParseError { kind, pos, errno }),
        "line {line:?} (spec {spec:?})"
    );
}

fn check_error(spec: &str, kind: ErrorKind) {
    check_error_errno(spec, kind, EINVAL);
}

/// For carets that are not under the text: tracefs computes some positions
/// from where the fetch parse ended (inside a dereference).
fn check_error_at(line: &str, kind: ErrorKind, pos: usize) {
    assert_eq!(
        parse(line),
        Err(ParseError {
            kind,
            pos,
            errno: EINVAL
        }),
        "line {line:?}"
    );
}

fn accepted(line: &str) -> bool {
    matches!(parse(line), Ok(Command::Add(_)))
}

// ---------------------------------------------------------------------------
// kprobe_syntax_errors.tc: every check_error line about arguments.

#[test]
fn selftest_syntax_errors() {
    check_error("p vfs_read ^$retval", RetvalOnProbe);
    check_error("p vfs_read ^$stack10000", BadStackNum);
    check_error("p vfs_read ^$arg10000", BadArgNum);
    check_error("p vfs_read ^$none_var", BadVar);
    check_error("p vfs_read ^%none_reg", BadRegName);
    check_error("p vfs_read ^@12345678abcde", BadMemAddr);
    check_error("p vfs_read ^@+10", FileOnKprobe);
    check_error("p vfs_read arg1=\\^x", BadImm);
    check_error("p vfs_read arg1=\\\"abcd^", ImmstrNoClose);
    check_error("p vfs_read ^+0@0)", DerefNeedBrace);
    check_error("p vfs_read ^+0ab1(@0)", BadDerefOffs);
    check_error("p vfs_read +0(+0(@0^)", DerefOpenBrace);
    check_error("p vfs_read +0(^$comm)", CommCantDeref);
    check_error("p vfs_read ^&1", BadFetchArg);
    check_error_errno(
        "p vfs_read +0(+0(+0(+0(+0(+0(+0(+0(^+0(@0)))))))))",
        TooManyNested,
        E2BIG,
    );
    check_error("p vfs_read +0(@11):u8[10^", ArrayNoClose);
    check_error("p vfs_read +0(@11):u8[10]^a", BadArraySuffix);
    check_error("p vfs_read +0(@11):u8[^10a]", BadArrayNum);
    check_error("p vfs_read +0(@11):u8[^256]", ArrayTooBig);
    check_error("p vfs_read @11:^unknown_type", BadType);
    check_error("p vfs_read $stack0:^string", BadString);
    check_error("p vfs_read @11:^b10@a/16", BadBitfield);
    check_error(
        "p vfs_read ^arg123456789012345678901234567890=@11",
        ArgNameTooLong,
    );
    check_error("p vfs_read ^=@11", NoArgName);
    check_error("p vfs_read ^var.1=@11", BadArgName);
    check_error("p vfs_read var1=@11 ^var1=@12", UsedArgName);
    let deep = format!("{}@1234{}", "+1234567(".repeat(26), ")".repeat(26));
    check_error_errno(&format!("p vfs_read ^{deep}"), ArgTooLong, E2BIG);
    check_error("p vfs_read arg1=^", NoArgBody);
    // Without BTF args (the README has no `<argname>`): the else branch.
    check_error_errno("p vfs_read ^$arg*", NosupBtfarg, EOPNOTSUPP);
}

#[test]
fn messages_are_tracefs_ones() {
    let cases = [
        (TooManyArgs, "Too many arguments are specified"),
        (ArgNameTooLong, "Argument name is too long"),
        (NoArgName, "Argument name is not specified"),
        (
            BadArgName,
            "Argument name must follow the same rules as C identifiers",
        ),
        (UsedArgName, "This argument name is already used"),
        (ArgTooLong, "Argument expression is too long"),
        (NoArgBody, "No argument expression"),
        (ArrayNoClose, "Array is not closed"),
        (BadArraySuffix, "Array has wrong suffix"),
        (BadArrayNum, "Invalid array size"),
        (ArrayTooBig, "Array number is too big"),
        (BadType, "Unknown type is specified"),
        (
            NeedStringType,
            "$comm and immediate-string only accepts string type",
        ),
        (TooManyNested, "Too many nested typecasts/dereferences"),
        (TooManyOps, "Dereference is too much nested"),
        (BadDerefOffs, "Invalid dereference offset"),
        (DerefNeedBrace, "Dereference needs a brace"),
        (DerefOpenBrace, "Dereference brace is not closed"),
        (CommCantDeref, "$comm can not be dereferenced"),
        (NosupBtfarg, "BTF is not available or not supported"),
        (RetvalOnProbe, "$retval is not available on probe"),
        (BadVar, "Invalid $-variable specified"),
        (BadStackNum, "Invalid stack number"),
        (BadArgNum, "Invalid argument number"),
        (
            NofentryArgs,
            "$arg* can be used only on function entry or exit",
        ),
        (DoubleArgs, "$arg* can be used only once in the parameters"),
        (BadRegName, "Invalid register name"),
        (BadMemAddr, "Invalid memory address"),
        (
            FileOnKprobe,
            "File offset is not available for kernel probes",
        ),
        (SymOnUprobe, "Symbol is not available with uprobe"),
        (BadImm, "Invalid immediate value"),
        (ImmstrNoClose, "String is not closed with '\"'"),
        (BadFetchArg, "Invalid fetch argument"),
        (BadString, "String accepts only memory argument"),
        (BadSymstring, "Symbol String doesn't accept data/userdata"),
        (BadBitfield, "Invalid bitfield"),
        (EventTooBig, "Event too big (too many fields?)"),
        (TooManyEargs, "Too many entry arguments specified"),
    ];
    for (kind, msg) in cases {
        assert_eq!(kind.message(), msg);
    }
}

/// uprobe_syntax_errors.tc's `@symbol` line: a user probe cannot name a
/// kernel symbol (SYM_ON_UPROBE, caret under the `@`, also nested and
/// named), where a kernel probe takes it; `@ADDR` stays allowed.
#[test]
fn uprobe_symbol_refused() {
    check_error("p 1:0x1000 ^@symbol", SymOnUprobe);
    check_error("p 1:0x1000 x=^@jiffies:u64", SymOnUprobe);
    check_error("p 1:0x1000 x=+8(^@jiffies+4)", SymOnUprobe);
    check_error("p 1:0x1000 x=%ax ^@jiffies", SymOnUprobe);
    assert!(accepted("p 1:0x1000 x=@0x1000:u64"));
    assert!(accepted("p vfs_read x=@jiffies:u64"));
    assert!(accepted("p vfs_read+4 x=+8(@jiffies+4)"));
    // `$argN` at a user entry (the System V registers, then the stack),
    // and at a user return (the entry's, saved).
    assert!(accepted("p 1:0x1000 $arg1"));
    assert!(accepted("r 1:0x1000 $arg1 $arg8"));
    check_error("p 1:0x1000 ^$arg0", BadArgNum);
    // `@+OFF`: a file offset, for user probes only.
    assert!(accepted("p 1:0x1000 @+10"));
    assert!(accepted("r 1:/bin/ls:0x10 x=@+0x20:u8"));
    check_error("p 1:0x1000 ^@+zz", BadFileOffs);
    check_error("p vfs_read ^@+10", FileOnKprobe);
}

// ---------------------------------------------------------------------------
// kprobe_args_syntax.tc: the accept/reject matrix (x86_64: %ax good, %ex
// bad, _sdata as the good symbol).

#[test]
fn selftest_btf_lines_without_btf() {
    // The BTF branch of kprobe_syntax_errors.tc runs only when the README
    // lists `<argname>`; on a kernel without BTF args these lines give:
    check_error("p vfs_read args=^$arg*", BadVar);
    check_error("p vfs_read +0(^$arg*)", BadVar);
    check_error("p vfs_read $arg* ^$arg*", DoubleArgs);
    check_error("p vfs_read+20 ^$arg*", NofentryArgs);
    check_error_errno("p vfs_read ^hoge", NosupBtfarg, EOPNOTSUPP);
    check_error_errno(
        "p vfs_read arg1=^(task_struct)file",
        NosupBtfarg,
        EOPNOTSUPP,
    );
    // No parameter count and no return type to check.
    assert_eq!(arg1("p kfree $arg10").code[0], Arg(9));
    assert_eq!(arg1("r kfree $retval").code[0], Retval);
}

#[test]
fn selftest_args_syntax_accepted() {
    let good = [
        "%ax",
        "@_sdata",
        "@0xffffffff82000000",
        "@_sdata+10",
        "@_sdata-10",
        "$stack",
        "$stack0",
        "$stack1",
        "$comm",
        "+0(%ax)",
        "-0(%ax)",
        "+10($stack)",
        "+0($stack1)",
        "+10(@_sdata-10)",
        "+0(+10(+20($stack)))",
        "varname=%ax",
        "%ax:x16",
        "$comm:string",
        "+0($stack):string",
    ];
    for a in good {
        let line = format!("p vfs_read {a}");
        assert!(accepted(&line), "{line}: {:?}", parse(&line));
    }
    assert!(accepted("r vfs_read $retval"));
}

#[test]
fn selftest_args_syntax_rejected() {
    // The selftest only checks that the write fails (and, run with `! echo`
    // under `set -e`, not even that); here is where and why tracefs fails.
    check_error("p vfs_read ^%ex", BadRegName);
    check_error("p vfs_read ^$stackp", BadVar);
    check_error("p vfs_read ^$stack0+10", BadVar);
    check_error("p vfs_read ^$stack1-10", BadVar);
    check_error("p vfs_read ^$retval", RetvalOnProbe);
    check_error("p vfs_read ^+(%ax)", BadDerefOffs);
    check_error_errno("p vfs_read ^(%ax+10)", NosupBtfarg, EOPNOTSUPP);
    check_error("p vfs_read ^-(%ax)", BadDerefOffs);
    check_error_errno("p vfs_read ^(%ax)", NosupBtfarg, EOPNOTSUPP);
    check_error("p vfs_read +10(^$comm)", CommCantDeref);
    check_error_errno("p vfs_read varname=^varname2=%ax", NosupBtfarg, EOPNOTSUPP);
    check_error("p vfs_read %ax:^:x16", BadType);
    check_error("p vfs_read %ax:^y16", BadType);
    check_error("p vfs_read x16:^%ax", BadType);
    check_error("p vfs_read $comm:^x64", NeedStringType);
    check_error("p vfs_read $stack:^string", BadString);
    check_error("p vfs_read %ax:^string", BadString);
}

#[test]
fn selftest_bad_symbols_fail_at_resolution() {
    // `@`, `@deaqswdefr`, `@_sdata*10` ... parse, like in tracefs, and fail
    // when the symbol is looked up (ENOENT: "Invalid probed address or
    // symbol" at the probe point). A bad offset fails with EINVAL.
    let lookup = |s: &str| (s == "_sdata").then_some(0xffff_ffff_8200_0000u64);
    for a in [
        "@",
        "@deaqswdefr",
        "@_sdata*10",
        "@_sdata/10",
        "@_sdata%10",
        "@_sdata&10",
        "@_sdata|10",
    ] {
        let line = format!("p vfs_read {a}");
        let la = args(&line)[0];
        let mut arg = la.arg;
        assert_eq!(
            arg.resolve_symbols(la.word, lookup),
            Err(errno::ENOENT),
            "{a}"
        );
    }
    let la = args("p vfs_read @_sdata+1x")[0];
    let mut arg = la.arg;
    assert_eq!(arg.resolve_symbols(la.word, lookup), Err(EINVAL));
    let la = args("p vfs_read x=+10(@_sdata-0x10)")[0];
    let mut arg = la.arg;
    assert_eq!(arg.resolve_symbols(la.word, lookup), Ok(()));
    assert_eq!(
        arg.insns(),
        &[
            Symbol(Span { start: 7, len: 11 }),
            Imm(0xffff_ffff_8200_0000 - 0x10),
            Deref {
                offset: 0,
                user: false
            },
            StMem {
                offset: 10,
                size: 8,
                user: false
            },
            End
        ]
    );
}

#[test]
fn trailing_text_after_the_last_paren_is_ignored_like_tracefs() {
    // tracefs cuts the inner argument at the last ')' and ignores the rest.
    assert_eq!(
        prog("+0(%ax)+10"),
        [
            Reg(80),
            StMem {
                offset: 0,
                size: 8,
                user: false
            },
            End
        ]
    );
    check_error("p vfs_read +0(^%ax)x)", BadRegName);
}

// ---------------------------------------------------------------------------
// Programs.

#[test]
fn programs_mirror_fetch_insn() {
    let st_raw8 = StRaw { size: 8 };
    assert_eq!(prog("%ax"), [Reg(80), st_raw8, End]);
    assert_eq!(prog("%r15"), [Reg(0), st_raw8, End]);
    assert_eq!(prog("%orig_ax"), [Reg(120), st_raw8, End]);
    assert_eq!(prog("$stack"), [StackP, st_raw8, End]);
    assert_eq!(prog("$stack2048"), [Stack(2048), st_raw8, End]);
    assert_eq!(prog("$stack010"), [Stack(10), st_raw8, End]);
    assert_eq!(prog("$current"), [Current, st_raw8, End]);
    assert_eq!(prog("$arg1"), [Arg(0), st_raw8, End]);
    assert_eq!(prog("$arg7"), [Arg(6), st_raw8, End]);
    assert_eq!(prog("\\123"), [Imm(123), st_raw8, End]);
    assert_eq!(prog("\\0x10"), [Imm(16), st_raw8, End]);
    assert_eq!(prog("\\-1:s8"), [Imm(u64::MAX), StRaw { size: 1 }, End]);
    assert_eq!(prog("\\+-2"), [Imm(-2i64 as u64), st_raw8, End]);
    assert_eq!(
        prog("@0x1000:u32"),
        [
            Imm(0x1000),
            StMem {
                offset: 0,
                size: 4,
                user: false
            },
            End
        ]
    );
    assert_eq!(
        prog("+8(%di)"),
        [
            Reg(112),
            StMem {
                offset: 8,
                size: 8,
                user: false
            },
            End
        ]
    );
    assert_eq!(
        prog("-0x10(%bp):s32"),
        [
            Reg(32),
            StMem {
                offset: -16,
                size: 4,
                user: false
            },
            End
        ]
    );
    assert_eq!(
        prog("+u8(%si):u16"),
        [
            Reg(104),
            StMem {
                offset: 8,
                size: 2,
                user: true
            },
            End
        ]
    );
    // The kernel keeps the offset in an `int`.
    assert_eq!(
        prog("+0x100000008(%ax)"),
        [
            Reg(80),
            StMem {
                offset: 8,
                size: 8,
                user: false
            },
            End
        ]
    );
    assert_eq!(
        prog("+0(+8(%di))"),
        [
            Reg(112),
            Deref {
                offset: 8,
                user: false
            },
            StMem {
                offset: 0,
                size: 8,
                user: false
            },
            End
        ]
    );
    assert_eq!(
        prog("@sym+10"),
        [
            Symbol(Span { start: 1, len: 6 }),
            Imm(0),
            StMem {
                offset: 0,
                size: 8,
                user: false
            },
            End
        ]
    );
}

#[test]
fn string_programs() {
    let kstr = |offset| StString {
        offset,
        kind: StrKind::Kernel,
    };
    let ustr = |offset| StString {
        offset,
        kind: StrKind::User,
    };
    assert_eq!(prog("+0(%di):string"), [Reg(112), kstr(0), End]);
    assert_eq!(prog("+4(%di):string"), [Reg(112), kstr(4), End]);
    assert_eq!(prog("+0(%di):ustring"), [Reg(112), ustr(0), End]);
    // kprobe_args_user.tc: both read the user string.
    assert_eq!(prog("+0($arg2):ustring"), [Arg(1), ustr(0), End]);
    assert_eq!(prog("+u0($arg2):string"), [Arg(1), ustr(0), End]);
    assert_eq!(
        prog("\\0xffff0000:string"),
        [Imm(0xffff_0000), kstr(0), End]
    );
    assert_eq!(prog("@0x1000:string"), [Imm(0x1000), kstr(0), End]);
    let a = arg1("p vfs_read $comm");
    assert_eq!((a.ty, a.insns()), (T::String, &[Comm, kstr(0), End][..]));
    let a = arg1("p vfs_read $COMM:string");
    assert_eq!((a.ty, a.insns()), (T::String, &[Comm, kstr(0), End][..]));
    let line = "p vfs_read s=\\\"hello\"";
    let la = args(line)[0];
    assert_eq!(la.arg.ty, T::String);
    assert_eq!(
        la.arg.insns(),
        &[ImmStr(Span { start: 4, len: 5 }), kstr(0), End]
    );
    let ImmStr(span) = la.arg.code[0] else {
        panic!()
    };
    assert_eq!(span.get(la.word), "hello");
    // An empty immediate string.
    let la = args("p vfs_read \\\"\"")[0];
    assert_eq!(la.arg.code[0], ImmStr(Span { start: 2, len: 0 }));
    // symstr: the symbol name of a value.
    assert_eq!(
        prog("%ax:symstr"),
        [
            Reg(80),
            StString {
                offset: 0,
                kind: StrKind::Symbol
            },
            End
        ]
    );
    assert_eq!(
        prog("@sym:symstr"),
        [
            Symbol(Span { start: 1, len: 3 }),
            Imm(0),
            Deref {
                offset: 0,
                user: false
            },
            StString {
                offset: 0,
                kind: StrKind::Symbol
            },
            End
        ]
    );
    // A string array reads an array of string pointers.
    assert_eq!(
        prog("+0(%di):string[2]"),
        [
            Reg(112),
            Deref {
                offset: 0,
                user: false
            },
            kstr(0),
            LpArray(2),
            End
        ]
    );
}

#[test]
fn string_type_combinations() {
    check_error("p vfs_read %ax:^ustring", BadString);
    check_error("r vfs_read $retval:^string", BadString);
    check_error("p vfs_read $comm:^string[2]", NeedStringType);
    check_error("p vfs_read \\\"x\":^u8", NeedStringType);
    check_error("p vfs_read +0(^\\\"x\")", CommCantDeref);
    // symstr only on values, not on user data or a pointer it would follow.
    check_error("p vfs_read \\1:^symstr", BadSymstring);
    check_error("p vfs_read $comm:^symstr", NeedStringType);
    check_error("r vfs_read $arg1:^symstr", BadSymstring);
    assert!(accepted("r vfs_read $retval:symstr"));
    assert!(accepted("p vfs_read $stack3:symstr"));
    assert!(accepted("p vfs_read $arg2:symstr"));
    // Arrays need memory (not user memory, and not a raw value).
    check_error("p vfs_read %ax:^u8[2]", BadString);
    check_error("p vfs_read %ax:^symstr[2]", BadString);
    assert!(accepted("p vfs_read +u0(%ax):ustring[2]"));
    // The caret of a type error is `ctx->offset` (where the fetch parse
    // ended: inside the outermost dereference) plus the type's offset.
    // "+0(%ax):b99@0/8": parse ended at 3 ("%ax"), the type is at 8.
    check_error_at("p vfs_read +0(%ax):b99@0/8", BadBitfield, 11 + 3 + 8);
    check_error_at("p vfs_read +u0(%ax):symstr", BadSymstring, 11 + 3 + 9);
    check_error_at("p vfs_read +u0(%ax):u8[2]", BadString, 11 + 3 + 9);
    check_error_at(
        "p vfs_read this_cpu_ptr(@x):string",
        BadString,
        11 + 13 + 17,
    );
    // Type-name errors are relative to the body start.
    check_error("p vfs_read x=+0(%ax):^symstr:", BadType);
}

#[test]
fn per_cpu_programs() {
    // this_cpu_ptr(@sym) turns the symbol's address into this CPU's copy.
    assert_eq!(
        prog("this_cpu_ptr(@var)"),
        [
            Symbol(Span { start: 14, len: 3 }),
            Imm(0),
            CpuPtr,
            StRaw { size: 8 },
            End
        ]
    );
    assert_eq!(
        prog("this_cpu_read(@var):u32"),
        [
            Symbol(Span { start: 15, len: 3 }),
            Imm(0),
            CpuPtr,
            StMem {
                offset: 0,
                size: 4,
                user: false
            },
            End
        ]
    );
    assert_eq!(
        prog("this_cpu_read(%ax)"),
        [
            Reg(80),
            CpuPtr,
            StMem {
                offset: 0,
                size: 8,
                user: false
            },
            End
        ]
    );
    check_error("p vfs_read this_cpu_ptr(@var^", DerefOpenBrace);
    check_error("p vfs_read this_cpu_read(^$comm)", CommCantDeref);
    // Seven this_cpu_read() levels need 16 instructions: one too many.
    let nest = |n: usize| format!("{}@x{}", "this_cpu_read(".repeat(n), ")".repeat(n));
    assert!(accepted(&format!("p vfs_read {}", nest(6))));
    check_error(
        &format!("p vfs_read this_cpu_read(^{}", &nest(7)[14..]),
        TooManyOps,
    );
    check_error_errno(
        &format!(
            "p vfs_read {}^this_cpu_ptr(%ax{}",
            "this_cpu_ptr(".repeat(8),
            ")".repeat(9)
        ),
        TooManyNested,
        E2BIG,
    );
}

#[test]
fn nesting_limits() {
    let nest = |n: usize| format!("{}%ax{}", "+0(".repeat(n), ")".repeat(n));
    let a = arg1(&format!("p vfs_read {}", nest(8)));
    // REG, 7 DEREF, ST_MEM, END.
    assert_eq!(a.insns().len(), 10);
    let spec = format!("p vfs_read {}^+0(%ax{}", "+0(".repeat(8), ")".repeat(9));
    check_error_errno(&spec, TooManyNested, E2BIG);
    // User dereferences: tracefs' caret arithmetic lands one byte early.
    check_error("p vfs_read +u0^(%none)", BadRegName);
    check_error("p vfs_read -u0^(%none)", BadRegName);
    check_error("p vfs_read +-4^(%none)", BadRegName);
    check_error("p vfs_read -4(^%none)", BadRegName);
}

#[test]
fn types_and_bitfields() {
    for (t, ty) in [
        ("u8", T::U8),
        ("u16", T::U16),
        ("u32", T::U32),
        ("u64", T::U64),
        ("s8", T::S8),
        ("s16", T::S16),
        ("s32", T::S32),
        ("s64", T::S64),
        ("x8", T::X8),
        ("x16", T::X16),
        ("x32", T::X32),
        ("x64", T::X64),
        ("char", T::Char),
        ("symbol", T::Symbol),
    ] {
        let a = arg1(&format!("p vfs_read %ax:{t}"));
        assert_eq!(a.ty, ty, "{t}");
        assert_eq!(a.ty.name(), t);
        assert_eq!(
            a.insns(),
            &[
                Reg(80),
                StRaw {
                    size: ty.size() as u8
                },
                End
            ]
        );
    }
    // The default type is x64 (DEFAULT_FETCH_TYPE on 64-bit).
    assert_eq!(arg1("p vfs_read %ax").ty, T::X64);

    // kprobe_args_type.tc: $stack0 as s/u/x and a 4-bit field at bit 4.
    for width in [64u32, 32, 16, 8] {
        let line = format!(
            "p:testprobe kernel_clone $stack0:s{width} $stack0:u{width} $stack0:x{width} $stack0:b4@4/{width}"
        );
        let a = args(&line);
        assert_eq!(a.len(), 4);
        let bf = a[3].arg;
        assert_eq!(bf.ty.size() as u32 * 8, width);
        assert_eq!(bf.bitfield(), Some((4, 4, width)));
        assert_eq!(
            bf.insns(),
            &[
                Stack(0),
                StRaw {
                    size: (width / 8) as u8
                },
                ModBf {
                    basesize: (width / 8) as u8,
                    lshift: (width - 8) as u8,
                    rshift: (width - 4) as u8
                },
                End
            ]
        );
        // Record offsets follow the sizes (tracefs' probe_arg.offset).
        let w = (width / 8) as u16;
        let offs: Vec<u16> = a.iter().map(|l| l.arg.offset).collect();
        assert_eq!(offs, [0, w, 2 * w, 3 * w]);
    }
    // kprobe_args_symbol.tc.
    let a = arg1("p:testprobe_bf kernel_clone arg1=@linux_proc_banner:b8@4/32");
    assert_eq!(a.bitfield(), Some((8, 4, 32)));
    assert_eq!(a.ty, T::U32);
    // simple_strtoul(): hex and octal widths and offsets.
    assert_eq!(arg1("p f %ax:b0x10@010/32").bitfield(), Some((16, 8, 32)));
    assert_eq!(arg1("p f %ax:b32@0/32").bitfield(), Some((32, 0, 32)));
    // A bitfield on an array element.
    assert_eq!(
        prog("+0(%ax):b4@4/8[3]"),
        [
            Reg(80),
            StMem {
                offset: 0,
                size: 1,
                user: false
            },
            ModBf {
                basesize: 1,
                lshift: 0,
                rshift: 4
            },
            LpArray(3),
            End
        ]
    );
    for bad in [
        "b0@0/8", "b@0/8", "b4/8", "b4@/8", "b9@0/8", "b4@5/8", "b33@0/32", "b4@4@/8",
    ] {
        check_error(&format!("p vfs_read %ax:^{bad}"), BadBitfield);
    }
    for bad in [
        "b4@0/7", "b4@0", "b4@0/", "b4@0x8", "bx", "U8", "u128", "x", "strings", "",
    ] {
        check_error(&format!("p vfs_read %ax:^{bad}"), BadType);
    }
}

#[test]
fn arrays() {
    let a = args("p:testprobe eventfs_add_dir arg1=+0(%di):char arg2=+0(%di):char[4]");
    assert_eq!((a[1].arg.ty, a[1].arg.count), (T::Char, 4));
    assert_eq!(a[1].arg.offset, 1);
    assert_eq!(a[1].arg.size(), 4);
    assert_eq!(arg1("p f +0(%ax):u8[64]").count, 64);
    assert_eq!(arg1("p f +0(%ax):u8[0x40]").count, 64);
    check_error("p vfs_read +0(%ax):u8[^65]", ArrayTooBig);
    check_error("p vfs_read +0(%ax):u8[^0]", BadArrayNum);
    check_error("p vfs_read +0(%ax):u8[^]", BadArrayNum);
    check_error("p vfs_read +0(%ax):u8[^-1]", BadArrayNum);
    check_error("p vfs_read +0(%ax):u8[^99999999999]", BadArrayNum);
    check_error("p vfs_read +0(%ax):u8[2]^]", BadArraySuffix);
    check_error("p vfs_read +0(%ax):^[2]", BadType);
    // No `:TYPE`: `[2]` is text after the last ')', which tracefs ignores.
    assert!(accepted("p vfs_read +0(%ax)[2]"));
}

#[test]
fn variables_and_contexts() {
    // $retval only in return probes; any text after "retval" is ignored
    // (tracefs only checks the prefix without BTF).
    assert_eq!(arg1("r vfs_read $retval").code[0], Retval);
    assert_eq!(arg1("p vfs_read%return $retval").code[0], Retval);
    assert_eq!(arg1("r vfs_read $retvalue").code[0], Retval);
    check_error("p vfs_read+8 ^$retval", RetvalOnProbe);
    // $argN: at function entry, and (saved at entry) in return probes.
    assert_eq!(arg1("p vfs_read+0 $arg3").code[0], Arg(2));
    assert_eq!(arg1("r:myevent2 vfs_open arg=$arg1").code[0], EntryArg(0));
    check_error("p vfs_read+8 ^$arg1", NofentryArgs);
    check_error("p 0xffffffff81000000 ^$arg1", NofentryArgs);
    check_error("p vfs_read+8 x=^$arg1", NofentryArgs);
    check_error("p vfs_read+8 +0(^$arg1)", NofentryArgs);
    check_error("p vfs_read ^$arg0", BadArgNum);
    check_error("p vfs_read ^$arg2049", BadArgNum);
    assert_eq!(arg1("p vfs_read $arg2048").code[0], Arg(2047));
    check_error("p vfs_read ^$argx", BadVar);
    check_error("p vfs_read ^$arg", BadVar);
    check_error("p vfs_read x=^$arg1x", BadVar);
    check_error_errno("p vfs_read x=^$arg99999999999999999999", BadVar, ERANGE);
    // The $arg scan runs over all words before any argument is parsed.
    check_error("p vfs_read &1 ^$argx", BadVar);
    check_error("p vfs_read+4 &1 ^$arg1", NofentryArgs);
    check_error("p vfs_read $arg* ^$arg*", DoubleArgs);
    check_error_errno("p vfs_read $arg* %ax ^$arg1", NosupBtfarg, EOPNOTSUPP);
    check_error_errno("r vfs_read ^$arg*", NosupBtfarg, EOPNOTSUPP);
    check_error("p vfs_read+20 ^$arg*", NofentryArgs);
    // $stackN.
    check_error("p vfs_read ^$stack2049", BadStackNum);
    check_error("p vfs_read ^$stack0x1", BadVar);
    check_error_errno("p vfs_read ^$stack99999999999999999999", BadVar, ERANGE);
    // $current, $comm.
    check_error("p vfs_read ^$current->pid", BadVar);
    check_error("p vfs_read ^$comm2", BadVar);
    check_error("p vfs_read ^$Comm", BadVar);
    // Registers: exactly the kernel's table.
    for bad in [
        "%rax", "%eax", "%ds", "%fs", "%gs", "%es", "%r16", "%AX", "%",
    ] {
        check_error(&format!("p vfs_read ^{bad}"), BadRegName);
    }
    // BTF names and typecasts need BTF.
    check_error_errno("p vfs_read ^count", NosupBtfarg, EOPNOTSUPP);
    check_error_errno("r vfs_read ^_file", NosupBtfarg, EOPNOTSUPP);
    check_error_errno("p vfs_read+8 ^count", NosupBtfarg, EINVAL);
    check_error_errno(
        "p vfs_read arg1=^(task_struct)file->pid",
        NosupBtfarg,
        EOPNOTSUPP,
    );
    check_error("p vfs_read ^1", BadFetchArg);
    check_error("p vfs_read +0(^)", BadFetchArg);
}

#[test]
fn immediates_and_addresses() {
    check_error_errno("p vfs_read x=\\^99999999999999999999", BadImm, ERANGE);
    check_error("p vfs_read x=\\^abc", BadImm);
    check_error("p vfs_read x=\\^", BadImm);
    check_error("p vfs_read x=\\^-0x", BadImm);
    check_error("p vfs_read x=\\\"^", ImmstrNoClose);
    check_error("p vfs_read x=\\\"ab^:string", ImmstrNoClose);
    check_error_errno("p vfs_read ^@99999999999999999999", BadMemAddr, ERANGE);
    check_error("p vfs_read ^@0x", BadMemAddr);
    check_error_errno(
        "p vfs_read ^+99999999999999999999(%ax)",
        BadDerefOffs,
        ERANGE,
    );
    check_error("p vfs_read ^+0x(%ax)", BadDerefOffs);
    check_error("p vfs_read ^+u(%ax)", BadDerefOffs);
    check_error("p vfs_read ^+u", DerefNeedBrace);
    check_error("p vfs_read ^-", DerefNeedBrace);
    check_error("p vfs_read +0(^", DerefOpenBrace);
}

#[test]
fn names() {
    let line = "p vfs_read %ax name_2=%bx $stack";
    let a = args(line);
    assert_eq!(a[0].arg.name, ArgName::Auto(1));
    assert_eq!(a[1].arg.name, ArgName::Given(Span { start: 0, len: 6 }));
    assert_eq!(a[2].arg.name, ArgName::Auto(3));
    let names: Vec<String> = a
        .iter()
        .map(|l| {
            let mut s = String::new();
            l.arg.write_name(&mut s, l.word).unwrap();
            s
        })
        .collect();
    assert_eq!(names, ["arg1", "name_2", "arg3"]);
    // kprobe_args.tc: auto names and the listed body ("comm").
    let a = args("p:testprobe kernel_clone $stack $stack0 +0($stack)");
    let mut listed = String::new();
    for l in &a {
        listed.push(' ');
        l.arg.write_name(&mut listed, l.word).unwrap();
        listed.push('=');
        l.arg.write_body(&mut listed, l.word).unwrap();
    }
    assert_eq!(listed, " arg1=$stack arg2=$stack0 arg3=+0($stack)");
    // Names clash with earlier names, automatic or given, and reserved ones.
    check_error("p vfs_read arg2=%ax ^%bx", UsedArgName);
    check_error("p vfs_read %ax ^arg1=%bx", UsedArgName);
    check_error("p vfs_read %ax %bx x=%cx ^x=%dx", UsedArgName);
    for r in [
        "common_type",
        "common_flags",
        "common_preempt_count",
        "common_pid",
        "common_tgid",
        "__probe_ip",
        "__probe_ret_ip",
        "__probe_func",
    ] {
        check_error(&format!("p vfs_read ^{r}=%ax"), UsedArgName);
    }
    let n32 = "a".repeat(32);
    assert!(accepted(&format!("p vfs_read {n32}=%ax")));
    check_error(&format!("p vfs_read ^{n32}b=%ax"), ArgNameTooLong);
    check_error("p vfs_read ^1x=%ax", BadArgName);
    check_error("p vfs_read ^x-y=%ax", BadArgName);
    assert!(accepted("p vfs_read _x9=%ax"));
}

#[test]
fn limits() {
    // dynevent_limitations.tc: 128 arguments are accepted, 129 are not.
    let many = |n: usize| {
        (0..n)
            .map(|i| format!("a{i}=%ax"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let line = format!("p vfs_read {}", many(MAX_TRACE_ARGS));
    let d = def(&line);
    assert_eq!(d.args.len(), 128);
    assert_eq!(d.args.iter().count(), 128);
    assert_eq!(d.args.iter().last().unwrap().unwrap().arg.offset, 127 * 8);
    let line = format!("p vfs_read ^{}", many(MAX_TRACE_ARGS + 1));
    check_error_errno(&line, TooManyArgs, E2BIG);
    // The argument count is checked after the $arg scan, before parsing.
    let line = format!("p vfs_read ^&1 {}", many(MAX_TRACE_ARGS));
    check_error_errno(&line, TooManyArgs, E2BIG);

    // Argument bodies up to 255 bytes.
    let body = format!("+0(%ax){}", "x".repeat(255 - 7));
    assert!(accepted(&format!("p vfs_read n={body}")));
    check_error_errno(&format!("p vfs_read n=^{body}x"), ArgTooLong, E2BIG);

    // Event size: 6 arrays of 64 u64 fill the 3072 bytes.
    let arr = "+0(%ax):u64[64]";
    let six = [arr; 6].join(" ");
    assert!(accepted(&format!("p vfs_read {six}")));
    let seven = format!("p vfs_read {six} +0(^%ax):u64[64]");
    check_error_errno(&seven, EventTooBig, E2BIG);
    check_error_errno(&format!("p vfs_read {six} ^%ax"), EventTooBig, E2BIG);
}

#[test]
fn vfs_types() {
    // kprobe_args_vfs.tc: %pd/%pD become string dereferences.
    let a = arg1("p:testprobe dput name=$arg1:%pd");
    assert_eq!(a.vfs, Some(VfsType::Dentry));
    assert_eq!(a.ty, T::String);
    let kstr = StString {
        offset: 0,
        kind: StrKind::Kernel,
    };
    let d = |offset| Deref {
        offset,
        user: false,
    };
    assert_eq!(a.insns(), &[Arg(0), d(0x28), kstr, End]);
    let la = args("p:testprobe vfs_read $arg1:%pD")[0];
    assert_eq!(la.arg.name, ArgName::Auto(1));
    assert_eq!(la.arg.insns(), &[Arg(0), d(0x48), d(0x28), kstr, End]);
    let mut body = String::new();
    la.arg.write_body(&mut body, la.word).unwrap();
    assert_eq!(body, "+0x0(+0x28(+0x48($arg1))):string");
    // Symbols inside keep spans into the original word.
    let la = args("p vfs_read f=@some_file:%pD")[0];
    let Symbol(span) = la.arg.code[0] else {
        panic!("{:?}", la.arg.code)
    };
    assert_eq!(span.get(la.word), "some_file");
    // Errors inside are reported at the original text.
    check_error("p vfs_read x=^&1:%pd", BadFetchArg);
    check_error("p vfs_read x=^$comm:%pd", CommCantDeref);
    check_error("p vfs_read x=^%none:%pD", BadRegName);
    // Only as the whole type: an array of %pd is an unknown type.
    check_error("p vfs_read %ax:^%pd[2]", BadType);
    // The rewrites of one probe share 256 bytes; beyond: ENOMEM.
    // `aN=@<36 bytes>:%pd` rewrites to 60 bytes, +1 for the NUL: three
    // leave 256 - 3 * 61 = 73 bytes; a rewrite must be shorter than what is
    // left.
    let sym = "s".repeat(36);
    let three: Vec<String> = (0..3).map(|i| format!("a{i}=@{sym}:%pd")).collect();
    let three = three.join(" ");
    // `c=@X:%pd` rewrites to 22 + len(X) bytes.
    let last = |x: usize| format!("c=@{}:%pd", "s".repeat(x - 1));
    assert!(accepted(&format!("p vfs_read {three} {}", last(50))));
    let spec = format!("p vfs_read {three} ^{}", last(51));
    check_error_errno(&spec, NoMemory, ENOMEM);
    // One `@X:%pD` rewrites to 27 + len(X) bytes: at most 255.
    let one = |x: usize| format!("@{}:%pD", "s".repeat(x - 1));
    let a = arg1(&format!("p vfs_read {}", one(228)));
    assert_eq!(a.vfs, Some(VfsType::File));
    let spec = format!("p vfs_read ^{}", one(229));
    check_error_errno(&spec, NoMemory, ENOMEM);
}

#[test]
fn selftest_multiprobe_errors() {
    // kprobe_syntax_errors.tc: appending to `p:kprobes/testevent FUNC
    // abcd=\1`.
    let old = def("p:kprobes/testevent kernel_clone abcd=\\1").args;
    let diff = |spec: &str| {
        let pos = spec.find('^').expect("caret");
        let line = spec.replacen('^', "", 1);
        let n = def(&line).args.compare_types(&old);
        assert_ne!(n, 0, "{line}");
        let err = diff_arg_type_error(&line, n);
        assert_eq!(
            (err.kind, err.pos, err.errno),
            (DiffArgType, pos, EEXIST),
            "{spec}"
        );
    };
    diff("p:kprobes/testevent kernel_clone ^bcd=\\1");
    diff("p:kprobes/testevent kernel_clone ^abcd=\\1:u8");
    diff("p:kprobes/testevent kernel_clone ^abcd=\\\"foo\"");
    diff("p:kprobes/testevent kernel_clone abcd=\\1 ^x=\\2");
    // Fewer arguments: the caret is at the command's length + 1 (tracefs
    // counts the NUL), one column after the space that follows it.
    diff("p:kprobes/testevent kernel_clone ^");
    // The same types and names: SAME_PROBE only if the texts match too.
    let same = def("p:kprobes/testevent kernel_clone abcd=\\1").args;
    assert_eq!(same.compare_types(&old), 0);
    assert!(same.same_bodies(&old));
    let other = def("p:kprobes/testevent kernel_clone abcd=\\2").args;
    assert_eq!(other.compare_types(&old), 0);
    assert!(!other.same_bodies(&old));
    // Types compare like tracefs' fetch_type pointers: a bitfield has its
    // container's type, %pd is a string.
    let a = def("p:e f x=%ax:b4@0/8 s=$arg1:%pd").args;
    let b = def("p:e g x=%bx:u8 s=+0(%di):string").args;
    assert_eq!(a.compare_types(&b), 0);
    assert!(!a.same_bodies(&b));
    let cmp = |line: &str| def(line).args.compare_types(&b);
    assert_eq!(cmp("p:e f x=%ax:s8 s=+0(%di):string"), 1);
    assert_eq!(cmp("p:e f x=+0(%ax):u8[2] s=+0(%di):string"), 1);
    assert_eq!(cmp("p:e f x=%ax:u8 t=+0(%di):string"), 2);
    assert_eq!(cmp("p:e f x=%ax:u8 s=+0(%di):ustring"), 2);
    assert_eq!(cmp("p:e f x=%ax:u8"), 2);
    assert_eq!(cmp("p:e f x=%ax:u8 s=$comm z=%ax"), 3);
}

/// A probe's arguments as the registry keeps them: each parsed argument
/// with its own word.
fn stored(line: &str) -> Vec<(FetchArg, &str)> {
    args(line).into_iter().map(|a| (a.arg, a.word)).collect()
}

#[test]
fn multiprobe_compare_stored_args() {
    // The registry compares a new line's arguments with the ones a probe
    // of the event keeps (one word each, not a line).
    let old = stored("p:e kernel_clone abcd=\\1 x=+0(%di):u32[2]");
    let cmp = |line: &str| {
        let new = stored(line);
        (
            compare_arg_types(
                new.len(),
                new.iter().copied(),
                old.len(),
                old.iter().copied(),
            ),
            same_arg_bodies(
                new.len(),
                new.iter().copied(),
                old.len(),
                old.iter().copied(),
            ),
        )
    };
    assert_eq!(cmp("p:e kernel_clone abcd=\\1 x=+0(%di):u32[2]"), (0, true));
    assert_eq!(cmp("p:e vfs_read abcd=\\2 x=+8(%si):u32[2]"), (0, false));
    assert_eq!(cmp("p:e vfs_read abcd=\\1 x=+0(%di):u32[3]").0, 2);
    assert_eq!(cmp("p:e vfs_read abcd=\\1 x=+0(%di):s32[2]").0, 2);
    assert_eq!(cmp("p:e vfs_read abcd=\\1").0, 2);
    assert_eq!(cmp("p:e vfs_read").0, 1);
    assert_eq!(cmp("p:e vfs_read y=\\1 x=+0(%di):u32[2]").0, 1);
    // No arguments on either side: the same.
    assert_eq!(
        compare_arg_types(0, core::iter::empty(), 0, core::iter::empty()),
        0
    );
    assert!(same_arg_bodies(
        0,
        core::iter::empty(),
        0,
        core::iter::empty()
    ));
}

#[test]
fn multiprobe_match_command_args() {
    // `-:EVENT PROBE NAME=BODY ...` (tracefs' trace_probe_match_command_args):
    // the given words are the first arguments as `probes` lists them.
    let probe = stored("p:e vfs_read $stack a=+0(%di):u8 f=$arg1:%pd");
    let m = |line: &str| {
        let Ok(Command::Remove(r)) = parse(line) else {
            panic!("{line}")
        };
        match_command_args(probe.len(), probe.iter().copied(), r.args)
    };
    assert!(m("-:e vfs_read"));
    assert!(m("-:e vfs_read arg1=$stack"));
    assert!(m("-:e vfs_read arg1=$stack a=+0(%di):u8"));
    // %pd as it reads back (rewritten).
    let mut line = String::new();
    let mut t = ArgTextForTest::default();
    for (arg, word) in &probe {
        use core::fmt::Write;
        t.0.clear();
        arg.write_name(&mut t, word).unwrap();
        t.0.push('=');
        arg.write_body(&mut t, word).unwrap();
        write!(line, " {}", t.0).unwrap();
    }
    assert!(m(&format!("-:e vfs_read{line}")));
    assert_eq!(
        line,
        " arg1=$stack a=+0(%di):u8 f=+0x0(+0x28($arg1)):string"
    );
    // Not the given form, another order, a prefix of a name, or more
    // words than arguments: no match.
    assert!(!m("-:e vfs_read $stack"));
    assert!(!m("-:e vfs_read a=+0(%di):u8"));
    assert!(!m("-:e vfs_read arg=$stack"));
    assert!(!m("-:e vfs_read arg1=$stack0"));
    assert!(!m("-:e vfs_read arg1=$stack a=+0(%di)"));
    assert!(!m(&format!("-:e vfs_read{line} z=%ax")));
    let none: Vec<(FetchArg, &str)> = Vec::new();
    let Ok(Command::Remove(r)) = parse("-:e vfs_read x=%ax") else {
        panic!()
    };
    assert!(!match_command_args(0, none.iter().copied(), r.args));
}

#[derive(Default)]
struct ArgTextForTest(String);

impl core::fmt::Write for ArgTextForTest {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0.push_str(s);
        Ok(())
    }
}

#[test]
fn standalone_parse_arg() {
    let a = parse_arg("x=+8(%di):u16", 0, ProbeSite::FunctionEntry).unwrap();
    assert_eq!(a.ty, T::U16);
    assert_eq!(a.body, Span { start: 2, len: 11 });
    let e = parse_arg("x=$retval", 0, ProbeSite::FunctionEntry).unwrap_err();
    assert_eq!((e.kind, e.offset, e.errno), (RetvalOnProbe, 2, EINVAL));
    assert!(parse_arg("$retval", 0, ProbeSite::FunctionReturn).is_ok());
    let e = parse_arg("%ax", MAX_TRACE_ARGS, ProbeSite::Other).unwrap_err();
    assert_eq!((e.kind, e.errno), (TooManyArgs, E2BIG));
    // A %pD rewrite (27 bytes + X) must stay below 256 bytes.
    let pd = |x: usize| format!("@{}:%pD", "s".repeat(x - 1));
    assert!(parse_arg(&pd(228), 0, ProbeSite::Other).is_ok());
    let e = parse_arg(&pd(229), 0, ProbeSite::Other).unwrap_err();
    assert_eq!((e.kind, e.offset, e.errno), (NoMemory, 0, ENOMEM));
}

#[test]
fn helpers() {
    assert_eq!(REGISTERS.len(), 21);
    assert_eq!(register_offset(b"di"), Some(112));
    assert_eq!(register_offset(b"ss"), Some(160));
    assert_eq!(register_offset(b"rax"), None);
    assert_eq!(register_name(80), Some("ax"));
    assert_eq!(kernel_argument(0), ArgLocation::Reg(112));
    assert_eq!(kernel_argument(4), ArgLocation::Reg(72));
    assert_eq!(kernel_argument(5), ArgLocation::Reg(64));
    assert_eq!(kernel_argument(6), ArgLocation::Stack(1));
    assert_eq!(kstrtoull(b"0x10", 0), Ok(16));
    assert_eq!(kstrtoull(b"+010", 0), Ok(8));
    assert_eq!(kstrtoull(b"08", 0), Err(EINVAL));
    assert_eq!(kstrtoull(b"0x", 0), Err(EINVAL));
    assert_eq!(kstrtoull(b"18446744073709551616", 0), Err(ERANGE));
    assert_eq!(kstrtoll(b"-9223372036854775808", 0), Ok(i64::MIN));
    assert_eq!(kstrtoll(b"-9223372036854775809", 0), Err(ERANGE));
    assert_eq!(kstrtoll(b"9223372036854775808", 0), Err(ERANGE));
    assert_eq!(kstrtoll(b"-+1", 0), Err(EINVAL));
    assert_eq!(split_symbol_offset("sym+0x10"), Ok(("sym", 16)));
    assert_eq!(split_symbol_offset("sym-8"), Ok(("sym", -8)));
    assert_eq!(split_symbol_offset("sym"), Ok(("sym", 0)));
    assert_eq!(split_symbol_offset("sym+1-1"), Err(EINVAL));
}

#[test]
fn fetch_arg_is_small_and_probe_def_fits_a_stack_frame() {
    assert!(std::mem::size_of::<FetchArg>() <= 320);
    assert!(std::mem::size_of::<ProbeDef<'_>>() <= 256);
}

#[test]
fn never_panics_on_junk() {
    let seeds = [
        "p f x=+u-0x10(this_cpu_read(+0(@sym+1)))):b3@2/16[3]",
        "r f a=\\\"x\":%pD $arg* $arg1 ((( ))) +0( -u( \\-",
        "p f+1 $stack99999 @+ @0x %r8:symstr:[ [] a=b=c =",
        "p f \u{e9}=\u{e9} \u{c0}x $\u{e9} %\u{e9} @\u{e9}:%pd",
    ];
    for s in seeds {
        for i in 0..=s.len() {
            for j in i..=s.len() {
                if s.is_char_boundary(i) && s.is_char_boundary(j) {
                    let line = format!("p f {}", &s[i..j]);
                    if let Ok(Command::Add(d)) = parse(&line) {
                        for a in d.args.iter() {
                            let a = a.unwrap();
                            let mut s = String::new();
                            a.arg.write_body(&mut s, a.word).unwrap();
                            a.arg.write_name(&mut s, a.word).unwrap();
                        }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Formatter.

fn fmt_scalar(ty: FetchType, raw: u64) -> String {
    let mut b = [0u8; 64];
    let mut out = SeqBuf::new(&mut b);
    write_scalar(&mut out, ty, raw, &mut RawAddress).unwrap();
    String::from_utf8(out.as_bytes().to_vec()).unwrap()
}

#[test]
fn format_scalars_like_tracefs() {
    assert_eq!(fmt_scalar(T::U8, 0x1ff), "255");
    assert_eq!(fmt_scalar(T::U16, 65535), "65535");
    assert_eq!(fmt_scalar(T::U32, u64::MAX), "4294967295");
    assert_eq!(fmt_scalar(T::U64, u64::MAX), "18446744073709551615");
    assert_eq!(fmt_scalar(T::S8, 0xff), "-1");
    assert_eq!(fmt_scalar(T::S16, 0x8000), "-32768");
    assert_eq!(fmt_scalar(T::S32, 0xffff_fffd), "-3");
    assert_eq!(fmt_scalar(T::S64, 1 << 63), "-9223372036854775808");
    assert_eq!(fmt_scalar(T::S64, 42), "42");
    assert_eq!(fmt_scalar(T::X8, 0x1f), "0x1f");
    assert_eq!(fmt_scalar(T::X16, 0xabcd_1234), "0x1234");
    assert_eq!(fmt_scalar(T::X32, 0xdead_beef), "0xdeadbeef");
    assert_eq!(fmt_scalar(T::X64, 0), "0x0");
    assert_eq!(
        fmt_scalar(T::X64, 0xffff_ffff_8100_0000),
        "0xffffffff81000000"
    );
    assert_eq!(fmt_scalar(T::Char, b't'.into()), "'t'");
    assert_eq!(
        fmt_scalar(T::Symbol, 0xffff_ffff_8100_0010),
        "0xffffffff81000010"
    );
    let mut b = [0u8; 8];
    assert!(write_scalar(&mut SeqBuf::new(&mut b), T::String, 0, &mut RawAddress).is_err());
}

#[test]
fn format_strings_like_tracefs() {
    let mut b = [0u8; 64];
    let mut out = SeqBuf::new(&mut b);
    write_string(&mut out, Some(b"test\0junk")).unwrap();
    write_string(&mut out, None).unwrap();
    write_string(&mut out, Some(b"")).unwrap();
    assert_eq!(out.as_bytes(), b"\"test\"(fault)\"\"");
}

/// Builds a record: fixed part then string data, like store_trace_args().
struct Rec {
    bytes: Vec<u8>,
}

impl Rec {
    fn new(fixed: usize) -> Self {
        Self {
            bytes: vec![0; fixed],
        }
    }
    fn put(&mut self, at: usize, v: &[u8]) {
        self.bytes[at..at + v.len()].copy_from_slice(v);
    }
    fn string(&mut self, slot: usize, s: Option<&[u8]>) {
        let loc = match s {
            Some(s) => {
                let offs = self.bytes.len();
                self.bytes.extend_from_slice(s);
                self.bytes.push(0);
                make_data_loc((s.len() + 1) as u16, offs as u16)
            }
            None => make_data_loc(0, 0),
        };
        self.put(slot, &loc.to_le_bytes());
    }
}

struct Names;

impl SymbolPrinter for Names {
    fn write_symbol(&mut self, out: &mut SeqBuf<'_>, addr: u64) -> std::fmt::Result {
        use std::fmt::Write;
        write!(out, "vfs_read+0x{:x}/0x120", addr - 0xffff_ffff_8100_0000)
    }
}

#[test]
fn format_event_args_like_tracefs() {
    // kprobe_args_user.tc / kprobe_args_string.tc / kprobe_args_char.tc /
    // kprobe_args.tc output shapes, from one parsed line.
    let line = "p:myevent do_sys_open path=+0($arg2):ustring path2=+u0($arg2):string \
                c=+0(%di):char a=+0(%di):char[4] $stack s=%ax:s32 sym=%ip:symbol u=+0(%si):u8[3] \
                bf=%ax:b4@4/8";
    let d = def(line);
    let a: Vec<ListedArg> = d.args.iter().map(Result::unwrap).collect();
    let fixed: usize = a.iter().map(|l| l.arg.size()).sum();
    assert_eq!(fixed, 4 + 4 + 1 + 4 + 8 + 4 + 8 + 3 + 1);
    let mut rec = Rec::new(fixed);
    rec.string(a[0].arg.offset.into(), Some(b"/dev/null"));
    rec.string(a[1].arg.offset.into(), None);
    rec.put(a[2].arg.offset.into(), b"t");
    rec.put(a[3].arg.offset.into(), b"test");
    rec.put(
        a[4].arg.offset.into(),
        &0xffff_c900_0001_3f28u64.to_le_bytes(),
    );
    rec.put(a[5].arg.offset.into(), &(-3i32).to_le_bytes());
    rec.put(
        a[6].arg.offset.into(),
        &0xffff_ffff_8100_0010u64.to_le_bytes(),
    );
    rec.put(a[7].arg.offset.into(), &[1, 2, 3]);
    rec.put(a[8].arg.offset.into(), &[0x0b]);
    let mut b = [0u8; 512];
    let mut out = SeqBuf::new(&mut b);
    for l in &a {
        write_fetch_arg(&mut out, &l.arg, l.word, &rec.bytes, 0, &mut Names).unwrap();
    }
    assert_eq!(
        std::str::from_utf8(out.as_bytes()).unwrap(),
        " path=\"/dev/null\" path2=(fault) c='t' a={'t','e','s','t'} arg5=0xffffc90000013f28 \
         s=-3 sym=vfs_read+0x10/0x120 u={1,2,3} bf=11"
    );
    // Arrays of strings, and a string slot pointing outside the record.
    let mut rec = Rec::new(8);
    rec.string(0, Some(b"a"));
    rec.string(4, Some(b"bc"));
    let mut b = [0u8; 64];
    let mut out = SeqBuf::new(&mut b);
    write_arg(&mut out, "s", T::String, 2, &rec.bytes, 0, &mut RawAddress).unwrap();
    rec.put(0, &make_data_loc(8, 60000).to_le_bytes());
    write_arg(&mut out, "t", T::String, 0, &rec.bytes, 0, &mut RawAddress).unwrap();
    assert_eq!(out.as_bytes(), b" s={\"a\",\"bc\"} t=(fault)");
    // A slot outside the record is an error, not a panic.
    let mut b = [0u8; 64];
    let mut out = SeqBuf::new(&mut b);
    assert!(write_arg(&mut out, "x", T::U64, 0, &[0; 4], 0, &mut RawAddress).is_err());
    assert!(write_arg(
        &mut out,
        "x",
        T::U8,
        2,
        &[0; 4],
        usize::MAX,
        &mut RawAddress
    )
    .is_err());
}

#[test]
fn seqbuf_overflow() {
    let mut b = [0u8; 6];
    let mut out = SeqBuf::new(&mut b);
    assert!(write_arg(&mut out, "name", T::U8, 0, &[7], 0, &mut RawAddress).is_err());
    assert!(out.overflowed());
    assert_eq!(out.as_bytes(), b" name=");
    out.clear();
    assert!(out.is_empty());
}

/// Found by the fuzzer: a type error after a nested dereference has its
/// caret at tracefs' `ctx->offset + (type - arg)`, past the end of the word,
/// but never by more than the word's length.
#[test]
fn type_error_caret_after_nested_deref() {
    let w = "this_cpu_ptr(+0(@)).@Y+0x48($arg662)\0\0:b5@5/010";
    for site in [
        ProbeSite::FunctionEntry,
        ProbeSite::FunctionReturn,
        ProbeSite::Other,
    ] {
        let pe = parse_arg(w, 10, site).unwrap_err().at(0);
        assert_eq!(pe.kind, ErrorKind::BadBitfield);
        assert!(pe.pos > w.len() && pe.pos <= 2 * w.len(), "{pe:?}");
    }
}

// ---------------------------------------------------------------------------
// `$argN` of return probes: what an instance saves at entry.

fn entry_save(line: &str) -> EntrySave {
    EntrySave::of(args(line).into_iter().map(|a| (a.pos, a.arg))).expect(line)
}

#[test]
fn return_probe_entry_args() {
    // Registers only: saved by position, however many.
    assert_eq!(
        entry_save("r vfs_read a=$arg1 b=$arg6 c=$arg3"),
        EntrySave::Regs
    );
    assert_eq!(entry_save("r vfs_read a=$retval"), EntrySave::None);
    let s = entry_save("r vfs_read a=$arg8 b=+8($arg3):u32 c=$arg7 d=$arg8:s8");
    assert_eq!(
        s,
        EntrySave::Slots {
            len: 3,
            args: [7, 2, 6, 0, 0, 0]
        }
    );
    assert_eq!(s.word(7), Some(0));
    assert_eq!(s.word(2), Some(1));
    assert_eq!(s.word(6), Some(2));
    assert_eq!(s.word(0), None);
    assert_eq!(EntrySave::Regs.word(5), Some(5));
    assert_eq!(EntrySave::Regs.word(6), None);
    // Six different ones with one on the stack fit; a seventh does not.
    let six = "r vfs_read $arg1 $arg2 $arg3 $arg4 $arg5 $arg9 $arg1:u8";
    assert!(matches!(entry_save(six), EntrySave::Slots { len: 6, .. }));
    assert_eq!(MAX_ENTRY_ARGS, 6);
    check_error_errno(
        "r vfs_read $arg1 $arg2 $arg3 $arg4 $arg5 $arg6 ^$arg7",
        TooManyEargs,
        E2BIG,
    );
    check_error_errno(
        "r vfs_read $arg7 $arg2 $arg3 $arg4 $arg5 $arg6 $arg2 ^$arg1",
        TooManyEargs,
        E2BIG,
    );
    // All eight registers-and-stack ones need 8 words: refused. Entry
    // probes read them at the hit and have no limit.
    let _ = args("p vfs_read $arg1 $arg2 $arg3 $arg4 $arg5 $arg6 $arg7 $arg8");
}

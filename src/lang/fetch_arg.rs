// SPDX-License-Identifier: GPL-2.0

//! Fetch arguments of a kernel probe (`[NAME=]FETCHARG[:TYPE]`), parsed like
//! tracefs' `kprobe_events` (Linux 7.3 `kernel/trace/trace_probe.c`, built
//! without `CONFIG_PROBE_EVENTS_BTF_ARGS`).
//!
//! Pure `no_std` logic without allocation or `unsafe`: it is compiled into the
//! module and tested on the host. An argument becomes a [`FetchArg`]: a small,
//! fixed-size, `Copy` program of [`Insn`]s that mirrors the kernel's
//! `struct fetch_insn` array instruction by instruction (the same ops, in the
//! same slots, with the same limits), so that the error cases that depend on
//! the program length (`Dereference is too much nested`) come out exactly as
//! in tracefs, and so that an evaluator can follow the kernel's
//! `process_fetch_insn()`.
//!
//! ```text
//! FETCHARG: %REG | @ADDR | @SYM[+|-OFFS] | $stackN | $stack | $retval | $comm
//!           | $argN | $current | +|-[u]OFFS(FETCHARG) | \IMM | \"STR"
//!           | this_cpu_ptr(FETCHARG) | this_cpu_read(FETCHARG)
//! TYPE:     u8/16/32/64 s8/16/32/64 x8/16/32/64 char string ustring symbol
//!           symstr b<width>@<offset>/<container> %pd %pD TYPE[N]
//! ```
//!
//! Text positions: a [`Span`] and an [`ArgError`] offset are byte indices into
//! the argument word (`NAME=BODY:TYPE`); the list parser ([`ArgList`]) adds
//! the word's position in the normalised command, which is what tracefs'
//! `error_log` caret shows.

use super::error::{errno, ErrorKind, ParseError};
use super::lex::{is_good_name, Words};

/// Most arguments one probe may have (`MAX_TRACE_ARGS`).
pub const MAX_TRACE_ARGS: usize = 128;
/// Longest argument body (`FETCHARG[:TYPE]`, without `NAME=`) (`MAX_ARGSTR_LEN`).
pub const MAX_ARGSTR_LEN: usize = 255;
/// Largest array length of `TYPE[N]` (`MAX_ARRAY_LEN`).
pub const MAX_ARRAY_LEN: u32 = 64;
/// Longest argument name (`MAX_ARG_NAME_LEN`).
pub const MAX_ARG_NAME_LEN: usize = 32;
/// Largest total size of the fixed part of the arguments, in bytes
/// (`MAX_PROBE_EVENT_SIZE`): strings take 4 bytes, arrays `N` elements.
pub const MAX_PROBE_EVENT_SIZE: usize = 3072;
/// Length of a fetch program, including its final [`Insn::End`]
/// (`FETCH_INSN_MAX`).
pub const FETCH_INSN_MAX: usize = 16;
/// Deepest nesting of dereferences and `this_cpu_*()`
/// (`TRACEPROBE_MAX_NESTED_LEVEL`).
pub const MAX_NESTED_LEVEL: usize = 8;
/// Largest `N` of `$stackN` and `$argN` (`PARAM_MAX_STACK`: `THREAD_SIZE /
/// sizeof(long)`: 2048 on x86_64, 4096 with KASAN's 32 KiB stacks).
pub const PARAM_MAX_STACK: u64 = (crate::stack_layout::THREAD_SIZE / 8) as u64;
/// Room for the `%pd`/`%pD` rewrites of one probe (`MAX_DENTRY_ARGS_LEN`).
pub const MAX_DENTRY_ARGS_LEN: usize = 256;
/// Most different `$argN` one return probe can use when one of them is on
/// the stack (N > 6): an instance saves that many words at entry. With only
/// `$arg1`..`$arg6` (the argument registers) there is no limit.
pub const MAX_ENTRY_ARGS: usize = 6;
/// `offsetof(struct dentry, d_name.name)` and `offsetof(struct file,
/// f_path.dentry)`, used by the `%pd`/`%pD` rewrites. Both depend on the
/// kernel's configuration (lockdep makes the spinlocks in front of them
/// larger): the module takes them from bindgen (`kbind.rs`), the host build
/// from `core_lib.rs` (x86_64 without lock debugging).
pub use crate::vfs_layout::{DENTRY_NAME_OFFSET, FILE_DENTRY_OFFSET};
/// Field names an argument may not take (tracefs' `reserved_field_names`).
pub const RESERVED_FIELD_NAMES: [&str; 8] = [
    "common_type",
    "common_flags",
    "common_preempt_count",
    "common_pid",
    "common_tgid",
    "__probe_ip",
    "__probe_ret_ip",
    "__probe_func",
];

/// Byte offsets of the registers in x86_64 `struct pt_regs`
/// (`arch/x86/include/asm/ptrace.h`); the kernel side asserts them against
/// bindgen's `offset_of!`.
pub mod pt_regs {
    /// `r15`.
    pub const R15: u16 = 0;
    /// `r14`.
    pub const R14: u16 = 8;
    /// `r13`.
    pub const R13: u16 = 16;
    /// `r12`.
    pub const R12: u16 = 24;
    /// `bp`.
    pub const BP: u16 = 32;
    /// `bx`.
    pub const BX: u16 = 40;
    /// `r11`.
    pub const R11: u16 = 48;
    /// `r10`.
    pub const R10: u16 = 56;
    /// `r9`.
    pub const R9: u16 = 64;
    /// `r8`.
    pub const R8: u16 = 72;
    /// `ax`.
    pub const AX: u16 = 80;
    /// `cx`.
    pub const CX: u16 = 88;
    /// `dx`.
    pub const DX: u16 = 96;
    /// `si`.
    pub const SI: u16 = 104;
    /// `di`.
    pub const DI: u16 = 112;
    /// `orig_ax`.
    pub const ORIG_AX: u16 = 120;
    /// `ip`.
    pub const IP: u16 = 128;
    /// `cs` (the 64-bit slot `csx`).
    pub const CS: u16 = 136;
    /// `flags`.
    pub const FLAGS: u16 = 144;
    /// `sp`.
    pub const SP: u16 = 152;
    /// `ss` (the 64-bit slot `ssx`).
    pub const SS: u16 = 160;
    /// `sizeof(struct pt_regs)`.
    pub const SIZE: usize = 168;
}

/// The register names `%REG` accepts on x86_64, in the order of the kernel's
/// `regoffset_table` (`arch/x86/kernel/ptrace.c`), with their `pt_regs`
/// offsets. There are no `%rax`-style names and no segment registers other
/// than `cs` and `ss`.
pub const REGISTERS: [(&str, u16); 21] = [
    ("r15", pt_regs::R15),
    ("r14", pt_regs::R14),
    ("r13", pt_regs::R13),
    ("r12", pt_regs::R12),
    ("r11", pt_regs::R11),
    ("r10", pt_regs::R10),
    ("r9", pt_regs::R9),
    ("r8", pt_regs::R8),
    ("bx", pt_regs::BX),
    ("cx", pt_regs::CX),
    ("dx", pt_regs::DX),
    ("si", pt_regs::SI),
    ("di", pt_regs::DI),
    ("bp", pt_regs::BP),
    ("ax", pt_regs::AX),
    ("orig_ax", pt_regs::ORIG_AX),
    ("ip", pt_regs::IP),
    ("cs", pt_regs::CS),
    ("flags", pt_regs::FLAGS),
    ("sp", pt_regs::SP),
    ("ss", pt_regs::SS),
];

/// `regs_query_register_offset()`: the `pt_regs` offset of a register name.
pub fn register_offset(name: &[u8]) -> Option<u16> {
    REGISTERS
        .iter()
        .find(|(n, _)| n.as_bytes() == name)
        .map(|&(_, off)| off)
}

/// `regs_query_register_name()`: the name of a `pt_regs` offset.
pub fn register_name(offset: u16) -> Option<&'static str> {
    REGISTERS
        .iter()
        .find(|&&(_, off)| off == offset)
        .map(|&(n, _)| n)
}

/// Where function argument `n` (0-based) is at function entry on x86_64
/// (`regs_get_kernel_argument()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgLocation {
    /// In a register: the `pt_regs` offset (`di, si, dx, cx, r8, r9`).
    Reg(u16),
    /// On the stack: the entry number for `regs_get_kernel_stack_nth()`
    /// (entry 0 is the return address, so the 7th argument is entry 1).
    Stack(u32),
}

/// The location of function argument `n` (0-based), as the kernel reads it.
pub fn kernel_argument(n: u32) -> ArgLocation {
    const REGS: [u16; 6] = [
        pt_regs::DI,
        pt_regs::SI,
        pt_regs::DX,
        pt_regs::CX,
        pt_regs::R8,
        pt_regs::R9,
    ];
    match REGS.get(n as usize) {
        Some(&off) => ArgLocation::Reg(off),
        None => ArgLocation::Stack(n - (REGS.len() as u32 - 1)),
    }
}

/// A byte range of the argument word.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    /// First byte.
    pub start: u16,
    /// Length in bytes.
    pub len: u16,
}

impl Span {
    fn new(start: usize, end: usize) -> Self {
        Self {
            start: start as u16,
            len: end.saturating_sub(start) as u16,
        }
    }

    /// The text of the span in `word` (empty if out of range).
    pub fn get(self, word: &str) -> &str {
        let start = usize::from(self.start);
        word.get(start..start + usize::from(self.len)).unwrap_or("")
    }
}

/// How a string is read by a string store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StrKind {
    /// From kernel memory (`string`).
    Kernel,
    /// From user memory (`ustring`, or after a `+u` dereference).
    User,
    /// The `%pS`-style name of the address (`symstr`).
    Symbol,
}

/// One instruction of a fetch program (the kernel's `struct fetch_insn`).
///
/// A program is: one load (`Reg` .. `ImmStr`, or `Symbol` followed by the
/// `Imm` that receives its address), then dereferences (`Deref`, `CpuPtr`),
/// then one store (`St*`), an optional `ModBf`, an optional `LpArray`, and
/// `End`. Like in the kernel, the last dereference before a memory store is
/// merged into it (`StMem`, `StString` carry its offset).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Insn {
    /// Unused slot.
    Nop,
    /// `%REG`: the `pt_regs` field at this byte offset.
    Reg(u16),
    /// `$stackN`: the Nth entry of the kernel stack.
    Stack(u16),
    /// `$stack`: the stack pointer.
    StackP,
    /// `$retval`: the return value (return probes).
    Retval,
    /// `\IMM`, `@ADDR`, or the resolved address of a preceding `Symbol`.
    Imm(u64),
    /// `@+OFF` (user probes): the address where offset OFF of the probed
    /// file is mapped in the process (tracefs' `FETCH_OP_FOFFS`).
    FileOffset(u64),
    /// `$comm`: the address of `current->comm`.
    Comm,
    /// `$current`: the address of `current`.
    Current,
    /// `$argN` at function entry: argument N-1 (see [`kernel_argument`]).
    Arg(u16),
    /// `$argN` in a return probe: argument N-1 saved at function entry
    /// (the kernel's `FETCH_OP_EDATA`).
    EntryArg(u16),
    /// `\"STR"`: the bytes of STR in the argument word.
    ImmStr(Span),
    /// `@SYM[+|-OFFS]` before resolution (`FETCH_NOP_SYMBOL`): the text
    /// `SYM[+|-OFFS]`; [`FetchArg::resolve_symbols`] stores the address in
    /// the following `Imm`.
    Symbol(Span),
    /// `+|-OFFS(...)`: load the `unsigned long` at `value + offset` (from
    /// user memory if `user`). The offset is an `int`, as in the kernel.
    Deref {
        /// Byte offset added to the address.
        offset: i32,
        /// `+u`/`-u`: user-space memory.
        user: bool,
    },
    /// `this_cpu_ptr(...)`: the value is a per-CPU pointer; make it this CPU's.
    CpuPtr,
    /// Store the value itself (its low `size` bytes).
    StRaw {
        /// Bytes stored.
        size: u8,
    },
    /// Store `size` bytes read at `value + offset`.
    StMem {
        /// Byte offset added to the address.
        offset: i32,
        /// Bytes stored.
        size: u8,
        /// Read from user memory.
        user: bool,
    },
    /// Store the string at `value + offset` (or the symbol name of `value`).
    StString {
        /// Byte offset added to the address.
        offset: i32,
        /// How the string is read.
        kind: StrKind,
    },
    /// Bitfield: `(v << lshift) >> rshift` on a `basesize`-byte value.
    ModBf {
        /// Size of the stored value in bytes.
        basesize: u8,
        /// Left shift (drops the bits above the field).
        lshift: u8,
        /// Right shift (drops the bits below the field).
        rshift: u8,
    },
    /// Repeat the store for `count` consecutive elements.
    LpArray(u8),
    /// End of the program.
    End,
}

/// The type an argument is stored and printed as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FetchType {
    /// `u8`, printed `%u`.
    U8,
    /// `u16`, printed `%u`.
    U16,
    /// `u32`, printed `%u`.
    U32,
    /// `u64`, printed `%Lu`.
    U64,
    /// `s8`, printed `%d`.
    S8,
    /// `s16`, printed `%d`.
    S16,
    /// `s32`, printed `%d`.
    S32,
    /// `s64`, printed `%Ld`.
    S64,
    /// `x8`, printed `0x%x`.
    X8,
    /// `x16`, printed `0x%x`.
    X16,
    /// `x32`, printed `0x%x`.
    X32,
    /// `x64`, printed `0x%Lx`: the default type.
    X64,
    /// `char`, printed `'%c'`.
    Char,
    /// `string`: a NUL-terminated string from kernel memory.
    String,
    /// `ustring`: a NUL-terminated string from user memory.
    UString,
    /// `symstr`: the symbol name of the value, stored as a string.
    SymStr,
    /// `symbol`: an address printed `%pS`.
    Symbol,
}

/// The type of an argument without `:TYPE` (`DEFAULT_FETCH_TYPE`, `x64` on
/// 64-bit kernels).
pub const DEFAULT_FETCH_TYPE: FetchType = FetchType::X64;

impl FetchType {
    const ALL: [FetchType; 17] = [
        FetchType::String,
        FetchType::UString,
        FetchType::SymStr,
        FetchType::U8,
        FetchType::U16,
        FetchType::U32,
        FetchType::U64,
        FetchType::S8,
        FetchType::S16,
        FetchType::S32,
        FetchType::S64,
        FetchType::X8,
        FetchType::X16,
        FetchType::X32,
        FetchType::X64,
        FetchType::Char,
        FetchType::Symbol,
    ];

    /// The tracefs name of the type.
    pub fn name(self) -> &'static str {
        use FetchType::*;
        match self {
            U8 => "u8",
            U16 => "u16",
            U32 => "u32",
            U64 => "u64",
            S8 => "s8",
            S16 => "s16",
            S32 => "s32",
            S64 => "s64",
            X8 => "x8",
            X16 => "x16",
            X32 => "x32",
            X64 => "x64",
            Char => "char",
            String => "string",
            UString => "ustring",
            SymStr => "symstr",
            Symbol => "symbol",
        }
    }

    /// Bytes the type takes in the event record (strings: a 4-byte
    /// `__data_loc`).
    pub fn size(self) -> usize {
        use FetchType::*;
        match self {
            U8 | S8 | X8 | Char => 1,
            U16 | S16 | X16 => 2,
            U32 | S32 | X32 | String | UString | SymStr => 4,
            U64 | S64 | X64 | Symbol => 8,
        }
    }

    /// Whether the value is signed (printed with a sign).
    pub fn is_signed(self) -> bool {
        use FetchType::*;
        matches!(self, S8 | S16 | S32 | S64)
    }

    /// Whether the value is a string (stored out of line).
    pub fn is_string(self) -> bool {
        use FetchType::*;
        matches!(self, String | UString | SymStr)
    }

    /// `find_fetch_type()`: a type name, or `None` for the default; the
    /// bitfield syntax `b...` maps to its container type.
    pub fn find(name: Option<&[u8]>) -> Option<FetchType> {
        let Some(name) = name else {
            return Some(DEFAULT_FETCH_TYPE);
        };
        if name.first() == Some(&b'b') {
            let slash = name.iter().position(|&c| c == b'/')?;
            return match kstrtoull(&name[slash + 1..], 0) {
                Ok(8) => Some(FetchType::U8),
                Ok(16) => Some(FetchType::U16),
                Ok(32) => Some(FetchType::U32),
                Ok(64) => Some(FetchType::U64),
                _ => None,
            };
        }
        Self::ALL
            .iter()
            .copied()
            .find(|t| t.name().as_bytes() == name)
    }
}

/// `%pd` / `%pD`: print the name of a `struct dentry *` / `struct file *`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VfsType {
    /// `%pd`: the value is a `struct dentry *`.
    Dentry,
    /// `%pD`: the value is a `struct file *`.
    File,
}

/// The name of an argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgName {
    /// `NAME=` was given: its span in the word.
    Given(Span),
    /// No name: tracefs' `arg<N>` (N counts from 1).
    Auto(u8),
}

/// Where the probe is, which decides what `$retval` and `$argN` mean.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeSite {
    /// At a function's entry (`SYM` or `SYM+0` of an entry probe).
    FunctionEntry,
    /// A return probe (`r` or `%return`).
    FunctionReturn,
    /// Anywhere else (`SYM+OFFS`, an address).
    Other,
    /// A user probe (`PID:ADDR`): like [`ProbeSite::Other`], and `@SYM`
    /// (kernel symbols) is refused as tracefs refuses it in a uprobe.
    User,
    /// A user return probe: as [`ProbeSite::User`], with `$retval`.
    UserReturn,
}

/// One parsed argument: a fetch program and how to store and print it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FetchArg {
    /// The argument's name.
    pub name: ArgName,
    /// The text after `NAME=` (tracefs keeps it to list the probe).
    pub body: Span,
    /// The stored type (a bitfield's container type for `b...`).
    pub ty: FetchType,
    /// `TYPE[N]`: N; 0 for a single value.
    pub count: u8,
    /// `%pd` / `%pD`, which tracefs rewrites into dereferences and `string`.
    pub vfs: Option<VfsType>,
    /// Byte offset of the argument in the record's fixed part (tracefs'
    /// `probe_arg.offset`); set by [`ArgList`], 0 for [`parse_arg`].
    pub offset: u16,
    /// The fetch program, ended by [`Insn::End`].
    pub code: [Insn; FETCH_INSN_MAX],
}

impl FetchArg {
    /// The instructions up to and including [`Insn::End`].
    pub fn insns(&self) -> &[Insn] {
        let n = self
            .code
            .iter()
            .position(|i| *i == Insn::End)
            .map_or(FETCH_INSN_MAX, |i| i + 1);
        &self.code[..n]
    }

    /// Bytes the argument takes in the record's fixed part.
    pub fn size(&self) -> usize {
        self.ty.size() * usize::from(self.count.max(1))
    }

    /// The bitfield as `(width, offset, container bits)`, if the type is
    /// `b<width>@<offset>/<container>`.
    pub fn bitfield(&self) -> Option<(u32, u32, u32)> {
        self.code.iter().find_map(|i| match *i {
            Insn::ModBf {
                basesize,
                lshift,
                rshift,
            } => {
                let bits = u32::from(basesize) * 8;
                let width = bits.wrapping_sub(u32::from(rshift));
                let offset = bits.wrapping_sub(u32::from(lshift)).wrapping_sub(width);
                Some((width, offset, bits))
            }
            _ => None,
        })
    }

    /// Writes the argument's name (`word` is the text it was parsed from).
    pub fn write_name(&self, w: &mut impl core::fmt::Write, word: &str) -> core::fmt::Result {
        match self.name {
            ArgName::Given(s) => w.write_str(s.get(word)),
            ArgName::Auto(n) => write!(w, "arg{n}"),
        }
    }

    /// Writes the argument body as tracefs lists it (its `comm`): the text
    /// after `NAME=`, with `%pd`/`%pD` shown in their rewritten form.
    pub fn write_body(&self, w: &mut impl core::fmt::Write, word: &str) -> core::fmt::Result {
        let body = self.body.get(word);
        match self.vfs {
            None => w.write_str(body),
            Some(v) => {
                let inner = body.get(..body.len().saturating_sub(4)).unwrap_or("");
                write_vfs_body(w, v, inner)
            }
        }
    }

    /// Resolves `@SYM[+|-OFFS]` like tracefs' `traceprobe_update_arg()`:
    /// `lookup` gives a symbol's address (`None` or 0: unknown). Fails with
    /// `EINVAL` for a bad offset, `ENOENT` for an unknown symbol.
    pub fn resolve_symbols(
        &mut self,
        word: &str,
        mut lookup: impl FnMut(&str) -> Option<u64>,
    ) -> Result<(), i32> {
        for i in 0..FETCH_INSN_MAX - 1 {
            let Insn::Symbol(span) = self.code[i] else {
                continue;
            };
            if !matches!(self.code[i + 1], Insn::Imm(_)) {
                return Err(errno::EINVAL);
            }
            let (name, offset) = split_symbol_offset(span.get(word))?;
            let addr = match lookup(name) {
                Some(a) if a != 0 => a,
                _ => return Err(errno::ENOENT),
            };
            self.code[i + 1] = Insn::Imm(addr.wrapping_add(offset as u64));
        }
        Ok(())
    }
}

/// `traceprobe_split_symbol_offset()`: `SYM[+|-OFFS]` into the symbol and
/// its offset (`kstrtol(.., 0)` from the first `+` or `-`).
pub fn split_symbol_offset(s: &str) -> Result<(&str, i64), i32> {
    match s.find(['+', '-']) {
        Some(i) => Ok((&s[..i], kstrtoll(&s.as_bytes()[i..], 0)?)),
        None => Ok((s, 0)),
    }
}

fn write_vfs_body(w: &mut impl core::fmt::Write, v: VfsType, inner: &str) -> core::fmt::Result {
    match v {
        VfsType::Dentry => write!(w, "+0x0(+0x{DENTRY_NAME_OFFSET:x}({inner})):string"),
        VfsType::File => write!(
            w,
            "+0x0(+0x{DENTRY_NAME_OFFSET:x}(+0x{FILE_DENTRY_OFFSET:x}({inner}))):string"
        ),
    }
}

/// A refused argument: what is wrong, where (byte offset in the argument
/// word), and the errno tracefs' `write(2)` fails with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArgError {
    /// What is wrong.
    pub kind: ErrorKind,
    /// Byte offset of the caret in the argument word.
    pub offset: usize,
    /// The (positive) errno.
    pub errno: i32,
}

impl ArgError {
    fn new(kind: ErrorKind, offset: usize, errno: i32) -> Self {
        Self {
            kind,
            offset,
            errno,
        }
    }

    fn inval(kind: ErrorKind, offset: usize) -> Self {
        Self::new(kind, offset, errno::EINVAL)
    }

    /// The error at `pos` (the word's position) in the normalised command.
    pub fn at(self, pos: usize) -> ParseError {
        ParseError::with_errno(self.kind, pos + self.offset, self.errno)
    }
}

// ---------------------------------------------------------------------------
// Numbers, as the kernel's lib/kstrtox.c and simple_strtoul() read them.

fn lower(c: u8) -> u8 {
    c | 0x20
}

/// `_parse_integer_fixup_radix()`.
fn fixup_radix(s: &[u8], base: u32) -> (&[u8], u32) {
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let mut base = base;
    if base == 0 {
        base = if at(0) == b'0' {
            if lower(at(1)) == b'x' && at(2).is_ascii_hexdigit() {
                16
            } else {
                8
            }
        } else {
            10
        };
    }
    if base == 16 && at(0) == b'0' && lower(at(1)) == b'x' {
        return (&s[2..], base);
    }
    (s, base)
}

/// `_parse_integer()`: (value, digits consumed, overflowed).
fn parse_integer(s: &[u8], base: u32) -> (u64, usize, bool) {
    let mut res: u64 = 0;
    let mut overflow = false;
    let mut n = 0;
    for &c in s {
        let val = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            _ if (b'a'..=b'f').contains(&lower(c)) => u32::from(lower(c) - b'a' + 10),
            _ => break,
        };
        if val >= base {
            break;
        }
        if res & (!0u64 << 60) != 0 {
            match res
                .checked_mul(u64::from(base))
                .and_then(|r| r.checked_add(u64::from(val)))
            {
                Some(r) => res = r,
                None => {
                    res = u64::MAX;
                    overflow = true;
                }
            }
        } else {
            res = res * u64::from(base) + u64::from(val);
        }
        n += 1;
    }
    (res, n, overflow)
}

/// `_kstrtoull()`: no sign; the whole string (but one trailing newline).
fn kstrtoull_nosign(s: &[u8], base: u32) -> Result<u64, i32> {
    let (s, base) = fixup_radix(s, base);
    let (v, n, overflow) = parse_integer(s, base);
    if overflow {
        return Err(errno::ERANGE);
    }
    if n == 0 {
        return Err(errno::EINVAL);
    }
    let rest = &s[n..];
    let rest = rest.strip_prefix(b"\n").unwrap_or(rest);
    if !rest.is_empty() {
        return Err(errno::EINVAL);
    }
    Ok(v)
}

/// `kstrtoull()` (and `kstrtoul()` on 64-bit): an optional `+`, then a
/// number in `base` (0: `0x` hex, `0` octal, else decimal).
pub fn kstrtoull(s: &[u8], base: u32) -> Result<u64, i32> {
    kstrtoull_nosign(s.strip_prefix(b"+").unwrap_or(s), base)
}

/// `kstrtoll()` (and `kstrtol()` on 64-bit).
pub fn kstrtoll(s: &[u8], base: u32) -> Result<i64, i32> {
    if let Some(rest) = s.strip_prefix(b"-") {
        let v = kstrtoull_nosign(rest, base)?;
        if (v.wrapping_neg() as i64) > 0 {
            return Err(errno::ERANGE);
        }
        Ok(v.wrapping_neg() as i64)
    } else {
        let v = kstrtoull(s, base)?;
        if (v as i64) < 0 {
            return Err(errno::ERANGE);
        }
        Ok(v as i64)
    }
}

/// `kstrtouint()`.
fn kstrtouint(s: &[u8], base: u32) -> Result<u32, i32> {
    let v = kstrtoull(s, base)?;
    u32::try_from(v).map_err(|_| errno::ERANGE)
}

/// `simple_strtoul(s, &end, 0)`: (value, bytes consumed); never fails.
fn simple_strtoul(s: &[u8]) -> (u64, usize) {
    let (digits, base) = fixup_radix(s, 0);
    let prefix = s.len() - digits.len();
    let (v, n, _) = parse_integer(digits, base);
    (v, prefix + n)
}

/// The kernel's `isalpha()` (Latin-1 letters count).
fn k_isalpha(c: u8) -> bool {
    c.is_ascii_alphabetic() || (c >= 0xc0 && c != 0xd7 && c != 0xf7)
}

fn find(s: &[u8], from: usize, to: usize, c: u8) -> Option<usize> {
    s.get(from..to)?
        .iter()
        .position(|&b| b == c)
        .map(|i| from + i)
}

fn rfind(s: &[u8], from: usize, to: usize, c: u8) -> Option<usize> {
    s.get(from..to)?
        .iter()
        .rposition(|&b| b == c)
        .map(|i| from + i)
}

// ---------------------------------------------------------------------------
// The parser of one argument.

const THIS_CPU_PTR: &[u8] = b"this_cpu_ptr(";
const THIS_CPU_READ: &[u8] = b"this_cpu_read(";
/// Index of the kernel's `end` sentinel (`&code[FETCH_INSN_MAX - 1]`).
const END: usize = FETCH_INSN_MAX - 1;

#[derive(Clone, Copy)]
enum DerefKind {
    Mem { user: bool },
    CpuPtr { read: bool },
}

#[derive(Clone, Copy)]
struct State {
    kind: DerefKind,
    offset: i64,
    cur_offs: usize,
    inner_is_sym: bool,
}

struct Parser<'w> {
    w: &'w [u8],
    site: ProbeSite,
    code: [Insn; FETCH_INSN_MAX],
    /// The kernel's `*pcode`.
    cur: usize,
    /// The kernel's `ctx->offset`.
    offset: usize,
    stack: [State; MAX_NESTED_LEVEL],
    depth: usize,
}

type PResult<T> = Result<T, ArgError>;

impl<'w> Parser<'w> {
    fn new(w: &'w [u8], site: ProbeSite) -> Self {
        let mut code = [Insn::Nop; FETCH_INSN_MAX];
        code[END] = Insn::End;
        Self {
            w,
            site,
            code,
            cur: 0,
            offset: 0,
            stack: [State {
                kind: DerefKind::Mem { user: false },
                offset: 0,
                cur_offs: 0,
                inner_is_sym: false,
            }; MAX_NESTED_LEVEL],
            depth: 0,
        }
    }

    fn at(&self, i: usize) -> u8 {
        self.w.get(i).copied().unwrap_or(0)
    }

    /// `parse_probe_arg()` over `w[s..e]`.
    fn parse_probe_arg(&mut self, s: usize, e: usize) -> PResult<()> {
        self.depth = 0;
        let (s, e) = self.parse_nested(s, e)?;
        self.parse_leaf(s, e)?;
        self.unwind()
    }

    /// `parse_probe_arg_nested()`: peels dereferences and `this_cpu_*()`.
    fn parse_nested(&mut self, mut s: usize, mut e: usize) -> PResult<(usize, usize)> {
        loop {
            let a = &self.w[s..e];
            let c = a.first().copied().unwrap_or(0);
            let cpu_ptr = a.starts_with(THIS_CPU_PTR);
            let cpu_read = a.starts_with(THIS_CPU_READ);
            if c != b'+' && c != b'-' && c != b'(' && !cpu_ptr && !cpu_read {
                return Ok((s, e));
            }
            if self.depth >= MAX_NESTED_LEVEL {
                return Err(ArgError::new(
                    ErrorKind::TooManyNested,
                    self.offset,
                    errno::E2BIG,
                ));
            }
            let (kind, offset, inner_s, inner_e) = match c {
                b'+' | b'-' => self.parse_deref(s, e)?,
                // A typecast `(STRUCT)...` needs BTF argument support.
                b'(' => {
                    return Err(ArgError::new(
                        ErrorKind::NosupBtfarg,
                        self.offset,
                        errno::EOPNOTSUPP,
                    ))
                }
                _ => {
                    let len = if cpu_ptr {
                        THIS_CPU_PTR.len()
                    } else {
                        THIS_CPU_READ.len()
                    };
                    self.offset += len;
                    let inner = s + len;
                    let Some(close) = rfind(self.w, inner, e, b')') else {
                        return Err(ArgError::inval(
                            ErrorKind::DerefOpenBrace,
                            self.offset + (e - inner),
                        ));
                    };
                    (DerefKind::CpuPtr { read: cpu_read }, 0, inner, close)
                }
            };
            self.stack[self.depth] = State {
                kind,
                offset,
                cur_offs: self.offset,
                inner_is_sym: self.at(inner_s) == b'@' && inner_s < inner_e,
            };
            self.depth += 1;
            s = inner_s;
            e = inner_e;
        }
    }

    /// `parse_probe_arg_deref()` on `+|-[u]OFFS(...)`, with the kernel's
    /// offset arithmetic (which puts the caret one byte early after `u`).
    fn parse_deref(&mut self, s: usize, e: usize) -> PResult<(DerefKind, i64, usize, usize)> {
        let sign = self.w[s];
        let user = self.at(s + 1) == b'u' && s + 1 < e;
        let num = s + 1 + usize::from(user);
        // Where the kernel's `arg` points once it has dropped `u` and `+`.
        let (karg, kfirst) = if sign == b'+' {
            (num, if num < e { self.at(num) } else { 0 })
        } else {
            (num - 1, b'-')
        };
        let Some(paren) = find(self.w, num.min(e), e, b'(') else {
            return Err(ArgError::inval(ErrorKind::DerefNeedBrace, self.offset));
        };
        let parsed = if sign == b'+' {
            kstrtoll(&self.w[num..paren], 0)
        } else {
            kstrtoull_nosign(&self.w[num..paren], 0).and_then(|v| {
                if (v.wrapping_neg() as i64) > 0 {
                    Err(errno::ERANGE)
                } else {
                    Ok(v.wrapping_neg() as i64)
                }
            })
        };
        let offset =
            parsed.map_err(|err| ArgError::new(ErrorKind::BadDerefOffs, self.offset, err))?;
        self.offset += (paren + 1 - karg) + usize::from(kfirst != b'-');
        let inner = paren + 1;
        let Some(close) = rfind(self.w, inner, e, b')') else {
            return Err(ArgError::inval(
                ErrorKind::DerefOpenBrace,
                self.offset + (e - inner),
            ));
        };
        Ok((DerefKind::Mem { user }, offset, inner, close))
    }

    /// `parse_probe_arg_leaf()`.
    fn parse_leaf(&mut self, s: usize, e: usize) -> PResult<()> {
        let start = self.cur;
        match self.w.get(s..e).and_then(|a| a.first()) {
            Some(b'$') => self.parse_var(s + 1, e)?,
            Some(b'%') => match register_offset(&self.w[s + 1..e]) {
                Some(off) => self.code[self.cur] = Insn::Reg(off),
                None => return Err(ArgError::inval(ErrorKind::BadRegName, self.offset)),
            },
            Some(b'@') => self.parse_mem_symbol(s, e)?,
            Some(b'\\') => self.parse_imm(s, e)?,
            Some(&c) if k_isalpha(c) || c == b'_' => {
                // A BTF variable name: not available without BTF args.
                let err = match self.site {
                    ProbeSite::Other | ProbeSite::User | ProbeSite::UserReturn => errno::EINVAL,
                    _ => errno::EOPNOTSUPP,
                };
                return Err(ArgError::new(ErrorKind::NosupBtfarg, self.offset, err));
            }
            _ => {}
        }
        if self.code[start] == Insn::Nop {
            return Err(ArgError::inval(ErrorKind::BadFetchArg, self.offset));
        }
        Ok(())
    }

    /// `parse_probe_vars()` on the text after `$`.
    fn parse_var(&mut self, s: usize, e: usize) -> PResult<()> {
        let a = &self.w[s..e];
        let bad_var = |err| ArgError::new(ErrorKind::BadVar, self.offset, err);
        let insn = if a == b"comm" || a == b"COMM" {
            Insn::Comm
        } else if a.starts_with(b"retval") {
            if !matches!(self.site, ProbeSite::FunctionReturn | ProbeSite::UserReturn) {
                return Err(ArgError::inval(ErrorKind::RetvalOnProbe, self.offset));
            }
            Insn::Retval
        } else if let Some(n) = a.strip_prefix(b"stack") {
            match n.first() {
                None => Insn::StackP,
                Some(c) if c.is_ascii_digit() => {
                    let v = kstrtoull(n, 10).map_err(bad_var)?;
                    if v > PARAM_MAX_STACK {
                        return Err(ArgError::inval(ErrorKind::BadStackNum, self.offset));
                    }
                    Insn::Stack(v as u16)
                }
                Some(_) => return Err(bad_var(errno::EINVAL)),
            }
        } else if let Some(n) = a.strip_prefix(b"current") {
            if !n.is_empty() {
                return Err(bad_var(errno::EINVAL));
            }
            Insn::Current
        } else if let Some(n) = a.strip_prefix(b"arg") {
            let v = kstrtoull(n, 10).map_err(bad_var)?;
            if v == 0 || v > PARAM_MAX_STACK {
                return Err(ArgError::inval(ErrorKind::BadArgNum, self.offset));
            }
            let n = (v - 1) as u16;
            match self.site {
                // A user entry probe's point is the function's entry (the
                // user says so by asking): the x86-64 System V registers,
                // then the caller's stack in user memory.
                ProbeSite::FunctionEntry | ProbeSite::User => Insn::Arg(n),
                ProbeSite::FunctionReturn | ProbeSite::UserReturn => Insn::EntryArg(n),
                ProbeSite::Other => {
                    return Err(ArgError::inval(ErrorKind::NofentryArgs, self.offset))
                }
            }
        } else {
            return Err(bad_var(errno::EINVAL));
        };
        self.code[self.cur] = insn;
        Ok(())
    }

    /// `parse_probe_arg_mem_symbol()` on `@...`.
    fn parse_mem_symbol(&mut self, s: usize, e: usize) -> PResult<()> {
        let c = if s + 1 < e { self.at(s + 1) } else { 0 };
        if c.is_ascii_digit() {
            let v = kstrtoull(&self.w[s + 1..e], 0)
                .map_err(|err| ArgError::new(ErrorKind::BadMemAddr, self.offset, err))?;
            self.code[self.cur] = Insn::Imm(v);
        } else if c == b'+' {
            if !matches!(self.site, ProbeSite::User | ProbeSite::UserReturn) {
                return Err(ArgError::inval(ErrorKind::FileOnKprobe, self.offset));
            }
            let v = kstrtoull(&self.w[s + 2..e], 0)
                .map_err(|err| ArgError::new(ErrorKind::BadFileOffs, self.offset, err))?;
            self.code[self.cur] = Insn::FileOffset(v);
        } else if matches!(self.site, ProbeSite::User | ProbeSite::UserReturn) {
            return Err(ArgError::inval(ErrorKind::SymOnUprobe, self.offset));
        } else {
            self.code[self.cur] = Insn::Symbol(Span::new(s + 1, e));
            self.next_insn()?;
            self.code[self.cur] = Insn::Imm(0);
        }
        self.next_insn()?;
        self.code[self.cur] = Insn::Deref {
            offset: 0,
            user: false,
        };
        Ok(())
    }

    /// `++code == end` check of the leaf and unwind steps.
    fn next_insn(&mut self) -> PResult<()> {
        self.cur += 1;
        if self.cur >= END {
            return Err(ArgError::inval(ErrorKind::TooManyOps, self.offset));
        }
        Ok(())
    }

    /// `parse_probe_arg_imm()` on `\...`.
    fn parse_imm(&mut self, s: usize, e: usize) -> PResult<()> {
        if s + 1 < e && self.at(s + 1) == b'"' {
            let str_start = s + 2;
            let len = e - str_start;
            if len == 0 || self.at(e - 1) != b'"' {
                return Err(ArgError::inval(
                    ErrorKind::ImmstrNoClose,
                    self.offset + 2 + len,
                ));
            }
            self.code[self.cur] = Insn::ImmStr(Span::new(str_start, e - 1));
            return Ok(());
        }
        let a = &self.w[s + 1..e];
        let v = match a.first() {
            Some(c) if c.is_ascii_digit() => kstrtoull(a, 0),
            Some(b'-') => kstrtoll(a, 0).map(|v| v as u64),
            Some(b'+') => kstrtoll(&a[1..], 0).map(|v| v as u64),
            _ => Err(errno::EINVAL),
        };
        let v = v.map_err(|err| ArgError::new(ErrorKind::BadImm, self.offset + 1, err))?;
        self.code[self.cur] = Insn::Imm(v);
        Ok(())
    }

    /// `unwind_parse_states()`: emits the dereferences, innermost first.
    fn unwind(&mut self) -> PResult<()> {
        while self.depth > 0 {
            self.depth -= 1;
            let st = self.stack[self.depth];
            self.offset = st.cur_offs;
            if matches!(self.code[self.cur], Insn::Comm | Insn::ImmStr(_)) {
                return Err(ArgError::inval(ErrorKind::CommCantDeref, self.offset));
            }
            let replaces_sym_deref = matches!(st.kind, DerefKind::CpuPtr { .. }) && st.inner_is_sym;
            if !replaces_sym_deref {
                self.next_insn()?;
            }
            self.code[self.cur] = match st.kind {
                DerefKind::Mem { user } => Insn::Deref {
                    offset: st.offset as i32,
                    user,
                },
                DerefKind::CpuPtr { .. } => Insn::CpuPtr,
            };
            if let DerefKind::CpuPtr { read: true } = st.kind {
                self.next_insn()?;
                self.code[self.cur] = Insn::Deref {
                    offset: 0,
                    user: false,
                };
            }
        }
        Ok(())
    }

    /// The kernel's `code++; if (code->op != FETCH_OP_NOP)` step.
    fn push_slot(&mut self, errno: i32) -> PResult<()> {
        self.cur += 1;
        if self.code.get(self.cur) != Some(&Insn::Nop) {
            return Err(ArgError::new(ErrorKind::TooManyOps, self.offset, errno));
        }
        Ok(())
    }

    /// `finalize_fetch_insn()`: the store, bitfield and array instructions.
    /// `tpos` is the caret of type errors (tracefs: `ctx->offset` plus the
    /// type's offset in the body).
    fn finalize(
        &mut self,
        ty: FetchType,
        count: u32,
        type_text: Option<&[u8]>,
        tpos: usize,
    ) -> PResult<()> {
        let last = self.code[self.cur];
        if ty.is_string() {
            if ty == FetchType::SymStr {
                if !matches!(
                    last,
                    Insn::Reg(_)
                        | Insn::Stack(_)
                        | Insn::Retval
                        | Insn::Arg(_)
                        | Insn::Deref { user: false, .. }
                ) {
                    return Err(ArgError::inval(ErrorKind::BadSymstring, tpos));
                }
            } else if !matches!(
                last,
                Insn::Deref { .. } | Insn::Imm(_) | Insn::Comm | Insn::ImmStr(_)
            ) {
                return Err(ArgError::inval(ErrorKind::BadString, tpos));
            }
            if ty == FetchType::SymStr
                || matches!(last, Insn::Imm(_) | Insn::Comm | Insn::ImmStr(_))
                || count != 0
            {
                self.push_slot(errno::EINVAL)?;
            }
            let (offset, user_deref) = match self.code[self.cur] {
                Insn::Deref { offset, user } => (offset, user),
                _ => (0, false),
            };
            let kind = if ty == FetchType::UString || user_deref {
                StrKind::User
            } else if ty == FetchType::SymStr {
                StrKind::Symbol
            } else {
                StrKind::Kernel
            };
            self.code[self.cur] = Insn::StString { offset, kind };
        } else if let Insn::Deref { offset, user } = last {
            self.code[self.cur] = Insn::StMem {
                offset,
                size: ty.size() as u8,
                user,
            };
        } else {
            self.push_slot(errno::E2BIG)?;
            self.code[self.cur] = Insn::StRaw {
                size: ty.size() as u8,
            };
        }
        let store = self.code[self.cur];
        if let Some(t) = type_text {
            if t.first() == Some(&b'b') && !self.parse_bitfield(t, ty) {
                return Err(ArgError::inval(ErrorKind::BadBitfield, tpos));
            }
        }
        if count != 0 {
            if !matches!(
                store,
                Insn::StMem { user: false, .. }
                    | Insn::StString {
                        kind: StrKind::Kernel | StrKind::User,
                        ..
                    }
            ) {
                return Err(ArgError::inval(ErrorKind::BadString, tpos));
            }
            self.push_slot(errno::E2BIG)?;
            self.code[self.cur] = Insn::LpArray(count as u8);
        }
        self.cur += 1;
        if let Some(slot) = self.code.get_mut(self.cur) {
            *slot = Insn::End;
        }
        Ok(())
    }

    /// `__parse_bitfield_probe_arg()` on `b<width>@<offset>/<size>`.
    fn parse_bitfield(&mut self, t: &[u8], ty: FetchType) -> bool {
        let (bw, n) = simple_strtoul(&t[1..]);
        let tail = 1 + n;
        if bw == 0 || t.get(tail) != Some(&b'@') {
            return false;
        }
        let (bo, n) = simple_strtoul(&t[tail + 1..]);
        if n == 0 || t.get(tail + 1 + n) != Some(&b'/') {
            return false;
        }
        self.cur += 1;
        if self.code.get(self.cur) != Some(&Insn::Nop) {
            return false;
        }
        let bits = (ty.size() * 8) as u64;
        let sum = bw.wrapping_add(bo);
        self.code[self.cur] = Insn::ModBf {
            basesize: ty.size() as u8,
            lshift: bits.wrapping_sub(sum) as u8,
            rshift: bits.wrapping_sub(bw) as u8,
        };
        bits >= sum
    }
}

/// The parts of `%pd`/`%pD` rewriting: the glob `*:%p[dD]`.
fn vfs_suffix(word: &[u8]) -> Option<VfsType> {
    match word.len().checked_sub(4).map(|i| &word[i..]) {
        Some(b":%pd") => Some(VfsType::Dentry),
        Some(b":%pD") => Some(VfsType::File),
        _ => None,
    }
}

/// Length of the `%pd`/`%pD` rewrite of `word` (tracefs'
/// `traceprobe_expand_dentry_args()`), if it is one.
fn vfs_rewrite_len(word: &[u8]) -> Option<usize> {
    let v = vfs_suffix(word)?;
    let mut n = Counter(0);
    let _ = write_vfs_body(&mut n, v, "");
    Some(word.len() - 4 + n.0)
}

struct Counter(usize);

impl core::fmt::Write for Counter {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

/// A byte sink over a fixed array (for the `%pd` rewrite).
struct Buf<const N: usize> {
    b: [u8; N],
    n: usize,
}

impl<const N: usize> core::fmt::Write for Buf<N> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.n + s.len();
        let dst = self.b.get_mut(self.n..end).ok_or(core::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.n = end;
        Ok(())
    }
}

/// Parses one argument word `[NAME=]FETCHARG[:TYPE]` as the `index`th
/// (0-based, below [`MAX_TRACE_ARGS`]) argument of a probe at `site`, with
/// no other arguments.
pub fn parse_arg(word: &str, index: usize, site: ProbeSite) -> Result<FetchArg, ArgError> {
    if index >= MAX_TRACE_ARGS {
        return Err(ArgError::new(ErrorKind::TooManyArgs, 0, errno::E2BIG));
    }
    parse_arg_with(word, index, site, 0, |_| false).map(|(a, _)| a)
}

/// [`parse_arg`] inside a list: `size` is the record size of the arguments
/// before it, `used(name)` tells whether an earlier argument has the name.
/// Returns the argument and the new record size.
fn parse_arg_with(
    word: &str,
    index: usize,
    site: ProbeSite,
    size: usize,
    used: impl Fn(&[u8]) -> bool,
) -> Result<(FetchArg, usize), ArgError> {
    let w = word.as_bytes();
    let eq = find(w, 0, w.len(), b'=');
    let Some(vfs) = vfs_suffix(w) else {
        return parse_word(w, eq, index, site, size, used, None);
    };
    // tracefs rewrites `[NAME=]X:%pd` to `[NAME=]+0x0(+0x28(X)):string`
    // before parsing; do the same, then map positions back into `word`.
    let nl = eq.map_or(0, |i| i + 1);
    let inner = word.get(nl..w.len() - 4).unwrap_or("");
    let mut buf = Buf::<MAX_DENTRY_ARGS_LEN> {
        b: [0; MAX_DENTRY_ARGS_LEN],
        n: 0,
    };
    let mut fits = core::fmt::Write::write_str(&mut buf, &word[..nl]).is_ok()
        && write_vfs_body(&mut buf, vfs, inner).is_ok();
    fits &= buf.n < MAX_DENTRY_ARGS_LEN;
    if !fits {
        return Err(ArgError::new(ErrorKind::NoMemory, 0, errno::ENOMEM));
    }
    let rw = &buf.b[..buf.n];
    let mut pre = Counter(0);
    let _ = write_vfs_body(&mut pre, vfs, "");
    // The rewrite is `prefix X suffix` with `suffix` = "))):string" etc.
    let suffix_len = match vfs {
        VfsType::Dentry => "))".len(),
        VfsType::File => ")))".len(),
    } + ":string".len();
    let prefix_len = pre.0 - suffix_len;
    let x_rw = nl + prefix_len;
    let x_end_rw = x_rw + inner.len();
    let map = |i: usize| {
        if i < nl {
            i
        } else if i < x_rw {
            nl
        } else if i <= x_end_rw {
            i - prefix_len
        } else {
            nl + inner.len() + 1
        }
    };
    let res = parse_word(rw, eq, index, site, size, used, Some(vfs));
    match res {
        Err(mut e) => {
            e.offset = map(e.offset);
            Err(e)
        }
        Ok((mut a, size)) => {
            for i in a.code.iter_mut() {
                match i {
                    Insn::Symbol(s) | Insn::ImmStr(s) => {
                        s.start = map(usize::from(s.start)) as u16;
                    }
                    _ => {}
                }
            }
            a.body = Span::new(nl, w.len());
            Ok((a, size))
        }
    }
}

/// `traceprobe_parse_probe_arg()` + `traceprobe_parse_probe_arg_body()` on
/// the (possibly rewritten) word `w`; `eq` is the first `=` (the same in the
/// rewrite).
fn parse_word(
    w: &[u8],
    eq: Option<usize>,
    index: usize,
    site: ProbeSite,
    size: usize,
    used: impl Fn(&[u8]) -> bool,
    vfs: Option<VfsType>,
) -> Result<(FetchArg, usize), ArgError> {
    use ErrorKind::*;
    let mut auto = [0u8; 8];
    let (name, name_bytes, b) = match eq {
        Some(i) => {
            if i > MAX_ARG_NAME_LEN {
                return Err(ArgError::inval(ArgNameTooLong, 0));
            }
            if i == 0 {
                return Err(ArgError::inval(NoArgName, 0));
            }
            (ArgName::Given(Span::new(0, i)), &w[..i], i + 1)
        }
        None => {
            let n = (index + 1) as u8;
            let len = auto_name(n, &mut auto);
            (ArgName::Auto(n), &auto[..len], 0)
        }
    };
    if !core::str::from_utf8(name_bytes).is_ok_and(is_good_name) {
        return Err(ArgError::inval(BadArgName, 0));
    }
    if RESERVED_FIELD_NAMES
        .iter()
        .any(|r| r.as_bytes() == name_bytes)
        || used(name_bytes)
    {
        return Err(ArgError::inval(UsedArgName, 0));
    }
    let be = w.len();
    let mut p = Parser::new(w, site);
    p.offset = b;
    if be - b > MAX_ARGSTR_LEN {
        return Err(ArgError::new(ArgTooLong, b, errno::E2BIG));
    }
    if be == b {
        return Err(ArgError::inval(NoArgBody, b));
    }

    // parse_probe_arg_type(): `:TYPE[N]`, positions relative to the body.
    let colon = find(w, b, be, b':');
    let mut count = 0;
    let mut type_end = be;
    if let Some(t) = colon {
        if let Some(t2) = find(w, t + 1, be, b'[') {
            type_end = t2;
            let Some(t3) = find(w, t2 + 1, be, b']') else {
                return Err(ArgError::inval(ArrayNoClose, be));
            };
            if t3 + 1 != be {
                return Err(ArgError::inval(BadArraySuffix, t3 + 1));
            }
            count = match kstrtouint(&w[t2 + 1..t3], 0) {
                Ok(n) if n != 0 => n,
                _ => return Err(ArgError::inval(BadArrayNum, t2 + 1)),
            };
            if count > MAX_ARRAY_LEN {
                return Err(ArgError::inval(ArrayTooBig, t2 + 1));
            }
        }
    }
    let type_text = colon.map(|t| &w[t + 1..type_end]);
    let offs = colon.map_or(b, |t| t + 1);
    let fetch_end = colon.unwrap_or(be);
    let fetch = &w[b..fetch_end];
    let ty = if fetch == b"$comm" || fetch == b"$COMM" || fetch.starts_with(b"\\\"") {
        if count != 0 || type_text.is_some_and(|t| t != b"string") {
            return Err(ArgError::inval(NeedStringType, offs));
        }
        Some(FetchType::String)
    } else {
        FetchType::find(type_text)
    };
    let Some(ty) = ty else {
        return Err(ArgError::inval(BadType, offs));
    };

    p.parse_probe_arg(b, fetch_end)?;

    let new_size = size + ty.size() * count.max(1) as usize;
    if new_size > MAX_PROBE_EVENT_SIZE {
        return Err(ArgError::new(EventTooBig, p.offset, errno::E2BIG));
    }
    // tracefs: `ctx->offset + (type - arg)`, `ctx->offset` being where the
    // parse ended (inside the outermost dereference, if any).
    let tpos = p.offset + colon.map_or(0, |t| t + 1 - b);
    p.finalize(ty, count, type_text, tpos)?;
    Ok((
        FetchArg {
            name,
            body: Span::new(b, be),
            ty,
            count: count as u8,
            vfs,
            offset: size as u16,
            code: p.code,
        },
        new_size,
    ))
}

/// Writes `argN` into `buf`; returns its length.
fn auto_name(n: u8, buf: &mut [u8; 8]) -> usize {
    buf[..3].copy_from_slice(b"arg");
    let mut digits = [0u8; 3];
    let mut k = 0;
    let mut v = n;
    loop {
        digits[k] = b'0' + v % 10;
        k += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for i in 0..k {
        buf[3 + i] = digits[k - 1 - i];
    }
    3 + k
}

/// What a return probe saves at function entry for its `$argN`
/// ([`Insn::EntryArg`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntrySave {
    /// No `$argN`.
    None,
    /// Only `$arg1`..`$arg6`: the six argument registers, word `i` holding
    /// argument `i`.
    Regs,
    /// Some on the stack: word `i` holds argument `args[i]` (0-based), for
    /// `i < len`.
    Slots {
        /// Words used.
        len: u8,
        /// The (0-based) argument of each word.
        args: [u16; MAX_ENTRY_ARGS],
    },
}

impl EntrySave {
    /// What the arguments `args` (with their positions) need; `Err(pos)` at
    /// the argument that would be the [`MAX_ENTRY_ARGS`]` + 1`st different
    /// one, when one of them is on the stack.
    pub fn of(args: impl Iterator<Item = (usize, FetchArg)>) -> Result<Self, usize> {
        let mut set = [0u16; MAX_ENTRY_ARGS];
        let (mut len, mut stack) = (0usize, false);
        for (pos, a) in args {
            for i in a.insns() {
                let Insn::EntryArg(n) = *i else { continue };
                stack |= usize::from(n) >= MAX_ENTRY_ARGS;
                if set[..len].contains(&n) {
                    continue;
                }
                // Seven different ones: one is at least the 7th argument.
                if len == MAX_ENTRY_ARGS {
                    return Err(pos);
                }
                set[len] = n;
                len += 1;
            }
        }
        Ok(match (len, stack) {
            (0, _) => EntrySave::None,
            (_, false) => EntrySave::Regs,
            (len, true) => EntrySave::Slots {
                len: len as u8,
                args: set,
            },
        })
    }

    /// The word that holds argument `n` (0-based), if it is saved.
    pub fn word(&self, n: u16) -> Option<usize> {
        match self {
            EntrySave::None => None,
            EntrySave::Regs => Some(usize::from(n)).filter(|&i| i < MAX_ENTRY_ARGS),
            EntrySave::Slots { len, args } => {
                args[..usize::from(*len)].iter().position(|&a| a == n)
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The argument list of a probe.

/// The fetch arguments of one probe line: the words after the probe point,
/// validated as a whole like tracefs does. It holds no parsed programs (128
/// of them would not fit a kernel stack frame); [`ArgList::iter`] parses them
/// again one at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArgList<'a> {
    words: Words<'a>,
    len: usize,
    site: ProbeSite,
}

impl<'a> ArgList<'a> {
    /// An empty list.
    pub fn empty(site: ProbeSite) -> Self {
        Self {
            words: Words::new(""),
            len: 0,
            site,
        }
    }

    /// Validates the argument words `words` (positioned at the first
    /// argument) of a probe at `site`, in tracefs' order: the `$arg` scan,
    /// the argument count, the `%pd`/`%pD` room, then each argument.
    pub fn parse(words: Words<'a>, site: ProbeSite) -> Result<Self, ParseError> {
        // traceprobe_expand_meta_args(): `$arg...` words first.
        let mut last = None;
        let mut args_all = false;
        let mut len = 0;
        for (pos, w) in words {
            len += 1;
            let Some(rest) = w.as_bytes().strip_prefix(b"$arg") else {
                continue;
            };
            last = Some(pos);
            if site == ProbeSite::Other {
                return Err(ParseError::new(ErrorKind::NofentryArgs, pos));
            }
            match rest.first() {
                Some(c) if c.is_ascii_digit() => {}
                Some(b'*') if args_all => {
                    return Err(ParseError::new(ErrorKind::DoubleArgs, pos));
                }
                Some(b'*') => args_all = true,
                _ => return Err(ParseError::new(ErrorKind::BadVar, pos)),
            }
        }
        if let (true, Some(pos)) = (args_all, last) {
            // `$arg*` expands from BTF, which is not available.
            return Err(ParseError::with_errno(
                ErrorKind::NosupBtfarg,
                pos,
                errno::EOPNOTSUPP,
            ));
        }
        let mut first = words;
        if len > MAX_TRACE_ARGS {
            let pos = first.next().map_or(0, |(p, _)| p);
            return Err(ParseError::with_errno(
                ErrorKind::TooManyArgs,
                pos,
                errno::E2BIG,
            ));
        }
        // traceprobe_expand_dentry_args(): the rewrites share one buffer.
        let mut room = MAX_DENTRY_ARGS_LEN;
        for (pos, w) in words {
            if let Some(n) = vfs_rewrite_len(w.as_bytes()) {
                if n >= room {
                    return Err(ParseError::with_errno(
                        ErrorKind::NoMemory,
                        pos,
                        errno::ENOMEM,
                    ));
                }
                room -= n + 1;
            }
        }
        let list = Self { words, len, site };
        for a in list.iter() {
            a?;
        }
        if matches!(site, ProbeSite::FunctionReturn | ProbeSite::UserReturn) {
            list.entry_save()?;
        }
        Ok(list)
    }

    /// What a return probe with these arguments saves at entry; the
    /// "Too many entry arguments specified" error (`E2BIG`) when it uses
    /// more than [`MAX_ENTRY_ARGS`] different `$argN`, one of them on the
    /// stack.
    pub fn entry_save(&self) -> Result<EntrySave, ParseError> {
        EntrySave::of(self.iter().map_while(|a| a.ok()).map(|a| (a.pos, a.arg)))
            .map_err(|pos| ParseError::with_errno(ErrorKind::TooManyEargs, pos, errno::E2BIG))
    }

    /// Number of arguments.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no arguments.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Where the probe is.
    pub fn site(&self) -> ProbeSite {
        self.site
    }

    /// The argument words with their positions in the normalised command.
    pub fn words(&self) -> Words<'a> {
        self.words
    }

    /// Parses the arguments one by one.
    pub fn iter(&self) -> ArgIter<'a> {
        ArgIter {
            all: self.words,
            rest: self.words,
            index: 0,
            size: 0,
            site: self.site,
            failed: false,
        }
    }

    /// The arguments as parsed, each with the word it was parsed from, up
    /// to the first that does not parse.
    fn parsed(&self) -> impl Iterator<Item = (FetchArg, &'a str)> {
        self.iter().map_while(Result::ok).map(|a| (a.arg, a.word))
    }

    /// tracefs' `trace_probe_compare_arg_type()` for appending a probe with
    /// these arguments to an event whose probe has `existing`: see
    /// [`compare_arg_types`].
    pub fn compare_types(&self, existing: &ArgList<'_>) -> usize {
        compare_arg_types(self.len, self.parsed(), existing.len, existing.parsed())
    }

    /// Whether the argument bodies are the same: see [`same_arg_bodies`].
    pub fn same_bodies(&self, existing: &ArgList<'_>) -> bool {
        same_arg_bodies(self.len, self.parsed(), existing.len, existing.parsed())
    }
}

/// tracefs' `trace_probe_compare_arg_type()` for appending a probe with
/// the `a_len` arguments `a` (each parsed, with the word it was parsed
/// from) to an event whose probes have the `b_len` arguments `b`: 0 if
/// both have the same number of arguments with the same types, array
/// lengths and names; else the 1-based index of the first difference (one
/// past the shorter list when the counts differ).
pub fn compare_arg_types<'a, 'b>(
    a_len: usize,
    a: impl Iterator<Item = (FetchArg, &'a str)>,
    b_len: usize,
    b: impl Iterator<Item = (FetchArg, &'b str)>,
) -> usize {
    if a_len != b_len {
        return a_len.min(b_len) + 1;
    }
    let mut n = 0;
    for (i, ((a, wa), (b, wb))) in a.zip(b).enumerate() {
        let (mut na, mut nb) = (ArgText::new(), ArgText::new());
        let _ = a.write_name(&mut na, wa);
        let _ = b.write_name(&mut nb, wb);
        if a.ty != b.ty || a.count != b.count || na.text() != nb.text() {
            return i + 1;
        }
        n = i + 1;
    }
    // An argument that did not parse (never for a probe that was added)
    // differs.
    if n != a_len {
        return n + 1;
    }
    0
}

/// Whether the argument bodies (tracefs' `comm`: the text after `NAME=`,
/// `%pd`/`%pD` rewritten) of `a` and `b` are the same, as tracefs compares
/// them to refuse "the exact same probe" (after [`compare_arg_types`]
/// returned 0).
pub fn same_arg_bodies<'a, 'b>(
    a_len: usize,
    a: impl Iterator<Item = (FetchArg, &'a str)>,
    b_len: usize,
    b: impl Iterator<Item = (FetchArg, &'b str)>,
) -> bool {
    let mut n = 0;
    let all = a.zip(b).all(|((a, wa), (b, wb))| {
        n += 1;
        let (mut ta, mut tb) = (ArgText::new(), ArgText::new());
        a.write_body(&mut ta, wa).is_ok()
            && b.write_body(&mut tb, wb).is_ok()
            && ta.text() == tb.text()
    });
    a_len == b_len && all && n == a_len
}

/// tracefs' `trace_probe_match_command_args()`: whether each of the words
/// `given` (of `-:EVENT PROBE NAME=BODY ...`) is `NAME=BODY` of the
/// probe's argument at the same index (the probe has the `len` arguments
/// `args`, and at least as many as words are given). No words match any
/// probe.
pub fn match_command_args<'a>(
    len: usize,
    mut args: impl Iterator<Item = (FetchArg, &'a str)>,
    given: Words<'_>,
) -> bool {
    let mut n = 0;
    for (_, w) in given {
        n += 1;
        if n > len {
            return false;
        }
        let Some((arg, word)) = args.next() else {
            return false;
        };
        let mut t = ArgText::new();
        if arg.write_name(&mut t, word).is_err()
            || core::fmt::Write::write_str(&mut t, "=").is_err()
            || arg.write_body(&mut t, word).is_err()
            || t.text() != w.as_bytes()
        {
            return false;
        }
    }
    true
}

/// The "Argument type or name is different from existing probe" error of
/// `line` for a [`ArgList::compare_types`] result `n` (> 0): at the `n`th
/// argument, or at the command's length + 1 when `line` has fewer
/// arguments (tracefs' `trace_probe_log_set_index(n + 1)`).
pub fn diff_arg_type_error(line: &str, n: usize) -> ParseError {
    let mut end = 0;
    for (i, (pos, w)) in Words::new(line).enumerate() {
        if i == n + 1 {
            return ParseError::new(ErrorKind::DiffArgType, pos);
        }
        end = pos + w.len() + 1;
    }
    // tracefs: the length of the command plus its NUL.
    ParseError::new(ErrorKind::DiffArgType, end)
}

/// Room for an argument's name or body text (a body is at most
/// [`MAX_ARGSTR_LEN`] bytes, also when rewritten).
struct ArgText {
    b: [u8; MAX_DENTRY_ARGS_LEN + MAX_ARG_NAME_LEN],
    n: usize,
}

impl ArgText {
    fn new() -> Self {
        Self {
            b: [0; MAX_DENTRY_ARGS_LEN + MAX_ARG_NAME_LEN],
            n: 0,
        }
    }

    fn text(&self) -> &[u8] {
        &self.b[..self.n]
    }
}

impl core::fmt::Write for ArgText {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.n + s.len();
        let dst = self.b.get_mut(self.n..end).ok_or(core::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.n = end;
        Ok(())
    }
}

/// One argument of an [`ArgList`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListedArg<'a> {
    /// Position of the word in the normalised command.
    pub pos: usize,
    /// The argument word (spans in `arg` index into it).
    pub word: &'a str,
    /// The parsed argument.
    pub arg: FetchArg,
}

/// Iterator over the parsed arguments of an [`ArgList`]; stops after the
/// first error.
#[derive(Clone, Debug)]
pub struct ArgIter<'a> {
    all: Words<'a>,
    rest: Words<'a>,
    index: usize,
    size: usize,
    site: ProbeSite,
    failed: bool,
}

impl<'a> Iterator for ArgIter<'a> {
    type Item = Result<ListedArg<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let (pos, word) = self.rest.next()?;
        let index = self.index;
        let all = self.all;
        // Names of the earlier arguments, recomputed (no storage).
        let used = |name: &[u8]| {
            let mut buf = [0u8; 8];
            all.take(index).enumerate().any(|(j, (_, w))| {
                let wb = w.as_bytes();
                match find(wb, 0, wb.len(), b'=') {
                    Some(i) => &wb[..i] == name,
                    None => {
                        let n = auto_name((j + 1) as u8, &mut buf);
                        &buf[..n] == name
                    }
                }
            })
        };
        match parse_arg_with(word, index, self.site, self.size, used) {
            Ok((arg, size)) => {
                self.index += 1;
                self.size = size;
                Some(Ok(ListedArg { pos, word, arg }))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e.at(pos)))
            }
        }
    }
}

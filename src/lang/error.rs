// SPDX-License-Identifier: GPL-2.0

//! The error table of the control language: every reason a line is
//! refused, with tracefs' `error_log` message and the errno `write(2)`
//! fails with, and the `error_log` entry format.
//!
//! Pure `no_std` logic; positions are byte indices into the normalised
//! command (see [`super::lex::Words`]).

use super::elf::{Blame, ElfError, Malformed, Unsupported};
use super::lex::Words;

/// Everything that can be wrong with a control line, with tracefs' messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The first word is not `p`, `r` or `-:`.
    UnknownCommand,
    /// `p` or `r` without a probe point.
    NoProbePoint,
    /// `pN`: maxactive given for an entry probe.
    BadMaxactType,
    /// `rN` with N not a positive number.
    BadMaxact,
    /// `rN` with N above [`MAX_MAXACTIVE`].
    MaxactTooBig,
    /// No such symbol / unparsable address or offset.
    BadProbeAddr,
    /// The symbol exists more than once.
    NonUniqSymbol,
    /// A return probe not on a function entry.
    BadRetprobe,
    /// `%` suffix other than `%return`.
    BadAddrSuffix,
    /// `:/EVENT`.
    NoGroupName,
    /// Group name of 64 bytes or more.
    GroupTooLong,
    /// Group name not a C identifier.
    BadGroupName,
    /// `:` with nothing after it.
    NoEventName,
    /// Event name of 64 bytes or more.
    EventTooLong,
    /// Event name not a C identifier.
    BadEventName,
    /// The group/event is used by a different probe.
    EventExist,
    /// The very same probe exists already.
    SameProbe,
    /// `-:EVENT` names no probe (or not the given probe point).
    NoSuchEvent,
    /// Offset not on an instruction boundary.
    BadInsnBndry,
    /// The kernel refused to register the probe.
    FailRegProbe,
    /// The line is longer than [`MAX_LINE_LEN`].
    LineTooLong,
    /// The line is not valid UTF-8 / contains a NUL.
    BadEncoding,
    /// Out of memory while adding the probe.
    NoMemory,
    /// More than [`MAX_TRACE_ARGS`](super::fetch_arg::MAX_TRACE_ARGS) arguments.
    TooManyArgs,
    /// `NAME=` longer than 32 bytes.
    ArgNameTooLong,
    /// `=FETCHARG`.
    NoArgName,
    /// `NAME` not a C identifier.
    BadArgName,
    /// `NAME` used twice (or a reserved field name).
    UsedArgName,
    /// Argument body longer than 255 bytes.
    ArgTooLong,
    /// `NAME=` with nothing after it.
    NoArgBody,
    /// `TYPE[N` without `]`.
    ArrayNoClose,
    /// Text after `TYPE[N]`.
    BadArraySuffix,
    /// `N` of `TYPE[N]` not a positive number.
    BadArrayNum,
    /// `N` of `TYPE[N]` above 64.
    ArrayTooBig,
    /// Unknown `:TYPE`.
    BadType,
    /// `$comm` or `\"STR"` with a type other than `string`.
    NeedStringType,
    /// More than 8 nested dereferences.
    TooManyNested,
    /// More instructions than a fetch program holds.
    TooManyOps,
    /// `+|-OFFS(` with a bad `OFFS`.
    BadDerefOffs,
    /// `+|-OFFS` without `(`.
    DerefNeedBrace,
    /// `(` without `)`.
    DerefOpenBrace,
    /// A dereference of `$comm` or of an immediate string.
    CommCantDeref,
    /// A BTF feature (argument names, typecasts, `$arg*`): not available.
    NosupBtfarg,
    /// `$retval` in an entry probe.
    RetvalOnProbe,
    /// Unknown `$` variable.
    BadVar,
    /// `$stackN` with N too big.
    BadStackNum,
    /// `$argN` with N 0 or too big.
    BadArgNum,
    /// `$argN` away from a function entry or return.
    NofentryArgs,
    /// `$arg*` twice.
    DoubleArgs,
    /// Unknown `%REG`.
    BadRegName,
    /// `@ADDR` not a number.
    BadMemAddr,
    /// `@+OFFS` (a file offset) in a kernel probe.
    FileOnKprobe,
    /// `@+OFF` whose OFF is not a number.
    BadFileOffs,
    /// `@SYM` (a kernel symbol) in a user probe.
    SymOnUprobe,
    /// `\IMM` not a number.
    BadImm,
    /// `\"STR` without the closing `"`.
    ImmstrNoClose,
    /// Not a fetch argument at all.
    BadFetchArg,
    /// `string`/`ustring` (or an array) on something that is not memory.
    BadString,
    /// `symstr` on memory contents or user data.
    BadSymstring,
    /// Malformed `b<width>@<offset>/<size>`.
    BadBitfield,
    /// The arguments take more than 3072 bytes.
    EventTooBig,
    /// A return probe uses more different `$argN` than an instance saves
    /// (see [`MAX_ENTRY_ARGS`](super::fetch_arg::MAX_ENTRY_ARGS)).
    TooManyEargs,
    /// A probe added to an existing event has other argument types or names.
    DiffArgType,
    /// A probe added to an existing event is of the other type (entry or
    /// return).
    DiffProbeType,
    /// `PID` of a user probe point is not a positive decimal number.
    BadUprobePid,
    /// The address/offset of a user probe point is not a `0x` number.
    BadUprobeOffs,
    /// `PATH` of a user probe point is not absolute.
    BadUprobePath,
    /// `SYMBOL` of `PID:PATH:SYMBOL` is not a symbol name.
    BadUprobeSymbol,
    /// No process with that `PID`.
    NoSuchProcess,
    /// The process has no user memory (a kernel thread) or is exiting.
    NoUserMemory,
    /// `PATH` is not mapped at that offset in the process.
    FileNotMapped,
    /// Nothing mapped at that address, or it cannot be read.
    UprobeNotMapped,
    /// The probe point is not in an executable mapping.
    UprobeNotExec,
    /// The probe point is in a shared mapping (writing the breakpoint would
    /// write the file, or other processes' memory).
    UprobeShared,
    /// The decoder refuses the instruction (the reason is in the detail).
    UprobeInsn(crate::insn::Reason),
    /// Another user probe is at the same address of the same process.
    UprobeExists,
    /// Too many user probes: which limit (in the detail).
    UprobeTooMany(UprobeLimit),
    /// `rMAXACTIVE` on a user probe point (a thread's return stack has its
    /// own depth limit).
    UprobeMaxactive,
    /// The breakpoint could not be written into the process.
    UprobeWrite,
    /// The writer may not attach to the process as ptrace would
    /// (`PTRACE_MODE_ATTACH_REALCREDS`).
    UprobeNoAccess,
    /// `PATH:0xOFF` past the end of the file.
    UprobePastEof,
    /// A 32-bit (IA32) process: user probes are x86-64 only.
    UprobeCompat,
    /// The process's page is not there without waiting (a userfaultfd or
    /// FUSE mapping whose handler does not answer, or I/O).
    UprobeBusy,
    /// `(0xREF)` malformed (tracefs' `BAD_REFCNT`).
    BadRefCtr,
    /// Removing an event that a tracefs instance has enabled (its trace
    /// event, `trace_events=1`), as tracefs refuses an enabled kprobe event.
    TraceEventBusy,
    /// `(0xREF)` on a `PID:` probe (a USDT semaphore is a path probe's).
    RefCtrNeedsPath,
    /// A path probe without the kernel's `uprobe_mmap()` to hook.
    UprobeNoMapHook,
    /// Kernel lockdown (`confidentiality`) refuses kernel probes, as tracefs
    /// refuses kprobe events (`LOCKDOWN_KPROBES`).
    KprobesLockedDown,
    /// An ELF file could not be read (the errno is the reader's).
    ElfRead,
    /// The file of `PATH:SYMBOL` is not an ELF file.
    ElfNotElf,
    /// An ELF file of a kind the symbol reader does not handle (the detail
    /// says which).
    ElfUnsupported(Unsupported),
    /// A broken ELF file (the detail says what).
    ElfMalformed(Malformed),
    /// The ELF file has neither `.symtab` nor `.dynsym`.
    ElfNoSymbols,
    /// No function of that name in the ELF file.
    ElfUnknownSymbol,
    /// The symbol's address is in no loadable segment of the file.
    ElfNotLoaded,
    /// `SYMBOL+OFF` with `OFF` past the symbol's size (or its segment).
    ElfBadOffset,
    /// The symbol tables are bigger than a lookup may read.
    ElfTooBig,
}

/// The limit of user probes a new one would pass
/// ([`ErrorKind::UprobeTooMany`]; the values are in
/// `Documentation/rprobes/uprobes.rst`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UprobeLimit {
    /// User probes in all (`max_uprobes=`).
    All,
    /// Processes with user probes (`max_uprobe_procs=`).
    Processes,
    /// Files with path probes.
    Files,
}

impl UprobeLimit {
    /// The detail `error_log` prints after the message.
    pub fn name(self) -> &'static str {
        match self {
            UprobeLimit::All => "in all (max_uprobes)",
            UprobeLimit::Processes => "in too many processes (max_uprobe_procs)",
            UprobeLimit::Files => "in too many files",
        }
    }
}

/// Error numbers, as positive values (the caller negates them).
pub mod errno {
    /// No such file or directory.
    pub const ENOENT: i32 = 2;
    /// Out of memory.
    pub const ENOMEM: i32 = 12;
    /// Already exists.
    pub const EEXIST: i32 = 17;
    /// Invalid argument.
    pub const EINVAL: i32 = 22;
    /// Try again.
    pub const EAGAIN: i32 = 11;
    /// Argument list too long.
    pub const E2BIG: i32 = 7;
    /// Result out of range (a number too big).
    pub const ERANGE: i32 = 34;
    /// Illegal byte sequence (not an instruction boundary).
    pub const EILSEQ: i32 = 84;
    /// Operation not supported.
    pub const EOPNOTSUPP: i32 = 95;
    /// No space left (out of return instances).
    pub const ENOSPC: i32 = 28;
    /// No such process.
    pub const ESRCH: i32 = 3;
    /// Bad address (the process's memory cannot be read or written).
    pub const EFAULT: i32 = 14;
    /// Operation not permitted (no ptrace access, kernel lockdown).
    pub const EPERM: i32 = 1;
    /// Exec format error (not an ELF file, or one that cannot be read).
    pub const ENOEXEC: i32 = 8;
    /// Input/output error.
    pub const EIO: i32 = 5;
    /// Device or resource busy.
    pub const EBUSY: i32 = 16;
}

impl ErrorKind {
    /// The `error_log` message (tracefs' wording where tracefs has one).
    pub fn message(self) -> &'static str {
        use ErrorKind::*;
        match self {
            UnknownCommand => "Unknown command (expected p, r or -:)",
            NoProbePoint => "Probe point is not specified",
            BadMaxactType => "Maxactive is only for function exit",
            BadMaxact => "Invalid maxactive number",
            MaxactTooBig => "Maxactive is too big",
            BadProbeAddr => "Invalid probed address or symbol",
            NonUniqSymbol => "The symbol is not unique",
            BadRetprobe => "Retprobe address must be an function entry",
            BadAddrSuffix => "Invalid probed address suffix",
            NoGroupName => "Group name is not specified",
            GroupTooLong => "Group name is too long",
            BadGroupName => "Group name must follow the same rules as C identifiers",
            NoEventName => "Event name is not specified",
            EventTooLong => "Event name is too long",
            BadEventName => "Event name must follow the same rules as C identifiers",
            EventExist => "Given group/event name is already used by another event",
            SameProbe => "There is already the exact same probe event",
            NoSuchEvent => "No such probe event",
            BadInsnBndry => "Probe point is not an instruction boundary",
            FailRegProbe => "Failed to register probe event",
            LineTooLong => "Command is too long",
            BadEncoding => "Command is not printable text",
            NoMemory => "Out of memory",
            TooManyArgs => "Too many arguments are specified",
            ArgNameTooLong => "Argument name is too long",
            NoArgName => "Argument name is not specified",
            BadArgName => "Argument name must follow the same rules as C identifiers",
            UsedArgName => "This argument name is already used",
            ArgTooLong => "Argument expression is too long",
            NoArgBody => "No argument expression",
            ArrayNoClose => "Array is not closed",
            BadArraySuffix => "Array has wrong suffix",
            BadArrayNum => "Invalid array size",
            ArrayTooBig => "Array number is too big",
            BadType => "Unknown type is specified",
            NeedStringType => "$comm and immediate-string only accepts string type",
            TooManyNested => "Too many nested typecasts/dereferences",
            TooManyOps => "Dereference is too much nested",
            BadDerefOffs => "Invalid dereference offset",
            DerefNeedBrace => "Dereference needs a brace",
            DerefOpenBrace => "Dereference brace is not closed",
            CommCantDeref => "$comm can not be dereferenced",
            NosupBtfarg => "BTF is not available or not supported",
            RetvalOnProbe => "$retval is not available on probe",
            BadVar => "Invalid $-variable specified",
            BadStackNum => "Invalid stack number",
            BadArgNum => "Invalid argument number",
            NofentryArgs => "$arg* can be used only on function entry or exit",
            DoubleArgs => "$arg* can be used only once in the parameters",
            BadRegName => "Invalid register name",
            BadMemAddr => "Invalid memory address",
            FileOnKprobe => "File offset is not available for kernel probes",
            BadFileOffs => "Invalid file offset value",
            SymOnUprobe => "Symbol is not available with uprobe",
            BadImm => "Invalid immediate value",
            ImmstrNoClose => "String is not closed with '\"'",
            BadFetchArg => "Invalid fetch argument",
            BadString => "String accepts only memory argument",
            BadSymstring => "Symbol String doesn't accept data/userdata",
            BadBitfield => "Invalid bitfield",
            EventTooBig => "Event too big (too many fields?)",
            TooManyEargs => "Too many entry arguments specified",
            DiffArgType => "Argument type or name is different from existing probe",
            DiffProbeType => "Probe type is different from existing probe",
            BadUprobePid => "Invalid process ID (PID must be a positive decimal number)",
            BadUprobeOffs => "Invalid uprobe offset (must be a 0x-prefixed hex number)",
            BadUprobePath => "Invalid file path (must be absolute)",
            BadUprobeSymbol => {
                "Invalid symbol (letters, digits, _ . $ @; not starting with a digit)"
            }
            NoSuchProcess => "No such process",
            NoUserMemory => "The process has no user memory",
            FileNotMapped => "The file is not mapped at that offset in the process",
            UprobeNotMapped => "Nothing readable is mapped at that address",
            UprobeNotExec => "The probe point is not in an executable mapping",
            UprobeShared => "The probe point is in a shared mapping",
            UprobeInsn(_) => "The instruction cannot be probed",
            UprobeExists => "A user probe is already at that address",
            UprobeTooMany(_) => "Too many user probes",
            UprobeMaxactive => "Maxactive is not for user probes",
            UprobeWrite => "Failed to write the breakpoint",
            UprobeNoAccess => "No permission to attach to the process (ptrace)",
            UprobePastEof => "The offset is past the end of the file",
            BadRefCtr => "Invalid reference counter offset",
            TraceEventBusy => "The event is enabled in tracefs: disable it first",
            UprobeBusy => "The page is not available without waiting (userfaultfd, FUSE or I/O)",
            UprobeCompat => "The process is 32-bit (IA32): user probes are x86-64 only",
            RefCtrNeedsPath => "A reference counter needs a path probe (no PID)",
            UprobeNoMapHook => "Path probes need the kernel's uprobe_mmap() (CONFIG_UPROBES)",
            KprobesLockedDown => "Kernel probes are refused under lockdown (confidentiality)",
            ElfRead => "Failed to read the file",
            ElfNotElf => "Not an ELF file",
            ElfUnsupported(_) => "Unsupported ELF file",
            ElfMalformed(_) => "Malformed ELF file",
            ElfNoSymbols => "The file has no symbol table",
            ElfUnknownSymbol => "Unknown symbol in the file",
            ElfNotLoaded => "The symbol is not in a loadable segment",
            ElfBadOffset => "Offset is out of the symbol",
            ElfTooBig => "The symbol table is too big to search",
        }
    }

    /// More about the error, printed after the message (the decoder's
    /// reason for a refused instruction, what is wrong with an ELF file).
    pub fn detail(self) -> Option<&'static str> {
        match self {
            ErrorKind::UprobeInsn(r) => Some(r.name()),
            ErrorKind::UprobeTooMany(l) => Some(l.name()),
            ErrorKind::ElfUnsupported(u) => Some(u.name()),
            ErrorKind::ElfMalformed(m) => Some(m.name()),
            _ => None,
        }
    }

    /// The reason for an error of the ELF symbol reader
    /// ([`super::elf`]); an ambiguous symbol is tracefs'
    /// [`ErrorKind::NonUniqSymbol`].
    pub const fn from_elf(e: ElfError) -> Self {
        match e {
            ElfError::Read(_) => ErrorKind::ElfRead,
            ElfError::NotElf => ErrorKind::ElfNotElf,
            ElfError::Unsupported(u) => ErrorKind::ElfUnsupported(u),
            ElfError::Malformed(m) => ErrorKind::ElfMalformed(m),
            ElfError::NoSymbols => ErrorKind::ElfNoSymbols,
            ElfError::UnknownSymbol => ErrorKind::ElfUnknownSymbol,
            ElfError::Ambiguous => ErrorKind::NonUniqSymbol,
            ElfError::NotLoaded => ErrorKind::ElfNotLoaded,
            ElfError::OffsetOutside => ErrorKind::ElfBadOffset,
            ElfError::TooBig => ErrorKind::ElfTooBig,
        }
    }

    /// The (positive) errno that `write(2)` usually fails with; a
    /// [`ParseError`] carries the errno of its particular case.
    pub const fn errno(self) -> i32 {
        kind_errno(self)
    }
}

/// A rejected line: what is wrong, where (index into the normalised
/// command), and the errno.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// What is wrong.
    pub kind: ErrorKind,
    /// Byte position of the caret in the normalised command.
    pub pos: usize,
    /// The (positive) errno `write(2)` fails with (tracefs returns
    /// different ones for the same message in a few cases).
    pub errno: i32,
}

impl ParseError {
    /// An error with the kind's usual errno.
    pub const fn new(kind: ErrorKind, pos: usize) -> Self {
        Self {
            kind,
            pos,
            errno: kind_errno(kind),
        }
    }

    /// An error with a particular errno.
    pub const fn with_errno(kind: ErrorKind, pos: usize, errno: i32) -> Self {
        Self { kind, pos, errno }
    }

    /// An error of the ELF symbol reader on `PATH:SYMBOL[+OFF]`, the caret
    /// under `PATH` (at `file_pos`), `SYMBOL` (`sym_pos`) or `+OFF`
    /// (`off_pos`) as [`ElfError::blame`] says; a read error keeps the
    /// reader's errno.
    pub const fn from_elf(e: ElfError, file_pos: usize, sym_pos: usize, off_pos: usize) -> Self {
        let pos = match e.blame() {
            Blame::File => file_pos,
            Blame::Symbol => sym_pos,
            Blame::Offset => off_pos,
        };
        let kind = ErrorKind::from_elf(e);
        match e {
            ElfError::Read(errno) if errno > 0 => Self::with_errno(kind, pos, errno),
            ElfError::Read(_) => Self::with_errno(kind, pos, errno::EIO),
            _ => Self::new(kind, pos),
        }
    }
}

const fn kind_errno(kind: ErrorKind) -> i32 {
    match kind {
        ErrorKind::BadProbeAddr | ErrorKind::NoSuchEvent => errno::ENOENT,
        ErrorKind::EventExist
        | ErrorKind::SameProbe
        | ErrorKind::DiffArgType
        | ErrorKind::DiffProbeType => errno::EEXIST,
        ErrorKind::BadInsnBndry => errno::EILSEQ,
        ErrorKind::NosupBtfarg => errno::EOPNOTSUPP,
        ErrorKind::NoSuchProcess => errno::ESRCH,
        ErrorKind::FileNotMapped => errno::ENOENT,
        ErrorKind::UprobeExists => errno::EEXIST,
        ErrorKind::UprobePastEof
        | ErrorKind::BadRefCtr
        | ErrorKind::RefCtrNeedsPath
        | ErrorKind::UprobeCompat => errno::EINVAL,
        ErrorKind::UprobeNoMapHook => errno::ENOENT,
        ErrorKind::UprobeTooMany(_) => errno::ENOSPC,
        ErrorKind::UprobeNotMapped | ErrorKind::UprobeWrite => errno::EFAULT,
        ErrorKind::ElfRead => errno::EIO,
        ErrorKind::ElfNotElf | ErrorKind::ElfUnsupported(_) | ErrorKind::ElfMalformed(_) => {
            errno::ENOEXEC
        }
        ErrorKind::ElfNoSymbols | ErrorKind::ElfUnknownSymbol | ErrorKind::ElfNotLoaded => {
            errno::ENOENT
        }
        ErrorKind::ElfTooBig => errno::E2BIG,
        ErrorKind::LineTooLong
        | ErrorKind::TooManyArgs
        | ErrorKind::ArgTooLong
        | ErrorKind::TooManyNested
        | ErrorKind::EventTooBig
        | ErrorKind::TooManyEargs => errno::E2BIG,
        ErrorKind::NoMemory => errno::ENOMEM,
        ErrorKind::UprobeNoAccess | ErrorKind::KprobesLockedDown => errno::EPERM,
        ErrorKind::UprobeBusy => errno::EAGAIN,
        ErrorKind::TraceEventBusy => errno::EBUSY,
        _ => errno::EINVAL,
    }
}

/// Writes one `error_log` entry (without the timestamp prefix):
///
/// ```text
/// rprobes: error: <message>
///   Command: <normalised command>
///            ^
/// ```
pub fn write_error_entry(
    w: &mut impl core::fmt::Write,
    line: &str,
    err: &ParseError,
) -> core::fmt::Result {
    write!(w, "rprobes: error: {}", err.kind.message())?;
    if let Some(d) = err.kind.detail() {
        write!(w, ": {d}")?;
    }
    w.write_char('\n')?;
    w.write_str("  Command: ")?;
    for (i, (_, word)) in Words::new(line).enumerate() {
        if i > 0 {
            w.write_char(' ')?;
        }
        w.write_str(word)?;
    }
    w.write_char('\n')?;
    write!(w, "{:width$}^", "", width = 11 + err.pos)?;
    w.write_char('\n')
}

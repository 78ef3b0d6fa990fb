// SPDX-License-Identifier: GPL-2.0

//! Parser for the control-file language (tracefs `kprobe_events` syntax).
//!
//! Pure `no_std` logic without allocation: it is compiled into the module and
//! tested on the host with `cargo test`. It decides everything that can be
//! decided from the text alone; checks that need the running kernel (does the
//! symbol exist, is the offset an instruction boundary) are done by the caller,
//! which reports them through the same [`ErrorKind`] table.
//!
//! A line is split into words on white space and rejoined with single spaces
//! (the *normalised command*); every error position is a byte index into that
//! normalised command, exactly as tracefs' `error_log` reports it.
//!
//! ```text
//! p[:[GRP/]EVENT] [MOD:]SYM[+OFFS]|ADDR [FETCHARGS]
//! r[MAXACTIVE][:[GRP/]EVENT] [MOD:]SYM[+0] [FETCHARGS]
//! p[:[GRP/]EVENT] [MOD:]SYM[+0]%return [FETCHARGS]
//! -:[GRP/]EVENT [PROBE [NAME=BODY ...]]
//! ```
//!
//! The fetch arguments (`FETCHARGS`) are parsed by [`crate::fetch_arg`].

use crate::fetch_arg::{ArgList, ProbeSite};
use crate::uprobe_target::{self, UTarget, UTargetError};

/// Longest group or event name, including the terminating NUL in tracefs.
pub const MAX_EVENT_NAME_LEN: usize = 64;
/// Largest `MAXACTIVE` of a return probe (`KRETPROBE_MAXACTIVE_MAX`).
pub const MAX_MAXACTIVE: u32 = 4096;
/// Longest accepted control line, in bytes (tracefs' `WRITE_BUFSIZE` - 2).
pub const MAX_LINE_LEN: usize = 4094;
/// Group used when a line names none.
pub const DEFAULT_GROUP: &str = "rprobes";

/// Everything that can be wrong with a control line, with tracefs' messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The first word is not `p`, `r` or `-:`.
    UnknownCommand,
    /// `p` or `r` without a probe point.
    NoProbePoint,
    /// `pN`: maxactive given for an entry probe.
    MaxactNoKprobe,
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
    /// More than [`MAX_TRACE_ARGS`](crate::fetch_arg::MAX_TRACE_ARGS) arguments.
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
    /// (see [`MAX_ENTRY_ARGS`](crate::fetch_arg::MAX_ENTRY_ARGS)).
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
    /// Too many user probes (in the process, or in all).
    UprobeTooMany,
    /// `r`/`%return` on a user probe point.
    UprobeNoReturn,
    /// The breakpoint could not be written into the process.
    UprobeWrite,
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
}

impl ErrorKind {
    /// The `error_log` message (tracefs' wording where tracefs has one).
    pub fn message(self) -> &'static str {
        use ErrorKind::*;
        match self {
            UnknownCommand => "Unknown command (expected p, r or -:)",
            NoProbePoint => "Probe point is not specified",
            MaxactNoKprobe => "Maxactive is not for kprobe",
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
            NoSuchProcess => "No such process",
            NoUserMemory => "The process has no user memory",
            FileNotMapped => "The file is not mapped at that offset in the process",
            UprobeNotMapped => "Nothing readable is mapped at that address",
            UprobeNotExec => "The probe point is not in an executable mapping",
            UprobeShared => "The probe point is in a shared mapping",
            UprobeInsn(_) => "The instruction cannot be probed",
            UprobeExists => "A user probe is already at that address",
            UprobeTooMany => "Too many user probes",
            UprobeNoReturn => "Return probes are not supported on user space",
            UprobeWrite => "Failed to write the breakpoint",
        }
    }

    /// More about the error, printed after the message (the decoder's
    /// reason for a refused instruction).
    pub fn detail(self) -> Option<&'static str> {
        match self {
            ErrorKind::UprobeInsn(r) => Some(r.name()),
            _ => None,
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
}

const fn kind_errno(kind: ErrorKind) -> i32 {
    match kind {
        ErrorKind::BadProbeAddr | ErrorKind::NoSuchEvent => errno::ENOENT,
        ErrorKind::EventExist
        | ErrorKind::SameProbe
        | ErrorKind::DiffArgType
        | ErrorKind::DiffProbeType => errno::EEXIST,
        ErrorKind::BadInsnBndry => errno::EILSEQ,
        ErrorKind::NosupBtfarg | ErrorKind::UprobeNoReturn => errno::EOPNOTSUPP,
        ErrorKind::NoSuchProcess => errno::ESRCH,
        ErrorKind::FileNotMapped => errno::ENOENT,
        ErrorKind::UprobeExists => errno::EEXIST,
        ErrorKind::UprobeTooMany => errno::ENOSPC,
        ErrorKind::UprobeNotMapped | ErrorKind::UprobeWrite => errno::EFAULT,
        ErrorKind::LineTooLong
        | ErrorKind::TooManyArgs
        | ErrorKind::ArgTooLong
        | ErrorKind::TooManyNested
        | ErrorKind::EventTooBig
        | ErrorKind::TooManyEargs => errno::E2BIG,
        ErrorKind::NoMemory => errno::ENOMEM,
        _ => errno::EINVAL,
    }
}

/// Where a kernel probe goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target<'a> {
    /// `[MOD:]SYM[+OFFS]`.
    Symbol {
        /// The symbol, including a `MOD:` prefix when given.
        name: &'a str,
        /// Byte offset from the symbol.
        offset: u64,
    },
    /// An absolute kernel address.
    Addr(u64),
    /// A user probe point: `PID:0xADDR` or `PID:PATH:0xOFF`.
    User(UTarget<'a>),
}

/// Entry or return probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `p`: runs before the probed instruction.
    Entry,
    /// `r` or `%return`: runs when the function returns.
    Return {
        /// `rN`: how many instances may be in flight (0 = default).
        maxactive: u32,
    },
}

/// An `add` line, parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeDef<'a> {
    /// Entry or return probe.
    pub kind: Kind,
    /// Group name, if given.
    pub group: Option<&'a str>,
    /// Event name, if given.
    pub event: Option<&'a str>,
    /// Where to probe.
    pub target: Target<'a>,
    /// Position of the probe point word in the normalised command.
    pub target_pos: usize,
    /// The fetch arguments (validated; [`ArgList::iter`] parses them).
    pub args: ArgList<'a>,
}

/// A `-:` line, parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemoveDef<'a> {
    /// Group name, if given.
    pub group: Option<&'a str>,
    /// Event name.
    pub event: &'a str,
    /// Optional probe point that must match the probe being removed, with
    /// its position in the normalised command.
    pub target: Option<(usize, &'a str)>,
    /// The words after the probe point: `NAME=BODY` each, which the first
    /// arguments of the probe being removed must be (tracefs'
    /// `trace_probe_match_command_args()`).
    pub args: Words<'a>,
}

/// One control line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command<'a> {
    /// Nothing to do (empty line or comment).
    Empty,
    /// Add a probe.
    Add(ProbeDef<'a>),
    /// Remove a probe.
    Remove(RemoveDef<'a>),
}

/// Splits a line into words and tracks their positions in the normalised command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Words<'a> {
    rest: &'a str,
    pos: usize,
}

impl<'a> Words<'a> {
    /// Words of `line` (everything from a `#` on is a comment).
    pub fn new(line: &'a str) -> Self {
        let line = match line.find('#') {
            Some(i) => &line[..i],
            None => line,
        };
        Self { rest: line, pos: 0 }
    }
}

impl<'a> Iterator for Words<'a> {
    /// (position in the normalised command, word).
    type Item = (usize, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        let s = self.rest.trim_start_matches(is_space);
        if s.is_empty() {
            self.rest = s;
            return None;
        }
        let end = s.find(is_space).unwrap_or(s.len());
        let word = &s[..end];
        self.rest = &s[end..];
        let pos = self.pos;
        self.pos += word.len() + 1;
        Some((pos, word))
    }
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// Writes the normalised command (words joined by one space) into `out`.
///
/// Returns the number of bytes written; output is truncated to `out.len()`.
pub fn normalise(line: &str, out: &mut [u8]) -> usize {
    let mut n = 0;
    for (i, (_, w)) in Words::new(line).enumerate() {
        if i > 0 && n < out.len() {
            out[n] = b' ';
            n += 1;
        }
        for &b in w.as_bytes() {
            if n == out.len() {
                return n;
            }
            out[n] = b;
            n += 1;
        }
    }
    n
}

/// `[A-Za-z_][A-Za-z0-9_]*`, the rule for group, event and argument names.
pub fn is_good_name(s: &str) -> bool {
    let mut b = s.bytes();
    match b.next() {
        Some(c) if c.is_ascii_alphabetic() || c == b'_' => {}
        _ => return false,
    }
    b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Parses an unsigned number like the kernel's `kstrtoull(s, 0)`:
/// `0x`/`0X` hex, leading `0` octal, else decimal; no sign, no junk.
pub fn parse_u64(s: &str) -> Option<u64> {
    let s = s.strip_prefix('+').unwrap_or(s);
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for c in digits.chars() {
        let d = c.to_digit(radix)?;
        v = v.checked_mul(u64::from(radix))?.checked_add(u64::from(d))?;
    }
    Some(v)
}

/// Parses `[GRP/]EVENT` (or tracefs' `GRP.EVENT`) starting at `pos`.
fn parse_event_name(s: &str, pos: usize) -> Result<(Option<&str>, &str), ParseError> {
    use ErrorKind::*;
    let sep = s.find('/').or_else(|| s.find('.'));
    let (group, event, epos) = match sep {
        Some(0) => return Err(ParseError::new(NoGroupName, pos)),
        Some(i) => {
            let g = &s[..i];
            if g.len() + 1 > MAX_EVENT_NAME_LEN {
                return Err(ParseError::new(GroupTooLong, pos));
            }
            if !is_good_name(g) {
                return Err(ParseError::new(BadGroupName, pos));
            }
            (Some(g), &s[i + 1..], pos + i + 1)
        }
        None => (None, s, pos),
    };
    if event.is_empty() {
        return Err(ParseError::new(NoEventName, epos));
    }
    if event.len() >= MAX_EVENT_NAME_LEN {
        return Err(ParseError::new(EventTooLong, epos));
    }
    if !is_good_name(event) {
        return Err(ParseError::new(BadEventName, epos));
    }
    Ok((group, event))
}

/// Parses a kernel probe point: `[MOD:]SYM[+|-OFFS][%return]` or an address.
///
/// Returns the target and whether `%return` was given.
fn parse_target(s: &str, pos: usize) -> Result<(Target<'_>, bool), ParseError> {
    use ErrorKind::*;
    if is_user_target(s) {
        if s.ends_with("%return") {
            return Err(ParseError::new(UprobeNoReturn, 0));
        }
        return uprobe_target::parse(s)
            .map(|t| (Target::User(t), false))
            .map_err(|e| {
                let kind = match e {
                    UTargetError::BadPid => BadUprobePid,
                    UTargetError::BadOffset => BadUprobeOffs,
                    UTargetError::BadPath => BadUprobePath,
                };
                let at = match e {
                    UTargetError::BadPid => 0,
                    _ => s.find(':').map_or(0, |i| i + 1),
                };
                ParseError::new(kind, pos + at)
            });
    }
    if let Some(addr) = parse_u64(s) {
        if !s.starts_with('+') {
            return Ok((Target::Addr(addr), false));
        }
    }
    let (body, is_return) = match s.find('%') {
        Some(i) if &s[i..] == "%return" => (&s[..i], true),
        Some(i) => return Err(ParseError::new(BadAddrSuffix, pos + i)),
        None => (s, false),
    };
    let (name, offset) = match body.find(['+', '-']) {
        Some(i) => {
            let off = &body[i..];
            // A negative offset (to the previous symbol) is refused as in tracefs.
            if off.starts_with('-') {
                return Err(ParseError::new(BadProbeAddr, pos));
            }
            match parse_u64(off) {
                Some(o) if o <= u64::from(u32::MAX) => (&body[..i], o),
                _ => return Err(ParseError::new(BadProbeAddr, pos)),
            }
        }
        None => (body, 0),
    };
    if !is_symbol(name) {
        return Err(ParseError::new(BadProbeAddr, pos));
    }
    Ok((Target::Symbol { name, offset }, is_return))
}

/// Whether a probe point is a user one: it starts with `PID:` (a module
/// name is never all digits).
pub fn is_user_target(s: &str) -> bool {
    match s.split_once(':') {
        Some((pid, _)) => !pid.is_empty() && pid.bytes().all(|c| c.is_ascii_digit()),
        None => false,
    }
}

/// A plausible `[MOD:]SYM`: symbol characters only, at most one `:`.
fn is_symbol(s: &str) -> bool {
    let (module, sym) = match s.split_once(':') {
        Some((m, sym)) => (Some(m), sym),
        None => (None, s),
    };
    let ok = |t: &str| {
        !t.is_empty()
            && t.len() < 128
            && t.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'$')
    };
    // A symbol never starts with a digit (`2+0` is not symbol `2`, which
    // would read back as the address 2).
    module.is_none_or(ok) && ok(sym) && !sym.starts_with(|c: char| c.is_ascii_digit())
}

/// Parses one control line (without its newline).
pub fn parse(line: &str) -> Result<Command<'_>, ParseError> {
    use ErrorKind::*;
    if line.len() > MAX_LINE_LEN {
        return Err(ParseError::new(LineTooLong, 0));
    }
    let mut words = Words::new(line);
    let Some((_, cmd)) = words.next() else {
        return Ok(Command::Empty);
    };
    let bytes = cmd.as_bytes();
    match bytes[0] {
        b'-' => {
            let Some(name) = cmd.strip_prefix("-:") else {
                return Err(ParseError::new(UnknownCommand, 0));
            };
            let (group, event) = parse_event_name(name, 2)?;
            let target = words.next();
            return Ok(Command::Remove(RemoveDef {
                group,
                event,
                target,
                args: words,
            }));
        }
        b'p' | b'r' => {}
        _ => return Err(ParseError::new(UnknownCommand, 0)),
    }
    let mut is_return = bytes[0] == b'r';
    let (head, name) = match cmd.find(':') {
        Some(i) => (&cmd[1..i], Some((&cmd[i + 1..], i + 1))),
        None => (&cmd[1..], None),
    };
    let mut maxactive = 0;
    if !head.is_empty() {
        if !head.as_bytes()[0].is_ascii_digit() {
            return Err(ParseError::new(UnknownCommand, 0));
        }
        if !is_return {
            return Err(ParseError::new(MaxactNoKprobe, 1));
        }
        maxactive = match parse_u64(head) {
            Some(0) | None => return Err(ParseError::new(BadMaxact, 1)),
            Some(n) if n > u64::from(MAX_MAXACTIVE) => {
                return Err(ParseError::new(MaxactTooBig, 1))
            }
            Some(n) => n as u32,
        };
    }
    let (group, event) = match name {
        Some((n, p)) => {
            let (g, e) = parse_event_name(n, p)?;
            (g, Some(e))
        }
        None => (None, None),
    };
    let Some((tpos, tword)) = words.next() else {
        return Err(ParseError::new(NoProbePoint, cmd.len()));
    };
    let (target, suffix_return) = parse_target(tword, tpos)?;
    if suffix_return {
        if is_return {
            // `r ... SYM%return` is not a thing.
            return Err(ParseError::new(
                BadAddrSuffix,
                tpos + tword.find('%').unwrap_or(0),
            ));
        }
        is_return = true;
    }
    if let Target::User(_) = target {
        if is_return {
            return Err(ParseError::new(UprobeNoReturn, 0));
        }
    }
    if is_return {
        match target {
            Target::Symbol { offset: 0, .. } => {}
            _ => return Err(ParseError::new(BadRetprobe, tpos)),
        }
    }
    let site = match (is_return, target) {
        (true, _) => ProbeSite::FunctionReturn,
        // The kernel asks kprobe_on_func_entry(): offset 0 on x86_64 without
        // IBT (with an ENDBR, offset 4 would count too).
        (false, Target::Symbol { offset: 0, .. }) => ProbeSite::FunctionEntry,
        (false, Target::User(_)) => ProbeSite::User,
        (false, _) => ProbeSite::Other,
    };
    let args = ArgList::parse(words, site)?;
    Ok(Command::Add(ProbeDef {
        kind: if is_return {
            Kind::Return { maxactive }
        } else {
            Kind::Entry
        },
        group,
        event,
        target,
        target_pos: tpos,
        args,
    }))
}

/// A small `core::fmt::Write` sink over a byte array.
pub struct FixedBuf<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> Default for FixedBuf<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> FixedBuf<N> {
    /// An empty buffer.
    pub const fn new() -> Self {
        Self {
            buf: [0; N],
            len: 0,
        }
    }

    /// The text written so far.
    pub fn as_str(&self) -> &str {
        // Only whole `&str`s are ever copied in (see `write_str`), truncated on
        // a character boundary, so the bytes are always valid UTF-8.
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl<const N: usize> core::fmt::Write for FixedBuf<N> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let room = N - self.len;
        let mut n = s.len().min(room);
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        if n < s.len() {
            Err(core::fmt::Error)
        } else {
            Ok(())
        }
    }
}

/// The event name tracefs would generate: `p_<sym>_<off>`, `r_<sym>_0`,
/// `p_0x<addr>`, and for user probes `p_<pid>_0x<addr>` or
/// `p_<pid>_<file>_0x<off>`; characters other than letters, digits and `_`
/// become `_`; cut to 63 bytes.
pub fn default_event_name(def: &ProbeDef<'_>) -> FixedBuf<MAX_EVENT_NAME_LEN> {
    use core::fmt::Write;
    let c = match def.kind {
        Kind::Entry => 'p',
        Kind::Return { .. } => 'r',
    };
    let mut full = FixedBuf::<256>::new();
    let _ = match def.target {
        Target::Symbol { name, offset } => write!(full, "{c}_{name}_{offset}"),
        Target::Addr(a) => write!(full, "{c}_0x{a:x}"),
        Target::User(UTarget::Addr { pid, addr }) => write!(full, "{c}_{pid}_0x{addr:x}"),
        Target::User(UTarget::File { pid, path, offset }) => {
            let base = path.rsplit('/').next().unwrap_or(path);
            write!(full, "{c}_{pid}_{base}_0x{offset:x}")
        }
    };
    let mut out = FixedBuf::new();
    for ch in full.as_str().chars().take(MAX_EVENT_NAME_LEN - 1) {
        let ch = if ch.is_ascii_alphanumeric() || ch == '_' {
            ch
        } else {
            '_'
        };
        let _ = out.write_char(ch);
    }
    out
}

/// Writes the probe point as it reads back: `SYM`, `SYM+OFF` or `0xADDR`.
pub fn write_target(w: &mut impl core::fmt::Write, t: &Target<'_>) -> core::fmt::Result {
    match *t {
        Target::Symbol { name, offset: 0 } => w.write_str(name),
        Target::Symbol { name, offset } => write!(w, "{name}+{offset}"),
        Target::Addr(a) => write!(w, "0x{a:x}"),
        Target::User(UTarget::Addr { pid, addr }) => write!(w, "{pid}:0x{addr:x}"),
        Target::User(UTarget::File { pid, path, offset }) => {
            write!(w, "{pid}:{path}:0x{offset:x}")
        }
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

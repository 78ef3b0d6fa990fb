// SPDX-License-Identifier: GPL-2.0

//! Probe lines of the control language (tracefs `kprobe_events` syntax).
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
//! The fetch arguments (`FETCHARGS`) are parsed by [`super::fetch_arg`].

use super::error::{ErrorKind, ParseError};
use super::fetch_arg::{ArgList, ProbeSite};
use super::lex::{is_good_name, parse_u64, FixedBuf, Words};
use super::upoint::{self, UTarget, UTargetError};

/// Longest group or event name, including the terminating NUL in tracefs.
pub const MAX_EVENT_NAME_LEN: usize = 64;
/// Largest `MAXACTIVE` of a return probe (`KRETPROBE_MAXACTIVE_MAX`).
pub const MAX_MAXACTIVE: u32 = 4096;
/// Longest accepted control line, in bytes (tracefs' `WRITE_BUFSIZE` - 2).
pub const MAX_LINE_LEN: usize = 4094;
/// Group used when a line names none.
pub const DEFAULT_GROUP: &str = "rprobes";

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
    /// A user probe point: `PID:0xADDR`, `PID:PATH:0xOFF` or
    /// `PID:PATH:SYMBOL[+OFF]`.
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
    /// Group name, if given (`-:/EVENT`: the empty group, which no event
    /// has).
    pub group: Option<&'a str>,
    /// Event name; empty for every event of the group (`-:GRP/`).
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

/// Parses the `[GRP/][EVENT]` (or tracefs' `GRP.[EVENT]`) of an add line,
/// starting at `pos`: tracefs' `traceprobe_parse_event_name()`. The group
/// may have a `-` (tracefs' `is_good_system_name()`); without an event
/// (`GRP/`), the event name is generated.
fn parse_event_name(s: &str, pos: usize) -> Result<(Option<&str>, Option<&str>), ParseError> {
    use ErrorKind::*;
    let sep = s.find('/').or_else(|| s.find('.'));
    let (group, event, epos) = match sep {
        Some(0) => return Err(ParseError::new(NoGroupName, pos)),
        Some(i) => {
            let g = &s[..i];
            if g.len() + 1 > MAX_EVENT_NAME_LEN {
                return Err(ParseError::new(GroupTooLong, pos));
            }
            if !is_good_system_name(g) {
                return Err(ParseError::new(BadGroupName, pos));
            }
            (Some(g), &s[i + 1..], pos + i + 1)
        }
        None => (None, s, pos),
    };
    if event.is_empty() {
        if group.is_some() {
            return Ok((group, None));
        }
        return Err(ParseError::new(NoEventName, epos));
    }
    if event.len() >= MAX_EVENT_NAME_LEN {
        return Err(ParseError::new(EventTooLong, epos));
    }
    if !is_good_name(event) {
        return Err(ParseError::new(BadEventName, epos));
    }
    Ok((group, Some(event)))
}

/// tracefs' `is_good_system_name()`: a C identifier that may also have `-`.
fn is_good_system_name(s: &str) -> bool {
    let mut b = s.bytes();
    match b.next() {
        Some(c) if c.is_ascii_alphabetic() || c == b'_' || c == b'-' => {}
        _ => return false,
    }
    b.all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}

/// A kernel probe point's symbol (before any offset) is refused before
/// the kernel is asked when it is empty or too long to be one: tracefs'
/// lookup would not find it either. The limit keeps `MOD:SYM+OFFS` within
/// what a probe stores of its probe point (kallsyms' longest names, some
/// 230 bytes of Rust, fit).
pub const MAX_SYMBOL_LEN: usize = 300;

/// A kernel probe point as the text gives it, before the symbol is looked
/// up.
struct RawTarget<'a> {
    target: Target<'a>,
    /// `%return` was given.
    is_return: bool,
}

/// Parses a kernel probe point: an address (the kernel's `kstrtoul(s, 0)`:
/// `0x` hex, `0` octal or decimal, a leading `+` allowed), or
/// `[MOD:]SYM[+|-OFFS][%return]`, in tracefs' order: the suffix, then the
/// offset (`kstrtol()`; 0 to `UINT_MAX`, so `-0` is 0).
fn parse_target(s: &str, pos: usize) -> Result<RawTarget<'_>, ParseError> {
    use ErrorKind::*;
    // tracefs refuses these with EINVAL before it looks the symbol up.
    let bad_addr = ParseError::with_errno(BadProbeAddr, pos, super::error::errno::EINVAL);
    if is_user_target(s) {
        // tracefs' uprobe suffix, after the point (and its `(REF)`).
        let (s, is_return) = match s.strip_suffix("%return") {
            Some(t) => (t, true),
            None => (s, false),
        };
        return upoint::parse(s)
            .map(|t| RawTarget {
                target: Target::User(t),
                is_return,
            })
            .map_err(|e| {
                // The last component: after the last `:` of a path.
                let last = s.rfind(':').map_or(0, |i| i + 1);
                let (kind, at) = match e {
                    UTargetError::BadPid => (BadUprobePid, 0),
                    UTargetError::BadOffset if s.starts_with('/') => (BadUprobeOffs, last),
                    UTargetError::BadOffset => (BadUprobeOffs, s.find(':').map_or(0, |i| i + 1)),
                    UTargetError::BadPath => (BadUprobePath, s.find(':').map_or(0, |i| i + 1)),
                    UTargetError::BadSymbol => (BadUprobeSymbol, last),
                    // Under the `(`, as tracefs' BAD_REFCNT.
                    UTargetError::BadRefCtr => {
                        (BadRefCtr, s[last..].find('(').map_or(s.len(), |i| last + i))
                    }
                    // As tracefs refuses a kernel `SYM+OFFS` with a bad
                    // offset; the caret under `+`.
                    UTargetError::BadSymbolOffset => {
                        let plus = s[last..].find('+').map_or(last, |i| last + i);
                        return ParseError::with_errno(
                            BadProbeAddr,
                            pos + plus,
                            super::error::errno::EINVAL,
                        );
                    }
                };
                ParseError::new(kind, pos + at)
            });
    }
    if let Some(addr) = parse_u64(s) {
        return Ok(RawTarget {
            target: Target::Addr(addr),
            is_return: false,
        });
    }
    let (body, is_return) = match s.find('%') {
        Some(i) if &s[i..] == "%return" => (&s[..i], true),
        Some(i) => return Err(ParseError::new(BadAddrSuffix, pos + i)),
        None => (s, false),
    };
    let (name, offset) = match body.find(['+', '-']) {
        Some(i) => {
            let off = &body[i..];
            match off.strip_prefix('-') {
                // `kstrtol()`: a negative offset is refused, `-0` is 0.
                Some(neg) => match parse_u64(neg) {
                    Some(0) if !neg.starts_with('+') => (&body[..i], 0),
                    _ => return Err(bad_addr),
                },
                None => match parse_u64(off) {
                    Some(o) if o <= u64::from(u32::MAX) => (&body[..i], o),
                    _ => return Err(bad_addr),
                },
            }
        }
        None => (body, 0),
    };
    if !is_symbol(name) {
        return Err(bad_addr);
    }
    Ok(RawTarget {
        target: Target::Symbol { name, offset },
        is_return,
    })
}

/// Whether a probe point is a user one: it starts with `PID:` (a module
/// name is never all digits).
pub fn is_user_target(s: &str) -> bool {
    // A path probe (no kernel symbol or address starts with `/`).
    if s.starts_with('/') {
        return true;
    }
    match s.split_once(':') {
        Some((pid, _)) => !pid.is_empty() && pid.bytes().all(|c| c.is_ascii_digit()),
        None => false,
    }
}

/// A plausible `[MOD:]SYM`: a symbol that is not empty, does not start
/// with a digit (no symbol does, and `2+0` would read back as the address
/// 2), and is not too long (see [`MAX_SYMBOL_LEN`]). Anything else is for
/// kallsyms to say (see [`parse_with`]).
fn is_symbol(s: &str) -> bool {
    let sym = s.split_once(':').map_or(s, |(_, sym)| sym);
    !sym.is_empty() && !sym.starts_with(|c: char| c.is_ascii_digit()) && s.len() <= MAX_SYMBOL_LEN
}

/// Parses a `-:` line as tracefs' `dyn_event_release()` does: `-:EVENT`,
/// `-:GRP/EVENT`, or `-:GRP/` (every event of the group). The names are
/// not checked (a name no event can have matches none), and `.` is no
/// group separator here.
fn parse_remove<'a>(cmd: &'a str, mut words: Words<'a>) -> Result<Command<'a>, ParseError> {
    let Some(name) = cmd.strip_prefix("-:") else {
        return Err(ParseError::new(ErrorKind::UnknownCommand, 0));
    };
    let (group, event) = match name.split_once('/') {
        Some((g, e)) => (Some(g), e),
        None if name.is_empty() => return Err(ParseError::new(ErrorKind::NoEventName, 2)),
        None => (None, name),
    };
    let target = words.next();
    Ok(Command::Remove(RemoveDef {
        group,
        event,
        target,
        args: words,
    }))
}

/// Parses one control line (without its newline), without asking the
/// kernel whether a symbol exists (see [`parse_with`]).
pub fn parse(line: &str) -> Result<Command<'_>, ParseError> {
    parse_with(line, |_| Ok(()))
}

/// Parses one control line (without its newline), in tracefs' order
/// (`trace_kprobe_create_internal()`): the command and `MAXACTIVE`, the
/// probe point (its suffix, offset, and then the symbol, which
/// `check_symbol` looks up as tracefs' `validate_probe_symbol()` does: it
/// returns [`ErrorKind::BadProbeAddr`] when there is no such symbol,
/// [`ErrorKind::NonUniqSymbol`] when there are several), whether a return
/// probe is on a function entry, the event name, then the arguments.
///
/// The text between `p`/`r` and `:` is ignored unless it starts with a
/// digit (`MAXACTIVE`), as in tracefs: `pfoo:ev` is `p:ev`.
pub fn parse_with(
    line: &str,
    mut check_symbol: impl FnMut(&str) -> Result<(), ErrorKind>,
) -> Result<Command<'_>, ParseError> {
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
        b'-' => return parse_remove(cmd, words),
        b'p' | b'r' => {}
        _ => return Err(ParseError::new(UnknownCommand, 0)),
    }
    let mut is_return = bytes[0] == b'r';
    // tracefs needs the probe point before it looks at anything else.
    let Some((tpos, tword)) = words.next() else {
        return Err(ParseError::new(NoProbePoint, cmd.len()));
    };
    let (head, name) = match cmd.find(':') {
        Some(i) => (&cmd[1..i], Some((&cmd[i + 1..], i + 1))),
        None => (&cmd[1..], None),
    };
    let mut maxactive = 0;
    if head.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        if !is_return {
            return Err(ParseError::new(BadMaxactType, 1));
        }
        // `kstrtouint()` of at most 63 characters.
        maxactive = match parse_u64(head) {
            _ if head.len() >= MAX_EVENT_NAME_LEN => return Err(ParseError::new(BadMaxact, 1)),
            Some(n) if n == 0 || n > u64::from(u32::MAX) => {
                return Err(ParseError::new(BadMaxact, 1))
            }
            None => return Err(ParseError::new(BadMaxact, 1)),
            Some(n) if n > u64::from(MAX_MAXACTIVE) => {
                return Err(ParseError::new(MaxactTooBig, 1))
            }
            Some(n) => n as u32,
        };
    }
    let RawTarget {
        target,
        is_return: suffix_return,
    } = parse_target(tword, tpos)?;
    is_return |= suffix_return;
    if let Target::Symbol { name, .. } = target {
        check_symbol(name)
            .map_err(|kind| ParseError::with_errno(kind, tpos, super::error::errno::EINVAL))?;
    }
    if let Target::User(_) = target {
        // tracefs' uprobes have no MAXACTIVE (a user return stack is per
        // thread: see uprobes.rst).
        if maxactive != 0 {
            return Err(ParseError::new(UprobeMaxactive, 1));
        }
    } else if is_return {
        match target {
            Target::Symbol { offset: 0, .. } => {}
            _ => return Err(ParseError::new(BadRetprobe, tpos)),
        }
    }
    let (group, event) = match name {
        Some((n, p)) => parse_event_name(n, p)?,
        None => (None, None),
    };
    let site = match (is_return, target) {
        (true, Target::User(_)) => ProbeSite::UserReturn,
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

/// The event name tracefs would generate: `p_<sym>_<off>`, `r_<sym>_0`,
/// `p_0x<addr>`, and for user probes `p_<pid>_0x<addr>`,
/// `p_<pid>_<file>_0x<off>` or `p_<pid>_<file>_<sym>_<off>`; characters other than letters, digits and `_`
/// become `_`; cut to 63 bytes.
pub fn default_event_name(def: &ProbeDef<'_>) -> FixedBuf<MAX_EVENT_NAME_LEN> {
    use core::fmt::Write;
    // tracefs names a uprobe `p_...`, a return one too.
    let c = match (def.kind, def.target) {
        (Kind::Return { .. }, Target::Symbol { .. } | Target::Addr(_)) => 'r',
        _ => 'p',
    };
    let mut full = FixedBuf::<256>::new();
    let _ = match def.target {
        Target::Symbol { name, offset } => write!(full, "{c}_{name}_{offset}"),
        Target::Addr(a) => write!(full, "{c}_0x{a:x}"),
        Target::User(UTarget::Addr { pid, addr }) => write!(full, "{c}_{pid}_0x{addr:x}"),
        // `PID_` only for a per-process point: a path probe's is tracefs'
        // `uprobe_events` name.
        Target::User(t @ (UTarget::File { path, .. } | UTarget::Symbol { path, .. })) => {
            let base = path.rsplit('/').next().unwrap_or(path);
            let _ = write!(full, "{c}_");
            if let Some(pid) = t.pid() {
                let _ = write!(full, "{pid}_");
            }
            match t {
                UTarget::Symbol { symbol, offset, .. } => write!(full, "{base}_{symbol}_{offset}"),
                UTarget::File { offset, .. } | UTarget::Addr { addr: offset, .. } => {
                    write!(full, "{base}_0x{offset:x}")
                }
            }
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

/// `PID:` of a per-process probe point; nothing for a path probe.
fn write_pid(w: &mut impl core::fmt::Write, pid: Option<u32>) -> core::fmt::Result {
    match pid {
        Some(pid) => write!(w, "{pid}:"),
        None => Ok(()),
    }
}

/// Writes the probe point as it reads back: `SYM`, `SYM+OFF` or `0xADDR`;
/// a user one as `PID:0xADDR`, `PID:PATH:0xOFF` or `PID:PATH:SYM[+OFF]`
/// (as written, `OFF` in decimal, no `+0`: not the resolved offset).
pub fn write_target(w: &mut impl core::fmt::Write, t: &Target<'_>) -> core::fmt::Result {
    match *t {
        Target::Symbol { name, offset: 0 } => w.write_str(name),
        Target::Symbol { name, offset } => write!(w, "{name}+{offset}"),
        Target::Addr(a) => write!(w, "0x{a:x}"),
        Target::User(UTarget::Addr { pid, addr }) => write!(w, "{pid}:0x{addr:x}"),
        Target::User(UTarget::File {
            pid,
            path,
            offset,
            ref_ctr,
        }) => {
            write_pid(w, pid)?;
            write!(w, "{path}:0x{offset:x}")?;
            match ref_ctr {
                Some(r) => write!(w, "(0x{r:x})"),
                None => Ok(()),
            }
        }
        // As written, the offset in decimal (tracefs' `SYM+OFFS`).
        Target::User(UTarget::Symbol {
            pid,
            path,
            symbol,
            offset,
            ..
        }) => {
            write_pid(w, pid)?;
            write!(w, "{path}:{symbol}")?;
            if offset != 0 {
                write!(w, "+{offset}")?;
            }
            Ok(())
        }
    }
}

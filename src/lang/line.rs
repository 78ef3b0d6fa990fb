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
        return upoint::parse(s)
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

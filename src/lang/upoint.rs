// SPDX-License-Identifier: GPL-2.0

//! User-space probe points, as the control files write them:
//!
//! ```text
//! PID:0xADDR              a virtual address in process PID
//! PID:PATH:0xOFF          file offset OFF of PATH, as mapped into PID
//! PID:PATH:SYMBOL[+OFF]   function SYMBOL of the ELF file PATH (+OFF bytes
//!                         into it), as mapped into PID
//! PATH:0xOFF              file offset OFF of PATH, in every process that
//!                         maps it (tracefs' `uprobe_events` form)
//! PATH:SYMBOL[+OFF]       function SYMBOL of PATH, in every process
//! ```
//!
//! A probe point that starts with `/` is a path probe (no PID).
//!
//! `0xOFF(0xREF)` (tracefs' `uprobe_events` form for USDT probes): while
//! the probe is there, the 16-bit counter at file offset `REF` of the same
//! file (a USDT semaphore) is incremented in every process that has it;
//! `REF` is even.
//!
//! The last component after `PATH:` is an offset when it starts with `0x`
//! (or `0X`), else a symbol. A symbol is a name as the ELF symbol table
//! spells it (mangled for C++ and Rust): ASCII letters, digits, `_`, `.`
//! (`foo.cold`, `foo.constprop.0`), `$` (legacy Rust mangling) and `@`
//! (versioned names of `.symtab`, `foo@@VER`), not starting with a digit,
//! at most [`MAX_USYMBOL_LEN`] bytes. `+OFF` is decimal or `0x` hex (as
//! tracefs' `SYM+OFFS`), at most `u32::MAX`; the symbol reader
//! ([`super::elf`]) checks it against the function's size.
//!
//! Pure `no_std` parsing, shared with the host tests.

use super::lex::parse_u64;

/// Longest `SYMBOL` of `PID:PATH:SYMBOL[+OFF]`: the whole probe point must
/// fit what a probe stores of it (320 bytes, with the path).
pub const MAX_USYMBOL_LEN: usize = 200;

/// A parsed user probe point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UTarget<'a> {
    /// `PID:0xADDR`.
    Addr {
        /// The process.
        pid: u32,
        /// Virtual address.
        addr: u64,
    },
    /// `[PID:]PATH:0xOFF[(0xREF)]`.
    File {
        /// The process (none: every process that maps the file).
        pid: Option<u32>,
        /// Absolute path of the mapped file.
        path: &'a str,
        /// Offset in the file.
        offset: u64,
        /// The file offset of a USDT semaphore (`(0xREF)`).
        ref_ctr: Option<u64>,
    },
    /// `[PID:]PATH:SYMBOL[+OFF]`.
    Symbol {
        /// The process (none: every process that maps the file).
        pid: Option<u32>,
        /// Absolute path of the mapped ELF file.
        path: &'a str,
        /// The function symbol.
        symbol: &'a str,
        /// Bytes into the function (`+OFF`; 0 without).
        offset: u64,
        /// Byte position of `SYMBOL` in the probe point (`PATH` starts
        /// `path.len() + 1` before it, `+OFF` right after it).
        symbol_pos: usize,
    },
}

impl UTarget<'_> {
    /// The process of a per-process probe point; none for a path probe.
    pub fn pid(&self) -> Option<u32> {
        match *self {
            UTarget::Addr { pid, .. } => Some(pid),
            UTarget::File { pid, .. } | UTarget::Symbol { pid, .. } => pid,
        }
    }

    /// For [`UTarget::Symbol`]: the byte positions of `PATH`, `SYMBOL`
    /// and `+OFF` in the probe point (where a caret goes).
    pub fn symbol_positions(&self) -> Option<(usize, usize, usize)> {
        match *self {
            UTarget::Symbol {
                path,
                symbol,
                symbol_pos,
                ..
            } => Some((
                symbol_pos - path.len() - 1,
                symbol_pos,
                symbol_pos + symbol.len(),
            )),
            _ => None,
        }
    }
}

/// Why a user probe point is malformed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UTargetError {
    /// `PID` is not a positive decimal number.
    BadPid,
    /// The address or offset is not a `0x` hexadecimal number.
    BadOffset,
    /// `PATH` is not absolute.
    BadPath,
    /// `SYMBOL` has a character no symbol has, starts with a digit, or is
    /// too long.
    BadSymbol,
    /// `+OFF` is not a decimal or `0x` number up to `u32::MAX`.
    BadSymbolOffset,
    /// `(0xREF)` is not a `0x` number, is odd, or its brace is not closed
    /// at the end.
    BadRefCtr,
}

impl UTargetError {
    /// A readable reason.
    pub const fn message(self) -> &'static str {
        match self {
            UTargetError::BadPid => "PID must be a positive decimal number",
            UTargetError::BadOffset => "address/offset must be a 0x-prefixed hex number",
            UTargetError::BadPath => "PATH must be absolute",
            UTargetError::BadSymbol => {
                "SYMBOL must be letters, digits, _ . $ @, not starting with a digit"
            }
            UTargetError::BadSymbolOffset => "+OFF must be a decimal or 0x number",
            UTargetError::BadRefCtr => "(REF) must be an even 0x number in closed braces",
        }
    }
}

fn hex(s: &str) -> Result<u64, UTargetError> {
    let h = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .ok_or(UTargetError::BadOffset)?;
    if h.is_empty() || h.len() > 16 {
        return Err(UTargetError::BadOffset);
    }
    u64::from_str_radix(h, 16).map_err(|_| UTargetError::BadOffset)
}

/// Whether `s` is a `SYMBOL` of a user probe point (see the module
/// documentation).
pub fn is_usymbol(s: &str) -> bool {
    let ok = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'$' | b'@');
    !s.is_empty()
        && s.len() <= MAX_USYMBOL_LEN
        && !s.as_bytes()[0].is_ascii_digit()
        && s.bytes().all(ok)
}

/// `SYMBOL[+OFF]`.
fn symbol(s: &str) -> Result<(&str, u64), UTargetError> {
    let (sym, off) = match s.split_once('+') {
        Some((sym, off)) => {
            // `parse_u64` takes a leading `+` too: `SYM++1` is no offset.
            if off.starts_with('+') {
                return Err(UTargetError::BadSymbolOffset);
            }
            match parse_u64(off) {
                Some(o) if o <= u64::from(u32::MAX) => (sym, o),
                _ => return Err(UTargetError::BadSymbolOffset),
            }
        }
        None => (s, 0),
    };
    if !is_usymbol(sym) {
        return Err(UTargetError::BadSymbol);
    }
    Ok((sym, off))
}

/// Parses `PID:0xADDR`, `[PID:]PATH:0xOFF` or `[PID:]PATH:SYMBOL[+OFF]`.
pub fn parse(s: &str) -> Result<UTarget<'_>, UTargetError> {
    if s.starts_with('/') {
        let (path, last) = s.rsplit_once(':').ok_or(UTargetError::BadOffset)?;
        return path_point(None, path, last, 0);
    }
    let (pid, rest) = s.split_once(':').ok_or(UTargetError::BadPid)?;
    if pid.is_empty() || pid.len() > 10 || !pid.bytes().all(|c| c.is_ascii_digit()) {
        return Err(UTargetError::BadPid);
    }
    let pid_len = pid.len();
    let pid: u32 = pid.parse().map_err(|_| UTargetError::BadPid)?;
    if pid == 0 {
        return Err(UTargetError::BadPid);
    }
    match rest.rsplit_once(':') {
        None => Ok(UTarget::Addr {
            pid,
            addr: hex(rest)?,
        }),
        Some((path, last)) => {
            if !path.starts_with('/') {
                return Err(UTargetError::BadPath);
            }
            path_point(Some(pid), path, last, pid_len + 1)
        }
    }
}

/// `PATH:LAST` of a probe point (`PATH` starting at byte `path_pos`).
fn path_point<'a>(
    pid: Option<u32>,
    path: &'a str,
    last: &'a str,
    path_pos: usize,
) -> Result<UTarget<'a>, UTargetError> {
    // An offset starts with `0x`; a number without it is a bad offset (no
    // symbol starts with a digit), anything else a symbol.
    if last.starts_with("0x")
        || last.starts_with("0X")
        || last.starts_with(|c: char| c.is_ascii_digit())
        || last.is_empty()
    {
        let (off, ref_ctr) = match last.split_once('(') {
            None => (last, None),
            Some((off, r)) => {
                let r = r.strip_suffix(')').ok_or(UTargetError::BadRefCtr)?;
                let r = hex(r).map_err(|_| UTargetError::BadRefCtr)?;
                if r % 2 != 0 {
                    return Err(UTargetError::BadRefCtr);
                }
                (off, Some(r))
            }
        };
        return Ok(UTarget::File {
            pid,
            path,
            offset: hex(off)?,
            ref_ctr,
        });
    }
    let (symbol, offset) = symbol(last)?;
    Ok(UTarget::Symbol {
        pid,
        path,
        symbol,
        offset,
        symbol_pos: path_pos + path.len() + 1,
    })
}

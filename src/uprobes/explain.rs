// SPDX-License-Identifier: GPL-2.0

//! User-space probe points: resolving `PID:0xADDR` / `PID:PATH:0xOFF` /
//! `PID:PATH:SYMBOL[+OFF]` ([`super::symbol`]) in a live process, or a path
//! probe's `PATH:0xOFF` / `PATH:SYMBOL[+OFF]` in its file, and judging the
//! instruction there with the decoder.
//!
//! This is the inspection half of user probes (the `explain` file): nothing
//! is written into the process. Context: sleepable (the process's memory
//! is read as ptrace does, by a writer allowed to attach to it as ptrace
//! would: see [`crate::sys::user::resolve`]).

use super::symbol;
use crate::insn::{self, MAX_INSN_LEN};
use crate::lang::elf::ReadAt;
use crate::lang::upoint;
use crate::sys::user::{self, vma};
use core::fmt::Write;
use kernel::prelude::*;

/// What is at a user probe point.
pub(crate) struct Peek {
    /// The virtual address.
    pub(crate) vaddr: u64,
    /// The mapping's protection, like /proc/PID/maps (`r-xp`).
    pub(crate) prot: [u8; 4],
    /// The bytes read (up to the longest instruction).
    pub(crate) bytes: [u8; MAX_INSN_LEN],
    /// How many bytes could be read.
    pub(crate) len: usize,
}

/// Reads the instruction bytes at `t` (a symbol resolved to its file
/// offset, [`symbol::Point`]) in its process.
pub(crate) fn peek(t: &symbol::Point<'_>) -> Result<Peek> {
    let pt = user::resolve(t.pid, t.path, t.addr, false)?;
    let f = pt.vm_flags;
    let bit = |b: u32, c: u8| if f & b != 0 { c } else { b'-' };
    let mut p = Peek {
        vaddr: pt.vaddr,
        prot: [
            bit(vma::READ, b'r'),
            bit(vma::WRITE, b'w'),
            bit(vma::EXEC, b'x'),
            bit(vma::SHARED, b's'),
        ],
        bytes: [0; MAX_INSN_LEN],
        len: pt.len.min(MAX_INSN_LEN),
    };
    if p.prot[3] == b'-' {
        p.prot[3] = b'p';
    }
    p.bytes.copy_from_slice(&pt.bytes[..MAX_INSN_LEN]);
    Ok(p)
}

/// Writes the reader's error `e` (and a caret under the part it is about)
/// for `line`, and returns its errno.
fn reader_error(line: &str, e: &crate::lang::error::ParseError, out: &mut impl Write) -> Error {
    let _ = write!(out, "{line}: error: {}", e.kind.message());
    if let Some(d) = e.kind.detail() {
        let _ = write!(out, ": {d}");
    }
    let _ = writeln!(out, "\n{:w$}^", "", w = e.pos);
    Error::from_errno(-e.errno)
}

/// [`explain`] of a path probe's point (`PATH:0xOFF`, `PATH:SYMBOL[+OFF]`):
/// the instruction in the file, where every process that maps it has it.
fn explain_file(line: &str, t: &upoint::UTarget<'_>, out: &mut impl Write) -> Result {
    let (mut f, off) = symbol::open_path(t).map_err(|e| reader_error(line, &e, out))?;
    if off >= f.size() {
        let _ = writeln!(out, "{line}: error: the offset is past the end of the file");
        return Err(EINVAL);
    }
    let mut bytes = [0u8; MAX_INSN_LEN];
    let n = match f.read_at(off, &mut bytes) {
        Ok(n) if n > 0 => n,
        _ => {
            let _ = writeln!(out, "{line}: error: cannot read the file there");
            return Err(EIO);
        }
    };
    let _ = write!(out, "{line}: offset=0x{off:x} bytes=");
    for b in &bytes[..n] {
        let _ = write!(out, "{b:02x}");
    }
    out.write_char(' ').map_err(|_| ENOMEM)?;
    let _ = insn::write_description(out, &bytes[..n]);
    let _ = out.write_char('\n');
    Ok(())
}

/// Runs one `explain` line: writes the decoder's verdict for the probe point
/// into `out`, or fails with a reason written into `out`.
pub(crate) fn explain(line: &str, out: &mut impl Write) -> Result {
    let t = match upoint::parse(line) {
        Ok(t) => t,
        Err(e) => {
            let _ = writeln!(out, "{line}: error: {}", e.message());
            return Err(EINVAL);
        }
    };
    if t.pid().is_none() {
        return explain_file(line, &t, out);
    }
    let pt = match symbol::resolve(&t) {
        Ok(pt) => pt,
        // The reader's reason, and a caret under the part it is about.
        Err(e) => return Err(reader_error(line, &e, out)),
    };
    let p = match peek(&pt) {
        Ok(p) => p,
        Err(e) => {
            let why = if e == ESRCH {
                "no such process"
            } else if e == EINVAL {
                "the process has no user memory"
            } else if e == ENOENT {
                "the file is not mapped at that offset in the process"
            } else if e == EFAULT {
                "cannot read the process's memory there"
            } else if e == EPERM {
                "no permission to attach to the process (ptrace)"
            } else {
                "cannot inspect"
            };
            let _ = writeln!(out, "{line}: error: {why}");
            return Err(e);
        }
    };
    let _ = write!(
        out,
        "{line}: addr=0x{:x} prot={} bytes=",
        p.vaddr,
        core::str::from_utf8(&p.prot).unwrap_or("????")
    );
    for b in &p.bytes[..p.len] {
        let _ = write!(out, "{b:02x}");
    }
    out.write_char(' ').map_err(|_| ENOMEM)?;
    if p.prot[2] != b'x' {
        let _ = writeln!(out, "refuse=not-executable");
        return Ok(());
    }
    let _ = insn::write_description(out, &p.bytes[..p.len]);
    let _ = out.write_char('\n');
    Ok(())
}

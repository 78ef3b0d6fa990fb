// SPDX-License-Identifier: GPL-2.0

//! `PID:PATH:SYMBOL[+OFF]`: the symbol looked up in the ELF file `PATH`
//! ([`crate::lang::elf`]), giving the file offset that `PID:PATH:0xOFF`
//! would name; the rest (the mapping of that file in the process, the
//! instruction there) is the offset form's.
//!
//! The file is opened read-only by path as the writer of the line would
//! open it ([`crate::sys::file::RoFile`]: its root, credentials and
//! permissions; regular files only) and read piece by piece with
//! `kernel_read`, at most [`SYMBOL_READ_BUDGET`] bytes of symbol and string
//! tables beyond the headers. It is read before the process is looked at;
//! that the process maps this very file is then checked by the offset
//! form (by path, as `PID:PATH:0xOFF` is).
//!
//! Context: sleepable (control-file writes, `insmod`); it runs under the
//! registry mutex for `probes`, under none for `explain`.

use crate::lang::elf::{self, ElfError};
use crate::lang::error::{ErrorKind, ParseError};
use crate::lang::upoint::UTarget;
use crate::sys::file::RoFile;

/// Most bytes one lookup reads beyond the ELF headers: 64 MiB. A lookup
/// reads each symbol table once and the names it compares (libc's
/// `.dynsym`: 0.8 MB; `librustc_driver`'s 186 000 symbols: 26 MB);
/// past this, `E2BIG` ("The symbol table is too big to search").
pub(crate) const SYMBOL_READ_BUDGET: u64 = 64 << 20;

/// A user probe point with its file offset resolved.
#[derive(Clone, Copy)]
pub(crate) struct Point<'a> {
    /// The process (0 for a path probe).
    pub(crate) pid: u32,
    /// The file (none for `PID:0xADDR`).
    pub(crate) path: Option<&'a str>,
    /// The virtual address, or the offset in `path` (a symbol's, found).
    pub(crate) addr: u64,
}

/// The address or file offset of `t`: a symbol is looked up in its file.
/// Errors are the reader's `error_log` reasons, the position relative to
/// the start of the probe point (the caret under `PATH`, `SYMBOL` or
/// `+OFF`, as [`ElfError::blame`] says); a file that cannot be opened is
/// "Failed to read the file" with the open's errno, under `PATH`. Sleeps.
pub(crate) fn resolve<'a>(t: &UTarget<'a>) -> Result<Point<'a>, ParseError> {
    match *t {
        UTarget::Addr { pid, addr } => Ok(Point {
            pid,
            path: None,
            addr,
        }),
        UTarget::File {
            pid, path, offset, ..
        } => Ok(Point {
            pid: pid.unwrap_or(0),
            path: Some(path),
            addr: offset,
        }),
        UTarget::Symbol {
            pid,
            path,
            symbol,
            offset,
            ..
        } => {
            let (fp, sp, op) = t.symbol_positions().unwrap_or((0, 0, 0));
            let err = |e: ElfError| ParseError::from_elf(e, fp, sp, op);
            let mut f = RoFile::open(path).map_err(|e| err(ElfError::Read(-e.to_errno())))?;
            let size = f.size();
            let (_, foff) =
                elf::resolve_symbol(&mut f, size, symbol.as_bytes(), offset, SYMBOL_READ_BUDGET)
                    .map_err(err)?;
            Ok(Point {
                pid: pid.unwrap_or(0),
                path: Some(path),
                addr: foff,
            })
        }
    }
}

/// A path probe's file, open, and the file offset of its point (a symbol
/// looked up in it, as [`resolve`] does). A file that cannot be opened is
/// "Failed to read the file" with the open's errno, under `PATH`. Sleeps.
pub(crate) fn open_path(t: &UTarget<'_>) -> Result<(RoFile, u64), ParseError> {
    let (path, fp) = match *t {
        UTarget::File { path, .. } => (path, 0),
        UTarget::Symbol { path, .. } => (path, t.symbol_positions().map_or(0, |p| p.0)),
        UTarget::Addr { .. } => return Err(ParseError::new(ErrorKind::BadUprobePath, 0)),
    };
    let mut f = RoFile::open(path)
        .map_err(|e| ParseError::from_elf(ElfError::Read(-e.to_errno()), fp, fp, fp))?;
    let off = match *t {
        UTarget::Symbol { symbol, offset, .. } => {
            let (fp, sp, op) = t.symbol_positions().unwrap_or((0, 0, 0));
            let size = f.size();
            elf::resolve_symbol(&mut f, size, symbol.as_bytes(), offset, SYMBOL_READ_BUDGET)
                .map_err(|e| ParseError::from_elf(e, fp, sp, op))?
                .1
        }
        UTarget::File { offset, .. } => offset,
        UTarget::Addr { .. } => 0,
    };
    Ok((f, off))
}

// SPDX-License-Identifier: GPL-2.0

//! The text of fetched argument values, as tracefs prints them in `trace`
//! (`kernel/trace/trace_probe.c`: `print_type_*`, `trace_probe_print_args`).
//!
//! Pure `no_std` logic without allocation. Values are read from an event
//! record laid out like tracefs': each argument has a fixed slot of
//! `size * max(count, 1)` bytes (little endian) at its
//! [`FetchArg::offset`]; a string slot holds a `__data_loc` word
//! (`len << 16 | offset`, `offset` from the record's start, `len` counting
//! the NUL; `len == 0` is a fault). Evaluating the fetch programs and
//! building the records is not done here.
//!
//! ```text
//!  name=0x1f  name=-3  name=42  name='t'  name="str"  name=(fault)  name={1,2,3}
//! ```

use super::fetch_arg::{FetchArg, FetchType};
use core::fmt::{self, Write};

/// What a string that could not be read prints as (`FAULT_STRING`).
pub const FAULT_STRING: &str = "(fault)";

/// A byte buffer that text is appended to, like the kernel's `trace_seq`:
/// when full, it keeps what fits and reports an error from then on.
pub struct SeqBuf<'b> {
    buf: &'b mut [u8],
    len: usize,
    overflowed: bool,
}

impl<'b> SeqBuf<'b> {
    /// An empty buffer over `buf`.
    pub fn new(buf: &'b mut [u8]) -> Self {
        Self {
            buf,
            len: 0,
            overflowed: false,
        }
    }

    /// The bytes written so far (not necessarily UTF-8: strings are copied
    /// as they are).
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Number of bytes written.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether some output did not fit.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// Forgets the contents.
    pub fn clear(&mut self) {
        self.len = 0;
        self.overflowed = false;
    }

    /// Appends raw bytes.
    pub fn write_bytes(&mut self, b: &[u8]) -> fmt::Result {
        if self.overflowed {
            return Err(fmt::Error);
        }
        let room = self.buf.len() - self.len;
        let n = b.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&b[..n]);
        self.len += n;
        if n < b.len() {
            self.overflowed = true;
            return Err(fmt::Error);
        }
        Ok(())
    }
}

impl Write for SeqBuf<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.write_bytes(s.as_bytes())
    }
}

/// Prints values of type `symbol` (the kernel's `%pS`: `func+0x12/0x80`);
/// the symbol lookup is the kernel side's job.
pub trait SymbolPrinter {
    /// Writes the text for the address `addr`.
    fn write_symbol(&mut self, out: &mut SeqBuf<'_>, addr: u64) -> fmt::Result;
}

/// A [`SymbolPrinter`] that knows no symbols: it prints `0x<hex>`, which is
/// what `%pS` prints for an address outside any symbol.
pub struct RawAddress;

impl SymbolPrinter for RawAddress {
    fn write_symbol(&mut self, out: &mut SeqBuf<'_>, addr: u64) -> fmt::Result {
        write!(out, "0x{addr:x}")
    }
}

/// A `__data_loc` word: `len` bytes (with the NUL) at `offset` from the
/// start of the record.
pub fn make_data_loc(len: u16, offset: u16) -> u32 {
    (u32::from(len) << 16) | u32::from(offset)
}

/// The length part of a `__data_loc` word.
pub fn data_loc_len(loc: u32) -> u16 {
    (loc >> 16) as u16
}

/// The offset part of a `__data_loc` word.
pub fn data_loc_offset(loc: u32) -> u16 {
    loc as u16
}

/// Writes one value of a non-string type; `raw` holds its bits (only the
/// low [`FetchType::size`] bytes count). Formats: `%u`/`%Lu` (`u*`),
/// `%d`/`%Ld` (`s*`), `0x%x`/`0x%Lx` (`x*`), `'%c'` (`char`), `%pS`
/// (`symbol`). A string type is an error (use [`write_string`]).
pub fn write_scalar(
    out: &mut SeqBuf<'_>,
    ty: FetchType,
    raw: u64,
    sym: &mut dyn SymbolPrinter,
) -> fmt::Result {
    use FetchType::*;
    match ty {
        U8 => write!(out, "{}", raw as u8),
        U16 => write!(out, "{}", raw as u16),
        U32 => write!(out, "{}", raw as u32),
        U64 => write!(out, "{raw}"),
        S8 => write!(out, "{}", raw as u8 as i8),
        S16 => write!(out, "{}", raw as u16 as i16),
        S32 => write!(out, "{}", raw as u32 as i32),
        S64 => write!(out, "{}", raw as i64),
        X8 => write!(out, "0x{:x}", raw as u8),
        X16 => write!(out, "0x{:x}", raw as u16),
        X32 => write!(out, "0x{:x}", raw as u32),
        X64 => write!(out, "0x{raw:x}"),
        Char => {
            out.write_char('\'')?;
            out.write_bytes(&[raw as u8])?;
            out.write_char('\'')
        }
        Symbol => sym.write_symbol(out, raw),
        String | UString | SymStr => Err(fmt::Error),
    }
}

/// Writes a string value: `"..."` up to the first NUL, or `(fault)` for
/// `None`. The bytes are copied as they are, like `%s`.
pub fn write_string(out: &mut SeqBuf<'_>, s: Option<&[u8]>) -> fmt::Result {
    let Some(s) = s else {
        return out.write_str(FAULT_STRING);
    };
    let end = s.iter().position(|&c| c == 0).unwrap_or(s.len());
    out.write_char('"')?;
    out.write_bytes(&s[..end])?;
    out.write_char('"')
}

/// The string a `__data_loc` word at `slot` of `record` points to (`None`
/// for a fault: length 0, or out of the record).
fn loc_string(record: &[u8], slot: usize) -> Option<&[u8]> {
    let loc = u32::from_le_bytes(record.get(slot..slot.checked_add(4)?)?.try_into().ok()?);
    let len = usize::from(data_loc_len(loc));
    let offset = usize::from(data_loc_offset(loc));
    if len == 0 {
        return None;
    }
    record.get(offset..offset + len)
}

/// Writes one element of `ty` from its slot at `at` in `record`.
fn write_elem(
    out: &mut SeqBuf<'_>,
    ty: FetchType,
    record: &[u8],
    at: usize,
    sym: &mut dyn SymbolPrinter,
) -> fmt::Result {
    if ty.is_string() {
        return write_string(out, loc_string(record, at));
    }
    let end = at.checked_add(ty.size()).ok_or(fmt::Error)?;
    let bytes = record.get(at..end).ok_or(fmt::Error)?;
    let mut le = [0u8; 8];
    le[..bytes.len()].copy_from_slice(bytes);
    write_scalar(out, ty, u64::from_le_bytes(le), sym)
}

/// Writes ` NAME=VALUE` for an argument of type `ty` (`count` elements, 0
/// for one value) whose fixed slot starts at byte `slot` of `record`, like
/// `trace_probe_print_args()`: arrays print as `{a,b,c}`. Fails if the
/// slot is outside `record`.
pub fn write_arg(
    out: &mut SeqBuf<'_>,
    name: &str,
    ty: FetchType,
    count: u8,
    record: &[u8],
    slot: usize,
    sym: &mut dyn SymbolPrinter,
) -> fmt::Result {
    write!(out, " {name}=")?;
    if count == 0 {
        return write_elem(out, ty, record, slot, sym);
    }
    out.write_char('{')?;
    for i in 0..usize::from(count) {
        let at = slot.checked_add(i * ty.size()).ok_or(fmt::Error)?;
        write_elem(out, ty, record, at, sym)?;
        out.write_char(if i + 1 == usize::from(count) {
            '}'
        } else {
            ','
        })?;
    }
    Ok(())
}

/// [`write_arg`] for a parsed argument (`word` is its text, `base` the
/// start of the arguments' fixed part in `record`).
pub fn write_fetch_arg(
    out: &mut SeqBuf<'_>,
    arg: &FetchArg,
    word: &str,
    record: &[u8],
    base: usize,
    sym: &mut dyn SymbolPrinter,
) -> fmt::Result {
    let mut name = super::lex::FixedBuf::<40>::new();
    arg.write_name(&mut name, word)?;
    write_arg(
        out,
        name.as_str(),
        arg.ty,
        arg.count,
        record,
        base.checked_add(usize::from(arg.offset))
            .ok_or(fmt::Error)?,
        sym,
    )
}

// SPDX-License-Identifier: GPL-2.0

//! Events as text, as tracefs prints them: the head (`comm-pid [cpu]
//! secs.usecs: GRP/EVENT: (sym+off/size)` or `(caller <- func)`) and each
//! fetched argument (` NAME=VALUE`), made only when a reader reads.
//!
//! Context: readers (sleepable: a long argument is formatted in a heap
//! buffer).

use super::eval::{Arg, Args};
use super::ring::{EventRef, RETURN};
use crate::lang::fetch_fmt::{write_fetch_arg, SeqBuf, SymbolPrinter};
use crate::sys::ksym;
use core::fmt::Write;
use kernel::prelude::*;

/// Writes one event as a text line: the head with the probe's `name`, then
/// its arguments (`args`: the probe's, if it is still there).
pub(crate) fn write_event(
    w: &mut impl Write,
    e: &EventRef<'_>,
    name: &str,
    args: Option<&Args>,
) -> core::fmt::Result {
    write_head(w, e, name)?;
    if let Some(args) = args {
        let mut buf = [0u8; 1024];
        for a in args.args.iter() {
            if !write_arg_text(w, a, e.data, &mut buf)? {
                break;
            }
        }
    }
    w.write_char('\n')
}

/// Writes the tracefs-style line of `e` (without args): `comm-pid [cpu]
/// secs.usecs: NAME: (sym+off/size)` or `(caller <- func)`. The comm is
/// the one saved for the pid, `<idle>` for pid 0 and `<...>` if the cache
/// lost it, as tracefs prints them.
fn write_head(w: &mut impl Write, e: &EventRef<'_>, name: &str) -> core::fmt::Result {
    let saved = super::comm::comm_of(e.hdr.pid);
    let comm = match (e.hdr.pid, &saved) {
        (0, _) => "<idle>",
        (_, Some(c)) => {
            let n = c.iter().position(|&c| c == 0).unwrap_or(c.len());
            core::str::from_utf8(&c[..n]).unwrap_or("<...>")
        }
        (_, None) => "<...>",
    };
    write!(
        w,
        "{:>16}-{:<7} [{:03}] {:5}.{:06}: {}: (",
        comm,
        e.hdr.pid,
        e.cpu,
        e.ts / 1_000_000_000,
        (e.ts / 1000) % 1_000_000,
        name
    )?;
    if e.hdr.kind == RETURN {
        ksym::write_sym(w, e.hdr.caller as usize)?;
        w.write_str(" <- ")?;
        ksym::write_sym_name(w, e.hdr.ip as usize)?;
    } else {
        ksym::write_sym(w, e.hdr.ip as usize)?;
    }
    w.write_char(')')
}

/// `%pS` for the `symbol` type, through kallsyms.
struct KernelSyms;

impl SymbolPrinter for KernelSyms {
    fn write_symbol(&mut self, out: &mut SeqBuf<'_>, addr: u64) -> core::fmt::Result {
        ksym::write_sym(out, addr as usize)
    }
}

/// Writes bytes that may not be UTF-8 (fetched strings): valid text as it
/// is, other bytes as `\xNN`.
fn write_lossy(w: &mut impl Write, mut b: &[u8]) -> core::fmt::Result {
    while !b.is_empty() {
        match core::str::from_utf8(b) {
            Ok(s) => return w.write_str(s),
            Err(e) => {
                let (ok, rest) = b.split_at(e.valid_up_to());
                w.write_str(core::str::from_utf8(ok).unwrap_or(""))?;
                write!(w, "\\x{:02x}", rest[0])?;
                b = &rest[1..];
            }
        }
    }
    Ok(())
}

/// Largest text of one argument [`write_arg_text`] makes room for (a
/// `symbol[N]` array of long names; strings and number arrays take less).
const MAX_ARG_TEXT: usize = 256 * 1024;

/// Writes one argument of an event (` NAME=VALUE`) in full: formatted in
/// `buf` when it fits (almost always), else in a heap buffer grown until it
/// does, so that a long array or string is never cut and the arguments after
/// it are not lost (tracefs prints the whole line). Returns false if the
/// record could not be formatted (the arguments after it are skipped).
fn write_arg_text(
    w: &mut impl Write,
    a: &Arg,
    data: &[u8],
    buf: &mut [u8],
) -> Result<bool, core::fmt::Error> {
    let fmt = |out: &mut SeqBuf<'_>| {
        write_fetch_arg(out, &a.arg, a.word(), data, 0, &mut KernelSyms).is_ok()
    };
    let mut out = SeqBuf::new(buf);
    let mut ok = fmt(&mut out);
    if !out.overflowed() {
        write_lossy(w, out.as_bytes())?;
        return Ok(ok);
    }
    let mut size = 4 * buf.len().max(1024);
    let mut v = KVVec::<u8>::new();
    loop {
        v.clear();
        v.resize(size, 0, GFP_KERNEL)
            .map_err(|_| core::fmt::Error)?;
        let mut out = SeqBuf::new(&mut v);
        ok = fmt(&mut out);
        if !out.overflowed() || size >= MAX_ARG_TEXT {
            write_lossy(w, out.as_bytes())?;
            return Ok(ok && !out.overflowed());
        }
        size *= 4;
    }
}

// SPDX-License-Identifier: GPL-2.0

//! User-space probe points: resolving `PID:0xADDR` / `PID:PATH:0xOFF` in a
//! live process and judging the instruction there with the decoder.
//!
//! This is the inspection half of user probes (the `explain` file): nothing
//! is written into the process. Probes themselves are in [`crate::uprobes`].

use crate::insn::{self, MAX_INSN_LEN};
use crate::kbind;
use crate::uprobe_target::{self, UTarget};
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

/// Reads the instruction bytes at `t` in its process.
pub(crate) fn peek(t: &UTarget<'_>) -> Result<Peek> {
    let (pid, path, addr) = match *t {
        UTarget::Addr { pid, addr } => (pid, None, addr),
        UTarget::File { pid, path, offset } => (pid, Some(path), offset),
    };
    let mut p = Peek {
        vaddr: 0,
        prot: [b'-'; 4],
        bytes: [0; MAX_INSN_LEN],
        len: 0,
    };
    let mut pt = kbind::rprobes_upoint {
        vaddr: 0,
        mm: core::ptr::null_mut(),
        tgid: 0,
        vm_flags: 0,
        mm_ref: false,
        bytes: [0; 16],
    };
    let (pp, pl) = path.map_or((core::ptr::null(), 0), |s| (s.as_ptr(), s.len()));
    // SAFETY: `path` (if any) is `pl` readable bytes; `pt` is writable; no
    // mm reference is asked for.
    let n =
        unsafe { kbind::rprobes_uprobe_resolve(pid as i32, pp.cast(), pl, addr as usize, &mut pt) };
    if n < 0 {
        return Err(Error::from_errno(n as i32));
    }
    let f = pt.vm_flags;
    let bit = |b: u32, c: u8| if f & b != 0 { c } else { b'-' };
    p.vaddr = pt.vaddr as u64;
    p.prot = [
        bit(kbind::RPROBES_UVMA_READ, b'r'),
        bit(kbind::RPROBES_UVMA_WRITE, b'w'),
        bit(kbind::RPROBES_UVMA_EXEC, b'x'),
        bit(kbind::RPROBES_UVMA_SHARED, b's'),
    ];
    if p.prot[3] == b'-' {
        p.prot[3] = b'p';
    }
    p.len = (n as usize).min(MAX_INSN_LEN);
    p.bytes.copy_from_slice(&pt.bytes[..MAX_INSN_LEN]);
    Ok(p)
}

/// Runs one `explain` line: writes the decoder's verdict for the probe point
/// into `out`, or fails with a reason written into `out`.
pub(crate) fn explain(line: &str, out: &mut impl Write) -> Result {
    let t = match uprobe_target::parse(line) {
        Ok(t) => t,
        Err(e) => {
            let _ = writeln!(out, "{line}: error: {}", e.message());
            return Err(EINVAL);
        }
    };
    let p = match peek(&t) {
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

// SPDX-License-Identifier: GPL-2.0

//! Evaluation of fetch arguments in the probe handlers, into event records.
//!
//! The programs come from [`crate::lang::fetch_arg`] (parsed when the
//! probe is added); this runs them against the hit's registers, like
//! tracefs' `process_fetch_insn()`, and lays the values out as
//! [`crate::lang::fetch_fmt`] reads them: each argument's fixed slot at its
//! offset, strings in the dynamic area after the fixed part, referenced by
//! a `__data_loc` word.
//!
//! Every memory read is a *nofault* copy (`copy_from_kernel_nofault`,
//! `copy_from_user_nofault`): a bad address gives `(fault)` for a string
//! and 0 for a number, never an oops.
//!
//! Records are built straight into the ring buffer's reserved event. A
//! probe without strings reserves its fixed part. A probe with strings
//! first measures them (tracefs' `__get_data_size()`: [`data_size`] runs
//! the string arguments with nofault length reads, each string up to
//! [`MAX_STRING`] bytes with its NUL), reserves exactly that, capped so
//! the event fits the ring buffer's largest event, and [`build`] then
//! copies each string into what is left of the reservation: a string that
//! does not fit (or grew in between) is cut, never dropped.

use super::ring::{self, Fill, Head};
use crate::lang::fetch_arg::{
    kernel_argument, pt_regs as off, ArgLocation, EntrySave, FetchArg, Insn, StrKind,
    MAX_ENTRY_ARGS,
};
use crate::lang::fetch_fmt::make_data_loc;
use crate::lang::lex::FixedBuf;
use crate::sys::bindings::{self as kbind, pt_regs};
use crate::sys::{ksym, task, user};
use kernel::prelude::*;

/// Longest string kept per value, with its NUL (longer ones are cut):
/// tracefs' `MAX_STRING_SIZE` (`PATH_MAX`). The event's room cuts sooner.
pub(crate) const MAX_STRING: usize = 4096;

/// What a handler passes to the evaluator.
pub(crate) struct Ctx<'a> {
    /// The hit's registers.
    pub(crate) regs: &'a pt_regs,
    /// `$retval` (return probes).
    pub(crate) retval: Option<u64>,
    /// `$argN` of a return probe: the words saved at entry, and which
    /// argument each holds.
    pub(crate) entry_args: Option<(&'a [u64; MAX_ENTRY_ARGS], &'a EntrySave)>,
    /// A user probe: memory is the probed process's (`$stackN` and
    /// dereferences read user memory, as tracefs' uprobes do).
    pub(crate) user: bool,
    /// A user probe on a file: the address where the file's offset 0 is
    /// mapped (for `@+OFF`).
    pub(crate) file_base: Option<u64>,
}

/// The common argument shapes, with their program pre-digested so the hit
/// path runs a few instructions instead of the interpreter.
#[derive(Clone, Copy)]
pub(crate) enum Fast {
    /// `%REG` / `$argN` in a register, stored as a number.
    Reg {
        /// `pt_regs` offset.
        reg: u16,
        /// Bytes stored.
        size: u8,
    },
    /// `+OFF(%REG)` / `+OFF($argN)` of kernel memory, stored as a number.
    Mem {
        /// `pt_regs` offset of the base.
        reg: u16,
        /// Offset added to it.
        offset: i32,
        /// Bytes stored.
        size: u8,
    },
    /// Anything else: the interpreter.
    Generic,
}

impl Fast {
    /// The fast form of `arg`, if it has one.
    pub(crate) fn of(arg: &FetchArg) -> Self {
        let base = |i: &Insn| match *i {
            Insn::Reg(o) => Some(o),
            Insn::Arg(n) => match kernel_argument(u32::from(n)) {
                ArgLocation::Reg(o) => Some(o),
                ArgLocation::Stack(_) => None,
            },
            _ => None,
        };
        match arg.insns() {
            [first, Insn::StRaw { size }, Insn::End] => match base(first) {
                Some(reg) => Fast::Reg { reg, size: *size },
                None => Fast::Generic,
            },
            [first, Insn::StMem {
                offset,
                size,
                user: false,
            }, Insn::End] => match base(first) {
                Some(reg) => Fast::Mem {
                    reg,
                    offset: *offset,
                    size: *size,
                },
                None => Fast::Generic,
            },
            _ => Fast::Generic,
        }
    }
}

/// One parsed argument of a probe, with the word its spans index into.
pub(crate) struct Arg {
    /// The program and the layout.
    pub(crate) arg: FetchArg,
    /// The argument's text.
    pub(crate) word: KVec<u8>,
    /// Its fast form.
    pub(crate) fast: Fast,
}

impl Arg {
    /// The argument's text (always UTF-8: copied from a `&str`).
    pub(crate) fn word(&self) -> &str {
        core::str::from_utf8(&self.word).unwrap_or("")
    }
}

/// One argument with a fast form, packed for the hit path.
#[derive(Clone, Copy)]
struct FastOp {
    /// Its slot in the record.
    slot: u16,
    /// The `pt_regs` word (index, below [`REGS`]) holding the value or the
    /// base address.
    word: u8,
    /// Bytes stored (1, 2, 4 or 8).
    size: u8,
    /// Whether the value is read at word + `offset` (kernel memory).
    mem: bool,
    /// Offset added to the base address.
    offset: i32,
}

/// The `unsigned long` words of a `pt_regs`.
const REGS: usize = core::mem::size_of::<pt_regs>() / 8;

/// The arguments of one probe.
pub(crate) struct Args {
    /// In order.
    pub(crate) args: KVec<Arg>,
    /// Size of the fixed part.
    pub(crate) fixed: usize,
    /// What a return probe saves at entry for its `$argN`.
    pub(crate) entry: EntrySave,
    /// String values (array elements count one each): each takes at
    /// least its NUL in the dynamic area.
    strings: usize,
    /// When every argument has a fast form ([`Fast::of`]): all of them, in
    /// order; else empty.
    fast: KVec<FastOp>,
}

impl Args {
    /// The arguments `args` of a probe, laid out in a fixed part of `fixed`
    /// bytes with `strings` string values.
    pub(crate) fn new(
        args: KVec<Arg>,
        fixed: usize,
        entry: EntrySave,
        strings: usize,
    ) -> Result<Self> {
        let mut fast = KVec::new();
        for a in args.iter() {
            let (reg, offset, size, mem) = match a.fast {
                Fast::Reg { reg, size } => (reg, 0, size, false),
                Fast::Mem { reg, offset, size } => (reg, offset, size, true),
                Fast::Generic => {
                    fast.clear();
                    break;
                }
            };
            let word = usize::from(reg) / 8;
            let slot = usize::from(a.arg.offset);
            if reg % 8 != 0
                || word >= REGS
                || !matches!(size, 1 | 2 | 4 | 8)
                || slot + usize::from(size) > fixed
            {
                fast.clear();
                break;
            }
            fast.push(
                FastOp {
                    slot: a.arg.offset,
                    word: word as u8,
                    size,
                    mem,
                    offset,
                },
                GFP_KERNEL,
            )?;
        }
        Ok(Self {
            args,
            fixed,
            entry,
            strings,
            fast,
        })
    }

    /// Writes the arguments as a probe line has them (` NAME=BODY` each),
    /// for `probes`.
    pub(crate) fn write_line(&self, w: &mut impl core::fmt::Write) -> core::fmt::Result {
        for a in self.args.iter() {
            w.write_char(' ')?;
            a.arg.write_name(w, a.word())?;
            w.write_char('=')?;
            a.arg.write_body(w, a.word())?;
        }
        Ok(())
    }

    /// The argument data of a record without strings (the fixed part).
    #[inline]
    pub(crate) fn fixed_size(&self) -> usize {
        self.fixed
    }

    /// Whether the records have strings (sized at each hit, [`data_size`]).
    #[inline]
    pub(crate) fn has_strings(&self) -> bool {
        self.strings != 0
    }

    /// The least argument data of a record: the fixed part and an empty
    /// string per string value.
    #[inline]
    pub(crate) fn min_size(&self) -> usize {
        self.fixed + self.strings
    }

    /// For a user probe: the fast forms read kernel memory, so every
    /// argument goes through the interpreter (with [`Ctx::user`]).
    pub(crate) fn for_user(mut self) -> Self {
        self.fast.clear();
        for a in self.args.iter_mut() {
            if let Fast::Mem { .. } = a.fast {
                a.fast = Fast::Generic;
            }
        }
        self
    }

    /// Whether [`build_fast`] can build the arguments' data.
    #[inline]
    pub(crate) fn is_fast(&self) -> bool {
        !self.fast.is_empty()
    }

    /// Bytes of memory held.
    pub(crate) fn footprint(&self) -> usize {
        self.args
            .iter()
            .map(|a| core::mem::size_of::<Arg>() + a.word.len())
            .sum::<usize>()
            + self.fast.len() * core::mem::size_of::<FastOp>()
    }
}

fn reg(regs: &pt_regs, offset: u16) -> u64 {
    let words = core::mem::size_of::<pt_regs>() / 8;
    let i = usize::from(offset) / 8;
    if i >= words {
        return 0;
    }
    // SAFETY: `pt_regs` is 21 `unsigned long`s (checked at compile time in
    // `trampoline.rs`); `i` is in range.
    unsafe { core::ptr::from_ref(regs).cast::<u64>().add(i).read() }
}

const _: () = assert!(off::SIZE == core::mem::size_of::<pt_regs>());

/// Reads `buf.len()` bytes at `addr` without faulting; false on a fault.
#[inline]
fn read_mem(addr: u64, buf: &mut [u8], user: bool) -> bool {
    user::read_nofault(addr, buf, user)
}

fn read_u64(addr: u64, user: bool) -> Option<u64> {
    let mut b = [0u8; 8];
    read_mem(addr, &mut b, user).then(|| u64::from_ne_bytes(b))
}

/// Copies the NUL-terminated string at `addr` into `out` (at most
/// `out.len() - 1` bytes plus a NUL); its length with the NUL, or None on a
/// fault. Reads in chunks that never cross a page.
fn read_string(addr: u64, out: &mut [u8], user: bool) -> Option<usize> {
    let cap = out.len().checked_sub(1)?;
    let mut n = 0;
    while n < cap {
        let a = addr.wrapping_add(n as u64);
        let to_page_end = 4096 - (a as usize & 4095);
        let chunk = (cap - n).min(16).min(to_page_end);
        if !read_mem(a, &mut out[n..n + chunk], user) {
            return if n == 0 { None } else { break_at(out, n) };
        }
        if let Some(z) = out[n..n + chunk].iter().position(|&c| c == 0) {
            return Some(n + z + 1);
        }
        n += chunk;
    }
    break_at(out, n)
}

/// The length with its NUL (at most `cap`) of the NUL-terminated string at
/// `addr`, read without faulting as [`read_string`] would copy it; None
/// if its first byte faults. tracefs' `fetch_store_strlen()` (kernel
/// memory) and `strnlen_user_nofault()` (user), in page-bounded chunks.
fn string_len(addr: u64, cap: usize, user: bool) -> Option<usize> {
    let cap = cap.checked_sub(1)?;
    let mut chunk_buf = [0u8; 16];
    let mut n = 0;
    while n < cap {
        let a = addr.wrapping_add(n as u64);
        let to_page_end = 4096 - (a as usize & 4095);
        let chunk = (cap - n).min(16).min(to_page_end);
        if !read_mem(a, &mut chunk_buf[..chunk], user) {
            return if n == 0 { None } else { Some(n + 1) };
        }
        if let Some(z) = chunk_buf[..chunk].iter().position(|&c| c == 0) {
            return Some(n + z + 1);
        }
        n += chunk;
    }
    Some(n + 1)
}

fn break_at(out: &mut [u8], n: usize) -> Option<usize> {
    *out.get_mut(n)? = 0;
    Some(n + 1)
}

/// Writes the `%pS` text of `addr` into `out` (NUL-terminated); its length
/// with the NUL.
fn symbol_string(addr: u64, out: &mut [u8]) -> usize {
    let mut t = FixedBuf::<{ ksym::KSYM_LEN }>::new();
    let _ = ksym::write_sym(&mut t, addr as usize);
    let s = t.as_str().as_bytes();
    let n = s.len().min(out.len().saturating_sub(1));
    out[..n].copy_from_slice(&s[..n]);
    break_at(out, n).unwrap_or(0)
}

/// The words a return probe saves at entry when some of its `$argN` are
/// on the stack ([`EntrySave::Slots`]): each argument as `$argN` reads it
/// at the entry (a stack word by a nofault read, of user memory if `user`;
/// 0 if it faults).
pub(crate) fn entry_words(save: &EntrySave, regs: &pt_regs, user: bool) -> [u64; MAX_ENTRY_ARGS] {
    let mut w = [0u64; MAX_ENTRY_ARGS];
    if let EntrySave::Slots { len, args } = save {
        let sp = reg(regs, off::SP);
        for (d, &n) in w
            .iter_mut()
            .zip(&args[..usize::from(*len).min(MAX_ENTRY_ARGS)])
        {
            *d = match kernel_argument(u32::from(n)) {
                ArgLocation::Reg(o) => reg(regs, o),
                ArgLocation::Stack(k) => {
                    read_u64(sp.wrapping_add(u64::from(k) * 8), user).unwrap_or(0)
                }
            };
        }
    }
    w
}

/// The length with its NUL of the `%pS` text of `addr`, as
/// [`symbol_string`] stores it given room.
fn symbol_len(addr: u64) -> usize {
    let mut t = FixedBuf::<{ ksym::KSYM_LEN }>::new();
    let _ = ksym::write_sym(&mut t, addr as usize);
    (t.as_str().len() + 1).min(MAX_STRING)
}

/// Builds the argument data of one hit into `rec` (at least
/// [`Args::fixed_size`] bytes) when every argument has a fast form
/// ([`Args::is_fast`]): each is a register or one load, and stores its
/// whole slot (0 for a fault), so nothing needs clearing.
#[inline(always)]
pub(crate) fn build_fast(args: &Args, ctx: &Ctx<'_>, rec: &mut [u8]) {
    // SAFETY: `pt_regs` is `REGS` 8-byte aligned `unsigned long`s (its size
    // and layout are checked at compile time in `trampoline.rs`), so it can
    // be read as that many words for as long as `ctx.regs` lives.
    let words = unsafe { &*core::ptr::from_ref(ctx.regs).cast::<[u64; REGS]>() };
    for op in args.fast.iter() {
        let mut v = words.get(usize::from(op.word)).copied().unwrap_or(0);
        if op.mem {
            v = read_kernel(v.wrapping_add(i64::from(op.offset) as u64), op.size).unwrap_or(0);
        }
        put(rec, usize::from(op.slot), op.size, v);
    }
}

/// The argument data one hit needs (tracefs' `__get_data_size()` plus the
/// fixed part): the fixed part and each string's length with its NUL (at
/// least 1, the NUL of an empty or faulting one: what [`build`] keeps room
/// for), at most [`MAX_STRING`] each.
pub(crate) fn data_size(args: &Args, ctx: &Ctx<'_>) -> usize {
    let mut out = Out {
        rec: &mut [],
        dyn_end: 0,
        left: 0,
        measure: true,
    };
    for a in args.args.iter().filter(|a| a.arg.ty.is_string()) {
        run(&a.arg, a.word(), ctx, &mut out);
    }
    args.fixed + out.dyn_end
}

/// Where [`run`] stores: the record being built, or (`measure`) nothing,
/// adding up the strings' lengths in `dyn_end` instead.
struct Out<'r> {
    rec: &'r mut [u8],
    /// End of the dynamic area so far (measuring: the strings' total).
    dyn_end: usize,
    /// String values not stored yet (each keeps a byte for its NUL).
    left: usize,
    measure: bool,
}

/// Builds the argument data of one hit into `rec` (at least
/// [`Args::min_size`] bytes, best [`data_size`]); returns its length.
/// Strings take what is left of `rec`, keeping a byte for each later one.
pub(crate) fn build(args: &Args, ctx: &Ctx<'_>, rec: &mut [u8]) -> usize {
    if args.is_fast() {
        build_fast(args, ctx, rec);
        return args.fixed;
    }
    let fixed = args.fixed.min(rec.len());
    rec[..fixed].fill(0);
    let mut out = Out {
        rec,
        dyn_end: fixed,
        left: args.strings,
        measure: false,
    };
    for a in args.args.iter() {
        let slot = usize::from(a.arg.offset);
        match a.fast {
            Fast::Reg { reg: r, size } => put(out.rec, slot, size, reg(ctx.regs, r)),
            Fast::Mem {
                reg: r,
                offset,
                size,
            } => {
                let addr = reg(ctx.regs, r).wrapping_add(i64::from(offset) as u64);
                put(out.rec, slot, size, read_kernel(addr, size).unwrap_or(0));
            }
            Fast::Generic => run(&a.arg, a.word(), ctx, &mut out),
        }
    }
    out.dyn_end
}

/// Reads a `size`-byte (1, 2, 4 or 8) little-endian number of kernel
/// memory without faulting.
#[inline(always)]
fn read_kernel(addr: u64, size: u8) -> Option<u64> {
    user::read_kernel_number(addr, size)
}

/// Where a string value comes from.
enum Str<'a> {
    /// An immediate string.
    Bytes(&'a [u8]),
    /// The `%pS` text of an address (`symstr`).
    Symbol(u64),
    /// NUL-terminated memory (user memory if `user`).
    Mem { addr: u64, user: bool },
}

/// Stores one string (`None`: a fault) for the `__data_loc` slot at
/// `slot`, or measures it.
fn store_string(out: &mut Out<'_>, slot: usize, s: Option<Str<'_>>) {
    if out.measure {
        let len = match s {
            Some(Str::Bytes(b)) => b.len().min(MAX_STRING - 1) + 1,
            Some(Str::Symbol(a)) => symbol_len(a),
            Some(Str::Mem { addr, user }) => string_len(addr, MAX_STRING, user).unwrap_or(0),
            None => 0,
        };
        out.dyn_end += len.max(1);
        return;
    }
    out.left = out.left.saturating_sub(1);
    let start = out.dyn_end;
    let room = out
        .rec
        .len()
        .saturating_sub(start)
        .saturating_sub(out.left)
        .min(MAX_STRING);
    let dst = out.rec.get_mut(start..start + room).unwrap_or(&mut []);
    let len = match s {
        _ if dst.is_empty() => 0,
        Some(Str::Bytes(b)) => {
            let n = b.len().min(dst.len() - 1);
            dst[..n].copy_from_slice(&b[..n]);
            break_at(dst, n).unwrap_or(0)
        }
        Some(Str::Symbol(a)) => symbol_string(a, dst),
        Some(Str::Mem { addr, user }) => read_string(addr, dst, user).unwrap_or(0),
        None => 0,
    };
    let loc = make_data_loc(len as u16, if len == 0 { 0 } else { start as u16 });
    if let Some(d) = out.rec.get_mut(slot..slot + 4) {
        d.copy_from_slice(&loc.to_le_bytes());
    }
    out.dyn_end = start + len;
}

/// Runs one fetch program (tracefs' `process_fetch_insn()`).
fn run(arg: &FetchArg, word: &str, ctx: &Ctx<'_>, out: &mut Out<'_>) {
    let code = arg.insns();
    let mut slot = usize::from(arg.offset);
    let regs = ctx.regs;
    let sp = reg(regs, off::SP);
    // In a user probe every address is a user one, but `$comm`'s.
    let in_user = ctx.user && !matches!(code.first(), Some(Insn::Comm | Insn::ImmStr(_)));
    let mut i = 0;
    // Stage 1: the load.
    let mut val: Option<u64> = match code.first() {
        Some(Insn::Reg(o)) => Some(reg(regs, *o)),
        Some(Insn::Stack(n)) => read_u64(sp.wrapping_add(u64::from(*n) * 8), ctx.user),
        Some(Insn::StackP) => Some(sp),
        Some(Insn::Retval) => ctx.retval,
        Some(Insn::Imm(v)) => Some(*v),
        Some(Insn::Comm) => Some(task::current() as u64 + task::COMM_OFFSET as u64),
        Some(Insn::Current) => Some(task::current() as u64),
        Some(Insn::Arg(n)) => match kernel_argument(u32::from(*n)) {
            ArgLocation::Reg(o) => Some(reg(regs, o)),
            ArgLocation::Stack(k) => read_u64(sp.wrapping_add(u64::from(k) * 8), ctx.user),
        },
        Some(Insn::EntryArg(n)) => ctx
            .entry_args
            .and_then(|(w, save)| save.word(*n).and_then(|i| w.get(i)).copied()),
        Some(Insn::ImmStr(span)) => {
            let bytes = span.get(word).as_bytes();
            if let Some(Insn::StString { .. }) = code.get(1) {
                store_string(out, slot, Some(Str::Bytes(bytes)));
            }
            return;
        }
        Some(Insn::FileOffset(off)) => ctx.file_base.map(|b| b.wrapping_add(*off)),
        Some(Insn::Symbol(_)) => {
            i += 1;
            match code.get(1) {
                Some(Insn::Imm(v)) => Some(*v),
                _ => None,
            }
        }
        _ => None,
    };
    i += 1;
    // Stage 2: dereferences (the address of the last one is kept for
    // string arrays, which step through an array of pointers).
    let mut lval = val.unwrap_or(0);
    while let Some(op) = code.get(i) {
        match *op {
            Insn::Deref { offset, user } => {
                lval = val.unwrap_or(0).wrapping_add(i64::from(offset) as u64);
                val = val.and_then(|_| read_u64(lval, user || in_user));
            }
            Insn::CpuPtr => {
                // SAFETY: The value is a per-CPU pointer (the argument says
                // so); this only computes this CPU's address of it.
                val = val.map(|v| unsafe {
                    kbind::rprobes_this_cpu_ptr(v as usize as *mut kernel::ffi::c_void)
                } as u64);
            }
            _ => break,
        }
        i += 1;
    }
    // Stage 3: the store, then an optional bitfield or array loop.
    let store = code.get(i).copied();
    let mut modbf = None;
    let mut count = 1usize;
    for op in code.iter().skip(i + 1) {
        match *op {
            Insn::ModBf {
                basesize,
                lshift,
                rshift,
            } => modbf = Some((basesize, lshift, rshift)),
            Insn::LpArray(n) => count = usize::from(n).max(1),
            _ => {}
        }
    }
    for k in 0..count {
        match store {
            Some(Insn::StRaw { size }) => {
                let v = val.unwrap_or(0);
                put(out.rec, slot, size, apply_bf(v, modbf));
                slot += usize::from(size);
            }
            Some(Insn::StMem { offset, size, user }) => {
                let mut b = [0u8; 8];
                let n = usize::from(size).min(8);
                let addr = val.map(|v| {
                    v.wrapping_add(i64::from(offset) as u64)
                        .wrapping_add((k * n) as u64)
                });
                let ok = addr.is_some_and(|a| read_mem(a, &mut b[..n], user || in_user));
                let v = if ok { u64::from_le_bytes(b) } else { 0 };
                put(out.rec, slot, size, apply_bf(v, modbf));
                slot += n;
            }
            Some(Insn::StString { offset, kind }) => {
                if k > 0 {
                    // The next pointer of the array.
                    lval = lval.wrapping_add(8);
                    val = read_u64(lval, kind == StrKind::User || in_user);
                }
                let addr = val.map(|v| v.wrapping_add(i64::from(offset) as u64));
                let src = match (addr, kind) {
                    (None, _) => None,
                    (Some(a), StrKind::Symbol) => Some(Str::Symbol(a)),
                    (Some(a), kind) => Some(Str::Mem {
                        addr: a,
                        user: kind == StrKind::User || in_user,
                    }),
                };
                store_string(out, slot, src);
                slot += 4;
            }
            _ => return,
        }
    }
}

fn apply_bf(v: u64, bf: Option<(u8, u8, u8)>) -> u64 {
    match bf {
        Some((basesize, l, r)) => {
            let bits = u32::from(basesize) * 8;
            let v = if bits >= 64 {
                v
            } else {
                v & ((1u64 << bits) - 1)
            };
            let shifted = v.checked_shl(u32::from(l) + (64 - bits)).unwrap_or(0);
            shifted.checked_shr(u32::from(r) + (64 - bits)).unwrap_or(0)
        }
        None => v,
    }
}

/// Stores the low `size` bytes of `v` at `slot`: a 64-bit value (the
/// default type) with one store and no jump table, the others out of line.
#[inline(always)]
fn put(rec: &mut [u8], slot: usize, size: u8, v: u64) {
    if size == 8 {
        if let Some(d) = rec.get_mut(slot..slot + 8) {
            d.copy_from_slice(&v.to_le_bytes());
        }
    } else {
        put_small(rec, slot, size, v);
    }
}

#[inline(never)]
fn put_small(rec: &mut [u8], slot: usize, size: u8, v: u64) {
    match size {
        4 => put_n::<4>(rec, slot, v),
        2 => put_n::<2>(rec, slot, v),
        1 => put_n::<1>(rec, slot, v),
        _ => {
            let n = usize::from(size).min(8);
            if let Some(d) = rec.get_mut(slot..slot + n) {
                d.copy_from_slice(&v.to_le_bytes()[..n]);
            }
        }
    }
}

#[inline(always)]
fn put_n<const N: usize>(rec: &mut [u8], slot: usize, v: u64) {
    if let Some(d) = rec.get_mut(slot..slot + N) {
        d.copy_from_slice(&v.to_le_bytes()[..N]);
    }
}

/// Records one hit with its fetched arguments (probe handler context),
/// evaluated straight into the ring buffer's reservation.
#[inline(always)]
pub(crate) fn record_args(head: Head, args: &Args, ctx: &Ctx<'_>) {
    if args.is_fast() {
        ring::record(head, args.fixed_size(), FastFill { args, ctx });
    } else {
        record_generic(head, args, ctx);
    }
}

/// The data of a record whose arguments all have a fast form.
struct FastFill<'a> {
    args: &'a Args,
    ctx: &'a Ctx<'a>,
}

impl Fill for FastFill<'_> {
    #[inline(always)]
    fn fill(self, data: &mut [u8]) {
        build_fast(self.args, self.ctx, data);
    }
}

/// [`record_args`] for arguments that need the interpreter.
#[inline(never)]
fn record_generic(head: Head, args: &Args, ctx: &Ctx<'_>) {
    if !ring::tracing_on() {
        return;
    }
    let size = if args.has_strings() {
        // Strings are measured first (tracefs' `__get_data_size()`) and the
        // event sized to them, within the largest event: what does not fit
        // is cut by `build`, not dropped.
        data_size(args, ctx)
            .min(ring::max_data(head.kind))
            .max(args.min_size())
    } else {
        args.fixed_size()
    };
    ring::record(head, size, |data: &mut [u8]| {
        let n = build(args, ctx, data);
        // A string shorter than measured (changed in between, or faulted)
        // leaves bytes of an older event: clear them.
        if let Some(rest) = data.get_mut(n..) {
            rest.fill(0);
        }
    });
}

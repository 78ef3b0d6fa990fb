// SPDX-License-Identifier: GPL-2.0

//! Emulation of the common integer instructions: what the kernel's
//! uprobes single-step (`mov` loads and stores, `sub $imm,%rsp`, `test`,
//! `lea`, `cmp`, `ret`, `jmp *disp(%rip)` ...), done by a pure machine
//! model instead of a trap more.
//!
//! [`plan`] turns a decoded instruction into a [`Plan`] (which operation,
//! its operand size, its operands); [`exec`] runs a plan on a
//! [`Machine`]: registers, flags and memory. The kernel's machine is the
//! trapping task's `pt_regs` and its user memory read and written without
//! faulting; the host tests' is a model checked against the host CPU
//! executing the same bytes.
//!
//! All or nothing: [`exec`] reads every operand, computes every result,
//! then does its one memory write (a store, or a push), then changes the
//! registers. A read or write that fails changes nothing: the caller then
//! steps the instruction, and the program sees the real fault (or none).
//!
//! Flags: CF, PF, AF, ZF, SF and OF as the SDM defines them for each
//! instruction; where the SDM leaves a flag undefined (AF of the logic
//! operations and shifts, OF of a shift or rotate by more than one, SF,
//! ZF, AF and PF of `imul`) the model writes a fixed value, and
//! [`undefined_flags`] names them for the comparisons.

use super::{Insn, OpcodeMap, Prefixes};

/// The status flags in `%rflags`.
pub const CF: u64 = 1 << 0;
/// Parity flag.
pub const PF: u64 = 1 << 2;
/// Auxiliary carry flag.
pub const AF: u64 = 1 << 4;
/// Zero flag.
pub const ZF: u64 = 1 << 6;
/// Sign flag.
pub const SF: u64 = 1 << 7;
/// Overflow flag.
pub const OF: u64 = 1 << 11;
/// Every status flag.
pub const STATUS: u64 = CF | PF | AF | ZF | SF | OF;

/// The stack pointer's register number.
const RSP: u8 = 4;
/// The frame pointer's.
const RBP: u8 = 5;

/// What an emulated instruction does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `mov` (registers, memory, immediates).
    Mov,
    /// `movzx` (`src_size` bytes zero-extended).
    Movzx,
    /// `movsx`, `movsxd` (`src_size` bytes sign-extended).
    Movsx,
    /// `lea`: the address, no memory access.
    Lea,
    /// The two-operand arithmetic and logic operations.
    Alu(Alu),
    /// `inc`, `dec`, `neg`, `not`.
    Unary(Unary),
    /// Shifts and rotates by an immediate, 1 or `%cl`.
    Shift(Shift, Count),
    /// `imul` with two operands (`dst *= src`, the result truncated).
    Imul,
    /// `imul` with three (`dst = src * imm`).
    Imul3,
    /// `mul`, one operand: `%rdx:%rax = %rax * src` (`%ax = %al * src`
    /// for a byte).
    Mul,
    /// `imul`, one operand: the same, signed.
    Imul1,
    /// `cmovcc` (condition in [`Plan::cond`]).
    Cmov,
    /// `setcc`.
    Setcc,
    /// `xchg` between registers.
    Xchg,
    /// `cbw`/`cwde`/`cdqe`.
    SignExtendAx,
    /// `cwd`/`cdq`/`cqo`.
    SignExtendDx,
    /// `push` of a register, an immediate or memory.
    Push,
    /// `pop` into a register.
    Pop,
    /// `leave`.
    Leave,
    /// `ret`, `ret $imm16` (`imm`).
    Ret,
    /// `call` through a register or memory.
    CallIndirect,
    /// `jmp` through a register or memory.
    JmpIndirect,
}

impl Op {
    /// The emulation class (`explain`, `rprobes-insn`, coverage).
    pub const fn class(&self) -> &'static str {
        match self {
            Op::Mov | Op::Movzx | Op::Movsx => "mov",
            Op::Lea => "lea",
            Op::Alu(_) | Op::Unary(_) => "alu",
            Op::Shift(..) => "shift",
            Op::Imul | Op::Imul3 | Op::Mul | Op::Imul1 => "imul",
            Op::Cmov => "cmov",
            Op::Setcc => "setcc",
            Op::Xchg => "xchg",
            Op::SignExtendAx | Op::SignExtendDx => "cext",
            Op::Push => "push",
            Op::Pop => "pop",
            Op::Leave => "leave",
            Op::Ret => "ret",
            Op::CallIndirect => "icall",
            Op::JmpIndirect => "ijmp",
        }
    }

    /// `emulate-` and [`Op::class`].
    pub const fn verdict_name(&self) -> &'static str {
        match self {
            Op::Mov | Op::Movzx | Op::Movsx => "emulate-mov",
            Op::Lea => "emulate-lea",
            Op::Alu(_) | Op::Unary(_) => "emulate-alu",
            Op::Shift(..) => "emulate-shift",
            Op::Imul | Op::Imul3 | Op::Mul | Op::Imul1 => "emulate-imul",
            Op::Cmov => "emulate-cmov",
            Op::Setcc => "emulate-setcc",
            Op::Xchg => "emulate-xchg",
            Op::SignExtendAx | Op::SignExtendDx => "emulate-cext",
            Op::Push => "emulate-push",
            Op::Pop => "emulate-pop",
            Op::Leave => "emulate-leave",
            Op::Ret => "emulate-ret",
            Op::CallIndirect => "emulate-icall",
            Op::JmpIndirect => "emulate-ijmp",
        }
    }
}

/// Two-operand operations (ModRM.reg order of the `80` group).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alu {
    /// `add`.
    Add,
    /// `or`.
    Or,
    /// `adc`.
    Adc,
    /// `sbb`.
    Sbb,
    /// `and`.
    And,
    /// `sub`.
    Sub,
    /// `xor`.
    Xor,
    /// `cmp` (a `sub` that writes only the flags).
    Cmp,
    /// `test` (an `and` that writes only the flags).
    Test,
}

/// One-operand operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unary {
    /// `inc` (CF unchanged).
    Inc,
    /// `dec` (CF unchanged).
    Dec,
    /// `neg`.
    Neg,
    /// `not` (no flag).
    Not,
}

/// Shifts and rotates (ModRM.reg order of the `C0` group).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shift {
    /// `rol`.
    Rol,
    /// `ror`.
    Ror,
    /// `rcl` (through CF).
    Rcl,
    /// `rcr` (through CF).
    Rcr,
    /// `shl`/`sal`.
    Shl,
    /// `shr`.
    Shr,
    /// `sar`.
    Sar,
}

/// A shift's count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Count {
    /// `D0`/`D1`: by one.
    One,
    /// `C0`/`C1`: by an immediate byte ([`Plan::imm`]).
    Imm,
    /// `D2`/`D3`: by `%cl`.
    Cl,
}

/// Where an operand is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loc {
    /// None.
    None,
    /// A register (0..=15; with `high8`, `%ah`..`%bh` for 4..=7).
    Reg {
        /// Register number.
        n: u8,
        /// `%ah`, `%ch`, `%dh`, `%bh`.
        high8: bool,
    },
    /// The memory operand ([`Plan::mem`]).
    Mem,
    /// The immediate ([`Plan::imm`]).
    Imm,
}

/// A memory operand's address: `base + (index << scale) + disp`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mem {
    /// Base register, [`Mem::NONE`] or [`Mem::RIP`].
    pub base: u8,
    /// Index register or [`Mem::NONE`].
    pub index: u8,
    /// log2 of the scale.
    pub scale: u8,
    /// Displacement.
    pub disp: i32,
    /// `67`: the address wraps at 4 GiB.
    pub addr32: bool,
}

impl Mem {
    /// No register.
    pub const NONE: u8 = 0xff;
    /// `%rip`-relative (the address of the next instruction).
    pub const RIP: u8 = 0x10;
}

/// An emulated instruction: see [`plan`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The operation.
    pub op: Op,
    /// Operand size in bytes (1, 2, 4, 8).
    pub size: u8,
    /// The source's size for `movzx`/`movsx`.
    pub src_size: u8,
    /// Condition code of `cmovcc`/`setcc` (as `jcc`'s).
    pub cond: u8,
    /// Destination (read too by the read-modify-write operations).
    pub dst: Loc,
    /// Source.
    pub src: Loc,
    /// The immediate (sign-extended), or `imul`'s third operand.
    pub imm: i64,
    /// The memory operand, if `dst` or `src` is [`Loc::Mem`].
    pub mem: Mem,
}

/// Registers, flags and memory an emulated instruction runs on.
pub trait Machine {
    /// General-purpose register `n` (0..=15, `%rax`..`%r15`).
    fn gpr(&self, n: u8) -> u64;
    /// Sets register `n`.
    fn set_gpr(&mut self, n: u8, v: u64);
    /// `%rflags`.
    fn flags(&self) -> u64;
    /// Sets `%rflags`.
    fn set_flags(&mut self, f: u64);
    /// Reads `size` bytes (1, 2, 4, 8) at `addr`, little-endian; `None`
    /// if that would fault.
    fn read(&mut self, addr: u64, size: u8) -> Option<u64>;
    /// Writes the low `size` bytes of `v` at `addr`; false (nothing
    /// written) if that would fault.
    fn write(&mut self, addr: u64, size: u8, v: u64) -> bool;
}

/// Why [`exec`] did nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault;

#[inline(always)]
fn mask(size: u8) -> u64 {
    match size {
        8 => u64::MAX,
        s => (1u64 << (u32::from(s) * 8)) - 1,
    }
}

#[inline(always)]
fn sign_bit(size: u8) -> u64 {
    1u64 << (u32::from(size) * 8 - 1)
}

/// `v`'s low `size` bytes sign-extended to 64 bits.
pub fn sext(v: u64, size: u8) -> u64 {
    let sh = 64 - u32::from(size) * 8;
    (((v << sh) as i64) >> sh) as u64
}

/// Bit `b` set when byte `b` has an even number of ones (PF).
const PARITY: [u64; 4] = {
    let mut t = [0u64; 4];
    let mut b = 0;
    while b < 256 {
        if (b as u8).count_ones() % 2 == 0 {
            t[b / 64] |= 1 << (b % 64);
        }
        b += 1;
    }
    t
};

#[inline(always)]
fn parity(v: u64) -> bool {
    let b = (v & 0xff) as usize;
    PARITY[b >> 6] >> (b & 63) & 1 != 0
}

/// SF, ZF and PF of a result.
#[inline(always)]
fn szp(r: u64, size: u8) -> u64 {
    let sf = (r >> (u32::from(size) * 8 - 1) & 1) << 7;
    let zf = u64::from(r & mask(size) == 0) << 6;
    let pf = u64::from(parity(r)) << 2;
    sf | zf | pf
}

/// Whether condition `cond` (`jcc`'s encoding) holds for `flags` (also
/// the emulated `jcc`'s).
#[inline]
pub fn condition(cond: u8, flags: u64) -> bool {
    let (cf, pf, zf) = (flags & CF != 0, flags & PF != 0, flags & ZF != 0);
    let (sf, of) = (flags & SF != 0, flags & OF != 0);
    let base = match (cond >> 1) & 7 {
        0 => of,
        1 => cf,
        2 => zf,
        3 => cf || zf,
        4 => sf,
        5 => pf,
        6 => sf != of,
        _ => zf || sf != of,
    };
    base != (cond & 1 != 0)
}

/// A two-operand operation on `size`-byte `a` and `b` with the flags
/// `flags`: the result (masked) and the new flags (only the status flags
/// change).
#[inline]
pub fn alu(op: Alu, size: u8, a: u64, b: u64, flags: u64) -> (u64, u64) {
    let m = mask(size);
    let (a, b) = (a & m, b & m);
    let top = u32::from(size) * 8 - 1;
    let cin = flags & CF;
    // Branch-free on the hit path: the carry out of the operand size, OF
    // from the sign bits, AF from bit 4.
    let (r, st) = match op {
        Alu::Add | Alu::Adc => {
            let c = if op == Alu::Adc { cin } else { 0 };
            let (s1, o1) = a.overflowing_add(b);
            let (s2, o2) = s1.overflowing_add(c);
            let r = s2 & m;
            let carry = if size == 8 { o1 | o2 } else { s2 > m };
            let of = ((a ^ r) & (b ^ r)) >> top & 1;
            (r, u64::from(carry) | of << 11 | (a ^ b ^ r) & AF)
        }
        Alu::Sub | Alu::Sbb | Alu::Cmp => {
            let c = if op == Alu::Sbb { cin } else { 0 };
            // a, b < 2^bits: the 64-bit borrow is the operand size's.
            let (d1, b1) = a.overflowing_sub(b);
            let (d2, b2) = d1.overflowing_sub(c);
            let r = d2 & m;
            let of = ((a ^ b) & (a ^ r)) >> top & 1;
            (r, u64::from(b1 | b2) | of << 11 | (a ^ b ^ r) & AF)
        }
        Alu::And | Alu::Test => (a & b, 0),
        Alu::Or => (a | b, 0),
        Alu::Xor => (a ^ b, 0),
    };
    (r, (flags & !STATUS) | st | szp(r, size))
}

/// A one-operand operation.
pub fn unary(op: Unary, size: u8, a: u64, flags: u64) -> (u64, u64) {
    match op {
        Unary::Inc => {
            let (r, f) = alu(Alu::Add, size, a, 1, flags & !CF);
            (r, (f & !CF) | (flags & CF))
        }
        Unary::Dec => {
            let (r, f) = alu(Alu::Sub, size, a, 1, flags & !CF);
            (r, (f & !CF) | (flags & CF))
        }
        Unary::Neg => alu(Alu::Sub, size, 0, a, flags & !CF),
        Unary::Not => (!a & mask(size), flags),
    }
}

/// The count of a shift as the CPU masks it (5 bits, 6 for 64-bit).
pub fn masked_count(size: u8, count: u64) -> u32 {
    (count & if size == 8 { 0x3f } else { 0x1f }) as u32
}

/// A shift or rotate of `size`-byte `a` by `count` (unmasked).
pub fn shift(op: Shift, size: u8, a: u64, count: u64, flags: u64) -> (u64, u64) {
    let m = mask(size);
    let a = a & m;
    let bits = u32::from(size) * 8;
    let n = masked_count(size, count);
    if n == 0 {
        return (a, flags);
    }
    let msb = |v: u64| v & sign_bit(size) != 0;
    match op {
        Shift::Rcl | Shift::Rcr => {
            // Through CF: a rotate of `bits + 1` bits, CF the top one.
            let k = match size {
                1 => n % 9,
                2 => n % 17,
                _ => n,
            };
            let cf = u128::from(flags & CF != 0);
            let w = bits + 1;
            let v = (cf << bits) | u128::from(a);
            let full = (1u128 << w) - 1;
            let rot = if k == 0 {
                v
            } else if op == Shift::Rcl {
                ((v << k) | (v >> (w - k))) & full
            } else {
                ((v >> k) | (v << (w - k))) & full
            };
            let r = (rot as u64) & m;
            let new_cf = (rot >> bits) & 1 != 0;
            let of = if op == Shift::Rcl {
                msb(r) != new_cf
            } else {
                // Before the rotation: the operand's top bit and CF.
                msb(a) != (cf != 0)
            };
            let mut f = flags & !(CF | OF);
            if new_cf {
                f |= CF;
            }
            if of {
                f |= OF;
            }
            (r, f)
        }
        Shift::Rol | Shift::Ror => {
            let k = n % bits;
            let r = if k == 0 {
                a
            } else if op == Shift::Rol {
                ((a << k) | (a >> (bits - k))) & m
            } else {
                ((a >> k) | (a << (bits - k))) & m
            };
            let cf = if op == Shift::Rol { r & 1 != 0 } else { msb(r) };
            let of = if op == Shift::Rol {
                msb(r) != cf
            } else {
                msb(r) != (r & (sign_bit(size) >> 1) != 0)
            };
            let mut f = flags & !(CF | OF);
            if cf {
                f |= CF;
            }
            if of {
                f |= OF;
            }
            (r, f)
        }
        Shift::Shl | Shift::Shr | Shift::Sar => {
            let wide = u128::from(a);
            let (r, cf, of) = match op {
                Shift::Shl => {
                    let r = ((wide << n) as u64) & m;
                    let cf = n <= bits && (wide >> (bits - n)) & 1 != 0;
                    (r, cf, msb(r) != cf)
                }
                Shift::Shr => {
                    let r = (wide >> n) as u64 & m;
                    (r, (wide >> (n - 1)) & 1 != 0, msb(a))
                }
                _ => {
                    let s = sext(a, size) as i64;
                    let r = (s >> n.min(63)) as u64 & m;
                    (r, (s >> (n - 1).min(63)) & 1 != 0, false)
                }
            };
            let mut f = (flags & !STATUS) | szp(r, size);
            if cf {
                f |= CF;
            }
            if of {
                f |= OF;
            }
            (r, f)
        }
    }
}

/// `imul` of `size`-byte `a` and `b`, truncated: CF and OF set when the
/// product does not fit.
pub fn imul(size: u8, a: u64, b: u64, flags: u64) -> (u64, u64) {
    let full = i128::from(sext(a, size) as i64) * i128::from(sext(b, size) as i64);
    let r = (full as u64) & mask(size);
    let mut f = (flags & !STATUS) | szp(r, size);
    if i128::from(sext(r, size) as i64) != full {
        f |= CF | OF;
    }
    (r, f)
}

/// The status flags plan `p` leaves undefined (the SDM's), given the
/// value of `%cl`: the comparisons of emulation and execution skip them.
pub fn undefined_flags(p: &Plan, cl: u64) -> u64 {
    match p.op {
        Op::Alu(Alu::And | Alu::Or | Alu::Xor | Alu::Test) => AF,
        Op::Imul | Op::Imul3 | Op::Mul | Op::Imul1 => SF | ZF | AF | PF,
        Op::Shift(s, c) => {
            let count = match c {
                Count::One => 1,
                Count::Imm => p.imm as u64,
                Count::Cl => cl,
            };
            let n = masked_count(p.size, count);
            let bits = u32::from(p.size) * 8;
            let mut u = 0;
            if n == 0 {
                return 0;
            }
            if n != 1 {
                u |= OF;
            }
            if matches!(s, Shift::Shl | Shift::Shr | Shift::Sar) {
                u |= AF;
                if n > bits {
                    u |= CF;
                }
            }
            u
        }
        _ => 0,
    }
}

/// The emulation of `insn`, if it is one of the emulated instructions
/// (no `lock`, no `fs`/`gs` segment).
pub fn plan(insn: &Insn) -> Option<Plan> {
    if insn.vex.is_some()
        || insn
            .prefixes
            .has(Prefixes::LOCK | Prefixes::SEG_FS | Prefixes::SEG_GS)
    {
        return None;
    }
    let rex = insn.rex;
    let (w, r, x, b) = rex.map_or((false, false, false, false), |v| {
        (v.w(), v.r(), v.x(), v.b())
    });
    let o16 = insn.prefixes.has(Prefixes::OPSIZE) && !w;
    let reps = insn.prefixes.has(Prefixes::REP | Prefixes::REPNE);
    let osize = if w {
        8
    } else if o16 {
        2
    } else {
        4
    };
    let modrm = insn.modrm_byte();
    let md = modrm.map_or(0, |m| m >> 6);
    let regf = insn.modrm_reg();
    let reg_n = regf | if r { 8 } else { 0 };
    let rm_n = modrm.map_or(0, |m| m & 7) | if b { 8 } else { 0 };
    // A byte register: without REX, 4..=7 are %ah..%bh.
    let byte_reg = |n: u8| Loc::Reg {
        n: if rex.is_none() && (4..8).contains(&n) {
            n - 4
        } else {
            n
        },
        high8: rex.is_none() && (4..8).contains(&n),
    };
    let reg = |n: u8, size: u8| {
        if size == 1 {
            byte_reg(n)
        } else {
            Loc::Reg { n, high8: false }
        }
    };
    let mem = if modrm.is_some() && md != 3 {
        Some(mem_operand(insn, x, b)?)
    } else {
        None
    };
    let rm = |size: u8| {
        if mem.is_some() {
            Loc::Mem
        } else {
            reg(rm_n, size)
        }
    };
    let imm = insn.imm_value().unwrap_or(0);
    let mut p = Plan {
        op: Op::Mov,
        size: osize,
        src_size: 0,
        cond: 0,
        dst: Loc::None,
        src: Loc::None,
        imm,
        mem: mem.unwrap_or(Mem {
            base: Mem::NONE,
            index: Mem::NONE,
            scale: 0,
            disp: 0,
            addr32: false,
        }),
    };
    let op = insn.opcode;
    // `rep`/`repne` are mandatory prefixes or undefined on most of these;
    // only the branches and `ret` take them (`bnd`, `repz ret`).
    let branch = insn.map == OpcodeMap::Primary
        && (matches!(op, 0xc2 | 0xc3) || (op == 0xff && matches!(regf, 2 | 4)));
    if reps && !branch {
        return None;
    }
    let alu_of = |i: u8| match i & 7 {
        0 => Alu::Add,
        1 => Alu::Or,
        2 => Alu::Adc,
        3 => Alu::Sbb,
        4 => Alu::And,
        5 => Alu::Sub,
        6 => Alu::Xor,
        _ => Alu::Cmp,
    };
    match insn.map {
        OpcodeMap::Primary => match op {
            // ALU r/m, reg / reg, r/m / al|eax, imm.
            0x00..=0x3f if op & 7 < 6 => {
                p.op = Op::Alu(alu_of(op >> 3));
                let size = if op & 1 == 0 && op & 7 < 4 || op & 7 == 4 {
                    1
                } else {
                    osize
                };
                p.size = size;
                match op & 7 {
                    0 | 1 => (p.dst, p.src) = (rm(size), reg(reg_n, size)),
                    2 | 3 => (p.dst, p.src) = (reg(reg_n, size), rm(size)),
                    _ => (p.dst, p.src) = (reg(0, size), Loc::Imm),
                }
            }
            0x63 if w => {
                p.op = Op::Movsx;
                p.src_size = 4;
                (p.dst, p.src) = (reg(reg_n, 8), rm(4));
            }
            0x50..=0x5f if !o16 => {
                let n = (op & 7) | if b { 8 } else { 0 };
                p.size = 8;
                if op < 0x58 {
                    p.op = Op::Push;
                    p.src = reg(n, 8);
                } else {
                    p.op = Op::Pop;
                    p.dst = reg(n, 8);
                }
            }
            0x68 | 0x6a if !o16 => {
                p.op = Op::Push;
                p.size = 8;
                p.src = Loc::Imm;
            }
            0x69 | 0x6b => {
                p.op = Op::Imul3;
                (p.dst, p.src) = (reg(reg_n, osize), rm(osize));
            }
            0x80 | 0x81 | 0x83 => {
                p.op = Op::Alu(alu_of(regf));
                p.size = if op == 0x80 { 1 } else { osize };
                (p.dst, p.src) = (rm(p.size), Loc::Imm);
            }
            0x84 | 0x85 => {
                p.op = Op::Alu(Alu::Test);
                p.size = if op == 0x84 { 1 } else { osize };
                (p.dst, p.src) = (rm(p.size), reg(reg_n, p.size));
            }
            0x86 | 0x87 if mem.is_none() => {
                // With memory it is atomic (an implied `lock`): stepped.
                p.op = Op::Xchg;
                p.size = if op == 0x86 { 1 } else { osize };
                (p.dst, p.src) = (rm(p.size), reg(reg_n, p.size));
            }
            0x88..=0x8b => {
                p.size = if op & 1 == 0 { 1 } else { osize };
                if op & 2 == 0 {
                    (p.dst, p.src) = (rm(p.size), reg(reg_n, p.size));
                } else {
                    (p.dst, p.src) = (reg(reg_n, p.size), rm(p.size));
                }
            }
            0x8d if mem.is_some() => {
                p.op = Op::Lea;
                p.dst = reg(reg_n, osize);
                p.src = Loc::Mem;
            }
            0x8f if regf == 0 && mem.is_none() && !o16 => {
                p.op = Op::Pop;
                p.size = 8;
                p.dst = reg(rm_n, 8);
            }
            0x90..=0x97 if op != 0x90 || b => {
                p.op = Op::Xchg;
                let n = (op & 7) | if b { 8 } else { 0 };
                (p.dst, p.src) = (reg(0, osize), reg(n, osize));
            }
            0x98 => p.op = Op::SignExtendAx,
            0x99 => p.op = Op::SignExtendDx,
            0xa8 | 0xa9 => {
                p.op = Op::Alu(Alu::Test);
                p.size = if op == 0xa8 { 1 } else { osize };
                (p.dst, p.src) = (reg(0, p.size), Loc::Imm);
            }
            0xb0..=0xbf => {
                p.size = if op < 0xb8 { 1 } else { osize };
                let n = (op & 7) | if b { 8 } else { 0 };
                (p.dst, p.src) = (reg(n, p.size), Loc::Imm);
            }
            0xc0 | 0xc1 | 0xd0..=0xd3 => {
                let s = match regf {
                    0 => Shift::Rol,
                    1 => Shift::Ror,
                    2 => Shift::Rcl,
                    3 => Shift::Rcr,
                    4 | 6 => Shift::Shl,
                    5 => Shift::Shr,
                    7 => Shift::Sar,
                    _ => return None,
                };
                let c = match op {
                    0xc0 | 0xc1 => Count::Imm,
                    0xd0 | 0xd1 => Count::One,
                    _ => Count::Cl,
                };
                p.op = Op::Shift(s, c);
                p.size = if op & 1 == 0 { 1 } else { osize };
                p.dst = rm(p.size);
            }
            0xc2 | 0xc3 if !o16 => {
                p.op = Op::Ret;
                p.size = 8;
                p.imm = if op == 0xc2 { imm & 0xffff } else { 0 };
            }
            0xc6 | 0xc7 if regf == 0 => {
                p.size = if op == 0xc6 { 1 } else { osize };
                (p.dst, p.src) = (rm(p.size), Loc::Imm);
            }
            0xc9 if !o16 => {
                p.op = Op::Leave;
                p.size = 8;
            }
            0xf6 | 0xf7 => {
                p.size = if op == 0xf6 { 1 } else { osize };
                p.dst = rm(p.size);
                p.op = match regf {
                    0 | 1 => {
                        p.src = Loc::Imm;
                        Op::Alu(Alu::Test)
                    }
                    2 => Op::Unary(Unary::Not),
                    3 => Op::Unary(Unary::Neg),
                    4 => Op::Mul,
                    5 => Op::Imul1,
                    // div, idiv: #DE on a zero or too large quotient.
                    _ => return None,
                };
            }
            0xfe | 0xff if regf <= 1 => {
                p.size = if op == 0xfe { 1 } else { osize };
                p.dst = rm(p.size);
                p.op = Op::Unary(if regf == 0 { Unary::Inc } else { Unary::Dec });
            }
            0xff if matches!(regf, 2 | 4 | 6) && !o16 => {
                p.size = 8;
                p.src = rm(8);
                p.op = match regf {
                    2 => Op::CallIndirect,
                    4 => Op::JmpIndirect,
                    _ => Op::Push,
                };
            }
            _ => return None,
        },
        OpcodeMap::Map0F => match op {
            0x40..=0x4f => {
                p.op = Op::Cmov;
                p.cond = op & 0xf;
                (p.dst, p.src) = (reg(reg_n, osize), rm(osize));
            }
            0x90..=0x9f => {
                p.op = Op::Setcc;
                p.cond = op & 0xf;
                p.size = 1;
                p.dst = rm(1);
            }
            0xaf => {
                p.op = Op::Imul;
                (p.dst, p.src) = (reg(reg_n, osize), rm(osize));
            }
            0xb6 | 0xb7 | 0xbe | 0xbf => {
                p.op = if op < 0xb8 { Op::Movzx } else { Op::Movsx };
                p.src_size = if op & 1 == 0 { 1 } else { 2 };
                (p.dst, p.src) = (reg(reg_n, osize), rm(p.src_size));
            }
            _ => return None,
        },
        _ => return None,
    }
    Some(p)
}

/// The memory operand of `insn` (ModRM.mod != 3).
fn mem_operand(insn: &Insn, x: bool, b: bool) -> Option<Mem> {
    let m = insn.modrm_byte()?;
    let disp = insn.disp_value().unwrap_or(0) as i32;
    let addr32 = insn.prefixes.has(Prefixes::ADSIZE);
    if insn.rip_relative.is_some() {
        return Some(Mem {
            base: Mem::RIP,
            index: Mem::NONE,
            scale: 0,
            disp,
            addr32,
        });
    }
    let md = m >> 6;
    let (base, index, scale) = if m & 7 == 4 {
        let s = insn.sib_byte()?;
        let idx = ((s >> 3) & 7) | if x { 8 } else { 0 };
        let bas = (s & 7) | if b { 8 } else { 0 };
        let base = if s & 7 == 5 && md == 0 {
            Mem::NONE
        } else {
            bas
        };
        let index = if idx == 4 { Mem::NONE } else { idx };
        (base, index, s >> 6)
    } else {
        ((m & 7) | if b { 8 } else { 0 }, Mem::NONE, 0)
    };
    Some(Mem {
        base,
        index,
        scale,
        disp,
        addr32,
    })
}

/// The address of memory operand `m` of an instruction that ends at
/// `next`.
pub fn address(m: &Mem, regs: &impl Machine, next: u64) -> u64 {
    let mut a = match m.base {
        Mem::NONE => 0,
        Mem::RIP => next,
        n => regs.gpr(n),
    };
    if m.index != Mem::NONE {
        a = a.wrapping_add(regs.gpr(m.index) << m.scale);
    }
    a = a.wrapping_add(i64::from(m.disp) as u64);
    if m.addr32 {
        a & 0xffff_ffff
    } else {
        a
    }
}

/// Whether `a` is a canonical address (48 bits).
fn canonical(a: u64) -> bool {
    sext(a, 6) == a
}

fn read_reg(m: &impl Machine, n: u8, high8: bool, size: u8) -> u64 {
    if high8 {
        (m.gpr(n) >> 8) & 0xff
    } else {
        m.gpr(n) & mask(size)
    }
}

/// The new value of register `n` after writing `v` to its `size`-byte
/// part (`high8`: bits 8..15): 32-bit writes zero-extend, 8- and 16-bit
/// ones merge.
fn merged(old: u64, v: u64, size: u8, high8: bool) -> u64 {
    if high8 {
        return (old & !0xff00) | ((v & 0xff) << 8);
    }
    match size {
        8 => v,
        4 => v & 0xffff_ffff,
        s => (old & !mask(s)) | (v & mask(s)),
    }
}

/// Register writes of one instruction, applied after its memory write.
struct Writes {
    regs: [(u8, u64); 3],
    n: usize,
}

impl Writes {
    fn new() -> Self {
        Self {
            regs: [(0, 0); 3],
            n: 0,
        }
    }

    /// Register `n`, the whole 64 bits.
    #[inline(always)]
    fn set(&mut self, n: u8, v: u64) {
        if let Some(slot) = self.regs.get_mut(self.n) {
            *slot = (n, v);
            self.n += 1;
        }
    }

    /// `v` into the `size`-byte part of register `n` as the CPU writes it
    /// (merged with what this instruction wrote there already: `xchg
    /// %bh,%bl`).
    #[inline(always)]
    fn part(&mut self, m: &impl Machine, n: u8, high8: bool, size: u8, v: u64) {
        let old = match self.regs[..self.n].iter().rev().find(|(r, _)| *r == n) {
            Some(&(_, v)) => v,
            None => m.gpr(n),
        };
        self.set(n, merged(old, v, size, high8));
    }
}

/// [`exec`]'s most common forms, small enough to inline into a trap
/// handler: `None` for the others (then [`exec`]). `next` is the address
/// of the next instruction.
#[inline(always)]
pub fn exec_fast(p: &Plan, m: &mut impl Machine, next: u64) -> Option<Result<u64, Fault>> {
    // The most common forms first, straight to the registers: an
    // operation between registers or with an immediate (`sub
    // $0x18,%rsp`, `test %rdi,%rdi`, `cmp $1,%eax`): nothing can fault.
    if let (Op::Alu(op), Loc::Reg { n: d, high8: false }) = (p.op, p.dst) {
        let b = match p.src {
            Loc::Reg { n, high8: false } => Some(m.gpr(n)),
            Loc::Imm => Some(p.imm as u64),
            _ => None,
        };
        if let Some(b) = b {
            let old = m.gpr(d);
            let flags = m.flags();
            let (r, f) = alu(op, p.size, old, b, flags);
            if !matches!(op, Alu::Cmp | Alu::Test) {
                m.set_gpr(d, merged(old, r, p.size, false));
            }
            m.set_flags(f);
            return Some(Ok(next));
        }
    }
    // A load or a move into a register, and an indirect jump (every PLT
    // entry): one read at most, then one register.
    match (p.op, p.dst) {
        (Op::Mov, Loc::Reg { n: d, high8: false }) => {
            let v = match p.src {
                Loc::Reg { n, high8: false } => Some(m.gpr(n)),
                Loc::Imm => Some(p.imm as u64),
                Loc::Mem => match m.read(address(&p.mem, m, next), p.size) {
                    Some(v) => Some(v),
                    None => return Some(Err(Fault)),
                },
                _ => None,
            };
            if let Some(v) = v {
                let old = m.gpr(d);
                m.set_gpr(d, merged(old, v & mask(p.size), p.size, false));
                return Some(Ok(next));
            }
        }
        (Op::JmpIndirect, _) => {
            let to = match p.src {
                Loc::Reg { n, .. } => m.gpr(n),
                _ => match m.read(address(&p.mem, m, next), 8) {
                    Some(v) => v,
                    None => return Some(Err(Fault)),
                },
            };
            return Some(if canonical(to) { Ok(to) } else { Err(Fault) });
        }
        _ => {}
    }
    None
}

/// Runs plan `p` of the instruction at `ip` (`len` bytes) on `m`: returns
/// the next `%rip`. On a fault, nothing changed.
pub fn exec(p: &Plan, m: &mut impl Machine, ip: u64, len: u8) -> Result<u64, Fault> {
    let next = ip.wrapping_add(u64::from(len));
    if let Some(r) = exec_fast(p, m, next) {
        return r;
    }
    let addr = if p.dst == Loc::Mem || p.src == Loc::Mem {
        address(&p.mem, m, next)
    } else {
        0
    };
    let size = p.size;
    let flags = m.flags();
    let mut out = Writes::new();
    let mut new_flags = flags;
    let mut store: Option<(u64, u8, u64)> = None;
    let mut rip = next;
    // An operand's value.
    macro_rules! get {
        ($loc:expr, $size:expr) => {{
            match $loc {
                Loc::Reg { n, high8 } => read_reg(m, n, high8, $size),
                Loc::Imm => (p.imm as u64) & mask($size),
                Loc::Mem => m.read(addr, $size).ok_or(Fault)?,
                Loc::None => 0,
            }
        }};
    }
    // The result `v` into operand `loc`.
    macro_rules! put {
        ($loc:expr, $size:expr, $v:expr) => {{
            match $loc {
                Loc::Reg { n, high8 } => out.part(m, n, high8, $size, $v),
                Loc::Mem => store = Some((addr, $size, $v)),
                _ => {}
            }
        }};
    }
    let sp = m.gpr(RSP);
    match p.op {
        Op::Mov => {
            let v = get!(p.src, size);
            put!(p.dst, size, v);
        }
        Op::Movzx | Op::Movsx => {
            let v = get!(p.src, p.src_size);
            let v = if p.op == Op::Movsx {
                sext(v, p.src_size)
            } else {
                v
            };
            put!(p.dst, size, v & mask(size));
        }
        Op::Lea => put!(p.dst, size, addr & mask(size)),
        Op::Alu(op) => {
            let a = get!(p.dst, size);
            let b = get!(p.src, size);
            let (r, f) = alu(op, size, a, b, flags);
            new_flags = f;
            if !matches!(op, Alu::Cmp | Alu::Test) {
                put!(p.dst, size, r);
            }
        }
        Op::Unary(op) => {
            let a = get!(p.dst, size);
            let (r, f) = unary(op, size, a, flags);
            new_flags = f;
            put!(p.dst, size, r);
        }
        Op::Shift(s, c) => {
            let a = get!(p.dst, size);
            let count = match c {
                Count::One => 1,
                Count::Imm => (p.imm as u64) & 0xff,
                Count::Cl => m.gpr(1) & 0xff,
            };
            let (r, f) = shift(s, size, a, count, flags);
            new_flags = f;
            // Written even by a count of 0: a 32-bit one zero-extends.
            put!(p.dst, size, r);
        }
        Op::Imul | Op::Imul3 => {
            let a = get!(p.src, size);
            let b = if p.op == Op::Imul3 {
                (p.imm as u64) & mask(size)
            } else {
                get!(p.dst, size)
            };
            let (r, f) = imul(size, a, b, flags);
            new_flags = f;
            put!(p.dst, size, r);
        }
        Op::Mul | Op::Imul1 => {
            let b = get!(p.dst, size);
            let a = m.gpr(0) & mask(size);
            let (lo, hi, wide) = if p.op == Op::Mul {
                let full = u128::from(a) * u128::from(b);
                let bits = u32::from(size) * 8;
                let lo = (full as u64) & mask(size);
                let hi = ((full >> bits) as u64) & mask(size);
                (lo, hi, hi != 0)
            } else {
                let full = i128::from(sext(a, size) as i64) * i128::from(sext(b, size) as i64);
                let bits = u32::from(size) * 8;
                let lo = (full as u64) & mask(size);
                let hi = ((full >> bits) as u64) & mask(size);
                (lo, hi, i128::from(sext(lo, size) as i64) != full)
            };
            let mut f = (flags & !STATUS) | szp(lo, size);
            if wide {
                f |= CF | OF;
            }
            new_flags = f;
            if size == 1 {
                // %ax = %ah:%al.
                out.part(m, 0, false, 2, (hi << 8) | lo);
            } else {
                out.part(m, 0, false, size, lo);
                out.part(m, 2, false, size, hi);
            }
        }
        Op::Cmov => {
            let v = get!(p.src, size);
            let old = get!(p.dst, size);
            put!(p.dst, size, if condition(p.cond, flags) { v } else { old });
        }
        Op::Setcc => put!(p.dst, 1, u64::from(condition(p.cond, flags))),
        Op::Xchg => {
            let a = get!(p.dst, size);
            let b = get!(p.src, size);
            put!(p.dst, size, b);
            put!(p.src, size, a);
        }
        Op::SignExtendAx => {
            let half = size / 2;
            let v = sext(m.gpr(0), half);
            out.part(m, 0, false, size, v & mask(size));
        }
        Op::SignExtendDx => {
            let v = if m.gpr(0) & sign_bit(size) != 0 {
                u64::MAX
            } else {
                0
            };
            out.part(m, 2, false, size, v & mask(size));
        }
        Op::Push => {
            let v = match p.src {
                Loc::Imm => p.imm as u64,
                s => get!(s, 8),
            };
            let to = sp.wrapping_sub(8);
            store = Some((to, 8, v));
            out.set(RSP, to);
        }
        Op::Pop => {
            let v = m.read(sp, 8).ok_or(Fault)?;
            out.set(RSP, sp.wrapping_add(8));
            if let Loc::Reg { n, .. } = p.dst {
                out.set(n, v);
            }
        }
        Op::Leave => {
            let bp = m.gpr(RBP);
            let v = m.read(bp, 8).ok_or(Fault)?;
            out.set(RSP, bp.wrapping_add(8));
            out.set(RBP, v);
        }
        Op::Ret => {
            rip = m.read(sp, 8).ok_or(Fault)?;
            out.set(RSP, sp.wrapping_add(8).wrapping_add(p.imm as u64));
        }
        Op::CallIndirect | Op::JmpIndirect => {
            rip = get!(p.src, 8);
            if p.op == Op::CallIndirect {
                let to = sp.wrapping_sub(8);
                store = Some((to, 8, next));
                out.set(RSP, to);
            }
        }
    }
    // A branch to a non-canonical address faults at the branch: stepped.
    if rip != next && !canonical(rip) {
        return Err(Fault);
    }
    if let Some((a, s, v)) = store {
        if !m.write(a, s, v) {
            return Err(Fault);
        }
    }
    for &(n, v) in &out.regs[..out.n] {
        m.set_gpr(n, v);
    }
    if new_flags != flags {
        m.set_flags(new_flags);
    }
    Ok(rip)
}

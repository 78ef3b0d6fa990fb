// SPDX-License-Identifier: GPL-2.0

//! Decoding: the structure of one 64-bit mode instruction (prefixes,
//! opcode map, ModRM/SIB/displacement, immediates) within 15 bytes.

use super::tables::*;
use super::*;

/// Bounds-checked cursor over the input, enforcing the 15-byte limit.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn check(&self, end: usize) -> Result<(), Reason> {
        if end > MAX_INSN_LEN {
            Err(Reason::TooLong)
        } else if end > self.bytes.len() {
            Err(Reason::Truncated)
        } else {
            Ok(())
        }
    }

    fn peek(&self) -> Result<u8, Reason> {
        self.check(self.pos + 1)?;
        self.bytes.get(self.pos).copied().ok_or(Reason::Truncated)
    }

    fn next(&mut self) -> Result<u8, Reason> {
        let b = self.peek()?;
        self.pos += 1;
        Ok(b)
    }

    /// Consumes a field of `size` bytes and returns its position.
    fn field(&mut self, size: u8) -> Result<Field, Reason> {
        let end = self.pos + size as usize;
        self.check(end)?;
        let f = Field {
            offset: self.pos as u8,
            size,
        };
        self.pos = end;
        Ok(f)
    }
}

/// How the bytes after the opcode are laid out.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Imm {
    None,
    Ib,
    Iw,
    Iz,
    Iv,
    Moffs,
    Enter,
    Id,
    /// Group 3 (`F6`/`F7`): an immediate only for `/0` and `/1`.
    Grp3 {
        wide: bool,
    },
    /// `0F 78`: two immediate bytes with a `66` or `F2` mandatory prefix.
    Sse4a,
}

/// Decodes the structure of one 64-bit mode instruction at the start of
/// `bytes` (at most [`MAX_INSN_LEN`] bytes are looked at).
///
/// The error is [`Reason::Truncated`] when `bytes` ends too early,
/// [`Reason::TooLong`] past 15 bytes, [`Reason::BadPrefix`] for a prefix
/// that makes a VEX/EVEX/XOP instruction `#UD`, and [`Reason::Undefined`],
/// [`Reason::FarTransfer`], [`Reason::SegmentLoad`] or [`Reason::Int`] for
/// opcodes that are invalid in 64-bit mode (their 32-bit meaning names the
/// reason).
pub fn decode(bytes: &[u8]) -> Result<Insn, Reason> {
    let mut r = Reader { bytes, pos: 0 };
    let mut prefixes = Prefixes::default();
    let mut rex = None;
    loop {
        let b = r.peek()?;
        if let Some(flag) = Prefixes::flag_of(b) {
            prefixes.add(b, flag);
            // A REX prefix followed by a legacy prefix is ignored.
            rex = None;
        } else if b & 0xf0 == 0x40 {
            rex = Some(Rex {
                byte: b,
                offset: r.pos as u8,
            });
        } else {
            break;
        }
        r.pos += 1;
    }

    let mut insn = Insn {
        bytes: [0; MAX_INSN_LEN],
        len: 0,
        prefixes,
        rex,
        vex: None,
        map: OpcodeMap::Primary,
        opcode: 0,
        opcode_offset: 0,
        modrm: None,
        sib: None,
        disp: None,
        imm: None,
        rip_relative: None,
    };

    let first = r.next()?;
    let (has_modrm, imm, force_reg) = match first {
        0x0f => {
            let b = r.next()?;
            match b {
                0x38 => {
                    insn.map = OpcodeMap::Map0F38;
                    insn.opcode_offset = r.pos as u8;
                    insn.opcode = r.next()?;
                    (true, Imm::None, false)
                }
                0x3a => {
                    insn.map = OpcodeMap::Map0F3A;
                    insn.opcode_offset = r.pos as u8;
                    insn.opcode = r.next()?;
                    (true, Imm::Ib, false)
                }
                _ => {
                    insn.map = OpcodeMap::Map0F;
                    insn.opcode_offset = r.pos as u8 - 1;
                    insn.opcode = b;
                    match MAP_0F[b as usize] {
                        b'M' => (true, Imm::None, false),
                        b'm' | b'3' => (true, Imm::Ib, false),
                        b'R' => (true, Imm::None, true),
                        b'7' => (true, Imm::Sse4a, false),
                        b'J' => (false, Imm::Id, false),
                        b'.' => (false, Imm::None, false),
                        _ => return Err(Reason::Undefined),
                    }
                }
            }
        }
        0xc4 | 0xc5 | 0x62 => {
            let vex = decode_vex(&mut r, first, &insn)?;
            insn.vex = Some(vex);
            insn.opcode_offset = r.pos as u8;
            insn.opcode = r.next()?;
            vex_layout(&mut insn, vex)?
        }
        0x8f if r.peek()? & 0x1f >= 8 => {
            let vex = decode_vex(&mut r, first, &insn)?;
            insn.vex = Some(vex);
            insn.opcode_offset = r.pos as u8;
            insn.opcode = r.next()?;
            vex_layout(&mut insn, vex)?
        }
        _ => {
            insn.opcode_offset = r.pos as u8 - 1;
            insn.opcode = first;
            match PRIMARY[first as usize] {
                b'M' | b'x' => (true, Imm::None, false),
                b'm' => (true, Imm::Ib, false),
                b'Z' => (true, Imm::Iz, false),
                b'G' => (true, Imm::Grp3 { wide: false }, false),
                b'g' => (true, Imm::Grp3 { wide: true }, false),
                b'.' => (false, Imm::None, false),
                b'b' | b'j' => (false, Imm::Ib, false),
                b'w' => (false, Imm::Iw, false),
                b'z' => (false, Imm::Iz, false),
                b'v' => (false, Imm::Iv, false),
                b'o' => (false, Imm::Moffs, false),
                b'e' => (false, Imm::Enter, false),
                b'J' => (false, Imm::Id, false),
                _ => return Err(invalid_64_reason(first)),
            }
        }
    };

    let mut reg = 0;
    if has_modrm {
        let field = r.field(1)?;
        let modrm = r.bytes.get(field.offset as usize).copied().unwrap_or(0);
        insn.modrm = Some(field);
        reg = (modrm >> 3) & 7;
        let md = modrm >> 6;
        let rm = modrm & 7;
        if md != 3 && !force_reg {
            let mut disp = match md {
                1 => 1,
                2 => 4,
                _ => 0,
            };
            if rm == 4 {
                let sib = r.field(1)?;
                let base = r.bytes.get(sib.offset as usize).copied().unwrap_or(0) & 7;
                insn.sib = Some(sib);
                if md == 0 && base == 5 {
                    disp = 4;
                }
            } else if md == 0 && rm == 5 {
                disp = 4;
                insn.rip_relative = Some(r.pos as u8);
            }
            if disp != 0 {
                insn.disp = Some(r.field(disp)?);
            }
        }
    }

    let o16 = prefixes.has(Prefixes::OPSIZE);
    let w = match (insn.vex, rex) {
        (Some(v), _) => v.w,
        (None, Some(x)) => x.w(),
        (None, None) => false,
    };
    let iz = if o16 && !w { 2 } else { 4 };
    let size = match imm {
        Imm::None => 0,
        Imm::Ib => 1,
        Imm::Iw => 2,
        Imm::Iz => iz,
        Imm::Iv => {
            if w {
                8
            } else {
                iz
            }
        }
        Imm::Moffs => {
            if prefixes.has(Prefixes::ADSIZE) {
                4
            } else {
                8
            }
        }
        Imm::Enter => 3,
        Imm::Id => 4,
        Imm::Grp3 { wide } => match (reg, wide) {
            (0 | 1, false) => 1,
            (0 | 1, true) => iz,
            _ => 0,
        },
        Imm::Sse4a => match prefixes.mandatory() {
            0x66 | 0xf2 => 2,
            _ => 0,
        },
    };
    if size != 0 {
        insn.imm = Some(r.field(size)?);
    }

    insn.len = r.pos as u8;
    if let (Some(dst), Some(src)) = (insn.bytes.get_mut(..r.pos), bytes.get(..r.pos)) {
        dst.copy_from_slice(src);
    }
    Ok(insn)
}

/// The reason for an opcode byte that is invalid in 64-bit mode.
fn invalid_64_reason(op: u8) -> Reason {
    match op {
        0x07 | 0x17 | 0x1f => Reason::SegmentLoad, // pop es/ss/ds
        0x9a | 0xea => Reason::FarTransfer,        // call/jmp ptr16:32
        0xce => Reason::Int,                       // into
        _ => Reason::Undefined,
    }
}

/// Decodes the payload of a VEX2/VEX3/EVEX/XOP prefix whose first byte
/// `first` has been consumed.
fn decode_vex(r: &mut Reader<'_>, first: u8, insn: &Insn) -> Result<Vex, Reason> {
    let offset = r.pos as u8 - 1;
    // 66, F2, F3, lock or REX before a vector prefix is #UD.
    if insn.rex.is_some()
        || insn
            .prefixes
            .has(Prefixes::OPSIZE | Prefixes::REP | Prefixes::REPNE | Prefixes::LOCK)
    {
        // Still report truncation first: the prefix must be complete to be
        // judged.
        let need = match first {
            0xc5 => 1,
            0x62 => 3,
            _ => 2,
        };
        r.check(r.pos + need)?;
        return Err(Reason::BadPrefix);
    }
    let p0 = r.next()?;
    let mut v = Vex {
        kind: VexKind::Vex2,
        offset,
        map: 1,
        pp: 0,
        l: 0,
        w: false,
        r: p0 & 0x80 == 0,
        x: false,
        b: false,
        r2: false,
        vvvv: 0,
        v2: false,
        aaa: 0,
        z: false,
        bcst: false,
    };
    let p1 = if first == 0xc5 {
        p0
    } else {
        v.x = p0 & 0x40 == 0;
        v.b = p0 & 0x20 == 0;
        r.next()?
    };
    v.w = first != 0xc5 && p1 & 0x80 != 0;
    v.vvvv = (!p1 >> 3) & 0xf;
    v.pp = p1 & 3;
    match first {
        0xc5 => {
            v.l = (p1 >> 2) & 1;
        }
        0xc4 => {
            v.kind = VexKind::Vex3;
            v.map = p0 & 0x1f;
            v.l = (p1 >> 2) & 1;
            if !(1..=3).contains(&v.map) {
                return Err(Reason::Undefined);
            }
        }
        0x8f => {
            v.kind = VexKind::Xop;
            v.map = p0 & 0x1f;
            v.l = (p1 >> 2) & 1;
            if !(8..=10).contains(&v.map) {
                return Err(Reason::Undefined);
            }
        }
        _ => {
            v.kind = VexKind::Evex;
            v.r2 = p0 & 0x10 == 0;
            v.map = p0 & 7;
            let p2 = r.next()?;
            // P0 bit 3 must be 0, P1 bit 2 must be 1; maps 1-3, 5, 6 only
            // (map 4 and the bits above are APX, which is not decoded).
            if p0 & 0x08 != 0 || p1 & 0x04 == 0 || !matches!(v.map, 1 | 2 | 3 | 5 | 6) {
                return Err(Reason::Undefined);
            }
            v.z = p2 & 0x80 != 0;
            v.l = (p2 >> 5) & 3;
            v.bcst = p2 & 0x10 != 0;
            v.v2 = p2 & 0x08 == 0;
            v.aaa = p2 & 7;
        }
    }
    Ok(v)
}

/// Sets the map of a vector instruction and returns its layout.
fn vex_layout(insn: &mut Insn, v: Vex) -> Result<(bool, Imm, bool), Reason> {
    let op = insn.opcode;
    let (map, imm) = match (v.kind, v.map) {
        (VexKind::Xop, 8) => (OpcodeMap::Xop8, Imm::Ib),
        (VexKind::Xop, 9) => (OpcodeMap::Xop9, Imm::None),
        (VexKind::Xop, _) => (OpcodeMap::XopA, Imm::Id),
        (_, 1) => {
            if v.kind != VexKind::Evex && op == 0x77 {
                // vzeroupper / vzeroall: no ModRM.
                insn.map = OpcodeMap::Map0F;
                return Ok((false, Imm::None, false));
            }
            let imm = match op {
                0x70..=0x73 | 0xc2 | 0xc4..=0xc6 => Imm::Ib,
                _ => Imm::None,
            };
            (OpcodeMap::Map0F, imm)
        }
        (_, 2) => (OpcodeMap::Map0F38, Imm::None),
        (_, 3) => (OpcodeMap::Map0F3A, Imm::Ib),
        (_, 5) => (OpcodeMap::Map5, Imm::None),
        (_, 6) => (OpcodeMap::Map6, Imm::None),
        _ => return Err(Reason::Undefined),
    };
    insn.map = map;
    Ok((true, imm, false))
}

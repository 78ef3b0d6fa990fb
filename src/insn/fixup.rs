// SPDX-License-Identifier: GPL-2.0

//! Fix-ups of RIP-relative operands for the XOL copy: a scratch base
//! register (always possible), or a new displacement (within +/-2 GiB).

use super::*;

impl Insn {
    fn copy_bytes(&self) -> Rewritten {
        Rewritten {
            bytes: self.bytes,
            len: self.len,
        }
    }

    /// Rewrites a RIP-relative instruction to address `[scratch + 0]`
    /// (ModRM `00 reg 101` becomes `10 reg scratch`, the displacement becomes
    /// 0, REX.B/VEX.B/EVEX.B are cleared so that the base is the low
    /// register), as `riprel_analyze()` in `arch/x86/kernel/uprobes.c` does.
    /// Before the step, save the scratch register and load it with
    /// [`ScratchFixup::value`]; restore it afterwards ([`Fixups::RIP_REL`]).
    ///
    /// `None` unless the verdict is [`Verdict::StepRipFixup`].
    pub fn fixup_rip_scratch(&self, orig_addr: u64) -> Option<ScratchFixup> {
        let Verdict::StepRipFixup {
            disp_offset,
            scratch,
            ..
        } = self.step_verdict()
        else {
            return None;
        };
        let value = self.rip_target(orig_addr)?;
        let mut out = self.copy_bytes();
        if let Some(rex) = self.rex {
            *out.bytes.get_mut(rex.offset as usize)? &= !1;
        }
        if let Some(v) = self.vex {
            // Inverted B (and X, which is an rm extension in EVEX without
            // SIB) in the first payload byte; VEX2 has no B bit.
            let bits = match v.kind {
                VexKind::Vex2 => 0,
                VexKind::Evex => 0x60,
                VexKind::Vex3 | VexKind::Xop => 0x20,
            };
            *out.bytes.get_mut(v.offset as usize + 1)? |= bits;
        }
        let modrm = self.modrm?;
        let m = self.modrm_byte()?;
        *out.bytes.get_mut(modrm.offset as usize)? = 0x80 | (m & 0x38) | scratch.number();
        let d = disp_offset as usize;
        out.bytes.get_mut(d..d + 4)?.copy_from_slice(&[0; 4]);
        Some(ScratchFixup {
            insn: out,
            reg: scratch,
            value,
        })
    }

    /// Rewrites the 32-bit displacement of a RIP-relative instruction so
    /// that, executed at `xol_addr`, it designates the same address as at
    /// `orig_addr`. No register is involved, but the target must be within
    /// +/-2 GiB of the XOL slot (always true with an address-size prefix,
    /// whose addresses wrap at 4 GiB).
    ///
    /// `None` unless the verdict is [`Verdict::StepRipFixup`] and the new
    /// displacement fits.
    pub fn fixup_rip_disp(&self, orig_addr: u64, xol_addr: u64) -> Option<Rewritten> {
        let Verdict::StepRipFixup { disp_offset, .. } = self.step_verdict() else {
            return None;
        };
        let target = self.rip_target(orig_addr)?;
        let xol_next = xol_addr.wrapping_add(u64::from(self.len));
        let disp = if self.prefixes.has(Prefixes::ADSIZE) {
            target.wrapping_sub(xol_next) as u32 as i32
        } else {
            i32::try_from(target.wrapping_sub(xol_next) as i64).ok()?
        };
        let mut out = self.copy_bytes();
        let d = disp_offset as usize;
        out.bytes
            .get_mut(d..d + 4)?
            .copy_from_slice(&disp.to_le_bytes());
        Some(out)
    }
}

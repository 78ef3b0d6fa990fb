// SPDX-License-Identifier: GPL-2.0

//! Classification: the out-of-line verdict of a decoded instruction
//! (emulate, step with fix-ups, or refuse with a reason).

use super::tables::*;
use super::*;

/// Intermediate result of the opcode classification.
enum Class {
    Emulate(Emulation),
    Step(Fixups),
}

type Classified = Result<Class, Reason>;

const STEP: Classified = Ok(Class::Step(Fixups::IP));

impl Insn {
    /// The out-of-line execution verdict: emulated when
    /// [`super::emul::plan`] has a plan for it (and no other emulation
    /// applies), with the step it falls back to (a fault, a task that
    /// steps itself with TF) in its fix-ups.
    pub fn verdict(&self) -> Verdict {
        let v = self.step_verdict();
        let fixups = match v {
            Verdict::Step { fixups } | Verdict::StepRipFixup { fixups, .. } => fixups,
            _ => return v,
        };
        match super::emul::plan(self) {
            Some(plan) => Verdict::Emulate(Emulation::Exec { plan, fixups }),
            None => v,
        }
    }

    /// The verdict without [`super::emul`]: how the instruction is stepped
    /// (also the fallback of an emulated one).
    pub fn step_verdict(&self) -> Verdict {
        let class = match self.classify() {
            Ok(c) => c,
            Err(reason) => return Verdict::Refuse(reason),
        };
        match class {
            Class::Emulate(e) => Verdict::Emulate(e),
            Class::Step(fixups) => match self.rip_relative {
                None => Verdict::Step { fixups },
                Some(disp_offset) => {
                    if self.rip_unfixable() {
                        return Verdict::Refuse(Reason::RipUnfixable);
                    }
                    match choose_scratch(self.scratch_conflicts()) {
                        Some(scratch) => Verdict::StepRipFixup {
                            disp_offset,
                            scratch,
                            fixups: fixups.with(Fixups::RIP_REL),
                        },
                        None => Verdict::Refuse(Reason::NoScratchRegister),
                    }
                }
            },
        }
    }

    /// Registers (bit `1 << n`) that cannot serve as the scratch base of a
    /// rewritten RIP-relative operand: ModRM.reg, VEX.vvvv (low three bits,
    /// like the kernel: conservative when the field is not a GPR) and the
    /// implicit GPR operands of instructions that have a memory operand.
    pub fn scratch_conflicts(&self) -> u16 {
        let mut used = 1u16 << self.modrm_reg();
        if let Some(v) = self.vex {
            used |= 1 << (v.vvvv & 7);
        }
        used | self.implicit_gprs()
    }

    /// Implicit GPR operands (bit `1 << n`) of the instructions with a ModRM
    /// memory operand that have any.
    pub fn implicit_gprs(&self) -> u16 {
        const AX: u16 = 1 << 0;
        const CX: u16 = 1 << 1;
        const DX: u16 = 1 << 2;
        const BX: u16 = 1 << 3;
        const DI: u16 = 1 << 7;
        let reg = self.modrm_reg();
        let legacy = self.vex.is_none();
        match (self.map, self.opcode) {
            // cmpxchg8b/16b: rdx:rax and rcx:rbx.
            (OpcodeMap::Map0F, 0xc7) if legacy && reg == 1 => AX | CX | DX | BX,
            // maskmovq / (v)maskmovdqu store to [rdi].
            (OpcodeMap::Map0F, 0xf7) => DI,
            // Shifts by cl, shld/shrd by cl.
            (OpcodeMap::Primary, 0xd2 | 0xd3) => CX,
            (OpcodeMap::Map0F, 0xa5 | 0xad) if legacy => CX,
            // mul/imul/div/idiv: rdx:rax.
            (OpcodeMap::Primary, 0xf6 | 0xf7) if reg >= 4 => AX | DX,
            // cmpxchg: rax.
            (OpcodeMap::Map0F, 0xb0 | 0xb1) if legacy => AX,
            // mulx: rdx.
            (OpcodeMap::Map0F38, 0xf6) if !legacy => DX,
            // pcmpestri/m: rax, rdx, rcx; pcmpistri: rcx.
            (OpcodeMap::Map0F3A, 0x60..=0x63) => AX | CX | DX,
            _ => 0,
        }
    }

    /// MPX `bndmk`, `bndldx` and `bndstx` are `#UD` with a RIP-relative
    /// operand, but would execute with a register base.
    fn rip_unfixable(&self) -> bool {
        self.vex.is_none()
            && self.map == OpcodeMap::Map0F
            && matches!(
                (self.opcode, self.prefixes.mandatory()),
                (0x1a | 0x1b, 0) | (0x1b, 0xf3)
            )
    }

    fn classify(&self) -> Classified {
        if self.vex.is_some() {
            return self.classify_vex();
        }
        if self.prefixes.has(Prefixes::LOCK) && !self.lockable() {
            return Err(Reason::BadLock);
        }
        match self.map {
            OpcodeMap::Primary => self.classify_primary(),
            OpcodeMap::Map0F => self.classify_0f(),
            OpcodeMap::Map0F38 => self.classify_0f38(),
            OpcodeMap::Map0F3A => {
                if !pp_ok(&PFX_0F3A, self.opcode, self.pp()) {
                    Err(Reason::Undefined)
                } else if self.opcode == 0xf0 {
                    Err(Reason::Privileged) // hreset
                } else {
                    STEP
                }
            }
            _ => Err(Reason::Undefined),
        }
    }

    /// Whether a `lock` prefix is valid: memory destination of the
    /// read-modify-write instructions that allow it.
    fn lockable(&self) -> bool {
        if !self.has_mem() {
            return false;
        }
        let reg = self.modrm_reg();
        match self.map {
            OpcodeMap::Primary => match self.opcode {
                0x00 | 0x01 | 0x08 | 0x09 | 0x10 | 0x11 | 0x18 | 0x19 => true,
                0x20 | 0x21 | 0x28 | 0x29 | 0x30 | 0x31 | 0x86 | 0x87 => true,
                0x80 | 0x81 | 0x83 => reg != 7,
                0xf6 | 0xf7 => reg == 2 || reg == 3,
                0xfe | 0xff => reg <= 1,
                _ => false,
            },
            OpcodeMap::Map0F => match self.opcode {
                0xab | 0xb3 | 0xbb | 0xb0 | 0xb1 | 0xc0 | 0xc1 => true,
                0xba => reg >= 5,
                0xc7 => reg == 1,
                _ => false,
            },
            _ => false,
        }
    }

    /// Whether the operand size is 16 bits (`66` without REX.W). AMD
    /// honours it on near branches in 64-bit mode (Intel ignores it), which
    /// truncates RIP: such branches are refused.
    fn o16(&self) -> bool {
        self.prefixes.has(Prefixes::OPSIZE) && !self.rex.is_some_and(|r| r.w())
    }

    /// The mandatory-prefix index: VEX/EVEX `pp`, else 0 none, 1 `66`,
    /// 2 `F3`, 3 `F2` from [`Prefixes::mandatory`].
    fn pp(&self) -> u8 {
        match (self.vex, self.prefixes.mandatory()) {
            (Some(v), _) => v.pp,
            (None, 0x66) => 1,
            (None, 0xf3) => 2,
            (None, 0xf2) => 3,
            _ => 0,
        }
    }

    /// Relative `jmp`/`call`/`jcc`: emulated unless `66` makes them 16-bit
    /// (AMD). uprobes refuses every `66` branch; with REX.W the `66` has no
    /// effect (`data16 data16 rex.W call`, the TLS padding compilers emit),
    /// so those are emulated here.
    fn rel_branch(&self) -> Classified {
        if self.o16() {
            return Err(Reason::BadPrefix);
        }
        let rel = self.imm_value().ok_or(Reason::Undefined)? as i32;
        let op = self.opcode;
        Ok(Class::Emulate(match (self.map, op) {
            (OpcodeMap::Primary, 0xe8) => Emulation::Call { rel },
            (OpcodeMap::Primary, 0xe9 | 0xeb) => Emulation::Jmp { rel },
            _ => Emulation::Jcc {
                cond: op & 0xf,
                rel,
            },
        }))
    }

    fn classify_primary(&self) -> Classified {
        let op = self.opcode;
        let reg = self.modrm_reg();
        let o16 = self.o16();
        let rex_b = self.rex.is_some_and(|x| x.b());
        match op {
            0x50..=0x57 if self.prefixes.count() == 0 => Ok(Class::Emulate(Emulation::Push {
                reg: (op & 7) | if rex_b { 8 } else { 0 },
            })),
            0x6c..=0x6f | 0xe4..=0xe7 | 0xec..=0xef | 0xf4 | 0xfa | 0xfb => Err(Reason::Privileged),
            0x70..=0x7f | 0xe8 | 0xe9 | 0xeb => self.rel_branch(),
            // mov between registers: the kernel's uprobes step it (only a
            // register moved onto itself is a nop there).
            0x89 | 0x8b if self.prefixes.count() == 0 && !self.has_mem() => {
                Ok(Class::Emulate(self.mov_reg(op == 0x8b)))
            }
            0x8c if reg > 5 => Err(Reason::Undefined),
            0x8d if !self.has_mem() => Err(Reason::Undefined),
            0x8e => match reg {
                1 | 6 | 7 => Err(Reason::Undefined),
                _ => Err(Reason::SegmentLoad),
            },
            0x8f if reg != 0 => Err(Reason::Undefined),
            // xchg r8, rax (REX.B) and pause (F3) are stepped.
            0x90 if !rex_b && self.prefixes.last_rep() == 0 => Ok(Class::Emulate(Emulation::Nop)),
            0x9c => Ok(Class::Step(Fixups::IP.with(Fixups::PUSHF_TF))),
            0x9d => Ok(Class::Step(Fixups::IP.with(Fixups::SET_TF))),
            0xc2 | 0xc3 => Ok(Class::Step(Fixups::NONE)),
            0xc6 if reg != 0 && self.modrm_byte() != Some(0xf8) => Err(Reason::Undefined),
            0xc7 if reg != 0 => {
                if self.modrm_byte() != Some(0xf8) {
                    Err(Reason::Undefined)
                } else if o16 {
                    Err(Reason::BadPrefix) // xbegin rel16
                } else {
                    Ok(Class::Step(Fixups::IP.with(Fixups::BRANCH_REL)))
                }
            }
            0xca | 0xcb => Err(Reason::FarTransfer),
            0xcc | 0xcd | 0xf1 => Err(Reason::Int),
            0xcf => Err(Reason::Iret),
            0xd8..=0xdf if !self.x87_valid() => Err(Reason::Undefined),
            0xe0..=0xe3 if o16 => Err(Reason::BadPrefix),
            0xe0..=0xe3 => Ok(Class::Step(Fixups::IP.with(Fixups::BRANCH_REL))),
            0xfe if reg > 1 => Err(Reason::Undefined),
            0xff => match reg {
                2 if o16 => Err(Reason::BadPrefix),
                2 => Ok(Class::Step(Fixups::CALL_RET_ADDR)),
                4 => Ok(Class::Step(Fixups::NONE)),
                3 | 5 => Err(Reason::FarTransfer),
                7 => Err(Reason::Undefined),
                _ => STEP,
            },
            _ => STEP,
        }
    }

    /// The registers of `mov` `89 /r` (`load` false: ModRM.rm is the
    /// destination) or `8B /r` (`load`: ModRM.reg is), ModRM.mod 3.
    fn mov_reg(&self, load: bool) -> Emulation {
        let rex = self.rex;
        let reg = self.modrm_reg() | if rex.is_some_and(|x| x.r()) { 8 } else { 0 };
        let rm =
            self.modrm_byte().map_or(0, |m| m & 7) | if rex.is_some_and(|x| x.b()) { 8 } else { 0 };
        let (dst, src) = if load { (reg, rm) } else { (rm, reg) };
        Emulation::Mov {
            dst,
            src,
            wide: rex.is_some_and(|x| x.w()),
        }
    }

    fn x87_valid(&self) -> bool {
        let esc = (self.opcode & 7) as usize;
        let Some(m) = self.modrm_byte() else {
            return false;
        };
        if m >> 6 != 3 {
            let mask = X87_MEM.get(esc).copied().unwrap_or(0);
            mask & (1 << ((m >> 3) & 7)) != 0
        } else {
            let mask = X87_REG.get(esc).copied().unwrap_or(0);
            mask & (1u64 << (m & 0x3f)) != 0
        }
    }

    fn classify_0f(&self) -> Classified {
        let op = self.opcode;
        let reg = self.modrm_reg();
        let mem = self.has_mem();
        let mp = self.prefixes.mandatory();
        if !pp_ok(&PFX_0F, op, self.pp()) {
            return Err(Reason::Undefined);
        }
        match op {
            0x00 => Err(Reason::Privileged),
            0x01 => self.classify_0f01(),
            0x05 | 0x07 | 0x34 | 0x35 => Err(Reason::Syscall),
            0x06 | 0x08 | 0x09 | 0x20..=0x23 | 0x30 | 0x32 | 0x37 | 0xaa => Err(Reason::Privileged),
            0x0b | 0xb9 | 0xff => Err(Reason::Undefined),
            0x0e | 0x0f | 0xa6 | 0xa7 => Err(Reason::Unsupported),
            0x1e if self.is_endbr() => Ok(Class::Emulate(Emulation::Nop)),
            0x1f if reg == 0 => Ok(Class::Emulate(Emulation::Nop)),
            0x71 | 0x72 if mem || !matches!(reg, 2 | 4 | 6) => Err(Reason::Undefined),
            0x73 => {
                let ok = match reg {
                    2 | 6 => true,
                    3 | 7 => mp == 0x66,
                    _ => false,
                };
                if ok && !mem {
                    STEP
                } else {
                    Err(Reason::Undefined)
                }
            }
            0x78 | 0x79 => match mp {
                0 => Err(Reason::Privileged), // vmread / vmwrite
                0x66 if op == 0x78 && reg != 0 => Err(Reason::Undefined),
                0x66 | 0xf2 if !mem => STEP, // extrq / insertq
                _ => Err(Reason::Undefined),
            },
            0x80..=0x8f => self.rel_branch(),
            0xa1 | 0xa9 => Err(Reason::SegmentLoad), // pop fs / pop gs
            0xb2 | 0xb4 | 0xb5 if mem => Err(Reason::SegmentLoad),
            0xb2 | 0xb4 | 0xb5 => Err(Reason::Undefined),
            0xae => self.classify_0fae(),
            0xb8 if self.prefixes.last_rep() != 0xf3 => Err(Reason::Undefined), // jmpe
            0xba if reg < 4 => Err(Reason::Undefined),
            0xc7 => self.classify_0fc7(),
            0xf7 if mem => Err(Reason::Undefined), // maskmovq: register form only
            _ => STEP,
        }
    }

    /// `F3 0F 1E FA` (`endbr64`) and `F3 0F 1E FB` (`endbr32`), no other
    /// prefix: no-ops outside of an indirect-branch-tracking landing.
    fn is_endbr(&self) -> bool {
        let b = self.bytes();
        b == [0xf3, 0x0f, 0x1e, 0xfa] || b == [0xf3, 0x0f, 0x1e, 0xfb]
    }

    /// Group 7: system instructions, except a few register forms that are
    /// plain user-mode instructions.
    fn classify_0f01(&self) -> Classified {
        if self.has_mem() {
            return Err(Reason::Privileged); // sgdt..invlpg, rstorssp
        }
        match (self.prefixes.last_rep(), self.modrm_byte().unwrap_or(0)) {
            // xgetbv, xend, xtest, serialize, rdpkru, wrpkru, rdtscp,
            // monitorx, mwaitx, clzero, rdpru
            (0, 0xd0 | 0xd5 | 0xd6 | 0xe8 | 0xee | 0xef | 0xf9..=0xfd) => STEP,
            // saveprevssp, testui, clui, stui, mcommit
            (0xf3, 0xea | 0xed | 0xee | 0xef | 0xfa) => STEP,
            (0xf3, 0xec) => Err(Reason::Iret), // uiret
            _ => Err(Reason::Privileged),
        }
    }

    /// Group 15: state save/restore, fences, fs/gs base, user waits.
    fn classify_0fae(&self) -> Classified {
        let reg = self.modrm_reg();
        let mp = self.prefixes.mandatory();
        if self.has_mem() {
            return match (mp, reg) {
                // fxsave, fxrstor, ldmxcsr, stmxcsr, xsave, xrstor,
                // xsaveopt/clwb, clflush/clflushopt
                (0 | 0x66, _) => STEP,
                (0xf3, 4) => STEP,                    // ptwrite
                (0xf3, 6) => Err(Reason::Privileged), // clrssbsy
                _ => Err(Reason::Undefined),
            };
        }
        match (mp, reg) {
            (0, 5..=7) => STEP,    // lfence, mfence, sfence
            (0x66, 6) => STEP,     // tpause
            (0xf3, 0..=6) => STEP, // rd/wr fs/gs base, ptwrite, incssp, umonitor
            (0xf2, 6) => STEP,     // umwait
            _ => Err(Reason::Undefined),
        }
    }

    /// Group 9: cmpxchg8b/16b, xsave variants, VMX, rdrand/rdseed/rdpid.
    fn classify_0fc7(&self) -> Classified {
        let mem = self.has_mem();
        let rep = self.prefixes.last_rep();
        match (self.modrm_reg(), mem) {
            (1 | 4, true) => STEP,                            // cmpxchg8b/16b, xsavec
            (3 | 5 | 6 | 7, true) => Err(Reason::Privileged), // xrstors, xsaves, VMX
            (6 | 7, false) if rep != 0xf2 => STEP,            // rdrand, senduipi, rdseed, rdpid
            _ => Err(Reason::Undefined),
        }
    }

    fn classify_0f38(&self) -> Classified {
        let op = self.opcode;
        if !pp_ok(&PFX_0F38, op, self.pp()) {
            return Err(Reason::Undefined);
        }
        let mp = self.prefixes.mandatory();
        let mem = self.has_mem();
        match op {
            0x80..=0x82 => Err(Reason::Privileged), // invept, invvpid, invpcid
            0xf5 if mp == 0x66 => Err(Reason::Privileged), // wruss
            0xf5 => Err(Reason::Undefined),
            // enqcmds (F3), urdmsr/uwrmsr (register forms)
            0xf8 if mp == 0xf3 || !mem => Err(Reason::Privileged),
            0xdc if mp == 0xf3 && !mem => Err(Reason::Privileged), // loadiwkey
            _ => STEP,
        }
    }

    fn classify_vex(&self) -> Classified {
        let Some(v) = self.vex else {
            return Err(Reason::Undefined);
        };
        if v.kind == VexKind::Xop {
            return Err(Reason::Unsupported);
        }
        let evex = v.kind == VexKind::Evex;
        let table = match (self.map, evex) {
            (OpcodeMap::Map0F, false) => &VEX_0F,
            (OpcodeMap::Map0F38, false) => &VEX_0F38,
            (OpcodeMap::Map0F3A, false) => &VEX_0F3A,
            (OpcodeMap::Map0F, true) => &EVEX_0F,
            (OpcodeMap::Map0F38, true) => &EVEX_0F38,
            (OpcodeMap::Map0F3A, true) => &EVEX_0F3A,
            (OpcodeMap::Map5, true) => &EVEX_MAP5,
            (OpcodeMap::Map6, true) => &EVEX_MAP6,
            _ => return Err(Reason::Undefined),
        };
        let op = self.opcode;
        if !pp_ok(table, op, v.pp) {
            return Err(Reason::Undefined);
        }
        let mem = self.has_mem();
        // Zeroing-masking needs a mask register; L'L = 3 is reserved except
        // as the rounding control of a register form (EVEX.b, mod = 11).
        if evex && ((v.z && v.aaa == 0) || (v.l == 3 && (mem || !v.bcst))) {
            return Err(Reason::Undefined);
        }
        let reg = self.modrm_reg();
        let bad = match (self.map, evex) {
            // VEX shifts by immediate and (v)maskmovdqu: register only.
            (OpcodeMap::Map0F, false) if matches!(op, 0x71..=0x73 | 0xf7) => mem,
            // vldmxcsr / vstmxcsr only.
            (OpcodeMap::Map0F, false) if op == 0xae => !mem || !matches!(reg, 2 | 3),
            // Group 17: blsr, blsmsk, blsi.
            (OpcodeMap::Map0F38, false) if op == 0xf3 => !matches!(reg, 1..=3),
            // Gathers, scatters and AMX tile loads/stores need a SIB byte.
            (OpcodeMap::Map0F38, _) => mem && self.sib.is_none() && self.needs_sib(),
            _ => false,
        };
        if bad {
            Err(Reason::Undefined)
        } else {
            STEP
        }
    }

    /// VSIB (gather/scatter) and SIB-memory (AMX) instructions.
    fn needs_sib(&self) -> bool {
        let evex = self.vex.is_some_and(|v| v.kind == VexKind::Evex);
        match self.opcode {
            0x90..=0x93 => true,
            0xa0..=0xa3 | 0xc6 | 0xc7 => evex,
            0x4b => !evex,
            _ => false,
        }
    }
}

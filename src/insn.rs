// SPDX-License-Identifier: GPL-2.0

//! x86_64 instruction decoder and out-of-line single-step classifier for user
//! probes.
//!
//! A user probe replaces the first byte of an instruction with `int3`. When
//! the probe fires, the original instruction is either *emulated* in the
//! kernel or copied to an execute-out-of-line (XOL) slot in the probed
//! process and *single-stepped* there, after which a few fix-ups make the
//! registers look as if it had run in place. This module decides, once and
//! for all at probe insertion time, which of these is possible, so that the
//! probe hit only has to test a few cached bits (the approach argued for in
//! the "breakpoint assistance: single-step out of line" thread of 2007 and
//! used by `arch/x86/kernel/uprobes.c`).
//!
//! User code may be hostile: it can contain any byte sequence, not just what
//! compilers emit, and it can rewrite itself. So the decoder
//!
//! - parses the whole prefix grammar (legacy prefixes in any order and
//!   number, REX only when immediately before the opcode, VEX2, VEX3, EVEX,
//!   XOP), the four legacy opcode maps, ModRM/SIB/displacement and every
//!   immediate size, within the architectural 15-byte limit;
//! - never panics, never allocates and uses no `unsafe`: every byte is read
//!   through a bounds-checked reader, so a truncated or malicious buffer
//!   yields [`Reason::Truncated`] or [`Reason::TooLong`], not a crash;
//! - refuses, with a stable [`Reason`], everything it does not positively
//!   understand or whose out-of-line execution could not be repaired
//!   (privileged and system instructions, software interrupts, system calls,
//!   far transfers, segment loads, invalid `lock` or operand-size prefixes,
//!   undefined opcodes, ...).
//!
//! The entry points are [`decode`] (structure only: length, prefixes,
//! fields) and [`analyze`] / [`Insn::verdict`] (the XOL decision). For a
//! RIP-relative instruction the verdict is [`Verdict::StepRipFixup`]:
//! [`fixup_rip_scratch`] rewrites it to address memory through a scratch
//! register (the kernel's method, always possible), and [`fixup_rip_disp`]
//! rewrites the displacement instead when the XOL slot is within +/-2 GiB of
//! the target.
//!
//! Only 64-bit user mode is modelled: there is no 16-bit addressing, `C4`,
//! `C5` and `62` are always VEX/EVEX, and opcodes that are invalid in 64-bit
//! mode are refused.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use core::fmt;

/// Architectural maximum length of an instruction, prefixes included.
pub const MAX_INSN_LEN: usize = 15;

/// Why an instruction is not probed.
///
/// Every reason has a stable short name ([`Reason::name`]) used in user
/// visible messages and by the `rprobes-insn` tool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The buffer ends before the instruction does.
    Truncated,
    /// The instruction would be longer than [`MAX_INSN_LEN`] bytes (`#GP`).
    TooLong,
    /// Not a defined instruction in 64-bit mode (`#UD`), including `ud0`,
    /// `ud1`, `ud2` and opcodes removed from long mode.
    Undefined,
    /// A prefix the instruction cannot take (`66`/`F2`/`F3`/`F0`/REX before
    /// VEX/EVEX/XOP) or that would change the semantics the fix-ups rely on
    /// (operand-size override on a near branch, AMD 16-bit branches).
    BadPrefix,
    /// `lock` on an instruction or operand that cannot be locked (`#UD`).
    BadLock,
    /// Privileged or system instruction (I/O, `hlt`, `cli`/`sti`, MSR,
    /// control/debug registers, descriptor tables, VMX/SVM, cache control).
    Privileged,
    /// Software interrupt: `int3`, `int n`, `int1`, `into`.
    Int,
    /// `syscall`, `sysret`, `sysenter`, `sysexit`.
    Syscall,
    /// `iret` and `uiret`: return through a stack frame that also loads flags.
    Iret,
    /// Far call, far jump or far return (and the removed direct forms).
    FarTransfer,
    /// Loads a segment register (`mov sreg`, `pop sreg`, `lss`/`lfs`/`lgs`);
    /// `mov ss`/`pop ss` would also suppress the single-step trap.
    SegmentLoad,
    /// RIP-relative operand, but every scratch register candidate (`rsi`,
    /// `rdi`, `rbx`) is used by the instruction.
    NoScratchRegister,
    /// RIP-relative operand whose rewrite into a register-based address would
    /// change what the instruction does (MPX `bndmk`/`bndldx`/`bndstx`).
    RipUnfixable,
    /// Decodable, but an instruction family this module does not vouch for
    /// (AMD XOP, 3DNow!, VIA PadLock).
    Unsupported,
}

impl Reason {
    /// Every reason, in declaration order.
    pub const ALL: [Reason; 14] = [
        Reason::Truncated,
        Reason::TooLong,
        Reason::Undefined,
        Reason::BadPrefix,
        Reason::BadLock,
        Reason::Privileged,
        Reason::Int,
        Reason::Syscall,
        Reason::Iret,
        Reason::FarTransfer,
        Reason::SegmentLoad,
        Reason::NoScratchRegister,
        Reason::RipUnfixable,
        Reason::Unsupported,
    ];

    /// Stable kebab-case name.
    pub const fn name(self) -> &'static str {
        match self {
            Reason::Truncated => "truncated",
            Reason::TooLong => "too-long",
            Reason::Undefined => "undefined",
            Reason::BadPrefix => "bad-prefix",
            Reason::BadLock => "bad-lock",
            Reason::Privileged => "privileged",
            Reason::Int => "int",
            Reason::Syscall => "syscall",
            Reason::Iret => "iret",
            Reason::FarTransfer => "far-transfer",
            Reason::SegmentLoad => "segment-load",
            Reason::NoScratchRegister => "no-scratch-register",
            Reason::RipUnfixable => "rip-unfixable",
            Reason::Unsupported => "unsupported",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Legacy prefixes seen before the opcode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Prefixes {
    bits: u16,
    count: u8,
    last_rep: u8,
    last_seg: u8,
}

impl Prefixes {
    /// `66`: operand-size override.
    pub const OPSIZE: u16 = 1 << 0;
    /// `67`: address-size override.
    pub const ADSIZE: u16 = 1 << 1;
    /// `F0`: lock.
    pub const LOCK: u16 = 1 << 2;
    /// `F2`: repne / bnd / xacquire / mandatory prefix.
    pub const REPNE: u16 = 1 << 3;
    /// `F3`: rep / xrelease / mandatory prefix.
    pub const REP: u16 = 1 << 4;
    /// `26`: ES segment override (ignored in 64-bit mode).
    pub const SEG_ES: u16 = 1 << 5;
    /// `2E`: CS segment override (ignored; branch-not-taken hint).
    pub const SEG_CS: u16 = 1 << 6;
    /// `36`: SS segment override (ignored in 64-bit mode).
    pub const SEG_SS: u16 = 1 << 7;
    /// `3E`: DS segment override (ignored; branch-taken hint, `notrack`).
    pub const SEG_DS: u16 = 1 << 8;
    /// `64`: FS segment override.
    pub const SEG_FS: u16 = 1 << 9;
    /// `65`: GS segment override.
    pub const SEG_GS: u16 = 1 << 10;

    /// The flag of a legacy prefix byte, `None` for any other byte.
    pub const fn flag_of(byte: u8) -> Option<u16> {
        match byte {
            0x66 => Some(Self::OPSIZE),
            0x67 => Some(Self::ADSIZE),
            0xf0 => Some(Self::LOCK),
            0xf2 => Some(Self::REPNE),
            0xf3 => Some(Self::REP),
            0x26 => Some(Self::SEG_ES),
            0x2e => Some(Self::SEG_CS),
            0x36 => Some(Self::SEG_SS),
            0x3e => Some(Self::SEG_DS),
            0x64 => Some(Self::SEG_FS),
            0x65 => Some(Self::SEG_GS),
            _ => None,
        }
    }

    fn add(&mut self, byte: u8, flag: u16) {
        self.bits |= flag;
        self.count = self.count.saturating_add(1);
        if flag & (Self::REP | Self::REPNE) != 0 {
            self.last_rep = byte;
        }
        if flag & (Self::SEG_ES | Self::SEG_CS | Self::SEG_SS | Self::SEG_DS) != 0
            || flag & (Self::SEG_FS | Self::SEG_GS) != 0
        {
            self.last_seg = byte;
        }
    }

    /// Whether any of the prefixes in `flags` is present.
    pub const fn has(&self, flags: u16) -> bool {
        self.bits & flags != 0
    }

    /// All flags present.
    pub const fn bits(&self) -> u16 {
        self.bits
    }

    /// Number of legacy prefix bytes (repetitions counted; REX excluded).
    pub const fn count(&self) -> u8 {
        self.count
    }

    /// The last `F2`/`F3` byte, or 0.
    pub const fn last_rep(&self) -> u8 {
        self.last_rep
    }

    /// The last segment override byte, if any.
    pub const fn segment(&self) -> Option<u8> {
        if self.last_seg == 0 {
            None
        } else {
            Some(self.last_seg)
        }
    }

    /// The mandatory prefix selecting among SSE forms: the last `F2`/`F3`,
    /// else `66` if present, else 0.
    pub const fn mandatory(&self) -> u8 {
        if self.last_rep != 0 {
            self.last_rep
        } else if self.has(Self::OPSIZE) {
            0x66
        } else {
            0
        }
    }
}

/// The REX prefix in effect (the one immediately before the opcode).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rex {
    /// The byte, `0x40..=0x4f`.
    pub byte: u8,
    /// Its offset in the instruction.
    pub offset: u8,
}

impl Rex {
    /// REX.W: 64-bit operand size.
    pub const fn w(&self) -> bool {
        self.byte & 8 != 0
    }
    /// REX.R: extension of ModRM.reg.
    pub const fn r(&self) -> bool {
        self.byte & 4 != 0
    }
    /// REX.X: extension of SIB.index.
    pub const fn x(&self) -> bool {
        self.byte & 2 != 0
    }
    /// REX.B: extension of ModRM.rm, SIB.base or the opcode register.
    pub const fn b(&self) -> bool {
        self.byte & 1 != 0
    }
}

/// Kind of multi-byte vector prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VexKind {
    /// Two-byte VEX, `C5`.
    Vex2,
    /// Three-byte VEX, `C4`.
    Vex3,
    /// EVEX, `62` (AVX-512).
    Evex,
    /// AMD XOP, `8F` with a map field of 8 or more.
    Xop,
}

/// Decoded VEX/EVEX/XOP prefix. Inverted fields are stored un-inverted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Vex {
    /// Which prefix.
    pub kind: VexKind,
    /// Offset of the `C4`/`C5`/`62`/`8F` byte.
    pub offset: u8,
    /// Opcode map field (`mmmmm`; 1 for VEX2).
    pub map: u8,
    /// Implied mandatory prefix: 0 none, 1 `66`, 2 `F3`, 3 `F2`.
    pub pp: u8,
    /// Vector length: VEX.L (0..=1) or EVEX.L'L (0..=3).
    pub l: u8,
    /// W bit.
    pub w: bool,
    /// R: extension of ModRM.reg.
    pub r: bool,
    /// X: extension of SIB.index.
    pub x: bool,
    /// B: extension of ModRM.rm / SIB.base.
    pub b: bool,
    /// EVEX R': second extension bit of ModRM.reg.
    pub r2: bool,
    /// Extra register operand (`vvvv`), 0..=15.
    pub vvvv: u8,
    /// EVEX V': fifth bit of `vvvv`.
    pub v2: bool,
    /// EVEX opmask register (`aaa`).
    pub aaa: u8,
    /// EVEX zeroing-masking bit.
    pub z: bool,
    /// EVEX broadcast / rounding-control bit.
    pub bcst: bool,
}

/// Opcode map of the instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpcodeMap {
    /// One-byte opcodes.
    Primary,
    /// `0F xx` (VEX/EVEX map 1). 3DNow! is `0F 0F` with the real opcode in
    /// the immediate byte.
    Map0F,
    /// `0F 38 xx` (VEX/EVEX map 2).
    Map0F38,
    /// `0F 3A xx` (VEX/EVEX map 3).
    Map0F3A,
    /// EVEX map 5 (AVX512-FP16).
    Map5,
    /// EVEX map 6 (AVX512-FP16).
    Map6,
    /// XOP map 8.
    Xop8,
    /// XOP map 9.
    Xop9,
    /// XOP map 10.
    XopA,
}

/// Position and size of a displacement or immediate field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// Offset from the start of the instruction.
    pub offset: u8,
    /// Size in bytes.
    pub size: u8,
}

/// One decoded instruction (structure only, see [`Insn::verdict`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    bytes: [u8; MAX_INSN_LEN],
    len: u8,
    /// Legacy prefixes.
    pub prefixes: Prefixes,
    /// REX prefix in effect, if any. A REX followed by another prefix is
    /// ignored by the CPU and is not reported here.
    pub rex: Option<Rex>,
    /// VEX/EVEX/XOP prefix, if any.
    pub vex: Option<Vex>,
    /// Opcode map.
    pub map: OpcodeMap,
    /// Opcode byte within its map.
    pub opcode: u8,
    /// Offset of the opcode byte (after any `0F`/`0F 38`/`0F 3A` escape).
    pub opcode_offset: u8,
    /// ModRM byte and its offset.
    pub modrm: Option<Field>,
    /// SIB byte and its offset.
    pub sib: Option<Field>,
    /// Displacement field.
    pub disp: Option<Field>,
    /// Immediate field(s): `enter` and `extrq`/`insertq` have two
    /// immediates, reported as one field of their total size.
    pub imm: Option<Field>,
    /// Offset of the 32-bit displacement when the memory operand is
    /// RIP-relative (ModRM mod=00 rm=101, no SIB).
    pub rip_relative: Option<u8>,
}

/// Scratch register used to replace RIP in a rewritten instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gpr {
    /// `rbx` (register number 3).
    Rbx = 3,
    /// `rsi` (register number 6).
    Rsi = 6,
    /// `rdi` (register number 7).
    Rdi = 7,
}

impl Gpr {
    /// Register number in ModRM encoding.
    pub const fn number(self) -> u8 {
        self as u8
    }

    /// Lower-case name.
    pub const fn name(self) -> &'static str {
        match self {
            Gpr::Rbx => "rbx",
            Gpr::Rsi => "rsi",
            Gpr::Rdi => "rdi",
        }
    }
}

/// Scratch candidates, in order of preference (as the kernel: `rbx` last,
/// because `cmpxchg8b`/`cmpxchg16b` use it implicitly).
pub const SCRATCH_CANDIDATES: [Gpr; 3] = [Gpr::Rsi, Gpr::Rdi, Gpr::Rbx];

/// First scratch candidate whose bit (`1 << number`) is clear in `used`.
pub fn choose_scratch(used: u16) -> Option<Gpr> {
    SCRATCH_CANDIDATES
        .iter()
        .copied()
        .find(|g| used & (1u16 << g.number()) == 0)
}

/// Instructions the kernel runs itself instead of single-stepping them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Emulation {
    /// No effect but advancing RIP: `90`, `66 90`, `0F 1F /0`, `endbr64`,
    /// `endbr32`.
    Nop,
    /// `push r64` (`50+r`, optional REX; no `66`, no other prefix).
    Push {
        /// Register number 0..=15 (REX.B included).
        reg: u8,
    },
    /// `mov r64, r/m64` / `mov r/m64, r64` and their 32-bit forms
    /// (`89 /r`, `8B /r`) between registers (ModRM.mod 3), optional REX,
    /// no other prefix. The 32-bit form zero-extends into the destination.
    Mov {
        /// Destination register number 0..=15 (REX included).
        dst: u8,
        /// Source register number 0..=15 (REX included).
        src: u8,
        /// 64-bit (REX.W), else 32-bit.
        wide: bool,
    },
    /// `jmp rel8` / `jmp rel32`.
    Jmp {
        /// Displacement from the end of the instruction.
        rel: i32,
    },
    /// `call rel32`: push the return address and jump.
    Call {
        /// Displacement from the end of the instruction.
        rel: i32,
    },
    /// `jcc rel8` / `jcc rel32`.
    Jcc {
        /// Condition code (low nibble of the opcode: 0 `o`, 1 `no`, 2 `b`,
        /// 3 `ae`, 4 `e`, 5 `ne`, 6 `be`, 7 `a`, 8 `s`, 9 `ns`, 10 `p`,
        /// 11 `np`, 12 `l`, 13 `ge`, 14 `le`, 15 `g`).
        cond: u8,
        /// Displacement from the end of the instruction.
        rel: i32,
    },
}

impl Emulation {
    /// Stable short name.
    pub const fn name(&self) -> &'static str {
        match self {
            Emulation::Nop => "nop",
            Emulation::Push { .. } => "push",
            Emulation::Mov { .. } => "mov",
            Emulation::Jmp { .. } => "jmp",
            Emulation::Call { .. } => "call",
            Emulation::Jcc { .. } => "jcc",
        }
    }
}

/// Fix-ups needed after single-stepping the XOL copy (a small bit set,
/// after `UPROBE_FIX_*` of `arch/x86/kernel/uprobes.c`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fixups(u8);

impl Fixups {
    /// Nothing to do (the instruction sets RIP itself: `ret`, `jmp` indirect).
    pub const NONE: Fixups = Fixups(0);
    /// RIP is relative to the XOL slot: add `orig_addr - xol_addr`.
    pub const IP: Fixups = Fixups(1 << 0);
    /// An indirect `call` pushed `xol_addr + len`: replace it with
    /// `orig_addr + len` (RIP is the call target, leave it).
    pub const CALL_RET_ADDR: Fixups = Fixups(1 << 1);
    /// The memory operand was RIP-relative and the copy was rewritten
    /// ([`fixup_rip_scratch`]): restore the scratch register.
    pub const RIP_REL: Fixups = Fixups(1 << 2);
    /// `popf` sets TF itself: do not clear TF after the step.
    pub const SET_TF: Fixups = Fixups(1 << 3);
    /// Relative branch that is stepped, not emulated (`loop*`, `jrcxz`,
    /// `xbegin`): the [`Fixups::IP`] correction applies to the taken target
    /// as well.
    pub const BRANCH_REL: Fixups = Fixups(1 << 4);
    /// `pushf` pushed the flags with the stepping TF set: clear TF in the
    /// word at the new stack top unless the task had TF set itself.
    pub const PUSHF_TF: Fixups = Fixups(1 << 5);

    const NAMES: [(Fixups, &'static str); 6] = [
        (Fixups::IP, "ip"),
        (Fixups::CALL_RET_ADDR, "call-ret-addr"),
        (Fixups::RIP_REL, "rip-rel"),
        (Fixups::SET_TF, "set-tf"),
        (Fixups::BRANCH_REL, "branch-rel"),
        (Fixups::PUSHF_TF, "pushf-tf"),
    ];

    /// The raw bits.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// From raw bits (as [`Fixups::bits`] gives them).
    pub const fn from_bits(bits: u8) -> Fixups {
        Fixups(bits)
    }

    /// Whether all of `other` is set.
    pub const fn contains(self, other: Fixups) -> bool {
        self.0 & other.0 == other.0
    }

    /// Union.
    pub const fn with(self, other: Fixups) -> Fixups {
        Fixups(self.0 | other.0)
    }

    /// Difference.
    pub const fn without(self, other: Fixups) -> Fixups {
        Fixups(self.0 & !other.0)
    }

    /// Whether no fix-up is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for Fixups {
    /// Comma-separated names, `none` when empty.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        let mut first = true;
        for (flag, name) in Fixups::NAMES {
            if self.contains(flag) {
                if !first {
                    f.write_str(",")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

/// Writes the one-line description of the instruction at the start of
/// `bytes`, as the `rprobes-insn` CLI and the module's `explain` file print
/// it: `len=N verdict=... [rip_disp_off=K scratch=R] [fixups=...]`, or
/// `[len=N ]refuse=<reason>`.
pub fn write_description(w: &mut impl fmt::Write, bytes: &[u8]) -> fmt::Result {
    let insn = match decode(bytes) {
        Ok(insn) => insn,
        Err(reason) => return write!(w, "refuse={reason}"),
    };
    let len = insn.len();
    match insn.verdict() {
        Verdict::Refuse(reason) => write!(w, "len={len} refuse={reason}"),
        v @ Verdict::Emulate(_) => write!(w, "len={len} verdict={}", v.name()),
        v @ Verdict::Step { fixups } => {
            write!(w, "len={len} verdict={} fixups={fixups}", v.name())
        }
        v @ Verdict::StepRipFixup {
            disp_offset,
            scratch,
            fixups,
        } => write!(
            w,
            "len={len} verdict={} rip_disp_off={disp_offset} scratch={} fixups={fixups}",
            v.name(),
            scratch.name()
        ),
    }
}

/// What to do with a probed instruction, decided once at insertion time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Run it in the kernel, no single step.
    Emulate(Emulation),
    /// Single-step an unmodified copy, then apply `fixups`.
    Step {
        /// Post-step fix-ups.
        fixups: Fixups,
    },
    /// Single-step a copy whose RIP-relative operand was rewritten
    /// ([`fixup_rip_scratch`] or [`fixup_rip_disp`]), then apply `fixups`
    /// (which include [`Fixups::RIP_REL`]).
    StepRipFixup {
        /// Offset of the 32-bit displacement.
        disp_offset: u8,
        /// Scratch register for [`fixup_rip_scratch`].
        scratch: Gpr,
        /// Post-step fix-ups.
        fixups: Fixups,
    },
    /// Do not probe.
    Refuse(Reason),
}

impl Verdict {
    /// Short name: `step`, `step-fixup`, `emulate-<kind>` or `refuse`.
    pub const fn name(&self) -> &'static str {
        match self {
            Verdict::Emulate(Emulation::Nop) => "emulate-nop",
            Verdict::Emulate(Emulation::Push { .. }) => "emulate-push",
            Verdict::Emulate(Emulation::Mov { .. }) => "emulate-mov",
            Verdict::Emulate(Emulation::Jmp { .. }) => "emulate-jmp",
            Verdict::Emulate(Emulation::Call { .. }) => "emulate-call",
            Verdict::Emulate(Emulation::Jcc { .. }) => "emulate-jcc",
            Verdict::Step { .. } => "step",
            Verdict::StepRipFixup { .. } => "step-fixup",
            Verdict::Refuse(_) => "refuse",
        }
    }

    /// Post-step fix-ups (empty unless stepping).
    pub const fn fixups(&self) -> Fixups {
        match self {
            Verdict::Step { fixups } | Verdict::StepRipFixup { fixups, .. } => *fixups,
            _ => Fixups::NONE,
        }
    }

    /// The refusal reason, if refused.
    pub const fn reason(&self) -> Option<Reason> {
        match self {
            Verdict::Refuse(r) => Some(*r),
            _ => None,
        }
    }

    /// Whether the probe can be inserted.
    pub const fn is_accepted(&self) -> bool {
        !matches!(self, Verdict::Refuse(_))
    }
}

/// An instruction rewritten for the XOL slot (same length as the original).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rewritten {
    bytes: [u8; MAX_INSN_LEN],
    len: u8,
}

impl Rewritten {
    /// The instruction bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len as usize).unwrap_or(&[])
    }
}

/// Result of [`fixup_rip_scratch`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScratchFixup {
    /// The copy to single-step: ModRM addresses `[scratch + 0]` instead of
    /// `[rip + disp32]`, same length.
    pub insn: Rewritten,
    /// The register to save before the step, load with `value`, and restore
    /// after it.
    pub reg: Gpr,
    /// The absolute address the original operand designates.
    pub value: u64,
}

// ---------------------------------------------------------------------------
// Tables.
//
// Each opcode map is a 16x16 grid of one-letter attributes, one row per high
// nibble, so that it can be checked against the SDM's opcode tables by eye.

/// Builds a 256-entry table from 16 rows of 16 letters (compile time only).
const fn grid(rows: [&str; 16]) -> [u8; 256] {
    let mut out = [0u8; 256];
    let mut r = 0;
    while r < 16 {
        let row = rows[r].as_bytes();
        assert!(row.len() == 16);
        let mut c = 0;
        while c < 16 {
            out[r * 16 + c] = row[c];
            c += 1;
        }
        r += 1;
    }
    out
}

/// One-byte opcode map, 64-bit mode.
///
/// `.` no operand bytes, `M` ModRM, `m` ModRM+ib, `Z` ModRM+iz, `G` ModRM
/// (+ib for /0,/1), `g` ModRM (+iz for /0,/1), `b` ib, `w` iw, `z` iz (2 with
/// `66`, else 4), `v` iv (8 with REX.W), `o` moffs (8, 4 with `67`), `e`
/// iw+ib, `j` rel8, `J` rel32, `X` invalid in 64-bit mode, `P` prefix, `#`
/// escape, `V` VEX/EVEX, `x` `8F` (POP or XOP).
const PRIMARY: [u8; 256] = grid([
    "MMMMbzXXMMMMbzX#", // 00: add, or, push/pop es/cs (invalid)
    "MMMMbzXXMMMMbzXX", // 10: adc, sbb, push/pop ss/ds (invalid)
    "MMMMbzPXMMMMbzPX", // 20: and, es:, daa, sub, cs:, das
    "MMMMbzPXMMMMbzPX", // 30: xor, ss:, aaa, cmp, ds:, aas
    "PPPPPPPPPPPPPPPP", // 40: REX
    "................", // 50: push/pop r64
    "XXVMPPPPzZbm....", // 60: pusha/popa/bound invalid, EVEX, movsxd, ins/outs
    "jjjjjjjjjjjjjjjj", // 70: jcc rel8
    "mZXmMMMMMMMMMMMx", // 80: group 1, test, xchg, mov, lea, pop r/m
    "..........X.....", // 90: xchg, cbw, cwd, call far (invalid), pushf...
    "oooo....bz......", // a0: mov moffs, string ops, test imm
    "bbbbbbbbvvvvvvvv", // b0: mov r, imm
    "mmw.VVmZe.w..bX.", // c0: shifts, ret, VEX, mov imm, enter, retf, int
    "MMMMXXX.MMMMMMMM", // d0: shifts, aam/aad/salc (invalid), xlat, x87
    "jjjjbbbbJJXj....", // e0: loop, in/out, call/jmp, jmp far (invalid)
    "P.PP..Gg......MM", // f0: lock, int1, rep, hlt, group 3, group 4/5
]);

/// `0F` map. Letters as [`PRIMARY`], plus `R` ModRM forced to register form
/// (`mov cr/dr`), `3` 3DNow! (ModRM + opcode byte at the end), `7` `0F 78`
/// (two immediate bytes with a `66` or `F2` mandatory prefix).
const MAP_0F: [u8; 256] = grid([
    "MMMMX.....X.XM.3", // 00: groups 6/7, lar, lsl, syscall, clts, ..., ud2
    "MMMMMMMMMMMMMMMM", // 10: SSE moves, hint nops, MPX, endbr
    "RRRRXXXXMMMMMMMM", // 20: mov cr/dr, SSE
    "......X.#X#XXXXX", // 30: wrmsr..getsec, 0F 38 and 0F 3A escapes
    "MMMMMMMMMMMMMMMM", // 40: cmovcc
    "MMMMMMMMMMMMMMMM", // 50: SSE
    "MMMMMMMMMMMMMMMM", // 60: MMX/SSE
    "mmmmMMM.7MXXMMMM", // 70: pshuf, groups 12-14, emms, vmread/vmwrite
    "JJJJJJJJJJJJJJJJ", // 80: jcc rel32
    "MMMMMMMMMMMMMMMM", // 90: setcc
    "...MmMMM...MmMMM", // a0: push/pop fs/gs, cpuid, bt, shld/shrd, group 15
    "MMMMMMMMMMmMMMMM", // b0: cmpxchg, lss/lfs/lgs, movzx, popcnt, ud1, group 8
    "MMmMmmmM........", // c0: xadd, cmpps, movnti, pinsrw.., group 9, bswap
    "MMMMMMMMMMMMMMMM", // d0: MMX/SSE
    "MMMMMMMMMMMMMMMM", // e0: MMX/SSE
    "MMMMMMMMMMMMMMMM", // f0: MMX/SSE, ud0
]);

/// Builds a 256-entry table of 4-bit prefix masks from 16 rows of 16 hex
/// digits (compile time only).
const fn hexgrid(rows: [&str; 16]) -> [u8; 256] {
    let mut out = grid(rows);
    let mut i = 0;
    while i < 256 {
        let c = out[i];
        out[i] = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("not a hex digit"),
        };
        i += 1;
    }
    out
}

/// Whether the prefix-mask table allows `op` with mandatory prefix `pp`.
fn pp_ok(table: &[u8; 256], op: u8, pp: u8) -> bool {
    (table[op as usize] >> (pp & 3)) & 1 != 0
}

// Prefix-mask tables: one hex digit per opcode, bit n set when the opcode is
// defined with mandatory prefix n: bit 0 none, bit 1 `66`, bit 2 `F3`, bit 3
// `F2` (the numbering of the VEX/EVEX `pp` field). `0` is an undefined
// opcode, `f` one whose prefixes are not mandatory prefixes (or that a group
// decoder checks).

/// `0F` map without VEX: which SSE/MMX forms exist.
const PFX_0F: [u8; 256] = hexgrid([
    "ffffffffffffffff", // 00
    "fff33373ffffffff", // 10: movlps.. (13-17), hint nops
    "ffffffff33ffff33", // 20: movaps, cvt*, ucomis, comis
    "ffffffffffffffff", // 30
    "ffffffffffffffff", // 40: cmovcc
    "3f553333fff7ffff", // 50
    "3333333333332237", // 60
    "f3333331bb00aa77", // 70
    "ffffffffffffffff", // 80: jcc
    "ffffffffffffffff", // 90: setcc
    "ffffffffffffffff", // a0
    "ffffffffffffffff", // b0
    "fff1333fffffffff", // c0: movnti, pinsrw, pextrw, shufps
    "a33333e333333333", // d0
    "333333e333333333", // e0
    "833333333333333f", // f0: lddqu
]);

/// `0F 38` map without VEX.
const PFX_0F38: [u8; 256] = hexgrid([
    "3333333333330000", // 00: SSSE3
    "2000220200003330", // 10: pblendvb, blendvps/pd, ptest, pabs*
    "2222220022220000", // 20: pmovsx*, pmuldq, pcmpeqq, movntdqa, packusdw
    "2222220222222222", // 30: pmovzx*, pcmpgtq, pmin*/pmax*
    "2200000000000000", // 40: pmulld, phminposuw
    "0000000000000000", // 50
    "0000000000000000", // 60
    "0000000000000000", // 70
    "2220000000000000", // 80: invept, invvpid, invpcid
    "0000000000000000", // 90
    "0000000000000000", // a0
    "0000000000000000", // b0
    "0000000011111102", // c0: SHA, gf2p8mulb
    "0000000040026666", // d0: Key Locker, AES
    "0000000000000000", // e0
    "bb000270e144f000", // f0: movbe/crc32, wruss, adcx/adox/wrss, movdir*, enqcmd*, RAO
]);

/// `0F 3A` map without VEX (all take an immediate byte).
const PFX_0F3A: [u8; 256] = hexgrid([
    "0000000022222223", // 00: round*, blend*, palignr
    "0000222200000000", // 10: pextr*, extractps
    "2220000000000000", // 20: pinsr*, insertps
    "0000000000000000", // 30
    "2220200000000000", // 40: dpps, dppd, mpsadbw, pclmulqdq
    "0000000000000000", // 50
    "2222000000000000", // 60: pcmpestr*, pcmpistr*
    "0000000000000000", // 70
    "0000000000000000", // 80
    "0000000000000000", // 90
    "0000000000000000", // a0
    "0000000000000000", // b0
    "0000000000001022", // c0: sha1rnds4, gf2p8affine*
    "0000000000000002", // d0: aeskeygenassist
    "0000000000000000", // e0
    "4000000000000000", // f0: hreset
]);

/// VEX map 1 (`0F`).
const VEX_0F: [u8; 256] = hexgrid([
    "0000000000000000", // 00
    "fff3337300000000", // 10
    "0000000033c3cc33", // 20
    "0000000000000000", // 30
    "0330333300330000", // 40: mask-register logic
    "3f553333fff7ffff", // 50
    "2222222222222226", // 60
    "e22222210000aa66", // 70: 77 vzeroupper/vzeroall
    "0000000000000000", // 80
    "33bb000033000000", // 90: kmov, kortest, ktest
    "0000000000000010", // a0: vldmxcsr, vstmxcsr
    "0000000000000000", // b0
    "00f0223000000000", // c0
    "a222222222222222", // d0
    "222222e222222222", // e0
    "8222222222222220", // f0
]);

/// VEX map 2 (`0F 38`).
const VEX_0F38: [u8; 256] = hexgrid([
    "2222222222222222", // 00
    "0002002222202220", // 10
    "2222220022222222", // 20
    "2222222222222222", // 30
    "220002220b0e0000", // 40: AMX tile config/load/store
    "ff2200002220c0f0", // 50: VNNI, broadcasts, AMX
    "0000000000003000", // 60: AMX-COMPLEX
    "0040000022000000", // 70
    "0000000000002020", // 80: vpmaskmov
    "2222002222222222", // 90: gathers (VSIB), FMA
    "0000002222222222", // a0: FMA
    "f600222222222222", // b0: AVX-NE-CONVERT, IFMA, FMA
    "0000000000088802", // c0: SHA512, gf2p8mulb
    "0077000000f22222", // d0: VNNI-INT16, SM3/SM4, AES
    "2222222222222222", // e0: cmpccxadd
    "00110d8f00000000", // f0: andn, group 17, bzhi/pext/pdep, mulx, bextr/shlx..
]);

/// VEX map 3 (`0F 3A`, all take an immediate byte).
const VEX_0F3A: [u8; 256] = hexgrid([
    "2220222022222222", // 00
    "0000222222000200", // 10
    "2220000000000000", // 20
    "2222000022000000", // 30: kshift, vinserti128, vextracti128
    "2220202000222000", // 40
    "0000000000002222", // 50: FMA4 (AMD)
    "2222000022222222", // 60: pcmpestr/pcmpistr, FMA4
    "0000000022222222", // 70: FMA4
    "0000000000000000", // 80
    "0000000000000000", // 90
    "0000000000000000", // a0
    "0000000000000000", // b0
    "0000000000000022", // c0: gf2p8affine*
    "0000000000000022", // d0: vsm3rnds2, vaeskeygenassist
    "0000000000000000", // e0
    "8000000000000000", // f0: rorx
]);

/// EVEX map 1 (`0F`).
const EVEX_0F: [u8; 256] = hexgrid([
    "0000000000000000", // 00
    "fff3337300000000", // 10
    "0000000033c3cc33", // 20
    "0000000000000000", // 30
    "0000000000000000", // 40
    "0f003333fff7ffff", // 50
    "222222222222222e", // 60
    "e2222220ffee006e", // 70
    "0000000000000000", // 80
    "0000000000000000", // 90
    "0000000000000000", // a0
    "0000000000000000", // b0
    "00f0223000000000", // c0
    "0222222022222222", // d0
    "222222e222222222", // e0
    "0222222022222220", // f0
]);

/// EVEX map 2 (`0F 38`).
const EVEX_0F38: [u8; 256] = hexgrid([
    "2000200000022200", // 00
    "6666662022222222", // 10
    "6666666666622200", // 20
    "6666662266622222", // 30
    "2022222200002222", // 40
    "22ea220022220000", // 50
    "0022222080000000", // 60
    "22e2022222222222", // 70
    "0002000022220202", // 80
    "2222002222aa2222", // 90: gathers (VSIB), FMA, 4FMAPS
    "2222002222aa2222", // a0: scatters (VSIB), FMA
    "0000222222222222", // b0
    "0000202220222202", // c0: gather/scatter prefetch (VSIB), AVX512ER
    "0000000000002222", // d0: VAES
    "0000000000000000", // e0
    "0000000000000000", // f0
]);

/// EVEX map 3 (`0F 3A`, all take an immediate byte).
const EVEX_0F3A: [u8; 256] = hexgrid([
    "2202220032320002", // 00
    "0000222222220222", // 10
    "2222023300000000", // 20
    "0000000022220022", // 30
    "0022200000000000", // 40
    "2200223300000000", // 50
    "0000003300000000", // 60
    "2222000000000000", // 70
    "0000000000000000", // 80
    "0000000000000000", // 90
    "0000000000000000", // a0
    "0000000000000000", // b0
    "0050000000000022", // c0
    "0000000000000000", // d0
    "0000000000000000", // e0
    "0000000000000000", // f0
]);

/// EVEX map 5 (AVX512-FP16).
const EVEX_MAP5: [u8; 256] = hexgrid([
    "0000000000000000", // 00
    "4400000000000300", // 10
    "0000000000404411", // 20
    "0000000000000000", // 30
    "0000000000000000", // 40
    "0500000055f75555", // 50
    "0000000000000020", // 60
    "0000000077a63f20", // 70
    "0000000000000000", // 80
    "0000000000000000", // 90
    "0000000000000000", // a0
    "0000000000000000", // b0
    "0000000000000000", // c0
    "0000000000000000", // d0
    "0000000000000000", // e0
    "0000000000000000", // f0
]);

/// EVEX map 6 (AVX512-FP16).
const EVEX_MAP6: [u8; 256] = hexgrid([
    "0000000000000000", // 00
    "0003000000000000", // 10
    "0000000000002200", // 20
    "0000000000000000", // 30
    "0022000000002222", // 40
    "000000cc00000000", // 50
    "0000000000000000", // 60
    "0000000000000000", // 70
    "0000000000000000", // 80
    "0000002222222222", // 90
    "0000002222222222", // a0
    "0000002222222222", // b0
    "0000000000000000", // c0
    "000000cc00000000", // d0
    "0000000000000000", // e0
    "0000000000000000", // f0
]);

/// x87 escapes `D8..=DF` with a memory operand: bit n set when `/n` is
/// defined.
const X87_MEM: [u8; 8] = [0xff, 0xfd, 0xff, 0xaf, 0xff, 0xdf, 0xff, 0xff];

/// x87 escapes `D8..=DF` with a register operand: bit n set when ModRM
/// `0xC0 + n` is a documented instruction.
const X87_REG: [u64; 8] = [
    u64::MAX, // D8: fadd..fdivr st, st(i)
    // D9: fld, fxch, fnop, fchs, fabs, ftst, fxam, constants, f2xm1..fcos
    0xffff_7f33_0001_ffff,
    // DA: fcmovb/e/be/u, fucompp
    0x0000_0200_ffff_ffff,
    // DB: fcmovnb/ne/nbe/nu, fnclex, fninit, fucomi, fcomi
    0x00ff_ff0c_ffff_ffff,
    // DC: fadd, fmul, fsubr, fsub, fdivr, fdiv st(i), st
    0xffff_ffff_0000_ffff,
    // DD: ffree, fst, fstp, fucom, fucomp
    0x0000_ffff_ffff_00ff,
    // DE: faddp, fmulp, fcompp, fsubrp, fsubp, fdivrp, fdivp
    0xffff_ffff_0200_ffff,
    // DF: fnstsw ax, fucomip, fcomip
    0x00ff_ff01_0000_0000,
];

// ---------------------------------------------------------------------------
// Decoding.

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

// ---------------------------------------------------------------------------
// Classification.

/// Intermediate result of the opcode classification.
enum Class {
    Emulate(Emulation),
    Step(Fixups),
}

type Classified = Result<Class, Reason>;

const STEP: Classified = Ok(Class::Step(Fixups::IP));

impl Insn {
    /// Instruction length in bytes.
    pub const fn len(&self) -> usize {
        self.len as usize
    }

    /// Always false: a decoded instruction has at least one byte.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The instruction bytes.
    pub fn bytes(&self) -> &[u8] {
        self.bytes.get(..self.len as usize).unwrap_or(&[])
    }

    fn byte_at(&self, f: Option<Field>) -> Option<u8> {
        f.and_then(|f| self.bytes.get(f.offset as usize).copied())
    }

    /// The ModRM byte.
    pub fn modrm_byte(&self) -> Option<u8> {
        self.byte_at(self.modrm)
    }

    /// The SIB byte.
    pub fn sib_byte(&self) -> Option<u8> {
        self.byte_at(self.sib)
    }

    /// ModRM.reg (0..=7, without REX/VEX extension), 0 without ModRM.
    pub fn modrm_reg(&self) -> u8 {
        self.modrm_byte().map_or(0, |m| (m >> 3) & 7)
    }

    /// Whether the ModRM operand is in memory (mod != 3).
    pub fn has_mem(&self) -> bool {
        self.modrm_byte().is_some_and(|m| m >> 6 != 3) && !self.forced_reg()
    }

    /// `mov cr/dr` ignore ModRM.mod: the operand is always a register.
    fn forced_reg(&self) -> bool {
        self.vex.is_none() && self.map == OpcodeMap::Map0F && (0x20..=0x23).contains(&self.opcode)
    }

    /// Little-endian, sign-extended value of a field of 1 to 8 bytes.
    fn le_value(&self, f: Option<Field>) -> Option<i64> {
        let f = f?;
        if !(1..=8).contains(&f.size) {
            return None;
        }
        let start = f.offset as usize;
        let raw = self.bytes.get(start..start + f.size as usize)?;
        let mut v: u64 = 0;
        for (i, b) in raw.iter().enumerate() {
            v |= u64::from(*b) << (8 * i);
        }
        let shift = 64 - 8 * u32::from(f.size);
        Some(((v << shift) as i64) >> shift)
    }

    /// Sign-extended displacement.
    pub fn disp_value(&self) -> Option<i64> {
        self.le_value(self.disp)
    }

    /// Sign-extended immediate (the whole field for `enter`).
    pub fn imm_value(&self) -> Option<i64> {
        self.le_value(self.imm)
    }

    /// The address the RIP-relative operand designates when the instruction
    /// is at `orig_addr` (32-bit wrap-around with an address-size prefix).
    /// It is an offset in the segment: an `fs`/`gs` override still adds the
    /// segment base, in the original and in the rewritten instruction alike.
    pub fn rip_target(&self, orig_addr: u64) -> Option<u64> {
        self.rip_relative?;
        let next = orig_addr.wrapping_add(u64::from(self.len));
        let target = next.wrapping_add(self.disp_value()? as u64);
        if self.prefixes.has(Prefixes::ADSIZE) {
            Some(target & 0xffff_ffff)
        } else {
            Some(target)
        }
    }

    /// Whether this is a string instruction with a `rep`/`repe`/`repne`
    /// prefix (`movs`, `cmps`, `stos`, `lods`, `scas`; `ins`/`outs` are
    /// refused anyway). With TF set the CPU traps after each iteration, with
    /// `%rip` still at the instruction until the last one: a single step
    /// of it may end before the instruction does.
    pub fn is_rep_string(&self) -> bool {
        self.map == OpcodeMap::Primary
            && self.vex.is_none()
            && matches!(self.opcode, 0xa4..=0xa7 | 0xaa..=0xaf)
            && self.prefixes.has(Prefixes::REP | Prefixes::REPNE)
    }

    /// The out-of-line execution verdict.
    pub fn verdict(&self) -> Verdict {
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
        } = self.verdict()
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
        let Verdict::StepRipFixup { disp_offset, .. } = self.verdict() else {
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

/// Decodes and classifies the instruction at the start of `bytes`.
pub fn analyze(bytes: &[u8]) -> Verdict {
    match decode(bytes) {
        Ok(insn) => insn.verdict(),
        Err(reason) => Verdict::Refuse(reason),
    }
}

/// [`Insn::fixup_rip_scratch`] on raw bytes.
pub fn fixup_rip_scratch(bytes: &[u8], orig_addr: u64) -> Option<ScratchFixup> {
    decode(bytes).ok()?.fixup_rip_scratch(orig_addr)
}

/// [`Insn::fixup_rip_disp`] on raw bytes.
pub fn fixup_rip_disp(bytes: &[u8], orig_addr: u64, xol_addr: u64) -> Option<Rewritten> {
    decode(bytes).ok()?.fixup_rip_disp(orig_addr, xol_addr)
}

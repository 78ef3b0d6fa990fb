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
//!
//! Files: this one holds the types and entry points; `tables` the opcode
//! maps, `decode` the structure, `classify` the verdict, `fixup` the
//! RIP-relative rewrites. Objects: none owned (every result is a `Copy`
//! value). Context: any; no lock, no allocation, bounded time (15 bytes at
//! most are looked at).

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
    /// The common integer instructions, run by [`emul::exec`] (loads and
    /// stores, arithmetic and logic, shifts, `imul`, `cmov`, `setcc`,
    /// `push`/`pop`, `leave`, `ret`, indirect `call`/`jmp` ...).
    Exec {
        /// What it does.
        plan: emul::Plan,
        /// The fix-ups of its step, when it is stepped after all (the
        /// task steps itself, or a memory access would fault).
        fixups: Fixups,
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
            Emulation::Exec { plan, .. } => plan.op.class(),
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
        v @ Verdict::Emulate(Emulation::Exec { .. }) => {
            // And how it is stepped when it cannot be emulated.
            write!(w, "len={len} verdict={} fallback=", v.name())?;
            write_step(w, insn.step_verdict())
        }
        v @ Verdict::Emulate(_) => write!(w, "len={len} verdict={}", v.name()),
        v => {
            write!(w, "len={len} verdict=")?;
            write_step(w, v)
        }
    }
}

/// `step fixups=...` or `step-fixup rip_disp_off=K scratch=R fixups=...`.
fn write_step(w: &mut impl fmt::Write, v: Verdict) -> fmt::Result {
    match v {
        Verdict::Step { fixups } => write!(w, "{} fixups={fixups}", v.name()),
        Verdict::StepRipFixup {
            disp_offset,
            scratch,
            fixups,
        } => write!(
            w,
            "{} rip_disp_off={disp_offset} scratch={} fixups={fixups}",
            v.name(),
            scratch.name()
        ),
        v => w.write_str(v.name()),
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
            Verdict::Emulate(Emulation::Exec { plan, .. }) => plan.op.verdict_name(),
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

mod classify;
mod decode;
pub mod emul;
mod fixup;
mod tables;

pub use decode::decode;

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
}

/// Decodes and classifies the instruction at the start of `bytes`.
pub fn analyze(bytes: &[u8]) -> Verdict {
    match decode(bytes) {
        Ok(insn) => insn.verdict(),
        Err(reason) => Verdict::Refuse(reason),
    }
}

/// [`analyze`] without the emulator: how the instruction is stepped
/// ([`Insn::step_verdict`]).
pub fn analyze_step(bytes: &[u8]) -> Verdict {
    match decode(bytes) {
        Ok(insn) => insn.step_verdict(),
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

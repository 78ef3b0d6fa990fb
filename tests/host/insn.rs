//! Host tests of the x86_64 user-probe instruction decoder (`src/insn/`):
//! a hand-picked table of lengths and verdicts, refusal reasons, decoded
//! fields, the RIP-relative rewrite helpers, and a differential comparison of
//! instruction lengths against `iced-x86` on real ELF binaries and on
//! deterministic random byte strings.

use iced_x86::{Decoder, DecoderError, DecoderOptions, Instruction, Mnemonic, OpKind, Register};
use rprobes_core::insn::{
    analyze, analyze_step, choose_scratch, decode, fixup_rip_disp, fixup_rip_scratch, Emulation,
    Fixups, Gpr, OpcodeMap, Prefixes, Reason, Verdict, VexKind, MAX_INSN_LEN,
};
use std::collections::BTreeMap;

#[path = "common/insn_invariants.rs"]
mod invariants;

use invariants::{random_insn, Rng};

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap_or_else(|_| panic!("bad hex {b:?} in {s:?}")))
        .collect()
}

/// `(length if decodable, verdict name or "refuse=<reason>")`.
fn summary(bytes: &[u8]) -> (Option<usize>, String) {
    match decode(bytes) {
        Err(r) => (None, format!("refuse={r}")),
        Ok(insn) => {
            // The stepping classifier's verdict (what the emulator falls
            // back to; tests/host/emul.rs checks the emulation).
            let v = match insn.verdict() {
                Verdict::Emulate(Emulation::Exec { .. }) => insn.step_verdict(),
                v => v,
            };
            let s = match v {
                Verdict::Refuse(r) => format!("refuse={r}"),
                _ => v.name().to_string(),
            };
            (Some(insn.len()), s)
        }
    }
}

/// Hand-picked instructions: bytes, expected length (None when the decoder
/// itself refuses), expected verdict.
const TABLE: &[(&str, Option<usize>, &str)] = &[
    // Nops.
    ("90", Some(1), "emulate-nop"),
    ("66 90", Some(2), "emulate-nop"),
    ("48 90", Some(2), "emulate-nop"),
    ("f3 90", Some(2), "step"),    // pause
    ("41 90", Some(2), "step"),    // xchg r8d, eax
    ("41 41 90", Some(3), "step"), // last REX counts
    ("41 40 90", Some(3), "emulate-nop"),
    ("0f 1f 00", Some(3), "emulate-nop"),
    ("0f 1f 40 00", Some(4), "emulate-nop"),
    ("0f 1f 44 00 00", Some(5), "emulate-nop"),
    ("66 0f 1f 44 00 00", Some(6), "emulate-nop"),
    ("0f 1f 80 00 00 00 00", Some(7), "emulate-nop"),
    ("0f 1f 84 00 00 00 00 00", Some(8), "emulate-nop"),
    ("66 0f 1f 84 00 00 00 00 00", Some(9), "emulate-nop"),
    ("66 2e 0f 1f 84 00 00 00 00 00", Some(10), "emulate-nop"),
    ("66 66 2e 0f 1f 84 00 00 00 00 00", Some(11), "emulate-nop"),
    ("0f 1f 05 00 00 00 00", Some(7), "emulate-nop"), // nop [rip]: no access
    ("0f 1f c8", Some(3), "step"),                    // 0f 1f /1: hint nop
    ("f3 0f 1e fa", Some(4), "emulate-nop"),          // endbr64
    ("f3 0f 1e fb", Some(4), "emulate-nop"),          // endbr32
    ("f3 48 0f 1e c8", Some(5), "step"),              // rdsspq rax
    ("f0 90", Some(2), "refuse=bad-lock"),
    // push / pop.
    ("55", Some(1), "emulate-push"),
    ("41 57", Some(2), "emulate-push"),
    ("48 53", Some(2), "emulate-push"),
    ("66 50", Some(2), "step"), // push ax
    ("2e 50", Some(2), "step"),
    ("5d", Some(1), "step"),
    // mov between registers is emulated; with a memory operand, 66 or any
    // other prefix it is stepped.
    ("48 89 e5", Some(3), "emulate-mov"), // mov %rsp,%rbp
    ("89 f1", Some(2), "emulate-mov"),    // mov %esi,%ecx
    ("4d 89 e0", Some(3), "emulate-mov"), // mov %r12,%r8
    ("48 8b d0", Some(3), "emulate-mov"), // mov %rax,%rdx (8B form)
    ("48 89 ec", Some(3), "emulate-mov"), // mov %rbp,%rsp
    ("66 89 c8", Some(3), "step"),        // mov %cx,%ax
    ("2e 48 89 e5", Some(4), "step"),
    ("48 89 45 f8", Some(4), "step"), // mov %rax,-8(%rbp)
    ("48 8b 45 f8", Some(4), "step"),
    ("88 c8", Some(2), "step"), // mov %cl,%al
    ("41 5f", Some(2), "step"),
    ("ff 35 00 00 00 00", Some(6), "step-fixup"), // push [rip]
    ("8f 05 00 00 00 00", Some(6), "step-fixup"), // pop [rip]
    ("8f c0", Some(2), "step"),                   // pop rax (8f /0)
    ("8f 40 08", Some(3), "step"),
    ("68 00 01 00 00", Some(5), "step"),
    ("66 68 34 12", Some(4), "step"),
    ("6a 01", Some(2), "step"),
    // Relative branches.
    ("e8 00 00 00 00", Some(5), "emulate-call"),
    ("e9 10 00 00 00", Some(5), "emulate-jmp"),
    ("eb fe", Some(2), "emulate-jmp"),
    ("74 05", Some(2), "emulate-jcc"),
    ("7f 80", Some(2), "emulate-jcc"),
    ("0f 84 00 01 00 00", Some(6), "emulate-jcc"),
    ("0f 8f fa ff ff ff", Some(6), "emulate-jcc"),
    ("3e 74 05", Some(3), "emulate-jcc"),
    ("2e 0f 85 00 00 00 00", Some(7), "emulate-jcc"),
    ("f2 e9 00 00 00 00", Some(6), "emulate-jmp"), // bnd jmp
    ("f2 e8 00 00 00 00", Some(6), "emulate-call"),
    ("48 e8 00 00 00 00", Some(6), "emulate-call"),
    ("66 e8 00 00 00 00", Some(6), "refuse=bad-prefix"),
    ("66 eb 00", Some(3), "refuse=bad-prefix"),
    ("66 66 48 e8 00 00 00 00", Some(8), "emulate-call"), // TLS padding: REX.W wins
    ("66 48 ff d0", Some(4), "step"),
    ("66 0f 84 00 00 00 00", Some(7), "refuse=bad-prefix"),
    ("e3 fe", Some(2), "step"),    // jrcxz
    ("67 e3 fe", Some(3), "step"), // jecxz
    ("e2 fe", Some(2), "step"),    // loop
    ("e0 10", Some(2), "step"),    // loopne
    ("66 e2 fe", Some(3), "refuse=bad-prefix"),
    ("c7 f8 00 00 00 00", Some(6), "step"), // xbegin
    ("66 c7 f8 00 00", Some(5), "refuse=bad-prefix"),
    ("c6 f8 01", Some(3), "step"), // xabort
    // Returns and indirect branches.
    ("c3", Some(1), "step"),
    ("f3 c3", Some(2), "step"),
    ("f2 c3", Some(2), "step"),
    ("c2 08 00", Some(3), "step"),
    ("ff d0", Some(2), "step"),    // call rax
    ("41 ff d3", Some(3), "step"), // call r11
    ("ff 14 c5 00 00 00 00", Some(7), "step"),
    ("ff 15 00 00 00 00", Some(6), "step-fixup"), // call [rip]
    ("ff 25 00 00 00 00", Some(6), "step-fixup"), // jmp [rip]
    ("f2 ff 25 00 00 00 00", Some(7), "step-fixup"), // bnd jmp [rip]
    ("3e ff e0", Some(3), "step"),                // notrack jmp rax
    ("66 ff d0", Some(3), "refuse=bad-prefix"),
    ("66 ff e0", Some(3), "step"),
    // Far transfers.
    ("ff 18", Some(2), "refuse=far-transfer"),
    ("48 ff 18", Some(3), "refuse=far-transfer"),
    ("ff 2c 24", Some(3), "refuse=far-transfer"),
    ("ca 08 00", Some(3), "refuse=far-transfer"),
    ("cb", Some(1), "refuse=far-transfer"),
    ("48 cb", Some(2), "refuse=far-transfer"),
    ("9a 00 00 00 00 10 00", None, "refuse=far-transfer"),
    ("ea 00 00 00 00 10 00", None, "refuse=far-transfer"),
    // Interrupts, system calls, iret.
    ("cc", Some(1), "refuse=int"),
    ("cd 80", Some(2), "refuse=int"),
    ("cd 03", Some(2), "refuse=int"),
    ("f1", Some(1), "refuse=int"),
    ("ce", None, "refuse=int"),
    ("0f 05", Some(2), "refuse=syscall"),
    ("0f 07", Some(2), "refuse=syscall"),
    ("48 0f 07", Some(3), "refuse=syscall"),
    ("0f 34", Some(2), "refuse=syscall"),
    ("0f 35", Some(2), "refuse=syscall"),
    ("cf", Some(1), "refuse=iret"),
    ("48 cf", Some(2), "refuse=iret"),
    ("f3 0f 01 ec", Some(4), "refuse=iret"), // uiret
    // Segment loads.
    ("8e d8", Some(2), "refuse=segment-load"), // mov ds, eax
    ("8e d0", Some(2), "refuse=segment-load"), // mov ss, eax
    ("8e 15 00 00 00 00", Some(6), "refuse=segment-load"),
    ("8e c8", Some(2), "refuse=undefined"), // mov cs
    ("8e f0", Some(2), "refuse=undefined"),
    ("8c d8", Some(2), "step"), // mov eax, ds
    ("0f a1", Some(2), "refuse=segment-load"),
    ("0f a9", Some(2), "refuse=segment-load"),
    ("0f b2 00", Some(3), "refuse=segment-load"), // lss
    ("48 0f b4 00", Some(4), "refuse=segment-load"),
    ("0f b5 00", Some(3), "refuse=segment-load"),
    ("0f b2 c0", Some(3), "refuse=undefined"),
    ("07", None, "refuse=segment-load"),
    ("17", None, "refuse=segment-load"),
    ("1f", None, "refuse=segment-load"),
    ("0f a0", Some(2), "step"), // push fs
    // Invalid in 64-bit mode.
    ("06", None, "refuse=undefined"),
    ("0e", None, "refuse=undefined"),
    ("16", None, "refuse=undefined"),
    ("1e", None, "refuse=undefined"),
    ("27", None, "refuse=undefined"),
    ("2f", None, "refuse=undefined"),
    ("37", None, "refuse=undefined"),
    ("3f", None, "refuse=undefined"),
    ("60", None, "refuse=undefined"),
    ("61", None, "refuse=undefined"),
    ("82 c0 01", None, "refuse=undefined"),
    ("d4 0a", None, "refuse=undefined"),
    ("d5 0a", None, "refuse=undefined"),
    ("d6", None, "refuse=undefined"),
    ("0f 04", None, "refuse=undefined"),
    ("0f 24 c0", None, "refuse=undefined"),
    ("0f 0b", Some(2), "refuse=undefined"),    // ud2
    ("0f b9 c0", Some(3), "refuse=undefined"), // ud1
    ("0f ff c0", Some(3), "refuse=undefined"), // ud0
    ("0f b8 c0", Some(3), "refuse=undefined"), // jmpe
    ("ff f8", Some(2), "refuse=undefined"),
    ("fe d0", Some(2), "refuse=undefined"),
    ("c6 c8 01", Some(3), "refuse=undefined"),
    ("c7 c8 01 00 00 00", Some(6), "refuse=undefined"),
    ("8d c0", Some(2), "refuse=undefined"), // lea with a register
    ("8f c8 78 c0 c1 00", Some(6), "refuse=unsupported"), // XOP map 8
    // Privileged and system.
    ("f4", Some(1), "refuse=privileged"),
    ("fa", Some(1), "refuse=privileged"),
    ("fb", Some(1), "refuse=privileged"),
    ("e4 60", Some(2), "refuse=privileged"),
    ("e6 80", Some(2), "refuse=privileged"),
    ("ec", Some(1), "refuse=privileged"),
    ("66 ef", Some(2), "refuse=privileged"),
    ("6c", Some(1), "refuse=privileged"),
    ("f3 6f", Some(2), "refuse=privileged"),
    ("0f 30", Some(2), "refuse=privileged"),
    ("0f 32", Some(2), "refuse=privileged"),
    ("0f 20 c0", Some(3), "refuse=privileged"), // mov rax, cr0
    ("0f 22 d8", Some(3), "refuse=privileged"),
    ("0f 21 c0", Some(3), "refuse=privileged"),
    ("0f 20 05", Some(3), "refuse=privileged"), // mod is ignored: no disp
    ("0f 01 10", Some(3), "refuse=privileged"), // lgdt
    ("0f 01 05 00 00 00 00", Some(7), "refuse=privileged"), // sgdt [rip]
    ("0f 01 f8", Some(3), "refuse=privileged"), // swapgs
    ("0f 01 d1", Some(3), "refuse=privileged"), // xsetbv
    ("0f 01 c8", Some(3), "refuse=privileged"), // monitor
    ("0f 01 ca", Some(3), "refuse=privileged"), // clac
    ("0f 00 c0", Some(3), "refuse=privileged"), // sldt
    ("0f 06", Some(2), "refuse=privileged"),
    ("0f 08", Some(2), "refuse=privileged"),
    ("0f 09", Some(2), "refuse=privileged"),
    ("f3 0f 09", Some(3), "refuse=privileged"), // wbnoinvd
    ("0f aa", Some(2), "refuse=privileged"),
    ("0f 37", Some(2), "refuse=privileged"),
    ("0f 78 c0", Some(3), "refuse=privileged"), // vmread
    ("0f 79 c0", Some(3), "refuse=privileged"),
    ("66 0f 38 80 00", Some(5), "refuse=privileged"), // invept
    ("66 0f 38 82 08", Some(5), "refuse=privileged"), // invpcid
    ("0f c7 30", Some(3), "refuse=privileged"),       // vmptrld
    ("0f c7 18", Some(3), "refuse=privileged"),       // xrstors
    ("f3 0f ae 30", Some(4), "refuse=privileged"),    // clrssbsy
    ("f3 0f 3a f0 c0 01", Some(6), "refuse=privileged"), // hreset
    // User-mode group 7/9/15 members.
    ("0f 01 d0", Some(3), "step"),                      // xgetbv
    ("0f 01 d6", Some(3), "step"),                      // xtest
    ("0f 01 f9", Some(3), "step"),                      // rdtscp
    ("0f 01 ee", Some(3), "step"),                      // rdpkru
    ("0f 01 ef", Some(3), "step"),                      // wrpkru
    ("0f 01 e8", Some(3), "step"),                      // serialize
    ("0f 31", Some(2), "step"),                         // rdtsc
    ("0f 33", Some(2), "step"),                         // rdpmc
    ("0f a2", Some(2), "step"),                         // cpuid
    ("0f ae f0", Some(3), "step"),                      // mfence
    ("0f ae e8", Some(3), "step"),                      // lfence
    ("0f ae 05 00 00 00 00", Some(7), "step-fixup"),    // fxsave [rip]
    ("48 0f ae 20", Some(4), "step"),                   // xsave64 [rax]
    ("f3 48 0f ae c0", Some(5), "step"),                // rdfsbase rax
    ("66 0f ae 3d 00 00 00 00", Some(8), "step-fixup"), // clflushopt [rip]
    ("66 0f ae f1", Some(4), "step"),                   // tpause ecx
    ("0f ae c0", Some(3), "refuse=undefined"),
    ("0f c7 f0", Some(3), "step"),                   // rdrand eax
    ("48 0f c7 f8", Some(4), "step"),                // rdseed rax
    ("f3 0f c7 f8", Some(4), "step"),                // rdpid
    ("0f c7 0d 00 00 00 00", Some(7), "step-fixup"), // cmpxchg8b [rip]
    ("0f c7 c8", Some(3), "refuse=undefined"),
    ("0f c7 20", Some(3), "step"), // xsavec
    // Flags.
    ("9c", Some(1), "step"),
    ("9d", Some(1), "step"),
    // Lock.
    ("f0 01 00", Some(3), "step"),
    ("f0 48 83 05 00 00 00 00 01", Some(9), "step-fixup"),
    ("f0 0f c1 0d 00 00 00 00", Some(8), "step-fixup"), // lock xadd [rip], ecx
    ("f0 48 0f c7 0d 00 00 00 00", Some(9), "step-fixup"),
    ("f0 87 00", Some(3), "step"),
    ("f0 0f ba 28 01", Some(5), "step"), // lock bts [rax], 1
    ("f0 01 c0", Some(3), "refuse=bad-lock"),
    ("f0 8b 00", Some(3), "refuse=bad-lock"),
    ("f0 83 38 00", Some(4), "refuse=bad-lock"), // lock cmp
    ("f0 0f ba 20 01", Some(5), "refuse=bad-lock"), // lock bt
    ("f0 f6 00 01", Some(4), "refuse=bad-lock"), // lock test
    ("f0 0f c7 f0", Some(4), "refuse=bad-lock"),
    ("f2 f0 01 00", Some(4), "step"), // xacquire lock add
    // Immediate sizes.
    ("48 a1 88 77 66 55 44 33 22 11", Some(10), "step"), // mov rax, moffs64
    ("a0 88 77 66 55 44 33 22 11", Some(9), "step"),
    ("67 a1 44 33 22 11", Some(6), "step"),
    ("66 67 a3 44 33 22 11", Some(7), "step"),
    ("48 b8 88 77 66 55 44 33 22 11", Some(10), "step"),
    ("b8 44 33 22 11", Some(5), "step"),
    ("66 b8 22 11", Some(4), "step"),
    ("66 48 b8 88 77 66 55 44 33 22 11", Some(11), "step"),
    ("48 66 b8 22 11", Some(5), "step"), // REX before 66 is ignored
    ("41 b0 01", Some(3), "step"),
    ("c8 10 00 01", Some(4), "step"), // enter
    ("69 c0 00 01 00 00", Some(6), "step"),
    ("66 69 c0 00 01", Some(5), "step"),
    ("6b c0 01", Some(3), "step"),
    ("05 00 00 00 01", Some(5), "step"),
    ("66 05 00 01", Some(4), "step"),
    ("48 05 00 00 00 01", Some(6), "step"),
    ("a9 00 00 00 01", Some(5), "step"),
    ("c6 05 00 00 00 00 01", Some(7), "step-fixup"),
    ("c7 05 d0 ff ff ff 01 00 00 00", Some(10), "step-fixup"),
    ("48 c7 05 00 00 00 00 ff ff ff ff", Some(11), "step-fixup"),
    ("66 c7 05 00 00 00 00 34 12", Some(9), "step-fixup"),
    ("80 3d 00 00 00 00 00", Some(7), "step-fixup"),
    ("81 3d 00 00 00 00 00 00 00 00", Some(10), "step-fixup"),
    ("83 3d 00 00 00 00 00", Some(7), "step-fixup"),
    ("f6 05 00 00 00 00 01", Some(7), "step-fixup"), // test byte [rip], 1
    ("f6 0d 00 00 00 00 01", Some(7), "step-fixup"), // test /1 alias
    ("f7 05 00 00 00 00 01 00 00 00", Some(10), "step-fixup"),
    ("66 f7 05 00 00 00 00 01 00", Some(9), "step-fixup"),
    ("48 f7 05 00 00 00 00 01 00 00 00", Some(11), "step-fixup"),
    ("f7 d8", Some(2), "step"),                      // neg eax: no imm
    ("f6 f1", Some(2), "step"),                      // div cl
    ("48 f7 35 00 00 00 00", Some(7), "step-fixup"), // div qword [rip]
    ("c1 e0 04", Some(3), "step"),
    ("d3 25 00 00 00 00", Some(6), "step-fixup"), // shl dword [rip], cl
    ("0f a4 c0 04", Some(4), "step"),             // shld eax, eax, 4
    ("0f ba e0 05", Some(4), "step"),             // bt eax, 5
    ("0f ba c0 05", Some(4), "refuse=undefined"),
    // ModRM / SIB / displacement forms.
    ("8b 04 24", Some(3), "step"),
    ("8b 44 24 08", Some(4), "step"),
    ("8b 84 24 00 01 00 00", Some(7), "step"),
    ("8b 04 25 00 10 00 00", Some(7), "step"), // [disp32], no base: not rip
    ("8b 05 00 00 00 00", Some(6), "step-fixup"),
    ("8b 45 00", Some(3), "step"),                   // [rbp+0]
    ("41 8b 45 00", Some(4), "step"),                // [r13+0]
    ("41 8b 05 00 00 00 00", Some(7), "step-fixup"), // REX.B does not matter
    ("67 8b 05 00 00 00 00", Some(7), "step-fixup"), // [eip+disp32]
    ("67 8b 04 24", Some(4), "step"),
    ("48 8b 05 00 00 00 00", Some(7), "step-fixup"),
    ("48 8d 3d 00 00 00 00", Some(7), "step-fixup"), // lea rdi, [rip]
    ("4c 8d 35 00 00 00 00", Some(7), "step-fixup"), // lea r14, [rip]
    ("41 2e 8b 05 00 00 00 00", Some(8), "step-fixup"), // REX ignored
    ("48 63 05 00 00 00 00", Some(7), "step-fixup"), // movsxd
    ("64 48 8b 04 25 28 00 00 00", Some(9), "step"), // mov rax, fs:0x28
    ("65 48 8b 05 00 00 00 00", Some(8), "step-fixup"), // gs:[rip]
    ("48 89 e5", Some(3), "emulate-mov"),
    ("48 66 89 c0", Some(4), "step"), // REX ignored, mov ax, ax
    ("a4", Some(1), "step"),
    ("f3 48 a5", Some(3), "step"), // rep movsq
    ("d7", Some(1), "step"),       // xlat
    // x87.
    ("d9 05 00 00 00 00", Some(6), "step-fixup"), // fld dword [rip]
    ("dd 05 00 00 00 00", Some(6), "step-fixup"),
    ("d9 c9", Some(2), "step"), // fxch
    ("d9 e0", Some(2), "step"), // fchs
    ("d9 ee", Some(2), "step"), // fldz
    ("d9 d8", Some(2), "refuse=undefined"),
    ("d9 08", Some(2), "refuse=undefined"), // d9 /1 mem
    ("db e3", Some(2), "step"),             // fninit
    ("db 20", Some(2), "refuse=undefined"), // db /4 mem
    ("dd 28", Some(2), "refuse=undefined"), // dd /5 mem
    ("de d9", Some(2), "step"),             // fcompp
    ("df e0", Some(2), "step"),             // fnstsw ax
    ("df e8", Some(2), "step"),             // fucomip
    ("df c0", Some(2), "refuse=undefined"), // ffreep (undocumented)
    ("9b", Some(1), "step"),
    // SSE (legacy maps).
    ("66 0f 6f 05 00 00 00 00", Some(8), "step-fixup"),
    ("f3 0f 6f 05 00 00 00 00", Some(8), "step-fixup"),
    ("0f 28 c1", Some(3), "step"),
    ("66 0f 3a 0f c1 08", Some(6), "step"),
    ("66 0f 3a 0f 05 00 00 00 00 08", Some(10), "step-fixup"),
    ("66 0f 38 00 c1", Some(5), "step"),
    ("66 0f 38 00 05 00 00 00 00", Some(9), "step-fixup"),
    ("0f 38 f0 05 00 00 00 00", Some(8), "step-fixup"), // movbe
    ("f2 48 0f 38 f1 c0", Some(6), "step"),             // crc32
    ("66 0f 3a 63 05 00 00 00 00 00", Some(10), "step-fixup"), // pcmpistri
    ("66 0f 3a 44 c1 00", Some(6), "step"),             // pclmulqdq
    ("66 0f 38 dc c1", Some(5), "step"),                // aesenc
    ("66 0f 38 f8 05 00 00 00 00", Some(9), "step-fixup"), // movdir64b
    ("66 0f 38 50 c1", Some(5), "refuse=undefined"),
    ("66 0f 3a 50 c1 00", Some(6), "refuse=undefined"),
    ("f3 0f 54 c1", Some(4), "refuse=undefined"), // andps has no F3 form
    ("0f 38 10 c1", Some(4), "refuse=undefined"), // pblendvb needs 66
    ("f3 0f ee c1", Some(4), "refuse=undefined"), // MMX with F3
    ("f3 0f af c0", Some(4), "step"),             // F3 is no mandatory prefix here
    ("f3 0f b8 c0", Some(4), "step"),             // popcnt
    ("f3 0f bc c0", Some(4), "step"),             // tzcnt
    ("66 0f 78 c0 01 02", Some(6), "step"),       // extrq
    ("f2 0f 78 c1 01 02", Some(6), "step"),       // insertq
    ("66 0f 78 c8 01 02", Some(6), "refuse=undefined"),
    ("0f 70 c1 1b", Some(4), "step"), // pshufw
    ("66 0f 70 05 00 00 00 00 1b", Some(9), "step-fixup"),
    ("66 0f 71 d0 01", Some(5), "step"), // psrlw xmm0, 1
    ("66 0f 73 d8 01", Some(5), "step"), // psrldq
    ("0f 73 d8 01", Some(4), "refuse=undefined"),
    ("0f 71 10 01", Some(4), "refuse=undefined"),
    ("66 0f c2 05 00 00 00 00 01", Some(9), "step-fixup"),
    ("0f f7 c1", Some(3), "step"), // maskmovq
    ("0f f7 01", Some(3), "refuse=undefined"),
    ("0f 0d 08", Some(3), "step"),                   // prefetchw
    ("0f 18 05 00 00 00 00", Some(7), "step-fixup"), // prefetchnta [rip]
    ("0f 0e", Some(2), "refuse=unsupported"),        // femms
    ("0f 0f c1 9e", Some(4), "refuse=unsupported"),  // pfadd
    ("0f 0f 05 00 00 00 00 9e", Some(8), "refuse=unsupported"),
    ("f3 0f a7 c0", Some(4), "refuse=unsupported"), // xstore
    // MPX: bndcl computes an address (fine), bndmk/bndldx/bndstx are #UD
    // with RIP-relative operands.
    ("f3 0f 1a 05 00 00 00 00", Some(8), "step-fixup"),
    ("f3 0f 1b 05 00 00 00 00", Some(8), "refuse=rip-unfixable"),
    ("0f 1a 05 00 00 00 00", Some(7), "refuse=rip-unfixable"),
    ("0f 1b 05 00 00 00 00", Some(7), "refuse=rip-unfixable"),
    ("0f 1a 00", Some(3), "step"),
    // VEX.
    ("c5 f8 77", Some(3), "step"),                      // vzeroupper
    ("c5 fc 77", Some(3), "step"),                      // vzeroall
    ("c5 fe 6f 05 00 00 00 00", Some(8), "step-fixup"), // vmovdqu ymm0, [rip]
    ("c4 e1 7e 6f 05 00 00 00 00", Some(9), "step-fixup"),
    ("c4 c1 7e 6f 05 00 00 00 00", Some(9), "step-fixup"),
    ("c5 f9 6f c1", Some(4), "step"),
    ("c4 e2 7d 18 05 00 00 00 00", Some(9), "step-fixup"), // vbroadcastss
    ("c4 e3 7d 18 05 00 00 00 00 01", Some(10), "step-fixup"), // vinsertf128
    ("c4 e3 79 63 05 00 00 00 00 00", Some(10), "step-fixup"), // vpcmpistri
    ("c4 e2 63 f6 0d 00 00 00 00", Some(9), "step-fixup"), // mulx ecx, ebx, [rip]
    ("c4 e2 43 f6 35 00 00 00 00", Some(9), "step-fixup"), // mulx esi, edi, [rip]
    ("c4 e2 78 f2 05 00 00 00 00", Some(9), "step-fixup"), // andn
    ("c4 e3 fb f0 05 00 00 00 00 07", Some(10), "step-fixup"), // rorx
    ("c5 f9 71 d0 01", Some(5), "step"),                   // vpsrlw xmm0, xmm0, 1
    ("c5 f9 71 10 01", Some(5), "refuse=undefined"),
    ("c5 f9 f7 c1", Some(4), "step"), // vmaskmovdqu
    ("c5 f9 f7 01", Some(4), "refuse=undefined"),
    ("c5 f8 ae 15 00 00 00 00", Some(8), "step-fixup"), // vldmxcsr [rip]
    ("c4 e2 7d 90 05 00 00 00 00", Some(9), "refuse=undefined"), // VSIB, no SIB
    ("c4 e2 6d 90 04 08", Some(6), "step"),             // vpgatherdd ymm0, [rax+ymm1], ymm2
    ("c4 e2 7b 4b 05 00 00 00 00", Some(9), "refuse=undefined"), // tileloadd needs SIB
    ("c4 e2 78 49 05 00 00 00 00", Some(9), "step-fixup"), // ldtilecfg [rip]
    ("c5 f8 0b c0", Some(4), "refuse=undefined"),
    ("c5 fa 58 c1", Some(4), "step"),             // vaddss
    ("c5 fa 54 c1", Some(4), "refuse=undefined"), // F3 0F 54
    ("c5 f8 ae 10", Some(4), "step"),             // vldmxcsr [rax]
    ("c5 f8 ae 00", Some(4), "refuse=undefined"),
    ("c4 e2 78 f3 c8", Some(5), "step"), // blsr eax, eax
    ("c4 e2 78 f3 c0", Some(5), "refuse=undefined"),
    ("c4 e0 79 6f c1", None, "refuse=undefined"), // VEX map 0
    ("c4 e4 79 6f c1", None, "refuse=undefined"), // VEX map 4
    ("2e c5 f8 77", Some(4), "step"),
    ("67 c5 f8 77", Some(4), "step"),
    ("66 c5 f8 77", None, "refuse=bad-prefix"),
    ("f3 c5 f8 77", None, "refuse=bad-prefix"),
    ("f2 c4 e1 7e 6f c1", None, "refuse=bad-prefix"),
    ("f0 c5 f8 77", None, "refuse=bad-prefix"),
    ("48 c5 f8 77", None, "refuse=bad-prefix"),
    ("48 2e c5 f8 77", Some(5), "step"), // the REX is ignored
    // EVEX.
    ("62 f1 fe 48 6f 05 00 00 00 00", Some(10), "step-fixup"), // vmovdqu64 zmm0, [rip]
    ("62 d1 fe 48 6f 05 00 00 00 00", Some(10), "step-fixup"),
    ("62 f1 7c 48 28 40 01", Some(7), "step"), // vmovaps zmm0, [rax+0x40]
    ("62 f1 7c 48 28 c1", Some(6), "step"),
    ("62 f3 7d 48 1e 05 00 00 00 00 01", Some(11), "step-fixup"), // vpcmpud k0, zmm0, [rip], 1
    (
        "62 f2 7d 48 90 05 00 00 00 00",
        Some(10),
        "refuse=undefined",
    ), // gather, no SIB
    ("62 f5 7c 48 58 c1", Some(6), "step"),                       // vaddph (map 5)
    ("62 f6 7d 48 98 c1", Some(6), "step"),                       // vfmadd132ph (map 6)
    ("62 f1 7c 48 77 c1", Some(6), "refuse=undefined"),
    ("62 f1 7c c8 28 c1", Some(6), "refuse=undefined"), // {z} without a mask
    ("62 f1 7c c9 28 c1", Some(6), "step"),
    ("62 f1 7c 68 28 c1", Some(6), "refuse=undefined"), // L'L = 3
    ("62 f1 7c 78 58 c1", Some(6), "step"),             // {rn-sae}: L'L is rounding
    ("62 f1 7c 78 58 01", Some(6), "refuse=undefined"), // ... but not with memory
    ("62 f1 7d 48 71 10 01", Some(7), "step"),          // vpsrlw zmm0, [rax], 1
    ("62 f1 7c 48 28 c1", Some(6), "step"),
    ("62 f1 7d 48 28 c1", Some(6), "step"), // vmovapd
    ("62 f1 7e 48 28 c1", Some(6), "refuse=undefined"), // F3 0F 28
    ("62 f9 7c 48 28 c1", None, "refuse=undefined"), // P0 bit 3
    ("62 f1 78 48 28 c1", None, "refuse=undefined"), // P1 bit 2
    ("62 f4 7c 48 00 c1", None, "refuse=undefined"), // map 4 (APX)
    ("62 f7 7c 48 00 c1", None, "refuse=undefined"), // map 7
    ("66 62 f1 7c 48 28 c1", None, "refuse=bad-prefix"),
    ("41 62 f1 7c 48 28 c1", None, "refuse=bad-prefix"),
    // XOP (decoded for its length, not vouched for).
    ("8f e9 78 c1 c1", Some(5), "refuse=unsupported"),
    ("8f ea 78 10 c0 00 00 00 00", Some(9), "refuse=unsupported"), // bextr imm32
    (
        "8f e8 78 c0 05 00 00 00 00 01",
        Some(10),
        "refuse=unsupported",
    ),
    ("8f eb 78 10 c0", None, "refuse=undefined"), // XOP map 11
    ("66 8f e9 78 c1 c1", None, "refuse=bad-prefix"),
    ("41 8f c0", Some(3), "step"), // pop r8
    // Prefix soup and the 15-byte limit.
    (
        "26 2e 36 3e 64 65 66 67 f2 f3 48 8b 04 24",
        Some(14),
        "step",
    ),
    (
        "66 66 66 66 66 66 2e 0f 1f 84 00 00 00 00 00",
        Some(15),
        "emulate-nop",
    ),
    (
        "66 66 66 66 66 66 66 2e 0f 1f 84 00 00 00 00 00",
        None,
        "refuse=too-long",
    ),
    (
        "66 66 66 66 66 66 66 66 66 66 66 66 66 66 90",
        Some(15),
        "emulate-nop",
    ),
    (
        "66 66 66 66 66 66 66 66 66 66 66 66 66 66 66 90",
        None,
        "refuse=too-long",
    ),
    (
        "40 40 40 40 40 40 40 40 40 40 40 40 40 40 55",
        Some(15),
        "emulate-push",
    ),
    (
        "2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 2e 48 b8 00",
        None,
        "refuse=too-long",
    ),
    (
        "f2 f3 f2 f3 66 48 0f 10 05 00 00 00 00",
        Some(13),
        "step-fixup",
    ),
    // Truncated input.
    ("", None, "refuse=truncated"),
    ("66", None, "refuse=truncated"),
    ("48", None, "refuse=truncated"),
    ("0f", None, "refuse=truncated"),
    ("0f 38", None, "refuse=truncated"),
    ("0f 3a 0f c1", None, "refuse=truncated"),
    ("e8 00 00", None, "refuse=truncated"),
    ("8b", None, "refuse=truncated"),
    ("8b 04", None, "refuse=truncated"),
    ("8b 05 00 00", None, "refuse=truncated"),
    ("c4 e2", None, "refuse=truncated"),
    ("c5 f8", None, "refuse=truncated"),
    ("62 f1 fe", None, "refuse=truncated"),
    ("62 f1 fe 48 6f 05 00 00 00", None, "refuse=truncated"),
    ("8f", None, "refuse=truncated"),
    ("8f c8", None, "refuse=truncated"),
    ("66 c5", None, "refuse=truncated"),
    ("48 b8 00 00 00 00 00 00 00", None, "refuse=truncated"),
    ("c8 10 00", None, "refuse=truncated"),
];

#[test]
fn hand_picked_table() {
    let mut failures = Vec::new();
    for &(h, len, verdict) in TABLE {
        let bytes = hex(h);
        let got = summary(&bytes);
        if got != (len, verdict.to_string()) {
            failures.push(format!("{h:<45} want {len:?} {verdict:<22} got {got:?}"));
        }
        // Trailing bytes never change the result of a complete instruction.
        if let Some(n) = len {
            let mut longer = bytes.clone();
            longer.extend_from_slice(&[0xcc; 16]);
            let again = summary(&longer);
            if again != got {
                failures.push(format!("{h}: with trailing bytes {again:?} != {got:?}"));
            }
            assert!(n <= MAX_INSN_LEN);
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn table_invariants() {
    let mut rng = Rng(7);
    for &(h, _, _) in TABLE {
        let bytes = hex(h);
        for _ in 0..8 {
            let (orig, xol) = invariants::random_addrs(&mut rng);
            invariants::check(&bytes, orig, xol);
        }
    }
}

#[test]
fn every_reason_is_exercised_and_named() {
    for reason in Reason::ALL {
        let name = reason.name();
        assert!(!name.is_empty() && name.bytes().all(|c| c.is_ascii_lowercase() || c == b'-'));
        assert_eq!(format!("{reason}"), name);
        assert_eq!(Reason::ALL.iter().filter(|r| r.name() == name).count(), 1);
        let want = format!("refuse={name}");
        let in_table = TABLE.iter().any(|&(_, _, v)| v == want);
        // No encoding of today's ISA reaches NoScratchRegister (see below).
        assert!(
            in_table || reason == Reason::NoScratchRegister,
            "no table entry for {name}"
        );
    }
}

#[test]
fn scratch_register_choice() {
    // Preference rsi, rdi, rbx; none when all three are used.
    assert_eq!(choose_scratch(0), Some(Gpr::Rsi));
    assert_eq!(choose_scratch(1 << 6), Some(Gpr::Rdi));
    assert_eq!(choose_scratch((1 << 6) | (1 << 7)), Some(Gpr::Rbx));
    assert_eq!(choose_scratch((1 << 6) | (1 << 7) | (1 << 3)), None);
    assert_eq!(choose_scratch(0xffff), None);

    let scratch = |h: &str| match analyze_step(&hex(h)) {
        Verdict::StepRipFixup { scratch, .. } => scratch,
        v => panic!("{h}: {v:?}"),
    };
    assert_eq!(scratch("48 8b 05 00 00 00 00"), Gpr::Rsi); // reg rax
    assert_eq!(scratch("48 8d 35 00 00 00 00"), Gpr::Rdi); // lea rsi
    assert_eq!(scratch("4c 8d 35 00 00 00 00"), Gpr::Rdi); // r14: low bits, like the kernel
    assert_eq!(scratch("48 f7 35 00 00 00 00"), Gpr::Rdi); // div /6
    assert_eq!(scratch("c4 e2 43 f6 35 00 00 00 00"), Gpr::Rbx); // mulx esi, edi
    assert_eq!(scratch("0f c7 0d 00 00 00 00"), Gpr::Rsi); // cmpxchg8b (uses rbx)

    // cmpxchg8b uses rbx implicitly: it is never a candidate.
    let insn = decode(&hex("0f c7 0d 00 00 00 00")).unwrap();
    assert_ne!(insn.implicit_gprs() & (1 << 3), 0);
    // The refusal path itself: the verdict maps "no candidate" to the reason.
    assert_eq!(
        choose_scratch(insn.scratch_conflicts() | (1 << 6) | (1 << 7)),
        None
    );
}

#[test]
fn emulation_details() {
    let emu = |h: &str| match analyze(&hex(h)) {
        Verdict::Emulate(e) => e,
        v => panic!("{h}: {v:?}"),
    };
    assert_eq!(emu("55"), Emulation::Push { reg: 5 });
    assert_eq!(emu("41 57"), Emulation::Push { reg: 15 });
    assert_eq!(emu("49 50"), Emulation::Push { reg: 8 });
    let mov = |dst, src, wide| Emulation::Mov { dst, src, wide };
    assert_eq!(emu("48 89 e5"), mov(5, 4, true));
    assert_eq!(emu("89 f1"), mov(1, 6, false));
    assert_eq!(emu("4d 89 e0"), mov(8, 12, true));
    assert_eq!(emu("4c 89 e0"), mov(0, 12, true));
    assert_eq!(emu("49 89 e0"), mov(8, 4, true));
    assert_eq!(emu("48 8b d0"), mov(2, 0, true));
    assert_eq!(emu("4c 8b c7"), mov(8, 7, true));
    assert_eq!(emu("41 8b c7"), mov(0, 15, false));
    assert_eq!(emu("40 89 c0"), mov(0, 0, false));
    assert_eq!(emu("e8 fb ff ff ff"), Emulation::Call { rel: -5 });
    assert_eq!(emu("e9 00 01 00 00"), Emulation::Jmp { rel: 256 });
    assert_eq!(emu("eb 80"), Emulation::Jmp { rel: -128 });
    assert_eq!(emu("74 05"), Emulation::Jcc { cond: 4, rel: 5 });
    assert_eq!(emu("7f ff"), Emulation::Jcc { cond: 15, rel: -1 });
    assert_eq!(
        emu("0f 82 00 00 00 80"),
        Emulation::Jcc {
            cond: 2,
            rel: i32::MIN
        }
    );
    assert_eq!(emu("f3 0f 1e fa"), Emulation::Nop);
    assert_eq!(Emulation::Jcc { cond: 0, rel: 0 }.name(), "jcc");
}

#[test]
fn step_fixups() {
    let fx = |h: &str| analyze_step(&hex(h)).fixups();
    assert_eq!(fx("48 89 45 f8"), Fixups::IP);
    assert_eq!(fx("c3"), Fixups::NONE);
    assert_eq!(fx("c2 10 00"), Fixups::NONE);
    assert_eq!(fx("ff e0"), Fixups::NONE); // jmp rax
    assert_eq!(fx("ff d0"), Fixups::CALL_RET_ADDR);
    assert_eq!(
        fx("ff 15 00 00 00 00"),
        Fixups::CALL_RET_ADDR.with(Fixups::RIP_REL)
    );
    assert_eq!(fx("ff 25 00 00 00 00"), Fixups::RIP_REL);
    assert_eq!(fx("48 8b 05 00 00 00 00"), Fixups::IP.with(Fixups::RIP_REL));
    assert_eq!(fx("9d"), Fixups::IP.with(Fixups::SET_TF));
    assert_eq!(fx("9c"), Fixups::IP.with(Fixups::PUSHF_TF));
    assert_eq!(fx("e3 10"), Fixups::IP.with(Fixups::BRANCH_REL));
    assert_eq!(fx("c7 f8 00 01 00 00"), Fixups::IP.with(Fixups::BRANCH_REL));
    assert_eq!(fx("90"), Fixups::NONE); // emulated
    assert_eq!(fx("cc"), Fixups::NONE); // refused
    assert_eq!(
        format!("{}", Fixups::IP.with(Fixups::RIP_REL)),
        "ip,rip-rel"
    );
    assert_eq!(format!("{}", Fixups::NONE), "none");
    match analyze_step(&hex("48 8b 05 00 00 00 00")) {
        Verdict::StepRipFixup { disp_offset, .. } => assert_eq!(disp_offset, 3),
        v => panic!("{v:?}"),
    }
    match analyze(&hex("c4 e3 7d 18 05 00 00 00 00 01")) {
        Verdict::StepRipFixup { disp_offset, .. } => assert_eq!(disp_offset, 5),
        v => panic!("{v:?}"),
    }
}

#[test]
fn decoded_fields() {
    // lock cmpxchg16b [rip+0x10] with prefix soup.
    let i = decode(&hex("2e 66 f0 48 0f c7 0d 10 00 00 00")).unwrap();
    assert_eq!(i.len(), 11);
    assert!(i.prefixes.has(Prefixes::SEG_CS));
    assert!(i.prefixes.has(Prefixes::OPSIZE));
    assert!(i.prefixes.has(Prefixes::LOCK));
    assert!(!i.prefixes.has(Prefixes::REP));
    assert_eq!(i.prefixes.count(), 3);
    assert_eq!(i.prefixes.segment(), Some(0x2e));
    assert_eq!(i.rex.map(|r| (r.byte, r.offset)), Some((0x48, 3)));
    assert_eq!(
        (i.map, i.opcode, i.opcode_offset),
        (OpcodeMap::Map0F, 0xc7, 5)
    );
    assert_eq!(i.modrm.map(|f| f.offset), Some(6));
    assert_eq!(i.modrm_byte(), Some(0x0d));
    assert_eq!(i.sib, None);
    assert_eq!(i.disp.map(|f| (f.offset, f.size)), Some((7, 4)));
    assert_eq!(i.disp_value(), Some(0x10));
    assert_eq!(i.imm, None);
    assert_eq!(i.rip_relative, Some(7));
    assert_eq!(i.rip_target(0x1000), Some(0x1000 + 11 + 0x10));

    // REX followed by a legacy prefix is ignored.
    let i = decode(&hex("48 66 b8 34 12")).unwrap();
    assert_eq!(i.rex, None);
    assert_eq!(i.imm.map(|f| (f.offset, f.size)), Some((3, 2)));
    assert_eq!(i.imm_value(), Some(0x1234));

    // SIB + disp8 + imm8.
    let i = decode(&hex("c6 44 24 f8 7f")).unwrap();
    assert_eq!(i.sib_byte(), Some(0x24));
    assert_eq!(i.disp_value(), Some(-8));
    assert_eq!(i.imm.map(|f| (f.offset, f.size)), Some((4, 1)));
    assert_eq!(i.rip_relative, None);

    // enter: two immediates, one 3-byte field.
    let i = decode(&hex("c8 10 00 01")).unwrap();
    assert_eq!(i.imm.map(|f| (f.offset, f.size)), Some((1, 3)));

    // VEX3: vfmadd231ps ymm1, ymm2, [rip]  (W0, vvvv=2, L=1, pp=66, map 2)
    let i = decode(&hex("c4 e2 6d b8 0d 00 00 00 00")).unwrap();
    let v = i.vex.unwrap();
    assert_eq!(v.kind, VexKind::Vex3);
    assert_eq!((v.map, v.pp, v.l, v.w, v.vvvv), (2, 1, 1, false, 2));
    assert_eq!((v.r, v.x, v.b), (false, false, false));
    assert_eq!((i.map, i.opcode), (OpcodeMap::Map0F38, 0xb8));
    assert_eq!(i.rip_relative, Some(5));

    // VEX2 with R set: vmovaps xmm8, xmm1.
    let i = decode(&hex("c5 78 28 c1")).unwrap();
    let v = i.vex.unwrap();
    assert_eq!(
        (v.kind, v.r, v.vvvv, v.l, v.pp),
        (VexKind::Vex2, true, 0, 0, 0)
    );

    // EVEX: vaddps zmm1{k1}{z}, zmm2, [rax]{1to16}
    let i = decode(&hex("62 f1 6c d9 58 08")).unwrap();
    let v = i.vex.unwrap();
    assert_eq!(v.kind, VexKind::Evex);
    assert_eq!(
        (v.map, v.pp, v.w, v.vvvv, v.aaa, v.z, v.bcst),
        (1, 0, false, 2, 1, true, true)
    );
    assert_eq!(v.l, 2);
    assert_eq!(i.len(), 6);

    // 3DNow!: the suffix byte is the immediate.
    let i = decode(&hex("0f 0f 44 24 08 b4")).unwrap();
    assert_eq!((i.map, i.opcode), (OpcodeMap::Map0F, 0x0f));
    assert_eq!(i.imm.map(|f| (f.offset, f.size)), Some((5, 1)));
}

#[test]
fn rip_scratch_rewrite() {
    // mov rax, [rip+0x10] -> mov rax, [rsi+0]
    let f = fixup_rip_scratch(&hex("48 8b 05 10 00 00 00"), 0x40_0000).unwrap();
    assert_eq!(f.insn.as_bytes(), &hex("48 8b 86 00 00 00 00")[..]);
    assert_eq!(f.reg, Gpr::Rsi);
    assert_eq!(f.value, 0x40_0000 + 7 + 0x10);

    // mov r14, [rip-0x10] with a meaningless REX.B: REX.B cleared, rdi.
    let f = fixup_rip_scratch(&hex("4d 8b 35 f0 ff ff ff"), 0x40_0000).unwrap();
    assert_eq!(f.insn.as_bytes(), &hex("4c 8b b7 00 00 00 00")[..]);
    assert_eq!(f.reg, Gpr::Rdi);
    assert_eq!(f.value, 0x40_0000 + 7 - 0x10);

    // Immediate after the displacement is kept.
    let f = fixup_rip_scratch(&hex("c7 05 00 01 00 00 2a 00 00 00"), 0x1000).unwrap();
    assert_eq!(f.insn.as_bytes(), &hex("c7 86 00 00 00 00 2a 00 00 00")[..]);
    assert_eq!(f.value, 0x1000 + 10 + 0x100);

    // VEX3 with B set: B (inverted, bit 5) is cleared to select rsi.
    let f = fixup_rip_scratch(&hex("c4 c1 7e 6f 05 00 00 00 00"), 0).unwrap();
    assert_eq!(f.insn.as_bytes(), &hex("c4 e1 7e 6f 86 00 00 00 00")[..]);
    // EVEX: B and X set to their "no extension" values.
    let f = fixup_rip_scratch(&hex("62 91 fe 48 6f 05 00 00 00 00"), 0).unwrap();
    assert_eq!(f.insn.as_bytes(), &hex("62 f1 fe 48 6f 86 00 00 00 00")[..]);
    // VEX2 has no B bit.
    let f = fixup_rip_scratch(&hex("c5 fe 6f 0d 00 00 00 00"), 0).unwrap();
    assert_eq!(f.insn.as_bytes(), &hex("c5 fe 6f 8e 00 00 00 00")[..]);

    // call [rip]: the rewritten copy still calls, through rsi.
    let f = fixup_rip_scratch(&hex("ff 15 00 10 00 00"), 0x7f00_0000_0000).unwrap();
    assert_eq!(f.insn.as_bytes(), &hex("ff 96 00 00 00 00")[..]);
    assert_eq!(f.value, 0x7f00_0000_0000 + 6 + 0x1000);

    // Address-size prefix: the target wraps at 4 GiB.
    let f = fixup_rip_scratch(&hex("67 8b 05 00 00 00 80"), 0x1_7fff_fff0).unwrap();
    assert_eq!(
        f.value,
        (0x1_7fff_fff0u64 + 7).wrapping_add(0xffff_ffff_8000_0000) & 0xffff_ffff
    );

    // The rewritten instruction decodes to the same length, no longer
    // RIP-relative, with the scratch register as base.
    for h in [
        "48 8b 05 10 00 00 00",
        "c4 e3 7d 18 05 00 00 00 00 01",
        "62 f3 7d 48 1e 05 00 00 00 00 01",
        "f0 48 0f c7 0d 00 00 00 00",
        "66 0f 3a 0f 05 00 00 00 00 08",
    ] {
        let orig = decode(&hex(h)).unwrap();
        let f = fixup_rip_scratch(&hex(h), 0x5000).unwrap();
        let new = decode(f.insn.as_bytes()).unwrap();
        assert_eq!(new.len(), orig.len(), "{h}");
        assert_eq!(new.rip_relative, None, "{h}");
        assert_eq!(new.modrm_byte().unwrap() & 7, f.reg.number(), "{h}");
        assert_eq!(new.modrm_byte().unwrap() >> 6, 2, "{h}");
        assert_eq!(new.imm, orig.imm, "{h}");
        assert!(new.verdict().is_accepted(), "{h}");
    }

    // Not RIP-relative or refused: no rewrite.
    assert_eq!(fixup_rip_scratch(&hex("48 89 c0"), 0), None);
    assert_eq!(fixup_rip_scratch(&hex("90"), 0), None);
    assert_eq!(fixup_rip_scratch(&hex("0f 01 05 00 00 00 00"), 0), None);
    assert_eq!(fixup_rip_scratch(&hex("0f 1a 05 00 00 00 00"), 0), None);
    assert_eq!(fixup_rip_scratch(&hex("48 8b 05 00"), 0), None);
}

#[test]
fn rip_disp_rewrite() {
    let orig = hex("48 8b 05 10 00 00 00");
    let (o, x) = (0x40_0000u64, 0x7000_0000u64);
    let r = fixup_rip_disp(&orig, o, x).unwrap();
    let new = decode(r.as_bytes()).unwrap();
    let old = decode(&orig).unwrap();
    assert_eq!(new.rip_target(x), old.rip_target(o));
    assert_eq!(new.disp_value(), Some(0x40_0000 + 0x10 - 0x7000_0000));
    assert_eq!(r.as_bytes()[..3], orig[..3]);

    // At the +/-2 GiB limits and one past them.
    let o = 0x5555_5555_0000u64;
    let target = o + 7 + 0x10;
    let xol_max = target + (1u64 << 31) - 7; // disp = target - (xol+7) = -2^31
    assert!(fixup_rip_disp(&orig, o, xol_max).is_some());
    assert!(fixup_rip_disp(&orig, o, xol_max + 1).is_none());
    let xol_min = target - 7 - ((1u64 << 31) - 1); // disp = 2^31 - 1
    assert!(fixup_rip_disp(&orig, o, xol_min).is_some());
    assert!(fixup_rip_disp(&orig, o, xol_min - 1).is_none());
    assert!(fixup_rip_disp(&orig, o, 0x7fff_ffff_f000).is_none());

    // With an immediate after the displacement, and EVEX.
    for h in [
        "c7 05 00 01 00 00 2a 00 00 00",
        "62 f1 fe 48 6f 05 00 00 00 f0",
    ] {
        let b = hex(h);
        let r = fixup_rip_disp(&b, 0x5555_0000_0000, 0x5555_4000_0000).unwrap();
        let new = decode(r.as_bytes()).unwrap();
        let old = decode(&b).unwrap();
        assert_eq!(
            new.rip_target(0x5555_4000_0000),
            old.rip_target(0x5555_0000_0000),
            "{h}"
        );
        assert_eq!(new.imm_value(), old.imm_value(), "{h}");
    }

    // Address-size prefix: always representable modulo 4 GiB.
    let b = hex("67 8b 05 00 00 00 00");
    let r = fixup_rip_disp(&b, 0x1000, 0x7fff_ffff_0000).unwrap();
    let new = decode(r.as_bytes()).unwrap();
    assert_eq!(
        new.rip_target(0x7fff_ffff_0000),
        decode(&b).unwrap().rip_target(0x1000)
    );

    assert_eq!(fixup_rip_disp(&hex("90"), 0, 0), None);
    assert_eq!(fixup_rip_disp(&hex("cd 80"), 0, 0), None);
}

// ---------------------------------------------------------------------------
// Differential testing against iced-x86.

/// Counters of one differential run.
#[derive(Default)]
struct Diff {
    /// Instructions decoded by both (lengths compared).
    compared: u64,
    /// Of those, verdict accepted (emulate/step).
    accepted: u64,
    /// iced decodes it, our decoder refuses to decode it, by reason.
    decode_refused: BTreeMap<&'static str, u64>,
    /// iced decodes it, our verdict refuses it, by reason.
    verdict_refused: BTreeMap<&'static str, u64>,
    /// We decode it, iced says invalid.
    iced_invalid: u64,
    /// We would probe it (emulate/step), iced says invalid.
    accepted_iced_invalid: u64,
    /// Disagreements on length or completeness (the ones that fail).
    mismatches: u64,
    /// `emulate-mov` verdicts whose registers or size iced does not confirm.
    mov_mismatches: u64,
    examples: Vec<String>,
    /// With `RPROBES_INSN_VERBOSE`: samples of the informational classes.
    samples: BTreeMap<String, Vec<String>>,
}

fn hex_str(bytes: &[u8]) -> String {
    let h: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    h.join(" ")
}

/// Whether iced sees `mov` between the general registers `dst` and `src`
/// (0..=15), 64-bit if `wide`, else 32-bit.
fn iced_same_mov(iced: &Instruction, dst: u8, src: u8, wide: bool) -> bool {
    let gpr = |r: Register| {
        let (base, size) = if wide {
            (Register::RAX, 8)
        } else {
            (Register::EAX, 4)
        };
        (r.size() == size && r.is_gpr()).then(|| r as u32 - base as u32)
    };
    iced.mnemonic() == Mnemonic::Mov
        && iced.op_count() == 2
        && iced.op0_kind() == OpKind::Register
        && iced.op1_kind() == OpKind::Register
        && gpr(iced.op0_register()) == Some(u32::from(dst))
        && gpr(iced.op1_register()) == Some(u32::from(src))
}

/// iced on `bytes` followed by zeros up to 15 bytes.
fn iced_padded(bytes: &[u8]) -> Instruction {
    let mut padded = [0u8; MAX_INSN_LEN];
    let n = bytes.len().min(MAX_INSN_LEN);
    padded[..n].copy_from_slice(&bytes[..n]);
    Decoder::new(64, &padded, DecoderOptions::NONE).decode()
}

impl Diff {
    fn sample(&mut self, class: String, bytes: &[u8], iced: &Instruction) {
        if std::env::var_os("RPROBES_INSN_VERBOSE").is_none() {
            return;
        }
        let v = self.samples.entry(class).or_default();
        if v.len() < 8 {
            v.push(format!("{} ({iced})", hex_str(bytes)));
        }
    }

    fn check(&mut self, bytes: &[u8], iced: &Instruction, iced_err: DecoderError) {
        let ours = decode(bytes);
        let iced_ok = !iced.is_invalid();
        let bad = match (&ours, iced_ok) {
            (Ok(insn), true) => {
                self.compared += 1;
                match insn.verdict() {
                    Verdict::Refuse(r) => {
                        *self.verdict_refused.entry(r.name()).or_default() += 1;
                        self.sample(format!("iced ok, verdict {r}"), bytes, iced);
                    }
                    Verdict::Emulate(Emulation::Mov { dst, src, wide }) => {
                        self.accepted += 1;
                        if !iced_same_mov(iced, dst, src, wide) {
                            self.sample("emulate-mov, iced disagrees".into(), bytes, iced);
                            self.mov_mismatches += 1;
                        }
                    }
                    _ => self.accepted += 1,
                }
                insn.len() != iced.len()
            }
            // We say the instruction does not fit, iced found all of it.
            (Err(Reason::Truncated | Reason::TooLong), true) => true,
            (Err(r), true) => {
                *self.decode_refused.entry(r.name()).or_default() += 1;
                self.sample(format!("iced ok, decode {r}"), bytes, iced);
                false
            }
            (Ok(insn), false) => {
                self.iced_invalid += 1;
                if insn.verdict().is_accepted() {
                    self.accepted_iced_invalid += 1;
                    self.sample(
                        format!("iced invalid, {}", insn.verdict().name()),
                        bytes,
                        iced,
                    );
                }
                // iced wanted more bytes than the buffer had: with the
                // buffer completed, it must agree or reject.
                iced_err == DecoderError::NoMoreBytes && {
                    let full = iced_padded(bytes);
                    !full.is_invalid() && full.len() != insn.len()
                }
            }
            (Err(_), false) => false,
        };
        if bad {
            self.mismatches += 1;
            if self.examples.len() < 25 {
                self.examples.push(format!(
                    "{}: ours {:?} iced {} len {} ({:?})",
                    hex_str(bytes),
                    ours.map(|i| i.len()),
                    iced,
                    iced.len(),
                    iced_err
                ));
            }
        }
    }

    fn iced_accepts_we_refuse(&self) -> u64 {
        self.decode_refused.values().sum::<u64>() + self.verdict_refused.values().sum::<u64>()
    }

    fn report(&self, what: &str) {
        let total = self.compared + self.decode_refused.values().sum::<u64>();
        eprintln!(
            "{what}: {} compared, {} mismatches, {} emulate-mov disagreements; iced-valid {total}: we accept {} ({:.2}%), \
             we refuse {} (decoder: {:?}; verdict: {:?}); we decode but iced rejects {} \
             (of which we would probe {})",
            self.compared,
            self.mismatches,
            self.mov_mismatches,
            self.accepted,
            100.0 * self.accepted as f64 / total.max(1) as f64,
            self.iced_accepts_we_refuse(),
            self.decode_refused,
            self.verdict_refused,
            self.iced_invalid,
            self.accepted_iced_invalid,
        );
        for e in &self.examples {
            eprintln!("  mismatch: {e}");
        }
        for (class, v) in &self.samples {
            eprintln!("  {class}:");
            for s in v {
                eprintln!("    {s}");
            }
        }
    }
}

/// Executable sections (`SHF_EXECINSTR`, `SHT_PROGBITS`) of a 64-bit
/// little-endian ELF file: `(address, bytes)`.
fn elf_exec_sections(data: &[u8]) -> Vec<(u64, &[u8])> {
    let u16_at = |o: usize| data.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |o: usize| {
        data.get(o..o + 4)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
    };
    let u64_at = |o: usize| {
        data.get(o..o + 8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
    };
    let mut out = Vec::new();
    // ELFCLASS64, ELFDATA2LSB, EM_X86_64.
    if data.get(..6) != Some(b"\x7fELF\x02\x01") || u16_at(0x12) != Some(62) {
        return out;
    }
    let (Some(shoff), Some(shentsize), Some(shnum)) = (u64_at(0x28), u16_at(0x3a), u16_at(0x3c))
    else {
        return out;
    };
    for i in 0..shnum as usize {
        let h = shoff as usize + i * shentsize as usize;
        let (Some(ty), Some(flags), Some(addr), Some(off), Some(size)) = (
            u32_at(h + 4),
            u64_at(h + 8),
            u64_at(h + 16),
            u64_at(h + 24),
            u64_at(h + 32),
        ) else {
            continue;
        };
        if ty == 1 && flags & 4 != 0 {
            if let Some(bytes) = data.get(off as usize..(off + size) as usize) {
                out.push((addr, bytes));
            }
        }
    }
    out
}

/// Walks the executable sections linearly with iced (resyncing one byte
/// after an invalid instruction) and compares every instruction.
fn diff_elf(path: &str, diff: &mut Diff) -> bool {
    let Ok(data) = std::fs::read(path) else {
        return false;
    };
    let sections = elf_exec_sections(&data);
    for (addr, bytes) in &sections {
        let mut dec = Decoder::with_ip(64, bytes, *addr, DecoderOptions::NONE);
        let mut pos = 0;
        while pos < bytes.len() {
            dec.set_position(pos).unwrap();
            let ins = dec.decode();
            let end = (pos + MAX_INSN_LEN).min(bytes.len());
            diff.check(&bytes[pos..end], &ins, dec.last_error());
            pos += if ins.is_invalid() { 1 } else { ins.len() };
        }
    }
    !sections.is_empty()
}

fn report_binaries(paths: &[&str], min_compared: u64) {
    let mut diff = Diff::default();
    let mut used = Vec::new();
    for p in paths {
        let before = diff.compared;
        if diff_elf(p, &mut diff) {
            used.push(format!("{p} ({})", diff.compared - before));
        }
    }
    eprintln!("binaries: {}", used.join(", "));
    diff.report("ELF .text");
    assert!(
        diff.compared >= min_compared,
        "only {} instructions compared; binaries found: {used:?}",
        diff.compared
    );
    assert_eq!(diff.mismatches, 0, "length mismatches with iced-x86");
    assert_eq!(
        diff.mov_mismatches, 0,
        "emulate-mov registers iced does not confirm"
    );
}

/// Real code from the machine: libc, libm, the dynamic loader, libstdc++,
/// libcrypto (AVX2/AVX-512/SHA/AES paths) and python. Missing files are
/// skipped; at least 200,000 instructions must be compared.
#[test]
fn differential_elf_binaries() {
    report_binaries(
        &[
            "/usr/lib/x86_64-linux-gnu/libc.so.6",
            "/usr/lib/x86_64-linux-gnu/libm.so.6",
            "/lib64/ld-linux-x86-64.so.2",
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/usr/lib/x86_64-linux-gnu/libcrypto.so.3",
            "/usr/bin/python3",
            "/usr/bin/perl",
            "/bin/bash",
        ],
        200_000,
    );
}

/// The same over more (and bigger) binaries; `cargo test --release --
/// --ignored`, or give a list in `RPROBES_INSN_ELF` (colon-separated).
#[test]
#[ignore]
fn differential_elf_binaries_big() {
    let list = std::env::var("RPROBES_INSN_ELF").unwrap_or_else(|_| {
        [
            "/usr/lib/x86_64-linux-gnu/libx265.so.199",
            "/usr/lib/x86_64-linux-gnu/libSvtAv1Enc.so.1.4.1",
            "/usr/lib/x86_64-linux-gnu/libLLVM.so.19.1",
            "/usr/lib/x86_64-linux-gnu/libcapstone.so.4",
            "/usr/bin/gdb",
            "/usr/bin/qemu-system-x86_64",
            "/usr/bin/node",
            "/usr/bin/git",
        ]
        .join(":")
    });
    let paths: Vec<&str> = list.split(':').filter(|p| !p.is_empty()).collect();
    report_binaries(&paths, 1);
}

fn random_diff(n: u64, seed: u64) -> Diff {
    let mut rng = Rng(seed);
    let mut diff = Diff::default();
    let mut buf = [0u8; 16];
    for _ in 0..n {
        let len = random_insn(&mut rng, &mut buf);
        let bytes = &buf[..len];
        let mut dec = Decoder::new(64, bytes, DecoderOptions::NONE);
        let ins = dec.decode();
        diff.check(bytes, &ins, dec.last_error());
        // The same verdict twice (decode is a pure function).
        assert_eq!(analyze(bytes), analyze(bytes));
    }
    diff
}

/// One million deterministic random byte strings: whenever both decoders
/// accept, the lengths must agree.
#[test]
fn differential_random_strings() {
    let diff = random_diff(1_000_000, 0x5eed_0000_2007_0314);
    diff.report("random");
    assert!(diff.compared > 300_000, "too few comparable strings");
    assert_eq!(diff.mismatches, 0, "length mismatches with iced-x86");
    assert_eq!(
        diff.mov_mismatches, 0,
        "emulate-mov registers iced does not confirm"
    );
}

/// `Insn::is_rep_string` (the step of a `rep` string instruction may trap
/// between iterations) against iced-x86: every combination of up to three
/// prefixes before the one-byte opcodes `a0`..`af` and a few others, and
/// random strings.
#[test]
fn rep_string_against_iced() {
    const PFX: [u8; 11] = [
        0x66, 0x67, 0xf2, 0xf3, 0x2e, 0x3e, 0x64, 0x65, 0x48, 0x41, 0xf0,
    ];
    let check = |bytes: &[u8]| -> bool {
        let mut dec = Decoder::new(64, bytes, DecoderOptions::NONE);
        let ins = dec.decode();
        let Ok(ours) = decode(bytes) else {
            return false;
        };
        if dec.last_error() != DecoderError::None || ins.len() != ours.len() {
            return false;
        }
        let io = matches!(
            ins.mnemonic(),
            Mnemonic::Insb
                | Mnemonic::Insw
                | Mnemonic::Insd
                | Mnemonic::Outsb
                | Mnemonic::Outsw
                | Mnemonic::Outsd
        );
        let want = ins.is_string_instruction()
            && !io
            && (ins.has_rep_prefix() || ins.has_repe_prefix() || ins.has_repne_prefix());
        assert_eq!(ours.is_rep_string(), want, "{bytes:02x?}: {ins}");
        want
    };
    let mut reps = 0;
    let ops = (0xa0..=0xafu8).chain([0x6c, 0x6e, 0x90, 0x0f]);
    for op in ops {
        for n in 0..=3 {
            let mut idx = [0usize; 3];
            loop {
                let mut b: Vec<u8> = idx[..n].iter().map(|&i| PFX[i]).collect();
                b.push(op);
                b.extend_from_slice(&[0x10, 0, 0, 0, 0, 0, 0, 0]);
                if check(&b) {
                    reps += 1;
                }
                // Next combination of `n` prefixes.
                let mut k = 0;
                while k < n {
                    idx[k] += 1;
                    if idx[k] < PFX.len() {
                        break;
                    }
                    idx[k] = 0;
                    k += 1;
                }
                if k == n {
                    break;
                }
            }
        }
    }
    assert!(
        reps > 1000,
        "too few rep string instructions compared: {reps}"
    );
    let mut rng = Rng(0x5eed_7e95);
    let mut buf = [0u8; 16];
    for _ in 0..200_000 {
        let len = random_insn(&mut rng, &mut buf);
        check(&buf[..len]);
    }
    assert!(decode(&hex("f3 a4")).unwrap().is_rep_string());
    assert!(decode(&hex("f3 48 ab")).unwrap().is_rep_string());
    assert!(decode(&hex("f2 ae")).unwrap().is_rep_string());
    assert!(!decode(&hex("a4")).unwrap().is_rep_string());
    assert!(!decode(&hex("f3 90")).unwrap().is_rep_string());
    assert!(!decode(&hex("f3 0f b8 c0")).unwrap().is_rep_string()); // popcnt
}

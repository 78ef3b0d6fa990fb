//! Invariants of the instruction decoder that must hold for any input, and a
//! deterministic generator of instruction-like byte strings. Shared by the
//! host tests (`tests/host/insn.rs`, `tests/host/insn_soak.rs`) and the libFuzzer
//! target (`fuzz/fuzz_targets/insn.rs`), which include this file by path.

#![allow(dead_code)]

use rprobes_core::insn::emul::{Loc, Mem};
use rprobes_core::insn::{
    analyze, decode, fixup_rip_disp, fixup_rip_scratch, Emulation, Fixups, Insn, OpcodeMap,
    Prefixes, Reason, Verdict, MAX_INSN_LEN,
};

fn hex(bytes: &[u8]) -> String {
    let h: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    h.join(" ")
}

/// Checks every invariant on `bytes`, with the XOL helpers exercised at
/// `orig` and `xol`. Panics with the offending input on a violation.
pub fn check(bytes: &[u8], orig: u64, xol: u64) {
    let ctx = || hex(bytes);
    let first = decode(bytes);
    // Deterministic, and analyze() is decode() + verdict().
    assert_eq!(first, decode(bytes), "{}", ctx());
    let verdict = analyze(bytes);
    match &first {
        Ok(insn) => assert_eq!(verdict, insn.verdict(), "{}", ctx()),
        Err(r) => assert_eq!(verdict, Verdict::Refuse(*r), "{}", ctx()),
    }

    let insn = match first {
        Ok(insn) => insn,
        Err(r) => {
            if r == Reason::Truncated {
                assert!(
                    bytes.len() < MAX_INSN_LEN,
                    "truncated with 15 bytes: {}",
                    ctx()
                );
            }
            assert!(fixup_rip_scratch(bytes, orig).is_none(), "{}", ctx());
            assert!(fixup_rip_disp(bytes, orig, xol).is_none(), "{}", ctx());
            return;
        }
    };
    let len = insn.len();
    assert!((1..=MAX_INSN_LEN).contains(&len), "len {len}: {}", ctx());
    assert!(len <= bytes.len(), "len {len} > input: {}", ctx());
    assert_eq!(insn.bytes(), &bytes[..len], "{}", ctx());

    // The length is exactly where the bytes suffice: any shorter input is
    // truncated, the instruction alone or with other bytes after it decodes
    // the same.
    for k in 0..len {
        assert_eq!(
            decode(&bytes[..k]),
            Err(Reason::Truncated),
            "prefix {k}: {}",
            ctx()
        );
    }
    assert_eq!(decode(&bytes[..len]), Ok(insn), "{}", ctx());
    let mut padded = [0xccu8; 2 * MAX_INSN_LEN];
    padded[..len].copy_from_slice(&bytes[..len]);
    assert_eq!(decode(&padded), Ok(insn), "{}", ctx());

    check_fields(&insn, &ctx);
    check_verdict(&insn, &ctx);
    check_rewrites(&insn, orig, xol, &ctx);
}

/// Fields are in order, inside the instruction, and end where it ends.
fn check_fields(insn: &Insn, ctx: &dyn Fn() -> String) {
    let len = insn.len();
    let mut end = insn.opcode_offset as usize + 1;
    assert!(end <= len, "{}", ctx());
    if let Some(rex) = insn.rex {
        // REX, then the escape bytes, then the opcode.
        let escape = match insn.map {
            OpcodeMap::Map0F => 1,
            OpcodeMap::Map0F38 | OpcodeMap::Map0F3A => 2,
            _ => 0,
        };
        assert_eq!(
            rex.offset as usize + 1 + escape,
            insn.opcode_offset as usize,
            "{}",
            ctx()
        );
        assert!(insn.vex.is_none(), "{}", ctx());
    }
    if let Some(v) = insn.vex {
        assert!(
            (v.offset as usize) < insn.opcode_offset as usize,
            "{}",
            ctx()
        );
        assert!(insn.rex.is_none(), "{}", ctx());
    }
    for f in [insn.modrm, insn.sib, insn.disp, insn.imm]
        .into_iter()
        .flatten()
    {
        assert_eq!(f.offset as usize, end, "field order: {}", ctx());
        assert!(f.size >= 1 && f.size <= 8, "{}", ctx());
        end += f.size as usize;
    }
    assert_eq!(end, len, "fields do not end the instruction: {}", ctx());
    if insn.sib.is_some() {
        assert!(insn.modrm.is_some(), "{}", ctx());
    }
    if let Some(off) = insn.rip_relative {
        let d = insn.disp.expect("rip-relative without displacement");
        assert_eq!((d.offset, d.size), (off, 4), "{}", ctx());
        assert!(insn.sib.is_none(), "{}", ctx());
        assert_eq!(insn.modrm_byte().map(|m| m & 0xc7), Some(0x05), "{}", ctx());
    }
}

/// The verdict agrees with the decoded structure.
fn check_verdict(insn: &Insn, ctx: &dyn Fn() -> String) {
    let v = insn.verdict();
    let op = insn.opcode;
    let legacy_primary = insn.vex.is_none() && insn.map == OpcodeMap::Primary;
    match v {
        Verdict::Refuse(r) => {
            assert!(
                !matches!(r, Reason::Truncated | Reason::TooLong),
                "decoded but {r}: {}",
                ctx()
            );
        }
        Verdict::Emulate(e) => {
            assert!(insn.vex.is_none(), "{}", ctx());
            let rel = insn.imm_value().map(|x| x as i32);
            match e {
                Emulation::Nop => assert!(
                    (legacy_primary && op == 0x90)
                        || (insn.map == OpcodeMap::Map0F && (op == 0x1f || op == 0x1e)),
                    "{}",
                    ctx()
                ),
                Emulation::Push { reg } => {
                    assert!(legacy_primary && (0x50..=0x57).contains(&op), "{}", ctx());
                    assert_eq!(reg & 7, op & 7, "{}", ctx());
                    assert_eq!(insn.prefixes.count(), 0, "{}", ctx());
                }
                Emulation::Mov { dst, src, wide } => {
                    assert!(legacy_primary && (op == 0x89 || op == 0x8b), "{}", ctx());
                    assert_eq!(insn.prefixes.count(), 0, "{}", ctx());
                    assert!(!insn.has_mem(), "{}", ctx());
                    let m = insn.modrm_byte().expect("mov without ModRM");
                    let (reg, rm) = if op == 0x8b { (dst, src) } else { (src, dst) };
                    assert_eq!((reg & 7, rm & 7), ((m >> 3) & 7, m & 7), "{}", ctx());
                    assert_eq!(wide, insn.rex.is_some_and(|r| r.w()), "{}", ctx());
                }
                Emulation::Jmp { rel: r } => {
                    assert!(legacy_primary && (op == 0xe9 || op == 0xeb), "{}", ctx());
                    assert_eq!(Some(r), rel, "{}", ctx());
                }
                Emulation::Call { rel: r } => {
                    assert!(legacy_primary && op == 0xe8, "{}", ctx());
                    assert_eq!(Some(r), rel, "{}", ctx());
                }
                Emulation::Exec { plan, fixups } => {
                    // The emulator's: what would be stepped otherwise, with
                    // the same fix-ups, no `lock`, no fs/gs base.
                    match insn.step_verdict() {
                        Verdict::Step { fixups: f } | Verdict::StepRipFixup { fixups: f, .. } => {
                            assert_eq!(f, fixups, "{}", ctx())
                        }
                        other => panic!("emulated, but its step verdict is {other:?}: {}", ctx()),
                    }
                    assert!(
                        !insn
                            .prefixes
                            .has(Prefixes::LOCK | Prefixes::SEG_FS | Prefixes::SEG_GS),
                        "{}",
                        ctx()
                    );
                    let mem = plan.dst == Loc::Mem || plan.src == Loc::Mem;
                    assert!(!mem || insn.has_mem(), "{}", ctx());
                    assert_eq!(
                        mem && insn.rip_relative.is_some(),
                        mem && plan.mem.base == Mem::RIP,
                        "{}",
                        ctx()
                    );
                    assert!(matches!(plan.size, 1 | 2 | 4 | 8), "{}", ctx());
                }
                Emulation::Jcc { cond, rel: r } => {
                    assert_eq!(cond, op & 0xf, "{}", ctx());
                    assert!(
                        (legacy_primary && (0x70..=0x7f).contains(&op))
                            || (insn.map == OpcodeMap::Map0F && (0x80..=0x8f).contains(&op)),
                        "{}",
                        ctx()
                    );
                    assert_eq!(Some(r), rel, "{}", ctx());
                }
            }
        }
        Verdict::Step { fixups } => {
            assert!(insn.rip_relative.is_none(), "{}", ctx());
            assert!(!fixups.contains(Fixups::RIP_REL), "{}", ctx());
            check_step_fixups(insn, fixups, ctx);
        }
        Verdict::StepRipFixup {
            disp_offset,
            scratch,
            fixups,
        } => {
            assert_eq!(insn.rip_relative, Some(disp_offset), "{}", ctx());
            assert!(fixups.contains(Fixups::RIP_REL), "{}", ctx());
            assert_eq!(
                insn.scratch_conflicts() & (1 << scratch.number()),
                0,
                "scratch in use: {}",
                ctx()
            );
            check_step_fixups(insn, fixups, ctx);
        }
    }
}

fn check_step_fixups(insn: &Insn, fixups: Fixups, ctx: &dyn Fn() -> String) {
    let legacy_primary = insn.vex.is_none() && insn.map == OpcodeMap::Primary;
    let call = legacy_primary && insn.opcode == 0xff && insn.modrm_reg() == 2;
    assert_eq!(fixups.contains(Fixups::CALL_RET_ADDR), call, "{}", ctx());
    // IP and CALL_RET_ADDR are exclusive; only ret and indirect jmp/call
    // leave RIP alone.
    if fixups.contains(Fixups::CALL_RET_ADDR) {
        assert!(!fixups.contains(Fixups::IP), "{}", ctx());
    }
    if !fixups.contains(Fixups::IP) {
        assert!(
            legacy_primary
                && (matches!(insn.opcode, 0xc2 | 0xc3)
                    || (insn.opcode == 0xff && matches!(insn.modrm_reg(), 2 | 4))),
            "{}",
            ctx()
        );
    }
    if fixups.contains(Fixups::SET_TF) {
        assert!(legacy_primary && insn.opcode == 0x9d, "{}", ctx());
    }
    if fixups.contains(Fixups::PUSHF_TF) {
        assert!(legacy_primary && insn.opcode == 0x9c, "{}", ctx());
    }
}

/// The RIP-relative rewrites: present exactly for `StepRipFixup`, same
/// length, same target.
fn check_rewrites(insn: &Insn, orig: u64, xol: u64, ctx: &dyn Fn() -> String) {
    let bytes = insn.bytes();
    let scratch = fixup_rip_scratch(bytes, orig);
    let disp = fixup_rip_disp(bytes, orig, xol);
    let Verdict::StepRipFixup {
        scratch: reg,
        fixups,
        ..
    } = insn.step_verdict()
    else {
        assert!(scratch.is_none() && disp.is_none(), "{}", ctx());
        return;
    };
    let target = insn.rip_target(orig).expect("rip target");

    let s = scratch.expect("scratch rewrite");
    assert_eq!(s.reg, reg, "{}", ctx());
    assert_eq!(s.value, target, "{}", ctx());
    let new = decode(s.insn.as_bytes()).unwrap_or_else(|e| panic!("rewrite {e}: {}", ctx()));
    assert_eq!(new.len(), insn.len(), "{}", ctx());
    assert_eq!(new.rip_relative, None, "{}", ctx());
    assert_eq!(
        new.modrm_byte().map(|m| m & 0xc7),
        Some(0x80 | reg.number()),
        "{}",
        ctx()
    );
    assert_eq!(new.disp_value(), Some(0), "{}", ctx());
    // The base is the low register itself: no REX.B / VEX.B / EVEX.B.
    assert!(!new.rex.is_some_and(|r| r.b()), "{}", ctx());
    assert!(!new.vex.is_some_and(|v| v.b), "{}", ctx());
    assert_eq!(new.imm_value(), insn.imm_value(), "{}", ctx());
    assert_eq!(new.modrm_reg(), insn.modrm_reg(), "{}", ctx());
    let expect = Verdict::Step {
        fixups: fixups.without(Fixups::RIP_REL),
    };
    assert_eq!(new.step_verdict(), expect, "{}", ctx());

    let xol_next = xol.wrapping_add(insn.len() as u64);
    let fits = insn.prefixes.has(rprobes_core::insn::Prefixes::ADSIZE)
        || i32::try_from(target.wrapping_sub(xol_next) as i64).is_ok();
    assert_eq!(disp.is_some(), fits, "{}", ctx());
    if let Some(d) = disp {
        let new = decode(d.as_bytes()).unwrap_or_else(|e| panic!("rewrite {e}: {}", ctx()));
        assert_eq!(new.len(), insn.len(), "{}", ctx());
        assert_eq!(new.rip_target(xol), Some(target), "{}", ctx());
        assert_eq!(new.step_verdict().fixups(), fixups, "{}", ctx());
    }
}

/// SplitMix64: small, seeded, deterministic.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn pick(&mut self, from: &[u8]) -> u8 {
        from[self.below(from.len() as u64) as usize]
    }
}

const PREFIX_BYTES: &[u8] = &[
    0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x40, 0x41, 0x44, 0x48, 0x4c,
    0x4f,
];

/// A random instruction-like byte string in `buf`; returns its length (15
/// or 16 mostly, shorter for one in eight to exercise truncation). Pure
/// noise mostly exercises the one-byte map, so most strings start with a
/// structured head: prefixes, escapes, vector prefixes with plausible
/// payloads, x87 escapes, RIP-relative or SIB ModRM bytes.
pub fn random_insn(rng: &mut Rng, buf: &mut [u8; 16]) -> usize {
    for chunk in buf.chunks_mut(8) {
        let r = rng.next().to_le_bytes();
        chunk.copy_from_slice(&r[..chunk.len()]);
    }
    let mut at = 0;
    let mode = rng.below(10);
    if mode >= 2 {
        for _ in 0..rng.below(5) {
            buf[at] = rng.pick(PREFIX_BYTES);
            at += 1;
        }
    }
    match mode {
        2 | 3 => {
            buf[at] = 0x0f;
            at += 1;
        }
        4 => {
            buf[at] = 0x0f;
            buf[at + 1] = rng.pick(&[0x38, 0x3a]);
            at += 2;
        }
        5 => {
            buf[at] = 0xc5;
            at += 2;
        }
        6 => {
            buf[at] = 0xc4;
            buf[at + 1] = (buf[at + 1] & 0xe0) | rng.pick(&[1, 2, 3, 1, 2, 3, 0, 4, 8]);
            at += 3;
        }
        7 => {
            buf[at] = 0x62;
            buf[at + 1] = (buf[at + 1] & 0xf0) | rng.pick(&[1, 2, 3, 5, 6, 1, 2, 3, 4, 9]);
            buf[at + 2] |= 0x04;
            at += 4;
        }
        8 => {
            buf[at] = rng.pick(&[0x8f, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf]);
            at += 1;
        }
        _ => {}
    }
    // Make the ModRM position often RIP-relative or SIB-based.
    if rng.below(3) == 0 && at + 1 < buf.len() {
        let m = buf[at + 1];
        buf[at + 1] = match rng.below(2) {
            0 => (m & 0x38) | 0x05,
            _ => (m & 0xf8) | 0x04,
        };
    }
    if rng.below(8) == 0 {
        1 + rng.below(MAX_INSN_LEN as u64) as usize
    } else {
        MAX_INSN_LEN + rng.below(2) as usize
    }
}

/// An (original, XOL) address pair: near (within 2 GiB), far, or around
/// the 4 GiB and 2^64 wrap-arounds.
pub fn random_addrs(rng: &mut Rng) -> (u64, u64) {
    let orig = match rng.below(4) {
        0 => 0x40_0000 + rng.below(1 << 24),
        1 => 0x7f00_0000_0000 + rng.below(1 << 40),
        2 => 0xffff_fff0 + rng.below(0x20),
        _ => rng.next(),
    };
    let xol = match rng.below(4) {
        0 => orig.wrapping_add(rng.below(1 << 31)),
        1 => orig.wrapping_sub(rng.below(1 << 31)),
        2 => 0x7fff_ffff_f000 - rng.below(1 << 20),
        _ => rng.next(),
    };
    (orig, xol)
}

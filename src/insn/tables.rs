// SPDX-License-Identifier: GPL-2.0

//! Opcode tables of the decoder ([`super::decode`]) and classifier
//! ([`super::classify`]).
//!
//! Each opcode map is a 16x16 grid of one-letter attributes, one row per high
//! nibble, so that it can be checked against the SDM's opcode tables by eye.

/// Builds a 256-entry table from 16 rows of 16 letters (compile time only).
pub(super) const fn grid(rows: [&str; 16]) -> [u8; 256] {
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
pub(super) const PRIMARY: [u8; 256] = grid([
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
pub(super) const MAP_0F: [u8; 256] = grid([
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
pub(super) const fn hexgrid(rows: [&str; 16]) -> [u8; 256] {
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
pub(super) fn pp_ok(table: &[u8; 256], op: u8, pp: u8) -> bool {
    (table[op as usize] >> (pp & 3)) & 1 != 0
}

// Prefix-mask tables: one hex digit per opcode, bit n set when the opcode is
// defined with mandatory prefix n: bit 0 none, bit 1 `66`, bit 2 `F3`, bit 3
// `F2` (the numbering of the VEX/EVEX `pp` field). `0` is an undefined
// opcode, `f` one whose prefixes are not mandatory prefixes (or that a group
// decoder checks).

/// `0F` map without VEX: which SSE/MMX forms exist.
pub(super) const PFX_0F: [u8; 256] = hexgrid([
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
pub(super) const PFX_0F38: [u8; 256] = hexgrid([
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
pub(super) const PFX_0F3A: [u8; 256] = hexgrid([
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
pub(super) const VEX_0F: [u8; 256] = hexgrid([
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
pub(super) const VEX_0F38: [u8; 256] = hexgrid([
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
pub(super) const VEX_0F3A: [u8; 256] = hexgrid([
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
pub(super) const EVEX_0F: [u8; 256] = hexgrid([
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
pub(super) const EVEX_0F38: [u8; 256] = hexgrid([
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
pub(super) const EVEX_0F3A: [u8; 256] = hexgrid([
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
pub(super) const EVEX_MAP5: [u8; 256] = hexgrid([
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
pub(super) const EVEX_MAP6: [u8; 256] = hexgrid([
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
pub(super) const X87_MEM: [u8; 8] = [0xff, 0xfd, 0xff, 0xaf, 0xff, 0xdf, 0xff, 0xff];

/// x87 escapes `D8..=DF` with a register operand: bit n set when ModRM
/// `0xC0 + n` is a documented instruction.
pub(super) const X87_REG: [u64; 8] = [
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

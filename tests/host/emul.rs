//! The emulator ([`rprobes_core::insn::emul`]) against the host CPU: random
//! encodings of every emulated instruction, decoded and planned as the
//! module does, run by the model and by the CPU (the same bytes copied into
//! an executable page, every register, the flags and the memory loaded
//! before and saved after), and compared: every register, every defined
//! status flag, `%rip` and the memory, zero differences.
//!
//! `random_cases` runs in every `cargo test`; `soak` runs
//! `RPROBES_EMUL_SOAK` cases (default 10 million) with a seed from
//! `RPROBES_EMUL_SEED`:
//!
//! ```text
//! RPROBES_EMUL_SOAK=10000000 cargo test --release --test emul -- --ignored --nocapture
//! ```

use rprobes_core::insn;
#[path = "common/env.rs"]
mod env;

use env::env_u64;
use rprobes_core::insn::emul::{self, Loc, Machine, Mem, Op, Plan, STATUS};
use std::collections::BTreeMap;

extern "C" {
    fn mmap(addr: *mut u8, len: usize, prot: i32, flags: i32, fd: i32, off: i64) -> *mut u8;
}

const PROT_RWX: i32 = 7;
const MAP_PRIVATE_ANON_32BIT: i32 = 0x02 | 0x20 | 0x40;

/// The JIT page: entry, the instruction, the landing, host data, then the
/// data page (memory operands below `STACK_LO`, the stack above).
const INSN_AT: usize = 0x200;
const LANDING: usize = 0x300;
const HOST_RSP: usize = 0x800;
const STATE_PTR: usize = 0x808;
const TMP: usize = 0x810;
const DATA: usize = 0x1000;
const DATA_LEN: usize = 0x1000;
const STACK_LO: usize = 0x900;
const STACK_HI: usize = 0xf00;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct State {
    g: [u64; 16],
    flags: u64,
}

struct Jit {
    base: *mut u8,
}

impl Jit {
    fn new() -> Self {
        // SAFETY: An anonymous mapping of two fresh pages, below 2 GiB.
        let base = unsafe {
            mmap(
                core::ptr::null_mut(),
                DATA + DATA_LEN,
                PROT_RWX,
                MAP_PRIVATE_ANON_32BIT,
                -1,
                0,
            )
        };
        assert!(!base.is_null() && base as isize != -1, "mmap");
        let mut j = Self { base };
        j.emit_fixed();
        j
    }

    fn addr(&self, off: usize) -> u64 {
        self.base as u64 + off as u64
    }

    fn put(&mut self, at: &mut usize, bytes: &[u8]) {
        for b in bytes {
            // SAFETY: Inside the mapping (offsets below DATA).
            unsafe { *self.base.add(*at) = *b };
            *at += 1;
        }
    }

    /// `op` with a `%rip`-relative operand at `target` (`op` ends with
    /// its ModRM byte).
    fn rip(&mut self, at: &mut usize, op: &[u8], target: usize) {
        self.put(at, op);
        let d = target as i64 - (*at as i64 + 4);
        self.put(at, &(d as i32).to_le_bytes());
    }

    fn jmp(&mut self, at: &mut usize, target: usize) {
        self.put(at, &[0xe9]);
        let d = target as i64 - (*at as i64 + 4);
        self.put(at, &(d as i32).to_le_bytes());
    }

    fn emit_fixed(&mut self) {
        let mut at = 0;
        // Callee-saved registers, the host %rsp, the state pointer.
        self.put(
            &mut at,
            &[0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57],
        );
        self.rip(&mut at, &[0x48, 0x89, 0x25], HOST_RSP);
        self.rip(&mut at, &[0x48, 0x89, 0x3d], STATE_PTR);
        // push qword [rdi+0x80]; popfq
        self.put(&mut at, &[0xff, 0xb7, 0x80, 0, 0, 0, 0x9d]);
        for n in (0u8..16).filter(|n| *n != 7) {
            let rex = 0x48 | if n >= 8 { 4 } else { 0 };
            self.put(&mut at, &[rex, 0x8b, 0x40 | ((n & 7) << 3) | 7, n * 8]);
        }
        self.put(&mut at, &[0x48, 0x8b, 0x7f, 0x38]);
        self.jmp(&mut at, INSN_AT);
        assert!(at <= INSN_AT);
        let mut at = LANDING;
        self.rip(&mut at, &[0x48, 0x89, 0x3d], TMP);
        self.rip(&mut at, &[0x48, 0x8b, 0x3d], STATE_PTR);
        for n in (0u8..16).filter(|n| *n != 7) {
            let rex = 0x48 | if n >= 8 { 4 } else { 0 };
            self.put(&mut at, &[rex, 0x89, 0x40 | ((n & 7) << 3) | 7, n * 8]);
        }
        self.rip(&mut at, &[0x48, 0x8b, 0x25], HOST_RSP);
        // pushfq; pop qword [rdi+0x80]
        self.put(&mut at, &[0x9c, 0x8f, 0x87, 0x80, 0, 0, 0]);
        self.rip(&mut at, &[0x48, 0x8b, 0x05], TMP);
        self.put(&mut at, &[0x48, 0x89, 0x47, 0x38]);
        self.put(
            &mut at,
            &[
                0x41, 0x5f, 0x41, 0x5e, 0x41, 0x5d, 0x41, 0x5c, 0x5d, 0x5b, 0xc3,
            ],
        );
        assert!(at <= HOST_RSP);
    }

    /// Runs `bytes` from `s` with the data page `mem`; both updated.
    fn run(&mut self, bytes: &[u8], s: &mut State, mem: &mut [u8]) {
        let mut at = INSN_AT;
        self.put(&mut at, bytes);
        self.jmp(&mut at, LANDING);
        // SAFETY: The data page is ours, DATA_LEN bytes.
        let data = unsafe { core::slice::from_raw_parts_mut(self.base.add(DATA), DATA_LEN) };
        data.copy_from_slice(mem);
        // SAFETY: The entry saves and restores the callee-saved registers
        // and the host stack pointer; the instruction was checked to
        // touch only the data page (the model's bounds) and to branch
        // only to the landing.
        let f: extern "C" fn(*mut State) = unsafe { core::mem::transmute(self.base) };
        f(s);
        mem.copy_from_slice(data);
    }
}

/// The model: a [`State`] and the data page.
struct Model<'a> {
    s: State,
    base: u64,
    mem: &'a mut [u8],
}

impl Machine for Model<'_> {
    fn gpr(&self, n: u8) -> u64 {
        self.s.g[usize::from(n & 15)]
    }
    fn set_gpr(&mut self, n: u8, v: u64) {
        self.s.g[usize::from(n & 15)] = v;
    }
    fn flags(&self) -> u64 {
        self.s.flags
    }
    fn set_flags(&mut self, f: u64) {
        self.s.flags = f;
    }
    fn read(&mut self, addr: u64, size: u8) -> Option<u64> {
        let off = addr.checked_sub(self.base)? as usize;
        let b = self.mem.get(off..off + usize::from(size))?;
        let mut v = 0u64;
        for (i, x) in b.iter().enumerate() {
            v |= u64::from(*x) << (8 * i);
        }
        Some(v)
    }
    fn write(&mut self, addr: u64, size: u8, v: u64) -> bool {
        let Some(off) = addr.checked_sub(self.base) else {
            return false;
        };
        let off = off as usize;
        let Some(b) = self.mem.get_mut(off..off + usize::from(size)) else {
            return false;
        };
        for (i, x) in b.iter_mut().enumerate() {
            *x = (v >> (8 * i)) as u8;
        }
        true
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// A register value: small, near a power of two, or anything.
    fn value(&mut self) -> u64 {
        match self.below(6) {
            0 => self.below(4),
            1 => (1u64 << self.below(64))
                .wrapping_add(self.below(3))
                .wrapping_sub(1),
            2 => (self.below(256) as i64 - 128) as u64,
            3 => 0x8000_0000_0000_0000 ^ self.below(2),
            _ => self.next(),
        }
    }
}

const PRIMARY: &[u8] = &[
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x10, 0x11, 0x12, 0x13,
    0x14, 0x15, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x28, 0x29,
    0x2a, 0x2b, 0x2c, 0x2d, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d,
    0x50, 0x53, 0x55, 0x57, 0x58, 0x5b, 0x5d, 0x5f, 0x63, 0x68, 0x69, 0x6a, 0x6b, 0x80, 0x81, 0x83,
    0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8d, 0x8f, 0x90, 0x91, 0x93, 0x97, 0x98, 0x99,
    0xa8, 0xa9, 0xb0, 0xb4, 0xb7, 0xb8, 0xbb, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc6, 0xc7, 0xc9, 0xd0,
    0xd1, 0xd2, 0xd3, 0xf6, 0xf7, 0xfe, 0xff,
];
const MAP0F: &[u8] = &[
    0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f,
    0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f,
    0xaf, 0xb6, 0xb7, 0xbe, 0xbf,
];

/// Random bytes of an emulated instruction's encoding (prefixes, REX,
/// opcode, then random ModRM, SIB, displacement, immediate).
fn random_bytes(rng: &mut Rng, buf: &mut [u8; 15]) {
    let mut n = 0;
    for _ in 0..rng.below(3) {
        buf[n] = [0x66, 0x67, 0x2e, 0x3e, 0xf2, 0xf3, 0x66, 0x66][rng.below(8) as usize];
        n += 1;
    }
    if rng.below(2) == 0 {
        buf[n] = 0x40 | rng.below(16) as u8;
        n += 1;
    }
    if rng.below(5) == 0 {
        buf[n] = 0x0f;
        buf[n + 1] = MAP0F[rng.below(MAP0F.len() as u64) as usize];
        n += 2;
    } else {
        buf[n] = PRIMARY[rng.below(PRIMARY.len() as u64) as usize];
        n += 1;
    }
    for b in buf[n..].iter_mut() {
        *b = rng.next() as u8;
    }
    // ModRM: a register operand half the time; small displacements.
    if rng.below(2) == 0 {
        buf[n] |= 0xc0;
    } else if buf[n] >> 6 == 2 && rng.below(2) == 0 {
        buf[n] &= 0x3f;
    }
}

fn uses_stack(op: Op) -> bool {
    matches!(
        op,
        Op::Push | Op::Pop | Op::Leave | Op::Ret | Op::CallIndirect
    )
}

/// The class name of a plan (coverage counts).
fn class(p: &Plan) -> String {
    let mem = if p.dst == Loc::Mem || p.src == Loc::Mem {
        if p.mem.base == Mem::RIP {
            " rip"
        } else {
            " mem"
        }
    } else {
        ""
    };
    format!("{:?}/{}{}", p.op, p.size, mem)
}

/// One random case; `None` if the bytes are not an emulated instruction
/// (or its operands cannot be placed in the data page).
fn case(rng: &mut Rng, jit: &mut Jit, stats: &mut BTreeMap<String, u64>) -> Option<()> {
    let mut buf = [0u8; 15];
    random_bytes(rng, &mut buf);
    let d = insn::decode(&buf).ok()?;
    let mut p = emul::plan(&d)?;
    let len = d.bytes().len();
    let mut bytes = d.bytes().to_vec();
    let ip = jit.addr(INSN_AT);
    let next = ip + len as u64;
    let data = jit.addr(DATA);
    let mut s = State::default();
    for g in s.g.iter_mut() {
        *g = rng.value();
    }
    s.flags = 0x202 | (rng.next() & STATUS);
    if uses_stack(p.op) {
        s.g[4] = data + (STACK_LO as u64 + rng.below(0x100) * 8);
        if p.op == Op::Leave {
            s.g[5] = data + (STACK_LO as u64 + rng.below(0x100) * 8);
        }
    }
    let has_mem = p.dst == Loc::Mem || p.src == Loc::Mem;
    let target = data + rng.below(0x7f0);
    if has_mem {
        let m = p.mem;
        let disp_at = d.disp.map(|f| (f.offset as usize, f.size));
        let patch = |disp: i64, bytes: &mut Vec<u8>| -> Option<()> {
            let (at, size) = disp_at?;
            if size != 4 {
                return None;
            }
            bytes[at..at + 4].copy_from_slice(&(disp as i32).to_le_bytes());
            Some(())
        };
        match (m.base, m.index) {
            (Mem::RIP, _) => patch(target as i64 - next as i64, &mut bytes)?,
            (Mem::NONE, Mem::NONE) => patch(target as i64, &mut bytes)?,
            (Mem::NONE, i) => {
                let iv = rng.below(16);
                s.g[usize::from(i)] = iv;
                patch(target as i64 - (iv << m.scale) as i64, &mut bytes)?;
            }
            (b, Mem::NONE) => s.g[usize::from(b)] = target.wrapping_sub(m.disp as i64 as u64),
            (b, i) if b == i => {
                let k = 1 + (1u64 << m.scale);
                let t = target.wrapping_sub(m.disp as i64 as u64);
                s.g[usize::from(b)] = (t - t % k) / k;
            }
            (b, i) => {
                let iv = rng.below(16);
                s.g[usize::from(i)] = iv;
                s.g[usize::from(b)] = target
                    .wrapping_sub(m.disp as i64 as u64)
                    .wrapping_sub(iv << m.scale);
            }
        }
        if m.addr32 && m.base != Mem::RIP && m.base != Mem::NONE && rng.below(2) == 0 {
            // The upper half is ignored with `67`.
            s.g[usize::from(m.base)] ^= rng.next() << 32;
        }
        // Re-decoded after the displacement's patch.
        let d2 = insn::decode(&bytes).ok()?;
        p = emul::plan(&d2)?;
    }
    // Where the operands are: every access inside the data page, the
    // stack where a push or pop may go.
    let mut model_mem = vec![0u8; DATA_LEN];
    for b in model_mem.iter_mut() {
        *b = rng.next() as u8;
    }
    let check_model = Model {
        s,
        base: data,
        mem: &mut model_mem.clone(),
    };
    let addr = emul::address(&p.mem, &check_model, next);
    if has_mem && (addr < data || addr + 8 > data + STACK_LO as u64) {
        return None;
    }
    if uses_stack(p.op) {
        let sp = s.g[4];
        if sp < data + 0x100 + 16 || sp + 16 > data + STACK_HI as u64 {
            return None;
        }
        if p.op == Op::Leave
            && (s.g[5] < data + STACK_LO as u64 || s.g[5] + 16 > data + STACK_HI as u64)
        {
            return None;
        }
    }
    // Branches land on the landing.
    let landing = jit.addr(LANDING);
    let put64 = |mem: &mut [u8], at: u64, v: u64| {
        let o = (at - data) as usize;
        mem[o..o + 8].copy_from_slice(&v.to_le_bytes());
    };
    match p.op {
        Op::Ret => put64(&mut model_mem, s.g[4], landing),
        Op::CallIndirect | Op::JmpIndirect => match p.src {
            // `call *%rsp` would push onto the landing.
            Loc::Reg { n: 4, .. } if p.op == Op::CallIndirect => return None,
            Loc::Reg { n, .. } => s.g[usize::from(n)] = landing,
            _ => put64(&mut model_mem, addr, landing),
        },
        _ => {}
    }
    let mut real_mem = model_mem.clone();
    let mut model = Model {
        s,
        base: data,
        mem: &mut model_mem,
    };
    let cl = s.g[1];
    let rip = emul::exec(&p, &mut model, ip, len as u8);
    let mut real = s;
    jit.run(&bytes, &mut real, &mut real_mem);
    let undef = emul::undefined_flags(&p, cl);
    let want_rip = match p.op {
        Op::Ret | Op::CallIndirect | Op::JmpIndirect => landing,
        _ => next,
    };
    let ok = rip == Ok(want_rip)
        && model.s.g == real.g
        && (model.s.flags ^ real.flags) & STATUS & !undef == 0
        && model.mem[..] == real_mem[..];
    if !ok {
        let diff: Vec<String> = (0..16)
            .filter(|&i| model.s.g[i] != real.g[i])
            .map(|i| {
                format!(
                    "r{i}: model {:#x} cpu {:#x} (was {:#x})",
                    model.s.g[i], real.g[i], s.g[i]
                )
            })
            .collect();
        panic!(
            "{:02x?} {:?}: rip {:?} want {:#x}; flags in {:#x} model {:#x} cpu {:#x} (undef {:#x}); {:?}; mem same: {}",
            bytes,
            p,
            rip,
            want_rip,
            s.flags,
            model.s.flags,
            real.flags,
            undef,
            diff,
            model.mem[..] == real_mem[..]
        );
    }
    *stats.entry(class(&p)).or_default() += 1;
    Some(())
}

fn run(n: u64, seed: u64) -> BTreeMap<String, u64> {
    let mut rng = Rng(seed | 1);
    let mut jit = Jit::new();
    let mut stats = BTreeMap::new();
    let mut done = 0;
    while done < n {
        if case(&mut rng, &mut jit, &mut stats).is_some() {
            done += 1;
        }
    }
    stats
}

/// Every emulated operation is among the cases.
fn assert_coverage(stats: &BTreeMap<String, u64>) {
    let ops: Vec<&str> = stats
        .keys()
        .map(|k| k.split('/').next().unwrap_or(""))
        .collect();
    for want in [
        "Mov",
        "Movzx",
        "Movsx",
        "Lea",
        "Alu(Add)",
        "Alu(Or)",
        "Alu(Adc)",
        "Alu(Sbb)",
        "Alu(And)",
        "Alu(Sub)",
        "Alu(Xor)",
        "Alu(Cmp)",
        "Alu(Test)",
        "Unary(Inc)",
        "Unary(Dec)",
        "Unary(Neg)",
        "Unary(Not)",
        "Imul",
        "Imul3",
        "Mul",
        "Imul1",
        "Cmov",
        "Setcc",
        "Xchg",
        "SignExtendAx",
        "SignExtendDx",
        "Push",
        "Pop",
        "Leave",
        "Ret",
        "CallIndirect",
        "JmpIndirect",
    ] {
        assert!(ops.contains(&want), "no case of {want}");
    }
    for s in ["Rol", "Ror", "Rcl", "Rcr", "Shl", "Shr", "Sar"] {
        for c in ["One", "Imm", "Cl"] {
            let k = format!("Shift({s}, {c})");
            assert!(ops.contains(&k.as_str()), "no case of {k}");
        }
    }
    assert!(
        stats.keys().any(|k| k.ends_with(" rip")),
        "no rip-relative case"
    );
}

#[test]
fn random_cases() {
    let stats = run(300_000, 0x5eed_e1u64);
    assert_coverage(&stats);
}

#[test]
#[ignore]
fn soak() {
    let n = env_u64("RPROBES_EMUL_SOAK", 10_000_000);
    let seed = env_u64("RPROBES_EMUL_SEED", 0x0dd_ba11);
    let stats = run(n, seed);
    assert_coverage(&stats);
    let total: u64 = stats.values().sum();
    println!("{total} cases, 0 differences, seed {seed:#x}; by class:");
    for (k, v) in stats.iter() {
        println!("  {k:<32} {v}");
    }
}

#[test]
fn plans_of_known_instructions() {
    let p = |hex: &[u8]| emul::plan(&insn::decode(hex).expect("decodes"));
    // sub $0x28,%rsp
    assert!(matches!(
        p(&[0x48, 0x83, 0xec, 0x28]),
        Some(Plan {
            op: Op::Alu(emul::Alu::Sub),
            size: 8,
            ..
        })
    ));
    // mov 0x8(%rdi),%rax
    assert!(matches!(
        p(&[0x48, 0x8b, 0x47, 0x08]),
        Some(Plan {
            op: Op::Mov,
            src: Loc::Mem,
            ..
        })
    ));
    // test %rdi,%rdi
    assert!(matches!(
        p(&[0x48, 0x85, 0xff]),
        Some(Plan {
            op: Op::Alu(emul::Alu::Test),
            ..
        })
    ));
    // jmp *0x2fe2(%rip) (a PLT entry), bnd jmp too
    assert!(matches!(
        p(&[0xff, 0x25, 0xe2, 0x2f, 0, 0]),
        Some(Plan {
            op: Op::JmpIndirect,
            ..
        })
    ));
    assert!(matches!(
        p(&[0xf2, 0xff, 0x25, 0xe2, 0x2f, 0, 0]),
        Some(Plan {
            op: Op::JmpIndirect,
            ..
        })
    ));
    // Not emulated: lock add, xchg with memory, fs loads, div.
    assert_eq!(p(&[0xf0, 0x48, 0x01, 0x07]), None);
    assert_eq!(p(&[0x48, 0x87, 0x07]), None);
    assert_eq!(p(&[0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0, 0, 0]), None);
    assert_eq!(p(&[0x48, 0xf7, 0xf1]), None); // div %rcx
}

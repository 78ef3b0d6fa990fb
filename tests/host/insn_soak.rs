//! Invariant checks of the instruction decoder over random inputs: the
//! stable-toolchain counterpart of the libFuzzer target in `fuzz/` (same
//! checks, `tests/host/common/insn_invariants.rs`).
//!
//! `invariants_random` runs in every `cargo test`; `soak` runs
//! `RPROBES_INSN_SOAK` inputs (default 20 million) with a seed from
//! `RPROBES_INSN_SEED`:
//!
//! ```text
//! RPROBES_INSN_SOAK=100000000 cargo test --release --test insn_soak -- --ignored
//! ```

#[path = "common/env.rs"]
mod env;
#[path = "common/insn_invariants.rs"]
mod invariants;

use env::env_u64;

use invariants::{check, random_addrs, random_insn, Rng};

fn run(n: u64, seed: u64) {
    let mut rng = Rng(seed);
    let mut buf = [0u8; 16];
    for _ in 0..n {
        let len = random_insn(&mut rng, &mut buf);
        let (orig, xol) = random_addrs(&mut rng);
        check(&buf[..len], orig, xol);
        // Unstructured noise of any length, too.
        let mut noise = [0u8; 20];
        let n = rng.below(21) as usize;
        for b in noise.iter_mut().take(n) {
            *b = rng.next() as u8;
        }
        check(&noise[..n], orig, xol);
    }
}

#[test]
fn invariants_random() {
    run(100_000, 0x0bad_5eed);
}

#[test]
#[ignore]
fn soak() {
    let n = env_u64("RPROBES_INSN_SOAK", 20_000_000);
    let seed = env_u64("RPROBES_INSN_SEED", 0x2007_0314);
    run(n, seed);
    eprintln!("soak: {n} structured + {n} unstructured inputs, seed {seed:#x}: ok");
}

//! Fuzz target: decode arbitrary bytes and check the decoder's invariants
//! (length bounds, exact truncation point, field layout, verdict
//! consistency, RIP-relative rewrites, determinism). The checks are shared
//! with the stable soak test, `tests/host/insn_soak.rs`.
//!
//! Input layout: 16 bytes of original and XOL addresses, then the
//! instruction bytes (any length; only the first 15 can matter).

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/host/common/insn_invariants.rs"]
mod invariants;

fuzz_target!(|data: &[u8]| {
    let addr = |at: usize| {
        let mut b = [0u8; 8];
        if let Some(s) = data.get(at..at + 8) {
            b.copy_from_slice(s);
        }
        u64::from_le_bytes(b)
    };
    let (orig, xol) = (addr(0), addr(8));
    let insn = data.get(16..).unwrap_or(&[]);
    invariants::check(insn, orig, xol);
    // The XOL slot near the original, too, so the displacement rewrite is
    // exercised (far pairs mostly make it fail to fit).
    invariants::check(insn, orig, orig.wrapping_add(xol & 0x3fff_ffff));
});

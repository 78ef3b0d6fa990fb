//! Fuzz target: the ELF symbol reader (`src/lang/elf.rs`) on any file.
//!
//! Input layout: a little-endian `u16`: the name's length (low 11 bits,
//! at most 2047) and whether the file shrank after its size was taken (bit
//! 15: the reader is told 100 bytes more than there are); then the name,
//! then the file.
//!
//! Invariants (`tests/host/common/elf_invariants.rs`, shared with the host
//! tests): no panic; every read inside the size given; the reads of
//! opening the file, looking the name up and walking every function
//! symbol (names, versions, segments) within the documented bound, linear
//! in the file size; found symbols and their `+OFF` inside the file;
//! errors give `error_log` entries.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/host/common/elf_invariants.rs"]
mod invariants;

fuzz_target!(|data: &[u8]| {
    let Some((head, rest)) = data.split_at_checked(2) else {
        return;
    };
    let head = u16::from_le_bytes([head[0], head[1]]);
    let n = usize::from(head & 0x7ff).min(rest.len());
    let (name, file) = rest.split_at(n);
    let size = file.len() as u64 + if head & 0x8000 != 0 { 100 } else { 0 };
    invariants::check(file, size, &[name]);
});

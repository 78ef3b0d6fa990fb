// SPDX-License-Identifier: GPL-2.0

//! Functions for the guest tests to probe, reached by writing to the
//! debugfs file `selftest` (as `lib/tests/test_kprobes.c` keeps its own
//! targets): a recursive function and a pair of nested ones, with return
//! values that tell every call apart.
//!
//! ```text
//! echo 'recurse 5' > selftest   # rprobes_selftest_recurse(5..0): returns 0,1,..5
//! echo 'nest 7' > selftest      # outer(7) calls inner(7): returns 15, then 115
//! echo 'sleep 500' > selftest    # sleeps 500 ms in rprobes_selftest_sleep
//! echo 'regs 0' > selftest       # EIO unless every register survives a return
//! ```
//!
//! `rprobes_selftest_sleep` is a sleeping function that nothing else in the
//! system calls (unlike the nanosleep path, where `timeout(1)` sleeps all the
//! time), so tests can count the tasks inside it exactly. A signal ends the
//! sleep early; it returns the milliseconds left.

use core::hint::black_box;
use kernel::prelude::*;

/// Deepest recursion accepted.
pub(crate) const MAX_DEPTH: u64 = 64;

/// Returns `n`, through `n` nested calls of itself.
#[no_mangle]
#[inline(never)]
pub(crate) extern "C" fn rprobes_selftest_recurse(n: u64) -> u64 {
    if black_box(n) == 0 {
        return 0;
    }
    black_box(rprobes_selftest_recurse(n - 1)) + 1
}

/// Returns `2 * x + 1`.
#[no_mangle]
#[inline(never)]
pub(crate) extern "C" fn rprobes_selftest_inner(x: u64) -> u64 {
    black_box(black_box(x).wrapping_mul(2).wrapping_add(1))
}

/// Returns `inner(x) + 100`.
#[no_mangle]
#[inline(never)]
pub(crate) extern "C" fn rprobes_selftest_outer(x: u64) -> u64 {
    black_box(rprobes_selftest_inner(black_box(x))).wrapping_add(100)
}

/// Sleeps `ms` milliseconds (interruptibly); returns the milliseconds left.
#[no_mangle]
#[inline(never)]
pub(crate) extern "C" fn rprobes_selftest_sleep(ms: u32) -> u64 {
    // SAFETY: Process context (a debugfs write).
    unsafe { crate::kbind::msleep_interruptible(black_box(ms)) as u64 }
}

/// What `rprobes_selftest_regs` leaves in each register, in the order of
/// [`REG_NAMES`] (the caller sets the callee-saved ones before the call).
const PATTERNS: [u64; 15] = [
    0x5a01_0000_0000_00a0,
    0x5a02_0000_0000_00c1,
    0x5a03_0000_0000_00d2,
    0x5a04_0000_0000_0051,
    0x5a05_0000_0000_00d1,
    0x5a06_0000_0000_0008,
    0x5a07_0000_0000_0009,
    0x5a08_0000_0000_0010,
    0x5a09_0000_0000_0011,
    0x5a0a_0000_0000_00b0,
    0x5a0b_0000_0000_00b9,
    0x5a0c_0000_0000_0012,
    0x5a0d_0000_0000_0013,
    0x5a0e_0000_0000_0014,
    0x5a0f_0000_0000_0015,
];
const REG_NAMES: [&str; 15] = [
    "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "rbx", "rbp", "r12", "r13", "r14",
    "r15",
];
/// Arithmetic flags the callee sets just before it returns: CF, PF, AF, ZF,
/// SF, OF.
const FLAGS: u64 = 0x8d5;

// `rprobes_selftest_regs` returns with a pattern in every caller-saved
// register and FLAGS set, and `rprobes_selftest_regs_check(out)` calls it
// with patterns in the callee-saved registers and stores all 15 registers
// and the flags, as they are right after the return, into `out[0..16]`.
// With a return probe on `rprobes_selftest_regs`, this checks that the
// trampoline gives back every register and the flags, whatever the calling
// convention would allow it to clobber.
core::arch::global_asm!(
    ".pushsection .text.rprobes_selftest_regs, \"ax\", @progbits",
    ".globl rprobes_selftest_regs",
    ".type rprobes_selftest_regs, @function",
    "rprobes_selftest_regs:",
    "movabsq ${p0}, %rax",
    "movabsq ${p1}, %rcx",
    "movabsq ${p2}, %rdx",
    "movabsq ${p3}, %rsi",
    "movabsq ${p4}, %rdi",
    "movabsq ${p5}, %r8",
    "movabsq ${p6}, %r9",
    "movabsq ${p7}, %r10",
    "movabsq ${p8}, %r11",
    "pushfq",
    "orq ${flags}, (%rsp)",
    "popfq",
    "ret",
    "int3",
    ".size rprobes_selftest_regs, . - rprobes_selftest_regs",
    ".globl rprobes_selftest_regs_check",
    ".type rprobes_selftest_regs_check, @function",
    "rprobes_selftest_regs_check:",
    "pushq %rbx",
    "pushq %rbp",
    "pushq %r12",
    "pushq %r13",
    "pushq %r14",
    "pushq %r15",
    "pushq %rdi",
    "movabsq ${p9}, %rbx",
    "movabsq ${p10}, %rbp",
    "movabsq ${p11}, %r12",
    "movabsq ${p12}, %r13",
    "movabsq ${p13}, %r14",
    "movabsq ${p14}, %r15",
    "call rprobes_selftest_regs",
    "pushfq",
    "pushq %rax",
    "movq 16(%rsp), %rax",
    "movq %rcx, 8(%rax)",
    "movq %rdx, 16(%rax)",
    "movq %rsi, 24(%rax)",
    "movq %rdi, 32(%rax)",
    "movq %r8, 40(%rax)",
    "movq %r9, 48(%rax)",
    "movq %r10, 56(%rax)",
    "movq %r11, 64(%rax)",
    "movq %rbx, 72(%rax)",
    "movq %rbp, 80(%rax)",
    "movq %r12, 88(%rax)",
    "movq %r13, 96(%rax)",
    "movq %r14, 104(%rax)",
    "movq %r15, 112(%rax)",
    "popq %rcx",
    "movq %rcx, 0(%rax)",
    "popq %rcx",
    "movq %rcx, 120(%rax)",
    "popq %rdi",
    "popq %r15",
    "popq %r14",
    "popq %r13",
    "popq %r12",
    "popq %rbp",
    "popq %rbx",
    "ret",
    "int3",
    ".size rprobes_selftest_regs_check, . - rprobes_selftest_regs_check",
    ".popsection",
    p0 = const PATTERNS[0],
    p1 = const PATTERNS[1],
    p2 = const PATTERNS[2],
    p3 = const PATTERNS[3],
    p4 = const PATTERNS[4],
    p5 = const PATTERNS[5],
    p6 = const PATTERNS[6],
    p7 = const PATTERNS[7],
    p8 = const PATTERNS[8],
    p9 = const PATTERNS[9],
    p10 = const PATTERNS[10],
    p11 = const PATTERNS[11],
    p12 = const PATTERNS[12],
    p13 = const PATTERNS[13],
    p14 = const PATTERNS[14],
    flags = const FLAGS,
    options(att_syntax)
);

extern "C" {
    fn rprobes_selftest_regs_check(out: *mut u64);
}

/// Calls `rprobes_selftest_regs` and checks every register after it.
fn check_regs() -> Result {
    let mut out = [0u64; 16];
    // SAFETY: `out` has the 16 words the function stores; it follows the C
    // ABI (restores the callee-saved registers it uses).
    unsafe { rprobes_selftest_regs_check(out.as_mut_ptr()) };
    let mut ok = true;
    for ((name, want), got) in REG_NAMES.iter().zip(PATTERNS).zip(out) {
        if got != want {
            pr_err!("selftest regs: {name} is {got:#x} after the return, expected {want:#x}\n");
            ok = false;
        }
    }
    if out[15] & FLAGS != FLAGS {
        pr_err!(
            "selftest regs: flags {:#x} after the return, expected {FLAGS:#x} set\n",
            out[15]
        );
        ok = false;
    }
    if ok {
        Ok(())
    } else {
        Err(EIO)
    }
}

/// Runs one `selftest` command.
pub(crate) fn run(line: &[u8]) -> Result {
    let line = core::str::from_utf8(line).map_err(|_| EINVAL)?.trim();
    if line.is_empty() {
        return Ok(());
    }
    let (cmd, arg) = line.split_once(' ').ok_or(EINVAL)?;
    let n: u64 = arg.trim().parse().map_err(|_| EINVAL)?;
    match cmd {
        "recurse" if n <= MAX_DEPTH => {
            black_box(rprobes_selftest_recurse(n));
        }
        "nest" => {
            black_box(rprobes_selftest_outer(n));
        }
        "regs" => check_regs()?,
        "sleep" => {
            let ms = u32::try_from(n).map_err(|_| EINVAL)?;
            if rprobes_selftest_sleep(ms) != 0 {
                return Err(EINTR);
            }
        }
        _ => return Err(EINVAL),
    }
    Ok(())
}

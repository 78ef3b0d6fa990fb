// SPDX-License-Identifier: GPL-2.0

//! Functions for the guest tests to probe, reached by writing to the
//! debugfs file `selftest` (as `lib/tests/test_kprobes.c` keeps its own
//! targets): a recursive function and a pair of nested ones, with return
//! values that tell every call apart. The file exists only when the module
//! is loaded with `selftest=1` (`insmod rprobes.ko selftest=1`); the
//! functions are always there (tracefs can probe them too).
//!
//! ```text
//! echo 'recurse 5' > selftest   # rprobes_selftest_recurse(5..0): returns 0,1,..5
//! echo 'nest 7' > selftest      # outer(7) calls inner(7): returns 15, then 115
//! echo 'sleep 500' > selftest    # sleeps 500 ms in rprobes_selftest_sleep
//! echo 'regs 0' > selftest       # EIO unless every register survives a return
//! echo 'args 0' > selftest       # rprobes_selftest_args(ARG1..ARG8): returns ARGS_RET
//! echo 'fail_pokes 2' > selftest  # the next 2 writes of user text fail (ENOMEM)
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
    unsafe { kernel::bindings::msleep_interruptible(black_box(ms)) as u64 }
}

/// The record `rprobes_selftest_args` gets a pointer to (`%dx`, `$arg3`):
/// a field of each width, negative ones, a bitfield container, a char
/// array, a string pointer and a pointer to [`rprobes_selftest_rec2`] for
/// nested dereferences. The offsets are part of the tests' contract
/// (`tests/guest/events/fetch_values.tc`).
#[repr(C)]
pub(crate) struct ArgsRec {
    /// +0: 0xa5 (165; -91 as s8).
    u8v: u8,
    /// +1: -3.
    s8v: i8,
    /// +2: 0xbeef (48879; -16657 as s16).
    u16v: u16,
    /// +4: -100000.
    s32v: i32,
    /// +8: 0xfedcba9876543210.
    u64v: u64,
    /// +16: -5.
    s64v: i64,
    /// +24: `&rprobes_selftest_rec2`.
    next: *const ArgsRec2,
    /// +32: "abcdefg" with its NUL.
    name: [u8; 8],
    /// +40: the string "hello".
    hello: *const u8,
    /// +48: bitfield container 0x12345678.
    bits: u32,
}

/// The second level: +0 a number, +8 a pointer back into the middle of
/// [`rprobes_selftest_rec`] (at its `s64v`, +16), +16 a pointer to itself.
#[repr(C)]
pub(crate) struct ArgsRec2 {
    /// +0: 0x2222333344445555.
    val: u64,
    /// +8: `&rprobes_selftest_rec.s64v`.
    mid: *const i64,
    /// +16: `&rprobes_selftest_rec2`.
    me: *const ArgsRec2,
}

// SAFETY: Immutable statics; the pointers only point at other immutable
// statics and are never written.
unsafe impl Sync for ArgsRec {}
// SAFETY: As above.
unsafe impl Sync for ArgsRec2 {}

/// The record of `args` (a named symbol, for `@SYM` tests).
#[no_mangle]
#[allow(non_upper_case_globals)]
#[used]
pub(crate) static rprobes_selftest_rec: ArgsRec = ArgsRec {
    u8v: 0xa5,
    s8v: -3,
    u16v: 0xbeef,
    s32v: -100_000,
    u64v: 0xfedc_ba98_7654_3210,
    s64v: -5,
    next: core::ptr::addr_of!(rprobes_selftest_rec2),
    name: *b"abcdefg\0",
    hello: core::ptr::addr_of!(HELLO).cast(),
    bits: 0x1234_5678,
};

/// The second level of [`rprobes_selftest_rec`].
#[no_mangle]
#[allow(non_upper_case_globals)]
#[used]
pub(crate) static rprobes_selftest_rec2: ArgsRec2 = ArgsRec2 {
    val: 0x2222_3333_4444_5555,
    mid: core::ptr::addr_of!(rprobes_selftest_rec.s64v),
    me: core::ptr::addr_of!(rprobes_selftest_rec2),
};

/// The string at `rprobes_selftest_rec` +40.
static HELLO: [u8; 6] = *b"hello\0";

/// The string `args` passes as its 5th argument.
static ARGS_STR: &[u8] = b"rprobes-selftest\0";

/// `rprobes_selftest_args`' 1st, 2nd, 4th, 7th and 8th arguments (the
/// others are pointers: 3rd `&rprobes_selftest_rec`, 5th [`ARGS_STR`], 6th
/// `&rprobes_selftest_rec.s64v`).
const ARG1: i64 = -2;
const ARG2: u64 = 0x1122_3344_5566_7788;
const ARG4: i64 = -1000;
const ARG7: i64 = -7;
const ARG8: u64 = 0x0807_0605_0403_0201;

extern "C" {
    /// In `selftest_target.c` (C, so that tracefs can probe it too): takes
    /// 8 integer arguments (the 7th and 8th on the stack on x86_64) and
    /// returns `21 * a1` (-42 for the values `args` passes).
    #[allow(clippy::too_many_arguments)]
    fn rprobes_selftest_args(
        a1: i64,
        a2: u64,
        a3: *const ArgsRec,
        a4: i64,
        a5: *const u8,
        a6: *const i64,
        a7: i64,
        a8: u64,
    ) -> i64;
}

/// Calls `rprobes_selftest_args` with the known values; EIO if it did not
/// return `21 * ARG1`.
fn call_args() -> Result {
    // SAFETY: A C function that only computes with its arguments (it reads
    // no memory through the pointers).
    let r = unsafe {
        rprobes_selftest_args(
            black_box(ARG1),
            black_box(ARG2),
            black_box(core::ptr::addr_of!(rprobes_selftest_rec)),
            black_box(ARG4),
            black_box(ARGS_STR.as_ptr()),
            black_box(core::ptr::addr_of!(rprobes_selftest_rec.s64v)),
            black_box(ARG7),
            black_box(ARG8),
        )
    };
    if r == ARG1.wrapping_mul(21) {
        Ok(())
    } else {
        Err(EIO)
    }
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
        "args" => call_args()?,
        "step_only" => {
            crate::uprobes::STEP_ONLY.store(n != 0, core::sync::atomic::Ordering::Relaxed)
        }
        "fail_pokes" => {
            crate::sys::user::fail_pokes(u32::try_from(n).map_err(|_| EINVAL)?);
        }
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

// SPDX-License-Identifier: GPL-2.0

//! The control language: what a line written to `probes` (or a module
//! parameter, or `explain`) says, decided from the text alone.
//!
//! Everything here is pure `no_std` Rust without allocation and without
//! `unsafe`: it is compiled into the module (`rprobes_main.rs`) and, as the
//! same files, into the host library (`core_lib.rs`) that `cargo test` and
//! the fuzzers exercise. Checks that need the running kernel (does the
//! symbol exist, is the offset an instruction boundary, is the process
//! alive) are made by the callers, which report them through the same
//! error table.
//!
//! - [`lex`]: words and their positions in the normalised command, names,
//!   numbers, [`lex::FixedBuf`];
//! - [`error`]: every reason a line is refused, tracefs' messages, errnos,
//!   the `error_log` entry;
//! - [`line`]: probe lines (`p`, `r`, `-:`), default event names;
//! - [`fetch_arg`]: fetch arguments (`NAME=FETCHARG:TYPE`) compiled into
//!   small programs, and [`fetch_fmt`]: how recorded values print;
//! - [`upoint`]: user probe points (`PID:0xADDR`, `PID:PATH:0xOFF`,
//!   `PID:PATH:SYMBOL[+OFF]`);
//! - [`kallsyms`]: `/proc/kallsyms` lines and duplicate symbol names;
//! - [`elf`]: function symbols of ELF files, read through a caller's
//!   reader (for `PID:PATH:SYMBOL[+OFF]`, resolved by the module).
//!
//! Dependencies, leaves first: `lex`, `elf` <- `error`; `lex` <-
//! `upoint`; `error`, `upoint`, `fetch_arg` <- `line`; `fetch_fmt` <- `fetch_arg`; `kallsyms` stands
//! alone. The only ways out of the folder are to the decoder's refusal
//! reasons ([`crate::insn::Reason`], quoted by
//! [`error::ErrorKind::UprobeInsn`]) and to the kernel's constants each
//! crate root gives (`crate::vfs_layout`, `crate::stack_layout`).
//!
//! Context: any (no locks, no allocation, no sleeping; `elf` sleeps only
//! if its caller's reader does).

pub mod elf;
pub mod error;
pub mod fetch_arg;
pub mod fetch_fmt;
pub mod kallsyms;
pub mod lex;
pub mod line;
pub mod upoint;

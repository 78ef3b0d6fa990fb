// SPDX-License-Identifier: GPL-2.0

//! `rprobes-insn`: decode x86_64 instructions given as hex on stdin and print
//! the user-probe verdict of each, one line per input line.
//!
//! Accepted input forms (mixable): `0f 1f 44 00 00`, `0f1f440000`,
//! `\x0f\x1f\x44\x00\x00`, `0x0f,0x1f`; everything after `#` is a comment;
//! blank lines are skipped. Output:
//!
//! ```text
//! len=N verdict=<step|step-fixup|emulate-KIND> [fallback=<step|step-fixup>] [rip_disp_off=K scratch=REG] [fixups=a,b]
//! [len=N] refuse=<reason>
//! ```
//!
//! `len` is printed for a refusal when the instruction could be decoded.
//! Bad hex prints `error=bad-hex` and makes the exit status 1.
//!
//! `rprobes-insn --sweep < TEXT` decodes raw bytes one instruction after
//! the other and prints `COUNT VERDICT` lines (`scripts/emul-coverage`);
//! `--calls` prints the offsets that `call rel32`s target instead (the
//! function starts of a file without symbols or unwind table).

use rprobes_core::insn::write_description;
use std::io::{self, BufRead, Write};

/// Parses one line of hex bytes; `None` on a malformed line.
///
/// Words are separated by white space or commas. A word is either an even
/// number of hex digits, optionally after `0x`, or a run of `\xHH` escapes.
fn parse_hex(line: &str) -> Option<Vec<u8>> {
    let line = line.split('#').next().unwrap_or("");
    let mut out = Vec::new();
    for word in line.split(|c: char| c.is_whitespace() || c == ',') {
        if word.is_empty() {
            continue;
        }
        if word.starts_with("\\x") {
            for part in word.split("\\x").skip(1) {
                if part.len() != 2 {
                    return None;
                }
                push_hex(&mut out, part)?;
            }
        } else {
            let digits = word
                .strip_prefix("0x")
                .or_else(|| word.strip_prefix("0X"))
                .unwrap_or(word);
            push_hex(&mut out, digits)?;
        }
    }
    Some(out)
}

/// Appends the bytes of an even-length run of hex digits.
fn push_hex(out: &mut Vec<u8>, digits: &str) -> Option<()> {
    if digits.is_empty() || digits.len() & 1 != 0 {
        return None;
    }
    if !digits.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    for i in (0..digits.len()).step_by(2) {
        out.push(u8::from_str_radix(digits.get(i..i + 2)?, 16).ok()?);
    }
    Some(())
}

/// The output line for one instruction.
fn describe(bytes: &[u8]) -> String {
    let mut s = String::new();
    let _ = write_description(&mut s, bytes);
    s
}

/// `--sweep`: raw bytes on stdin (a text section), decoded one instruction
/// after the other; prints how many got each verdict (an undecodable byte
/// is skipped and counted as `undecodable`).
fn sweep(calls: bool) -> io::Result<()> {
    use std::collections::BTreeMap;
    use std::io::Read;
    let mut text = Vec::new();
    io::stdin().lock().read_to_end(&mut text)?;
    let mut counts: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut targets = std::collections::BTreeSet::new();
    let mut at = 0;
    while at < text.len() {
        let end = (at + rprobes_core::insn::MAX_INSN_LEN).min(text.len());
        let (len, name) = match rprobes_core::insn::decode(&text[at..end]) {
            Ok(i) => {
                if calls && i.map == rprobes_core::insn::OpcodeMap::Primary && i.opcode == 0xe8 {
                    let to = (at + i.len()) as i64 + i.imm_value().unwrap_or(0);
                    if (0..text.len() as i64).contains(&to) {
                        targets.insert(to as usize);
                    }
                }
                (i.len(), i.verdict().name())
            }
            Err(_) => (1, "undecodable"),
        };
        *counts.entry(name).or_default() += 1;
        at += len.max(1);
    }
    let mut out = io::stdout().lock();
    if calls {
        for t in targets {
            writeln!(out, "{t}")?;
        }
        return Ok(());
    }
    for (k, v) in counts {
        writeln!(out, "{v} {k}")?;
    }
    Ok(())
}

fn main() {
    let mode = std::env::args().nth(1);
    if matches!(mode.as_deref(), Some("--sweep" | "--calls")) {
        if let Err(e) = sweep(mode.as_deref() == Some("--calls")) {
            eprintln!("rprobes-insn: {e}");
            std::process::exit(2);
        }
        return;
    }
    let stdin = io::stdin();
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut status = 0;
    for line in stdin.lock().lines() {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                eprintln!("rprobes-insn: {e}");
                std::process::exit(2);
            }
        };
        let text = line.split('#').next().unwrap_or("").trim();
        if text.is_empty() {
            continue;
        }
        let res = match parse_hex(text) {
            Some(bytes) if !bytes.is_empty() => writeln!(out, "{}", describe(&bytes)),
            _ => {
                status = 1;
                writeln!(out, "error=bad-hex")
            }
        };
        if res.is_err() {
            std::process::exit(2);
        }
    }
    if out.flush().is_err() {
        std::process::exit(2);
    }
    std::process::exit(status);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_forms() {
        let want = Some(vec![0x0f, 0x1f, 0x44, 0x00, 0x00]);
        assert_eq!(parse_hex("0f 1f 44 00 00"), want);
        assert_eq!(parse_hex("0f1f440000"), want);
        assert_eq!(parse_hex("\\x0f\\x1f\\x44\\x00\\x00"), want);
        assert_eq!(parse_hex("0x0f, 0x1f, 0x44, 0x00, 0x00 # nopl"), want);
        assert_eq!(parse_hex("0f 1 f"), None);
        assert_eq!(parse_hex("0f1"), None);
        assert_eq!(parse_hex("\\x0f\\x1"), None);
        assert_eq!(parse_hex("0x"), None);
        assert_eq!(parse_hex("zz"), None);
        assert_eq!(parse_hex("\\xg0"), None);
    }

    #[test]
    fn lines() {
        assert_eq!(describe(&[0x90]), "len=1 verdict=emulate-nop");
        assert_eq!(describe(&[0xcc]), "len=1 refuse=int");
        assert_eq!(describe(&[0x0f]), "refuse=truncated");
        assert_eq!(
            describe(&[0x48, 0x8b, 0x05, 1, 0, 0, 0]),
            "len=7 verdict=emulate-mov fallback=step-fixup rip_disp_off=3 scratch=rsi fixups=ip,rip-rel"
        );
        assert_eq!(describe(&[0x48, 0x89, 0xe5]), "len=3 verdict=emulate-mov");
        assert_eq!(
            describe(&[0x48, 0x89, 0x45, 0xf8]),
            "len=4 verdict=emulate-mov fallback=step fixups=ip"
        );
        assert_eq!(
            describe(&[0xf3, 0x0f, 0x10, 0x05, 1, 0, 0, 0]),
            "len=8 verdict=step-fixup rip_disp_off=4 scratch=rsi fixups=ip,rip-rel"
        );
        assert_eq!(
            describe(&[0xf0, 0x48, 0x01, 0x07]),
            "len=4 verdict=step fixups=ip"
        );
    }
}

// SPDX-License-Identifier: GPL-2.0

//! Lexing of control lines: words and their positions in the normalised
//! command, names, numbers, and [`FixedBuf`], the fixed-size text sink the
//! module formats into where it must not allocate.
//!
//! Pure `no_std` logic.

/// Splits a line into words and tracks their positions in the normalised command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Words<'a> {
    rest: &'a str,
    pos: usize,
}

impl<'a> Words<'a> {
    /// Words of `line` (everything from a `#` on is a comment).
    pub fn new(line: &'a str) -> Self {
        let line = match line.find('#') {
            Some(i) => &line[..i],
            None => line,
        };
        Self { rest: line, pos: 0 }
    }
}

impl<'a> Iterator for Words<'a> {
    /// (position in the normalised command, word).
    type Item = (usize, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        let s = self.rest.trim_start_matches(is_space);
        if s.is_empty() {
            self.rest = s;
            return None;
        }
        let end = s.find(is_space).unwrap_or(s.len());
        let word = &s[..end];
        self.rest = &s[end..];
        let pos = self.pos;
        self.pos += word.len() + 1;
        Some((pos, word))
    }
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// Writes the normalised command (words joined by one space) into `out`.
///
/// Returns the number of bytes written; output is truncated to `out.len()`.
pub fn normalise(line: &str, out: &mut [u8]) -> usize {
    let mut n = 0;
    for (i, (_, w)) in Words::new(line).enumerate() {
        if i > 0 && n < out.len() {
            out[n] = b' ';
            n += 1;
        }
        for &b in w.as_bytes() {
            if n == out.len() {
                return n;
            }
            out[n] = b;
            n += 1;
        }
    }
    n
}

/// `[A-Za-z_][A-Za-z0-9_]*`, the rule for group, event and argument names.
pub fn is_good_name(s: &str) -> bool {
    let mut b = s.bytes();
    match b.next() {
        Some(c) if c.is_ascii_alphabetic() || c == b'_' => {}
        _ => return false,
    }
    b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Parses an unsigned number like the kernel's `kstrtoull(s, 0)`:
/// `0x`/`0X` hex, leading `0` octal, else decimal; no sign, no junk.
pub fn parse_u64(s: &str) -> Option<u64> {
    let s = s.strip_prefix('+').unwrap_or(s);
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for c in digits.chars() {
        let d = c.to_digit(radix)?;
        v = v.checked_mul(u64::from(radix))?.checked_add(u64::from(d))?;
    }
    Some(v)
}

/// A small `core::fmt::Write` sink over a byte array.
pub struct FixedBuf<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> Default for FixedBuf<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> FixedBuf<N> {
    /// An empty buffer.
    pub const fn new() -> Self {
        Self {
            buf: [0; N],
            len: 0,
        }
    }

    /// The text written so far.
    pub fn as_str(&self) -> &str {
        // Only whole `&str`s are ever copied in (see `write_str`), truncated on
        // a character boundary, so the bytes are always valid UTF-8.
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl<const N: usize> core::fmt::Write for FixedBuf<N> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let room = N - self.len;
        let mut n = s.len().min(room);
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        if n < s.len() {
            Err(core::fmt::Error)
        } else {
            Ok(())
        }
    }
}

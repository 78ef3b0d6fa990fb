//! Invariants of the ELF symbol reader (`src/lang/elf.rs`) that must hold
//! for any input, checked through a reader that sees every read. Shared by
//! the host tests (`tests/host/elf.rs`) and the libFuzzer target
//! (`fuzz/fuzz_targets/elf.rs`), which include this file by path.

#![allow(dead_code)]

use rprobes_core::lang::elf::{Bytes, Elf, ReadAt};
use rprobes_core::lang::error::{write_error_entry, ParseError};

/// A reader over bytes that checks each read is inside the size it was
/// told, counts the reads and bytes, and can read short or fail.
pub struct Checked<'a> {
    pub data: &'a [u8],
    /// The size the reader was told (reads must stay below it; `data` may
    /// be shorter: a file that shrank).
    pub size: u64,
    pub calls: u64,
    pub bytes: u64,
    /// At most this many bytes per call.
    pub short: usize,
    /// Fail with this errno at the read that covers this offset.
    pub fail_at: Option<(u64, i32)>,
    /// Claim to have read one byte more than asked.
    pub overread: bool,
}

impl<'a> Checked<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Checked {
            data,
            size: data.len() as u64,
            calls: 0,
            bytes: 0,
            short: usize::MAX,
            fail_at: None,
            overread: false,
        }
    }
}

impl ReadAt for Checked<'_> {
    fn read_at(&mut self, off: u64, buf: &mut [u8]) -> Result<usize, i32> {
        assert!(!buf.is_empty(), "empty read at {off}");
        assert!(
            off.checked_add(buf.len() as u64)
                .is_some_and(|end| end <= self.size),
            "read {off}+{} past the size {}",
            buf.len(),
            self.size
        );
        self.calls += 1;
        if let Some((at, e)) = self.fail_at {
            if off <= at && at < off + buf.len() as u64 {
                return Err(e);
            }
        }
        let n = buf.len().min(self.short);
        let n = Bytes(self.data).read_at(off, &mut buf[..n])?;
        self.bytes += n as u64;
        Ok(if self.overread { n + 1 } else { n })
    }
}

/// Bound on the `(calls, bytes)` of opening `size` bytes, `lookups`
/// lookups of names of at most `len` bytes and one walk of a table
/// (names read into 32 bytes, compared with a name of `len` bytes,
/// versions), as the module documents it: the opening reads the header,
/// section 0, the program and section header tables and two string table
/// headers; a lookup reads both symbol tables in pieces of 10 symbols,
/// and per function symbol at most `ceil((len + 1) / 256)` windows of 256
/// bytes and 2 bytes of `.gnu.version`; the walk one table, and per
/// symbol a window for the name, the windows of the comparison and the
/// version.
pub fn read_bound(size: u64, len: usize, lookups: u64) -> (u64, u64) {
    let syms = size / 24 + 1;
    let w = (len as u64 + 1).div_ceil(256);
    let calls = 10
        + size / 200
        + lookups * (2 * (syms / 10 + 1) + 2 * syms * (w + 1))
        + (syms / 10 + 1)
        + syms * (w + 2);
    let bytes = 256
        + 2 * size
        + lookups * (2 * size + 2 * syms * (256 * w + 2))
        + size
        + syms * (256 * (w + 1) + 2);
    (calls, bytes)
}

/// Opens `data` (said to be `size` bytes), looks each of `names` up (and
/// `+OFF` in what it finds), then walks every function symbol: reads its
/// name, compares it with the first name, reads its version and segment.
/// Checks that every read is inside `size`, that the reads stay within
/// [`read_bound`], that found symbols and offsets are inside the file and
/// that errors give `error_log` entries. Returns `(calls, bytes)`.
pub fn check(data: &[u8], size: u64, names: &[&[u8]]) -> (u64, u64) {
    let mut r = Checked::new(data);
    r.size = size;
    let longest = names.iter().map(|n| n.len()).max().unwrap_or(0);
    let mut elf = match Elf::new(&mut r, size) {
        Ok(elf) => elf,
        Err(e) => {
            entry(e);
            return (r.calls, r.bytes);
        }
    };
    for n in names {
        match elf.find_function(n) {
            Ok(s) => {
                assert!(s.room >= 1, "{s:?}");
                assert!(s.offset + s.room <= size, "{s:?} past {size}");
                for off in [
                    0,
                    1,
                    s.size.saturating_sub(1),
                    s.size,
                    s.room - 1,
                    s.room,
                    u64::MAX,
                ] {
                    match s.offset_at(off) {
                        Ok(o) => {
                            assert!(o < size && o == s.offset + off, "{s:?} +{off}");
                            assert!(s.size == 0 || off < s.size, "{s:?} +{off}");
                        }
                        Err(e) => entry(e),
                    }
                }
            }
            Err(e) => entry(e),
        }
    }
    if let Some(mut cur) = elf.functions() {
        let first = names.first().copied().unwrap_or(b"");
        let mut buf = [0u8; 32];
        loop {
            let e = match cur.next(&mut elf) {
                Ok(Some(e)) => e,
                Ok(None) => break,
                Err(e) => {
                    entry(e);
                    break;
                }
            };
            if let Ok(n) = elf.name(&e, &mut buf) {
                assert!(n.len <= buf.len());
                if n.complete && n.len > 0 {
                    let name = buf[..n.len].to_vec();
                    assert_eq!(elf.name_is(&e, &name), Ok(true), "{e:?}");
                }
            }
            let _ = elf.name_is(&e, first);
            let _ = elf.version_hidden(&e);
            if let Ok(s) = elf.symbol(&e) {
                assert!(s.offset + s.room <= size, "{s:?} past {size}");
            }
        }
    }
    let (calls, bytes) = (elf.reads(), elf.bytes_read());
    drop(elf);
    assert_eq!((calls, bytes), (r.calls, r.bytes));
    let (mc, mb) = read_bound(size, longest, names.len() as u64);
    assert!(
        calls <= mc && bytes <= mb,
        "{calls} reads of {bytes} bytes, bound {mc} and {mb} (size {size}, name {longest})"
    );
    (calls, bytes)
}

/// The `error_log` entry of an error on `p 1:/f:SYM+0x10`.
fn entry(e: rprobes_core::lang::elf::ElfError) {
    let line = "p 1:/f:SYM+0x10";
    let p = ParseError::from_elf(e, 4, 7, 10);
    assert!(p.errno > 0 && p.pos <= line.len());
    let mut s = String::new();
    write_error_entry(&mut s, line, &p).unwrap();
    assert!(s.starts_with("rprobes: error: "));
}

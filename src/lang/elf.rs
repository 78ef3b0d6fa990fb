// SPDX-License-Identifier: GPL-2.0

//! Function symbols of ELF files, for user probes written
//! `PID:PATH:SYMBOL[+OFF]` (the module reads the file in
//! `crate::uprobes::symbol`; this is the reader, pure `no_std`).
//!
//! [`Elf::new`] checks an ELF64 little-endian x86-64 executable or shared
//! object (`ET_EXEC`, `ET_DYN`) through a caller-supplied [`ReadAt`] (the
//! module reads the file with `kernel_read`, piece by piece; the host
//! tests and the fuzzer read a byte slice, [`Bytes`]). It reads the ELF
//! header, the program headers (keeping the `PT_LOAD` segments that have
//! file bytes, at most [`MAX_LOAD_SEGMENTS`]) and the section headers
//! (keeping the first `SHT_SYMTAB`, the first `SHT_DYNSYM`, their string
//! tables through `sh_link`, and the `.gnu.version` array of `.dynsym`).
//!
//! [`Elf::find_function`] looks a name up:
//!
//! - function symbols only: `STT_FUNC` and `STT_GNU_IFUNC` (the symbol of
//!   an indirect function is its resolver, which is code; [`Symbol::ifunc`]
//!   says so), defined (`st_shndx != SHN_UNDEF`), named exactly the name
//!   (byte for byte, compared while reading: names of any length, no name
//!   buffer);
//! - in `.symtab` first; a name that `.symtab` does not define (or a file
//!   without `.symtab`, a stripped one) is looked up in `.dynsym`. There
//!   versions do not show in the name (`malloc@@GLIBC_2.2.5` is `malloc`
//!   in `.dynstr`): the plain name matches, the default version (`@@`)
//!   before the hidden ones (`@`, the compatibility versions), which count
//!   only when no default one is defined. In `.symtab` a versioned name is
//!   spelled out (`foo@@VER_2`) and matches as spelled;
//! - definitions with the same value are aliases of one function (their
//!   largest size counts); different values are [`ElfError::Ambiguous`];
//! - the value (a virtual address) becomes a file offset through the
//!   `PT_LOAD` segment holding it in its file bytes (`p_vaddr <= v <
//!   p_vaddr + p_filesz`, offset `v - p_vaddr + p_offset`; the first such
//!   segment if hostile ones overlap);
//! - `+OFF` ([`Symbol::offset_at`]): below the symbol's size when the size
//!   is known (not 0), and always within the file bytes of the symbol's
//!   segment.
//!
//! [`Elf::functions`] walks all function symbols (of `.symtab`, else of
//! `.dynsym`) with the same filters and bounds, for globs.
//! [`resolve_symbol`] is the whole lookup of a probe point in one call,
//! through a `&mut dyn ReadAt` (one instance of the code for any reader).
//!
//! Hostile files: every offset, size and count is checked against the
//! file size with checked arithmetic before anything is read; a table must
//! lie inside the file (so its count is at most the file size divided by
//! its entry size), entry sizes must be ELF64's, `sh_link` must name a
//! string table inside the file, names are read only within their string
//! table (a name not terminated there matches nothing), a symbol whose name
//! offset is outside its string table names nothing and is skipped.
//! Overlapping sections and segments only give odd answers, never a fault.
//! Every read is inside `0..size`; a file that turns out shorter than
//! `size` is [`Malformed::Truncated`].
//!
//! Bounds: no allocation; an [`Elf`] is under 1 KiB (its largest buffer is
//! the 256-byte string window), a [`Functions`] cursor about 300 bytes,
//! other stack buffers at most 480 bytes. [`Elf::new`] makes at most
//! `3 + shnum / 7 + phnum / 8 + 4` reads (the counts being bounded by the
//! file size as above). A lookup reads each symbol table once, in pieces
//! of 20 symbols, and for each defined function symbol at most
//! `ceil((len + 1) / 256)` string windows of at most 256 bytes (`len`: the
//! name looked up) and, in `.dynsym`, 2 bytes of `.gnu.version` for a
//! symbol of that name: linear in the file size for a given name.
//! [`Elf::set_read_budget`] caps the bytes read in all
//! ([`ElfError::TooBig`] past it). [`Elf::reads`] and
//! [`Elf::bytes_read`] count what was read.
//!
//! Errors ([`ElfError`]) say what [`super::error`] turns into `error_log`
//! reasons, and [`ElfError::blame`] which word of the probe point the
//! caret goes under.
//!
//! Context: any (no locks, no allocation); the reader may sleep.

/// The file access the reader needs: reads at an offset.
pub trait ReadAt {
    /// Reads up to `buf.len()` bytes of the file at byte `off` into `buf`
    /// and returns how many it read: 0 only at the end of the file, fewer
    /// than asked is fine (the rest is asked for again). An error is a
    /// positive errno.
    fn read_at(&mut self, off: u64, buf: &mut [u8]) -> Result<usize, i32>;
}

impl<T: ReadAt + ?Sized> ReadAt for &mut T {
    fn read_at(&mut self, off: u64, buf: &mut [u8]) -> Result<usize, i32> {
        (**self).read_at(off, buf)
    }
}

/// A file in memory.
#[derive(Clone, Copy, Debug)]
pub struct Bytes<'a>(pub &'a [u8]);

impl ReadAt for Bytes<'_> {
    fn read_at(&mut self, off: u64, buf: &mut [u8]) -> Result<usize, i32> {
        let src = usize::try_from(off)
            .ok()
            .and_then(|o| self.0.get(o..))
            .unwrap_or(&[]);
        let n = src.len().min(buf.len());
        if let (Some(d), Some(s)) = (buf.get_mut(..n), src.get(..n)) {
            d.copy_from_slice(s);
        }
        Ok(n)
    }
}

/// Most `PT_LOAD` segments with file bytes a file may have (real programs
/// and libraries have 2 to 6).
pub const MAX_LOAD_SEGMENTS: usize = 16;
// `Elf::exec_mask` has a bit per segment.
const _: () = assert!(MAX_LOAD_SEGMENTS <= 16);

/// Bytes of the string window (names are compared and read through it).
const STR_WINDOW: usize = 256;
/// Bytes of table entries read at once (20 symbols, 8 program headers,
/// 7 section headers).
const CHUNK: usize = 480;
/// Symbols a [`Functions`] cursor reads at once.
const SYM_CHUNK: usize = 10;

const EHDR_SIZE: usize = 64;
const SHDR_SIZE: usize = 64;
const PHDR_SIZE: usize = 56;
const SYM_SIZE: usize = 24;

const ELFCLASS32: u8 = 1;
const ELFCLASS64: u8 = 2;
const ELFDATA2LSB: u8 = 1;
const ELFDATA2MSB: u8 = 2;
const EV_CURRENT: u32 = 1;
const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;
const EM_X86_64: u16 = 62;
const SHN_UNDEF: u16 = 0;
const PN_XNUM: u16 = 0xffff;
const SHT_SYMTAB: u32 = 2;
const SHT_STRTAB: u32 = 3;
const SHT_DYNSYM: u32 = 11;
const SHT_GNU_VERSYM: u32 = 0x6fff_ffff;
const PT_LOAD: u32 = 1;
const PF_X: u32 = 1;
const STT_FUNC: u8 = 2;
const STT_GNU_IFUNC: u8 = 10;
const VERSYM_HIDDEN: u16 = 0x8000;
/// `EIO`: what a reader that returns more than asked for gets.
const EIO: i32 = 5;

/// An ELF file this reader does not handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unsupported {
    /// `ELFCLASS32`.
    Class32,
    /// `ELFDATA2MSB`.
    BigEndian,
    /// `EI_VERSION` or `e_version` is not `EV_CURRENT`.
    Version,
    /// Neither `ET_EXEC` nor `ET_DYN` (a relocatable object, a core dump).
    Type,
    /// Not `EM_X86_64`.
    Machine,
    /// More than [`MAX_LOAD_SEGMENTS`] `PT_LOAD` segments with file bytes.
    TooManySegments,
}

impl Unsupported {
    /// What it is, for the `error_log` detail.
    pub const fn name(self) -> &'static str {
        match self {
            Unsupported::Class32 => "32-bit",
            Unsupported::BigEndian => "big-endian",
            Unsupported::Version => "unknown ELF version",
            Unsupported::Type => "not an executable or shared object",
            Unsupported::Machine => "not x86-64",
            Unsupported::TooManySegments => "more than 16 loadable segments",
        }
    }
}

/// What is wrong with a malformed ELF file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Malformed {
    /// `EI_CLASS` or `EI_DATA` is neither of the defined values.
    Ident,
    /// The file ends before something it says it holds.
    Truncated,
    /// `e_ehsize` is below the ELF64 header's size.
    HeaderSize,
    /// `e_shentsize` is not 64.
    SectionEntrySize,
    /// The section header table is not inside the file.
    Sections,
    /// `e_phentsize` is not 56.
    SegmentEntrySize,
    /// The program header table is not inside the file, or a `PT_LOAD`
    /// segment's file bytes are not.
    Segments,
    /// A symbol table's `sh_entsize` is not 24.
    SymbolEntrySize,
    /// A symbol table is not inside the file.
    Symbols,
    /// A symbol table's `sh_link` names no string table.
    StringLink,
    /// A string table is not inside the file.
    Strings,
}

impl Malformed {
    /// What it is, for the `error_log` detail.
    pub const fn name(self) -> &'static str {
        match self {
            Malformed::Ident => "bad identification",
            Malformed::Truncated => "truncated",
            Malformed::HeaderSize => "bad header size",
            Malformed::SectionEntrySize => "bad section header size",
            Malformed::Sections => "section headers out of the file",
            Malformed::SegmentEntrySize => "bad program header size",
            Malformed::Segments => "program headers or segments out of the file",
            Malformed::SymbolEntrySize => "bad symbol size",
            Malformed::Symbols => "symbol table out of the file",
            Malformed::StringLink => "symbol table without a string table",
            Malformed::Strings => "string table out of the file",
        }
    }
}

/// Why a file or a symbol is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElfError {
    /// The reader failed, with this (positive) errno.
    Read(i32),
    /// No ELF magic.
    NotElf,
    /// An ELF file of a kind this reader does not handle.
    Unsupported(Unsupported),
    /// A broken ELF file.
    Malformed(Malformed),
    /// Neither `.symtab` nor `.dynsym`.
    NoSymbols,
    /// No function symbol of that name is defined.
    UnknownSymbol,
    /// Function symbols of that name are defined with different values.
    Ambiguous,
    /// The symbol's value is in no `PT_LOAD` segment's file bytes.
    NotLoaded,
    /// `+OFF` is past the symbol's size or its segment's file bytes.
    OffsetOutside,
    /// The read budget ([`Elf::set_read_budget`]) is spent.
    TooBig,
}

/// The part of `PID:PATH:SYMBOL+OFF` an error is about (where the caret
/// goes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blame {
    /// The file (`PATH`).
    File,
    /// The symbol (`SYMBOL`).
    Symbol,
    /// The offset (`+OFF`).
    Offset,
}

impl ElfError {
    /// The part of the probe point the error is about.
    pub const fn blame(self) -> Blame {
        match self {
            ElfError::UnknownSymbol | ElfError::Ambiguous | ElfError::NotLoaded => Blame::Symbol,
            ElfError::OffsetOutside => Blame::Offset,
            _ => Blame::File,
        }
    }
}

/// A symbol table of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    /// `SHT_SYMTAB` (`.symtab`): all symbols, stripped from most installed
    /// files.
    Symtab,
    /// `SHT_DYNSYM` (`.dynsym`): the dynamic symbols.
    Dynsym,
}

/// `e_type` of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileType {
    /// `ET_EXEC`: an executable at fixed addresses.
    Exec,
    /// `ET_DYN`: a shared object or a position-independent executable.
    Dyn,
}

/// A symbol table and its string table, inside the file.
#[derive(Clone, Copy, Debug, Default)]
struct SymTab {
    /// Section index.
    index: u64,
    /// File offset of the first symbol.
    off: u64,
    /// Symbols (`sh_size / 24`).
    count: u64,
    /// File offset of the string table.
    str_off: u64,
    /// Bytes of the string table.
    str_size: u64,
}

/// The file bytes of a `PT_LOAD` segment.
#[derive(Clone, Copy, Debug, Default)]
struct Segment {
    vaddr: u64,
    off: u64,
    filesz: u64,
}

/// Section header fields the reader uses.
#[derive(Clone, Copy, Debug, Default)]
struct Shdr {
    ty: u32,
    off: u64,
    size: u64,
    link: u32,
    info: u32,
    entsize: u64,
}

fn le16(b: &[u8], i: usize) -> u16 {
    b.get(i..i + 2)
        .and_then(|s| s.try_into().ok())
        .map(u16::from_le_bytes)
        .unwrap_or(0)
}

fn le32(b: &[u8], i: usize) -> u32 {
    b.get(i..i + 4)
        .and_then(|s| s.try_into().ok())
        .map(u32::from_le_bytes)
        .unwrap_or(0)
}

fn le64(b: &[u8], i: usize) -> u64 {
    b.get(i..i + 8)
        .and_then(|s| s.try_into().ok())
        .map(u64::from_le_bytes)
        .unwrap_or(0)
}

fn shdr(b: &[u8]) -> Shdr {
    Shdr {
        ty: le32(b, 4),
        off: le64(b, 24),
        size: le64(b, 32),
        link: le32(b, 40),
        info: le32(b, 44),
        entsize: le64(b, 56),
    }
}

/// Whether `off..off + len` lies inside a file of `size` bytes.
fn inside(off: u64, len: u64, size: u64) -> bool {
    off.checked_add(len).is_some_and(|end| end <= size)
}

/// `count * entsize` bytes at `off` inside the file.
fn table_inside(off: u64, count: u64, entsize: usize, size: u64) -> bool {
    count
        .checked_mul(entsize as u64)
        .is_some_and(|len| inside(off, len, size))
}

/// A function symbol of a table (see [`Functions`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FuncEntry {
    /// The table it is in.
    pub table: Table,
    /// Its index in the table.
    pub index: u64,
    /// `st_value`: its virtual address.
    pub value: u64,
    /// `st_size` (0: unknown).
    pub size: u64,
    /// `STT_GNU_IFUNC`: the value is the resolver of an indirect function.
    pub ifunc: bool,
    /// File offset of its name.
    name_pos: u64,
    /// Bytes of the string table from the name on.
    name_room: u64,
}

/// A name read by [`Elf::name`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NameLen {
    /// Bytes written into the buffer.
    pub len: usize,
    /// Whether that is the whole name (else the buffer was too small, or
    /// the name is not terminated inside its string table).
    pub complete: bool,
}

/// A function found by name: where uprobes put a breakpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Symbol {
    /// The table it was found in.
    pub table: Table,
    /// Index of its first definition in the table.
    pub index: u64,
    /// `st_value`: its virtual address.
    pub value: u64,
    /// `st_size`, the largest among aliases (0: unknown).
    pub size: u64,
    /// File offset of its first byte.
    pub offset: u64,
    /// File bytes of its segment from `offset` on (at least 1).
    pub room: u64,
    /// `STT_GNU_IFUNC`: the resolver of an indirect function.
    pub ifunc: bool,
    /// Its segment is executable (`PF_X`).
    pub exec: bool,
    /// Found in `.dynsym` as a hidden (non-default, `NAME@VER`) version
    /// only.
    pub hidden_version: bool,
}

impl Symbol {
    /// The file offset of `+off`: `off` must be below the symbol's size
    /// when that is known, and inside its segment's file bytes always.
    pub fn offset_at(&self, off: u64) -> Result<u64, ElfError> {
        if (self.size != 0 && off >= self.size) || off >= self.room {
            return Err(ElfError::OffsetOutside);
        }
        self.offset.checked_add(off).ok_or(ElfError::OffsetOutside)
    }
}

/// The string window: file bytes `pos..pos + len`.
#[derive(Clone, Copy)]
struct Window {
    pos: u64,
    len: usize,
    buf: [u8; STR_WINDOW],
}

/// An ELF file being read: its header, loadable segments and symbol
/// tables, checked (see the module documentation).
pub struct Elf<R> {
    reader: R,
    size: u64,
    file_type: FileType,
    symtab: Option<SymTab>,
    dynsym: Option<SymTab>,
    /// `.gnu.version` of `.dynsym`: file offset (one `u16` per symbol).
    versym: Option<u64>,
    segs: [Segment; MAX_LOAD_SEGMENTS],
    /// Bit `i`: segment `i` is executable.
    exec_mask: u16,
    nsegs: usize,
    win: Window,
    budget: u64,
    reads: u64,
    bytes: u64,
}

/// Candidates of one class (default or hidden versions) of a lookup.
#[derive(Clone, Copy, Default)]
struct Found {
    first: Option<FuncEntry>,
    ambiguous: bool,
}

impl Found {
    fn add(&mut self, e: FuncEntry) {
        match &mut self.first {
            None => self.first = Some(e),
            Some(f) if f.value == e.value => {
                f.size = f.size.max(e.size);
                f.ifunc |= e.ifunc;
            }
            Some(_) => self.ambiguous = true,
        }
    }
}

impl<R: ReadAt> Elf<R> {
    /// Checks the file (`size` bytes, read through `reader`) and finds its
    /// loadable segments and symbol tables.
    pub fn new(reader: R, size: u64) -> Result<Self, ElfError> {
        let mut elf = Elf {
            reader,
            size,
            file_type: FileType::Exec,
            symtab: None,
            dynsym: None,
            versym: None,
            segs: [Segment::default(); MAX_LOAD_SEGMENTS],
            exec_mask: 0,
            nsegs: 0,
            win: Window {
                pos: 0,
                len: 0,
                buf: [0; STR_WINDOW],
            },
            budget: u64::MAX,
            reads: 0,
            bytes: 0,
        };
        elf.read_header()?;
        Ok(elf)
    }

    /// Caps the bytes all later reads may take (the reads of
    /// [`Elf::new`] are not counted against it): a read past the cap
    /// fails with [`ElfError::TooBig`].
    pub fn set_read_budget(&mut self, bytes: u64) {
        self.budget = bytes;
    }

    /// `read_at` calls made so far (for full reads: one per piece).
    pub fn reads(&self) -> u64 {
        self.reads
    }

    /// Bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }

    /// The file's size, as given to [`Elf::new`].
    pub fn size(&self) -> u64 {
        self.size
    }

    /// `ET_EXEC` or `ET_DYN`.
    pub fn file_type(&self) -> FileType {
        self.file_type
    }

    /// Whether the file has that table (and its symbol count, the null
    /// symbol included).
    pub fn table_len(&self, t: Table) -> Option<u64> {
        self.table(t).map(|s| s.count)
    }

    /// The reader back.
    pub fn into_reader(self) -> R {
        self.reader
    }

    fn table(&self, t: Table) -> Option<SymTab> {
        match t {
            Table::Symtab => self.symtab,
            Table::Dynsym => self.dynsym,
        }
    }

    /// Fills `buf` from file offset `off`; the range must be inside the
    /// file.
    fn read_exact(&mut self, off: u64, buf: &mut [u8]) -> Result<(), ElfError> {
        let len = buf.len() as u64;
        if !inside(off, len, self.size) {
            return Err(ElfError::Malformed(Malformed::Truncated));
        }
        if len > self.budget {
            return Err(ElfError::TooBig);
        }
        self.budget -= len;
        let mut done = 0usize;
        while let Some(rest) = buf.get_mut(done..) {
            if rest.is_empty() {
                break;
            }
            self.reads += 1;
            let want = rest.len();
            let n = self
                .reader
                .read_at(off + done as u64, rest)
                .map_err(|e| ElfError::Read(if e > 0 { e } else { EIO }))?;
            if n == 0 {
                // The file is shorter than it was said to be.
                return Err(ElfError::Malformed(Malformed::Truncated));
            }
            if n > want {
                return Err(ElfError::Read(EIO));
            }
            done += n;
            self.bytes += n as u64;
        }
        Ok(())
    }

    fn read_header(&mut self) -> Result<(), ElfError> {
        let mut h = [0u8; EHDR_SIZE];
        let n = self.size.min(EHDR_SIZE as u64) as usize;
        self.read_exact(0, h.get_mut(..n).unwrap_or(&mut []))?;
        if n < 4 || h.get(..4) != Some(&b"\x7fELF"[..]) {
            return Err(ElfError::NotElf);
        }
        let ident = |i: usize| if i < n { h.get(i).copied() } else { None };
        match ident(4) {
            None | Some(ELFCLASS64) => {}
            Some(ELFCLASS32) => return Err(ElfError::Unsupported(Unsupported::Class32)),
            Some(_) => return Err(ElfError::Malformed(Malformed::Ident)),
        }
        match ident(5) {
            None | Some(ELFDATA2LSB) => {}
            Some(ELFDATA2MSB) => return Err(ElfError::Unsupported(Unsupported::BigEndian)),
            Some(_) => return Err(ElfError::Malformed(Malformed::Ident)),
        }
        if ident(6).is_some_and(|v| u32::from(v) != EV_CURRENT) {
            return Err(ElfError::Unsupported(Unsupported::Version));
        }
        if n < EHDR_SIZE {
            return Err(ElfError::Malformed(Malformed::Truncated));
        }
        self.file_type = match le16(&h, 16) {
            ET_EXEC => FileType::Exec,
            ET_DYN => FileType::Dyn,
            _ => return Err(ElfError::Unsupported(Unsupported::Type)),
        };
        if le16(&h, 18) != EM_X86_64 {
            return Err(ElfError::Unsupported(Unsupported::Machine));
        }
        if le32(&h, 20) != EV_CURRENT {
            return Err(ElfError::Unsupported(Unsupported::Version));
        }
        if usize::from(le16(&h, 52)) < EHDR_SIZE {
            return Err(ElfError::Malformed(Malformed::HeaderSize));
        }
        let phoff = le64(&h, 32);
        let shoff = le64(&h, 40);
        let phentsize = usize::from(le16(&h, 54));
        let e_phnum = le16(&h, 56);
        let shentsize = usize::from(le16(&h, 58));
        let e_shnum = le16(&h, 60);

        // The section header table (with the extended counts of section 0).
        let mut shnum = 0u64;
        let mut phnum = u64::from(e_phnum);
        if shoff != 0 {
            if shentsize != SHDR_SIZE {
                return Err(ElfError::Malformed(Malformed::SectionEntrySize));
            }
            if !inside(shoff, SHDR_SIZE as u64, self.size) {
                return Err(ElfError::Malformed(Malformed::Sections));
            }
            shnum = u64::from(e_shnum);
            if e_shnum == 0 || e_phnum == PN_XNUM {
                let s0 = self.section(shoff, 0)?;
                if e_shnum == 0 {
                    shnum = s0.size;
                }
                if e_phnum == PN_XNUM {
                    phnum = u64::from(s0.info);
                }
            }
            if !table_inside(shoff, shnum, SHDR_SIZE, self.size) {
                return Err(ElfError::Malformed(Malformed::Sections));
            }
        } else if e_phnum == PN_XNUM {
            return Err(ElfError::Malformed(Malformed::Segments));
        }

        if phnum != 0 {
            if phentsize != PHDR_SIZE {
                return Err(ElfError::Malformed(Malformed::SegmentEntrySize));
            }
            if !table_inside(phoff, phnum, PHDR_SIZE, self.size) {
                return Err(ElfError::Malformed(Malformed::Segments));
            }
            self.read_segments(phoff, phnum)?;
        }
        if shnum != 0 {
            self.read_sections(shoff, shnum)?;
        }
        Ok(())
    }

    /// Section header `i` of the table at `shoff` (inside the file).
    fn section(&mut self, shoff: u64, i: u64) -> Result<Shdr, ElfError> {
        let mut b = [0u8; SHDR_SIZE];
        let off = i
            .checked_mul(SHDR_SIZE as u64)
            .and_then(|o| o.checked_add(shoff))
            .ok_or(ElfError::Malformed(Malformed::Sections))?;
        self.read_exact(off, &mut b)?;
        Ok(shdr(&b))
    }

    /// Calls `f` on each of `count` entries of `entsize` bytes at `off`
    /// (inside the file), read `CHUNK` bytes at a time.
    fn each_entry(
        &mut self,
        off: u64,
        count: u64,
        entsize: usize,
        mut f: impl FnMut(&mut Self, u64, &[u8]) -> Result<(), ElfError>,
    ) -> Result<(), ElfError> {
        let per = (CHUNK / entsize) as u64;
        let mut buf = [0u8; CHUNK];
        let mut i = 0u64;
        while i < count {
            let n = per.min(count - i);
            let len = (n as usize) * entsize;
            let chunk = buf.get_mut(..len).unwrap_or(&mut []);
            self.read_exact(off + i * entsize as u64, chunk)?;
            for k in 0..n as usize {
                let e = chunk.get(k * entsize..(k + 1) * entsize).unwrap_or(&[]);
                f(self, i + k as u64, e)?;
            }
            i += n;
        }
        Ok(())
    }

    fn read_segments(&mut self, phoff: u64, phnum: u64) -> Result<(), ElfError> {
        self.each_entry(phoff, phnum, PHDR_SIZE, |elf, _, p| {
            let filesz = le64(p, 32);
            if le32(p, 0) != PT_LOAD || filesz == 0 {
                return Ok(());
            }
            let (flags, off, vaddr) = (le32(p, 4), le64(p, 8), le64(p, 16));
            if !inside(off, filesz, elf.size) || vaddr.checked_add(filesz).is_none() {
                return Err(ElfError::Malformed(Malformed::Segments));
            }
            let Some(slot) = elf.segs.get_mut(elf.nsegs) else {
                return Err(ElfError::Unsupported(Unsupported::TooManySegments));
            };
            *slot = Segment { vaddr, off, filesz };
            if flags & PF_X != 0 {
                elf.exec_mask |= 1 << elf.nsegs;
            }
            elf.nsegs += 1;
            Ok(())
        })
    }

    fn read_sections(&mut self, shoff: u64, shnum: u64) -> Result<(), ElfError> {
        let mut symtab = None;
        let mut dynsym = None;
        let mut versym = None;
        self.each_entry(shoff, shnum, SHDR_SIZE, |_, i, b| {
            let s = shdr(b);
            match s.ty {
                SHT_SYMTAB if symtab.is_none() => symtab = Some((i, s)),
                SHT_DYNSYM if dynsym.is_none() => dynsym = Some((i, s)),
                SHT_GNU_VERSYM if versym.is_none() => versym = Some(s),
                _ => {}
            }
            Ok(())
        })?;
        if let Some((i, s)) = symtab {
            self.symtab = Some(self.sym_table(shoff, shnum, i, s)?);
        }
        if let Some((i, s)) = dynsym {
            let t = self.sym_table(shoff, shnum, i, s)?;
            self.dynsym = Some(t);
            // Versions are a preference only: a `.gnu.version` that does
            // not fit `.dynsym` is ignored.
            if let Some(v) = versym {
                if u64::from(v.link) == i
                    && v.entsize == 2
                    && v.size / 2 >= t.count
                    && inside(v.off, v.size, self.size)
                {
                    self.versym = Some(v.off);
                }
            }
        }
        Ok(())
    }

    /// Checks symbol table `i` (header `s`) and its string table.
    fn sym_table(&mut self, shoff: u64, shnum: u64, i: u64, s: Shdr) -> Result<SymTab, ElfError> {
        if s.entsize != SYM_SIZE as u64 {
            return Err(ElfError::Malformed(Malformed::SymbolEntrySize));
        }
        if !inside(s.off, s.size, self.size) {
            return Err(ElfError::Malformed(Malformed::Symbols));
        }
        let link = u64::from(s.link);
        if link == 0 || link >= shnum {
            return Err(ElfError::Malformed(Malformed::StringLink));
        }
        let st = self.section(shoff, link)?;
        if st.ty != SHT_STRTAB {
            return Err(ElfError::Malformed(Malformed::StringLink));
        }
        if !inside(st.off, st.size, self.size) {
            return Err(ElfError::Malformed(Malformed::Strings));
        }
        Ok(SymTab {
            index: i,
            off: s.off,
            count: s.size / SYM_SIZE as u64,
            str_off: st.off,
            str_size: st.size,
        })
    }

    /// A cursor over the function symbols of `.symtab`, or of `.dynsym`
    /// for a file without `.symtab` (`None`: neither).
    pub fn functions(&self) -> Option<Functions> {
        self.functions_in(Table::Symtab)
            .or_else(|| self.functions_in(Table::Dynsym))
    }

    /// A cursor over the function symbols of one table (`None`: the file
    /// has no such table).
    pub fn functions_in(&self, t: Table) -> Option<Functions> {
        self.table(t).map(|tab| Functions {
            table: t,
            tab,
            next: 0,
            first: 0,
            len: 0,
            buf: [0; SYM_CHUNK * SYM_SIZE],
        })
    }

    /// Makes the string window hold file bytes `pos..pos + want`, reading
    /// up to [`STR_WINDOW`] bytes from `pos` on (not past `end`) if it does
    /// not; returns the bytes it holds from `pos` on.
    fn window(&mut self, pos: u64, want: u64, end: u64) -> Result<&[u8], ElfError> {
        let w = &self.win;
        let held = pos >= w.pos && pos.saturating_add(want) <= w.pos.saturating_add(w.len as u64);
        if !held {
            let len = end.saturating_sub(pos).min(STR_WINDOW as u64) as usize;
            let mut buf = [0u8; STR_WINDOW];
            self.win.len = 0;
            self.read_exact(pos, buf.get_mut(..len).unwrap_or(&mut []))?;
            self.win = Window { pos, len, buf };
        }
        let w = &self.win;
        let from = pos.saturating_sub(w.pos) as usize;
        Ok(w.buf.get(from..w.len).unwrap_or(&[]))
    }

    /// Whether `e`'s name is exactly `name` (compared while reading; a
    /// name not terminated inside its string table matches nothing).
    pub fn name_is(&mut self, e: &FuncEntry, name: &[u8]) -> Result<bool, ElfError> {
        let need = name.len() as u64 + 1;
        if need > e.name_room {
            return Ok(false);
        }
        let end = e.name_pos + e.name_room;
        let mut k = 0usize;
        let mut pos = e.name_pos;
        while (k as u64) < need {
            let want = (need - k as u64).min(STR_WINDOW as u64);
            let held = self.window(pos, want, end)?;
            if held.is_empty() {
                return Ok(false);
            }
            let mut took = 0u64;
            for &b in held.iter().take(want as usize) {
                if b != name.get(k).copied().unwrap_or(0) {
                    return Ok(false);
                }
                k += 1;
                took += 1;
            }
            pos += took;
        }
        Ok(true)
    }

    /// Reads `e`'s name into `buf`, without the terminating NUL.
    pub fn name(&mut self, e: &FuncEntry, buf: &mut [u8]) -> Result<NameLen, ElfError> {
        let end = e.name_pos + e.name_room;
        let mut pos = e.name_pos;
        let mut k = 0usize;
        while pos < end {
            let held = self.window(pos, 1, end)?;
            if held.is_empty() {
                break;
            }
            let mut took = 0u64;
            for &b in held {
                if b == 0 {
                    return Ok(NameLen {
                        len: k,
                        complete: true,
                    });
                }
                let Some(d) = buf.get_mut(k) else {
                    return Ok(NameLen {
                        len: k,
                        complete: false,
                    });
                };
                *d = b;
                k += 1;
                took += 1;
            }
            pos += took;
        }
        Ok(NameLen {
            len: k,
            complete: false,
        })
    }

    /// Whether `e` is a hidden version (`NAME@VER`, not the default
    /// `NAME@@VER`) of a `.dynsym` symbol (false elsewhere, and without a
    /// usable `.gnu.version`).
    pub fn version_hidden(&mut self, e: &FuncEntry) -> Result<bool, ElfError> {
        let (Table::Dynsym, Some(off), Some(t)) = (e.table, self.versym, self.dynsym) else {
            return Ok(false);
        };
        if e.index >= t.count {
            return Ok(false);
        }
        // `.gnu.version` holds a `u16` per `.dynsym` symbol (checked).
        let mut b = [0u8; 2];
        self.read_exact(off + 2 * e.index, &mut b)?;
        Ok(u16::from_le_bytes(b) & VERSYM_HIDDEN != 0)
    }

    /// The segment holding `e`'s value, as a [`Symbol`].
    pub fn symbol(&self, e: &FuncEntry) -> Result<Symbol, ElfError> {
        let v = e.value;
        for (i, s) in self.segs.iter().take(self.nsegs).enumerate() {
            if v >= s.vaddr && v - s.vaddr < s.filesz {
                let d = v - s.vaddr;
                return Ok(Symbol {
                    table: e.table,
                    index: e.index,
                    value: v,
                    size: e.size,
                    offset: s.off + d,
                    room: s.filesz - d,
                    ifunc: e.ifunc,
                    exec: self.exec_mask & (1 << i) != 0,
                    hidden_version: false,
                });
            }
        }
        Err(ElfError::NotLoaded)
    }

    /// Looks a function up by name (see the module documentation for the
    /// rules).
    pub fn find_function(&mut self, name: &[u8]) -> Result<Symbol, ElfError> {
        if self.symtab.is_none() && self.dynsym.is_none() {
            return Err(ElfError::NoSymbols);
        }
        if name.is_empty() || name.contains(&0) {
            return Err(ElfError::UnknownSymbol);
        }
        for t in [Table::Symtab, Table::Dynsym] {
            if let Some((e, hidden)) = self.find_in(t, name)? {
                let mut s = self.symbol(&e)?;
                s.hidden_version = hidden;
                return Ok(s);
            }
        }
        Err(ElfError::UnknownSymbol)
    }

    /// `find_function` and [`Symbol::offset_at`]: the symbol and the file
    /// offset of `+off`.
    pub fn resolve(&mut self, name: &[u8], off: u64) -> Result<(Symbol, u64), ElfError> {
        let s = self.find_function(name)?;
        Ok((s, s.offset_at(off)?))
    }

    /// The definition of `name` in table `t`, and whether it is a hidden
    /// version.
    fn find_in(&mut self, t: Table, name: &[u8]) -> Result<Option<(FuncEntry, bool)>, ElfError> {
        let Some(mut cur) = self.functions_in(t) else {
            return Ok(None);
        };
        let mut default = Found::default();
        let mut hidden = Found::default();
        while let Some(e) = cur.next(self)? {
            if !self.name_is(&e, name)? {
                continue;
            }
            if self.version_hidden(&e)? {
                hidden.add(e);
            } else {
                default.add(e);
            }
        }
        for (found, is_hidden) in [(default, false), (hidden, true)] {
            if let Some(e) = found.first {
                if found.ambiguous {
                    return Err(ElfError::Ambiguous);
                }
                return Ok(Some((e, is_hidden)));
            }
        }
        Ok(None)
    }
}

/// Opens the file (`size` bytes, read through `reader`) and resolves
/// `NAME+OFF` in it ([`Elf::resolve`]), reading at most `budget` bytes
/// beyond what opening takes: the whole lookup of a `PATH:SYMBOL[+OFF]`
/// probe point, for any reader through one instance of the code.
pub fn resolve_symbol(
    reader: &mut dyn ReadAt,
    size: u64,
    name: &[u8],
    off: u64,
    budget: u64,
) -> Result<(Symbol, u64), ElfError> {
    let mut elf = Elf::new(reader, size)?;
    elf.set_read_budget(budget);
    elf.resolve(name, off)
}

/// A cursor over the defined, named function symbols (`STT_FUNC`,
/// `STT_GNU_IFUNC`) of one table, in table order; it reads 10 symbols at
/// a time. It holds no borrow of the [`Elf`]: pass the same one to
/// [`Functions::next`] each time.
pub struct Functions {
    table: Table,
    tab: SymTab,
    /// Index of the next symbol to look at.
    next: u64,
    /// Index of the first symbol in `buf`, and how many it holds.
    first: u64,
    len: u64,
    buf: [u8; SYM_CHUNK * SYM_SIZE],
}

impl Functions {
    /// The table walked.
    pub fn table(&self) -> Table {
        self.table
    }

    /// Section index of the table walked.
    pub fn section(&self) -> u64 {
        self.tab.index
    }

    /// The next function symbol, `None` after the last.
    pub fn next<R: ReadAt>(&mut self, elf: &mut Elf<R>) -> Result<Option<FuncEntry>, ElfError> {
        while self.next < self.tab.count {
            let i = self.next;
            self.next += 1;
            if i < self.first || i - self.first >= self.len {
                let n = (SYM_CHUNK as u64).min(self.tab.count - i);
                let chunk = self.buf.get_mut(..n as usize * SYM_SIZE).unwrap_or(&mut []);
                // Inside the file: checked with the table.
                elf.read_exact(self.tab.off + i * SYM_SIZE as u64, chunk)?;
                self.first = i;
                self.len = n;
            }
            let at = (i - self.first) as usize * SYM_SIZE;
            let s = self.buf.get(at..at + SYM_SIZE).unwrap_or(&[]);
            let name = u64::from(le32(s, 0));
            let ty = s.get(4).copied().unwrap_or(0) & 0xf;
            if (ty != STT_FUNC && ty != STT_GNU_IFUNC)
                || le16(s, 6) == SHN_UNDEF
                || name == 0
                || name >= self.tab.str_size
            {
                continue;
            }
            return Ok(Some(FuncEntry {
                table: self.table,
                index: i,
                value: le64(s, 8),
                size: le64(s, 16),
                ifunc: ty == STT_GNU_IFUNC,
                name_pos: self.tab.str_off + name,
                name_room: self.tab.str_size - name,
            }));
        }
        Ok(None)
    }
}

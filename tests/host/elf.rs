//! Host tests of the ELF symbol reader (`src/lang/elf.rs`).
//!
//! Real files: small C, C++ and Rust programs and a versioned shared
//! library compiled at test time (long mangled names, aliases, an IFUNC,
//! local functions of the same name, stripped and non-PIE variants), and
//! the host's `/bin/true`, `libc.so.6` and `libstdc++.so.6`. Every lookup
//! and the full list of function symbols are compared against `readelf
//! -sW` (symbols and versions), `-lW` (the file offset through the
//! segments) and `-SW` (the same offset through the sections).
//!
//! Hostile files: a hand-built ELF file, truncated at every length and
//! corrupted field by field (counts of 0xffff, links out of range, tables
//! past the end, overlapping sections, unterminated strings, other
//! classes, byte orders and machines), read through a reader that checks
//! every read is inside the file and counts them against the bound the
//! module documents.

use rprobes_core::lang::elf::{
    resolve_symbol, Blame, Bytes, Elf, ElfError, FileType, Functions, Malformed, ReadAt, Symbol,
    Table, Unsupported, MAX_LOAD_SEGMENTS,
};
use rprobes_core::lang::error::{errno, write_error_entry, ErrorKind, ParseError};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

#[path = "common/elf_invariants.rs"]
mod invariants;

use invariants::{read_bound, Checked};

fn open(data: &[u8]) -> Result<Elf<Checked<'_>>, ElfError> {
    Elf::new(Checked::new(data), data.len() as u64)
}

/// Every function symbol of a cursor: (index, name, value, size, ifunc).
fn all_functions<R: ReadAt>(
    elf: &mut Elf<R>,
    mut cur: Functions,
) -> Vec<(u64, Vec<u8>, u64, u64, bool)> {
    let mut v = Vec::new();
    let mut buf = vec![0u8; 4096];
    while let Some(e) = cur.next(elf).unwrap() {
        let n = elf.name(&e, &mut buf).unwrap();
        assert!(n.complete, "name of symbol {} not complete", e.index);
        let name = buf[..n.len].to_vec();
        assert!(elf.name_is(&e, &name).unwrap());
        v.push((e.index, name, e.value, e.size, e.ifunc));
    }
    v
}

// ---------------------------------------------------------------- readelf

/// A symbol as `readelf -sW` prints it.
#[derive(Clone, Debug)]
struct RefSym {
    table: Table,
    index: u64,
    value: u64,
    size: u64,
    ty: String,
    ndx: String,
    /// The name, without the version in `.dynsym`.
    name: String,
    /// `NAME@VER` in `.dynsym` (not the default `@@`).
    hidden: bool,
}

impl RefSym {
    fn is_function(&self) -> bool {
        (self.ty == "FUNC" || self.ty == "IFUNC") && self.ndx != "UND" && !self.name.is_empty()
    }
}

struct Reference {
    syms: Vec<RefSym>,
    /// PT_LOAD: (offset, vaddr, filesz, exec).
    loads: Vec<(u64, u64, u64, bool)>,
    /// Section index -> (address, offset).
    sections: BTreeMap<u64, (u64, u64)>,
    has: BTreeSet<&'static str>,
}

fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn num(s: &str) -> u64 {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).unwrap(),
        None => s.parse().unwrap(),
    }
}

fn hex(s: &str) -> u64 {
    u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap()
}

fn reference(path: &Path) -> Reference {
    let p = path.to_str().unwrap();
    let mut syms = Vec::new();
    let mut has = BTreeSet::new();
    let mut table = None;
    for line in run("readelf", &["-sW", p]).lines() {
        if line.starts_with("Symbol table '.dynsym'") {
            table = Some(Table::Dynsym);
            has.insert("dynsym");
            continue;
        }
        if line.starts_with("Symbol table '.symtab'") {
            table = Some(Table::Symtab);
            has.insert("symtab");
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(t), true) = (table, f.len() >= 7 && f[0].ends_with(':')) else {
            continue;
        };
        let Ok(index) = f[0].trim_end_matches(':').parse() else {
            continue;
        };
        let raw = f.get(7).copied().unwrap_or("");
        let (name, hidden) = match (t, raw.find('@')) {
            (Table::Dynsym, Some(i)) => (&raw[..i], !raw[i..].starts_with("@@")),
            _ => (raw, false),
        };
        syms.push(RefSym {
            table: t,
            index,
            value: hex(f[1]),
            size: num(f[2]),
            ty: f[3].into(),
            ndx: f[6].into(),
            name: name.into(),
            hidden,
        });
    }
    let mut loads = Vec::new();
    for line in run("readelf", &["-lW", p]).lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.first() == Some(&"LOAD") {
            let exec = f[6..f.len() - 1].iter().any(|x| x.contains('E'));
            loads.push((hex(f[1]), hex(f[2]), hex(f[4]), exec));
        }
    }
    let mut sections = BTreeMap::new();
    for line in run("readelf", &["-SW", p]).lines() {
        let Some((head, rest)) = line.trim_start().split_once(']') else {
            continue;
        };
        let Ok(idx) = head.trim_start_matches('[').trim().parse::<u64>() else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        if let Some(a) = f
            .iter()
            .position(|x| x.len() == 16 && x.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            sections.insert(idx, (hex(f[a]), hex(f[a + 1])));
        }
    }
    Reference {
        syms,
        loads,
        sections,
        has,
    }
}

/// What the documented rules give for `name`: the definition and whether
/// it is a hidden version, or the error.
fn expected(r: &Reference, name: &str) -> Result<(RefSym, bool), ElfError> {
    if r.has.is_empty() {
        return Err(ElfError::NoSymbols);
    }
    for t in [Table::Symtab, Table::Dynsym] {
        let defs: Vec<&RefSym> = r
            .syms
            .iter()
            .filter(|s| s.table == t && s.is_function() && s.name == name)
            .collect();
        let default: Vec<&RefSym> = defs.iter().copied().filter(|s| !s.hidden).collect();
        let hidden: Vec<&RefSym> = defs.iter().copied().filter(|s| s.hidden).collect();
        for (class, is_hidden) in [(default, false), (hidden, true)] {
            let Some(first) = class.first() else {
                continue;
            };
            let values: BTreeSet<u64> = class.iter().map(|s| s.value).collect();
            if values.len() > 1 {
                return Err(ElfError::Ambiguous);
            }
            let mut s = (*first).clone();
            s.size = class.iter().map(|s| s.size).max().unwrap();
            if class.iter().any(|s| s.ty == "IFUNC") {
                s.ty = "IFUNC".into();
            }
            return Ok((s, is_hidden));
        }
    }
    Err(ElfError::UnknownSymbol)
}

/// Checks the reader's answer for `name` against readelf's.
fn check_lookup<R: ReadAt>(elf: &mut Elf<R>, r: &Reference, name: &str, file: &str) {
    let got = elf.find_function(name.as_bytes());
    let want = expected(r, name);
    let (s, hidden) = match want {
        Err(e) => {
            assert_eq!(got, Err(e), "{file}: {name}");
            return;
        }
        Ok(w) => w,
    };
    let Some(&(off, vaddr, filesz, exec)) = r
        .loads
        .iter()
        .find(|l| s.value >= l.1 && s.value - l.1 < l.2)
    else {
        assert_eq!(got, Err(ElfError::NotLoaded), "{file}: {name}");
        return;
    };
    let want = Symbol {
        table: s.table,
        index: s.index,
        value: s.value,
        size: s.size,
        offset: s.value - vaddr + off,
        room: vaddr + filesz - s.value,
        ifunc: s.ty == "IFUNC",
        exec,
        hidden_version: hidden,
    };
    assert_eq!(got, Ok(want), "{file}: {name}");
    // The same offset through the symbol's section.
    if let Ok(ndx) = s.ndx.parse::<u64>() {
        let (addr, soff) = r.sections[&ndx];
        assert_eq!(want.offset, s.value - addr + soff, "{file}: {name}");
    }
}

/// Compares the cursors' lists with readelf's, and looks up (a sample of
/// some `sample`) the names, the long ones (of `min_long` bytes or more),
/// some absent ones and some near misses. Returns how many lookups it
/// made.
fn compare_file(path: &Path, min_long: usize, sample: usize) -> usize {
    let file = path.display().to_string();
    let data = std::fs::read(path).unwrap();
    let r = reference(path);
    let mut elf = open(&data).unwrap_or_else(|e| panic!("{file}: {e:?}"));

    for t in [Table::Symtab, Table::Dynsym] {
        let Some(cur) = elf.functions_in(t) else {
            assert!(
                !r.syms.iter().any(|s| s.table == t),
                "{file}: {t:?} not found"
            );
            continue;
        };
        let got = all_functions(&mut elf, cur);
        let want: Vec<(u64, Vec<u8>, u64, u64, bool)> = r
            .syms
            .iter()
            .filter(|s| s.table == t && s.is_function())
            .map(|s| {
                (
                    s.index,
                    s.name.as_bytes().to_vec(),
                    s.value,
                    s.size,
                    s.ty == "IFUNC",
                )
            })
            .collect();
        assert_eq!(got.len(), want.len(), "{file}: {t:?}");
        assert!(got == want, "{file}: {t:?} function lists differ");
    }
    let default_table = elf.functions().map(|c| c.table());
    if r.has.contains("symtab") {
        assert_eq!(default_table, Some(Table::Symtab), "{file}");
    }

    let names: BTreeSet<&str> = r
        .syms
        .iter()
        .filter(|s| s.is_function())
        .map(|s| s.name.as_str())
        .collect();
    let names: Vec<&str> = names.into_iter().collect();
    let step = names.len().div_ceil(sample).max(1);
    let mut asked: Vec<String> = names.iter().step_by(step).map(|s| s.to_string()).collect();
    let long: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| n.len() >= min_long)
        .collect();
    assert!(
        min_long == 0 || long.len() >= 2,
        "{file}: no names of {min_long} bytes"
    );
    asked.extend(long.iter().take(sample / 4).map(|s| s.to_string()));
    for n in names.iter().step_by(step * 4) {
        asked.push(format!("{n}x"));
        asked.push(n[..n.len() - 1].to_string());
    }
    // Names of non-function and undefined symbols.
    asked.extend(
        r.syms
            .iter()
            .filter(|s| !s.is_function() && !s.name.is_empty())
            .take(sample / 10)
            .map(|s| s.name.clone()),
    );
    asked.push("no_such_function_anywhere".into());
    for n in &asked {
        check_lookup(&mut elf, &r, n, &file);
    }
    asked.len()
}

// ---------------------------------------------------------------- fixtures

struct Fixtures {
    dir: PathBuf,
    /// The 600-byte C names (they differ in the last byte only).
    long_c: [String; 2],
}

const PROG_C: &str = r#"
static int __attribute__((noinline)) twice(int x) { return x * 2 + 1; }
int __attribute__((noinline)) plain(int x) { return x * 3 + twice(x); }
extern int plain_alias(int) __attribute__((alias("plain")));
int __attribute__((noinline)) LONG_A(int x) { return x + 7; }
int __attribute__((noinline)) LONG_B(int x) { return x + 9; }
static int impl_fast(int x) { return x + 11; }
static int (*resolve_pick(void))(int) { return impl_fast; }
int pick(int) __attribute__((ifunc("resolve_pick")));
int data_object = 5;
extern int other(int);
int main(int argc, char **argv) {
    (void)argv;
    return plain(argc) + plain_alias(argc) + LONG_A(argc) + LONG_B(argc) + pick(argc)
        + other(argc) + data_object;
}
"#;

const OTHER_C: &str = r#"
static int __attribute__((noinline)) twice(int x) { return x * 5 - 1; }
int other(int x) { return twice(x) + 1; }
"#;

const LIBV_C: &str = r#"
int foo_old(void) { return 1; }
int foo_new(void) { return 2; }
int only_old_a(void) { return 3; }
__asm__(".symver foo_old,foo@VER_1");
__asm__(".symver foo_new,foo@@VER_2");
__asm__(".symver only_old_a,gone@VER_1");
int bar(void) { return 4; }
"#;

const LIBV_MAP: &str =
    "VER_1 { global: foo; bar; gone; local: *; };\nVER_2 { global: foo; } VER_1;\n";

/// C++ with 16 long type names: method names of some 900 bytes that share
/// all but their last bytes.
fn cxx_source() -> String {
    let mut s = String::from("namespace a_rather_long_namespace_for_the_elf_symbol_reader {\n");
    let mut types = Vec::new();
    for i in 0..16 {
        let t = format!("TypeWithALongNameSoThatManglingGetsLongToo_{i:02}");
        s += &format!("struct {t} {{ int v; }};\n");
        types.push(t);
    }
    s += "template <class... T> struct Holder {\n  \
          static int __attribute__((noinline)) method(const T *...p) { \
          return sizeof...(T) + (0 + ... + (p != 0)); }\n};\n}\n\
          using namespace a_rather_long_namespace_for_the_elf_symbol_reader;\n\
          int main(int argc, char **) {\n  int r = 0;\n";
    for k in 0..4 {
        let mut order = types.clone();
        order.rotate_left(k);
        let args = order.join(", ");
        let nulls = vec!["0"; 16].join(", ");
        s += &format!("  r += Holder<{args}>::method({nulls});\n");
    }
    s += "  return r + argc;\n}\n";
    s
}

const RUST_SRC: &str = r#"
pub struct AVeryLongRustTypeNameForTheSymbolReaderTestsNumberOne<T>(pub T);
pub struct AnotherQuiteLongRustTypeNameForTheSymbolReaderTestsNumberTwo<T>(pub T);
impl<T: Default> Default for AVeryLongRustTypeNameForTheSymbolReaderTestsNumberOne<T> {
    fn default() -> Self { Self(T::default()) }
}
impl<T: Default> Default for AnotherQuiteLongRustTypeNameForTheSymbolReaderTestsNumberTwo<T> {
    fn default() -> Self { Self(T::default()) }
}
#[inline(never)]
pub fn work<T: Default>() -> usize { std::hint::black_box(std::mem::size_of::<T>()) }
type A = AVeryLongRustTypeNameForTheSymbolReaderTestsNumberOne<
    AnotherQuiteLongRustTypeNameForTheSymbolReaderTestsNumberTwo<
        AVeryLongRustTypeNameForTheSymbolReaderTestsNumberOne<u8>>>;
fn main() {
    println!("{}", work::<Option<(A, u16)>>() + work::<Option<(A, A, A, u32)>>());
}
"#;

fn first_tool(cands: &[&str]) -> String {
    for c in cands {
        if Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return c.to_string();
        }
    }
    panic!("none of {cands:?} found")
}

fn build(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd} {args:?}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn fixtures() -> &'static Fixtures {
    static F: OnceLock<Fixtures> = OnceLock::new();
    F.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("elf");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let long_a = format!("{}_a", "long_function_name_".repeat(31));
        let long_b = format!("{}_b", "long_function_name_".repeat(31));
        assert!(long_a.len() >= 590);
        let prog = PROG_C.replace("LONG_A", &long_a).replace("LONG_B", &long_b);
        let w = |n: &str, s: &str| {
            let p = dir.join(n);
            std::fs::write(&p, s).unwrap();
            p.to_str().unwrap().to_string()
        };
        let (prog_c, other_c) = (w("prog.c", &prog), w("other.c", OTHER_C));
        let (libv_c, libv_map) = (w("libv.c", LIBV_C), w("libv.map", LIBV_MAP));
        let cxx = w("cxx.cc", &cxx_source());
        let rs = w("r.rs", RUST_SRC);
        let o = |n: &str| dir.join(n).to_str().unwrap().to_string();
        let cc = first_tool(&["cc", "gcc", "clang-19", "clang"]);
        let cxxc = first_tool(&["g++", "clang-19", "clang"]);
        let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
        std::thread::scope(|sc| {
            sc.spawn(|| {
                build(&cc, &["-O1", "-o", &o("prog_pie"), &prog_c, &other_c]);
                build(
                    &cc,
                    &["-O1", "-no-pie", "-rdynamic", "-o", &o("prog_nopie")]
                        .iter()
                        .copied()
                        .chain([prog_c.as_str(), other_c.as_str()])
                        .collect::<Vec<_>>(),
                );
                build(
                    &cc,
                    &[
                        "-O1",
                        "-no-pie",
                        "-rdynamic",
                        "-s",
                        "-o",
                        &o("prog_stripped"),
                    ]
                    .iter()
                    .copied()
                    .chain([prog_c.as_str(), other_c.as_str()])
                    .collect::<Vec<_>>(),
                );
                let map = format!("-Wl,--version-script={libv_map}");
                build(
                    &cc,
                    &[
                        "-O1",
                        "-shared",
                        "-fPIC",
                        &map,
                        "-o",
                        &o("libv.so"),
                        &libv_c,
                    ],
                );
            });
            sc.spawn(|| {
                build(
                    &cxxc,
                    &[
                        "-x",
                        "c++",
                        "-std=c++17",
                        "-O1",
                        "-fno-exceptions",
                        "-fno-rtti",
                        "-o",
                        &o("cxx"),
                        &cxx,
                    ],
                );
            });
            sc.spawn(|| {
                build(
                    &rustc,
                    &[
                        "-C",
                        "symbol-mangling-version=v0",
                        "-C",
                        "opt-level=1",
                        "-C",
                        "strip=debuginfo",
                        "-o",
                        &o("rust"),
                        &rs,
                    ],
                );
            });
        });
        Fixtures {
            dir,
            long_c: [long_a, long_b],
        }
    })
}

// ---------------------------------------------------------------- real files

#[test]
fn c_program_symbols() {
    let f = fixtures();
    for name in ["prog_pie", "prog_nopie", "prog_stripped"] {
        compare_file(&f.dir.join(name), 0, 250);
    }
    let data = std::fs::read(f.dir.join("prog_pie")).unwrap();
    let mut elf = open(&data).unwrap();
    assert_eq!(elf.file_type(), FileType::Dyn);
    // Two static functions `twice`, in two files: ambiguous.
    assert_eq!(elf.find_function(b"twice"), Err(ElfError::Ambiguous));
    // An alias is the same function.
    let plain = elf.find_function(b"plain").unwrap();
    let alias = elf.find_function(b"plain_alias").unwrap();
    assert_eq!((plain.offset, plain.table), (alias.offset, Table::Symtab));
    assert!(plain.exec && !plain.ifunc && plain.size > 0);
    // The IFUNC symbol is its resolver.
    let pick = elf.find_function(b"pick").unwrap();
    assert!(pick.ifunc);
    // Names of 600 bytes that differ in their last byte.
    let a = elf.find_function(f.long_c[0].as_bytes()).unwrap();
    let b = elf.find_function(f.long_c[1].as_bytes()).unwrap();
    assert_ne!(a.offset, b.offset);
    let cut = &f.long_c[0][..f.long_c[0].len() - 1];
    assert_eq!(
        elf.find_function(cut.as_bytes()),
        Err(ElfError::UnknownSymbol)
    );
    // Not functions.
    for n in ["data_object", "other.c", "", "printf"] {
        assert_eq!(
            elf.find_function(n.as_bytes()),
            Err(ElfError::UnknownSymbol),
            "{n}"
        );
    }
    // +OFF: inside the size only.
    assert_eq!(plain.offset_at(0), Ok(plain.offset));
    assert_eq!(
        plain.offset_at(plain.size - 1),
        Ok(plain.offset + plain.size - 1)
    );
    assert_eq!(plain.offset_at(plain.size), Err(ElfError::OffsetOutside));
    assert_eq!(elf.resolve(b"plain", 1), Ok((plain, plain.offset + 1)));

    let data = std::fs::read(f.dir.join("prog_nopie")).unwrap();
    let elf = open(&data).unwrap();
    assert_eq!(elf.file_type(), FileType::Exec);

    // Stripped: .dynsym only, where the static functions are not.
    let data = std::fs::read(f.dir.join("prog_stripped")).unwrap();
    let mut elf = open(&data).unwrap();
    assert_eq!(elf.table_len(Table::Symtab), None);
    assert_eq!(elf.functions().map(|c| c.table()), Some(Table::Dynsym));
    assert_eq!(elf.find_function(b"plain").unwrap().table, Table::Dynsym);
    assert_eq!(elf.find_function(b"twice"), Err(ElfError::UnknownSymbol));
}

#[test]
fn versioned_library() {
    let f = fixtures();
    let path = f.dir.join("libv.so");
    compare_file(&path, 0, 250);
    let data = std::fs::read(&path).unwrap();
    let mut elf = open(&data).unwrap();
    // .symtab spells versions out; the plain name of a versioned symbol is
    // looked up in .dynsym, where the default version wins.
    let foo = elf.find_function(b"foo").unwrap();
    assert_eq!((foo.table, foo.hidden_version), (Table::Dynsym, false));
    let new = elf.find_function(b"foo_new").unwrap();
    assert_eq!(foo.offset, new.offset);
    let at = elf.find_function(b"foo@@VER_2").unwrap();
    assert_eq!((at.table, at.offset), (Table::Symtab, new.offset));
    let old = elf.find_function(b"foo@VER_1").unwrap();
    assert_eq!(old.offset, elf.find_function(b"foo_old").unwrap().offset);
    // Only a hidden version: found, and said so.
    let gone = elf.find_function(b"gone").unwrap();
    assert!(gone.hidden_version);
    assert_eq!(gone.table, Table::Dynsym);
    // `bar` has only its default version: plain in .symtab too.
    assert_eq!(elf.find_function(b"bar").unwrap().table, Table::Symtab);
}

#[test]
fn cxx_long_names() {
    let f = fixtures();
    let n = compare_file(&f.dir.join("cxx"), 800, 250);
    assert!(n > 10);
}

#[test]
fn rust_long_names() {
    let f = fixtures();
    compare_file(&f.dir.join("rust"), 300, 250);
}

#[test]
fn host_files() {
    // Full lists of a few thousand symbols each; a sample of lookups (a
    // lookup reads the whole table).
    compare_file(Path::new("/bin/true"), 0, 100);
    for lib in ["libc.so.6", "libstdc++.so.6"] {
        let p = Path::new("/lib/x86_64-linux-gnu").join(lib);
        if p.exists() {
            compare_file(&p, if lib.starts_with("libstdc") { 150 } else { 0 }, 250);
        }
    }
    // libc: versioned duplicates in .dynsym (memcpy@GLIBC_2.2.5 and the
    // default memcpy@@GLIBC_2.14), and IFUNCs.
    let p = Path::new("/lib/x86_64-linux-gnu/libc.so.6");
    let data = std::fs::read(p).unwrap();
    let r = reference(p);
    let mut elf = open(&data).unwrap();
    let memcpy = elf.find_function(b"memcpy").unwrap();
    let want = r
        .syms
        .iter()
        .find(|s| s.name == "memcpy" && !s.hidden && s.is_function())
        .unwrap();
    assert_eq!(memcpy.value, want.value);
    assert!(!memcpy.hidden_version);
    assert!(r
        .syms
        .iter()
        .any(|s| s.name == "memcpy" && s.hidden && s.value != want.value));
}

#[test]
fn lookups_are_linear() {
    // A lookup reads each table once in pieces of 10 symbols, and a
    // window of names per function symbol at most. In .symtab the names
    // are mostly in symbol order: a window serves several symbols. In a
    // .dynsym sorted for the GNU hash they are not.
    let f = fixtures();
    let files = [
        (f.dir.join("rust"), true),
        (PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"), false),
    ];
    for (path, in_order) in files {
        let data = std::fs::read(&path).unwrap();
        let mut elf = open(&data).unwrap();
        let after_open = elf.reads();
        assert!(after_open <= 16, "{after_open} reads to open");
        let n =
            elf.table_len(Table::Symtab).unwrap_or(0) + elf.table_len(Table::Dynsym).unwrap_or(0);
        let name = b"no_such_function_anywhere";
        assert_eq!(elf.find_function(name), Err(ElfError::UnknownSymbol));
        let reads = elf.reads() - after_open;
        assert!(
            reads <= n / 10 + 2 + n,
            "{path:?}: {reads} reads for {n} symbols"
        );
        if in_order {
            assert!(reads < n / 2, "{path:?}: {reads} reads for {n} symbols");
        }
    }
}

// ---------------------------------------------------------------- hand-built files

/// A small ELF file built field by field, and where its parts are.
#[derive(Clone)]
struct Tiny {
    data: Vec<u8>,
    shoff: usize,
    phoff: usize,
    symtab_off: usize,
    strtab_off: usize,
    dynsym_off: usize,
}

const SEC_TEXT: usize = 1;
const SEC_SYMTAB: usize = 2;
const SEC_STRTAB: usize = 3;
const SEC_DYNSYM: usize = 4;
const SEC_DYNSTR: usize = 5;
const SEC_VERSYM: usize = 6;
const BASE: u64 = 0x40_0000;
const TEXT: u64 = 0x100;

fn put(d: &mut [u8], at: usize, v: &[u8]) {
    d[at..at + v.len()].copy_from_slice(v);
}

/// `(name, info, shndx, value, size)`.
type TinySym<'a> = (&'a str, u8, u16, u64, u64);

const FUNC: u8 = 0x12; // GLOBAL FUNC
const LFUNC: u8 = 0x02; // LOCAL FUNC
const IFUNC: u8 = 0x1a; // GLOBAL IFUNC
const OBJECT: u8 = 0x11;
const NOTYPE: u8 = 0x10;

fn strtab(syms: &[TinySym]) -> (Vec<u8>, Vec<u32>) {
    let mut s = vec![0u8];
    let mut offs = Vec::new();
    for (n, ..) in syms {
        offs.push(s.len() as u32);
        s.extend_from_slice(n.as_bytes());
        s.push(0);
    }
    (s, offs)
}

fn symbols(syms: &[TinySym], offs: &[u32]) -> Vec<u8> {
    let mut v = vec![0u8; 24];
    for ((_, info, shndx, value, size), off) in syms.iter().zip(offs) {
        let mut e = [0u8; 24];
        put(&mut e, 0, &off.to_le_bytes());
        e[4] = *info;
        put(&mut e, 6, &shndx.to_le_bytes());
        put(&mut e, 8, &value.to_le_bytes());
        put(&mut e, 16, &size.to_le_bytes());
        v.extend_from_slice(&e);
    }
    v
}

fn tiny_syms() -> Vec<TinySym<'static>> {
    let long: &'static str = Box::leak(format!("{}_end", "x".repeat(300)).into_boxed_str());
    vec![
        ("main", FUNC, 1, BASE + TEXT, 16),
        ("helper", FUNC, 1, BASE + TEXT + 0x10, 8),
        ("main_alias", FUNC, 1, BASE + TEXT, 16),
        ("dup", LFUNC, 1, BASE + TEXT + 0x18, 4),
        ("dup", LFUNC, 1, BASE + TEXT + 0x1c, 4),
        ("same", LFUNC, 1, BASE + TEXT + 0x20, 4),
        ("same", FUNC, 1, BASE + TEXT + 0x20, 6),
        ("data", OBJECT, 1, BASE + TEXT, 4),
        ("label", NOTYPE, 1, BASE + TEXT + 4, 0),
        ("ext", FUNC, 0, 0, 0),
        ("ifn", IFUNC, 1, BASE + TEXT + 0x28, 4),
        ("nosize", FUNC, 1, BASE + TEXT + 0x30, 0),
        ("away", FUNC, 1, 0x90_0000, 4),
        (long, FUNC, 1, BASE + TEXT + 0x38, 4),
    ]
}

/// `.dynsym` of the tiny file, with `.gnu.version` values.
fn tiny_dynsyms() -> (Vec<TinySym<'static>>, Vec<u16>) {
    (
        vec![
            ("main", FUNC, 1, BASE + TEXT, 16),
            ("vfoo", FUNC, 1, BASE + TEXT + 0x10, 8),
            ("vfoo", FUNC, 1, BASE + TEXT + 0x18, 4),
            ("vold", FUNC, 1, BASE + TEXT + 0x1c, 4),
            ("vtwo", FUNC, 1, BASE + TEXT + 0x20, 4),
            ("vtwo", FUNC, 1, BASE + TEXT + 0x28, 4),
            ("only_dyn", FUNC, 1, BASE + TEXT + 0x30, 4),
        ],
        vec![1, 2, 0x8003, 0x8002, 0x8002, 0x8003, 1],
    )
}

/// Builds the tiny file: header, one PT_LOAD (R+X, the whole file), text,
/// `.symtab`/`.strtab`, `.dynsym`/`.dynstr`/`.gnu.version`, section headers.
fn tiny() -> Tiny {
    let syms = tiny_syms();
    let (dsyms, vers) = tiny_dynsyms();
    let (str1, offs1) = strtab(&syms);
    let (str2, offs2) = strtab(&dsyms);
    let sym1 = symbols(&syms, &offs1);
    let sym2 = symbols(&dsyms, &offs2);
    let mut ver = vec![0u8, 0];
    for v in &vers {
        ver.extend_from_slice(&v.to_le_bytes());
    }
    let mut d = vec![0u8; TEXT as usize];
    d.extend_from_slice(&[0x90; 0x40]);
    let align = |d: &mut Vec<u8>| d.resize(d.len().div_ceil(8) * 8, 0);
    let place = |d: &mut Vec<u8>, b: &[u8]| {
        align(d);
        let at = d.len();
        d.extend_from_slice(b);
        at
    };
    let symtab_off = place(&mut d, &sym1);
    let strtab_off = place(&mut d, &str1);
    let dynsym_off = place(&mut d, &sym2);
    let dynstr_off = place(&mut d, &str2);
    let versym_off = place(&mut d, &ver);
    align(&mut d);
    let shoff = d.len();
    // (type, flags, offset, size, link, info, entsize)
    let secs: [(u32, u64, usize, usize, u32, u32, u64); 7] = [
        (0, 0, 0, 0, 0, 0, 0),
        (1, 6, TEXT as usize, 0x40, 0, 0, 0),
        (2, 0, symtab_off, sym1.len(), SEC_STRTAB as u32, 1, 24),
        (3, 0, strtab_off, str1.len(), 0, 0, 0),
        (11, 2, dynsym_off, sym2.len(), SEC_DYNSTR as u32, 1, 24),
        (3, 2, dynstr_off, str2.len(), 0, 0, 0),
        (
            0x6fff_ffff,
            2,
            versym_off,
            ver.len(),
            SEC_DYNSYM as u32,
            0,
            2,
        ),
    ];
    for (ty, flags, off, size, link, info, entsize) in secs {
        let mut h = [0u8; 64];
        put(&mut h, 4, &ty.to_le_bytes());
        put(&mut h, 8, &flags.to_le_bytes());
        put(&mut h, 16, &(BASE + off as u64).to_le_bytes());
        put(&mut h, 24, &(off as u64).to_le_bytes());
        put(&mut h, 32, &(size as u64).to_le_bytes());
        put(&mut h, 40, &link.to_le_bytes());
        put(&mut h, 44, &info.to_le_bytes());
        put(&mut h, 56, &entsize.to_le_bytes());
        d.extend_from_slice(&h);
    }
    let len = d.len() as u64;
    // ELF header.
    put(&mut d, 0, b"\x7fELF\x02\x01\x01");
    put(&mut d, 16, &2u16.to_le_bytes()); // ET_EXEC
    put(&mut d, 18, &62u16.to_le_bytes());
    put(&mut d, 20, &1u32.to_le_bytes());
    put(&mut d, 24, &(BASE + TEXT).to_le_bytes());
    put(&mut d, 32, &64u64.to_le_bytes());
    put(&mut d, 40, &(shoff as u64).to_le_bytes());
    put(&mut d, 52, &64u16.to_le_bytes());
    put(&mut d, 54, &56u16.to_le_bytes());
    put(&mut d, 56, &1u16.to_le_bytes());
    put(&mut d, 58, &64u16.to_le_bytes());
    put(&mut d, 60, &7u16.to_le_bytes());
    // PT_LOAD, R+X, the whole file at BASE.
    let mut p = [0u8; 56];
    put(&mut p, 0, &1u32.to_le_bytes());
    put(&mut p, 4, &5u32.to_le_bytes());
    put(&mut p, 16, &BASE.to_le_bytes());
    put(&mut p, 24, &BASE.to_le_bytes());
    put(&mut p, 32, &len.to_le_bytes());
    put(&mut p, 40, &len.to_le_bytes());
    put(&mut d, 64, &p);
    Tiny {
        data: d,
        shoff,
        phoff: 64,
        symtab_off,
        strtab_off,
        dynsym_off,
    }
}

impl Tiny {
    fn sh(&self, sec: usize, field: usize) -> usize {
        self.shoff + sec * 64 + field
    }
    fn set16(&mut self, at: usize, v: u16) {
        put(&mut self.data, at, &v.to_le_bytes());
    }
    fn set32(&mut self, at: usize, v: u32) {
        put(&mut self.data, at, &v.to_le_bytes());
    }
    fn set64(&mut self, at: usize, v: u64) {
        put(&mut self.data, at, &v.to_le_bytes());
    }
    fn find(&self, name: &str) -> Result<Symbol, ElfError> {
        open(&self.data)?.find_function(name.as_bytes())
    }
}

#[test]
fn tiny_file_rules() {
    let t = tiny();
    let mut elf = open(&t.data).unwrap();
    assert_eq!(elf.file_type(), FileType::Exec);
    let main = elf.find_function(b"main").unwrap();
    assert_eq!(
        main,
        Symbol {
            table: Table::Symtab,
            index: 1,
            value: BASE + TEXT,
            size: 16,
            offset: TEXT,
            room: t.data.len() as u64 - TEXT,
            ifunc: false,
            exec: true,
            hidden_version: false,
        }
    );
    assert_eq!(elf.find_function(b"main_alias").unwrap().offset, TEXT);
    assert_eq!(elf.find_function(b"dup"), Err(ElfError::Ambiguous));
    // Same value: aliases, the largest size.
    let same = elf.find_function(b"same").unwrap();
    assert_eq!((same.offset, same.size, same.index), (TEXT + 0x20, 6, 6));
    for n in ["data", "label", "ext", "nope", "mai", "main\0", ""] {
        assert_eq!(
            elf.find_function(n.as_bytes()),
            Err(ElfError::UnknownSymbol),
            "{n}"
        );
    }
    assert!(elf.find_function(b"ifn").unwrap().ifunc);
    assert_eq!(elf.find_function(b"away"), Err(ElfError::NotLoaded));
    let long = format!("{}_end", "x".repeat(300));
    assert_eq!(
        elf.find_function(long.as_bytes()).unwrap().offset,
        TEXT + 0x38
    );
    // .dynsym: defaults before hidden versions.
    let v = elf.find_function(b"vfoo").unwrap();
    assert_eq!(
        (v.table, v.offset, v.hidden_version),
        (Table::Dynsym, TEXT + 0x10, false)
    );
    let v = elf.find_function(b"vold").unwrap();
    assert_eq!((v.offset, v.hidden_version), (TEXT + 0x1c, true));
    assert_eq!(elf.find_function(b"vtwo"), Err(ElfError::Ambiguous));
    assert_eq!(elf.find_function(b"only_dyn").unwrap().table, Table::Dynsym);

    // +OFF: within the size; with no size, within the segment.
    assert_eq!(elf.resolve(b"main", 15), Ok((main, TEXT + 15)));
    assert_eq!(elf.resolve(b"main", 16), Err(ElfError::OffsetOutside));
    let ns = elf.find_function(b"nosize").unwrap();
    assert_eq!(ns.size, 0);
    assert_eq!(ns.offset_at(0x100), Ok(ns.offset + 0x100));
    assert_eq!(ns.offset_at(ns.room - 1), Ok(t.data.len() as u64 - 1));
    assert_eq!(ns.offset_at(ns.room), Err(ElfError::OffsetOutside));
    assert_eq!(ns.offset_at(u64::MAX), Err(ElfError::OffsetOutside));

    // The iterator: functions of .symtab, in order.
    let cur = elf.functions().unwrap();
    assert_eq!(
        (cur.table(), cur.section()),
        (Table::Symtab, SEC_SYMTAB as u64)
    );
    let got: Vec<String> = all_functions(&mut elf, cur)
        .into_iter()
        .map(|f| String::from_utf8(f.1).unwrap())
        .collect();
    let want: Vec<&str> = vec![
        "main",
        "helper",
        "main_alias",
        "dup",
        "dup",
        "same",
        "same",
        "ifn",
        "nosize",
        "away",
        &long,
    ];
    assert_eq!(got, want);
    // A short name buffer: incomplete.
    let mut cur = elf.functions_in(Table::Symtab).unwrap();
    let e = cur.next(&mut elf).unwrap().unwrap();
    let mut b = [0u8; 3];
    let n = elf.name(&e, &mut b).unwrap();
    assert_eq!((n.len, n.complete, &b), (3, false, b"mai"));
    let mut b = [0u8; 4];
    let n = elf.name(&e, &mut b).unwrap();
    assert_eq!((n.len, n.complete), (4, true));
    assert!(!elf.version_hidden(&e).unwrap());
    let mut cur = elf.functions_in(Table::Dynsym).unwrap();
    let mut hidden = Vec::new();
    while let Some(e) = cur.next(&mut elf).unwrap() {
        hidden.push(elf.version_hidden(&e).unwrap());
    }
    assert_eq!(hidden, [false, false, true, true, true, true, false]);
    // Entries changed by the caller (the public fields) stay harmless.
    let mut cur = elf.functions_in(Table::Dynsym).unwrap();
    let mut e = cur.next(&mut elf).unwrap().unwrap();
    for index in [7, 8, u64::MAX / 2, u64::MAX] {
        e.index = index;
        assert_eq!(elf.version_hidden(&e), Ok(false), "{index}");
    }
    e.value = u64::MAX;
    assert_eq!(elf.symbol(&e), Err(ElfError::NotLoaded));
    e.value = BASE - 1;
    assert_eq!(elf.symbol(&e), Err(ElfError::NotLoaded));
    let mut s = elf.find_function(b"main").unwrap();
    s.offset = u64::MAX - 2;
    s.size = 0;
    s.room = u64::MAX;
    assert_eq!(s.offset_at(2), Ok(u64::MAX));
    assert_eq!(s.offset_at(3), Err(ElfError::OffsetOutside));
}

#[test]
fn sizes() {
    // Kernel stack: the reader is under 1 KiB, a cursor about 300 bytes.
    assert!(std::mem::size_of::<Elf<Bytes>>() <= 1024);
    assert!(std::mem::size_of::<Functions>() <= 320);
    let _ = MAX_LOAD_SEGMENTS;
}

#[test]
fn headers_refused() {
    let t = tiny();
    let cases: Vec<(&str, Box<dyn Fn(&mut Tiny)>, ElfError)> = vec![
        (
            "32-bit",
            Box::new(|t| t.data[4] = 1),
            ElfError::Unsupported(Unsupported::Class32),
        ),
        (
            "class 3",
            Box::new(|t| t.data[4] = 3),
            ElfError::Malformed(Malformed::Ident),
        ),
        (
            "big-endian",
            Box::new(|t| t.data[5] = 2),
            ElfError::Unsupported(Unsupported::BigEndian),
        ),
        (
            "data 0",
            Box::new(|t| t.data[5] = 0),
            ElfError::Malformed(Malformed::Ident),
        ),
        (
            "ident version",
            Box::new(|t| t.data[6] = 2),
            ElfError::Unsupported(Unsupported::Version),
        ),
        (
            "e_version",
            Box::new(|t| t.set32(20, 0)),
            ElfError::Unsupported(Unsupported::Version),
        ),
        (
            "i386",
            Box::new(|t| t.set16(18, 3)),
            ElfError::Unsupported(Unsupported::Machine),
        ),
        (
            "aarch64",
            Box::new(|t| t.set16(18, 183)),
            ElfError::Unsupported(Unsupported::Machine),
        ),
        (
            "ET_REL",
            Box::new(|t| t.set16(16, 1)),
            ElfError::Unsupported(Unsupported::Type),
        ),
        (
            "ET_CORE",
            Box::new(|t| t.set16(16, 4)),
            ElfError::Unsupported(Unsupported::Type),
        ),
        ("magic", Box::new(|t| t.data[3] = b'X'), ElfError::NotElf),
        (
            "ehsize",
            Box::new(|t| t.set16(52, 52)),
            ElfError::Malformed(Malformed::HeaderSize),
        ),
        (
            "shentsize",
            Box::new(|t| t.set16(58, 40)),
            ElfError::Malformed(Malformed::SectionEntrySize),
        ),
        (
            "phentsize",
            Box::new(|t| t.set16(54, 32)),
            ElfError::Malformed(Malformed::SegmentEntrySize),
        ),
        (
            "shnum 0xffff",
            Box::new(|t| t.set16(60, 0xffff)),
            ElfError::Malformed(Malformed::Sections),
        ),
        (
            "shoff past the end",
            Box::new(|t| t.set64(40, 1 << 40)),
            ElfError::Malformed(Malformed::Sections),
        ),
        (
            "shoff overflows",
            Box::new(|t| t.set64(40, u64::MAX - 8)),
            ElfError::Malformed(Malformed::Sections),
        ),
        (
            "phnum 0xfffe",
            Box::new(|t| t.set16(56, 0xfffe)),
            ElfError::Malformed(Malformed::Segments),
        ),
        (
            "phoff overflows",
            Box::new(|t| t.set64(32, u64::MAX - 8)),
            ElfError::Malformed(Malformed::Segments),
        ),
        (
            "extended shnum huge",
            Box::new(|t| {
                t.set16(60, 0);
                let a = t.sh(0, 32);
                t.set64(a, u64::MAX / 2);
            }),
            ElfError::Malformed(Malformed::Sections),
        ),
        (
            "PN_XNUM with sh_info 0xffff",
            Box::new(|t| {
                t.set16(56, 0xffff);
                let a = t.sh(0, 44);
                t.set32(a, 0xffff);
            }),
            ElfError::Malformed(Malformed::Segments),
        ),
        (
            "PN_XNUM without sections",
            Box::new(|t| {
                t.set16(56, 0xffff);
                t.set64(40, 0);
            }),
            ElfError::Malformed(Malformed::Segments),
        ),
        (
            "segment past the end",
            Box::new(|t| {
                let a = t.phoff + 32;
                t.set64(a, t.data.len() as u64 + 1);
            }),
            ElfError::Malformed(Malformed::Segments),
        ),
        (
            "segment offset overflows",
            Box::new(|t| {
                let a = t.phoff + 8;
                t.set64(a, u64::MAX);
            }),
            ElfError::Malformed(Malformed::Segments),
        ),
        (
            "segment vaddr overflows",
            Box::new(|t| {
                let a = t.phoff + 16;
                t.set64(a, u64::MAX - 4);
            }),
            ElfError::Malformed(Malformed::Segments),
        ),
        (
            "symtab entsize",
            Box::new(|t| {
                let a = t.sh(SEC_SYMTAB, 56);
                t.set64(a, 16);
            }),
            ElfError::Malformed(Malformed::SymbolEntrySize),
        ),
        (
            "symtab size huge",
            Box::new(|t| {
                let a = t.sh(SEC_SYMTAB, 32);
                t.set64(a, 0xffff_ffff_ffff_fff0);
            }),
            ElfError::Malformed(Malformed::Symbols),
        ),
        (
            "symtab offset past the end",
            Box::new(|t| {
                let a = t.sh(SEC_SYMTAB, 24);
                t.set64(a, t.data.len() as u64);
            }),
            ElfError::Malformed(Malformed::Symbols),
        ),
        (
            "sh_link out of range",
            Box::new(|t| {
                let a = t.sh(SEC_SYMTAB, 40);
                t.set32(a, 99);
            }),
            ElfError::Malformed(Malformed::StringLink),
        ),
        (
            "sh_link 0",
            Box::new(|t| {
                let a = t.sh(SEC_DYNSYM, 40);
                t.set32(a, 0);
            }),
            ElfError::Malformed(Malformed::StringLink),
        ),
        (
            "sh_link to PROGBITS",
            Box::new(|t| {
                let a = t.sh(SEC_SYMTAB, 40);
                t.set32(a, SEC_TEXT as u32);
            }),
            ElfError::Malformed(Malformed::StringLink),
        ),
        (
            "sh_link to itself",
            Box::new(|t| {
                let a = t.sh(SEC_SYMTAB, 40);
                t.set32(a, SEC_SYMTAB as u32);
            }),
            ElfError::Malformed(Malformed::StringLink),
        ),
        (
            "strtab past the end",
            Box::new(|t| {
                let a = t.sh(SEC_STRTAB, 32);
                t.set64(a, t.data.len() as u64);
            }),
            ElfError::Malformed(Malformed::Strings),
        ),
        (
            "strtab offset overflows",
            Box::new(|t| {
                let a = t.sh(SEC_DYNSTR, 24);
                t.set64(a, u64::MAX - 1);
            }),
            ElfError::Malformed(Malformed::Strings),
        ),
    ];
    for (what, f, want) in cases {
        let mut c = t.clone();
        f(&mut c);
        assert_eq!(open(&c.data).err(), Some(want), "{what}");
    }
    // Tiny inputs.
    for (d, want) in [
        (&b""[..], ElfError::NotElf),
        (b"\x7f", ElfError::NotElf),
        (b"\x7fEL", ElfError::NotElf),
        (b"MZ\x90\x00", ElfError::NotElf),
        (b"#!/bin/sh\n", ElfError::NotElf),
        (b"\x7fELF", ElfError::Malformed(Malformed::Truncated)),
        (b"\x7fELF\x01", ElfError::Unsupported(Unsupported::Class32)),
        (
            b"\x7fELF\x02\x02",
            ElfError::Unsupported(Unsupported::BigEndian),
        ),
        (
            b"\x7fELF\x02\x01\x01",
            ElfError::Malformed(Malformed::Truncated),
        ),
    ] {
        assert_eq!(open(d).err(), Some(want), "{d:?}");
    }
    // A real 32-bit and big-endian header (as gcc -m32 / s390x write
    // them).
    let mut h32 = t.data[..52].to_vec();
    h32[4] = 1;
    h32[18] = 3;
    assert_eq!(
        open(&h32).err(),
        Some(ElfError::Unsupported(Unsupported::Class32))
    );
    let mut be = t.data.clone();
    be[5] = 2;
    be[16..18].copy_from_slice(&2u16.to_be_bytes());
    be[18..20].copy_from_slice(&22u16.to_be_bytes());
    assert_eq!(
        open(&be).err(),
        Some(ElfError::Unsupported(Unsupported::BigEndian))
    );
}

#[test]
fn odd_but_readable() {
    let t = tiny();
    // No section headers at all: no symbols.
    let mut c = t.clone();
    c.set64(40, 0);
    assert_eq!(c.find("main"), Err(ElfError::NoSymbols));
    assert!(open(&c.data).unwrap().functions().is_none());
    // Extended section count in section 0.
    let mut c = t.clone();
    c.set16(60, 0);
    let a = c.sh(0, 32);
    c.set64(a, 7);
    assert_eq!(c.find("main").unwrap().offset, TEXT);
    // PN_XNUM: the segment count in section 0's sh_info.
    let mut c = t.clone();
    c.set16(56, 0xffff);
    let a = c.sh(0, 44);
    c.set32(a, 1);
    assert_eq!(c.find("main").unwrap().offset, TEXT);
    // No segments: nothing is loaded.
    let mut c = t.clone();
    c.set16(56, 0);
    assert_eq!(c.find("main"), Err(ElfError::NotLoaded));
    // A non-loadable or empty segment does not count.
    let mut c = t.clone();
    c.set32(c.phoff, 4);
    assert_eq!(c.find("main"), Err(ElfError::NotLoaded));
    let mut c = t.clone();
    let a = c.phoff + 32;
    c.set64(a, 0);
    assert_eq!(c.find("main"), Err(ElfError::NotLoaded));
    // Not executable: found, and said so.
    let mut c = t.clone();
    c.set32(c.phoff + 4, 4);
    assert!(!c.find("main").unwrap().exec);
    // No .symtab: .dynsym.
    let mut c = t.clone();
    let a = c.sh(SEC_SYMTAB, 4);
    c.set32(a, 1);
    assert_eq!(c.find("main").unwrap().table, Table::Dynsym);
    assert_eq!(c.find("helper"), Err(ElfError::UnknownSymbol));
    // A .gnu.version that does not fit .dynsym is ignored: vfoo is then
    // ambiguous, vold a plain definition.
    for (field, v) in [(40, 99u64), (56, 4), (32, 4)] {
        let mut c = t.clone();
        let a = c.sh(SEC_VERSYM, field);
        if field == 40 {
            c.set32(a, v as u32);
        } else {
            c.set64(a, v);
        }
        assert_eq!(c.find("vfoo"), Err(ElfError::Ambiguous), "{field}");
        assert!(!c.find("vold").unwrap().hidden_version);
    }
    // Symbol names outside the string table name nothing; a name not
    // terminated inside it matches nothing.
    let mut c = t.clone();
    c.set32(c.symtab_off + 24, 0xffff_ff00);
    assert_eq!(c.find("main").unwrap().table, Table::Dynsym);
    let mut c = t.clone();
    let a = c.sh(SEC_STRTAB, 32);
    c.set64(a, 5 + 3); // "\0main\0he": "helper" cut
    assert_eq!(c.find("main").unwrap().offset, TEXT);
    assert_eq!(c.find("helper"), Err(ElfError::UnknownSymbol));
    assert_eq!(c.find("he"), Err(ElfError::UnknownSymbol));
    let mut elf = open(&c.data).unwrap();
    let mut cur = elf.functions().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 64];
    while let Some(e) = cur.next(&mut elf).unwrap() {
        let n = elf.name(&e, &mut buf).unwrap();
        seen.push((buf[..n.len].to_vec(), n.complete));
    }
    assert_eq!(seen, [(b"main".to_vec(), true), (b"he".to_vec(), false)]);
    // Overlapping sections: the string table is the whole file, the
    // symbol table is inside the string table and the section headers.
    let mut c = t.clone();
    let (a, b) = (c.sh(SEC_STRTAB, 24), c.sh(SEC_STRTAB, 32));
    c.set64(a, 0);
    c.set64(b, c.data.len() as u64);
    let shift = c.strtab_off as u32;
    for i in 1..=tiny_syms().len() {
        let at = c.symtab_off + 24 * i;
        let old = u32::from_le_bytes(c.data[at..at + 4].try_into().unwrap());
        c.set32(at, old + shift);
    }
    assert_eq!(c.find("main").unwrap().offset, TEXT);
    assert_eq!(c.find("dup"), Err(ElfError::Ambiguous));
    let mut c = t.clone();
    let (a, b) = (c.sh(SEC_SYMTAB, 24), c.sh(SEC_SYMTAB, 32));
    c.set64(a, 0);
    c.set64(b, c.data.len() as u64 / 24 * 24);
    let mut elf = open(&c.data).unwrap();
    let _ = elf.find_function(b"main");
    let _ = all_functions_lossy(&mut elf);
    // Two symbol tables of each kind: the first counts.
    let mut c = t.clone();
    let a = c.sh(SEC_TEXT, 4);
    c.set32(a, 2);
    let b = c.sh(SEC_TEXT, 56);
    c.set64(b, 24);
    let l = c.sh(SEC_TEXT, 40);
    c.set32(l, SEC_DYNSTR as u32);
    // Section 1 now is a .symtab of the text bytes (all zero-type
    // symbols): it comes first, has no functions, and lookups go on to
    // .dynsym.
    let mut elf = open(&c.data).unwrap();
    assert_eq!(elf.functions().unwrap().section(), SEC_TEXT as u64);
    assert_eq!(elf.find_function(b"main").unwrap().table, Table::Dynsym);
    // Too many segments.
    let mut c = t.clone();
    let n = MAX_LOAD_SEGMENTS + 1;
    let at = c.data.len();
    let seg = c.data[c.phoff..c.phoff + 56].to_vec();
    for _ in 0..n {
        c.data.extend_from_slice(&seg);
    }
    c.set64(32, at as u64);
    c.set16(56, n as u16);
    assert_eq!(
        open(&c.data).err(),
        Some(ElfError::Unsupported(Unsupported::TooManySegments))
    );
    c.set16(56, MAX_LOAD_SEGMENTS as u16);
    assert_eq!(c.find("main").unwrap().offset, TEXT);
    let _ = c.dynsym_off;
}

/// Names and values of a cursor, errors ending it (for corrupted files).
fn all_functions_lossy<R: ReadAt>(elf: &mut Elf<R>) -> usize {
    let Some(mut cur) = elf.functions() else {
        return 0;
    };
    let mut n = 0;
    let mut buf = [0u8; 32];
    while let Ok(Some(e)) = cur.next(elf) {
        let _ = elf.name(&e, &mut buf);
        let _ = elf.name_is(&e, b"main");
        let _ = elf.version_hidden(&e);
        let _ = elf.symbol(&e);
        n += 1;
    }
    n
}

#[test]
fn truncated_at_every_length() {
    let t = tiny();
    let names: [&[u8]; 4] = [b"main", b"vfoo", b"dup", b"only_dyn"];
    let full: Vec<_> = names
        .iter()
        .map(|n| t.find(std::str::from_utf8(n).unwrap()))
        .collect();
    let mut files = vec![t.data.clone()];
    // And a small real program.
    let f = fixtures();
    let small = f.dir.join("prog_stripped");
    files.push(std::fs::read(small).unwrap());
    for data in &files {
        for len in 0..data.len() {
            let cut = &data[..len];
            // Checks the reads against the documented bound.
            invariants::check(cut, len as u64, &names);
            // A file that shrank after its size was taken.
            if len % 7 == 0 {
                invariants::check(cut, data.len() as u64, &names);
            }
            if let Ok(mut elf) = open(cut) {
                if data == &t.data {
                    for (n, want) in names.iter().zip(&full) {
                        let got = elf.find_function(n);
                        assert!(got.is_err() || got == *want, "{len}");
                    }
                }
            }
        }
    }
}

#[test]
fn reads_are_bounded_on_hostile_tables() {
    // 64 KiB of function symbols over a string table of the whole file,
    // names starting everywhere, and the same name 2700 times.
    let t = tiny();
    let mut rng = 0x1234_5678_9abc_def0u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for same in [false, true] {
        let mut c = t.clone();
        let at = c.data.len();
        let n = 64 * 1024 / 24;
        for i in 0..n {
            let mut e = [0u8; 24];
            let name = if same {
                1
            } else {
                next() as u32 % (at as u32 + 24 * n as u32)
            };
            put(&mut e, 0, &name.to_le_bytes());
            e[4] = FUNC;
            put(&mut e, 6, &1u16.to_le_bytes());
            put(&mut e, 8, &(BASE + TEXT + (i as u64 % 64)).to_le_bytes());
            c.data.extend_from_slice(&e);
        }
        let (a, b) = (c.sh(SEC_SYMTAB, 24), c.sh(SEC_SYMTAB, 32));
        c.set64(a, at as u64);
        c.set64(b, (24 * n) as u64);
        let (a, b) = (c.sh(SEC_STRTAB, 24), c.sh(SEC_STRTAB, 32));
        c.set64(a, 0);
        c.set64(b, c.data.len() as u64);
        let size = c.data.len() as u64;
        for name in [&b"\x7fELF"[..], b"main", &[b'x'; 700]] {
            let (calls, bytes) = invariants::check(&c.data, size, &[name]);
            let (mc, mb) = read_bound(size, name.len(), 1);
            assert!(calls <= mc && bytes <= mb);
            // Linear: some 2 reads and 550 bytes per symbol at most here.
            assert!(
                calls <= 3 * n as u64 && bytes <= 600 * n as u64,
                "{calls} {bytes}"
            );
        }
        if same {
            // Every symbol is named by the bytes at offset 1 of the file
            // ("ELF\x02\x01\x01"), with different values.
            let mut elf = open(&c.data).unwrap();
            let mut cur = elf.functions().unwrap();
            let e = cur.next(&mut elf).unwrap().unwrap();
            let mut buf = [0u8; 16];
            let nl = elf.name(&e, &mut buf).unwrap();
            assert!(nl.complete);
            let name = buf[..nl.len].to_vec();
            assert_eq!(elf.find_function(&name), Err(ElfError::Ambiguous));
        }
    }
}

#[test]
fn budget_and_readers() {
    let t = tiny();
    // A budget: the lookup stops.
    let mut elf = open(&t.data).unwrap();
    elf.set_read_budget(100);
    assert_eq!(elf.find_function(b"only_dyn"), Err(ElfError::TooBig));
    // The one-call lookup, through a `dyn` reader.
    let mut r = Checked::new(&t.data);
    let size = t.data.len() as u64;
    let s = t.find("main").unwrap();
    assert_eq!(
        resolve_symbol(&mut r, size, b"main", 3, u64::MAX),
        Ok((s, TEXT + 3))
    );
    assert_eq!(
        resolve_symbol(&mut r, size, b"main", 16, u64::MAX),
        Err(ElfError::OffsetOutside)
    );
    assert_eq!(
        resolve_symbol(&mut r, size, b"only_dyn", 0, 100),
        Err(ElfError::TooBig)
    );
    let mut elf = open(&t.data).unwrap();
    elf.set_read_budget(100_000);
    assert!(elf.find_function(b"only_dyn").is_ok());
    assert!(elf.bytes_read() > 0 && elf.reads() > 0);
    assert_eq!(elf.size(), t.data.len() as u64);

    // One byte per read: the same answers.
    let names = ["main", "vfoo", "vold", "dup", "away", "nosize"];
    for short in [1, 5, 23] {
        let mut r = Checked::new(&t.data);
        r.short = short;
        let mut elf = Elf::new(&mut r, t.data.len() as u64).unwrap();
        for n in names {
            assert_eq!(elf.find_function(n.as_bytes()), t.find(n), "{n} {short}");
        }
        let bytes = elf.bytes_read();
        drop(elf);
        assert_eq!(r.bytes, bytes);
        assert!(r.calls >= bytes / short as u64);
    }
    // A failing reader: its errno, wherever it fails.
    for at in [
        0u64,
        70,
        t.symtab_off as u64,
        t.strtab_off as u64 + 2,
        t.shoff as u64 + 130,
    ] {
        let mut r = Checked::new(&t.data);
        r.fail_at = Some((at, 5));
        let got =
            Elf::new(&mut r, t.data.len() as u64).and_then(|mut e| e.find_function(b"only_dyn"));
        assert_eq!(got.err(), Some(ElfError::Read(5)), "{at}");
    }
    // A reader returning a bad errno or more than asked.
    let mut r = Checked::new(&t.data);
    r.fail_at = Some((0, -3));
    assert_eq!(Elf::new(&mut r, 100).err(), Some(ElfError::Read(5)));
    let mut r = Checked::new(&t.data);
    r.overread = true;
    assert_eq!(Elf::new(&mut r, 100).err(), Some(ElfError::Read(5)));
}

#[test]
fn error_log_entries() {
    // `p 1:/bin/app:frobnicate+0x40`: the caret under the part at fault.
    let line = "p 1:/bin/app:frobnicate+0x40";
    let (file, sym, off) = (4, 13, 23);
    let cases = [
        (
            ElfError::UnknownSymbol,
            ErrorKind::ElfUnknownSymbol,
            sym,
            errno::ENOENT,
        ),
        (
            ElfError::Ambiguous,
            ErrorKind::NonUniqSymbol,
            sym,
            errno::EINVAL,
        ),
        (
            ElfError::NotLoaded,
            ErrorKind::ElfNotLoaded,
            sym,
            errno::ENOENT,
        ),
        (
            ElfError::OffsetOutside,
            ErrorKind::ElfBadOffset,
            off,
            errno::EINVAL,
        ),
        (ElfError::NotElf, ErrorKind::ElfNotElf, file, errno::ENOEXEC),
        (
            ElfError::NoSymbols,
            ErrorKind::ElfNoSymbols,
            file,
            errno::ENOENT,
        ),
        (ElfError::TooBig, ErrorKind::ElfTooBig, file, errno::E2BIG),
        (ElfError::Read(13), ErrorKind::ElfRead, file, 13),
        (ElfError::Read(0), ErrorKind::ElfRead, file, errno::EIO),
        (
            ElfError::Unsupported(Unsupported::Class32),
            ErrorKind::ElfUnsupported(Unsupported::Class32),
            file,
            errno::ENOEXEC,
        ),
        (
            ElfError::Malformed(Malformed::StringLink),
            ErrorKind::ElfMalformed(Malformed::StringLink),
            file,
            errno::ENOEXEC,
        ),
    ];
    for (e, kind, pos, errno) in cases {
        let p = ParseError::from_elf(e, file, sym, off);
        assert_eq!((p.kind, p.pos, p.errno), (kind, pos, errno), "{e:?}");
        assert_eq!(
            e.blame(),
            match pos {
                4 => Blame::File,
                13 => Blame::Symbol,
                _ => Blame::Offset,
            }
        );
    }
    let mut s = String::new();
    let p = ParseError::from_elf(ElfError::UnknownSymbol, file, sym, off);
    write_error_entry(&mut s, line, &p).unwrap();
    let caret = format!("{:w$}^", "", w = 11 + sym);
    assert_eq!(
        s,
        format!("rprobes: error: Unknown symbol in the file\n  Command: {line}\n{caret}\n")
    );
    let mut s = String::new();
    let p = ParseError::from_elf(
        ElfError::Unsupported(Unsupported::BigEndian),
        file,
        sym,
        off,
    );
    write_error_entry(&mut s, line, &p).unwrap();
    assert!(
        s.starts_with("rprobes: error: Unsupported ELF file: big-endian\n"),
        "{s}"
    );
    let mut s = String::new();
    let p = ParseError::from_elf(ElfError::Ambiguous, file, sym, off);
    write_error_entry(&mut s, line, &p).unwrap();
    assert!(
        s.starts_with("rprobes: error: The symbol is not unique\n"),
        "{s}"
    );
    assert_eq!(
        ErrorKind::ElfBadOffset.message(),
        "Offset is out of the symbol"
    );
    assert_eq!(ErrorKind::ElfNotElf.message(), "Not an ELF file");
}

// SPDX-License-Identifier: GPL-2.0

//! Kernel symbols: addresses printed as `func+0x12/0x40 [mod]`
//! ([`write_sym`], through the exported `sprint_symbol()`), and how many
//! symbols a name stands for, for tracefs' checks of a probe point before
//! anything else of the line ("Invalid probed address or symbol", "The
//! symbol is not unique"; [`SymTab`]).
//!
//! The kernel exports no kallsyms lookup or iterator to modules, so the
//! table is built from `/proc/kallsyms` (opened with the exported
//! `filp_open()` and read through `seq_read_iter()`, see
//! `src/shim/seqread.c`): every name, as sorted hashes (see
//! [`crate::lang::kallsyms`]). It is built on the first symbol probe and
//! rebuilt after any module load or unload (a module notifier marks it
//! stale), so adding many probes costs one scan.
//!
//! Context: [`write_sym`] runs anywhere (kallsyms takes no sleeping lock);
//! [`SymTab`] sleeps (it reads a file) and is used under the registry
//! mutex.

use crate::lang::kallsyms::{
    count_symbol, hash, heapsort, is_clone_of, is_real_module, parse_line,
};
use crate::lang::lex::FixedBuf;
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, Ordering::Relaxed};
use kernel::{bindings, ffi::c_void, prelude::*, types::Opaque};

/// Longest text [`write_sym`] writes (`KSYM_SYMBOL_LEN`).
pub(crate) const KSYM_LEN: usize = super::bindings::RPROBES_KSYM_LEN as usize;

/// Writes `addr` as `func+0x12/0x40 [mod]` (kallsyms), or as hex if it is
/// in no symbol.
pub(crate) fn write_sym(w: &mut impl Write, addr: usize) -> core::fmt::Result {
    let mut buf = [0u8; KSYM_LEN];
    // SAFETY: `buf` has the KSYM_SYMBOL_LEN bytes `sprint_symbol` may write.
    let n =
        unsafe { bindings::sprint_symbol(buf.as_mut_ptr().cast(), addr as kernel::ffi::c_ulong) };
    let n = (n.max(0) as usize).min(buf.len());
    match core::str::from_utf8(&buf[..n]) {
        Ok(s) if n > 0 => w.write_str(s),
        _ => write!(w, "{addr:#x}"),
    }
}

/// Writes the name of the function containing `addr` (no offset, no
/// module), as tracefs prints the probed function of a return event.
pub(crate) fn write_sym_name(w: &mut impl Write, addr: usize) -> core::fmt::Result {
    let mut full = FixedBuf::<KSYM_LEN>::new();
    let _ = write_sym(&mut full, addr);
    let s = full.as_str();
    w.write_str(s.split(['+', ' ']).next().unwrap_or(s))
}

/// Most compiler clones one `SYM` resolves to (kernels have a few per
/// function at most).
pub(crate) const MAX_CLONES: usize = 16;

/// Set when the set of loaded modules changed since the last build.
static STALE: AtomicBool = AtomicBool::new(true);

/// Module notifier: any module coming or going makes the table stale.
///
/// # Safety
///
/// Called by the notifier chain with the arguments of a module event.
unsafe extern "C" fn module_event(
    _nb: *mut bindings::notifier_block,
    _action: kernel::ffi::c_ulong,
    _data: *mut c_void,
) -> kernel::ffi::c_int {
    STALE.store(true, Relaxed);
    0 // NOTIFY_DONE
}

struct Notifier(Opaque<bindings::notifier_block>);

// SAFETY: The block is only handed to the notifier chain, which
// serialises its use; we never access it ourselves.
unsafe impl Sync for Notifier {}

static NOTIFIER: Notifier = Notifier(Opaque::new(bindings::notifier_block {
    notifier_call: Some(module_event),
    next: core::ptr::null_mut(),
    priority: 0,
}));

/// Registration of [`NOTIFIER`]; unregisters on drop.
pub(crate) struct ModuleWatch(());

impl ModuleWatch {
    /// Starts watching module loads and unloads.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: `NOTIFIER` is a static, registered once (this type is
        // only created in module init) and unregistered in `Drop`.
        let ret = unsafe { bindings::register_module_notifier(NOTIFIER.0.get()) };
        if ret < 0 {
            return Err(Error::from_errno(ret));
        }
        Ok(Self(()))
    }
}

impl Drop for ModuleWatch {
    fn drop(&mut self) {
        // SAFETY: Registered in `new`.
        unsafe { bindings::unregister_module_notifier(NOTIFIER.0.get()) };
    }
}

/// The names of every symbol in `/proc/kallsyms`, as hashes: what tracefs
/// asks kallsyms before it accepts a probe (`validate_probe_symbol()`).
pub(crate) struct SymTab {
    /// Name hashes of the core kernel's symbols, sorted, duplicates kept
    /// (some 50000 of them: about 400 KiB, from vmalloc if need be).
    core: KVVec<u64>,
    /// `(name hash, module hash)` of the modules' symbols, sorted.
    modules: KVec<(u64, u64)>,
}

impl SymTab {
    /// An empty table (built on first use).
    pub(crate) fn new() -> Self {
        Self {
            core: KVVec::new(),
            modules: KVec::new(),
        }
    }

    /// How many symbols `[MOD:]SYM` names (see [`count_symbol`]): `None`
    /// when module MOD is not loaded. The table is read again from
    /// `/proc/kallsyms` after any module load or unload.
    pub(crate) fn count(&mut self, sym: &str) -> Result<Option<usize>> {
        if STALE.swap(false, Relaxed) {
            if let Err(e) = self.build() {
                STALE.store(true, Relaxed);
                pr_warn!(
                    "cannot scan /proc/kallsyms ({:?}): symbols not checked before registering\n",
                    e
                );
                return Err(e);
            }
        }
        Ok(count_symbol(&self.core, &self.modules, sym))
    }

    /// The address of `[MOD:]SYM` from `/proc/kallsyms` (for `@SYM`
    /// fetch arguments), if there is one.
    pub(crate) fn lookup(&mut self, sym: &str) -> Result<Option<u64>> {
        let (module, name) = match sym.split_once(':') {
            Some((m, n)) => (Some(m), n),
            None => (None, sym),
        };
        let mut found = None;
        read_lines(c"/proc/kallsyms", |line| {
            if found.is_some() {
                return Ok(());
            }
            if let Some((n, m)) = parse_line(line) {
                if n == name.as_bytes() && module.is_none_or(|want| want.as_bytes() == m) {
                    let hex = line.split(|&b| b == b' ').next().unwrap_or(b"");
                    let addr = core::str::from_utf8(hex)
                        .ok()
                        .and_then(|h| u64::from_str_radix(h, 16).ok());
                    found = addr.filter(|&a| a != 0);
                }
            }
            Ok(())
        })?;
        Ok(found)
    }

    /// The compiler clones ([`is_clone_of`]) of `[MOD:]SYM`, for a name
    /// kallsyms does not have, looked up as [`count_symbol`] counts: a
    /// plain `SYM`'s in the core kernel, or, if it has none, in the
    /// modules; `MOD:SYM`'s in module MOD (returned as `MOD:CLONE`). Text
    /// symbols only, each name once (a clone name defined twice is not
    /// unique and is left out, as tracefs refuses such a name), at most
    /// [`MAX_CLONES`], in kallsyms' order. One scan of `/proc/kallsyms`.
    /// Sleeps.
    pub(crate) fn clones(&mut self, sym: &str) -> Result<KVec<KVec<u8>>> {
        let (module, base) = match sym.split_once(':') {
            Some((m, s)) => (Some(m.as_bytes()), s.as_bytes()),
            None => (None, sym.as_bytes()),
        };
        // (name, defined twice, in a module).
        let mut found: KVec<(KVec<u8>, bool, bool)> = KVec::new();
        read_lines(c"/proc/kallsyms", |line| {
            let ty = line.split(|&b| b == b' ').nth(1);
            if !matches!(ty, Some(b"t") | Some(b"T")) {
                return Ok(());
            }
            let Some((name, m)) = parse_line(line) else {
                return Ok(());
            };
            let in_module = !m.is_empty();
            let wanted = match module {
                Some(want) => m == want,
                None => !in_module || is_real_module(m),
            };
            if !wanted || !is_clone_of(name, base) {
                return Ok(());
            }
            if let Some(f) = found
                .iter_mut()
                .find(|(n, _, im)| n.as_slice() == name && *im == in_module)
            {
                f.1 = true;
            } else if found.len() < 2 * MAX_CLONES {
                let mut n = KVec::new();
                n.extend_from_slice(name, GFP_KERNEL)?;
                found.push((n, false, in_module), GFP_KERNEL)?;
            }
            Ok(())
        })?;
        // The core kernel's, else the modules'.
        let core = found.iter().any(|(_, _, im)| !*im);
        let mut out = KVec::new();
        for (n, dup, im) in found.into_iter() {
            if dup || (core && im) || out.len() == MAX_CLONES {
                continue;
            }
            let mut full = KVec::new();
            if let Some(m) = module {
                full.extend_from_slice(m, GFP_KERNEL)?;
                full.push(b':', GFP_KERNEL)?;
            }
            full.extend_from_slice(&n, GFP_KERNEL)?;
            out.push(full, GFP_KERNEL)?;
        }
        Ok(out)
    }

    fn build(&mut self) -> Result {
        // The old table goes first: the new one may need its memory.
        self.core = KVVec::new();
        self.modules = KVec::new();
        let (mut core, mut modules) = (KVVec::new(), KVec::new());
        read_lines(c"/proc/kallsyms", |line| {
            match parse_line(line) {
                // A failure is reported (the scan is given up), not warned
                // about.
                Some((name, [])) => core.push(hash(name), GFP_KERNEL | __GFP_NOWARN)?,
                Some((name, m)) if is_real_module(m) => {
                    modules.push((hash(name), hash(m)), GFP_KERNEL)?
                }
                _ => {}
            }
            Ok(())
        })?;
        heapsort(&mut core);
        heapsort(&mut modules);
        self.core = core;
        self.modules = modules;
        Ok(())
    }
}

/// Calls `f` on every line of the seq_file-backed file at `path`.
fn read_lines(path: &CStr, mut f: impl FnMut(&[u8]) -> Result) -> Result {
    // SAFETY: `path` is a valid C string; flags/mode are plain values.
    let file = unsafe { bindings::filp_open(path.as_char_ptr(), bindings::O_RDONLY as i32, 0) };
    let file = kernel::error::from_err_ptr(file)?;
    let mut buf = KVec::<u8>::from_elem(0u8, 16384, GFP_KERNEL)?;
    let (mut fill, mut pos): (usize, i64) = (0, 0);
    let res = (|| -> Result {
        loop {
            // SAFETY: `file` is an open seq_file-backed file (only called
            // for /proc/kallsyms); the destination is the unused tail of
            // `buf`, valid for `len() - fill` bytes.
            let n = unsafe {
                super::bindings::rprobes_seq_kernel_read(
                    file.cast(),
                    buf.as_mut_ptr().add(fill).cast(),
                    buf.len() - fill,
                    &mut pos,
                )
            };
            if n < 0 {
                return Err(Error::from_errno(n as i32));
            }
            let end = fill + n as usize;
            let mut start = 0;
            while let Some(i) = buf[start..end].iter().position(|&b| b == b'\n') {
                f(&buf[start..start + i])?;
                start += i + 1;
            }
            if n == 0 {
                if start < end {
                    f(&buf[start..end])?;
                }
                return Ok(());
            }
            buf.copy_within(start..end, 0);
            fill = end - start;
            if fill == buf.len() {
                return Err(E2BIG); // a 16 KiB line: not kallsyms
            }
        }
    })();
    // SAFETY: `file` was opened above and is closed exactly once.
    unsafe { bindings::filp_close(file, core::ptr::null_mut()) };
    res
}

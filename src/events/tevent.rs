// SPDX-License-Identifier: GPL-2.0

//! rprobes' events as the kernel's trace events (`trace_events=1`): an
//! event GRP/EVENT of kernel entry probes is also tracefs'
//! `events/GRP/EVENT/` (`enable`, `filter`, `trigger`, `format`, `id`),
//! with the fields of a kprobe event (`__probe_ip`, then the fetch
//! arguments, laid out as tracefs lays them out); a hit is written to the
//! buffer of every tracefs instance that enabled it, beside rprobes' own
//! stream. The tracefs side is C (`src/shim/tevent.c`: the
//! `trace_event_call`, its fields, `reg()`, the `trace` line); this is the
//! description of the fields, and the hit's record.
//!
//! Context: [`TEvent::add`] and [`TEvent::remove`] sleep (they take the
//! tracing core's event_mutex) and are called under the registry mutex;
//! [`TEvent::on`] and [`TEvent::write`] run in probe handlers.

use super::eval::{self, Args, Ctx};
use crate::lang::error::ErrorKind;
use crate::lang::fetch_arg::FetchType;
use crate::lang::fetch_fmt::{data_loc_len, make_data_loc};
use crate::lang::lex::FixedBuf;
use crate::probe::{name, CmdError, Name};
use crate::sys::bindings;
use core::fmt::Write;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicI32, Ordering::Relaxed};
use kernel::prelude::*;
use kernel::str::CString;

/// Where the arguments start in a record: the common fields, `__probe_ip`.
const ARGS_AT: usize = bindings::RPROBES_TEVENT_ARGS as usize;
/// In a return event's: the common fields, `__probe_func`, `__probe_ret_ip`.
const RET_ARGS_AT: usize = bindings::RPROBES_TEVENT_RET_ARGS as usize;

/// Where the arguments start in a record of an entry (`false`) or return
/// (`true`) event.
fn args_at(ret: bool) -> usize {
    if ret {
        RET_ARGS_AT
    } else {
        ARGS_AT
    }
}

/// Largest record (bytes after `__probe_ip`): strings are cut to fit, as
/// in rprobes' own stream.
const MAX_DATA: usize = 3072;

/// Whether `trace_events=1` was given at load.
pub(crate) fn enabled() -> bool {
    // SAFETY: Reads a module parameter.
    unsafe { bindings::rprobes_param_trace_events() }
}

/// One registered trace event.
///
/// # Invariants
///
/// `self.0` was returned by `rprobes_tevent_add()` and is not removed
/// until [`TEvent::remove`] succeeds (which consumes it).
pub(crate) struct TEvent(NonNull<bindings::rprobes_tevent>);

// SAFETY: The C object is used from any thread: its list of instances is
// RCU-protected and changed under event_mutex.
unsafe impl Send for TEvent {}
// SAFETY: As above.
unsafe impl Sync for TEvent {}

/// tracefs' `fmttype` of `ty` (its `format` file's type names).
fn fmttype(ty: FetchType) -> &'static str {
    use FetchType::*;
    match ty {
        U8 | X8 | Char => "u8",
        U16 | X16 => "u16",
        U32 | X32 => "u32",
        U64 | X64 | Symbol => "u64",
        S8 => "s8",
        S16 => "s16",
        S32 => "s32",
        S64 => "s64",
        String | UString | SymStr => "__data_loc char[]",
    }
}

/// How the C side prints `ty`.
fn kind(ty: FetchType) -> bindings::rprobes_tfield_kind {
    use FetchType::*;
    match ty {
        U8 | U16 | U32 | U64 => bindings::rprobes_tfield_kind_RPROBES_TF_U,
        S8 | S16 | S32 | S64 => bindings::rprobes_tfield_kind_RPROBES_TF_S,
        X8 | X16 | X32 | X64 => bindings::rprobes_tfield_kind_RPROBES_TF_X,
        Char => bindings::rprobes_tfield_kind_RPROBES_TF_CHAR,
        Symbol => bindings::rprobes_tfield_kind_RPROBES_TF_SYMBOL,
        String | UString | SymStr => bindings::rprobes_tfield_kind_RPROBES_TF_STRING,
    }
}

/// The `print fmt` part of `ty` (tracefs' `__set_print_fmt()`).
fn print_fmt(ty: FetchType) -> &'static str {
    use FetchType::*;
    match ty {
        U8 | U16 | U32 => "%u",
        U64 => "%Lu",
        S8 | S16 | S32 => "%d",
        S64 => "%Ld",
        X8 | X16 | X32 => "0x%x",
        X64 => "0x%Lx",
        Char => "'%c'",
        Symbol => "%pS",
        String | UString | SymStr => "\\\"%s\\\"",
    }
}

fn cstring(args: core::fmt::Arguments<'_>) -> Result<CString> {
    CString::try_from_fmt(args)
}

impl TEvent {
    /// Registers trace event `group/event` of an entry or return (`ret`)
    /// probe, kernel or user (`user`), with the fields of `args`. Errors:
    /// `EEXIST` (a trace event of that name exists), `ENOMEM`.
    pub(crate) fn add(
        group: &str,
        event: &str,
        ret: bool,
        user: bool,
        args: Option<&Args>,
    ) -> Result<Self> {
        let list: &[eval::Arg] = args.map_or(&[], |a| &a.args);
        // Names, types and the print format, kept until the C side copied
        // them.
        let mut names = KVec::<CString>::new();
        let mut types = KVec::<CString>::new();
        let mut fields = KVec::<bindings::rprobes_tfield>::new();
        let mut fmt = KVec::<u8>::new();
        let mut refs = KVec::<u8>::new();
        if ret {
            fmt.extend_from_slice(b"\"(%lx <- %lx)", GFP_KERNEL)?;
            refs.extend_from_slice(b", REC->__probe_func, REC->__probe_ret_ip", GFP_KERNEL)?;
        } else {
            fmt.extend_from_slice(b"\"(%lx)", GFP_KERNEL)?;
            refs.extend_from_slice(b", REC->__probe_ip", GFP_KERNEL)?;
        }
        for a in list {
            let fa = &a.arg;
            let mut name = FixedBuf::<40>::new();
            fa.write_name(&mut name, a.word()).map_err(|_| EINVAL)?;
            let n = name.as_str();
            let ty = if fa.count == 0 {
                cstring(fmt!("{}", fmttype(fa.ty)))?
            } else {
                cstring(fmt!("{}[{}]", fmttype(fa.ty), fa.count))?
            };
            let elem = fa.ty.size() as u32;
            let count = u32::from(fa.count);
            names.push(cstring(fmt!("{n}"))?, GFP_KERNEL)?;
            types.push(ty, GFP_KERNEL)?;
            // The pointers go into `fields` below, once `names` and
            // `types` no longer grow.
            fields.push(
                bindings::rprobes_tfield {
                    name: core::ptr::null(),
                    type_: core::ptr::null(),
                    offset: (args_at(ret) + usize::from(fa.offset)) as u32,
                    size: elem * count.max(1),
                    elem,
                    count,
                    is_signed: i32::from(fa.ty.is_signed()),
                    kind: kind(fa.ty),
                },
                GFP_KERNEL,
            )?;
            let mut part = FixedBuf::<160>::new();
            if fa.count == 0 {
                let _ = write!(part, " {n}={}", print_fmt(fa.ty));
                refs_push(&mut refs, fa.ty, n, None)?;
            } else {
                let _ = write!(part, " {n}={{");
                for i in 0..fa.count {
                    let _ = part.write_str(print_fmt(fa.ty));
                    let _ = part.write_str(if i + 1 == fa.count { "}" } else { "," });
                    refs_push(&mut refs, fa.ty, n, Some(i))?;
                }
            }
            fmt.extend_from_slice(part.as_str().as_bytes(), GFP_KERNEL)?;
        }
        fmt.push(b'"', GFP_KERNEL)?;
        fmt.extend_from_slice(&refs, GFP_KERNEL)?;
        fmt.push(0, GFP_KERNEL)?;
        for (i, f) in fields.iter_mut().enumerate() {
            f.name = names[i].as_char_ptr();
            f.type_ = types[i].as_char_ptr();
        }
        let group = cstring(fmt!("{group}"))?;
        let event = cstring(fmt!("{event}"))?;
        let mut err: kernel::ffi::c_int = 0;
        // SAFETY: Every string is NUL-terminated and lives until the call
        // returns (the C side copies them); `fields` has `len` entries.
        let ev = unsafe {
            bindings::rprobes_tevent_add(
                group.as_char_ptr(),
                event.as_char_ptr(),
                ret,
                user,
                fields.as_ptr(),
                fields.len() as u32,
                fmt.as_ptr().cast(),
                &mut err,
            )
        };
        match NonNull::new(ev) {
            // INVARIANT: Returned by `rprobes_tevent_add()`.
            Some(ev) => Ok(Self(ev)),
            None => Err(Error::from_errno(if err < 0 { err } else { -12 })),
        }
    }

    /// Unregisters and frees the event; `Err((self, EBUSY))` while a
    /// tracefs instance has it enabled (it stays as it was).
    pub(crate) fn remove(self) -> core::result::Result<(), (Self, Error)> {
        // SAFETY: By the type invariant, the event is registered.
        let r = unsafe { bindings::rprobes_tevent_remove(self.0.as_ptr()) };
        if r < 0 {
            return Err((self, Error::from_errno(r)));
        }
        Ok(())
    }

    /// Whether a tracefs instance has the event enabled.
    #[inline]
    pub(crate) fn on(&self) -> bool {
        // SAFETY: By the type invariant, the event is registered.
        unsafe { bindings::rprobes_tevent_on(self.0.as_ptr()) }
    }

    /// The raw event, for the hit path ([`write_raw`]).
    pub(crate) fn as_ptr(&self) -> *mut bindings::rprobes_tevent {
        self.0.as_ptr()
    }
}

/// The trace events of one kind of probes (kernel or user), by event:
/// one per event, shared by its probes. Under the registry mutex.
pub(crate) struct TEvents(KVec<(Name, Name, TEvent)>);

impl TEvents {
    /// None.
    pub(crate) fn new() -> Self {
        Self(KVec::new())
    }

    /// Whether there is none.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The trace event of event `group/event`.
    pub(crate) fn of(&self, group: &str, event: &str) -> Option<&TEvent> {
        self.0
            .iter()
            .find(|(g, e, _)| g.as_str() == group && e.as_str() == event)
            .map(|(_, _, t)| t)
    }

    /// Keeps `t` as the trace event of event `group/event`.
    pub(crate) fn keep(&mut self, group: &str, event: &str, t: TEvent) {
        if self
            .0
            .push((name(group), name(event), t), GFP_KERNEL)
            .is_err()
        {
            // It stays registered, and is not freed.
            pr_warn!("trace event {group}/{event}: no memory to keep it\n");
        }
    }

    /// Before probes are removed: unregisters the trace events of the
    /// events that lose all their probes (`losing(group, event)`).
    /// `EBUSY`, and nothing changed, while tracefs or perf uses one. Their
    /// probes stop writing to them first (`point(group, event, null)`),
    /// and `grace()` (an RCU grace period) passes before they are freed.
    /// One that cannot be removed after all (enabled meanwhile, no
    /// memory) stays, its probes pointed at it again, and its error is
    /// returned.
    pub(crate) fn release(
        &mut self,
        losing: impl Fn(&str, &str) -> bool,
        point: impl Fn(&str, &str, *mut bindings::rprobes_tevent),
        grace: impl FnOnce(),
    ) -> Result {
        let mut gone = KVec::<usize>::new();
        for (i, (g, e, t)) in self.0.iter().enumerate() {
            if losing(g.as_str(), e.as_str()) {
                if t.on() {
                    return Err(EBUSY);
                }
                gone.push(i, GFP_KERNEL)?;
            }
        }
        if gone.is_empty() {
            return Ok(());
        }
        for &i in gone.iter() {
            let (g, e, _) = &self.0[i];
            point(g.as_str(), e.as_str(), core::ptr::null_mut());
        }
        grace();
        let mut res = Ok(());
        for &i in gone.iter().rev() {
            let Ok((g, e, t)) = self.0.remove(i) else {
                continue;
            };
            if let Err((t, err)) = t.remove() {
                point(g.as_str(), e.as_str(), t.as_ptr());
                let _ = self.0.push((g, e, t), GFP_KERNEL);
                res = Err(err);
            }
        }
        res
    }
}

/// The error of a probe line whose trace event could not be registered.
pub(crate) fn add_error(err: Error) -> CmdError {
    if err == EEXIST {
        CmdError::at(ErrorKind::EventExist, 0)
    } else {
        CmdError::kernel(ErrorKind::NoMemory, 0, err)
    }
}

/// Appends the `REC->` reference of one value to the print format's list.
fn refs_push(refs: &mut KVec<u8>, ty: FetchType, n: &str, i: Option<u8>) -> Result {
    let mut r = FixedBuf::<80>::new();
    let _ = match (ty.is_string(), i) {
        (true, None) => write!(r, ", __get_str({n})"),
        (true, Some(i)) => write!(r, ", __get_str({n}[{i}])"),
        (false, None) => write!(r, ", REC->{n}"),
        (false, Some(i)) => write!(r, ", REC->{n}[{i}]"),
    };
    refs.extend_from_slice(r.as_str().as_bytes(), GFP_KERNEL)?;
    Ok(())
}

/// What the fill callback needs.
struct FillCtx<'a> {
    args: Option<&'a Args>,
    ctx: &'a Ctx<'a>,
    /// Where the arguments start in the record.
    at: usize,
}

/// Lays the arguments out after the record's head, as tracefs does: a
/// string's `__data_loc` counts from the start of the record.
///
/// # Safety
///
/// `ctx` is a `FillCtx` of [`write_raw`]'s caller; `rec` has `size`
/// writable bytes.
unsafe extern "C" fn fill(ctx: *mut kernel::ffi::c_void, rec: *mut u8, size: u32) {
    // SAFETY: The caller's guarantee.
    let f = unsafe { &*(ctx as *const FillCtx<'_>) };
    // SAFETY: The caller's guarantee.
    let data = unsafe { core::slice::from_raw_parts_mut(rec, size as usize) };
    let Some(args) = f.args else {
        return;
    };
    // Arguments without strings that all have a fast form (registers,
    // loads): as rprobes' own stream records them.
    if args.is_fast() {
        eval::build_fast(args, f.ctx, data);
        return;
    }
    let n = eval::build(args, f.ctx, data);
    if let Some(rest) = data.get_mut(n..) {
        rest.fill(0);
    }
    if !args.has_strings() {
        return;
    }
    for a in args.args.iter().filter(|a| a.arg.ty.is_string()) {
        for i in 0..usize::from(a.arg.count.max(1)) {
            let at = usize::from(a.arg.offset) + 4 * i;
            let Some(w) = data.get_mut(at..at + 4) else {
                continue;
            };
            let loc = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
            let len = data_loc_len(loc);
            if len != 0 {
                let off = (loc & 0xffff) as u16;
                let moved = make_data_loc(len, off.wrapping_add(f.at as u16));
                w.copy_from_slice(&moved.to_le_bytes());
            }
        }
    }
}

/// Writes the hit at `ip` (a return event's: the return of function `ip`
/// to `ret_ip`) to every tracefs instance that enabled `ev` and to the
/// perf counters on it (probe handler context).
///
/// # Safety
///
/// `ev` is a registered event ([`TEvent::as_ptr`]) that is not removed
/// before this returns (removal waits for an RCU grace period after the
/// probes stop seeing it).
pub(crate) unsafe fn write_raw(
    ev: *mut bindings::rprobes_tevent,
    ip: u64,
    ret_ip: Option<u64>,
    args: Option<&Args>,
    ctx: &Ctx<'_>,
) {
    let size = match args {
        None => 0,
        Some(a) if a.has_strings() => eval::data_size(a, ctx).min(MAX_DATA).max(a.min_size()),
        Some(a) => a.fixed_size(),
    };
    let f = FillCtx {
        args,
        ctx,
        at: args_at(ret_ip.is_some()),
    };
    // SAFETY: `ev` is registered (the caller's guarantee); `fill` gets
    // `f`, alive until this returns.
    unsafe {
        bindings::rprobes_tevent_write(
            ev,
            core::ptr::from_ref(ctx.regs).cast_mut().cast(),
            ip as kernel::ffi::c_ulong,
            ret_ip.unwrap_or(0) as kernel::ffi::c_ulong,
            size as u32,
            Some(fill),
            core::ptr::from_ref(&f).cast_mut().cast(),
        )
    }
}

/// Whether registered event `ev` is enabled somewhere.
///
/// # Safety
///
/// As for [`write_raw`].
#[inline]
pub(crate) unsafe fn on_raw(ev: *mut bindings::rprobes_tevent) -> bool {
    // A load, not a call: a hit of an event that nothing consumes costs
    // what it cost without trace events.
    let head = ev.cast::<bindings::rprobes_tevent_head>();
    // SAFETY: Every `rprobes_tevent` starts with its head (asserted in
    // the C file), alive by the caller's guarantee; `atomic_t`'s counter
    // is an aligned `int` the C side changes atomically.
    let users = unsafe { AtomicI32::from_ptr(core::ptr::addr_of_mut!((*head).users.counter)) };
    users.load(Relaxed) != 0
}

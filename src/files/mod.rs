// SPDX-License-Identifier: GPL-2.0

//! The files under `/sys/kernel/debug/rprobes/`.
//!
//! | file        | read                                   | write                      |
//! |-------------|----------------------------------------|----------------------------|
//! | `probes`    | probes in `kprobe_events` syntax       | add (`p ...`), remove (`-:`); `>` clears |
//! | `profile`   | name, hits, misses, nmissed            | -                          |
//! | `enabled`   | `0` or `1`                             | `0`/`1`: all probes off/on |
//! | `armed`     | `GRP/EVENT 0|1` per probe              | `[GRP/]EVENT 0|1`          |
//! | `list`      | resolved address per probe             | -                          |
//! | `memory`    | bytes the probes hold (own accounting) | -                          |
//! | `error_log` | the last 8 rejected commands           | `>` clears                 |
//! | `latency`   | return probes: entry-to-return ns, log2 histogram | -               |
//! | `returns`   | return probes: recent returns (`ret=%ax`)  | -                      |
//! | `stacktrace`| last stack at a return, per recording probe | `[GRP/]EVENT` on, `!EVENT` off |
//! | `instances` | return instances in flight, reclaimed, reserved | -                 |
//! | `selftest`  | - (only with `selftest=1`)             | `recurse N`, `nest X`, `args 0`...: call test targets |
//! | `trace_pipe`| events, consumed; blocks; `poll`able   | -                          |
//! | `trace`     | events, a snapshot (not consumed)      | `>` clears the buffer      |
//! | `buffer_size_kb` | per-CPU buffer size               | new size                   |
//! | `tracing_on`| `0` or `1`: are hits recorded          | `0`/`1`                    |
//! | `filter`    | `GRP/EVENT pid=N|comm=NAME|none`       | `[GRP/]EVENT pid=N|comm=NAME|none` |
//! | `set_event_pid` | pids whose hits count (all if empty) | pids; empty clears      |
//! | `explain`   | the decoder's verdict for the last point written | `PID:0xADDR`, `PID:PATH:0xOFF` or `PID:PATH:SYMBOL[+OFF]` |
//! | `xol`       | per probed process: XOL area, slots, steps, emulations | -          |
//!
//! Each file is a [`Control`] implementation on the [`State`] the files
//! share ([`debugfs`] is the layer that turns `open`/`read`/`write` into
//! snapshots and lines); a control line that fails goes to the error log
//! ([`error_log`]).
//!
//! Lock order: an open file's own mutex (see [`debugfs`]), then
//! [`State::registry`], then [`State::errors`] (or [`State::explain`]);
//! `mmap_lock` after the registry (user probes). Context: process context
//! (file operations and module init/exit), sleepable.

pub(crate) mod debugfs;
pub(crate) mod error_log;

use crate::events::ring::Events;
use crate::lang::error::{ErrorKind, ParseError};
use crate::probe::CmdError;
use crate::registry::Registry;
use crate::uprobes::reaper::Reap;
use debugfs::{Control, Dir, Text};
use error_log::ErrorLog;
use kernel::prelude::*;
use kernel::time::{ClockSource, Monotonic};
use kernel::{new_mutex, sync::Mutex};

/// Everything the control files and the probes share.
#[pin_data]
pub(crate) struct State {
    /// The probes. Taken before `errors`.
    #[pin]
    pub(crate) registry: Mutex<Registry>,
    /// Recently rejected commands.
    #[pin]
    pub(crate) errors: Mutex<ErrorLog>,
    /// The result of the last `explain` line.
    #[pin]
    pub(crate) explain: Mutex<KVec<u8>>,
    /// The event stream. Dropped after `registry` (whose drop unregisters
    /// every probe, so no handler writes into it any more).
    pub(crate) events: Events,
}

/// Monotonic time in ns, for `error_log` time stamps.
fn now_ns() -> u64 {
    // `Instant` has no absolute value to print; its clock source has.
    Monotonic::ktime_get() as u64
}

/// `line` with non-printable bytes shown as `?` (for the error log only).
fn printable(line: &[u8]) -> Result<KVec<u8>> {
    let mut v = KVec::with_capacity(line.len(), GFP_KERNEL)?;
    for &b in line {
        let c = if b == b'\t' || (0x20..0x7f).contains(&b) {
            b
        } else {
            b'?'
        };
        v.push(c, GFP_KERNEL)?;
    }
    Ok(v)
}

impl State {
    /// The shared state: no probes, an empty error log, a new event buffer.
    pub(crate) fn new() -> Result<Pin<KBox<Self>>> {
        let events = Events::new()?;
        KBox::pin_init(
            pin_init!(State {
                registry <- new_mutex!(Registry::new()),
                errors <- new_mutex!(ErrorLog::new()),
                explain <- new_mutex!(KVec::new()),
                events,
            }),
            GFP_KERNEL,
        )
    }

    /// Runs one control line; a rejected line is logged in `error_log`.
    pub(crate) fn run_line(&self, raw: &[u8]) -> Result {
        self.exec(raw).map_err(|(e, _)| e)
    }

    /// Like [`Self::run_line`], also returning the reason of a rejection.
    pub(crate) fn exec(&self, raw: &[u8]) -> core::result::Result<(), (Error, ErrorKind)> {
        let line = match core::str::from_utf8(raw) {
            Ok(l) if !raw.contains(&0) => l,
            _ => {
                let kind = ErrorKind::BadEncoding;
                let err = ParseError::new(kind, 0);
                return Err((self.log(raw, err, kind.errno()), kind));
            }
        };
        let res = self.registry.lock().execute(line);
        res.map_err(|e| (self.log(line.as_bytes(), e.err, e.errno), e.err.kind))
    }

    /// Logs a line that grew past `MAX_LINE_LEN`.
    pub(crate) fn log_overlong(&self) -> Error {
        let err = ParseError::new(ErrorKind::LineTooLong, 0);
        self.log(b"(overlong line)", err, ErrorKind::LineTooLong.errno())
    }

    /// Logs a clear (`> probes`) that left probes registered: the kernel
    /// could not disarm them (see `KProbe::unregister`).
    pub(crate) fn log_clear(&self, e: Error) -> Error {
        let e = CmdError::unregister(e);
        self.log(b"(clear)", e.err, e.errno)
    }

    fn log(&self, raw: &[u8], err: ParseError, errno: i32) -> Error {
        if let Ok(text) = printable(raw) {
            // `printable` only keeps ASCII, so this cannot fail.
            let line = core::str::from_utf8(&text).unwrap_or("");
            self.errors.lock().add(now_ns(), line, &err);
        }
        Error::from_errno(-errno)
    }

    /// Removes every probe (with `shutdown`, also forgets every probed
    /// address space), waiting while the kernel cannot disarm a kernel
    /// probe (no memory, see `KProbe::unregister`): afterwards no handler
    /// runs and no return is hijacked any more.
    pub(crate) fn unregister_all(&self, shutdown: bool) {
        let mut tries = 0u32;
        loop {
            let mut reg = self.registry.lock();
            let res = if shutdown {
                reg.shutdown()
            } else {
                reg.clear()
            };
            drop(reg);
            if res.is_ok() {
                return;
            }
            if tries % 1000 == 0 {
                pr_warn!("cannot disarm every probe (out of memory?), retrying\n");
            }
            tries = tries.wrapping_add(1);
            // Process context (module init or exit).
            kernel::time::delay::fsleep(kernel::time::Delta::from_millis(10));
        }
    }
}

impl Reap for State {
    fn reap(&self) -> bool {
        self.registry.lock().uprobes_mut().reap()
    }

    fn install(&self) {
        self.registry.lock().uprobes_mut().install_current();
    }

    fn fork_fix(&self, parent: usize) {
        self.registry.lock().uprobes_mut().fork_fix(parent);
    }

    fn give_up(&self, mm: usize) {
        self.registry.lock().uprobes_mut().give_up(mm);
    }
}

/// `probes`.
pub(crate) struct Probes;

impl Control for Probes {
    type Data = State;
    const WRITABLE: bool = true;

    fn show(s: &State, out: &mut Text) -> core::fmt::Result {
        s.registry.lock().show_probes(out)
    }

    fn truncate(s: &State) -> Result {
        let res = s.registry.lock().clear();
        res.map_err(|e| s.log_clear(e))
    }

    fn write_line(s: &State, line: &[u8]) -> Result {
        s.run_line(line)
    }

    fn line_too_long(s: &State) -> Error {
        s.log_overlong()
    }
}

/// Read-only files that render one [`Registry`] view.
macro_rules! registry_view {
    ($($(#[$doc:meta])* $name:ident => $show:ident;)*) => {$(
        $(#[$doc])*
        pub(crate) struct $name;

        impl Control for $name {
            type Data = State;
            const WRITABLE: bool = false;

            fn show(s: &State, out: &mut Text) -> core::fmt::Result {
                s.registry.lock().$show(out)
            }
        }
    )*};
}

registry_view! {
    /// `profile`.
    Profile => show_profile;
    /// `list`.
    List => show_list;
    /// `memory`.
    Memory => show_memory;
    /// `latency`.
    Latency => show_latency;
    /// `returns`.
    Returns => show_returns;
    /// `instances`.
    Instances => show_instances;
    /// `xol`.
    XolFile => show_xol;
}

/// `stacktrace`.
pub(crate) struct StackTrace;

impl Control for StackTrace {
    type Data = State;
    const WRITABLE: bool = true;

    fn show(s: &State, out: &mut Text) -> core::fmt::Result {
        s.registry.lock().show_stacks(out)
    }

    fn write_line(s: &State, line: &[u8]) -> Result {
        let line = core::str::from_utf8(line).map_err(|_| EINVAL)?.trim();
        if line.is_empty() {
            return Ok(());
        }
        match line.strip_prefix('!') {
            Some(name) => s.registry.lock().set_stack(name.trim(), false),
            None => s.registry.lock().set_stack(line, true),
        }
    }
}

/// `trace_pipe`.
pub(crate) struct TracePipe;

/// Events formatted per `stream_next` call, at most.
const STREAM_BATCH: usize = 64;

impl Control for TracePipe {
    type Data = State;
    const WRITABLE: bool = false;
    const STREAM: bool = true;

    fn show(_s: &State, _out: &mut Text) -> core::fmt::Result {
        Ok(())
    }

    fn stream_next(s: &State, out: &mut Text) -> Result {
        use core::fmt::Write;
        let reg = s.registry.lock();
        for _ in 0..STREAM_BATCH {
            let Some((e, lost)) = s.events.consume()? else {
                break;
            };
            if lost != 0 {
                writeln!(out, "CPU:{} [LOST {} EVENTS]", e.cpu, lost).map_err(|_| ENOMEM)?;
            }
            reg.write_event(out, &e.as_ref()).map_err(|_| ENOMEM)?;
        }
        Ok(())
    }

    fn stream_wait(s: &State) -> Result {
        s.events.wait()
    }

    unsafe fn stream_poll(
        s: &State,
        file: *mut kernel::bindings::file,
        pt: *mut kernel::bindings::poll_table_struct,
    ) -> u32 {
        // SAFETY: The VFS `poll` arguments, passed on.
        unsafe { s.events.poll(file, pt) }
    }
}

/// `trace`'s text is kept within this many times the buffer's bytes (all
/// CPUs): beyond it the oldest events are left out.
const TRACE_TEXT_PER_BUFFER: usize = 2;

/// Room for `trace`'s header lines.
const TRACE_HEADER: usize = 512;

/// A writer that only counts bytes (the length an event's text will have).
struct Count(usize);

impl core::fmt::Write for Count {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

/// `trace`.
///
/// What an open holds at once is bounded: the copy of the buffer (at most
/// 2.5 times its bytes, see [`crate::events::ring::Events::snapshot`])
/// and the text (at most [`TRACE_TEXT_PER_BUFFER`] times, allocated once
/// at its size); the copy is freed once the text is made. The newest
/// events are kept: the text is measured from the newest back.
pub(crate) struct Trace;

impl Control for Trace {
    type Data = State;
    const WRITABLE: bool = true;

    fn show(s: &State, out: &mut Text) -> core::fmt::Result {
        use core::fmt::Write;
        let snap = s.events.snapshot().map_err(|_| core::fmt::Error)?;
        let (entries, overwritten, dropped) = s.events.counts();
        let budget = TRACE_TEXT_PER_BUFFER * crate::events::ring::buffer_bytes();
        let reg = s.registry.lock();
        // The newest events whose text fits in the budget.
        let (mut first, mut len) = (snap.len(), 0usize);
        while first > 0 {
            let mut c = Count(0);
            if let Some(e) = snap.get(first - 1) {
                reg.write_event(&mut c, &e)?;
            }
            if len + c.0 > budget {
                break;
            }
            len += c.0;
            first -= 1;
        }
        out.0
            .reserve(
                TRACE_HEADER + len,
                GFP_KERNEL | kernel::alloc::flags::__GFP_NOWARN,
            )
            .map_err(|_| core::fmt::Error)?;
        writeln!(out, "# rprobes events")?;
        writeln!(
            out,
            "# entries-in-buffer: {entries}, overwritten: {overwritten}, dropped: {dropped}"
        )?;
        if first > 0 {
            writeln!(
                out,
                "# the oldest {first} of {} left out: the text is kept within {} KiB",
                snap.len(),
                budget / 1024
            )?;
        }
        writeln!(out, "#")?;
        writeln!(out, "#           TASK-PID     CPU  TIMESTAMP  FUNCTION")?;
        for i in first..snap.len() {
            if let Some(e) = snap.get(i) {
                reg.write_event(out, &e)?;
            }
        }
        crate::events::ring::note_trace_bytes(snap.bytes() + out.0.capacity());
        Ok(())
    }

    fn truncate(s: &State) -> Result {
        s.events.reset();
        Ok(())
    }

    fn write_line(_s: &State, line: &[u8]) -> Result {
        if line.iter().all(u8::is_ascii_whitespace) {
            Ok(())
        } else {
            Err(EINVAL)
        }
    }
}

/// `buffer_size_kb`.
pub(crate) struct BufferSizeKb;

impl Control for BufferSizeKb {
    type Data = State;
    const WRITABLE: bool = true;

    fn show(s: &State, out: &mut Text) -> core::fmt::Result {
        use core::fmt::Write;
        writeln!(out, "{}", s.events.size_kb())
    }

    fn write_line(s: &State, line: &[u8]) -> Result {
        let t = core::str::from_utf8(line).map_err(|_| EINVAL)?.trim();
        if t.is_empty() {
            return Ok(());
        }
        s.events.resize_kb(t.parse().map_err(|_| EINVAL)?)
    }
}

/// `tracing_on`.
pub(crate) struct TracingOn;

impl Control for TracingOn {
    type Data = State;
    const WRITABLE: bool = true;

    fn show(_s: &State, out: &mut Text) -> core::fmt::Result {
        use core::fmt::Write;
        writeln!(out, "{}", u8::from(crate::events::ring::tracing_on()))
    }

    fn write_line(_s: &State, line: &[u8]) -> Result {
        if let Some(on) = parse_bool(line)? {
            crate::events::ring::set_tracing_on(on);
        }
        Ok(())
    }
}

/// `filter`.
pub(crate) struct FilterFile;

impl Control for FilterFile {
    type Data = State;
    const WRITABLE: bool = true;

    fn show(s: &State, out: &mut Text) -> core::fmt::Result {
        s.registry.lock().show_filters(out)
    }

    fn write_line(s: &State, line: &[u8]) -> Result {
        match name_value(line)? {
            Some((name, f)) => s.registry.lock().set_filter(name, f),
            None => Ok(()),
        }
    }
}

/// `set_event_pid`.
pub(crate) struct EventPid;

impl Control for EventPid {
    type Data = State;
    const WRITABLE: bool = true;

    fn show(_s: &State, out: &mut Text) -> core::fmt::Result {
        crate::events::filter::show_global(out)
    }

    fn truncate(s: &State) -> Result {
        // Serialised with the writers, like them.
        let _reg = s.registry.lock();
        crate::events::filter::set_global(&[])
    }

    fn write_line(s: &State, line: &[u8]) -> Result {
        let line = core::str::from_utf8(line).map_err(|_| EINVAL)?;
        let mut pids = [0i32; crate::events::filter::MAX_PIDS];
        let mut n = 0;
        for w in line.split_whitespace() {
            *pids.get_mut(n).ok_or(EINVAL)? = w.parse().map_err(|_| EINVAL)?;
            n += 1;
        }
        // Serialise writers with the registry lock.
        let _reg = s.registry.lock();
        crate::events::filter::set_global(&pids[..n])
    }
}

/// `explain`.
pub(crate) struct Explain;

impl Control for Explain {
    type Data = State;
    const WRITABLE: bool = true;

    fn show(s: &State, out: &mut Text) -> core::fmt::Result {
        out.0
            .extend_from_slice(&s.explain.lock(), GFP_KERNEL)
            .map_err(|_| core::fmt::Error)
    }

    fn write_line(s: &State, line: &[u8]) -> Result {
        let line = core::str::from_utf8(line).map_err(|_| EINVAL)?.trim();
        if line.is_empty() {
            return Ok(());
        }
        let mut t = Text::default();
        let r = crate::uprobes::explain::explain(line, &mut t);
        let mut v = KVec::new();
        v.extend_from_slice(&t.0, GFP_KERNEL)?;
        *s.explain.lock() = v;
        r
    }
}

/// `selftest`.
pub(crate) struct SelfTest;

impl Control for SelfTest {
    type Data = State;
    const WRITABLE: bool = true;

    fn show(_s: &State, _out: &mut Text) -> core::fmt::Result {
        Ok(())
    }

    fn write_line(_s: &State, line: &[u8]) -> Result {
        crate::selftest::run(line)
    }
}

/// Parses `0`/`1` (surrounding white space allowed).
fn parse_bool(b: &[u8]) -> Result<Option<bool>> {
    match core::str::from_utf8(b).map_err(|_| EINVAL)?.trim() {
        "" => Ok(None),
        "0" => Ok(Some(false)),
        "1" => Ok(Some(true)),
        _ => Err(EINVAL),
    }
}

/// Parses a `NAME VALUE` line (`filter`, `armed`): `None` for a blank one,
/// `EINVAL` for any other number of words.
fn name_value(line: &[u8]) -> Result<Option<(&str, &str)>> {
    let mut words = core::str::from_utf8(line)
        .map_err(|_| EINVAL)?
        .split_whitespace();
    match (words.next(), words.next(), words.next()) {
        (None, _, _) => Ok(None),
        (Some(name), Some(value), None) => Ok(Some((name, value))),
        _ => Err(EINVAL),
    }
}

/// `enabled`.
pub(crate) struct Enabled;

impl Control for Enabled {
    type Data = State;
    const WRITABLE: bool = true;

    fn show(s: &State, out: &mut Text) -> core::fmt::Result {
        use core::fmt::Write;
        writeln!(out, "{}", u8::from(s.registry.lock().enabled()))
    }

    fn write_line(s: &State, line: &[u8]) -> Result {
        match parse_bool(line)? {
            Some(on) => s.registry.lock().set_enabled(on),
            None => Ok(()),
        }
    }
}

/// `armed`.
pub(crate) struct Armed;

impl Control for Armed {
    type Data = State;
    const WRITABLE: bool = true;

    fn show(s: &State, out: &mut Text) -> core::fmt::Result {
        s.registry.lock().show_armed(out)
    }

    fn write_line(s: &State, line: &[u8]) -> Result {
        let Some((name, val)) = name_value(line)? else {
            return Ok(());
        };
        let on = parse_bool(val.as_bytes())?.ok_or(EINVAL)?;
        s.registry.lock().set_armed(name, on)
    }
}

/// `error_log`.
pub(crate) struct ErrorLogFile;

impl Control for ErrorLogFile {
    type Data = State;
    const WRITABLE: bool = true;

    fn show(s: &State, out: &mut Text) -> core::fmt::Result {
        s.errors.lock().show(out)
    }

    fn truncate(s: &State) -> Result {
        s.errors.lock().clear();
        Ok(())
    }

    fn write_line(_s: &State, line: &[u8]) -> Result {
        // Like tracefs: only clearing (`echo > error_log`) is meaningful.
        if line.iter().all(u8::is_ascii_whitespace) {
            Ok(())
        } else {
            Err(EINVAL)
        }
    }
}

/// Creates every file in `dir`, backed by `state`; `selftest` only if
/// `selftest` (the module parameter `selftest=1`).
pub(crate) fn create_all(dir: &Dir, state: &State, selftest: bool) -> Result {
    dir.file::<Probes>(c"probes", state)?;
    dir.file::<Profile>(c"profile", state)?;
    dir.file::<Enabled>(c"enabled", state)?;
    dir.file::<Armed>(c"armed", state)?;
    dir.file::<List>(c"list", state)?;
    dir.file::<Memory>(c"memory", state)?;
    dir.file::<ErrorLogFile>(c"error_log", state)?;
    dir.file::<Latency>(c"latency", state)?;
    dir.file::<Returns>(c"returns", state)?;
    dir.file::<StackTrace>(c"stacktrace", state)?;
    dir.file::<Instances>(c"instances", state)?;
    if selftest {
        dir.file::<SelfTest>(c"selftest", state)?;
    }
    dir.file::<TracePipe>(c"trace_pipe", state)?;
    dir.file::<Trace>(c"trace", state)?;
    dir.file::<BufferSizeKb>(c"buffer_size_kb", state)?;
    dir.file::<TracingOn>(c"tracing_on", state)?;
    dir.file::<FilterFile>(c"filter", state)?;
    dir.file::<EventPid>(c"set_event_pid", state)?;
    dir.file::<Explain>(c"explain", state)?;
    dir.file::<XolFile>(c"xol", state)?;
    Ok(())
}

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
//! | `selftest`  | -                                      | `recurse N`, `nest X`, `args 0`...: call test targets |
//! | `trace_pipe`| events, consumed; blocks; `poll`able   | -                          |
//! | `trace`     | events, a snapshot (not consumed)      | `>` clears the buffer      |
//! | `buffer_size_kb` | per-CPU buffer size               | new size                   |
//! | `tracing_on`| `0` or `1`: are hits recorded          | `0`/`1`                    |
//! | `filter`    | `GRP/EVENT pid=N|comm=NAME|none`       | `[GRP/]EVENT pid=N|comm=NAME|none` |
//! | `set_event_pid` | pids whose hits count (all if empty) | pids; empty clears      |
//! | `explain`   | the decoder's verdict for the last point written | `PID:0xADDR` or `PID:PATH:0xOFF` |
//! | `xol`       | per probed process: XOL area, slots, steps, emulations | -          |

use crate::control::{Control, Dir, Text};
use crate::State;
use kernel::prelude::*;

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

/// Read-only files that render one [`crate::registry::Registry`] view.
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
            reg.write_event(out, &e).map_err(|_| ENOMEM)?;
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

/// Most events `trace` shows (the newest are at the end).
const TRACE_MAX: usize = 100_000;

/// `trace`.
pub(crate) struct Trace;

impl Control for Trace {
    type Data = State;
    const WRITABLE: bool = true;

    fn show(s: &State, out: &mut Text) -> core::fmt::Result {
        use core::fmt::Write;
        let evs = s.events.snapshot(TRACE_MAX).map_err(|_| core::fmt::Error)?;
        let (entries, overwritten, dropped) = s.events.counts();
        writeln!(out, "# rprobes events")?;
        writeln!(
            out,
            "# entries-in-buffer: {entries}, overwritten: {overwritten}, dropped: {dropped}"
        )?;
        writeln!(out, "#")?;
        writeln!(out, "#           TASK-PID     CPU  TIMESTAMP  FUNCTION")?;
        let reg = s.registry.lock();
        for e in evs.iter() {
            reg.write_event(out, e)?;
        }
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
        writeln!(out, "{}", u8::from(crate::events::tracing_on()))
    }

    fn write_line(_s: &State, line: &[u8]) -> Result {
        if let Some(on) = parse_bool(line)? {
            crate::events::set_tracing_on(on);
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
        crate::filter::show_global(out)
    }

    fn truncate(s: &State) -> Result {
        // Serialised with the writers, like them.
        let _reg = s.registry.lock();
        crate::filter::set_global(&[])
    }

    fn write_line(s: &State, line: &[u8]) -> Result {
        let line = core::str::from_utf8(line).map_err(|_| EINVAL)?;
        let mut pids = [0i32; crate::filter::MAX_PIDS];
        let mut n = 0;
        for w in line.split_whitespace() {
            *pids.get_mut(n).ok_or(EINVAL)? = w.parse().map_err(|_| EINVAL)?;
            n += 1;
        }
        // Serialise writers with the registry lock.
        let _reg = s.registry.lock();
        crate::filter::set_global(&pids[..n])
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
        let r = crate::uprobe::explain(line, &mut t);
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

/// Creates every file in `dir`, backed by `state`.
pub(crate) fn create_all(dir: &Dir, state: &State) -> Result {
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
    dir.file::<SelfTest>(c"selftest", state)?;
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

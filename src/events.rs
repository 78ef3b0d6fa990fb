// SPDX-License-Identifier: GPL-2.0

//! The event stream: every hit of a probe is recorded into the kernel's own
//! ring buffer (`ring_buffer_lock_reserve`/`commit`, per CPU, overwrite
//! mode, as tracefs), and read back as text from `trace_pipe` (consuming,
//! blocking, `poll` works) and `trace` (a non-consuming snapshot).
//!
//! A record is an [`EvHeader`] (probe id, task, comm, addresses) followed by
//! the probe's fetched argument bytes. The text is made only when read:
//!
//! ```text
//! trigger-86 [001] 1.553239: rprobes/sg: (__x64_sys_sched_get_priority_min+0x0/0x30)
//! trigger-86 [001] 1.553241: rprobes/sgr: (x64_sys_call+0x1c/0x50 <- __x64_sys_sched_get_priority_min)
//! ```
//!
//! Writers run in probe handlers (possibly NMI-like context): they take no
//! lock, and wake readers through an `irq_work` (in the C shim).

use crate::kbind;
use core::ptr;
use core::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU64,
    Ordering::{Acquire, Relaxed, Release},
};
use kernel::prelude::*;

/// Default size of the per-CPU buffers (tracefs' default, 1408 KiB).
pub(crate) const DEFAULT_SIZE: usize = 1408 * 1024;
/// Largest `buffer_size_kb` accepted (64 MiB per CPU).
pub(crate) const MAX_SIZE_KB: usize = 64 * 1024;

static BUF: AtomicPtr<kbind::trace_buffer> = AtomicPtr::new(ptr::null_mut());
static TRACING_ON: AtomicBool = AtomicBool::new(true);
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// Record kinds.
pub(crate) const ENTRY: u32 = 0;
/// A return (of a return probe).
pub(crate) const RETURN: u32 = 1;

/// The fixed part of a record.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct EvHeader {
    /// The probe's id ([`crate::registry`] numbers probes).
    pub(crate) id: u32,
    /// The task's pid.
    pub(crate) pid: i32,
    /// [`ENTRY`] or [`RETURN`].
    pub(crate) kind: u32,
    /// Bytes of argument data after the header.
    pub(crate) len: u32,
    /// The probed address (entry) or function (return).
    pub(crate) ip: u64,
    /// The real return address (return probes).
    pub(crate) caller: u64,
    /// The task's comm.
    pub(crate) comm: [u8; 16],
}

const HDR: usize = core::mem::size_of::<EvHeader>();

/// Whether hits are recorded (`tracing_on`).
pub(crate) fn tracing_on() -> bool {
    TRACING_ON.load(Relaxed)
}

/// Turns recording on or off.
pub(crate) fn set_tracing_on(on: bool) {
    TRACING_ON.store(on, Relaxed);
}

/// Records one event (probe handler context; no lock).
pub(crate) fn record(id: u32, kind: u32, ip: u64, caller: u64, payload: &[u8]) {
    record_with(id, kind, ip, caller, payload.len(), |data| {
        data.copy_from_slice(payload);
        payload.len()
    });
}

/// Records one event with fetched arguments (probe handler context),
/// evaluated straight into the ring buffer.
pub(crate) fn record_args(
    id: u32,
    kind: u32,
    ip: u64,
    caller: u64,
    args: &crate::fetch_eval::Args,
    ctx: &crate::fetch_eval::Ctx<'_>,
) {
    record_with(id, kind, ip, caller, args.max_size(), |data| {
        crate::fetch_eval::build(args, ctx, data)
    });
}

/// Reserves room for a header and `max` bytes of data, lets `fill` write
/// the data (it returns how many bytes it used) and commits.
fn record_with(
    id: u32,
    kind: u32,
    ip: u64,
    caller: u64,
    max: usize,
    fill: impl FnOnce(&mut [u8]) -> usize,
) {
    if !TRACING_ON.load(Relaxed) {
        return;
    }
    let b = BUF.load(Acquire);
    if b.is_null() {
        return;
    }
    // SAFETY: `b` is the live buffer: it is freed only after every probe is
    // unregistered (so no handler runs) and `BUF` is cleared.
    let ev = unsafe { kbind::ring_buffer_lock_reserve(b, HDR + max) };
    if ev.is_null() {
        DROPPED.fetch_add(1, Relaxed);
        return;
    }
    // SAFETY: The reserved event has room for `HDR + max` bytes of data,
    // exclusively ours until the commit below.
    let data = unsafe {
        core::slice::from_raw_parts_mut(kbind::ring_buffer_event_data(ev).cast::<u8>(), HDR + max)
    };
    let (head, rest) = data.split_at_mut(HDR);
    let used = fill(rest).min(max);
    let mut h = EvHeader {
        id,
        pid: 0,
        kind,
        len: used as u32,
        ip,
        caller,
        comm: [0; 16],
    };
    // SAFETY: `comm` has the TASK_COMM_LEN (16) bytes the shim copies.
    h.pid = unsafe { kbind::rprobes_current_pid_comm(h.comm.as_mut_ptr().cast()) };
    // SAFETY: `head` is `HDR` bytes, possibly only 4-byte aligned (hence
    // the unaligned write); committing ends this CPU's reservation.
    unsafe {
        ptr::write_unaligned(head.as_mut_ptr().cast::<EvHeader>(), h);
        kbind::ring_buffer_unlock_commit(b);
        kbind::rprobes_rb_wake();
    }
}

/// A record read back.
pub(crate) struct Event {
    /// Ring-buffer time stamp (ns).
    pub(crate) ts: u64,
    /// CPU it was recorded on.
    pub(crate) cpu: u32,
    /// The fixed part.
    pub(crate) hdr: EvHeader,
    /// Argument bytes.
    #[allow(dead_code)] // Read once fetch arguments are formatted.
    pub(crate) data: KVec<u8>,
}

/// Copies an event out of the buffer.
///
/// # Safety
///
/// `ev` is a valid event of the buffer, not consumed while this runs.
unsafe fn copy_event(ev: *mut kbind::ring_buffer_event, ts: u64, cpu: u32) -> Result<Event> {
    // SAFETY: Per the contract; `ring_buffer_event_length` is the data size.
    let (data, size) = unsafe {
        (
            kbind::ring_buffer_event_data(ev).cast::<u8>(),
            kbind::ring_buffer_event_length(ev) as usize,
        )
    };
    if size < HDR {
        return Err(EINVAL);
    }
    // SAFETY: The event holds at least `HDR` bytes (checked).
    let hdr = unsafe { ptr::read_unaligned(data.cast::<EvHeader>()) };
    let n = (hdr.len as usize).min(size - HDR);
    let mut v = KVec::with_capacity(n, GFP_KERNEL)?;
    // SAFETY: `n` bytes follow the header inside the event.
    let args = unsafe { core::slice::from_raw_parts(data.add(HDR), n) };
    v.extend_from_slice(args, GFP_KERNEL)?;
    Ok(Event {
        ts,
        cpu,
        hdr,
        data: v,
    })
}

fn cpus(mut f: impl FnMut(u32)) {
    let mut cpu: i32 = -1;
    loop {
        // SAFETY: Reads `cpu_possible_mask`.
        let next = unsafe { kbind::rprobes_next_possible_cpu(cpu) };
        if next < 0 {
            break;
        }
        f(next as u32);
        cpu = next;
    }
}

/// The owner of the ring buffer.
///
/// # Invariants
///
/// While it lives, `BUF` holds its buffer (a valid `trace_buffer`).
pub(crate) struct Events(());

impl Events {
    /// Allocates the buffer.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: Plain allocation.
        let b = unsafe { kbind::rprobes_rb_alloc(DEFAULT_SIZE) }.cast::<kbind::trace_buffer>();
        if b.is_null() {
            return Err(ENOMEM);
        }
        BUF.store(b, Release);
        // INVARIANT: `BUF` now holds the buffer.
        Ok(Self(()))
    }

    fn buf(&self) -> *mut kbind::trace_buffer {
        BUF.load(Acquire)
    }

    /// The oldest event over all CPUs, consumed; and the events lost on its
    /// CPU (overwritten) just before it.
    pub(crate) fn consume(&self) -> Result<Option<(Event, u64)>> {
        let b = self.buf();
        let mut best: Option<(u64, u32)> = None;
        cpus(|cpu| {
            let mut ts = 0u64;
            // SAFETY: `b` is valid (type invariant); peeking does not consume.
            let ev = unsafe { kbind::ring_buffer_peek(b, cpu as i32, &mut ts, ptr::null_mut()) };
            if !ev.is_null() && best.is_none_or(|(t, _)| ts < t) {
                best = Some((ts, cpu));
            }
        });
        let Some((_, cpu)) = best else {
            return Ok(None);
        };
        let (mut ts, mut lost) = (0u64, 0 as kernel::ffi::c_ulong);
        // SAFETY: `b` is valid; a consumed event stays readable until the
        // next read on that CPU, which our caller's lock orders after this.
        let ev = unsafe { kbind::ring_buffer_consume(b, cpu as i32, &mut ts, &mut lost) };
        if ev.is_null() {
            return Ok(None); // Another reader took it.
        }
        // SAFETY: `ev` was just consumed and is still valid (see above).
        let e = unsafe { copy_event(ev, ts, cpu) }?;
        Ok(Some((e, lost as u64)))
    }

    /// Every event in the buffer, oldest first, without consuming them.
    pub(crate) fn snapshot(&self, max: usize) -> Result<KVVec<Event>> {
        let b = self.buf();
        let mut out = KVVec::new();
        let mut err = Ok(());
        cpus(|cpu| {
            // SAFETY: `b` is valid; the iterator is finished below.
            let it = unsafe {
                kbind::ring_buffer_read_start(b, cpu as i32, kernel::bindings::GFP_KERNEL)
            };
            if it.is_null() {
                return;
            }
            loop {
                let mut ts = 0u64;
                // SAFETY: `it` is a live iterator of `b`.
                let ev = unsafe { kbind::ring_buffer_iter_peek(it, &mut ts) };
                if ev.is_null() || out.len() >= max {
                    break;
                }
                // SAFETY: `ev` is valid until the iterator advances.
                match unsafe { copy_event(ev, ts, cpu) }.and_then(|e| Ok(out.push(e, GFP_KERNEL)?))
                {
                    Ok(()) => {}
                    Err(e) => {
                        err = Err(e);
                        break;
                    }
                }
                // SAFETY: `it` is live.
                unsafe { kbind::ring_buffer_iter_advance(it) };
            }
            // SAFETY: Ends the iteration started above.
            unsafe { kbind::ring_buffer_read_finish(it) };
        });
        err?;
        crate::kallsyms::heapsort_by_key(&mut out, |e| (e.ts, e.cpu));
        Ok(out)
    }

    /// Drops every event.
    pub(crate) fn reset(&self) {
        // SAFETY: `buf` is valid.
        unsafe { kbind::ring_buffer_reset(self.buf()) };
    }

    /// Per-CPU size in KiB.
    pub(crate) fn size_kb(&self) -> usize {
        // SAFETY: `buf` is valid.
        (unsafe { kbind::ring_buffer_size(self.buf(), 0) } as usize) / 1024
    }

    /// Resizes every CPU's buffer.
    pub(crate) fn resize_kb(&self, kb: usize) -> Result {
        if kb == 0 || kb > MAX_SIZE_KB {
            return Err(EINVAL);
        }
        // SAFETY: `buf` is valid.
        let r =
            unsafe { kbind::ring_buffer_resize(self.buf(), kb * 1024, kbind::RPROBES_RB_ALL_CPUS) };
        if r < 0 {
            Err(Error::from_errno(r))
        } else {
            Ok(())
        }
    }

    /// (entries in the buffer, overwritten, not recorded for lack of room).
    pub(crate) fn counts(&self) -> (u64, u64, u64) {
        // SAFETY: `buf` is valid.
        unsafe {
            (
                kbind::ring_buffer_entries(self.buf()) as u64,
                kbind::ring_buffer_overruns(self.buf()) as u64,
                DROPPED.load(Relaxed),
            )
        }
    }

    /// Sleeps until there is an event (`ERESTARTSYS` on a signal).
    pub(crate) fn wait(&self) -> Result {
        // SAFETY: `buf` is valid; process context (a read).
        let r = unsafe { kbind::rprobes_rb_wait(self.buf().cast()) };
        if r < 0 {
            Err(Error::from_errno(r))
        } else {
            Ok(())
        }
    }

    /// `poll` support: registers on the wait queue, returns the mask.
    ///
    /// # Safety
    ///
    /// `file` and `pt` are the arguments of a VFS `poll` call.
    pub(crate) unsafe fn poll(
        &self,
        file: *mut kernel::bindings::file,
        pt: *mut kernel::bindings::poll_table_struct,
    ) -> u32 {
        // SAFETY: Per the contract; `buf` is valid.
        unsafe { kbind::rprobes_rb_poll(file.cast(), pt.cast(), self.buf().cast()) }
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        let b = BUF.swap(ptr::null_mut(), Release);
        // SAFETY: Every probe is unregistered before this runs (no writer),
        // debugfs files are gone (no reader), and a pending wake-up is
        // waited for; the buffer is ours to free.
        unsafe {
            kbind::rprobes_rb_sync();
            kbind::ring_buffer_free(b);
        }
    }
}

/// Writes the tracefs-style line of `e` (without args): `comm-pid [cpu]
/// secs.usecs: NAME: (sym+off/size)` or `(caller <- func)`.
pub(crate) fn write_head(
    w: &mut impl core::fmt::Write,
    e: &Event,
    name: &str,
) -> core::fmt::Result {
    let comm_len = e.hdr.comm.iter().position(|&c| c == 0).unwrap_or(16);
    let comm = core::str::from_utf8(&e.hdr.comm[..comm_len]).unwrap_or("<...>");
    write!(
        w,
        "{:>16}-{:<7} [{:03}] {:5}.{:06}: {}: (",
        comm,
        e.hdr.pid,
        e.cpu,
        e.ts / 1_000_000_000,
        (e.ts / 1000) % 1_000_000,
        name
    )?;
    if e.hdr.kind == RETURN {
        crate::retprobe::write_sym(w, e.hdr.caller as usize)?;
        w.write_str(" <- ")?;
        crate::retprobe::write_sym_name(w, e.hdr.ip as usize)?;
    } else {
        crate::retprobe::write_sym(w, e.hdr.ip as usize)?;
    }
    w.write_char(')')
}

// SPDX-License-Identifier: GPL-2.0

//! The ring buffer: every recorded hit is an event in the kernel's own
//! ring buffer (`ring_buffer_lock_reserve`/`commit`, per CPU, overwrite
//! mode, as tracefs), read back by [`Events::consume`] (`trace_pipe`) and
//! [`Events::snapshot`] (`trace`).
//!
//! The writing side is a sink: [`record`] reserves a record with a header
//! ([`Head`]) and `size` bytes of data, lets a closure fill the data in
//! place, and commits. A record is a 16-byte [`Rec`] (probe id and kind,
//! pid, address), the real return address for a return, then the data;
//! the ring buffer adds the time stamp. The pid's comm goes to the comm
//! cache ([`super::comm`]) instead of the record, as tracefs does.
//!
//! Context: [`record`] runs in probe handlers (possibly NMI-like): no
//! lock, no allocation; readers are woken through an `irq_work` (in
//! `src/shim/ring.c`). The reading side sleeps and is serialised by its
//! callers (the registry mutex).

use crate::sys::{bindings as kbind, percpu::for_each_possible_cpu};
use core::ptr;
use core::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU64, AtomicUsize,
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
/// The largest event the buffer takes (`ring_buffer_max_event_size()`).
static MAX_EVENT: AtomicUsize = AtomicUsize::new(0);

/// Record kinds.
pub(crate) const ENTRY: u32 = 0;
/// A return (of a return probe).
pub(crate) const RETURN: u32 = 1;

/// Probe ids are below this (the top bit of [`Rec::id`] marks a return).
pub(crate) const ID_LIMIT: u32 = 1 << 31;
const RETURN_FLAG: u32 = 1 << 31;

/// The fixed part of a record, as stored in the ring buffer (16 bytes, the
/// size of tracefs' `trace_entry` and `ip`). A return's record is followed
/// by the real return address (8 bytes), then the argument data.
#[repr(C)]
#[derive(Clone, Copy)]
struct Rec {
    /// The probe's id (below [`ID_LIMIT`]), with [`RETURN_FLAG`] for a
    /// return.
    id: u32,
    /// The task's pid.
    pid: i32,
    /// The probed address (entry) or function (return).
    ip: u64,
}

const HDR: usize = core::mem::size_of::<Rec>();
const _: () = assert!(HDR == 16);
/// A return's extra word: the real return address.
const CALLER: usize = 8;

/// The fixed part of a record read back.
#[derive(Clone, Copy)]
pub(crate) struct EvHeader {
    /// The probe's id.
    pub(crate) id: u32,
    /// The task's pid.
    pub(crate) pid: i32,
    /// [`ENTRY`] or [`RETURN`].
    pub(crate) kind: u32,
    /// The probed address (entry) or function (return).
    pub(crate) ip: u64,
    /// The real return address (return probes).
    pub(crate) caller: u64,
}

/// Whether hits are recorded (`tracing_on`).
pub(crate) fn tracing_on() -> bool {
    TRACING_ON.load(Relaxed)
}

/// Turns recording on or off.
pub(crate) fn set_tracing_on(on: bool) {
    TRACING_ON.store(on, Relaxed);
}

/// The fixed part of a record as a handler gives it.
#[derive(Clone, Copy)]
pub(crate) struct Head {
    /// The probe's id (below [`ID_LIMIT`]).
    pub(crate) id: u32,
    /// [`ENTRY`] or [`RETURN`].
    pub(crate) kind: u32,
    /// The probed address (entry) or function (return).
    pub(crate) ip: u64,
    /// The real return address (returns only).
    pub(crate) caller: u64,
}

impl Head {
    /// An entry hit of probe `id` at `ip`.
    #[inline(always)]
    pub(crate) fn entry(id: u32, ip: u64) -> Self {
        Self {
            id,
            kind: ENTRY,
            ip,
            caller: 0,
        }
    }

    /// A return of probe `id` from function `func` to `caller`.
    #[inline(always)]
    pub(crate) fn ret(id: u32, func: u64, caller: u64) -> Self {
        Self {
            id,
            kind: RETURN,
            ip: func,
            caller,
        }
    }
}

/// What writes a record's data in place: any `FnOnce(&mut [u8])` closure,
/// or a type of the hot paths whose `fill` is sure to be inlined (LLVM may
/// keep a closure with a big body out of line: a call more per hit).
pub(crate) trait Fill {
    /// Writes the data into `data` (the reserved bytes).
    fn fill(self, data: &mut [u8]);
}

impl<F: FnOnce(&mut [u8])> Fill for F {
    #[inline(always)]
    fn fill(self, data: &mut [u8]) {
        self(data)
    }
}

/// Records one event with `size` bytes of data, written in place by `fill`
/// (probe handler context; no lock). Nothing is recorded while
/// `tracing_on` is off; without room the event is counted as dropped.
/// Inlined into the handlers: under emulation (TCG) a call and its return
/// cost as much as a few dozen plain instructions.
#[inline(always)]
pub(crate) fn record(head: Head, size: usize, fill: impl Fill) {
    if !TRACING_ON.load(Relaxed) {
        return;
    }
    if let Some(mut r) = Reservation::new(head.kind, size) {
        if size != 0 {
            fill.fill(r.data());
        }
        r.commit(head);
    }
}

/// The most data a record of `kind` can carry (the largest event the
/// buffer takes, less the header).
pub(crate) fn max_data(kind: u32) -> usize {
    MAX_EVENT.load(Relaxed).saturating_sub(head_size(kind))
}

/// The bytes of a record before its argument data.
#[inline(always)]
fn head_size(kind: u32) -> usize {
    if kind == RETURN {
        HDR + CALLER
    } else {
        HDR
    }
}

/// `ring_buffer_event_data()` without the call (a call is some 15
/// instructions of the hit path), for the data events a reserve returns;
/// anything else goes to the kernel's function.
///
/// # Safety
///
/// `ev` is an event reserved in, or read from, a ring buffer.
#[inline(always)]
unsafe fn event_data(ev: *mut kbind::ring_buffer_event) -> *mut u8 {
    // SAFETY: An event starts with its 4-byte header word (the caller's
    // guarantee).
    let type_len = unsafe { ev.cast::<u32>().read() } & 0x1f;
    let at = if type_len == 0 {
        8
    } else if type_len <= kbind::RPROBES_RB_DATA_TYPE_LEN_MAX {
        4
    } else {
        // SAFETY: As above.
        return unsafe { kbind::ring_buffer_event_data(ev) }.cast::<u8>();
    };
    // SAFETY: A data event's data start `at` bytes in
    // (`RPROBES_RB_DATA_TYPE_LEN_MAX` in the C shim); the type_len
    // bit-field is the low bits of the first word on x86-64.
    unsafe { ev.cast::<u8>().add(at) }
}

/// An event being written: reserved in this CPU's ring buffer, committed
/// by [`Reservation::commit`], which every path must reach (this CPU's
/// buffer stays reserved until then).
///
/// # Invariants
///
/// `b` is the live buffer and `rec` the data of an event reserved in it
/// (`head + max` bytes, exclusively ours) and not committed yet.
struct Reservation {
    b: *mut kbind::trace_buffer,
    rec: *mut u8,
    head: usize,
    max: usize,
}

impl Reservation {
    /// Reserves a record of `kind` with `max` bytes of argument data
    /// (`None` if there is no buffer or no room: counted as dropped).
    #[inline(always)]
    fn new(kind: u32, max: usize) -> Option<Self> {
        let b = BUF.load(Acquire);
        if b.is_null() {
            return None;
        }
        let head = head_size(kind);
        // SAFETY: `b` is the live buffer: it is freed only after every probe
        // is unregistered (so no handler runs) and `BUF` is cleared.
        let ev = unsafe { kbind::ring_buffer_lock_reserve(b, head + max) };
        if ev.is_null() {
            DROPPED.fetch_add(1, Relaxed);
            return None;
        }
        // SAFETY: `ev` was just reserved.
        let rec = unsafe { event_data(ev) };
        // INVARIANT: `ev` has room for `head + max` bytes of data.
        Some(Self { b, rec, head, max })
    }

    /// Room for the argument data.
    #[inline(always)]
    fn data(&mut self) -> &mut [u8] {
        // SAFETY: By the type invariant `rec` has `head + max` bytes that
        // are ours; the borrow of `self` keeps them from being committed.
        unsafe { core::slice::from_raw_parts_mut(self.rec.add(self.head), self.max) }
    }

    /// Writes the header and commits.
    #[inline(always)]
    fn commit(self, head: Head) {
        let rec = Rec {
            id: if head.kind == RETURN {
                head.id | RETURN_FLAG
            } else {
                head.id
            },
            pid: super::comm::current_pid(),
            ip: head.ip,
        };
        // SAFETY: By the type invariant `rec` has at least `head` >= `HDR`
        // bytes, possibly only 4-byte aligned (hence the unaligned writes),
        // and a return's head has room for the caller.
        unsafe {
            ptr::write_unaligned(self.rec.cast::<Rec>(), rec);
            if head.kind == RETURN {
                ptr::write_unaligned(self.rec.add(HDR).cast::<u64>(), head.caller);
            }
        }
        // SAFETY: Committing ends this CPU's reservation (type invariant).
        unsafe { kbind::ring_buffer_unlock_commit(self.b) };
        // SAFETY: `rprobes_rb_waiters` is a C `bool`, which the C side only
        // accesses with READ_ONCE/WRITE_ONCE: an atomic byte.
        let waiters = unsafe { AtomicBool::from_ptr(ptr::addr_of_mut!(kbind::rprobes_rb_waiters)) };
        if waiters.load(Relaxed) {
            // SAFETY: Queues the readers' wake-up (NMI-safe).
            unsafe { kbind::rprobes_rb_wake() };
        }
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
    pub(crate) data: KVec<u8>,
}

impl Event {
    /// The event as [`EventRef`] (what the text is made from).
    pub(crate) fn as_ref(&self) -> EventRef<'_> {
        EventRef {
            ts: self.ts,
            cpu: self.cpu,
            hdr: self.hdr,
            data: &self.data,
        }
    }
}

/// A record read back, its argument bytes borrowed (from an [`Event`] or a
/// [`Snapshot`]).
pub(crate) struct EventRef<'a> {
    /// Ring-buffer time stamp (ns).
    pub(crate) ts: u64,
    /// CPU it was recorded on.
    pub(crate) cpu: u32,
    /// The fixed part.
    pub(crate) hdr: EvHeader,
    /// Argument bytes.
    pub(crate) data: &'a [u8],
}

/// The header of a record's bytes and where its arguments start.
fn parse(rec: &[u8]) -> Result<(EvHeader, usize)> {
    let word = |at: usize, n: usize| -> Result<u64> {
        let b = rec.get(at..at + n).ok_or(EINVAL)?;
        let mut v = [0u8; 8];
        v[..n].copy_from_slice(b);
        Ok(u64::from_ne_bytes(v))
    };
    if rec.len() < HDR {
        return Err(EINVAL);
    }
    let id = word(core::mem::offset_of!(Rec, id), 4)? as u32;
    let mut hdr = EvHeader {
        id: id & !RETURN_FLAG,
        pid: word(core::mem::offset_of!(Rec, pid), 4)? as u32 as i32,
        kind: ENTRY,
        ip: word(core::mem::offset_of!(Rec, ip), 8)?,
        caller: 0,
    };
    let mut head = HDR;
    if id & RETURN_FLAG != 0 {
        hdr.kind = RETURN;
        hdr.caller = word(HDR, CALLER)?;
        head += CALLER;
    }
    Ok((hdr, head))
}

/// The bytes of an event in the buffer.
///
/// # Safety
///
/// `ev` is a valid event of the buffer, not consumed while the slice is
/// used.
unsafe fn event_bytes<'a>(ev: *mut kbind::ring_buffer_event) -> &'a [u8] {
    // SAFETY: Per the contract; `ring_buffer_event_length` is the data size.
    unsafe {
        core::slice::from_raw_parts(
            kbind::ring_buffer_event_data(ev).cast::<u8>(),
            kbind::ring_buffer_event_length(ev) as usize,
        )
    }
}

/// Copies an event out of the buffer.
///
/// # Safety
///
/// `ev` is a valid event of the buffer, not consumed while this runs.
unsafe fn copy_event(ev: *mut kbind::ring_buffer_event, ts: u64, cpu: u32) -> Result<Event> {
    // SAFETY: Per the contract.
    let rec = unsafe { event_bytes(ev) };
    let (hdr, head) = parse(rec)?;
    let mut data = KVec::with_capacity(rec.len() - head, GFP_KERNEL)?;
    data.extend_from_slice(&rec[head..], GFP_KERNEL)?;
    Ok(Event { ts, cpu, hdr, data })
}

/// Bytes of one record in a [`Snapshot`]'s arena: time stamp (8), CPU (4),
/// length (4), then the record's bytes, padded to 8.
const SNAP_HDR: usize = 16;

fn snap_size(len: usize) -> usize {
    SNAP_HDR + len.next_multiple_of(8)
}

/// What the last [`Events::snapshot`] and the text made from it held at
/// most (bytes; `memory` shows it).
static TRACE_PEAK: AtomicUsize = AtomicUsize::new(0);

/// A copy of the buffer's events for `trace`, not consumed: the records'
/// bytes packed in one allocation of the exact size, and their order.
///
/// # Invariants
///
/// Each entry of `order` is the offset in `arena` of a whole record (a
/// [`SNAP_HDR`] header whose length fits in `arena`).
pub(crate) struct Snapshot {
    arena: KVVec<u8>,
    order: KVVec<usize>,
}

impl Snapshot {
    /// Events in it.
    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }

    /// Bytes it holds.
    pub(crate) fn bytes(&self) -> usize {
        self.arena.capacity() + self.order.capacity() * core::mem::size_of::<usize>()
    }

    /// The `i`-th event, oldest first (`None` past the end or if its record
    /// is malformed).
    pub(crate) fn get(&self, i: usize) -> Option<EventRef<'_>> {
        let at = *self.order.get(i)?;
        let a = &self.arena;
        let ts = u64::from_ne_bytes(a.get(at..at + 8)?.try_into().ok()?);
        let cpu = u32::from_ne_bytes(a.get(at + 8..at + 12)?.try_into().ok()?);
        let len = u32::from_ne_bytes(a.get(at + 12..at + 16)?.try_into().ok()?) as usize;
        let rec = a.get(at + SNAP_HDR..at + SNAP_HDR + len)?;
        let (hdr, head) = parse(rec).ok()?;
        Some(EventRef {
            ts,
            cpu,
            hdr,
            data: &rec[head..],
        })
    }
}

/// Bytes of the buffer over all CPUs (0 before it is made).
pub(crate) fn buffer_bytes() -> usize {
    let b = BUF.load(Acquire);
    let mut n = 0;
    if !b.is_null() {
        for_each_possible_cpu(|cpu| {
            // SAFETY: `b` is the live buffer (freed only after `BUF` is
            // cleared, when no file is open).
            n += unsafe { kbind::ring_buffer_size(b, cpu as i32) } as usize;
        });
    }
    n
}

/// Notes that `trace` held `bytes` at once (its snapshot and text).
pub(crate) fn note_trace_bytes(bytes: usize) {
    TRACE_PEAK.store(bytes, Relaxed);
}

/// What the last open of `trace` held at once (bytes).
pub(crate) fn trace_bytes() -> usize {
    TRACE_PEAK.load(Relaxed)
}

/// Walks CPU `cpu`'s events, oldest first, without consuming them: `f`
/// gets each one's time stamp and bytes, and returns whether to go on.
/// Fails with `ENOMEM` if the iterator cannot be allocated.
fn walk_cpu(
    b: *mut kbind::trace_buffer,
    cpu: u32,
    mut f: impl FnMut(u64, &[u8]) -> bool,
) -> Result {
    // SAFETY: `b` is valid; the iterator is finished below.
    let it = unsafe { kbind::ring_buffer_read_start(b, cpu as i32, kernel::bindings::GFP_KERNEL) };
    if it.is_null() {
        return Err(ENOMEM);
    }
    loop {
        let mut ts = 0u64;
        // SAFETY: `it` is a live iterator of `b`.
        let ev = unsafe { kbind::ring_buffer_iter_peek(it, &mut ts) };
        if ev.is_null() {
            break;
        }
        // SAFETY: `ev` is valid until the iterator advances.
        if !f(ts, unsafe { event_bytes(ev) }) {
            break;
        }
        // SAFETY: `it` is live.
        unsafe { kbind::ring_buffer_iter_advance(it) };
    }
    // SAFETY: Ends the iteration started above.
    unsafe { kbind::ring_buffer_read_finish(it) };
    Ok(())
}

pub(crate) struct Events(());

impl Events {
    /// Allocates the buffer.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: Plain allocation.
        let b = unsafe { kbind::rprobes_rb_alloc(DEFAULT_SIZE) }.cast::<kbind::trace_buffer>();
        if b.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: `b` is the buffer just allocated.
        let max = unsafe { kbind::ring_buffer_max_event_size(b) } as usize;
        MAX_EVENT.store(max, Relaxed);
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
        for_each_possible_cpu(|cpu| {
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
    ///
    /// A first walk sizes the copy, per CPU, and a second fills it: the
    /// copy is allocated once, at its size, at most 2 bytes per byte of
    /// each CPU's buffer (a record of the smallest event, 20 bytes in the
    /// buffer, takes 32 here) plus a word per event, 2.5 times the buffer
    /// in all. Recording goes on meanwhile: the second walk takes, per CPU,
    /// no more than the first found room for (events that came in between
    /// are left out; if the buffer overwrote some, the copy starts later).
    pub(crate) fn snapshot(&self) -> Result<Snapshot> {
        Self::copy_all(self.buf())
    }

    fn copy_all(b: *mut kbind::trace_buffer) -> Result<Snapshot> {
        let flags = GFP_KERNEL | kernel::alloc::flags::__GFP_NOWARN;
        // Per CPU (in `for_each_possible_cpu` order): the bytes and events
        // of the first walk.
        let mut plan: KVec<(usize, usize)> = KVec::new();
        let (mut bytes, mut n, mut err) = (0usize, 0usize, Ok(()));
        for_each_possible_cpu(|cpu| {
            // SAFETY: `b` is valid.
            let cap = 2 * unsafe { kbind::ring_buffer_size(b, cpu as i32) } as usize;
            let (mut mine, mut count) = (0, 0);
            let r = walk_cpu(b, cpu, |_, rec| {
                mine += snap_size(rec.len());
                count += 1;
                mine < cap
            });
            bytes += mine;
            n += count;
            err = err
                .and(r)
                .and(plan.push((mine, count), flags).map_err(Error::from));
        });
        err?;
        let mut arena = KVVec::with_capacity(bytes, flags)?;
        let mut order = KVVec::with_capacity(n, flags)?;
        let mut err = Ok(());
        let mut plans = plan.iter();
        for_each_possible_cpu(|cpu| {
            let (room, count) = plans.next().copied().unwrap_or((0, 0));
            let (mut used, mut taken) = (0, 0);
            let r = walk_cpu(b, cpu, |ts, rec| {
                let need = snap_size(rec.len());
                if used + need > room || taken == count {
                    return false;
                }
                used += need;
                taken += 1;
                let at = arena.len();
                // Cannot fail: the capacity was checked above.
                let _ = order.push(at, flags);
                let mut h = [0u8; SNAP_HDR];
                h[..8].copy_from_slice(&ts.to_ne_bytes());
                h[8..12].copy_from_slice(&cpu.to_ne_bytes());
                h[12..].copy_from_slice(&(rec.len() as u32).to_ne_bytes());
                let _ = arena.extend_from_slice(&h, flags);
                let _ = arena.extend_from_slice(rec, flags);
                let pad = [0u8; 8];
                let _ = arena.extend_from_slice(&pad[..need - SNAP_HDR - rec.len()], flags);
                true
            });
            err = err.and(r);
        });
        err?;
        let key = |at: &usize| {
            let a = &arena;
            let g = |r: core::ops::Range<usize>| a.get(r).unwrap_or(&[0u8; 8][..]);
            let ts = u64::from_ne_bytes(g(*at..*at + 8).try_into().unwrap_or([0; 8]));
            let cpu = u32::from_ne_bytes(g(*at + 8..*at + 12).try_into().unwrap_or([0; 4]));
            (ts, cpu)
        };
        crate::lang::kallsyms::heapsort_by_key(&mut order, key);
        // INVARIANT: each offset was pushed with its whole record behind it.
        Ok(Snapshot { arena, order })
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

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ring.c: the event stream's kernel ring buffer (overwrite mode) and the
 * wait queue its readers sleep on, for src/events/. Writers may run in
 * NMI-like context, so they wake readers through an irq_work, as tracefs
 * does.
 */
#ifndef RPROBES_SHIM_RING_H
#define RPROBES_SHIM_RING_H

#include <linux/types.h>
#include <linux/ring_buffer.h>
#include <uapi/linux/eventpoll.h>

void *rprobes_rb_alloc(unsigned long size);
/*
 * Set while a reader sleeps (or is about to): writers read it inline and
 * call rprobes_rb_wake() only when it is set.
 */
extern bool rprobes_rb_waiters;
/* Wakes sleeping readers (NMI-safe, cheap when nobody waits). */
void rprobes_rb_wake(void);
/* Sleeps until @rb is not empty: 0, or -ERESTARTSYS on a signal. */
int rprobes_rb_wait(void *rb);
/* poll_wait() on the readers' queue; EPOLLIN|EPOLLRDNORM if @rb has data. */
unsigned int rprobes_rb_poll(void *file, void *pt, void *rb);
/* Waits for a queued wake-up to finish (before freeing the buffer). */
void rprobes_rb_sync(void);
enum { RPROBES_RB_ALL_CPUS = RING_BUFFER_ALL_CPUS };
/*
 * The event header of <linux/ring_buffer.h> (its documented part): a data
 * event's type_len (the low 5 bits of its first word) is its length in
 * 4-byte units, 1 to this, its data right after the word; 0 means the
 * length is in array[0] and the data follow that.
 */
enum { RPROBES_RB_DATA_TYPE_LEN_MAX = RINGBUF_TYPE_DATA_TYPE_LEN_MAX };
/* What poll reports for a readable stream (EPOLLIN | EPOLLRDNORM). */
#define RPROBES_POLL_READABLE 0x41u

#endif

// SPDX-License-Identifier: GPL-2.0
/*
 * The event stream's ring buffer allocation and its readers' wake-up (see
 * ring.h): wait queues, irq_work and poll_wait() are macros and inlines.
 */
#include <linux/ring_buffer.h>
#include <linux/wait.h>
#include <linux/irq_work.h>
#include <linux/poll.h>
#include <linux/sched.h>

#include "ring.h"

static DECLARE_WAIT_QUEUE_HEAD(rprobes_rb_waitq);
bool rprobes_rb_waiters;

static void rprobes_rb_wake_fn(struct irq_work *work)
{
	wake_up_all(&rprobes_rb_waitq);
}

static struct irq_work rprobes_rb_wake_work = IRQ_WORK_INIT(rprobes_rb_wake_fn);

void *rprobes_rb_alloc(unsigned long size)
{
	return ring_buffer_alloc(size, RB_FL_OVERWRITE);
}

/*
 * Like the ring buffer's own waiters_pending: the writer only reads a flag
 * (no barrier on the hit path), and calls this only when it is set. A
 * wake-up lost to the race between a reader setting the flag and a writer
 * reading it costs at most the reader's 100 ms timeout, after which it
 * looks again.
 */
void rprobes_rb_wake(void)
{
	if (READ_ONCE(rprobes_rb_waiters)) {
		WRITE_ONCE(rprobes_rb_waiters, false);
		irq_work_queue(&rprobes_rb_wake_work);
	}
}

int rprobes_rb_wait(void *rb)
{
	long r;

	do {
		WRITE_ONCE(rprobes_rb_waiters, true);
		smp_mb();
		r = wait_event_interruptible_timeout(rprobes_rb_waitq,
						     !ring_buffer_empty(rb), HZ / 10);
	} while (r == 0);
	return r < 0 ? r : 0;
}

unsigned int rprobes_rb_poll(void *file, void *pt, void *rb)
{
	poll_wait(file, &rprobes_rb_waitq, pt);
	WRITE_ONCE(rprobes_rb_waiters, true);
	smp_mb();
	BUILD_BUG_ON(RPROBES_POLL_READABLE != (EPOLLIN | EPOLLRDNORM));
	return ring_buffer_empty(rb) ? 0 : RPROBES_POLL_READABLE;
}

void rprobes_rb_sync(void)
{
	irq_work_sync(&rprobes_rb_wake_work);
}

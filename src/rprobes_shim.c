// SPDX-License-Identifier: GPL-2.0
/*
 * C half of rprobes (see rprobes_shim.h): string module parameters and thin
 * wrappers around static inlines and macros. No probe logic lives here.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/percpu.h>
#include <linux/cpumask.h>
#include <linux/fs.h>
#include <linux/seq_file.h>
#include <linux/uio.h>
#include <linux/sched.h>
#include <linux/irqflags.h>
#include <linux/smp.h>
#include <linux/tracepoint.h>
#include <linux/kallsyms.h>
#include <linux/ring_buffer.h>
#include <linux/wait.h>
#include <linux/irq_work.h>
#include <linux/poll.h>
#include <linux/string.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/pid.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>
#include <linux/slab.h>

#include "rprobes_shim.h"

static char kprobes[RPROBES_PARAM_MAX];
module_param_string(kprobes, kprobes, sizeof(kprobes), 0444);
MODULE_PARM_DESC(kprobes,
		 "Kernel probes to add at load time: SYM[+OFF]|ADDR[,SYM[+OFF]|ADDR...]");

const char *rprobes_param_kprobes(void)
{
	return kprobes;
}

static char kretprobes[RPROBES_PARAM_MAX];
module_param_string(kretprobes, kretprobes, sizeof(kretprobes), 0444);
MODULE_PARM_DESC(kretprobes,
		 "Return probes to add at load time: SYM[:MAXACTIVE][,SYM[:MAXACTIVE]...]");

const char *rprobes_param_kretprobes(void)
{
	return kretprobes;
}

static char uprobes[RPROBES_PARAM_MAX];
module_param_string(uprobes, uprobes, sizeof(uprobes), 0444);
MODULE_PARM_DESC(uprobes,
		 "User probes to add at load time: PID:0xADDR|PID:PATH:0xOFF[,...]");

const char *rprobes_param_uprobes(void)
{
	return uprobes;
}

void rprobes_module_get(void)
{
	__module_get(THIS_MODULE);
}

bool rprobes_module_try_get(void)
{
	return try_module_get(THIS_MODULE);
}

void rprobes_module_put(void)
{
	module_put(THIS_MODULE);
}

static DEFINE_PER_CPU(int, rprobes_ret_busy);

bool rprobes_ret_begin(void)
{
	preempt_disable_notrace();
	/* One instruction: an interrupt cannot split the test and the set. */
	return this_cpu_cmpxchg(rprobes_ret_busy, 0, 1) == 0;
}

void rprobes_ret_end(bool owner)
{
	if (owner)
		this_cpu_write(rprobes_ret_busy, 0);
	preempt_enable_notrace();
}

void *rprobes_ret_entry(unsigned int *cpu)
{
	if (this_cpu_read(rprobes_ret_busy))
		return NULL;
	*cpu = raw_smp_processor_id();
	return current;
}

unsigned int rprobes_num_possible_cpus(void)
{
	return num_possible_cpus();
}

static struct tracepoint *task_free_tp;
static void (*task_free_fn)(void *task);

static void find_task_free_tp(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "sched_process_free"))
		task_free_tp = tp;
}

static void task_free_probe(void *data, struct task_struct *p)
{
	task_free_fn(p);
}

int rprobes_task_free_hook(void (*fn)(void *task))
{
	for_each_kernel_tracepoint(find_task_free_tp, NULL);
	if (!task_free_tp)
		return -ENOENT;
	task_free_fn = fn;
	return tracepoint_probe_register(task_free_tp, task_free_probe, NULL);
}

void rprobes_task_free_unhook(void)
{
	if (!task_free_tp)
		return;
	tracepoint_probe_unregister(task_free_tp, task_free_probe, NULL);
	tracepoint_synchronize_unregister();
}

int rprobes_sprint_symbol(char *buf, unsigned long addr)
{
	return sprint_symbol(buf, addr);
}

void *rprobes_alloc_percpu(size_t size, size_t align)
{
	return (void __force *)__alloc_percpu(size, align);
}

void rprobes_free_percpu(void *ptr)
{
	free_percpu((void __percpu __force *)ptr);
}

void *rprobes_this_cpu_ptr(void *ptr)
{
	return this_cpu_ptr((void __percpu __force *)ptr);
}

void *rprobes_per_cpu_ptr(void *ptr, unsigned int cpu)
{
	return per_cpu_ptr((void __percpu __force *)ptr, cpu);
}

int rprobes_next_possible_cpu(int prev)
{
	unsigned int next = cpumask_next(prev, cpu_possible_mask);

	return next < nr_cpu_ids ? next : -1;
}

long rprobes_seq_kernel_read(void *filp, void *buf, size_t count, long long *pos)
{
	struct file *file = filp;
	struct kvec iov = { .iov_base = buf, .iov_len = count };
	struct iov_iter iter;
	struct kiocb kiocb;
	ssize_t ret;

	init_sync_kiocb(&kiocb, file);
	kiocb.ki_pos = *pos;
	iov_iter_kvec(&iter, ITER_DEST, &iov, 1, count);
	ret = seq_read_iter(&kiocb, &iter);
	if (ret > 0)
		*pos = kiocb.ki_pos;
	return ret;
}

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

void rprobes_current_comm(char *buf)
{
	memcpy(buf, current->comm, TASK_COMM_LEN);
}

const char *rprobes_current_comm_ptr(void)
{
	return current->comm;
}

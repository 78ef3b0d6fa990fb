// SPDX-License-Identifier: GPL-2.0
/*
 * Per-CPU memory and the preemption-protected per-CPU flag of return
 * probes (see percpu.h): macros and static inlines Rust cannot call.
 */
#include <linux/percpu.h>
#include <linux/cpumask.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/smp.h>

#include "percpu.h"

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

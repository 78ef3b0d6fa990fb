/* SPDX-License-Identifier: GPL-2.0 */
/*
 * percpu.c: per-CPU memory (__alloc_percpu(), per_cpu_ptr(), the possible
 * CPU mask) for src/sys/percpu.rs, and the per-CPU "a return handler runs
 * here" flag of return probes (preempt_disable_notrace(), this_cpu_*()) for
 * src/retprobes/.
 */
#ifndef RPROBES_SHIM_PERCPU_H
#define RPROBES_SHIM_PERCPU_H

#include <linux/types.h>

/* __alloc_percpu()/free_percpu(): zeroed per-CPU memory. */
void *rprobes_alloc_percpu(size_t size, size_t align);
void rprobes_free_percpu(void *ptr);
/* this_cpu_ptr()/per_cpu_ptr() on memory from rprobes_alloc_percpu(). */
void *rprobes_this_cpu_ptr(void *ptr);
void *rprobes_per_cpu_ptr(void *ptr, unsigned int cpu);
/* Next possible CPU after @prev (-1 to start), or -1 after the last one. */
int rprobes_next_possible_cpu(int prev);
/* num_possible_cpus(). */
unsigned int rprobes_num_possible_cpus(void);

/*
 * Per-CPU "a return handler runs here" flag: set while the trampoline's
 * handler does its (non-reentrant) work; a handler that finds it set on its
 * CPU (an interrupt or NMI nested into that work) skips the hit, counted as
 * a reentrancy miss.
 *
 * rprobes_ret_begin() disables preemption and tries to take the flag (an
 * interrupt-safe cmpxchg); rprobes_ret_end(owner) releases it if taken and
 * enables preemption.
 */
bool rprobes_ret_begin(void);
void rprobes_ret_end(bool owner);
/* Entry side of a return probe: current (NULL if this CPU's flag is taken)
 * and the CPU number, in one call. */
void *rprobes_ret_entry(unsigned int *cpu);

#endif

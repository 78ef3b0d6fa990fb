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

#include "rprobes_shim.h"

static char kprobes[RPROBES_PARAM_MAX];
module_param_string(kprobes, kprobes, sizeof(kprobes), 0444);
MODULE_PARM_DESC(kprobes,
		 "Kernel probes to add at load time: SYM[+OFF]|ADDR[,SYM[+OFF]|ADDR...]");

const char *rprobes_param_kprobes(void)
{
	return kprobes;
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

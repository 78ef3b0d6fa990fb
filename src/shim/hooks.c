// SPDX-License-Identifier: GPL-2.0
/*
 * Tracepoint hooks (see hooks.h): the tracepoints are found by name
 * (for_each_kernel_tracepoint()), and their unregistration is waited for
 * with the inline tracepoint_synchronize_unregister().
 */
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/tracepoint.h>

#include "hooks.h"

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

/* ---- process events: fork, exit, exec ---- */

static void (*rp_fork)(void *parent_mm, void *child);
static void (*rp_gone)(void);

static void rp_fork_probe(void *data, struct task_struct *parent, struct task_struct *child)
{
	struct mm_struct *mm = READ_ONCE(parent->mm);

	/* A vfork or CLONE_VM child shares the mm, and its probes. */
	if (mm && child->mm && child->mm != mm && !(child->flags & PF_KTHREAD))
		rp_fork(mm, child);
}

static void rp_exit_probe(void *data, struct task_struct *p, bool group_dead)
{
	if (group_dead)
		rp_gone();
}

static void rp_exec_probe(void *data, struct task_struct *p, pid_t old_pid,
			  struct linux_binprm *bprm)
{
	rp_gone();
}

static struct rp_tp {
	const char *name;
	void *probe;
	struct tracepoint *tp;
	bool on;
} rp_tps[] = {
	{ "sched_process_fork", rp_fork_probe },
	{ "sched_process_exit", rp_exit_probe },
	{ "sched_process_exec", rp_exec_probe },
};

static void rp_find_tp(struct tracepoint *tp, void *priv)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(rp_tps); i++)
		if (!strcmp(tp->name, rp_tps[i].name))
			rp_tps[i].tp = tp;
}

void rprobes_proc_unhook(void)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(rp_tps); i++) {
		if (rp_tps[i].on)
			tracepoint_probe_unregister(rp_tps[i].tp, rp_tps[i].probe, NULL);
		rp_tps[i].on = false;
	}
	tracepoint_synchronize_unregister();
}

int rprobes_proc_hook(void (*fork)(void *parent_mm, void *child), void (*gone)(void))
{
	int i, ret;

	rp_fork = fork;
	rp_gone = gone;
	for_each_kernel_tracepoint(rp_find_tp, NULL);
	for (i = 0; i < ARRAY_SIZE(rp_tps); i++) {
		if (!rp_tps[i].tp) {
			ret = -ENOENT;
			goto fail;
		}
		ret = tracepoint_probe_register(rp_tps[i].tp, rp_tps[i].probe, NULL);
		if (ret)
			goto fail;
		rp_tps[i].on = true;
	}
	return 0;
fail:
	rprobes_proc_unhook();
	return ret;
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hooks.c: the scheduler tracepoints rprobes hooks, for src/sys/hooks.rs:
 * sched_process_free (return instances and steps of dead tasks), and
 * sched_process_fork/exit/exec (user probes in fork children, dying
 * address spaces).
 */
#ifndef RPROBES_SHIM_HOOKS_H
#define RPROBES_SHIM_HOOKS_H

/*
 * Calls @fn(task) from the sched_process_free tracepoint (the task is dead
 * and about to be freed; rethook flushes its instances at the same point).
 * Returns 0 or -errno.
 */
int rprobes_task_free_hook(void (*fn)(void *task));
/* Unhooks and waits until no call of @fn is running. */
void rprobes_task_free_unhook(void);

/*
 * Process events, from the sched tracepoints: @fork(parent_mm, child) for a
 * child with its own copy of a parent's mm (not vfork/CLONE_VM), before the
 * child runs (preemption disabled); @gone() when a thread group exits or a
 * process execs (an mm may be about to die).
 */
int rprobes_proc_hook(void (*fork)(void *parent_mm, void *child), void (*gone)(void));
/* Unhooks and waits until no probe runs. */
void rprobes_proc_unhook(void);

#endif

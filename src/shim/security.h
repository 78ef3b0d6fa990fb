/* SPDX-License-Identifier: GPL-2.0 */
/*
 * security.c: whether the writer of a control line may attach to a process
 * as ptrace would (user probes, `explain`). Used by user.c; see
 * Documentation/rprobes/security.rst.
 */
#ifndef RPROBES_SHIM_SECURITY_H
#define RPROBES_SHIM_SECURITY_H

struct mm_struct;

/*
 * Whether current (the task writing the control line, or insmod for
 * `uprobes=`) may attach to process @pid (a number in current's pid
 * namespace) as ptrace would (PTRACE_MODE_ATTACH with current's real uid and
 * gid), and @mm is the address space it would attach to.
 *
 * 7.3 exports neither ptrace_may_access() nor mm_access(): the check is the
 * one opening /proc/@pid/mem makes (mm_access(PTRACE_MODE_ATTACH), so
 * __ptrace_may_access() and every LSM's ptrace_access_check hook), done with
 * current's credentials, its fs uid and gid set to its real ones. The mm the
 * kernel checked (procfs keeps it in the file) must be @mm: a /proc of
 * another pid namespace, a bind mount or an exec in between is refused.
 *
 * Returns 0, -EPERM (refused, or the check could not be made: no procfs at
 * /proc), -ENOMEM or -EINTR. Process context, sleeps; takes no lock of
 * rprobes' (the callers hold the registry mutex: procfs takes the task's
 * exec_update_lock, which nothing holds while taking a rprobes lock).
 */
long rprobes_may_attach(int pid, struct mm_struct *mm);

#endif

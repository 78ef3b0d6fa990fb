/* SPDX-License-Identifier: GPL-2.0 */
/*
 * seqread.c: reads /proc/kallsyms for src/sys/ksym.rs.
 */
#ifndef RPROBES_SHIM_SEQREAD_H
#define RPROBES_SHIM_SEQREAD_H

#include <linux/types.h>

/*
 * Reads from a seq_file-backed file opened with filp_open() (such as
 * /proc/kallsyms, whose proc_ops have no read_iter, so kernel_read()
 * refuses it) into a kernel buffer, through the exported seq_read_iter().
 * @file is a struct file *; returns bytes read, 0 at the end, or -errno.
 */
long rprobes_seq_kernel_read(void *file, void *buf, size_t count, long long *pos);

#endif

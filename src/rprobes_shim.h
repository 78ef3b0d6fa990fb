/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C half of rprobes: what Rust cannot reach directly.
 *
 * - string module parameters (7.3's Rust `module!` knows integers and bools
 *   only), declared with module_param_string() in rprobes_shim.c;
 * - wrappers around static inlines and macros (per-CPU accessors).
 *
 * Rust sees these declarations through the module's own bindgen step
 * (src/kbind_helper.h).
 */
#ifndef RPROBES_SHIM_H
#define RPROBES_SHIM_H

#include <linux/types.h>
#include <linux/compiler_types.h>

/* Largest value of a string parameter, including the NUL. */
#define RPROBES_PARAM_MAX 4096

/* The `kprobes=` parameter: comma-separated SYM[+OFF]|ADDR items. */
const char *rprobes_param_kprobes(void);

/* __alloc_percpu()/free_percpu(): zeroed per-CPU memory. */
void *rprobes_alloc_percpu(size_t size, size_t align);
void rprobes_free_percpu(void *ptr);
/* this_cpu_ptr()/per_cpu_ptr() on memory from rprobes_alloc_percpu(). */
void *rprobes_this_cpu_ptr(void *ptr);
void *rprobes_per_cpu_ptr(void *ptr, unsigned int cpu);
/* Next possible CPU after @prev (-1 to start), or -1 after the last one. */
int rprobes_next_possible_cpu(int prev);

/*
 * Reads from a seq_file-backed file opened with filp_open() (such as
 * /proc/kallsyms, whose proc_ops have no read_iter, so kernel_read()
 * refuses it) into a kernel buffer, through the exported seq_read_iter().
 * @file is a struct file *; returns bytes read, 0 at the end, or -errno.
 */
long rprobes_seq_kernel_read(void *file, void *buf, size_t count, long long *pos);

#endif /* RPROBES_SHIM_H */

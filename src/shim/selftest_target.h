/* SPDX-License-Identifier: GPL-2.0 */
/*
 * selftest_target.c: the fetch-argument target of the `args` selftest
 * (src/selftest.rs), in C so that tracefs can probe it too.
 */
#ifndef RPROBES_SHIM_SELFTEST_TARGET_H
#define RPROBES_SHIM_SELFTEST_TARGET_H

long rprobes_selftest_args(long a1, unsigned long a2, const void *a3, long a4,
			   const char *a5, const long *a6, long a7,
			   unsigned long a8);

#endif

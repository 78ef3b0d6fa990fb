// SPDX-License-Identifier: GPL-2.0
/*
 * The fetch-argument target of the `args` selftest (see selftest.rs). It is
 * C, not Rust, because tracefs must be able to probe it too: the tests
 * compare both on the same call, and tracefs refuses functions without an
 * ftrace call site ("notrace"), which the kernel's Rust code has none of.
 * The caller passes known values; the 7th and 8th arguments are on the
 * stack on x86_64.
 */
#include <linux/compiler.h>
#include <linux/types.h>

#include "selftest_target.h"

noinline long rprobes_selftest_args(long a1, unsigned long a2, const void *a3,
				    long a4, const char *a5, const long *a6,
				    long a7, unsigned long a8)
{
	/* Every argument is used, so none is dropped from the call. */
	OPTIMIZER_HIDE_VAR(a2);
	OPTIMIZER_HIDE_VAR(a3);
	OPTIMIZER_HIDE_VAR(a4);
	OPTIMIZER_HIDE_VAR(a5);
	OPTIMIZER_HIDE_VAR(a6);
	OPTIMIZER_HIDE_VAR(a7);
	OPTIMIZER_HIDE_VAR(a8);
	OPTIMIZER_HIDE_VAR(a1);
	return a1 * 21;
}

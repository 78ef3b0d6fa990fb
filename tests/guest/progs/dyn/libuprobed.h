/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libuprobed.h: the functions of /tests/lib/libuprobed.so (libuprobed.c),
 * the shared library of the dynamic test programs (dynloop and forkexec
 * link it, dlopener loads it with dlopen).
 */
#ifndef LIBUPROBED_H
#define LIBUPROBED_H

/* a + b; counts its calls in lib_add_calls. */
long lib_add(long a, long b);
/* x + 2 * i + 1 (through body_step, a local function of the library). */
long lib_loop_body(long x, long i);
/*
 * m + i, under a C++-mangled name: uprobed::detail::accumulate<long>(long, long).
 */
long lib_accumulate(long m, long i) __asm__("_ZN7uprobed6detail10accumulateIlEET_S2_S2_");
/* Calls of lib_add in this process (an STT_OBJECT symbol: not a function). */
extern long lib_add_calls;

#endif

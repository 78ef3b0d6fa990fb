// SPDX-License-Identifier: GPL-2.0
/*
 * libuprobed.so, installed as /tests/lib/libuprobed.so: a shared library
 * (-shared -fPIC, not stripped) for probes on a library by path and
 * symbol. dynloop and forkexec link it (DT_NEEDED, rpath /tests/lib),
 * dlopener loads it with dlopen(). Its functions are exported (.dynsym,
 * default visibility), never inlined or cloned, and call nothing else
 * of the library but what is said here, so that the hit counts of a probe
 * on each are what the callers say:
 *
 *   lib_add(a, b)             a + b; counts its calls in lib_add_calls
 *   lib_loop_body(x, i)       x + 2 * i + 1, by one call of body_step
 *   _ZN7uprobed6detail10accumulateIlEET_S2_S2_(m, i)
 *                             m + i (uprobed::detail::accumulate<long>
 *                             (long, long): a long mangled name)
 *   body_step(v)              v + 1: a local (static) function, in .symtab
 *                             only, not in .dynsym
 *   lib_add_calls             a long variable (STT_OBJECT, not a function)
 */
#include "libuprobed.h"

#define LIBFN __attribute__((noinline, noipa, visibility("default")))

long lib_add_calls;

static __attribute__((noinline, noipa)) long body_step(long v)
{
	return v + 1;
}

LIBFN long lib_add(long a, long b)
{
	lib_add_calls++;
	return a + b;
}

LIBFN long lib_loop_body(long x, long i)
{
	return body_step(x + 2 * i);
}

LIBFN long lib_accumulate(long m, long i)
{
	return m + i;
}

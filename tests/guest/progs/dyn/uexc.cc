// SPDX-License-Identifier: GPL-2.0
// C++ exceptions through calls whose return a user return probe hijacked
// (uprobes/unwind.tc). Built twice: dynamic (libstdc++, libgcc_s) and
// static (/tests/progs/uexc_static: its own unwinder).
//
// uexc N DEPTH: N times, catcher() calls thrower(DEPTH), which recurses
// DEPTH deep (each frame with a destructor: a cleanup, `_Unwind_Resume`)
// and throws at the bottom; the frame at DEPTH / 2 catches and rethrows
// (`throw;`: `_Unwind_Resume_or_Rethrow`); catcher() catches it and
// returns -1. Between them, plain() returns normally. Prints what
// happened; the output is the same with and without probes.
// static-too
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

static volatile long cleanups, rethrows, caught, plains;

struct Cleanup {
	~Cleanup() { cleanups = cleanups + 1; }
};

extern "C" __attribute__((noinline)) long thrower(long d, long depth)
{
	Cleanup c;
	if (d == 0)
		throw std::runtime_error("bottom");
	if (d == depth / 2) {
		try {
			return thrower(d - 1, depth) + 1;
		} catch (...) {
			rethrows = rethrows + 1;
			throw;
		}
	}
	long r = thrower(d - 1, depth);
	asm volatile("" : "+r"(r));
	return r + 1;
}

extern "C" __attribute__((noinline)) long catcher(long depth)
{
	try {
		return thrower(depth, depth);
	} catch (const std::exception &e) {
		caught = caught + 1;
		return -1;
	}
}

extern "C" __attribute__((noinline)) long plain(long i)
{
	plains = plains + 1;
	asm volatile("" : "+r"(i));
	return i * 2;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 10, depth = argc > 2 ? atol(argv[2]) : 4;
	long sum = 0, csum = 0;
	for (long i = 0; i < n; i++) {
		csum += catcher(depth);
		sum += plain(i);
	}
	printf("caught=%ld cleanups=%ld rethrows=%ld catcher_sum=%ld plain_sum=%ld\n", (long)caught,
	       (long)cleanups, (long)rethrows, csum, sum);
	return 0;
}

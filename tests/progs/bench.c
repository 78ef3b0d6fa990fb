// SPDX-License-Identifier: GPL-2.0
/*
 * bench: timing primitives for `make bench` (tests/bench.sh drives them).
 *
 *   bench getpid N            ns per getpid() syscall, over N calls
 *   bench ufunc N             ns per call of a noinline user function
 *   bench write FILE LINES    ns to open(O_APPEND) FILE, write LINES (a
 *                             file) in one write(2) and close it
 *   bench trunc FILE          ns to open(O_TRUNC) FILE and close it
 *
 * Prints one number. Exits non-zero if an operation fails.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long long now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

__attribute__((noinline)) int bench_target(int x)
{
	asm volatile("" : "+r"(x));
	return x + 1;
}

int main(int argc, char **argv)
{
	long long t0, t1;

	if (argc == 3 && !strcmp(argv[1], "getpid")) {
		long n = atol(argv[2]);

		t0 = now();
		for (long i = 0; i < n; i++)
			syscall(SYS_getpid);
		t1 = now();
		printf("%.1f\n", (double)(t1 - t0) / n);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "ufunc")) {
		long n = atol(argv[2]);
		int x = 0;

		t0 = now();
		for (long i = 0; i < n; i++)
			x = bench_target(x);
		t1 = now();
		printf("%.1f\n", (double)(t1 - t0) / n);
		return x == 0;
	}
	if (argc == 4 && !strcmp(argv[1], "write")) {
		static char buf[1 << 20];
		int in = open(argv[3], O_RDONLY), fd;
		ssize_t len = in < 0 ? -1 : read(in, buf, sizeof(buf));

		if (len <= 0)
			return 1;
		t0 = now();
		fd = open(argv[2], O_WRONLY | O_APPEND);
		if (fd < 0 || write(fd, buf, len) != len || close(fd))
			return 1;
		t1 = now();
		printf("%lld\n", t1 - t0);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "trunc")) {
		int fd;

		t0 = now();
		fd = open(argv[2], O_WRONLY | O_TRUNC);
		if (fd < 0 || close(fd))
			return 1;
		t1 = now();
		printf("%lld\n", t1 - t0);
		return 0;
	}
	return 2;
}

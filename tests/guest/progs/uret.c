// SPDX-License-Identifier: GPL-2.0
/*
 * uret GOFILE MODE N [ENDFILE]: functions for user return probes (uprobes/retstack),
 * each a typed function (by symbol):
 *   leaf(x)    returns 3x + 1;
 *   rec(n)     recursion n deep, returns n (each level its own depth);
 *   jumper(x)  calls leaf(x), then longjmp()s out: its return never comes;
 *   forker(x)  forks inside: the child returns from it too (100 + x),
 *              prints "child V" and exits 0; the parent waits and returns x;
 *   blocker(f) waits until file f exists, returns 42;
 *   exiter(x)  exits (status x) or execs /tests/progs/uret (x < 0) from
 *              inside: its return never comes;
 *   many8(a..h), many8r(a..h): 8 arguments (2 on the stack), return
 *              their sum;
 *   sigwaiter(x) raises SIGUSR1, whose handler runs on a sigaltstack
 *              mapped above the main stack and calls leaf(7); returns
 *              x + 22.
 * MODE: rec (rec(N)), jump (N setjmp/jumper rounds), fork (forker(5)),
 * threads (8 threads, N calls of leaf each), block (blocker(N): N is
 * a file name here), exit (exiter(0) inside rec(3)), exec (exiter(-1):
 * exec of uret GOFILE rec 5, which prints its result), sig
 * (sigwaiter(5); "result sig=27 alt=above|below"), args (N calls of
 * many8 and many8r with i .. i+7, i = 0 .. N-1). Prints "ready", waits for
 * GOFILE, runs MODE, prints "result ...", waits for ENDFILE (if given)
 * and exits 0.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static jmp_buf env;
static long n_arg;

__attribute__((noinline, noipa)) long leaf(long x)
{
	asm volatile("" : "+r"(x));
	return 3 * x + 1;
}

__attribute__((noinline, noipa)) long rec(long n)
{
	long r;

	if (n == 0)
		return 0;
	r = rec(n - 1);
	/* Not a tail call, and no accumulator: each level returns. */
	asm volatile("" : "+r"(r));
	return r + 1;
}

__attribute__((noinline, noipa)) long jumper(long x)
{
	long v = leaf(x);

	if (v)
		longjmp(env, 1);
	return v;
}

__attribute__((noinline, noipa)) long forker(long x)
{
	int st = 0;
	pid_t p = fork();

	if (p == 0)
		return 100 + x;
	if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st))
		return -1;
	return x;
}

__attribute__((noinline, noipa)) long blocker(const char *f)
{
	while (access(f, F_OK))
		usleep(10000);
	return 42;
}

static char *self_go;

__attribute__((noinline, noipa)) long exiter(long x)
{
	if (x >= 0)
		exit((int)x);
	execl("/tests/progs/uret", "uret", self_go, "rec", "5", (char *)NULL);
	return -1;
}

__attribute__((noinline, noipa)) long deep(long n)
{
	long r = n ? deep(n - 1) : exiter(n_arg);

	asm volatile("" : "+r"(r));
	return r;
}

__attribute__((noinline, noipa)) long many8(long a, long b, long c, long d, long e, long f,
					   long g, long h)
{
	return a + b + c + d + e + f + g + h;
}

__attribute__((noinline, noipa)) long many8r(long a, long b, long c, long d, long e, long f,
					    long g, long h)
{
	return a + b + c + d + e + f + g + h;
}

static volatile long sig_got;

static void on_usr1(int s)
{
	(void)s;
	sig_got = leaf(7);
}

__attribute__((noinline, noipa)) long sigwaiter(long x)
{
	raise(SIGUSR1);
	asm volatile("" ::: "memory");
	return x + sig_got;
}

/* A sigaltstack above the main stack, if the kernel takes the hint. */
static const char *alt_stack_above(void)
{
	char here;
	uintptr_t hint = ((uintptr_t)&here + (256UL << 20)) & ~0xfffUL;
	size_t len = 256 << 10;
	void *p = mmap((void *)hint, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	stack_t ss = { .ss_sp = p, .ss_size = len };
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_ONSTACK };

	if (p == MAP_FAILED || sigaltstack(&ss, NULL) || sigaction(SIGUSR1, &sa, NULL))
		return "none";
	return (uintptr_t)p > (uintptr_t)&here ? "above" : "below";
}

static void *thread_fn(void *arg)
{
	long s = 0;

	for (long i = 0; i < n_arg; i++)
		s += leaf(i);
	*(long *)arg = s;
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	n_arg = atol(argv[3]);
	printf("ready\n");
	fflush(stdout);
	while (access(argv[1], F_OK))
		usleep(10000);
	if (!strcmp(argv[2], "rec")) {
		printf("result rec=%ld\n", rec(n_arg));
	} else if (!strcmp(argv[2], "jump")) {
		volatile long jumps = 0;

		for (long i = 0; i < n_arg; i++)
			if (setjmp(env) == 0)
				jumper(i);
			else
				jumps++;
		printf("result jumps=%ld\n", (long)jumps);
	} else if (!strcmp(argv[2], "fork")) {
		long v = forker(5);

		if (v >= 100) {
			printf("child %ld\n", v);
			fflush(stdout);
			_exit(0);
		}
		printf("result fork=%ld\n", v);
	} else if (!strcmp(argv[2], "threads")) {
		pthread_t t[8];
		long s[8], sum = 0;

		for (int i = 0; i < 8; i++)
			if (pthread_create(&t[i], NULL, thread_fn, &s[i]))
				return 1;
		for (int i = 0; i < 8; i++) {
			pthread_join(t[i], NULL);
			sum += s[i];
		}
		printf("result threads=%ld\n", sum);
	} else if (!strcmp(argv[2], "exit") || !strcmp(argv[2], "exec")) {
		self_go = argv[1];
		n_arg = !strcmp(argv[2], "exit") ? 0 : -1;
		printf("result deep=%ld\n", deep(3));
	} else if (!strcmp(argv[2], "args")) {
		long s = 0;

		for (long i = 0; i < n_arg; i++)
			s += many8(i, i + 1, i + 2, i + 3, i + 4, i + 5, i + 6, i + 7) +
			     many8r(i, i + 1, i + 2, i + 3, i + 4, i + 5, i + 6, i + 7);
		printf("result args=%ld\n", s);
	} else if (!strcmp(argv[2], "sig")) {
		const char *where = alt_stack_above();

		printf("result sig=%ld alt=%s\n", sigwaiter(5), where);
	} else if (!strcmp(argv[2], "block")) {
		printf("result block=%ld\n", blocker(argv[3]));
	} else {
		return 2;
	}
	fflush(stdout);
	while (argc > 4 && access(argv[4], F_OK))
		usleep(10000);
	return 0;
}

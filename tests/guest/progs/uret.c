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
 *              x + 22;
 *   strfn(s, a, bad, pp, a5..a8) returns strlen(s) + a[0] + a5..a8:
 *              strings, bytes, a bad pointer, a pointer chain and two
 *              stack arguments for fetch arguments;
 *   strret(i)  returns a pointer to the string "ret-I";
 *   cofn(x)    runs in a coroutine (ucontext, its own stack): yields to
 *              main in the middle, returns 5x + 2 when resumed.
 * MODE: rec (rec(N)), jump (N setjmp/jumper rounds), fork (forker(5)),
 * threads (8 threads, N calls of leaf each), block (blocker(N): N is
 * a file name here), exit (exiter(0) inside rec(3)), exec (exiter(-1):
 * exec of uret GOFILE rec 5, which prints its result), sig
 * (sigwaiter(5); "result sig=27 alt=above|below"), args (N calls of
 * many8 and many8r with i .. i+7, i = 0 .. N-1), coro (N rounds: two
 * coroutines enter cofn(2i) and cofn(2i+1) and yield; main calls leaf(i),
 * then resumes them, the older first in even rounds, the newer first in
 * odd ones; "result coro=SUM" of the values), str (N calls of strfn with
 * "name-I", bytes I..I+3, bad = I % 16, a chain to {3I, -I}, I, 2I, 3I,
 * 4I, and of strret(I); "result str=SUM"). Prints "ready", waits for
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
#include <ucontext.h>
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

__attribute__((noinline, noipa)) long strfn(const char *s, const unsigned char *a, long bad,
					    const void *const *pp, long a5, long a6, long a7, long a8)
{
	asm volatile("" : "+r"(bad), "+r"(pp));
	return (long)strlen(s) + a[0] + a5 + a6 + a7 + a8;
}

static char rbuf[32];

__attribute__((noinline, noipa)) const char *strret(long i)
{
	snprintf(rbuf, sizeof(rbuf), "ret-%ld", i);
	return rbuf;
}

static long strs(long n)
{
	long sum = 0;

	for (long i = 0; i < n; i++) {
		char name[32];
		unsigned char bytes[4] = { i, i + 1, i + 2, i + 3 };
		struct {
			long x;
			int y;
		} st = { 3 * i, -i };
		const void *p = &st;

		snprintf(name, sizeof(name), "name-%ld", i);
		sum += strfn(name, bytes, i % 16, &p, i, 2 * i, 3 * i, 4 * i);
		sum += strlen(strret(i));
	}
	return sum;
}

static ucontext_t main_ctx, co_ctx[2], yield_ctx[2];
static long co_arg[2], co_res[2];

__attribute__((noinline, noipa)) long cofn(long x)
{
	swapcontext(&yield_ctx[x & 1], &main_ctx);
	asm volatile("" : "+r"(x));
	return 5 * x + 2;
}

static void co_body(int id)
{
	co_res[id] = cofn(co_arg[id]);
}

static long coro(long rounds)
{
	static char stacks[2][65536] __attribute__((aligned(16)));
	long sum = 0;

	for (long i = 0; i < rounds; i++) {
		for (int id = 0; id < 2; id++) {
			co_arg[id] = 2 * i + id;
			getcontext(&co_ctx[id]);
			co_ctx[id].uc_stack.ss_sp = stacks[id];
			co_ctx[id].uc_stack.ss_size = sizeof(stacks[id]);
			co_ctx[id].uc_link = &main_ctx;
			makecontext(&co_ctx[id], (void (*)(void))co_body, 1, id);
			swapcontext(&main_ctx, &co_ctx[id]);
		}
		sum += leaf(i);
		for (int k = 0; k < 2; k++) {
			int id = i & 1 ? 1 - k : k;

			swapcontext(&main_ctx, &yield_ctx[id]);
			sum += co_res[id];
		}
	}
	return sum;
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
	} else if (!strcmp(argv[2], "str")) {
		printf("result str=%ld\n", strs(n_arg));
	} else if (!strcmp(argv[2], "coro")) {
		printf("result coro=%ld\n", coro(n_arg));
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

// SPDX-License-Identifier: GPL-2.0
/*
 * uthreads: many threads through the same user probes, for tests/23.
 *
 *   uthreads -m hits    -t T -k K [-g GOFILE] [-h]
 *   uthreads -m signals -t T -k K [-g GOFILE] [-h]
 *   uthreads -m storm   -t T      [-g GOFILE]
 *
 * Probe points (see uprog.h): t_emu (push %rbp, emulated), t_step (a
 * rip-relative SSE load, stepped), t_ret (ret, emulated), t_sig (a rip-relative SSE
 * load in a function only the SIGUSR1 handler calls). The loads' scratch
 * register (%rsi, see `explain`) holds the argument across the load, which
 * is added after it: a scratch register not given back after the step, or
 * after a step aborted for a signal, makes the result wrong.
 *
 * hits:    T threads call t_emu() and t_step() K times each, all at once.
 * signals: the same, while the main thread sends SIGUSR1 to every worker
 *          in a loop until they finish; the handler calls t_sig(). A
 *          worker goes on past K calls until it has taken 20 signals and
 *          the `xol` file shows a step aborted for a signal (or -a SECS
 *          seconds have passed, 200 by default: then the test fails).
 *          Prints "calls N" (the exact number of t_emu, t_step and t_ret
 *          hits), "handled N" (the exact number of t_sig hits) and
 *          "aborted-seen N" (the `aborted` count that ended the storm, 0 if
 *          the time ran out).
 * storm:   the threads call t_emu()/t_step() until the process is killed;
 *          prints "running" once every thread has started.
 * Every call's result is checked: "errors 0" if all were right.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include "uprog.h"

long g_base = 100;

asm(".text\n"
    ".globl t_emu\n t_emu:\n"
    P(t_emu) " push %rbp\n"
    " mov %rsp,%rbp\n lea 1(%rdi),%rax\n pop %rbp\n ret\n"
    ".globl t_step\n t_step:\n"
    " mov %rdi,%rsi\n"
    P(t_step) " movq g_base(%rip),%xmm0\n movq %xmm0,%rax\n"
    " add %rsi,%rax\n"
    P(t_ret) " ret\n"
    ".globl t_sig\n t_sig:\n"
    " mov %rdi,%rsi\n"
    P(t_sig) " movq g_base(%rip),%xmm0\n movq %xmm0,%rax\n"
    " sub %rsi,%rax\n ret\n");

long t_emu(long), t_step(long), t_sig(long);
extern const char up_t_emu[], up_t_step[], up_t_ret[], up_t_sig[];

static int nthreads = 16, mode_storm, mode_signals;
static long iters = 1000;
static atomic_long errors, handled, started, calls;
static __thread long my_handled;
static atomic_int finished, abort_seen;

static void on_usr1(int sig)
{
	long v = t_sig(sig);

	if (v != 100 - SIGUSR1)
		atomic_fetch_add(&errors, 1);
	atomic_fetch_add(&handled, 1);
	my_handled++;
}

static void *worker(void *arg)
{
	long id = (long)arg;

	long i;

	atomic_fetch_add(&started, 1);
	/* signals: go on until this thread has taken 20 signals too. */
	for (i = 0; mode_storm || i < iters ||
		    (mode_signals && (my_handled < 20 || !atomic_load(&abort_seen)));
	     i++) {
		long x = id * 100000 + i;

		if (t_emu(x) != x + 1)
			atomic_fetch_add(&errors, 1);
		if (t_step(x) != x + 100)
			atomic_fetch_add(&errors, 1);
	}
	atomic_fetch_add(&calls, i);
	atomic_fetch_add(&finished, 1);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *go = NULL, *mode = "hits";
	int hold_after = 0, opt, abort_secs = 200;
	pthread_t th[256];

	while ((opt = getopt(argc, argv, "m:t:k:g:a:h")) != -1) {
		switch (opt) {
		case 'm': mode = optarg; break;
		case 't': nthreads = atoi(optarg); break;
		case 'k': iters = atol(optarg); break;
		case 'g': go = optarg; break;
		case 'a': abort_secs = atoi(optarg); break;
		case 'h': hold_after = 1; break;
		default: return 2;
		}
	}
	if (nthreads < 1 || nthreads > 256)
		return 2;
	mode_storm = !strcmp(mode, "storm");
	mode_signals = !strcmp(mode, "signals");
	if (mode_signals) {
		struct sigaction sa = { .sa_handler = on_usr1 };

		sigaction(SIGUSR1, &sa, NULL);
	}
	printf("pid %d\n", getpid());
	print_point("t_emu", up_t_emu, nthreads * iters, "emulate-push");
	print_point("t_step", up_t_step, nthreads * iters, "step-fixup");
	print_point("t_ret", up_t_ret, nthreads * iters, "emulate-ret");
	print_point("t_sig", up_t_sig, -1, "step-fixup");
	printf("ready\n");
	fflush(stdout);
	wait_for_file(go);
	for (long i = 0; i < nthreads; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)i))
			return 1;
	while (atomic_load(&started) < nthreads)
		usleep(1000);
	if (mode_storm) {
		printf("running\n");
		fflush(stdout);
		for (;;)
			pause();
	}
	if (mode_signals) {
		long sent = 0, seen = 0, rounds = 0;
		time_t t0 = time(NULL);

		while (atomic_load(&finished) < nthreads) {
			for (int i = 0; i < nthreads; i++)
				if (!pthread_kill(th[i], SIGUSR1))
					sent++;
			usleep(200);
			/* Until a step was aborted for a signal (or the time ran
			 * out): the workers go on meanwhile. */
			if (!atomic_load(&abort_seen) && ++rounds % 64 == 0) {
				seen = xol_value(getpid(), "aborted");
				if (seen > 0 || time(NULL) - t0 > abort_secs) {
					if (seen < 0)
						seen = 0;
					atomic_store(&abort_seen, 1);
				}
			}
		}
		printf("sent %ld\naborted-seen %ld\n", sent, seen);
	}
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	printf("calls %ld\n", atomic_load(&calls));
	if (mode_signals)
		printf("handled %ld\n", atomic_load(&handled));
	printf("errors %ld\ndone\n", atomic_load(&errors));
	if (hold_after)
		hold();
	return 0;
}

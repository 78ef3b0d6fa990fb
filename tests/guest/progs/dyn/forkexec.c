// SPDX-License-Identifier: GPL-2.0
// ldlibs: -luprobed
/*
 * forkexec [-g GOFILE] [-e ENDFILE] [-x] K N D: fork and exec chains, a
 * dynamic PIE program linking /tests/lib/libuprobed.so. Protocol:
 * dynprog.h ("pid", "ready", -g, "result", -e; "ready" once, before the
 * first level).
 *
 * Levels D, D-1, ..., 0, one after the other in the same process (the
 * same pid): each prints "level L lib_add 0xADDR" (the address in this
 * image: each exec maps the library again), forks K children, calls
 * lib_add N times itself, and waits for the children; a child calls
 * lib_add N times and _exit()s (0 if its sum is right), or with -x execs
 * `/tests/progs/dynloop N` (its output to /dev/null; it calls lib_add N
 * times). Then, at a level L > 0, the process execs itself
 * (/proc/self/exe) for level L-1. So, between GOFILE and the exit:
 *
 *   lib_add (D+1) * (K+1) * N times, in D+1 images of forkexec (1 + D
 *   execs) and (D+1) * K children created by fork (with -x: as many
 *   execs of dynloop)
 *
 * and at level 0 it prints
 *
 *   result k=K n=N levels=D+1 children=(D+1)*K add=(D+1)*N(N-1)/2
 *
 * (children: how many exited with 0; add: the sum of the processes' own
 * calls). Exit status 0 if all is as computed here, 3 if not.
 * (-s ADD -c CHILDREN -t D carry the counts across the execs.)
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>
#include "dynprog.h"
#include "libuprobed.h"

#define USAGE "forkexec [-g GOFILE] [-e ENDFILE] [-x] K N D"

static long sum(long n)
{
	long s = 0;

	for (long i = 0; i < n; i++)
		s = lib_add(s, i);
	return s;
}

int main(int argc, char **argv)
{
	const char *go = NULL, *end = NULL;
	long k, n, d, top = -1, add = 0, children = 0;
	int c, x = 0, carried = 0;

	while ((c = getopt(argc, argv, "g:e:xs:c:t:")) != -1) {
		if (c == 'g')
			go = optarg;
		else if (c == 'e')
			end = optarg;
		else if (c == 'x')
			x = 1;
		else if (c == 's')
			add = count_arg(optarg, USAGE), carried = 1;
		else if (c == 'c')
			children = count_arg(optarg, USAGE);
		else if (c == 't')
			top = count_arg(optarg, USAGE);
		else
			usage(USAGE);
	}
	if (optind != argc - 3)
		usage(USAGE);
	k = count_arg(argv[optind], USAGE);
	n = count_arg(argv[optind + 1], USAGE);
	d = count_arg(argv[optind + 2], USAGE);
	if (top < 0)
		top = d;
	if (!carried) {
		printf("pid %d\n", getpid());
		ready();
		wait_for_file(go);
	}
	printf("level %ld lib_add %p\n", d, (void *)lib_add);
	fflush(stdout);
	for (long i = 0; i < k; i++) {
		pid_t p = fork();

		if (p < 0) {
			perror("forkexec: fork");
			return 1;
		}
		if (p == 0) {
			char arg[32];
			int null;

			if (!x)
				_exit(sum(n) == n * (n - 1) / 2 ? 0 : 1);
			null = open("/dev/null", O_WRONLY);
			if (null < 0 || dup2(null, 1) < 0)
				_exit(1);
			snprintf(arg, sizeof(arg), "%ld", n);
			execl("/tests/progs/dynloop", "dynloop", arg, (char *)NULL);
			_exit(127);
		}
	}
	add += sum(n);
	for (long i = 0; i < k; i++) {
		int st;

		if (wait(&st) < 0) {
			perror("forkexec: wait");
			return 1;
		}
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			children++;
		else
			fprintf(stderr, "forkexec: a child of level %ld ended with status 0x%x\n", d,
				st);
	}
	if (d > 0) {
		char ks[32], ns[32], ds[32], as[32], cs[32], ts[32];
		char *av[16] = { "forkexec", "-s", as, "-c", cs, "-t", ts };
		int j = 7;

		snprintf(ks, sizeof(ks), "%ld", k);
		snprintf(ns, sizeof(ns), "%ld", n);
		snprintf(ds, sizeof(ds), "%ld", d - 1);
		snprintf(as, sizeof(as), "%ld", add);
		snprintf(cs, sizeof(cs), "%ld", children);
		snprintf(ts, sizeof(ts), "%ld", top);
		if (x)
			av[j++] = "-x";
		if (end) {
			av[j++] = "-e";
			av[j++] = (char *)end;
		}
		av[j++] = ks;
		av[j++] = ns;
		av[j++] = ds;
		av[j] = NULL;
		fflush(stdout);
		execv("/proc/self/exe", av);
		perror("forkexec: exec /proc/self/exe");
		return 1;
	}
	/* Level 0: all levels done. */
	printf("result k=%ld n=%ld levels=%ld children=%ld add=%ld\n", k, n, top + 1, children, add);
	fflush(stdout);
	wait_for_file(end);
	if (add != (top + 1) * (n * (n - 1) / 2) || children != (top + 1) * k) {
		fprintf(stderr, "forkexec: wrong result\n");
		return 3;
	}
	return 0;
}

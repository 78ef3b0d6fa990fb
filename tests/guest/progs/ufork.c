// SPDX-License-Identifier: GPL-2.0
/*
 * ufork GOFILE N K: fork and exec chains for path probes. Prints "ready",
 * waits for GOFILE, then forks K children; each child forks a grandchild
 * that execs "ufork -leaf N" (a new image of the same file). The parent,
 * each child and each leaf call uf_work() exactly N times: N * (1 + 2K)
 * calls in all, every one after GOFILE exists. Each process checks its
 * own sum; the parent prints "result calls=C ok=O" (C: the calls made,
 * O: the processes whose sum was right, 1 + 2K when all were) and exits.
 * uf_work is a typed function (STT_FUNC) for probes by symbol; its first
 * instruction (push %rbp) is emulated, uf_rip (a %rip-relative load) is
 * stepped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

long uf_value = 3;

asm(".text\n"
    ".globl uf_work\n .type uf_work, @function\n"
    "uf_work: push %rbp\n mov %rsp, %rbp\n lea 1(%rdi), %rax\n pop %rbp\n ret\n"
    " .size uf_work, .-uf_work\n"
    ".globl uf_rip\n .type uf_rip, @function\n"
    "uf_rip: mov uf_value(%rip), %rax\n ret\n"
    " .size uf_rip, .-uf_rip\n");

long uf_work(long), uf_rip(void);

/* N calls of each; 0 if the sums are right. */
static int work(long n)
{
	long s = 0, r = 0;

	for (long i = 0; i < n; i++) {
		s += uf_work(i);
		r += uf_rip();
	}
	return s == n * (n + 1) / 2 && r == 3 * n ? 0 : 1;
}

int main(int argc, char **argv)
{
	long n, k, ok = 0;

	if (argc == 3 && !strcmp(argv[1], "-leaf"))
		return work(atol(argv[2]));
	if (argc < 4)
		return 2;
	n = atol(argv[2]);
	k = atol(argv[3]);
	printf("ready\n");
	fflush(stdout);
	while (access(argv[1], F_OK))
		usleep(10000);
	for (long i = 0; i < k; i++) {
		pid_t c = fork();

		if (c < 0)
			return 3;
		if (c == 0) {
			pid_t g = fork();
			int st, bad;

			if (g == 0) {
				execl("/proc/self/exe", "ufork", "-leaf", argv[2], (char *)NULL);
				_exit(4);
			}
			bad = work(n);
			if (g < 0 || waitpid(g, &st, 0) != g)
				_exit(5);
			/* Exit code: how many of the two were right. */
			_exit((!bad) + (WIFEXITED(st) && WEXITSTATUS(st) == 0));
		}
	}
	if (!work(n))
		ok++;
	for (long i = 0; i < k; i++) {
		int st;

		if (wait(&st) > 0 && WIFEXITED(st) && WEXITSTATUS(st) <= 2)
			ok += WEXITSTATUS(st);
	}
	printf("result calls=%ld ok=%ld\n", n * (1 + 2 * k), ok);
	return 0;
}

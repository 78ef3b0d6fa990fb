// SPDX-License-Identifier: GPL-2.0
/*
 * usdt GOFILE N [-f]: a USDT-style probe point with a semaphore, as
 * <sys/sdt.h> makes them: a 16-bit counter (usdt_sem, in the writable
 * section .probes) that a tracer increments while it probes the point, and
 * that the program tests to skip the point's argument set-up when nobody
 * listens. Prints "sem 0xADDR", "point 0xADDR" and "ready", waits for
 * GOFILE, then N times: if the semaphore is set, calls usdt_point (a typed
 * function). Prints "result active=A sem=S" (A: the iterations that saw the
 * semaphore set, S: its value at the end) and exits. With -f it forks
 * first (after GOFILE): the child does the same and prints "child
 * active=A sem=S" before the parent's line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

volatile unsigned short usdt_sem __attribute__((section(".probes")));

asm(".text\n"
    ".globl usdt_point\n .type usdt_point, @function\n"
    "usdt_point: push %rbp\n mov %rsp, %rbp\n lea 1(%rdi), %rax\n pop %rbp\n ret\n"
    " .size usdt_point, .-usdt_point\n");

long usdt_point(long);

static long run(long n)
{
	long active = 0;

	for (long i = 0; i < n; i++) {
		if (usdt_sem) {
			active++;
			usdt_point(i);
		}
	}
	return active;
}

int main(int argc, char **argv)
{
	long n, a;
	pid_t c = -1;

	if (argc < 3)
		return 2;
	n = atol(argv[2]);
	printf("sem %p\npoint %p\nready\n", (void *)&usdt_sem, (void *)usdt_point);
	fflush(stdout);
	while (access(argv[1], F_OK))
		usleep(10000);
	if (argc > 3 && !strcmp(argv[3], "-f")) {
		c = fork();
		if (c == 0) {
			a = run(n);
			printf("child active=%ld sem=%d\n", a, usdt_sem);
			return 0;
		}
		waitpid(c, NULL, 0);
	}
	a = run(n);
	printf("result active=%ld sem=%d\n", a, usdt_sem);
	return 0;
}

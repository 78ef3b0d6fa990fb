/* SPDX-License-Identifier: GPL-2.0 */
/*
 * uprog.h: the protocol shared by the user-probe test programs
 * (uclasses, uthreads, ulife, uhostile) and the guest tests:
 *
 *   - the program prints "pid N" and its probe points, one per line:
 *     "point NAME 0xADDR HITS VERDICT" (HITS: the exact number of times
 *     the program executes that instruction; VERDICT: the decoder's
 *     verdict name `explain` must print);
 *   - with -g FILE it then waits until FILE exists (the test inserts its
 *     probes meanwhile), runs, prints its results and "done";
 *   - with -h it then holds (pause) until killed, so the test can read the
 *     hit counts while the probes still exist.
 */
#ifndef UPROG_H
#define UPROG_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A probe point: a global label in the asm, `up_NAME`. */
#define P(n) ".globl up_" #n "\nup_" #n ":\n"

static inline void wait_for_file(const char *path)
{
	if (!path)
		return;
	while (access(path, F_OK))
		usleep(10000);
}

static inline void hold(void)
{
	fflush(stdout);
	for (;;)
		pause();
}

static inline void print_point(const char *name, const void *addr, long hits, const char *verdict)
{
	printf("point %s %p %ld %s\n", name, addr, hits, verdict);
}

/*
 * The XOL area of this process as the module's debugfs `xol` file shows it
 * (`pid=<tgid> area=0x<hex>|none ...`): 0 if there is no line or no area.
 */
static inline unsigned long xol_area(void)
{
	FILE *f = fopen("/sys/kernel/debug/rprobes/xol", "r");
	char line[512];
	unsigned long area = 0;
	int me = getpid();

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		int pid;
		char a[64];

		if (sscanf(line, "pid=%d area=%63s", &pid, a) == 2 && pid == me) {
			area = strncmp(a, "0x", 2) ? 0 : strtoul(a, NULL, 16);
			break;
		}
	}
	fclose(f);
	return area;
}

/*
 * Field KEY (e.g. "stepped", "aborted") of the `xol` line of process PID
 * (`... KEY=N ...`): -1 if there is no such line or field.
 */
static inline long xol_value(int pid, const char *key)
{
	FILE *f = fopen("/sys/kernel/debug/rprobes/xol", "r");
	char line[512], pat[64];
	long v = -1;

	if (!f)
		return -1;
	snprintf(pat, sizeof(pat), " %s=", key);
	while (fgets(line, sizeof(line), f)) {
		int p;
		char *k;

		if (sscanf(line, "pid=%d ", &p) != 1 || p != pid)
			continue;
		k = strstr(line, pat);
		if (k)
			v = strtol(k + strlen(pat), NULL, 10);
		break;
	}
	fclose(f);
	return v;
}

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dynprog.h: what the dynamic test programs (tests/guest/progs/dyn/:
 * dynloop, dlopener, forkexec) share. Their protocol, like uprog.h's:
 *
 *   - print "pid N", "sym NAME 0xADDR" lines (run-time addresses of the
 *     functions a test may probe), then "ready";
 *   - with -g GOFILE, wait until GOFILE exists (the test adds its probes
 *     meanwhile), then run;
 *   - print "result ..." (a line that depends on every computed value, so
 *     that an unchanged output can be checked), then with -e ENDFILE wait
 *     until ENDFILE exists (the test reads /proc/PID/maps or hit counts
 *     while the process still maps its files), then exit: status 0 when the
 *     result is the one computed without the library, else 3.
 *
 * Waiting polls with access() and usleep(): no allocation, no read(),
 * so the calls counted between GOFILE and the end are the loop's only.
 */
#ifndef DYNPROG_H
#define DYNPROG_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void wait_for_file(const char *path)
{
	if (!path)
		return;
	while (access(path, F_OK))
		usleep(10000);
}

static inline void print_sym(const char *name, const void *addr)
{
	printf("sym %s %p\n", name, addr);
}

static inline void ready(void)
{
	printf("ready\n");
	fflush(stdout);
}

static inline __attribute__((noreturn)) void usage(const char *text)
{
	fprintf(stderr, "usage: %s\n", text);
	exit(2);
}

/* A decimal argument >= 0, or the usage message. */
static inline long count_arg(const char *s, const char *text)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < 0)
		usage(text);
	return v;
}

#endif

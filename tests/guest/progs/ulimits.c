// SPDX-License-Identifier: GPL-2.0
/*
 * ulimits: the limits of user probes, for tests uprobes/limits.
 *
 *   ulimits -m sled [-c C] [-n N] -g GOFILE
 *   ulimits -m xol -t T -g GOFILE
 *
 * Both print "pid P" first, then (with -c) "child PID" for each of C
 * children forked at the start, which only wait to be killed: address
 * spaces of their own (a copy of this one) to put probes into.
 *
 * sled: prints "s I 0xADDR" for I from 0 to 79: the addresses of 80
 *	one-byte nops in a row (each its own probe point, emulated; the
 *	same in the children), then "ready"; once GOFILE exists, calls the
 *	sled N times (default 1), prints "done" and waits to be killed.
 *
 * xol:  fills the XOL area with steps that wait, and shows a thread
 *	retry for a slot. The probe point "load" is a load from memory
 *	(`movq (%rdi),%xmm0`: SSE, stepped; the emulator would run a
 *	`mov`). Prints "point load 0xADDR", "ready",
 *	and once GOFILE exists (the probe is there), starts T threads that
 *	each load from a page of their own, missing and registered with
 *	userfaultfd: each stepped copy faults and waits for the page,
 *	holding its slot. When the T faults have arrived it prints
 *	"blocked T" and waits for GOFILE.2 (the test reads `xol`: every slot
 *	taken), then starts one more thread on the probe, which finds no
 *	slot and takes the trap again and again (`retries`), prints "extra"
 *	and waits for GOFILE.3. Then it maps every page (zeroes), the steps
 *	complete, the extra thread gets a slot, and every thread's load
 *	returns 0: it prints "loaded N" (the loads that returned 0: T + 1)
 *	and "done", and waits to be killed.
 *
 *   ulimits -m xol -s -t T -g GOFILE
 *
 *	The same up to "blocked T", then, once GOFILE.2 exists, a SIGUSR1 to
 *	each waiting thread instead of an extra thread: each step is aborted
 *	(the fault wait is interrupted, the handler runs at the probed
 *	instruction), and the handlers wait until every thread is in its
 *	handler: it prints "handlers T" and waits for GOFILE.3. Then it maps
 *	the pages and lets the handlers return: each thread runs the probed
 *	instruction again (a hit the module must not count again) and its
 *	load returns 0: "loaded T", "done".
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include "uprog.h"

#define SLED 80

asm(".text\n"
    ".globl u_sled\n u_sled:\n"
    ".rept 80\n nop\n .endr\n"
    " ret\n"
    ".globl u_load\n u_load:\n"
    P(load) " movq (%rdi),%xmm0\n movq %xmm0,%rax\n"
    " ret\n");

void u_sled(void);
long u_load(const long *p);
extern const char up_load[];

static atomic_long loaded;
static atomic_int in_handler, release_handlers;

static void on_usr1(int sig)
{
	(void)sig;
	atomic_fetch_add(&in_handler, 1);
	while (!atomic_load(&release_handlers))
		usleep(1000);
}

static void *loader(void *page)
{
	if (u_load(page) == 0)
		atomic_fetch_add(&loaded, 1);
	return NULL;
}

static void go_wait(const char *go, const char *sfx)
{
	char path[256];

	snprintf(path, sizeof(path), "%s%s", go, sfx);
	wait_for_file(path);
}

static int xol(int nthreads, const char *go, int sig)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { 0 };
	struct uffdio_zeropage zero = { 0 };
	pthread_t *tids = calloc(nthreads + 1, sizeof(*tids));
	pthread_attr_t attr;
	char *pages;
	int uffd, i;

	uffd = syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api)) {
		perror("userfaultfd");
		return 1;
	}
	pages = mmap(NULL, (nthreads + 1) * pg, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pages == MAP_FAILED || !tids)
		return 1;
	reg.range.start = (unsigned long)pages;
	reg.range.len = (nthreads + 1) * pg;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg)) {
		perror("UFFDIO_REGISTER");
		return 1;
	}
	print_point("load", up_load, nthreads + 1, "step");
	printf("ready\n");
	fflush(stdout);
	wait_for_file(go);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&tids[i], &attr, loader, pages + i * pg))
			return 1;
	/* One fault per thread (each on its own page). */
	for (i = 0; i < nthreads; i++) {
		struct uffd_msg msg;

		if (read(uffd, &msg, sizeof(msg)) != sizeof(msg) ||
		    msg.event != UFFD_EVENT_PAGEFAULT) {
			perror("uffd read");
			return 1;
		}
	}
	printf("blocked %d\n", nthreads);
	fflush(stdout);
	go_wait(go, ".2");
	if (sig) {
		for (i = 0; i < nthreads; i++)
			pthread_kill(tids[i], SIGUSR1);
		while (atomic_load(&in_handler) < nthreads)
			usleep(1000);
		printf("handlers %d\n", nthreads);
	} else {
		if (pthread_create(&tids[nthreads], &attr, loader, pages + nthreads * pg))
			return 1;
		printf("extra\n");
	}
	fflush(stdout);
	go_wait(go, ".3");
	zero.range.start = (unsigned long)pages;
	zero.range.len = (nthreads + 1) * pg;
	if (ioctl(uffd, UFFDIO_ZEROPAGE, &zero)) {
		perror("UFFDIO_ZEROPAGE");
		return 1;
	}
	atomic_store(&release_handlers, 1);
	for (i = 0; i < nthreads + !sig; i++)
		pthread_join(tids[i], NULL);
	printf("loaded %ld\n", atomic_load(&loaded));
	printf("done\n");
	hold();
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = "sled", *go = NULL;
	int opt, children = 0, nthreads = 2, sig = 0;
	struct sigaction sa = { .sa_handler = on_usr1 };
	long n = 1;

	while ((opt = getopt(argc, argv, "m:c:n:t:g:s")) != -1) {
		switch (opt) {
		case 'm': mode = optarg; break;
		case 'c': children = atoi(optarg); break;
		case 'n': n = atol(optarg); break;
		case 't': nthreads = atoi(optarg); break;
		case 'g': go = optarg; break;
		case 's': sig = 1; break;
		default: return 2;
		}
	}
	printf("pid %d\n", getpid());
	fflush(stdout);
	for (int i = 0; i < children; i++) {
		pid_t c = fork();

		if (c < 0)
			return 1;
		if (c == 0) {
			for (;;)
				pause();
		}
		printf("child %d\n", c);
	}
	if (sigaction(SIGUSR1, &sa, NULL))
		return 1;
	if (!strcmp(mode, "xol"))
		return xol(nthreads, go, sig);
	if (strcmp(mode, "sled"))
		return 2;
	for (int i = 0; i < SLED; i++)
		printf("s %d %p\n", i, (const char *)u_sled + i);
	printf("ready\n");
	fflush(stdout);
	wait_for_file(go);
	for (long i = 0; i < n; i++)
		u_sled();
	printf("done\n");
	hold();
	return 0;
}

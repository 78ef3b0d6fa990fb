// SPDX-License-Identifier: GPL-2.0
/*
 * uhostile: a probed process that attacks its own XOL area and probed
 * text, for tests/25. It may only hurt itself.
 *
 *   uhostile -m MODE [-g GOFILE] [-h] [-f]
 *
 * Probe points (see uprog.h): h_emu (push %rbp, emulated), h_step (a
 * rip-relative SSE load, stepped), h_rw (push %rbp, emulated; rewritten by
 * the rewrite mode).
 *
 * Each mode first calls h_emu and h_step once (the XOL area now exists;
 * found in debugfs `xol`, printed as "area 0x..."), then:
 *   munmap    munmap(2)s the whole area;
 *   mprotect  tries PROT_WRITE and PROT_WRITE|PROT_EXEC ("mprotect-w
 *             ERRNO", must be EACCES), then PROT_NONE;
 *   mremap    moves the area elsewhere (MREMAP_FIXED);
 *   mapfixed  maps anonymous rwx memory over it (MAP_FIXED) full of int3;
 *   ptrace    a child attaches with ptrace(2) and tries PTRACE_POKEDATA
 *             and a /proc/PID/mem write into the area ("poke ERRNO",
 *             "memwrite ERRNO"), then detaches; the area's bytes must be
 *             unchanged ("xol unchanged 1");
 *   rewrite   makes its text writable, overwrites the probed `push %rbp`
 *             of h_rw with `mov $2,%eax; ret` ("rewritten returns 2"),
 *             plants an int3 of its own and catches the SIGTRAP ("own
 *             int3 sigtraps 1"), then waits for GOFILE.2 (the test removes
 *             the probes) and checks its bytes survived ("kept 1");
 *   calm      calls h_emu/h_step in a loop until GOFILE.stop exists (a
 *             bystander), prints "calls N ..." and "done" (then -h holds).
 * Then (all but calm) "after" and it calls h_emu and h_step 5 times each
 * ("emu errors N", "step errors N") and prints "done". Dying of a signal
 * on the way is allowed: only this process may suffer. -f (development
 * only): without an XOL area, attack an r-x page of its own instead.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include "uprog.h"
#include "errname.h"

long g_base = 100;

asm(".text\n"
    ".balign 64\n"
    ".globl h_emu\n h_emu:\n"
    P(h_emu) " push %rbp\n"
    " mov %rsp,%rbp\n lea 1(%rdi),%rax\n pop %rbp\n ret\n"
    ".globl h_step\n h_step:\n"
    P(h_step) " movq g_base(%rip),%xmm0\n movq %xmm0,%rax\n"
    " add %rdi,%rax\n ret\n"
    ".globl h_rw\n h_rw:\n"
    P(h_rw) " push %rbp\n"
    " mov $1,%eax\n pop %rbp\n ret\n"
    ".globl h_own\n h_own:\n"
    " nop\n nop\n mov $3,%eax\n ret\n");

long h_emu(long), h_step(long), h_rw(void), h_own(void);
extern const unsigned char up_h_emu[], up_h_step[], up_h_rw[];

static const char *go = "/tmp/uhostile.go";

static char *suffixed(const char *s)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), "%s%s", go, s);
	return buf;
}

/* Length of the mapping that starts at ADDR (0 if none). */
static size_t map_len(unsigned long addr)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	size_t len = 0;

	while (f && fgets(line, sizeof(line), f)) {
		unsigned long s, e;

		if (sscanf(line, "%lx-%lx", &s, &e) == 2 && s == addr)
			len = e - s;
	}
	if (f)
		fclose(f);
	return len;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
}

static volatile int own_traps;

static void on_trap(int sig)
{
	(void)sig;
	own_traps++;
}

static int do_ptrace(unsigned long area, size_t len)
{
	unsigned char before[4096], after[4096];
	size_t n = len < sizeof(before) ? len : sizeof(before);
	pid_t target = getpid(), peer;
	int st;

	memcpy(before, (void *)area, n);
	peer = fork();
	if (peer == 0) {
		char path[64];
		long word = 0x9090909090909090L;
		int fd, r, e;

		if (ptrace(PTRACE_ATTACH, target, 0, 0)) {
			say("attach %s\n", ename(errno));
			_exit(1);
		}
		waitpid(target, &st, 0);
		errno = 0;
		r = ptrace(PTRACE_PEEKDATA, target, (void *)area, 0) == -1 && errno;
		say("peek %s\n", r ? ename(errno) : "OK");
		r = ptrace(PTRACE_POKEDATA, target, (void *)area, (void *)word);
		say("poke %s\n", r ? ename(errno) : "OK");
		snprintf(path, sizeof(path), "/proc/%d/mem", target);
		fd = open(path, O_RDWR);
		r = fd < 0 ? -1 : (int)pwrite(fd, &word, sizeof(word), (off_t)area);
		e = errno;
		say("memwrite %s\n", r == (int)sizeof(word) ? "OK" : ename(e));
		if (fd >= 0)
			close(fd);
		ptrace(PTRACE_DETACH, target, 0, 0);
		_exit(0);
	}
	if (peer < 0)
		return 1;
	/* Wait for the peer (interrupted by the ptrace stop, retry). */
	while (waitpid(peer, &st, 0) != peer)
		if (errno != EINTR)
			return 1;
	memcpy(after, (void *)area, n);
	say("xol unchanged %d\n", !memcmp(before, after, n));
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = "munmap";
	int hold_after = 0, fake = 0, opt;
	long emu_err = 0, step_err = 0;
	unsigned long area;
	size_t len;
	long r;

	while ((opt = getopt(argc, argv, "m:g:hf")) != -1) {
		switch (opt) {
		case 'f': fake = 1; break;
		case 'm': mode = optarg; break;
		case 'g': go = optarg; break;
		case 'h': hold_after = 1; break;
		default: return 2;
		}
	}
	printf("pid %d\n", getpid());
	print_point("h_emu", up_h_emu, -1, "emulate-push");
	print_point("h_step", up_h_step, -1, "step-fixup");
	print_point("h_rw", up_h_rw, -1, "emulate-push");
	printf("ready\n");
	fflush(stdout);
	wait_for_file(go);

	if (!strcmp(mode, "calm")) {
		long n = 0;

		while (access(suffixed(".stop"), F_OK)) {
			emu_err += h_emu(n) != n + 1;
			step_err += h_step(n) != n + 100;
			n++;
		}
		say("calls %ld emu errors %ld step errors %ld\ndone\n", n, emu_err, step_err);
		if (hold_after)
			hold();
		return emu_err || step_err;
	}

	emu_err += h_emu(1) != 2;
	step_err += h_step(1) != 101;
	area = xol_area();
	if (!area && fake)
		area = (unsigned long)mmap(NULL, 4096, PROT_READ | PROT_EXEC,
					   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	len = area ? map_len(area) : 0;
	say("area %#lx len %zu\n", area, len);
	if (!area || !len) {
		say("no XOL area\n");
		return 1;
	}

	if (!strcmp(mode, "munmap")) {
		r = munmap((void *)area, len);
		say("munmap %s\n", r ? ename(errno) : "OK");
	} else if (!strcmp(mode, "mprotect")) {
		r = mprotect((void *)area, len, PROT_READ | PROT_WRITE);
		say("mprotect-w %s\n", r ? ename(errno) : "OK");
		r = mprotect((void *)area, len, PROT_READ | PROT_WRITE | PROT_EXEC);
		say("mprotect-wx %s\n", r ? ename(errno) : "OK");
		r = mprotect((void *)area, len, PROT_NONE);
		say("mprotect-none %s\n", r ? ename(errno) : "OK");
	} else if (!strcmp(mode, "mremap")) {
		void *dst = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		void *p = mremap((void *)area, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, dst);

		say("mremap %s\n", p == MAP_FAILED ? ename(errno) : "OK");
	} else if (!strcmp(mode, "mapfixed")) {
		void *p = mmap((void *)area, len, PROT_READ | PROT_WRITE | PROT_EXEC,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

		say("mapfixed %s\n", p == MAP_FAILED ? ename(errno) : "OK");
		if (p != MAP_FAILED)
			memset(p, 0xcc, len);
	} else if (!strcmp(mode, "ptrace")) {
		if (do_ptrace(area, len))
			return 1;
	} else if (!strcmp(mode, "rewrite")) {
		static const unsigned char code[] = { 0xb8, 0x02, 0x00, 0x00, 0x00, 0xc3 };
		unsigned long page = (unsigned long)up_h_rw & ~4095UL;
		unsigned char *own = (unsigned char *)h_own;
		int kept;

		signal(SIGTRAP, on_trap);
		r = mprotect((void *)page, 4096, PROT_READ | PROT_WRITE | PROT_EXEC);
		say("mprotect-text %s\n", r ? ename(errno) : "OK");
		if (r)
			return 1;
		say("h_rw before %02x\n", up_h_rw[0]);
		memcpy((void *)up_h_rw, code, sizeof(code));
		say("rewritten returns %ld\n", h_rw());
		own[0] = 0xcc;
		r = h_own();
		say("own int3 sigtraps %d returns %ld\n", own_traps, r);
		say("rewritten\n");
		wait_for_file(suffixed(".2"));
		kept = !memcmp(up_h_rw, code, sizeof(code)) && own[0] == 0xcc;
		say("kept %d\n", kept);
	} else {
		return 2;
	}

	say("after\n");
	for (long i = 0; i < 5; i++)
		emu_err += h_emu(i) != i + 1;
	say("emu errors %ld\n", emu_err);
	for (long i = 0; i < 5; i++)
		step_err += h_step(i) != i + 100;
	say("step errors %ld\ndone\n", step_err);
	if (hold_after)
		hold();
	return 0;
}

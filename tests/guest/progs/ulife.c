// SPDX-License-Identifier: GPL-2.0
/*
 * ulife: fork, vfork, exec, exit and faults of a probed process, for
 * tests/24.
 *
 *   ulife -m MODE [-k N] [-w N] [-t T] [-g GOFILE] [-h]
 *
 * Probe points (see uprog.h): l_emu (push %rbp, emulated), l_step (a
 * rip-relative SSE load: stepped, the emulator leaves SSE alone), l_fault
 * (mov (%rdi),%rax: emulated; faults when asked to, then stepped).
 *
 * fork:     l_emu+l_step once; fork: the child checks that its text holds
 *           the original bytes and no XOL area, calls both 5 times and
 *           exits; the parent waits, calls both once more. Parent hits: 2.
 * vfork:    once; a vfork child calls both 3 times (same mm: counted);
 *           a vfork child execs /bin/true; once more. Hits: 5.
 * exec:     once, then exec this program again in mode "after" (same
 *           addresses): it checks its text and calls both 3 times.
 * forkloop: -w N warm-up cycles, "warm", waits for GOFILE.2, -k N cycles:
 *           l_emu+l_step in the parent, fork, the same in the child, exit,
 *           wait. Parent hits: warm-up + N.
 * threads:  -t T threads call l_emu+l_step until GOFILE.stop exists.
 * fault:    l_fault on an unmapped address: the SIGSEGV handler prints
 *           where the fault was ("segv at l_fault": the original
 *           instruction, or "elsewhere"), the address and the TF bit of
 *           the interrupted context, says "in-handler", sleeps until
 *           GOFILE.2 exists, then points %rdi at a valid word and returns:
 *           the load is redone.
 * xolfail: -f N: the N-th allocation counted from the first hit on fails
 *           (/proc/thread-self/fail-nth; the XOL area is made then, in
 *           this thread); -f 0: all of them (make-it-fail, with the
 *           caller's failslab set-up). Calls both once, prints "fail-left
 *           L" (fail-nth after the call: 0 once the fault was injected),
 *           calls both -k N times more, prints "area yes|no".
 * xolplace: prints "stack end 0xE" (the end of the [stack] mapping); with
 *           -b first maps a page at E + PAGE_SIZE (MAP_FIXED_NOREPLACE),
 *           where the XOL area would go, and prints "blocked 0xB"; then
 *           calls both -k N times and prints "xol area 0xA" (from `xol`)
 *           and "blocker intact 1" (-b: the page is still mapped there and
 *           still reads zeros).
 * probeloop: -w N warm-up cycles, "warm", waits for GOFILE.2, -k N cycles;
 *           this process is not probed: in each cycle a fork child waits
 *           on a pipe while the parent adds a probe on l_step in the child
 *           (`probes`, PID:0xADDR), then the child calls l_step and l_emu,
 *           checks its results, that it has an XOL area and that `xol`
 *           counts its step, and exits; the parent removes the probe's
 *           line (gone with the child, it stays until removed). Prints
 *           "probed N failures F".
 * Each mode prints "errors 0" when every result and check was right.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <ucontext.h>
#include "uprog.h"

long g_base = 100, g_valid = 77;

asm(".text\n"
    ".globl l_emu\n l_emu:\n"
    P(l_emu) " push %rbp\n"
    " mov %rsp,%rbp\n lea 1(%rdi),%rax\n pop %rbp\n ret\n"
    ".globl l_step\n l_step:\n"
    P(l_step) " movq g_base(%rip),%xmm0\n movq %xmm0,%rax\n"
    " add %rdi,%rax\n ret\n"
    ".globl l_fault\n l_fault:\n"
    P(l_fault) " mov (%rdi),%rax\n"
    " ret\n");

long l_emu(long), l_step(long), l_fault(long *);
extern const unsigned char up_l_emu[], up_l_step[], up_l_fault[];

static atomic_long errors;
static const char *go;

static void calls(long n)
{
	for (long i = 0; i < n; i++) {
		if (l_emu(i) != i + 1)
			atomic_fetch_add(&errors, 1);
		if (l_step(i) != i + 100)
			atomic_fetch_add(&errors, 1);
	}
}

static char *suffixed(const char *s)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), "%s%s", go ? go : "/tmp/ulife.go", s);
	return buf;
}

/* Is there a mapping starting at ADDR in this process? */
static int mapped_at(unsigned long addr)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int found = 0;

	while (f && fgets(line, sizeof(line), f))
		if (strtoul(line, NULL, 16) == addr)
			found = 1;
	if (f)
		fclose(f);
	return found;
}

static int mode_fork(void)
{
	unsigned long area;
	int st;
	pid_t p;

	calls(1);
	area = xol_area();
	printf("parent xol area %#lx\n", area);
	fflush(stdout);
	p = fork();
	if (p == 0) {
		int bad = 0;

		printf("child text l_emu=%02x l_step=%02x\n", up_l_emu[0], up_l_step[0]);
		bad += up_l_emu[0] != 0x55 || up_l_step[0] != 0xf3;
		printf("child xol mapped %d\n", area ? mapped_at(area) : 0);
		bad += area && mapped_at(area);
		calls(5);
		printf("child errors %ld\n", bad + atomic_load(&errors));
		fflush(stdout);
		_exit(bad + atomic_load(&errors) ? 1 : 0);
	}
	if (p < 0 || waitpid(p, &st, 0) != p)
		return 1;
	printf("child status %d\n", st);
	printf("parent text l_emu=%02x\n", up_l_emu[0]);
	calls(1);
	return st != 0;
}

static int mode_vfork(void)
{
	volatile long verr = 0;
	int st, bad = 0;
	pid_t p;

	calls(1);
	p = vfork();
	if (p == 0) {
		for (long i = 0; i < 3; i++)
			if (l_emu(i) != i + 1 || l_step(i) != i + 100)
				verr++;
		_exit(0);
	}
	if (p < 0 || waitpid(p, &st, 0) != p)
		return 1;
	printf("vfork child status %d errors %ld\n", st, verr);
	bad += st != 0 || verr;
	p = vfork();
	if (p == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	if (p < 0 || waitpid(p, &st, 0) != p)
		return 1;
	printf("vfork+exec child status %d\n", st);
	bad += st != 0;
	calls(1);
	return bad;
}

static int mode_after(void)
{
	printf("after exec pid %d text l_emu=%02x l_step=%02x\n", getpid(), up_l_emu[0], up_l_step[0]);
	calls(3);
	return up_l_emu[0] != 0x55 || up_l_step[0] != 0xf3;
}

static int cycles(long n)
{
	int failures = 0;

	for (long i = 0; i < n; i++) {
		int st;
		pid_t p;

		calls(1);
		p = fork();
		if (p == 0) {
			calls(1);
			_exit(atomic_load(&errors) ? 1 : 0);
		}
		if (p < 0 || waitpid(p, &st, 0) != p || st != 0)
			failures++;
	}
	return failures;
}

/* The end of this process's [stack] mapping, 0 if none. */
static unsigned long stack_end(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	unsigned long end = 0;

	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, "[stack]")) {
			char *dash = strchr(line, '-');

			end = dash ? strtoul(dash + 1, NULL, 16) : 0;
			break;
		}
	if (f)
		fclose(f);
	return end;
}

static int mode_xolplace(int block, long n)
{
	unsigned long end = stack_end(), pg = sysconf(_SC_PAGESIZE), area;
	unsigned char *b = NULL;
	int bad = 0;

	printf("stack end %#lx\n", end);
	if (!end)
		return 1;
	if (block) {
		b = mmap((void *)(end + pg), pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
			 -1, 0);
		if (b != (void *)(end + pg)) {
			printf("block mmap: %s\n", b == MAP_FAILED ? strerror(errno) : "elsewhere");
			return 1;
		}
		printf("blocked %p\n", b);
	}
	calls(n);
	area = xol_area();
	printf("xol area %#lx\n", area);
	bad += !area;
	if (block) {
		int ok = mapped_at((unsigned long)b) && area != (unsigned long)b;

		for (unsigned long i = 0; ok && i < pg; i++)
			ok = !b[i];
		printf("blocker intact %d\n", ok);
		bad += !ok;
	}
	return bad;
}

/* Adds "p:ul/c<i> PID:0xADDR" on l_step in process PID. */
static int add_probe(long i, pid_t pid)
{
	char line[128];
	int fd = open("/sys/kernel/debug/rprobes/probes", O_WRONLY | O_APPEND), n, ok;

	if (fd < 0)
		return 0;
	n = snprintf(line, sizeof(line), "p:ul/c%ld %d:%p\n", i, pid, (void *)up_l_step);
	ok = write(fd, line, n) == n;
	if (!ok)
		printf("cycle %ld: '%.*s': %s\n", i, n - 1, line, strerror(errno));
	close(fd);
	return ok;
}

/*
 * Removes "ul/c<i>" (its process exited: the line stays, with its count,
 * until it is removed).
 */
static int remove_probe(long i)
{
	char line[64];
	int fd = open("/sys/kernel/debug/rprobes/probes", O_WRONLY | O_APPEND), n, ok;

	if (fd < 0)
		return 0;
	n = snprintf(line, sizeof(line), "-:ul/c%ld\n", i);
	ok = write(fd, line, n) == n;
	if (!ok)
		printf("cycle %ld: '%.*s': %s\n", i, n - 1, line, strerror(errno));
	close(fd);
	return ok;
}

static int probe_cycles(long first, long n)
{
	int failures = 0;

	for (long i = first; i < first + n; i++) {
		int st, go[2];
		pid_t p;
		char c;

		if (pipe(go))
			return n;
		p = fork();
		if (p == 0) {
			int bad = 0;

			close(go[1]);
			if (read(go[0], &c, 1) != 1)
				_exit(3);
			bad += l_step(i) != i + 100;
			bad += l_emu(i) != i + 1;
			bad += !xol_area();
			bad += xol_value(getpid(), "stepped") != 1;
			_exit(bad ? 1 : 0);
		}
		close(go[0]);
		if (p < 0 || !add_probe(i, p))
			failures++;
		if (write(go[1], "g", 1) != 1)
			failures++;
		close(go[1]);
		if (p < 0 || waitpid(p, &st, 0) != p || st != 0)
			failures++;
		if (p > 0 && !remove_probe(i))
			failures++;
	}
	return failures;
}

static void *worker(void *arg)
{
	(void)arg;
	while (access(suffixed(".stop"), F_OK))
		calls(10);
	return NULL;
}

static void on_segv(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	unsigned long rip = uc->uc_mcontext.gregs[REG_RIP];
	char buf[160];
	int n;

	(void)sig;
	n = snprintf(buf, sizeof(buf), "segv at %s addr %p tf %d\nin-handler\n",
		     rip == (unsigned long)up_l_fault ? "l_fault" : "elsewhere", si->si_addr,
		     !!(uc->uc_mcontext.gregs[REG_EFL] & 0x100));
	write(1, buf, n);
	while (access(suffixed(".2"), F_OK))
		usleep(10000);
	uc->uc_mcontext.gregs[REG_RDI] = (long)&g_valid;
}

static int mode_xolfail(long nth, long n)
{
	const char *f = nth ? "/proc/thread-self/fail-nth" : "/proc/thread-self/make-it-fail";
	int fd = open(f, O_RDWR);
	long left = -1;
	char b[32];
	ssize_t r;

	if (fd < 0) {
		printf("open %s: %s\n", f, strerror(errno));
		return 1;
	}
	snprintf(b, sizeof(b), "%ld", nth ? nth : 1);
	if (pwrite(fd, b, strlen(b), 0) < 0) {
		printf("write %s: %s\n", f, strerror(errno));
		return 1;
	}
	calls(1);
	r = pread(fd, b, sizeof(b) - 1, 0);
	if (r > 0) {
		b[r] = 0;
		left = atol(b);
	}
	if (pwrite(fd, "0", 1, 0) < 0)
		return 1;
	close(fd);
	printf("fail-left %ld\n", nth ? left : 0);
	calls(n);
	printf("area %s\n", xol_area() ? "yes" : "no");
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = "fork";
	long n = 1000, warm = 100, nth = 1;
	int hold_after = 0, threads = 4, opt, bad = 0, block = 0;

	while ((opt = getopt(argc, argv, "m:k:w:t:g:f:bh")) != -1) {
		switch (opt) {
		case 'm': mode = optarg; break;
		case 'k': n = atol(optarg); break;
		case 'w': warm = atol(optarg); break;
		case 't': threads = atoi(optarg); break;
		case 'g': go = optarg; break;
		case 'f': nth = atol(optarg); break;
		case 'b': block = 1; break;
		case 'h': hold_after = 1; break;
		default: return 2;
		}
	}
	if (!strcmp(mode, "after")) {
		bad = mode_after();
		goto out;
	}
	printf("pid %d\n", getpid());
	print_point("l_emu", up_l_emu, -1, "emulate-push");
	print_point("l_step", up_l_step, -1, "step-fixup");
	print_point("l_fault", up_l_fault, -1, "emulate-mov");
	printf("ready\n");
	fflush(stdout);
	wait_for_file(go);
	if (!strcmp(mode, "fork")) {
		bad = mode_fork();
	} else if (!strcmp(mode, "vfork")) {
		bad = mode_vfork();
	} else if (!strcmp(mode, "exec")) {
		calls(1);
		printf("exec\n");
		fflush(stdout);
		if (hold_after)
			execl("/proc/self/exe", "ulife", "-m", "after", "-h", (char *)NULL);
		else
			execl("/proc/self/exe", "ulife", "-m", "after", (char *)NULL);
		printf("exec failed: %s\n", strerror(errno));
		return 1;
	} else if (!strcmp(mode, "forkloop")) {
		int f = cycles(warm);

		printf("warm %ld failures %d\n", warm, f);
		fflush(stdout);
		wait_for_file(suffixed(".2"));
		f += cycles(n);
		printf("forks %ld failures %d\n", n, f);
		bad = f != 0;
	} else if (!strcmp(mode, "probeloop")) {
		int f = probe_cycles(0, warm);

		printf("warm %ld failures %d\n", warm, f);
		fflush(stdout);
		wait_for_file(suffixed(".2"));
		f += probe_cycles(warm, n);
		printf("probed %ld failures %d\n", n, f);
		bad = f != 0;
	} else if (!strcmp(mode, "xolplace")) {
		bad = mode_xolplace(block, n);
	} else if (!strcmp(mode, "threads")) {
		pthread_t th[64];

		if (threads < 1 || threads > 64)
			return 2;
		for (int i = 0; i < threads; i++)
			pthread_create(&th[i], NULL, worker, NULL);
		printf("running\n");
		fflush(stdout);
		for (int i = 0; i < threads; i++)
			pthread_join(th[i], NULL);
	} else if (!strcmp(mode, "xolfail")) {
		bad = mode_xolfail(nth, n);
	} else if (!strcmp(mode, "fault")) {
		struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO };
		long v;

		sigaction(SIGSEGV, &sa, NULL);
		fflush(stdout);
		v = l_fault((long *)8);
		printf("recovered %ld\n", v);
		bad = v != 77;
	} else {
		return 2;
	}
out:
	printf("errors %ld\ndone\n", bad + atomic_load(&errors));
	if (hold_after)
		hold();
	return bad || atomic_load(&errors);
}

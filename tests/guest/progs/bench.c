// SPDX-License-Identifier: GPL-2.0
/*
 * bench: timing primitives for `make bench` (tests/bench.sh drives them).
 *
 *   bench getpid N [CHUNK]    ns per getpid() syscall, over N calls; with
 *                             CHUNK, the N calls are timed CHUNK at a time
 *                             and the fastest chunk is reported
 *   bench ufunc N             ns per call of a noinline user function
 *   bench write FILE LINES    ns to open(O_APPEND) FILE, write LINES (a
 *                             file) in one write(2) and close it
 *   bench trunc FILE          ns to open(O_TRUNC) FILE and close it
 *   bench ops OP...           a sequence of control-file operations, timed
 *                             one after the other: `write FILE LINES` (as
 *                             bench write), `put FILE TEXT` (open(O_TRUNC)
 *                             FILE, write TEXT and a newline in one
 *                             write(2), close: `echo TEXT >FILE`), `trunc
 *                             FILE` (as bench trunc). Every LINES file is
 *                             read before the first operation. Prints the
 *                             total ns, then each operation's ns, on one
 *                             line
 *   bench uloop N FN GOFILE [CHUNK]
 *                             user-probe cases: prints "pid P" and
 *                             "target NAME 0xADDR 0xFILEOFF" for the probe
 *                             points of ub_fn, "ready", waits until GOFILE
 *                             exists (the probe goes in meanwhile), prints
 *                             ns per call of FN (ub_fn or ub_rip) over N
 *                             calls (with CHUNK: the fastest CHUNK calls in
 *                             a row, as for getpid), then waits for
 *                             GOFILE.done (the hit counts are read
 *                             meanwhile) and exits
 *
 * Prints one number (uloop: as its last line; ops: the total first).
 * Exits non-zero if an operation fails.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long long now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * User-probe targets: ub_fn's first instruction (push %rbp) is emulated by
 * both rprobes and the kernel's uprobes; its second (mov %rsp,%rbp) is
 * emulated by rprobes and single-stepped out of line by the kernel; its
 * third (lea 1(%rdi),%rax) is single-stepped by both; ub_rip's first is a
 * rip-relative load (stepped with a fix-up).
 */
long ub_val = 1;
asm(".text\n"
    ".globl ub_fn\n ub_fn:\n"
    ".globl ub_emu\n ub_emu: push %rbp\n"
    ".globl ub_mov\n ub_mov: mov %rsp,%rbp\n"
    ".globl ub_step\n ub_step: lea 1(%rdi),%rax\n"
    " pop %rbp\n ret\n"
    ".globl ub_rip\n ub_rip: mov ub_val(%rip),%rax\n"
    " add %rdi,%rax\n ret\n"
    /* What the kernel steps and rprobes emulates (issue 19): a frame,
     * a load through an argument, a test, and a PLT-style jump through a
     * %rip-relative slot (to ub_tail: ret). ub_fn2(p) returns p[1]. */
    ".globl ub_fn2\n ub_fn2:\n"
    ".globl ub_sub\n ub_sub: sub $0x18,%rsp\n"
    ".globl ub_load\n ub_load: mov 8(%rdi),%rax\n"
    ".globl ub_test\n ub_test: test %rdi,%rdi\n"
    " add $0x18,%rsp\n"
    ".globl ub_plt\n ub_plt: jmp *ub_slot(%rip)\n"
    "ub_tail: ret\n"
    ".data\n ub_slot: .quad ub_tail\n .text\n");
long ub_fn(long), ub_rip(long), ub_fn2(long);
extern const char ub_emu[], ub_mov[], ub_step[], ub_sub[], ub_load[], ub_test[], ub_plt[];
static long ub_arr[2] = { 0, 1 };

/* File offset of ADDR in its mapping of this program, from /proc/self/maps. */
static unsigned long file_off(const void *addr)
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long a = (unsigned long)addr, s, e, off, r = 0;
	char line[512];

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %*s %lx", &s, &e, &off) == 3 && a >= s && a < e)
			r = a - s + off;
	if (f)
		fclose(f);
	return r;
}

static void wait_file(const char *path)
{
	while (access(path, F_OK))
		usleep(10000);
}

/* bench ops OP... (above): argv[0..argc) are the operations. */
static int ops(int argc, char **argv)
{
	enum { MAXOPS = 8 };
	static char buf[MAXOPS][1 << 20];
	long long took[MAXOPS], total = 0;
	ssize_t len[MAXOPS];
	int kind[MAXOPS], nops = 0, a = 0;
	const char *file[MAXOPS];

	/* Parse, and read every LINES file (or TEXT) into its buffer. */
	while (a < argc) {
		const char *op = argv[a];
		int in;

		if (nops == MAXOPS || a + 1 >= argc)
			return 2;
		file[nops] = argv[a + 1];
		if (!strcmp(op, "trunc")) {
			kind[nops++] = 't';
			a += 2;
			continue;
		}
		if (a + 2 >= argc)
			return 2;
		if (!strcmp(op, "write")) {
			in = open(argv[a + 2], O_RDONLY);
			len[nops] = in < 0 ? -1 : read(in, buf[nops], sizeof(buf[nops]));
			if (len[nops] <= 0)
				return 1;
			close(in);
			kind[nops] = 'w';
		} else if (!strcmp(op, "put")) {
			len[nops] = snprintf(buf[nops], sizeof(buf[nops]), "%s\n", argv[a + 2]);
			kind[nops] = 'p';
		} else {
			return 2;
		}
		nops++;
		a += 3;
	}
	for (int i = 0; i < nops; i++) {
		int fd;

		took[i] = now();
		if (kind[i] == 't')
			fd = open(file[i], O_WRONLY | O_TRUNC);
		else
			fd = open(file[i], O_WRONLY | (kind[i] == 'w' ? O_APPEND : O_TRUNC));
		if (fd < 0 || (kind[i] != 't' && write(fd, buf[i], len[i]) != len[i]) || close(fd))
			return 1;
		took[i] = now() - took[i];
		total += took[i];
	}
	printf("%lld", total);
	for (int i = 0; i < nops; i++)
		printf(" %lld", took[i]);
	printf("\n");
	return 0;
}

__attribute__((noinline)) int bench_target(int x)
{
	asm volatile("" : "+r"(x));
	return x + 1;
}

int main(int argc, char **argv)
{
	long long t0, t1;

	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "getpid")) {
		long n = atol(argv[2]);
		long chunk = argc == 4 ? atol(argv[3]) : n;
		double best = -1;

		if (n <= 0 || chunk <= 0)
			return 2;
		if (chunk > n)
			chunk = n;
		/*
		 * Time the calls CHUNK at a time and report the fastest chunk:
		 * a chunk during which the host ran something else instead of
		 * QEMU (or the guest took an interrupt) is slower.
		 */
		for (long done = 0; done + chunk <= n; done += chunk) {
			double v;

			t0 = now();
			for (long i = 0; i < chunk; i++)
				syscall(SYS_getpid);
			t1 = now();
			v = (double)(t1 - t0) / chunk;
			if (best < 0 || v < best)
				best = v;
		}
		printf("%.1f\n", best);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "ufunc")) {
		long n = atol(argv[2]);
		int x = 0;

		t0 = now();
		for (long i = 0; i < n; i++)
			x = bench_target(x);
		t1 = now();
		printf("%.1f\n", (double)(t1 - t0) / n);
		return x == 0;
	}
	if ((argc == 5 || argc == 6) && !strcmp(argv[1], "uloop")) {
		long n = atol(argv[2]), x = 0, chunk = argc == 6 ? atol(argv[5]) : n;
		double best = -1;
		long (*fn)(long) = !strcmp(argv[3], "ub_rip") ? ub_rip : ub_fn;
		int fn2 = !strcmp(argv[3], "ub_fn2");
		char done[256];

		printf("pid %d\n", getpid());
		printf("target ub_emu %p %#lx\n", (void *)ub_emu, file_off(ub_emu));
		printf("target ub_mov %p %#lx\n", (void *)ub_mov, file_off(ub_mov));
		printf("target ub_step %p %#lx\n", (void *)ub_step, file_off(ub_step));
		printf("target ub_rip %p %#lx\n", (void *)ub_rip, file_off(ub_rip));
		printf("target ub_sub %p %#lx\n", (void *)ub_sub, file_off(ub_sub));
		printf("target ub_load %p %#lx\n", (void *)ub_load, file_off(ub_load));
		printf("target ub_test %p %#lx\n", (void *)ub_test, file_off(ub_test));
		printf("target ub_plt %p %#lx\n", (void *)ub_plt, file_off(ub_plt));
		printf("ready\n");
		fflush(stdout);
		if (n <= 0 || chunk <= 0)
			return 2;
		if (chunk > n)
			chunk = n;
		wait_file(argv[4]);
		/* All N calls run (the probe's hit count is checked against
		 * N); the fastest chunk is reported. */
		for (long done = 0; done < n; done += chunk) {
			long m = n - done < chunk ? n - done : chunk;
			double v;

			t0 = now();
			if (fn2)
				for (long i = 0; i < m; i++)
					x += ub_fn2((long)ub_arr);
			else
				for (long i = 0; i < m; i++)
					x = fn(x);
			t1 = now();
			v = (double)(t1 - t0) / m;
			if (m == chunk && (best < 0 || v < best))
				best = v;
		}
		printf("%.1f\n", best);
		fflush(stdout);
		snprintf(done, sizeof(done), "%s.done", argv[4]);
		wait_file(done);
		return x != n; /* both add 1 per call */
	}
	if (argc == 4 && !strcmp(argv[1], "write")) {
		static char buf[1 << 20];
		int in = open(argv[3], O_RDONLY), fd;
		ssize_t len = in < 0 ? -1 : read(in, buf, sizeof(buf));

		if (len <= 0)
			return 1;
		t0 = now();
		fd = open(argv[2], O_WRONLY | O_APPEND);
		if (fd < 0 || write(fd, buf, len) != len || close(fd))
			return 1;
		t1 = now();
		printf("%lld\n", t1 - t0);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "trunc")) {
		int fd;

		t0 = now();
		fd = open(argv[2], O_WRONLY | O_TRUNC);
		if (fd < 0 || close(fd))
			return 1;
		t1 = now();
		printf("%lld\n", t1 - t0);
		return 0;
	}
	if (argc >= 4 && !strcmp(argv[1], "ops"))
		return ops(argc - 2, argv + 2);
	return 2;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * faultinj: allocation failures injected into rprobes' paths, for
 * tests/guest/stress/failslab.tc. Needs failslab/fail_page_alloc set up by the
 * caller (ignore-gfp-wait N, verbose 0, and a stack filter so that only
 * allocations made with rprobes code on the stack count).
 *
 * Systematic modes fail the 1st, 2nd, ... counted allocation of one system
 * call (/proc/self/fail-nth) until the call gets through without a fault:
 *
 *   faultinj add EVENT LINE      write(2) of a probe line to `probes`
 *   faultinj remove EVENT LINE   write(2) of `-:EVENT` (LINE added first)
 *   faultinj rawline EVENT LINE  the same write, on a fresh file (the
 *                                control layer's line buffer included)
 *   faultinj clear LINE...       open(2) of `probes` with O_TRUNC
 *   faultinj write FILE LINE [PREP]
 *                                write(2) of LINE to FILE (after PREP,
 *                                written without a fault each time)
 *   faultinj resize KB           write(2) of KB to `buffer_size_kb`
 *   faultinj read FILE           open(2) + read(2) of FILE
 *   faultinj insmod KO FIRST LAST STEP PARAMS...
 *                                finit_module(2) of KO with PARAMS, failing
 *                                its FIRST, FIRST + STEP, ... counted
 *                                allocation up to LAST; rmmod when it loads
 *   faultinj count KO PARAMS...  prints how many allocations the load of
 *                                KO with PARAMS makes (no fault)
 *
 * Random mode (/proc/self/make-it-fail, with the debugfs probability,
 * interval and times chosen by the caller):
 *
 *   faultinj random SEED N       N control operations, each with
 *                                make-it-fail on
 *
 * After every injected fault: the call failed with ENOMEM (a rejected
 * probe line with an `error_log` entry naming it, "Out of memory" or
 * "Failed to register probe event"), or succeeded and did its job; the
 * probe (or setting) is there iff the call succeeded; and `probes`,
 * `profile`, `list`, `armed`, `filter`, `memory`, `instances` and the
 * kernel's kprobes/list agree. The first violation is printed ("BAD: ...")
 * and the exit code is 1. At the end: "faults N failed F absorbed A".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "errname.h"

#define D "/sys/kernel/debug/rprobes"
#define KPLIST "/sys/kernel/debug/kprobes/list"

static int nth_fd = -1, fail_fd = -1, defmax, verbose;
static long faults, failed, absorbed, calls;
static const char *mode;
/* The allocation being failed (systematic modes), for messages. */
static unsigned int cur_n;

static char *slurp(const char *path);

static void bad(const char *fmt, ...)
{
	va_list ap;

	printf("BAD: %s: ", mode);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (!strcmp(mode, "random"))
		printf(" (operation %ld)\n", calls + 1);
	else
		printf(" (allocation %u failed; %ld faults so far)\n", cur_n, faults);
	for (const char *const *f = (const char *const[]){ D "/probes", KPLIST, D "/instances",
							      D "/error_log", NULL }; *f; f++) {
		char *s = slurp(*f);

		printf("--- %s:\n%s", *f, s ? s : "(unreadable)\n");
		free(s);
	}
	exit(1);
}

/* The whole file (malloc'd, NUL-terminated), or NULL with errno. */
static char *slurp(const char *path)
{
	size_t cap = 1 << 16, n = 0;
	char *b = malloc(cap);
	ssize_t r;
	int fd = open(path, O_RDONLY);

	if (fd < 0) {
		free(b);
		return NULL;
	}
	while ((r = read(fd, b + n, cap - 1 - n)) > 0) {
		n += r;
		if (n == cap - 1)
			b = realloc(b, cap *= 2);
	}
	close(fd);
	b[n] = 0;
	return b;
}

static char *must(const char *path)
{
	char *s = slurp(path);

	if (!s)
		bad("read %s: %s", path, strerror(errno));
	return s;
}

/* open FLAGS + one write(2) of S + close: 0 or the errno. */
static int put(const char *path, int flags, const char *s)
{
	int fd = open(path, flags), e = 0;

	if (fd < 0)
		return errno;
	if (*s && write(fd, s, strlen(s)) < 0)
		e = errno;
	if (close(fd) < 0 && !e)
		e = errno;
	return e;
}

static void put_ok(const char *file, const char *s)
{
	char path[128];
	int e;

	snprintf(path, sizeof(path), D "/%s", file);
	e = put(path, O_WRONLY | O_APPEND, s);
	if (e)
		bad("'%s' > %s without a fault: %s", s, file, ename(e));
}

static void set_nth(unsigned int n)
{
	char b[16];
	int l = snprintf(b, sizeof(b), "%u", n);

	if (pwrite(nth_fd, b, l, 0) != l)
		bad("fail-nth: %s", strerror(errno));
}

static unsigned int get_nth(void)
{
	char b[16] = { 0 };

	if (pread(nth_fd, b, sizeof(b) - 1, 0) < 0)
		bad("fail-nth: %s", strerror(errno));
	return strtoul(b, NULL, 10);
}

static void make_it_fail(int on)
{
	if (pwrite(fail_fd, on ? "1" : "0", 1, 0) != 1)
		bad("make-it-fail: %s", strerror(errno));
}

/* Field F (1-based, white space separated) of each line, sorted, one per
 * line; lines starting with '#' skipped. With PROBES, the name after the
 * first ':' of `probes` lines. */
static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *names(const char *file, int f, int probes, int *count)
{
	char path[128], *s, *save = NULL, *line, *v[8192], *out;
	int n = 0;
	size_t len = 1;

	snprintf(path, sizeof(path), D "/%s", file);
	s = must(path);
	for (line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *w = line, *end;

		if (*line == '#')
			continue;
		if (probes) {
			w = strchr(line, ':');
			if (!w)
				bad("probes line '%s'", line);
			w++;
		} else {
			for (int i = 1; i < f; i++) {
				w += strspn(w, " \t");
				w += strcspn(w, " \t");
			}
			w += strspn(w, " \t");
		}
		end = w + strcspn(w, " \t");
		*end = 0;
		if (n == 8192)
			bad("too many probes");
		v[n++] = w;
		len += strlen(w) + 1;
	}
	qsort(v, n, sizeof(*v), cmp);
	out = malloc(len);
	*out = 0;
	for (int i = 0; i < n; i++) {
		strcat(out, v[i]);
		strcat(out, "\n");
	}
	free(s);
	*count = n;
	return out;
}

static long field(const char *file, const char *key)
{
	char path[128], *s, *p;
	long v = -1;

	snprintf(path, sizeof(path), D "/%s", file);
	s = must(path);
	for (p = s; p; p = strchr(p, '\n')) {
		p += *p == '\n';
		if (!strncmp(p, key, strlen(key)) && p[strlen(key)] == ' ') {
			v = atol(p + strlen(key) + 1);
			break;
		}
	}
	free(s);
	if (v < 0)
		bad("no '%s' in %s", key, file);
	return v;
}

/* The kprobe rprobes registers with the first user probe (signal
 * delivery), until it unloads: not one of the probes. */
#define SIGNAL_HOOK "arch_do_signal_or_restart+0x0"

/* Lines of a file; of kprobes/list, without rprobes' signal hook. */
static int lines(const char *path)
{
	char *s = must(path), *save = NULL;
	int n = 0;

	for (char *l = strtok_r(s, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		n += !strstr(l, SIGNAL_HOOK);
	free(s);
	return n;
}

/* "ADDRESS D" per line of a kprobe list (rprobes' `list` or the kernel's
 * kprobes/list: the address first), D 1 if it says [DISABLED]; sorted. */
static char *arming(const char *path)
{
	char *s = must(path), *save = NULL, *v[8192], *out;
	int n = 0;

	for (char *l = strtok_r(s, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		unsigned long long a = strtoull(l, NULL, 16);

		/* User probes (in rprobes' list only) are not kprobes. */
		if (!(a >> 63) || strstr(l, SIGNAL_HOOK))
			continue;
		if (n == 8192)
			bad("too many probes");
		v[n] = malloc(32);
		snprintf(v[n], 32, "%016llx %d", a, !!strstr(l, "[DISABLED]"));
		n++;
	}
	qsort(v, n, sizeof(*v), cmp);
	out = malloc(n * 32 + 1);
	*out = 0;
	for (int i = 0; i < n; i++) {
		strcat(out, v[i]);
		strcat(out, "\n");
		free(v[i]);
	}
	free(s);
	return out;
}

/* Every view names the same probes; kernel kprobes, `memory` and the
 * reserved instances match. Returns the number of probes. */
/* User probes in `probes`: lines whose probe point is PID:... */
static int user_probes(void)
{
	char *text = must(D "/probes");
	int n = 0;

	for (char *l = text; *l; l = strchr(l, '\n') + 1) {
		char *t = strchr(l, ' ');

		if (t && t[1] >= '0' && t[1] <= '9' && t < strchr(l, '\n'))
			n++;
		if (!strchr(l, '\n'))
			break;
	}
	free(text);
	return n;
}

static int consistent(void)
{
	static const struct { const char *file; int field; } views[] = {
		{ "profile", 1 }, { "list", 2 }, { "armed", 1 }, { "filter", 1 },
	};
	int n, m, user = user_probes();
	char *p = names("probes", 0, 1, &n), *s, *text;
	long want = 0, k;

	for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++) {
		/* `filter` lists kernel probes only. */
		if (user && !strcmp(views[i].file, "filter"))
			continue;
		s = names(views[i].file, views[i].field, 0, &m);
		if (strcmp(p, s))
			bad("probes and %s disagree:\n%s--\n%s", views[i].file, p, s);
		free(s);
	}
	free(p);
	k = lines(KPLIST);
	if (k != n - user)
		bad("%d probes (%d user probes), %ld kernel kprobes", n, user, k);
	/* rprobes' `list` (the settings: `enabled` and `armed`) and the
	 * kernel's: the same addresses, disarmed in the same places. */
	p = arming(D "/list");
	s = arming(KPLIST);
	if (strcmp(p, s))
		bad("probes armed as rprobes says (address, disarmed):\n%s--\nand as the kernel has them:\n%s",
		    p, s);
	free(p);
	free(s);
	if (field("memory", "probes") != n)
		bad("memory counts %ld probes of %d", field("memory", "probes"), n);
	text = must(D "/probes");
	for (char *l = text; *l; l = strchr(l, '\n') + 1) {
		if (*l == 'r')
			want += l[1] == ':' ? defmax : atol(l + 1);
		if (!strchr(l, '\n'))
			break;
	}
	free(text);
	if (field("instances", "parked_probes") == 0 && field("instances", "reserved") != want)
		bad("%ld instances reserved, the return probes' maxactive add up to %ld",
		    field("instances", "reserved"), want);
	return n;
}

static int present(const char *event)
{
	int n, found = 0;
	char *p = names("probes", 0, 1, &n);

	for (char *l = p; *l; l = strchr(l, '\n') + 1)
		if (!strncmp(l, event, strlen(event)) && l[strlen(event)] == '\n')
			found = 1;
	free(p);
	return found;
}

static void expect_present(const char *event, int yes, const char *when)
{
	if (present(event) != yes)
		bad("%s %s %s", event, yes ? "missing" : "still there", when);
}

static void remove_probe(const char *event)
{
	char line[256];

	snprintf(line, sizeof(line), "-:%s\n", event);
	put_ok("probes", line);
	expect_present(event, 0, "after -:");
}

/* A failed probe line must be the one entry of the (cleared) error_log. */
static void expect_logged(const char *line, int e)
{
	char *log = must(D "/error_log"), want[512];
	size_t len = strcspn(line, "\n");

	snprintf(want, sizeof(want), "  Command: %.*s\n", (int)len, line);
	if (!strstr(log, want))
		bad("%s for '%.*s' but error_log has:\n%s", ename(e), (int)len, line, log);
	if (!strstr(log, "rprobes: error: Out of memory\n") &&
	    !strstr(log, "rprobes: error: Failed to register probe event\n"))
		bad("'%.*s': reason in error_log:\n%s", (int)len, line, log);
	free(log);
}

/* One systematic step: N-th allocation of the call fails. Returns whether
 * a fault was injected; *err is the call's errno (0: success). */
static int injected(unsigned int n)
{
	unsigned int left = get_nth();

	set_nth(0);
	calls++;
	cur_n = n;
	if (left == 0) {
		faults++;
		return 1;
	}
	return 0;
}

static void outcome(int e, int fault)
{
	if (verbose)
		printf("%s: allocation %u: %s%s\n", mode, cur_n, ename(e),
		       fault ? "" : " (no fault: done)");
	if (!fault && e)
		bad("failed with %s, no fault injected", ename(e));
	if (!fault)
		return;
	if (e && e != ENOMEM)
		bad("an injected fault gave %s, not ENOMEM", ename(e));
	if (e)
		failed++;
	else
		absorbed++;
}

/*
 * One write(2) of BUF to PATH whose N-th counted allocation fails, after PAD
 * (if not NULL) in the same open file: PAD grows the file's line buffer
 * first, so that only BUF's own handling allocates. Returns the write's
 * errno (0: it succeeded); *fault says whether the fault was injected.
 */
static int write_nth(const char *path, const char *pad, const char *buf, unsigned int n, int *fault)
{
	int fd = open(path, O_WRONLY | O_APPEND), e = 0;

	if (fd < 0)
		bad("open %s: %s", path, strerror(errno));
	if (pad && write(fd, pad, strlen(pad)) < 0)
		bad("padding line: %s", strerror(errno));
	set_nth(n);
	if (write(fd, buf, strlen(buf)) < 0)
		e = errno;
	*fault = injected(n);
	if (close(fd) < 0)
		bad("close: %s", strerror(errno));
	return e;
}

/* add / remove / rawline */
static void sweep_line(const char *what, const char *event, const char *line)
{
	char buf[512], pad[512];
	int remove = !strcmp(what, "remove"), raw = !strcmp(what, "rawline");

	snprintf(buf, sizeof(buf), "%s\n", line);
	memset(pad, ' ', sizeof(pad));
	/* A comment as long as the line: the open file's line buffer grows
	 * to size first, so only the line's own execution allocates. */
	pad[0] = '#';
	pad[strlen(buf) + 8] = '\n';
	pad[strlen(buf) + 9] = 0;
	for (unsigned int n = 1;; n++) {
		int e, fault;

		if (remove) {
			put_ok("probes", buf);
			snprintf(buf, sizeof(buf), "-:%s\n", event);
		}
		if (put(D "/error_log", O_WRONLY | O_TRUNC, ""))
			bad("clearing error_log");
		e = write_nth(D "/probes", raw ? NULL : pad, buf, n, &fault);
		outcome(e, fault);
		expect_present(event, remove ? !!e : !e, e ? "after a failed write" : "after the write");
		if (e && !raw)
			expect_logged(buf, e);
		consistent();
		if (remove) {
			if (e)
				remove_probe(event);
			snprintf(buf, sizeof(buf), "%s\n", line);
		} else if (!e) {
			remove_probe(event);
		}
		consistent();
		if (!fault)
			break;
	}
}

/* clear: O_TRUNC open of probes with the lines registered. */
static void sweep_clear(char **lines, int nlines)
{
	for (unsigned int n = 1;; n++) {
		int fd, e = 0, fault, left;

		for (int i = 0; i < nlines; i++) {
			char b[512];

			snprintf(b, sizeof(b), "%s\n", lines[i]);
			put_ok("probes", b);
		}
		if (put(D "/error_log", O_WRONLY | O_TRUNC, ""))
			bad("clearing error_log");
		set_nth(n);
		fd = open(D "/probes", O_WRONLY | O_TRUNC);
		if (fd < 0)
			e = errno;
		fault = injected(n);
		if (fd >= 0)
			close(fd);
		outcome(e, fault);
		left = consistent();
		if (!e && left)
			bad("%d probes left after > probes", left);
		/* Failed before clearing (the open's own allocation): nothing
		 * changed; else the probes left are logged. */
		if (e && left != nlines)
			expect_logged("(clear)", e);
		if (put(D "/probes", O_WRONLY | O_TRUNC, ""))
			bad("clear");
		if (!fault)
			break;
	}
}

static long size_kb(void)
{
	char *s = must(D "/buffer_size_kb");
	long v = atol(s);

	free(s);
	return v;
}

/* resize: buffer_size_kb from its size to KB and back (both with faults). */
static void sweep_resize(long kb)
{
	long from = size_kb(), to_size;
	char buf[32];

	/* What KB reads back as (rounded to pages), measured without fault. */
	snprintf(buf, sizeof(buf), "%ld\n", kb);
	put_ok("buffer_size_kb", buf);
	to_size = size_kb();
	snprintf(buf, sizeof(buf), "%ld\n", from);
	put_ok("buffer_size_kb", buf);
	for (int dir = 0; dir < 2; dir++) {
		long old = dir ? to_size : from, want = dir ? from : to_size;

		for (unsigned int n = 1;; n++) {
			int e, fault;
			long got;

			snprintf(buf, sizeof(buf), "%ld\n", old);
			put_ok("buffer_size_kb", buf);
			snprintf(buf, sizeof(buf), "%ld\n", dir ? from : kb);
			/* A blank line grows the line buffer first. */
			e = write_nth(D "/buffer_size_kb", "        \n", buf, n, &fault);
			outcome(e, fault);
			got = size_kb();
			if (got != (e ? old : want))
				bad("buffer_size_kb %ld after %s (was %ld, asked %s)", got, ename(e), old, buf);
			if (!fault)
				break;
		}
	}
}

/* write: any control line, after PREP (if any) each time; the state must
 * stay consistent. */
static void sweep_write(const char *file, const char *line, const char *prep)
{
	char path[128], buf[512], pre[512];

	snprintf(path, sizeof(path), D "/%s", file);
	snprintf(buf, sizeof(buf), "%s\n", line);
	snprintf(pre, sizeof(pre), "%s\n", prep ? prep : "");
	for (unsigned int n = 1;; n++) {
		int e, fault;

		if (prep)
			put_ok(file, pre);
		/* An empty line grows the line buffer first. */
		e = write_nth(path, "\n", buf, n, &fault);
		outcome(e, fault);
		consistent();
		if (!fault)
			break;
	}
}

/* read: open + read of a view. */
static void sweep_read(const char *file)
{
	char path[128], buf[4096];

	snprintf(path, sizeof(path), D "/%s", file);
	for (unsigned int n = 1;; n++) {
		int fd, e = 0, fault;

		set_nth(n);
		fd = open(path, O_RDONLY | O_NONBLOCK);
		if (fd < 0)
			e = errno;
		else if (read(fd, buf, sizeof(buf)) < 0 && errno != EAGAIN)
			e = errno;
		fault = injected(n);
		if (fd >= 0)
			close(fd);
		outcome(e, fault);
		consistent();
		if (!fault)
			break;
	}
}

static int loaded(void)
{
	return access("/sys/module/rprobes", F_OK) == 0;
}

static void unload(void)
{
	for (int i = 0; syscall(SYS_delete_module, "rprobes", O_NONBLOCK); i++) {
		if (errno != EAGAIN || i == 1000)
			bad("rmmod: %s", strerror(errno));
		usleep(10000);
	}
	if (loaded())
		bad("still loaded after rmmod");
	if (lines(KPLIST))
		bad("kernel kprobes left after rmmod");
}

static char *join(char **v, int n)
{
	static char b[4096];

	b[0] = 0;
	for (int i = 0; i < n; i++) {
		if (i)
			strcat(b, " ");
		strcat(b, v[i]);
	}
	return b;
}

/* How many parameter items: kprobes= and kretprobes= lists. */
static int param_items(char **v, int n)
{
	int items = 0;

	for (int i = 0; i < n; i++) {
		const char *p = strchr(v[i], '=');

		if (!p || !p[1])
			continue;
		items++;
		for (p++; *p; p++)
			items += *p == ',';
	}
	return items;
}

static int insmod(const char *ko, const char *params, unsigned int n, int *fault)
{
	int fd = open(ko, O_RDONLY), e = 0;

	if (fd < 0)
		bad("open %s: %s", ko, strerror(errno));
	set_nth(n);
	if (syscall(SYS_finit_module, fd, params, 0))
		e = errno;
	*fault = injected(n);
	close(fd);
	return e;
}

static void sweep_insmod(const char *ko, unsigned int first, unsigned int last,
			 unsigned int step, char **v, int nv)
{
	const char *params = join(v, nv);
	int items = param_items(v, nv);

	for (unsigned int n = first; n <= last; n += step) {
		int fault, e = insmod(ko, params, n, &fault);

		outcome(e, fault);
		if (e) {
			if (loaded())
				bad("insmod failed with %s, module loaded", ename(e));
			if (lines(KPLIST))
				bad("insmod failed with %s, kernel kprobes left", ename(e));
			if (access(D, F_OK) == 0)
				bad("insmod failed with %s, " D " left", ename(e));
		} else {
			if (consistent() != items)
				bad("loaded with %d probes, not %d", consistent(), items);
			unload();
		}
		if (!fault)
			break;
	}
}

/* Allocations a load makes: fail-nth set high, read back after. */
static void count_insmod(const char *ko, char **v, int nv)
{
	const unsigned int big = 1000000;
	int fd = open(ko, O_RDONLY);
	unsigned int left;

	if (fd < 0)
		bad("open %s: %s", ko, strerror(errno));
	set_nth(big);
	if (syscall(SYS_finit_module, fd, join(v, nv), 0))
		bad("insmod without a fault: %s", strerror(errno));
	left = get_nth();
	set_nth(0);
	close(fd);
	printf("%u\n", big - left);
	unload();
}

/* random: mixed operations with make-it-fail on. */
static unsigned long long rng;

static unsigned int rnd(unsigned int n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned int)(rng % n);
}

static void random_ops(unsigned long long seed, long nops)
{
	static const char *const targets[] = {
		"p:%s vfs_read",
		"r:%s __x64_sys_sched_get_priority_min",
		"r24:%s read_zero",
		"p:%s ksys_read a=%%di:x64 b=+0(%%si):u8 c=$comm",
		"r:%s __x64_sys_sched_get_priority_min ret=$retval:s32 p=$arg1:x64",
		"p:%s fdget_pos",
	};
	static const char *const views[] = {
		"probes", "profile", "list", "armed", "filter", "memory", "instances",
		"latency", "returns", "trace", "error_log",
	};
	int live[8] = { 0 };
	long other = 0;

	rng = seed ? seed : 1;
	for (long i = 0; i < nops; i++) {
		int k = rnd(8), e = 0, op = rnd(10);
		char ev[32], line[512], path[128];

		snprintf(ev, sizeof(ev), "rprobes/f%d", k);
		if (op < 4) { /* add or remove probe k */
			if (live[k])
				snprintf(line, sizeof(line), "-:%s\n", ev);
			else {
				snprintf(line, sizeof(line), targets[k % 6], ev);
				strcat(line, "\n");
			}
			make_it_fail(1);
			e = put(D "/probes", O_WRONLY | O_APPEND, line);
			make_it_fail(0);
			if (e && e != ENOMEM)
				bad("'%.*s': %s", (int)strcspn(line, "\n"), line, ename(e));
			if (!e)
				live[k] = !live[k];
			expect_present(ev, live[k], e ? "after a failed write" : "after the write");
		} else if (op < 6) { /* arm / disarm / filter a live probe */
			static const char *const f[][2] = {
				{ "armed", "%s %d" }, { "filter", "%s comm=trigger" },
				{ "filter", "%s none" }, { "stacktrace", "%s" },
			};
			int j = rnd(4);

			if (!live[k])
				continue;
			snprintf(line, sizeof(line), f[j][1], ev, rnd(2));
			strcat(line, "\n");
			snprintf(path, sizeof(path), D "/%s", f[j][0]);
			make_it_fail(1);
			e = put(path, O_WRONLY | O_APPEND, line);
			make_it_fail(0);
			/* stacktrace on an entry probe: EINVAL, as without faults */
			if (e && e != ENOMEM && !(j == 3 && e == EINVAL))
				bad("'%.*s' > %s: %s", (int)strcspn(line, "\n"), line, f[j][0], ename(e));
		} else if (op < 7) { /* resize */
			long old = size_kb();

			snprintf(line, sizeof(line), "%u\n", 8 + 8 * rnd(12));
			make_it_fail(1);
			e = put(D "/buffer_size_kb", O_WRONLY | O_APPEND, line);
			make_it_fail(0);
			if (e && e != ENOMEM)
				bad("buffer_size_kb %s", ename(e));
			if (e && size_kb() != old)
				bad("buffer_size_kb %ld after a failed resize from %ld", size_kb(), old);
		} else if (op < 9) { /* read a view */
			char *s;

			snprintf(path, sizeof(path), D "/%s", views[rnd(11)]);
			make_it_fail(1);
			s = slurp(path);
			e = s ? 0 : errno;
			make_it_fail(0);
			free(s);
			if (e && e != ENOMEM)
				bad("read %s: %s", path, ename(e));
		} else { /* the workload itself, faults on */
			make_it_fail(1);
			for (int j = 0; j < 50; j++)
				syscall(SYS_sched_get_priority_min, 0);
			make_it_fail(0);
		}
		if (e)
			other++;
		calls++;
		consistent();
	}
	if (put(D "/probes", O_WRONLY | O_TRUNC, ""))
		bad("clear");
	if (consistent())
		bad("probes left after >");
	printf("random: %ld operations, %ld failed with ENOMEM\n", calls, other);
}

int main(int argc, char **argv)
{
	char *poss;
	int lo = 0, hi = 0;

	if (argc < 2)
		return 2;
	mode = argv[1];
	poss = slurp("/sys/devices/system/cpu/possible");
	if (poss && sscanf(poss, "%d-%d", &lo, &hi) < 2)
		hi = lo;
	defmax = 2 * (hi - lo + 1) > 10 ? 2 * (hi - lo + 1) : 10;
	free(poss);
	nth_fd = open("/proc/self/fail-nth", O_RDWR);
	fail_fd = open("/proc/self/make-it-fail", O_RDWR);
	if (nth_fd < 0 || fail_fd < 0)
		bad("/proc/self/fail-nth, make-it-fail: %s", strerror(errno));
	setvbuf(stdout, NULL, _IONBF, 0);
	verbose = getenv("FAULTINJ_VERBOSE") != NULL;

	if ((!strcmp(mode, "add") || !strcmp(mode, "remove") || !strcmp(mode, "rawline")) &&
	    argc == 4)
		sweep_line(mode, argv[2], argv[3]);
	else if (!strcmp(mode, "clear") && argc >= 3)
		sweep_clear(argv + 2, argc - 2);
	else if (!strcmp(mode, "write") && (argc == 4 || argc == 5))
		sweep_write(argv[2], argv[3], argc == 5 ? argv[4] : NULL);
	else if (!strcmp(mode, "resize") && argc == 3)
		sweep_resize(atol(argv[2]));
	else if (!strcmp(mode, "read") && argc == 3)
		sweep_read(argv[2]);
	else if (!strcmp(mode, "insmod") && argc >= 6)
		sweep_insmod(argv[2], strtoul(argv[3], NULL, 0), strtoul(argv[4], NULL, 0),
			     strtoul(argv[5], NULL, 0) ?: 1, argv + 6, argc - 6);
	else if (!strcmp(mode, "count") && argc >= 3) {
		count_insmod(argv[2], argv + 3, argc - 3);
		return 0;
	} else if (!strcmp(mode, "random") && argc == 4) {
		random_ops(strtoull(argv[2], NULL, 0), atol(argv[3]));
		return 0;
	} else
		return 2;
	printf("%s: %ld calls, faults %ld failed %ld absorbed %ld\n", mode, calls, faults,
	       failed, absorbed);
	return 0;
}

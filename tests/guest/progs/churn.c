// SPDX-License-Identifier: GPL-2.0
/*
 * churn: control-plane load for the stress test (tests/guest/stress/stress.tc).
 *
 *   churn [-e] [-b] DIR ID ROUNDS FUNC...
 *
 * Each round adds one probe per FUNC, named stress/cID_J (J the index of
 * FUNC), in turn an entry probe, a return probe, an entry probe with fetch
 * arguments and a return probe with $retval; then disarms and re-arms each
 * one (`armed`), sets and clears a filter (`filter`), reads `probes`,
 * `profile`, `list`, `armed`, `memory` and `instances`, checks that every
 * probe of this churner is in `probes`, `profile` and `list` (and nowhere
 * once removed), and removes them (`-:`) in another order than they were
 * added. With -e it also turns the global `enabled` switch off and on
 * around the arm/disarm step (leaving it on), with -b it resizes
 * `buffer_size_kb` (16..80 KiB).
 *
 * Probe names are this churner's own, so every write must succeed, however
 * many churners run at once: the first unexpected result is printed and
 * the exit code is 1. Prints the number of writes and reads at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *dir;
static int id;
static long writes, reads;

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stdout, "churn %d: ", id);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	exit(1);
}

/* One write(2) of LINE (a newline is added) to DIR/FILE, opened O_APPEND. */
static void put(const char *file, const char *fmt, ...)
{
	char path[256], line[512];
	va_list ap;
	int fd, n;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	line[n++] = '\n';
	fd = open(path, O_WRONLY | O_APPEND);
	if (fd < 0)
		die("open %s: %s", file, strerror(errno));
	if (write(fd, line, n) != n)
		die("'%.*s' > %s: %s", n - 1, line, file, strerror(errno));
	if (close(fd) < 0)
		die("close %s: %s", file, strerror(errno));
	writes++;
}

/* The whole of DIR/FILE into a static buffer. */
static const char *get(const char *file)
{
	static char buf[1 << 20];
	char path[256];
	size_t n = 0;
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		die("open %s: %s", file, strerror(errno));
	while ((r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += r;
	if (r < 0)
		die("read %s: %s", file, strerror(errno));
	close(fd);
	buf[n] = 0;
	reads++;
	return buf;
}

/* Whether TEXT has NAME as a whole word (between delimiters). */
static int has(const char *text, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = text; (p = strstr(p, name)); p += len) {
		char before = p == text ? ' ' : p[-1], after = p[len];

		if (strchr(" :\n", before) && strchr(" \n", after))
			return 1;
	}
	return 0;
}

static void expect(const char *file, const char *name, int present)
{
	if (has(get(file), name) != present)
		die("stress/%s %s in %s", name, present ? "missing" : "still", file);
}

int main(int argc, char **argv)
{
	int opt, toggle_enabled = 0, resize = 0, rounds, nfunc;
	char name[64];

	while ((opt = getopt(argc, argv, "eb")) != -1) {
		if (opt == 'e')
			toggle_enabled = 1;
		else if (opt == 'b')
			resize = 1;
		else
			return 2;
	}
	if (argc - optind < 4)
		return 2;
	dir = argv[optind];
	id = atoi(argv[optind + 1]);
	rounds = atoi(argv[optind + 2]);
	nfunc = argc - optind - 3;
	char **funcs = argv + optind + 3;

	for (int r = 0; r < rounds; r++) {
		for (int j = 0; j < nfunc; j++) {
			snprintf(name, sizeof(name), "c%d_%d", id, j);
			switch ((r + j) % 4) {
			case 0:
				put("probes", "p:stress/%s %s", name, funcs[j]);
				break;
			case 1:
				put("probes", "r:stress/%s %s", name, funcs[j]);
				break;
			case 2:
				put("probes", "p:stress/%s %s a=%%di:x64 b=%%si:u32 c=$comm",
				    name, funcs[j]);
				break;
			default:
				put("probes", "r4:stress/%s %s ret=$retval:s64 a=$arg1:x64",
				    name, funcs[j]);
				break;
			}
		}
		if (toggle_enabled)
			put("enabled", "0");
		for (int j = 0; j < nfunc; j++) {
			snprintf(name, sizeof(name), "c%d_%d", id, j);
			put("armed", "stress/%s 0", name);
			put("filter", "%s comm=trigger", name);
		}
		if (resize)
			put("buffer_size_kb", "%d", 16 + 16 * ((r + id) % 5));
		for (int j = 0; j < nfunc; j++) {
			snprintf(name, sizeof(name), "c%d_%d", id, j);
			put("armed", "%s 1", name);
			put("filter", "stress/%s none", name);
		}
		if (toggle_enabled)
			put("enabled", "1");
		for (int j = 0; j < nfunc; j++) {
			snprintf(name, sizeof(name), "stress/c%d_%d", id, j);
			expect("probes", name, 1);
			expect("profile", name, 1);
			expect("list", name, 1);
			expect("armed", name, 1);
		}
		get("memory");
		get("instances");
		/* Remove in reverse order of addition on odd rounds. */
		for (int k = 0; k < nfunc; k++) {
			int j = r % 2 ? nfunc - 1 - k : k;

			snprintf(name, sizeof(name), "c%d_%d", id, j);
			put("probes", "-:stress/%s", name);
			snprintf(name, sizeof(name), "stress/c%d_%d", id, j);
			expect("probes", name, 0);
		}
	}
	printf("churn %d: %d rounds, %ld writes, %ld reads\n", id, rounds, writes, reads);
	return 0;
}

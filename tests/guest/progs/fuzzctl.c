// SPDX-License-Identifier: GPL-2.0
/*
 * fuzzctl SEED N DIR: writes N random and mutated lines into the writable
 * control files of DIR (/sys/kernel/debug/rprobes), one write(2) each.
 *
 * Every write must either succeed or fail with an errno; a line rejected by
 * `probes` must leave a new entry in `error_log`. `probes` is cleared every
 * 64 writes so the probe list stays bounded. Prints the counts; exits 1 on
 * a violation.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned long long rng;

static unsigned int rnd(unsigned int n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return n ? (unsigned int)(rng % n) : 0;
}

struct target {
	const char *file;
	const char *corpus[8];
};

static const struct target targets[] = {
	{ "probes", { "p:a vfs_read", "r:b vfs_read", "p vfs_write+4", "-:a",
		      "p:g/e vfs_read+0%return", "r16:c ksys_read", "-:g/e vfs_read",
		      "p 0xffffffff81000000" } },
	{ "armed", { "a 0", "a 1", "rprobes/b 0", "nosuch 1" } },
	{ "enabled", { "0", "1", " 1 ", "2" } },
	{ "filter", { "a pid=1", "b comm=sh", "a none", "g/e pid=99999" } },
	{ "set_event_pid", { "1", "1 2 3", "", "-5" } },
	{ "stacktrace", { "b", "!b", "a", "rprobes/c" } },
	{ "tracing_on", { "0", "1", "x" } },
	{ "buffer_size_kb", { "64", "1408", "0", "4" } },
	{ "trace", { "", " " } },
	{ "error_log", { "", "x" } },
};

static size_t mutate(char *buf, size_t len, size_t cap)
{
	int k = 1 + rnd(4);

	while (k--) {
		size_t i = len ? rnd(len) : 0;

		switch (rnd(7)) {
		case 0: /* flip a byte */
			if (len)
				buf[i] ^= 1 << rnd(8);
			break;
		case 1: /* random byte, NUL and 0xff included */
			if (len < cap) {
				memmove(buf + i + 1, buf + i, len - i);
				buf[i] = (char)rnd(256);
				len++;
			}
			break;
		case 2: /* truncate */
			len = i;
			break;
		case 3: /* duplicate a span */
			if (len && len * 2 < cap) {
				memcpy(buf + len, buf, len);
				len *= 2;
			}
			break;
		case 4: { /* splice in a token */
			static const char *tok[] = { ":", "/", "%return", "+", "-", "=", "$retval",
						     "\\", "\"", "0x", "99999999999999999999", "@",
						     "%ax", " ", "\n", "(", ")", "[64]", ":string" };
			const char *t = tok[rnd(sizeof(tok) / sizeof(tok[0]))];
			size_t n = strlen(t);

			if (len + n < cap) {
				memmove(buf + i + n, buf + i, len - i);
				memcpy(buf + i, t, n);
				len += n;
			}
			break;
		}
		case 5: /* a long run */
			while (len < cap && rnd(64))
				buf[len++] = 'a' + rnd(26);
			break;
		default: /* delete a byte */
			if (len) {
				memmove(buf + i, buf + i + 1, len - i - 1);
				len--;
			}
		}
	}
	return len;
}

static size_t slurp(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, cap);
	close(fd);
	return n > 0 ? (size_t)n : 0;
}

int main(int argc, char **argv)
{
	static char line[8192], path[256], before[1 << 16], after[1 << 16];
	unsigned long ok = 0, rejected = 0, bad = 0;
	long n, i;

	if (argc != 4)
		return 2;
	rng = strtoull(argv[1], NULL, 0) | 1;
	n = atol(argv[2]);
	for (i = 0; i < n; i++) {
		const struct target *t = &targets[rnd(sizeof(targets) / sizeof(targets[0]))];
		const char *seed;
		size_t len, blen = 0;
		int fd, probes = !strcmp(t->file, "probes");
		ssize_t w;

		if (i % 64 == 63) {
			snprintf(path, sizeof(path), "%s/probes", argv[3]);
			fd = open(path, O_WRONLY | O_TRUNC);
			if (fd >= 0)
				close(fd);
		}
		do
			seed = t->corpus[rnd(8)];
		while (!seed);
		len = strlen(seed);
		memcpy(line, seed, len);
		if (rnd(8))
			len = mutate(line, len, sizeof(line) - 1);
		else
			for (len = rnd(200); len && rnd(4); len--)
				line[len - 1] = (char)rnd(256);
		if (rnd(4))
			line[len++] = '\n';
		if (probes) {
			snprintf(path, sizeof(path), "%s/error_log", argv[3]);
			blen = slurp(path, before, sizeof(before));
		}
		snprintf(path, sizeof(path), "%s/%s", argv[3], t->file);
		fd = open(path, O_WRONLY | O_APPEND);
		if (fd < 0) {
			printf("open %s: %s\n", path, strerror(errno));
			return 1;
		}
		w = write(fd, line, len);
		/* An unterminated line runs at close(2): its error shows there. */
		if (close(fd) < 0)
			w = -1;
		if (w < 0) {
			rejected++;
			if (probes) {
				snprintf(path, sizeof(path), "%s/error_log", argv[3]);
				if (slurp(path, after, sizeof(after)) == blen &&
				    !memcmp(before, after, blen)) {
					printf("rejected without error_log entry: '%.*s'\n", (int)len, line);
					bad++;
				}
			}
		} else {
			ok++;
		}
	}
	printf("writes %ld accepted %lu rejected %lu violations %lu\n", n, ok, rejected, bad);
	return bad ? 1 : 0;
}

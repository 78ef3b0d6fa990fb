// SPDX-License-Identifier: GPL-2.0
/*
 * ctl: write to a control file and report the errno, for the guest tests.
 *
 *   ctl [-t] [-s] FILE TEXT...
 *   ctl -r FILE      one O_NONBLOCK read(2) of FILE: prints OK or the errno
 *   ctl -l FILE      lseek(2) of FILE (opened O_NONBLOCK) to 0: prints OK
 *                    or the errno
 *   ctl -m FILE PARAMS  loads module FILE with PARAMS (finit_module(2)):
 *                    prints OK or the errno (busybox insmod prints its own
 *                    text for some, e.g. "wrong symbol version" for ESRCH)
 *
 * Opens FILE O_WRONLY|O_APPEND (>>), or O_WRONLY|O_TRUNC (>) with -t.
 * Without -s, writes all TEXTs as one write(2), each followed by a newline.
 * With -s, each TEXT is its own write(2) and no newline is added. "\n" in a
 * TEXT stands for a newline, "\0" for a NUL byte. Prints OK or the errno
 * name of the first failure (a failed close(2) included) and exits 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "errname.h"

static size_t unescape(const char *in, char *out)
{
	size_t n = 0;

	for (; *in; in++) {
		if (in[0] == '\\' && in[1] == 'n') {
			out[n++] = '\n';
			in++;
		} else if (in[0] == '\\' && in[1] == '0') {
			out[n++] = '\0';
			in++;
		} else {
			out[n++] = *in;
		}
	}
	return n;
}

int main(int argc, char **argv)
{
	int flags = O_WRONLY | O_APPEND, split = 0, load = 0, seek = 0, opt, fd, i;
	static char buf[1 << 20];
	size_t n = 0;

	while ((opt = getopt(argc, argv, "+tsrml")) != -1) {
		if (opt == 'm')
			load = 1, flags = O_RDONLY;
		else if (opt == 'l')
			seek = 1, flags = O_RDONLY | O_NONBLOCK;
		else if (opt == 'r')
			flags = O_RDONLY | O_NONBLOCK;
		else if (opt == 't')
			flags = O_WRONLY | O_TRUNC;
		else if (opt == 's')
			split = 1;
		else
			return 2;
	}
	if (optind + 1 > argc)
		return 2;
	fd = open(argv[optind], flags);
	if (fd < 0) {
		printf("%s\n", ename(errno));
		return 0;
	}
	if (load) {
		if (syscall(SYS_finit_module, fd, optind + 1 < argc ? argv[optind + 1] : "", 0)) {
			printf("%s\n", ename(errno));
			return 0;
		}
		printf("OK\n");
		return 0;
	}
	if (seek) {
		if (lseek(fd, 0, SEEK_SET) < 0) {
			printf("%s\n", ename(errno));
			return 0;
		}
		printf("OK\n");
		return 0;
	}
	if (flags & O_NONBLOCK) {
		if (read(fd, buf, 4096) < 0) {
			printf("%s\n", ename(errno));
			return 0;
		}
		printf("OK\n");
		return 0;
	}
	for (i = optind + 1; i < argc; i++) {
		size_t len = strlen(argv[i]);

		if (n + len + 2 > sizeof(buf))
			return 2;
		n += unescape(argv[i], buf + n);
		if (!split)
			buf[n++] = '\n';
		if (split || i == argc - 1) {
			if (n && write(fd, buf, n) < 0) {
				printf("%s\n", ename(errno));
				return 0;
			}
			n = 0;
		}
	}
	if (close(fd) < 0) {
		printf("%s\n", ename(errno));
		return 0;
	}
	printf("OK\n");
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * fdio: uses a file descriptor the caller opened (the shell's `exec 5>>F`),
 * for tests that must not open the file again (tests/guest/control/
 * lockdown.tc: a file opened before the kernel was locked down).
 *
 *   fdio w FD TEXT   one write(2) of TEXT and a newline to FD: prints OK or
 *                    the errno name
 *   fdio r FD        lseek(FD, 0, SEEK_SET), then FD to its end on stdout;
 *                    on a failure, the errno name on stderr and exit code 1
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "errname.h"

int main(int argc, char **argv)
{
	static char buf[1 << 16];
	int fd;
	ssize_t n;

	if (argc < 3 || (argv[1][0] != 'w' && argv[1][0] != 'r'))
		return 2;
	fd = atoi(argv[2]);
	if (argv[1][0] == 'w') {
		size_t len;

		if (argc != 4 || strlen(argv[3]) + 1 > sizeof(buf))
			return 2;
		len = strlen(argv[3]);
		memcpy(buf, argv[3], len);
		buf[len++] = '\n';
		if (write(fd, buf, len) < 0)
			printf("%s\n", ename(errno));
		else
			printf("OK\n");
		return 0;
	}
	if (lseek(fd, 0, SEEK_SET) < 0) {
		fprintf(stderr, "%s\n", ename(errno));
		return 1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, n, stdout);
	if (n < 0) {
		fprintf(stderr, "%s\n", ename(errno));
		return 1;
	}
	return 0;
}

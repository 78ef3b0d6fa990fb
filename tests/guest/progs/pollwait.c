// SPDX-License-Identifier: GPL-2.0
/*
 * pollwait FILE MS: poll(2) FILE for reading for at most MS milliseconds;
 * prints "ready" or "timeout" (exit 0), or the errno name (exit 1).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	struct pollfd p = { .events = POLLIN };

	if (argc != 3)
		return 2;
	p.fd = open(argv[1], O_RDONLY | O_NONBLOCK);
	if (p.fd < 0) {
		printf("%s\n", strerror(errno));
		return 1;
	}
	switch (poll(&p, 1, atoi(argv[2]))) {
	case -1:
		printf("%s\n", strerror(errno));
		return 1;
	case 0:
		printf("timeout\n");
		return 0;
	default:
		printf("%s\n", p.revents & POLLIN ? "ready" : "other");
		return 0;
	}
}

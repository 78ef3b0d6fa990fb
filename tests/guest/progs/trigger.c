// SPDX-License-Identifier: GPL-2.0
/*
 * trigger: workloads for the guest tests.
 *
 *   trigger N        call sched_get_priority_min() N times: the kernel
 *                    function __x64_sys_sched_get_priority_min runs exactly
 *                    N times (nothing else in the guest makes that call)
 *   trigger -r SECS  read(2) from /dev/zero in a loop for SECS seconds
 *   trigger -n N     read(2) 64 bytes from /dev/zero N times
 *   trigger -p P,... call sched_get_priority_min(P) for each policy P in
 *                    order, and print each return value (-errno on error)
 *   trigger -n NAME N  call it N times, rename itself to NAME
 *                    (PR_SET_NAME), and call it N times again
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sched.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "-r")) {
		time_t end = time(NULL) + atoi(argv[2]);
		int fd = open("/dev/zero", O_RDONLY);
		char b[64];

		if (fd < 0)
			return 1;
		while (time(NULL) < end)
			for (int i = 0; i < 1000; i++)
				if (read(fd, b, sizeof(b)) < 0)
					return 1;
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "-n")) {
		int fd = open("/dev/zero", O_RDONLY);
		char b[64];

		if (fd < 0)
			return 1;
		for (long i = atol(argv[2]); i > 0; i--)
			if (read(fd, b, sizeof(b)) != sizeof(b))
				return 1;
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "-p")) {
		for (char *p = strtok(argv[2], ","); p; p = strtok(NULL, ",")) {
			int r = sched_get_priority_min(atoi(p));

			printf("%d\n", r < 0 ? -errno : r);
		}
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "-n")) {
		for (long i = atol(argv[3]); i > 0; i--)
			sched_get_priority_min(SCHED_OTHER);
		if (prctl(PR_SET_NAME, argv[2], 0, 0, 0))
			return 1;
		for (long i = atol(argv[3]); i > 0; i--)
			sched_get_priority_min(SCHED_OTHER);
		return 0;
	}
	if (argc != 2)
		return 2;
	for (long i = atol(argv[1]); i > 0; i--)
		sched_get_priority_min(SCHED_OTHER);
	return 0;
}

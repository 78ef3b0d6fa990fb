// SPDX-License-Identifier: GPL-2.0
/*
 * pidcomm: a child with a chosen pid and comm, for the comm cache tests
 * (events/limits).
 *
 *   pidcomm PID NAME N
 *
 * Starts a child with pid PID (clone3() with set_tid; PID 0: the next
 * free pid, as fork), which names itself NAME (PR_SET_NAME), calls
 * sched_get_priority_min() N times (the kernel function
 * __x64_sys_sched_get_priority_min runs exactly N times) and exits.
 * Waits for it and prints its pid.
 */
#define _GNU_SOURCE
#include <linux/sched.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	pid_t want, pid;
	struct clone_args args = { .exit_signal = SIGCHLD };
	int status;

	if (argc != 4)
		return 2;
	want = atoi(argv[1]);
	if (want > 0) {
		args.set_tid = (uint64_t)(uintptr_t)&want;
		args.set_tid_size = 1;
	}
	pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid < 0) {
		perror("clone3");
		return 1;
	}
	if (pid == 0) {
		/* Only system calls here: a raw clone3 child. */
		if (prctl(PR_SET_NAME, argv[2], 0, 0, 0))
			_exit(1);
		for (long i = atol(argv[3]); i > 0; i--)
			syscall(SYS_sched_get_priority_min, SCHED_OTHER);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		return 1;
	printf("%d\n", pid);
	return 0;
}

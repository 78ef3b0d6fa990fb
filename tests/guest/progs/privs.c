// SPDX-License-Identifier: GPL-2.0
/*
 * privs: runs a program with fewer privileges, or is a process to probe,
 * for the security tests (tests/guest/control/security.tc).
 *
 *   privs [-d CAP]... [-u UID [-k CAP]...] [-r UID] -- PROG ARGS...
 *       -d CAP  drops capability CAP from the bounding set and from every
 *               set of the process, so that not even an exec as root (whose
 *               file capabilities are all of the bounding set) gets it back
 *       -u UID  real, effective and saved uid and gid UID, no supplementary
 *               groups, keeping only the -k capabilities (raised as ambient
 *               ones, so that they survive the exec)
 *       -r UID  the real uid only (effective and saved stay: root's
 *               capabilities stay, as in a setuid-root program)
 *   privs target [-n]
 *       prints "pid N" and "point nop 0xADDR" (an instruction rprobes
 *       emulates), then holds until killed; -n: non-dumpable first
 *       (prctl(PR_SET_DUMPABLE, 0), as a process that handles secrets)
 *
 * CAP is a number or one of: sys_admin, sys_ptrace, sys_module,
 * dac_override, dac_read_search. Errors go to stderr, exit code 2.
 */
#define _GNU_SOURCE
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The probe point: a global label in the text of this (static) program. */
extern char up_tnop[];
asm(".text\n.globl up_tnop\n.type up_tnop, @function\nup_tnop:\n\tnop\n\tret\n");

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static int cap_number(const char *s)
{
	static const struct {
		const char *name;
		int cap;
	} names[] = {
		{ "sys_admin", CAP_SYS_ADMIN },
		{ "sys_ptrace", CAP_SYS_PTRACE },
		{ "sys_module", CAP_SYS_MODULE },
		{ "dac_override", CAP_DAC_OVERRIDE },
		{ "dac_read_search", CAP_DAC_READ_SEARCH },
	};
	char *end;
	long n = strtol(s, &end, 10);

	if (*s && !*end && n >= 0 && n <= CAP_LAST_CAP)
		return n;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i].name))
			return names[i].cap;
	fprintf(stderr, "privs: unknown capability '%s'\n", s);
	exit(2);
}

static struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
static struct __user_cap_data_struct data[2];

static void caps_get(void)
{
	if (syscall(SYS_capget, &hdr, data))
		die("capget");
}

static void caps_set(void)
{
	if (syscall(SYS_capset, &hdr, data))
		die("capset");
}

static void cap_clear(int cap)
{
	__u32 bit = 1u << (cap % 32);

	data[cap / 32].effective &= ~bit;
	data[cap / 32].permitted &= ~bit;
	data[cap / 32].inheritable &= ~bit;
}

static void cap_only(const int *caps, int n)
{
	memset(data, 0, sizeof(data));
	for (int i = 0; i < n; i++) {
		__u32 bit = 1u << (caps[i] % 32);

		data[caps[i] / 32].effective |= bit;
		data[caps[i] / 32].permitted |= bit;
		data[caps[i] / 32].inheritable |= bit;
	}
}

static __attribute__((noreturn)) void target(int argc, char **argv)
{
	if (argc > 2 && !strcmp(argv[2], "-n") && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0))
		die("PR_SET_DUMPABLE");
	printf("pid %d\npoint nop %p\n", getpid(), (void *)up_tnop);
	fflush(stdout);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	int drop[64], keep[64], ndrop = 0, nkeep = 0, opt;
	long uid = -1, ruid = -1;

	if (argc > 1 && !strcmp(argv[1], "target"))
		target(argc, argv);
	while ((opt = getopt(argc, argv, "+d:u:k:r:")) != -1) {
		if (opt == 'd' && ndrop < 64)
			drop[ndrop++] = cap_number(optarg);
		else if (opt == 'k' && nkeep < 64)
			keep[nkeep++] = cap_number(optarg);
		else if (opt == 'u')
			uid = strtol(optarg, NULL, 10);
		else if (opt == 'r')
			ruid = strtol(optarg, NULL, 10);
		else
			return 2;
	}
	if (optind >= argc)
		return 2;
	for (int i = 0; i < ndrop; i++) {
		if (prctl(PR_CAPBSET_DROP, drop[i], 0, 0, 0))
			die("PR_CAPBSET_DROP");
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, drop[i], 0, 0))
			die("PR_CAP_AMBIENT_LOWER");
	}
	caps_get();
	for (int i = 0; i < ndrop; i++)
		cap_clear(drop[i]);
	caps_set();
	if (uid >= 0) {
		if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0))
			die("PR_SET_KEEPCAPS");
		if (setgroups(0, NULL) || setresgid(uid, uid, uid) || setresuid(uid, uid, uid))
			die("setresuid");
		cap_only(keep, nkeep);
		caps_set();
		for (int i = 0; i < nkeep; i++)
			if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, keep[i], 0, 0))
				die("PR_CAP_AMBIENT_RAISE");
	}
	if (ruid >= 0 && setresuid(ruid, -1, -1))
		die("setresuid");
	execvp(argv[optind], argv + optind);
	die(argv[optind]);
}

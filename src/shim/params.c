// SPDX-License-Identifier: GPL-2.0
/*
 * The module's parameters (see params.h): 7.3's Rust `module!` knows
 * integers and bools only, and shows none of them in sysfs.
 *
 * Their modes in /sys/module/rprobes/parameters/: the probe lists name
 * processes (`uprobes=`: pids and paths) and kernel addresses, so they are
 * root's only (0400), as tracefs' kprobe_events and uprobe_events are
 * (0640 in a 0700 mount); `selftest` says only whether the `selftest` file
 * exists (0444). All are read-only after load.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "params.h"

static char kprobes[RPROBES_PARAM_MAX];
module_param_string(kprobes, kprobes, sizeof(kprobes), 0400);
MODULE_PARM_DESC(kprobes,
		 "Kernel probes to add at load time: SYM[+OFF]|ADDR[,SYM[+OFF]|ADDR...]");

const char *rprobes_param_kprobes(void)
{
	return kprobes;
}

static char kretprobes[RPROBES_PARAM_MAX];
module_param_string(kretprobes, kretprobes, sizeof(kretprobes), 0400);
MODULE_PARM_DESC(kretprobes,
		 "Return probes to add at load time: SYM[:MAXACTIVE][,SYM[:MAXACTIVE]...]");

const char *rprobes_param_kretprobes(void)
{
	return kretprobes;
}

static char uprobes[RPROBES_PARAM_MAX];
module_param_string(uprobes, uprobes, sizeof(uprobes), 0400);
MODULE_PARM_DESC(uprobes,
		 "User probes to add at load time: PID:0xADDR|PID:PATH:0xOFF[,...]");

const char *rprobes_param_uprobes(void)
{
	return uprobes;
}

static bool selftest;
module_param(selftest, bool, 0444);
MODULE_PARM_DESC(selftest,
		 "Create the `selftest` file (calls the module's test targets; for the test suite)");

bool rprobes_param_selftest(void)
{
	return selftest;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * The module's parameters (see params.h): the string ones (7.3's Rust
 * `module!` knows integers and bools only, and shows none of them in
 * sysfs), the limits of user probes and `selftest`.
 *
 * Their modes in /sys/module/rprobes/parameters/: the probe lists name
 * processes (`uprobes=`: pids and paths) and kernel addresses, so they are
 * root's only (0400), as tracefs' kprobe_events and uprobe_events are
 * (0640 in a 0700 mount); the limits and `selftest` say only how the
 * module was loaded (0444). All are read-only after load.
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
		 "User probes to add at load time: PID:0xADDR|[PID:]PATH:0xOFF|[PID:]PATH:SYMBOL[+OFF][,...]");

const char *rprobes_param_uprobes(void)
{
	return uprobes;
}

static char uretprobes[RPROBES_PARAM_MAX];
module_param_string(uretprobes, uretprobes, sizeof(uretprobes), 0400);
MODULE_PARM_DESC(uretprobes,
		 "User return probes to add at load time: the points of uprobes=, each as the line r POINT");

const char *rprobes_param_uretprobes(void)
{
	return uretprobes;
}

static unsigned int max_uprobes = RPROBES_MAX_UPROBES;
module_param(max_uprobes, uint, 0444);
MODULE_PARM_DESC(max_uprobes, "User probes in all, at most (1 to 65536, default 65536)");

unsigned int rprobes_param_max_uprobes(void)
{
	return max_uprobes;
}

static unsigned int max_uprobe_procs = RPROBES_MAX_UPROBE_PROCS;
module_param(max_uprobe_procs, uint, 0444);
MODULE_PARM_DESC(max_uprobe_procs,
		 "Processes with user probes at once, at most (1 to 32768, default 32768)");

unsigned int rprobes_param_max_uprobe_procs(void)
{
	return max_uprobe_procs;
}

static unsigned int xol_slots = RPROBES_XOL_SLOTS;
module_param(xol_slots, uint, 0444);
MODULE_PARM_DESC(xol_slots,
		 "Slots of each XOL area that steps use (1 to 512, default 512)");

unsigned int rprobes_param_xol_slots(void)
{
	return xol_slots;
}

static bool selftest;
module_param(selftest, bool, 0444);
MODULE_PARM_DESC(selftest,
		 "Create the `selftest` file (calls the module's test targets; for the test suite)");

bool rprobes_param_selftest(void)
{
	return selftest;
}

/*
 * trace_events=1: each event is also a trace event (tracefs
 * events/GRP/EVENT, perf, trace-cmd; src/events/tevent.rs). Off by
 * default for now (Documentation/rprobes/events.rst says why).
 */
static bool trace_events;
module_param(trace_events, bool, 0444);
MODULE_PARM_DESC(trace_events, "Events are also tracefs trace events (default 0)");

bool rprobes_param_trace_events(void)
{
	return trace_events;
}

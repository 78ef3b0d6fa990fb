/* SPDX-License-Identifier: GPL-2.0 */
/*
 * params.c: the module parameters, declared in C: `kprobes=`,
 * `kretprobes=` and `uprobes=` with module_param_string() (7.3's Rust
 * `module!` has integer and bool parameters only, not visible in sysfs),
 * the limits of user probes a load may lower (`max_uprobes=`,
 * `max_uprobe_procs=`, `xol_slots=`: so that the tests reach each limit
 * without thousands of probes, processes or threads), and `selftest`.
 * Read by src/params.rs.
 */
#ifndef RPROBES_SHIM_PARAMS_H
#define RPROBES_SHIM_PARAMS_H

#include <linux/types.h>

/* Largest value of a string parameter, including the NUL. */
#define RPROBES_PARAM_MAX 4096

/* The `kprobes=` parameter: comma-separated SYM[+OFF]|ADDR items. */
const char *rprobes_param_kprobes(void);
/* The `kretprobes=` parameter: comma-separated SYM[:MAXACTIVE] items. */
const char *rprobes_param_kretprobes(void);
/* The `uprobes=` parameter: comma-separated PID:0xADDR|[PID:]PATH:0xOFF|[PID:]PATH:SYMBOL[+OFF] items. */
const char *rprobes_param_uprobes(void);
const char *rprobes_param_uretprobes(void);
/* The `selftest` parameter: whether to create the `selftest` file. */
bool rprobes_param_selftest(void);
/* The `trace_events` parameter: events are also trace events. */
bool rprobes_param_trace_events(void);

/*
 * User probes (lines) in all, at most (and the default of `max_uprobes=`):
 * a bound on memory (about 1 KiB each, see Documentation/rprobes/uprobes.rst).
 */
#define RPROBES_MAX_UPROBES 65536
/* Probed processes (address spaces) at once, at most (`max_uprobe_procs=`). */
#define RPROBES_MAX_UPROBE_PROCS 32768
/* Slots of an XOL area (`xol_slots=`): 4 pages of 32-byte slots. */
#define RPROBES_XOL_SLOTS 512

/* `max_uprobes=`: 1 to RPROBES_MAX_UPROBES (checked at load). */
unsigned int rprobes_param_max_uprobes(void);
/* `max_uprobe_procs=`: 1 to RPROBES_MAX_UPROBE_PROCS. */
unsigned int rprobes_param_max_uprobe_procs(void);
/* `xol_slots=`: 1 to RPROBES_XOL_SLOTS, the slots of each area used. */
unsigned int rprobes_param_xol_slots(void);

#endif

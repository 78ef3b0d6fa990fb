/* SPDX-License-Identifier: GPL-2.0 */
/*
 * die.c: the die notifier that hands user-mode int3 and single-step traps to
 * src/uprobes/trap.rs (rprobes_uprobes_int3(), rprobes_uprobes_debug()).
 */
#ifndef RPROBES_SHIM_DIE_H
#define RPROBES_SHIM_DIE_H

#include <linux/types.h>
#include <linux/notifier.h>

/*
 * Hooks user-mode (64-bit) int3 and debug traps: the Rust handlers run with
 * interrupts off in the trapping task and return the notifier's verdict
 * (RPROBES_NOTIFY_STOP consumes the trap). While *@active is 0 (no address
 * space has user probe state: none of its int3s or steps can be rprobes'),
 * traps go on down the die chain without a call.
 */
int rprobes_die_hook(const u32 *active);
enum { RPROBES_NOTIFY_DONE = NOTIFY_DONE, RPROBES_NOTIFY_STOP = NOTIFY_STOP };
/* Unhooks and waits for running callbacks. */
void rprobes_die_unhook(void);

#endif

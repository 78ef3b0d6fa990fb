// SPDX-License-Identifier: GPL-2.0
/*
 * The die notifier of user probes (see die.h): user_mode() and
 * user_64bit_mode() are inlines, and the notifier calls the Rust trap
 * handlers directly.
 */
#include <linux/kdebug.h>
#include <linux/notifier.h>
#include <linux/sched.h>
#include <asm/ptrace.h>

#include "die.h"

/*
 * The trap handlers, in src/uprobes/trap.rs (#[no_mangle]), called directly:
 * under emulation an indirect call costs a lookup at every hit.
 */
int rprobes_uprobes_int3(struct pt_regs *regs, void *mm);
int rprobes_uprobes_debug(struct pt_regs *regs, void *mm, unsigned long *dr6);

static const u32 *rp_active;

static int rprobes_die_cb(struct notifier_block *nb, unsigned long val, void *data)
{
	struct die_args *args = data;
	struct pt_regs *regs = args->regs;
	struct mm_struct *mm;

	/* The int3s of the kernel's uprobes and of debuggers pay only this. */
	if (!READ_ONCE(*rp_active))
		return NOTIFY_DONE;
	if (val != DIE_INT3 && val != DIE_DEBUG)
		return NOTIFY_DONE;
	/* Every DIE_INT3 and DIE_DEBUG comes with the trap's registers. */
	if (!user_mode(regs) || !user_64bit_mode(regs))
		return NOTIFY_DONE;
	mm = current->mm;
	if (!mm)
		return NOTIFY_DONE;
	/* The Rust handlers return the verdict: calls in tail position. */
	if (val == DIE_INT3)
		return rprobes_uprobes_int3(regs, mm);
	return rprobes_uprobes_debug(regs, mm, (unsigned long *)args->err);
}

/*
 * Ahead of the kernel's uprobes (INT_MAX - 1): their notifier claims every
 * int3 of a process that has a uprobe anywhere (MMF_HAS_UPROBES) and, not
 * finding one of theirs at the address, sends SIGTRAP. Behind kprobes and
 * hw_breakpoint (also INT_MAX, registered before us), which leave user
 * int3 and single-step traps alone. What is not ours goes on down the
 * chain; what is stops there, which also spares every hit the notifiers
 * after us.
 */
static struct notifier_block rprobes_die_nb = {
	.notifier_call = rprobes_die_cb,
	.priority = INT_MAX,
};

int rprobes_die_hook(const u32 *active)
{
	rp_active = active;
	return register_die_notifier(&rprobes_die_nb);
}

void rprobes_die_unhook(void)
{
	/* Waits for running callbacks. */
	unregister_die_notifier(&rprobes_die_nb);
}

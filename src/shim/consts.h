/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Constants of the kernel's headers that Rust needs as `const` values (no
 * code, so no .c file): the return trampoline's segment selectors and
 * objtool unwind-hint encoding (src/retprobes/trampoline.rs), kallsyms'
 * buffer size, and the kernel stack's size.
 */
#ifndef RPROBES_SHIM_CONSTS_H
#define RPROBES_SHIM_CONSTS_H

#include <linux/kallsyms.h>
#include <linux/objtool_types.h>
#include <asm/orc_types.h>
#include <asm/segment.h>
#include <asm/page_types.h>

enum {
	RPROBES_KERNEL_CS = __KERNEL_CS,
	RPROBES_KERNEL_DS = __KERNEL_DS,
	RPROBES_HINT_UNDEFINED = UNWIND_HINT_TYPE_UNDEFINED,
	RPROBES_HINT_FUNC = UNWIND_HINT_TYPE_FUNC,
	RPROBES_ORC_REG_SP = ORC_REG_SP,
};

/* sprint_symbol()'s buffer: "func+0x12/0x40 [mod]". */
enum { RPROBES_KSYM_LEN = KSYM_SYMBOL_LEN };

/*
 * THREAD_SIZE: tracefs' largest $stackN and $argN is THREAD_SIZE /
 * sizeof(long) (16 KiB stacks, 32 KiB with KASAN).
 */
enum { RPROBES_THREAD_SIZE = THREAD_SIZE };

#endif

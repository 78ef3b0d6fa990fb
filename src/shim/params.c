// SPDX-License-Identifier: GPL-2.0
/*
 * The module's string parameters (see params.h): 7.3's Rust `module!` knows
 * integers and bools only.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "params.h"

static char kprobes[RPROBES_PARAM_MAX];
module_param_string(kprobes, kprobes, sizeof(kprobes), 0444);
MODULE_PARM_DESC(kprobes,
		 "Kernel probes to add at load time: SYM[+OFF]|ADDR[,SYM[+OFF]|ADDR...]");

const char *rprobes_param_kprobes(void)
{
	return kprobes;
}

static char kretprobes[RPROBES_PARAM_MAX];
module_param_string(kretprobes, kretprobes, sizeof(kretprobes), 0444);
MODULE_PARM_DESC(kretprobes,
		 "Return probes to add at load time: SYM[:MAXACTIVE][,SYM[:MAXACTIVE]...]");

const char *rprobes_param_kretprobes(void)
{
	return kretprobes;
}

static char uprobes[RPROBES_PARAM_MAX];
module_param_string(uprobes, uprobes, sizeof(uprobes), 0444);
MODULE_PARM_DESC(uprobes,
		 "User probes to add at load time: PID:0xADDR|PID:PATH:0xOFF[,...]");

const char *rprobes_param_uprobes(void)
{
	return uprobes;
}

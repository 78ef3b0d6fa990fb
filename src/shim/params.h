/* SPDX-License-Identifier: GPL-2.0 */
/*
 * params.c: the `kprobes=`, `kretprobes=` and `uprobes=` module parameters,
 * declared with module_param_string() (7.3's Rust `module!` has integer and
 * bool parameters only), and `selftest`. Read by src/params.rs.
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
/* The `uprobes=` parameter: comma-separated PID:0xADDR|PID:PATH:0xOFF items. */
const char *rprobes_param_uprobes(void);
/* The `selftest` parameter: whether to create the `selftest` file. */
bool rprobes_param_selftest(void);

#endif

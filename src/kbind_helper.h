/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Headers for rprobes' own bindgen step (scripts/gen-bindings): what the
 * kernel's `bindings` crate does not cover. The generated file is
 * generated/kbind_generated.rs, wrapped by src/kbind.rs.
 */
#include <linux/kprobes.h>
#include <linux/ptrace.h>
#include "rprobes_shim.h"
#include <linux/stacktrace.h>
#include <linux/timekeeping.h>
#include <linux/rcupdate.h>
#include <linux/delay.h>
#include <linux/ring_buffer.h>
#include <linux/uaccess.h>
#include <asm/tsc.h>

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Headers for rprobes' own bindgen step (scripts/gen-bindings): what the
 * kernel's `bindings` crate does not cover, and the C shims. The generated
 * file is generated/sys_bindings.rs, wrapped by src/sys/bindings.rs.
 */
#include <linux/kprobes.h>
#include <linux/ptrace.h>
#include <linux/stacktrace.h>
#include <linux/timekeeping.h>
#include <linux/rcupdate.h>
#include <linux/ring_buffer.h>
#include <linux/uaccess.h>
#include <linux/task_work.h>
#include <linux/kallsyms.h>
#include <linux/module.h>
#include <asm/tsc.h>

#include "../shim/consts.h"
#include "../shim/die.h"
#include "../shim/file.h"
#include "../shim/hooks.h"
#include "../shim/params.h"
#include "../shim/percpu.h"
#include "../shim/ring.h"
#include "../shim/seqread.h"
#include "../shim/user.h"
#include "../shim/tevent.h"

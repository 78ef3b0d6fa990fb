/* SPDX-License-Identifier: GPL-2.0 */
#ifndef RPROBES_SHIM_TEVENT_H
#define RPROBES_SHIM_TEVENT_H

#include <linux/types.h>

/*
 * Runs @fn(@arg) with the tracing core's event_mutex held and returns what
 * it returns (or -ENOSYS if it could not be run). Sleeps.
 */
int rprobes_under_event_mutex(int (*fn)(void *), void *arg);

/*
 * Around the module's exit: rprobes_under_event_mutex() keeps working while
 * the module is going (see tevent.c).
 */
void rprobes_tevent_exit_begin(void);
void rprobes_tevent_exit_end(void);

/* How a field prints (trace_probe_print_args()'s forms). */
enum rprobes_tfield_kind {
	RPROBES_TF_U = 0,	/* %u, %llu */
	RPROBES_TF_S = 1,	/* %d, %lld */
	RPROBES_TF_X = 2,	/* 0x%x, 0x%llx */
	RPROBES_TF_CHAR = 3,	/* '%c' */
	RPROBES_TF_STRING = 4,	/* "%s" (a __data_loc word) */
	RPROBES_TF_SYMBOL = 5,	/* %pS */
};

/* One field of an event after its common fields and __probe_ip. */
struct rprobes_tfield {
	const char *name;
	/* As tracefs' format file names it: u64, s32, u8[4], __data_loc char[]. */
	const char *type;
	/* From the start of the record (the common fields are first). */
	unsigned int offset;
	/* Of the whole field (an array: all its elements). */
	unsigned int size;
	/* Bytes of one element. */
	unsigned int elem;
	/* Elements of an array; 0: one value. */
	unsigned int count;
	int is_signed;
	enum rprobes_tfield_kind kind;
};

/* A trace event of rprobes' (events/GROUP/NAME in tracefs). */
struct rprobes_tevent;

/*
 * The head of every struct rprobes_tevent: what a hit reads first (in
 * Rust, without a call), to skip an event nothing consumes.
 */
struct rprobes_tevent_head {
	/* tracefs instances that enabled it, plus perf counters on it. */
	atomic_t users;
};

/* The offset of the first argument in a record: the common fields, __probe_ip. */
#define RPROBES_TEVENT_ARGS 16
/* In a return event's: the common fields, __probe_func, __probe_ret_ip. */
#define RPROBES_TEVENT_RET_ARGS 24

/*
 * A new trace event GROUP/NAME (@ret: of a return probe; @user: of a user
 * probe) with these fields and print_fmt (copied),
 * registered (tracefs' directories made): NULL on failure, *err set
 * (-EEXIST: a trace event of that name exists; -ENOMEM). Sleeps; not
 * under a lock a tracefs file operation may take.
 */
struct rprobes_tevent *rprobes_tevent_add(const char *group, const char *name, bool ret,
					  bool user, const struct rprobes_tfield *fields, unsigned int n,
					  const char *print_fmt, int *err);

/*
 * Unregisters and frees @ev; -EBUSY (and nothing done) while tracefs or
 * perf uses it. Sleeps.
 */
int rprobes_tevent_remove(struct rprobes_tevent *ev);

/* Whether some tracefs instance has @ev enabled, or a perf counter is on it (any context). */
bool rprobes_tevent_on(const struct rprobes_tevent *ev);

struct pt_regs;

/*
 * One record of @ev for the probe hit at @ip (a return event: the return
 * of function @ip to @ret_ip) with registers @regs, in every tracefs
 * instance that enabled it and for every perf counter of this CPU on it:
 * @fill(@ctx, args, @dsize) writes the @dsize bytes of the arguments.
 * Preemption disabled (a probe handler).
 */
void rprobes_tevent_write(struct rprobes_tevent *ev, struct pt_regs *regs, unsigned long ip,
			  unsigned long ret_ip, unsigned int dsize,
			  void (*fill)(void *ctx, unsigned char *args, unsigned int size),
			  void *ctx);

#endif

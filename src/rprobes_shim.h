/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C half of rprobes: what Rust cannot reach directly.
 *
 * - string module parameters (7.3's Rust `module!` knows integers and bools
 *   only), declared with module_param_string() in rprobes_shim.c;
 * - wrappers around static inlines and macros (per-CPU accessors).
 *
 * Rust sees these declarations through the module's own bindgen step
 * (src/kbind_helper.h).
 */
#ifndef RPROBES_SHIM_H
#define RPROBES_SHIM_H

#include <linux/types.h>
#include <linux/compiler_types.h>
#include <linux/kallsyms.h>
#include <linux/objtool_types.h>
#include <asm/orc_types.h>
#include <asm/segment.h>
#include <linux/ring_buffer.h>
#include <linux/sched.h>
#include <linux/notifier.h>
#include <uapi/linux/eventpoll.h>

/* Largest value of a string parameter, including the NUL. */
#define RPROBES_PARAM_MAX 4096

/* The `kprobes=` parameter: comma-separated SYM[+OFF]|ADDR items. */
const char *rprobes_param_kprobes(void);
/* The `kretprobes=` parameter: comma-separated SYM[:MAXACTIVE] items. */
const char *rprobes_param_kretprobes(void);
/* The `uprobes=` parameter: comma-separated PID:0xADDR|PID:PATH:0xOFF items. */
const char *rprobes_param_uprobes(void);

/* __alloc_percpu()/free_percpu(): zeroed per-CPU memory. */
void *rprobes_alloc_percpu(size_t size, size_t align);
void rprobes_free_percpu(void *ptr);
/* this_cpu_ptr()/per_cpu_ptr() on memory from rprobes_alloc_percpu(). */
void *rprobes_this_cpu_ptr(void *ptr);
void *rprobes_per_cpu_ptr(void *ptr, unsigned int cpu);
/* Next possible CPU after @prev (-1 to start), or -1 after the last one. */
int rprobes_next_possible_cpu(int prev);

/*
 * Reads from a seq_file-backed file opened with filp_open() (such as
 * /proc/kallsyms, whose proc_ops have no read_iter, so kernel_read()
 * refuses it) into a kernel buffer, through the exported seq_read_iter().
 * @file is a struct file *; returns bytes read, 0 at the end, or -errno.
 */
long rprobes_seq_kernel_read(void *file, void *buf, size_t count, long long *pos);

/*
 * Constants the return trampoline's asm takes as `const` operands, from the
 * kernel's own headers (segment selectors, objtool unwind-hint encoding).
 */
enum {
	RPROBES_KERNEL_CS = __KERNEL_CS,
	RPROBES_KERNEL_DS = __KERNEL_DS,
	RPROBES_HINT_UNDEFINED = UNWIND_HINT_TYPE_UNDEFINED,
	RPROBES_HINT_FUNC = UNWIND_HINT_TYPE_FUNC,
	RPROBES_ORC_REG_SP = ORC_REG_SP,
};

/* Return probes: the module's reference for each hijacked return. */
void rprobes_module_get(void);
void rprobes_module_put(void);
/* try_module_get(): false once the module is going. */
bool rprobes_module_try_get(void);

/*
 * Per-CPU "a return handler runs here" flag: set while the trampoline's
 * handler does its (non-reentrant) work; a handler that finds it set on its
 * CPU (an interrupt or NMI nested into that work) skips the hit, counted as
 * a reentrancy miss.
 *
 * rprobes_ret_begin() disables preemption and tries to take the flag (an
 * interrupt-safe cmpxchg); rprobes_ret_end(owner) releases it if taken and
 * enables preemption.
 */
bool rprobes_ret_begin(void);
void rprobes_ret_end(bool owner);
/* Entry side of a return probe: current (NULL if this CPU's flag is taken)
 * and the CPU number, in one call. */
void *rprobes_ret_entry(unsigned int *cpu);

/* num_possible_cpus(). */
unsigned int rprobes_num_possible_cpus(void);

/*
 * Calls @fn(task) from the sched_process_free tracepoint (the task is dead
 * and about to be freed; rethook flushes its instances at the same point).
 * Returns 0 or -errno.
 */
int rprobes_task_free_hook(void (*fn)(void *task));
/* Unhooks and waits until no call of @fn is running. */
void rprobes_task_free_unhook(void);

/* "func+0x12/0x40 [mod]" into @buf (KSYM_SYMBOL_LEN bytes). */
enum { RPROBES_KSYM_LEN = KSYM_SYMBOL_LEN };
int rprobes_sprint_symbol(char *buf, unsigned long addr);

/*
 * Event stream: a kernel ring buffer (overwrite mode) and the wait queue its
 * readers sleep on. Writers may run in NMI-like context, so they wake
 * readers through an irq_work, as tracefs does.
 */
void *rprobes_rb_alloc(unsigned long size);
/*
 * Set while a reader sleeps (or is about to): writers read it inline and
 * call rprobes_rb_wake() only when it is set.
 */
extern bool rprobes_rb_waiters;
/* Wakes sleeping readers (NMI-safe, cheap when nobody waits). */
void rprobes_rb_wake(void);
/* Sleeps until @rb is not empty: 0, or -ERESTARTSYS on a signal. */
int rprobes_rb_wait(void *rb);
/* poll_wait() on the readers' queue; EPOLLIN|EPOLLRDNORM if @rb has data. */
unsigned int rprobes_rb_poll(void *file, void *pt, void *rb);
/* Waits for a queued wake-up to finish (before freeing the buffer). */
void rprobes_rb_sync(void);
enum { RPROBES_RB_ALL_CPUS = RING_BUFFER_ALL_CPUS };
/*
 * The event header of <linux/ring_buffer.h> (its documented part): a data
 * event's type_len (the low 5 bits of its first word) is its length in
 * 4-byte units, 1 to this, its data right after the word; 0 means the
 * length is in array[0] and the data follow that.
 */
enum { RPROBES_RB_DATA_TYPE_LEN_MAX = RINGBUF_TYPE_DATA_TYPE_LEN_MAX };
/* What poll reports for a readable stream (EPOLLIN | EPOLLRDNORM). */
#define RPROBES_POLL_READABLE 0x41u
/* current->comm (TASK_COMM_LEN bytes, NUL-padded) into @buf. */
enum { RPROBES_COMM_LEN = TASK_COMM_LEN };
void rprobes_current_comm(char *buf);
/* The address of current->comm ($comm). */
const char *rprobes_current_comm_ptr(void);

/*
 * User probes (src/uprobe_shim.c).
 */

/* A resolved user probe point (rprobes_uprobe_resolve()). */
struct rprobes_upoint {
	/* The virtual address of the probe point. */
	unsigned long vaddr;
	/* Out: the process's mm, with a mm_count reference (mmgrab()), if
	 * @mm_ref was set; release it with rprobes_mm_drop(). */
	void *mm;
	/* Out: the thread group id of the process. */
	int tgid;
	/* Out: RPROBES_UVMA_* bits of the vma at @vaddr. */
	unsigned int vm_flags;
	/* In: take a reference on the mm. */
	bool mm_ref;
	/* Out: the bytes at @vaddr (as many as could be read). */
	unsigned char bytes[16];
};

enum {
	RPROBES_UVMA_MAPPED = 1,
	RPROBES_UVMA_READ = 2,
	RPROBES_UVMA_WRITE = 4,
	RPROBES_UVMA_EXEC = 8,
	RPROBES_UVMA_SHARED = 16,
	RPROBES_UVMA_SPECIAL = 32,
};

/*
 * Resolves process @pid's probe point: virtual address @addr when @path is
 * NULL, else file offset @addr of the file @path (compared with d_path() of
 * each file-backed vma) as mapped into it; reads the bytes there as ptrace
 * would (FOLL_FORCE). Returns the number of bytes read, or -ESRCH (no such
 * process), -EINVAL (no user memory: a kernel thread, or exiting), -ENOENT
 * (the file is not mapped there), -EFAULT (nothing readable), -ENOMEM.
 */
long rprobes_uprobe_resolve(int pid, const char *path, size_t path_len, unsigned long addr,
			    struct rprobes_upoint *out);

/*
 * Die notifier for user-mode (64-bit) int3 and debug traps: Rust's
 * rprobes_uprobes_int3(regs, mm) and rprobes_uprobes_debug(regs, mm, dr6)
 * run with interrupts off in the trapping task and return the notifier's
 * verdict: RPROBES_NOTIFY_STOP consumes the trap. @signal is for rprobes_signal_hook(). While *@active
 * is 0 (no address space has user probe state: none of its int3s or steps
 * can be rprobes'), traps go on down the die chain without a call.
 */
int rprobes_die_hook(void (*signal)(struct pt_regs *regs, void *mm), const u32 *active);
enum { RPROBES_NOTIFY_DONE = NOTIFY_DONE, RPROBES_NOTIFY_STOP = NOTIFY_STOP };
/*
 * Registers (once; the first user probe does it) a kprobe on
 * arch_do_signal_or_restart(): @signal(regs, mm) of rprobes_die_hook() then
 * runs (preemption off) before a task with an mm handles its signals, with
 * its user registers. Returns 0 or -errno.
 */
int rprobes_signal_hook(void);
/* Unhooks both and waits for running callbacks. */
void rprobes_die_unhook(void);

/*
 * Process events, from the sched tracepoints: @fork(parent_mm, child) for a
 * child with its own copy of a parent's mm (not vfork/CLONE_VM), before the
 * child runs (preemption disabled); @gone() when a thread group exits or a
 * process execs (an mm may be about to die).
 */
int rprobes_proc_hook(void (*fork)(void *parent_mm, void *child), void (*gone)(void));
/* Unhooks and waits until no probe runs. */
void rprobes_proc_unhook(void);

/*
 * Runs @fn(@arg) in @task's own context (current if NULL) before it next
 * returns to user space (or as it exits: then task->mm may be NULL), with
 * a module reference held until @fn returns. Callable in atomic context.
 * Returns 0, or -ENOMEM, -ENODEV (the module is going) or -ESRCH (the task
 * is exiting): then @fn will not run.
 */
int rprobes_task_work(void *task, void (*fn)(void *arg), void *arg);

/*
 * A task work the caller owns, for a request that must not allocate where
 * it is made (a trap): rprobes_twork_new() allocates it (process context,
 * NULL without memory); rprobes_twork_queue() queues @fn(@arg) on current
 * as rprobes_task_work() does, without allocating (the work must not be
 * queued already); rprobes_twork_free() frees it once it is neither queued
 * nor running (@fn may free it: nothing touches it after @fn is called).
 */
void *rprobes_twork_new(void);
int rprobes_twork_queue(void *w, void (*fn)(void *arg), void *arg);
void rprobes_twork_free(void *w);

/* A delayed work item that calls @fn (process context). */
void rprobes_reap_init(void (*fn)(void));
/* Queues it to run in @ms milliseconds, unless already queued. */
void rprobes_reap_kick(unsigned int ms);
/* Cancels it and waits for a running call. */
void rprobes_reap_stop(void);

/* current->mm (NULL in kernel threads). */
void *rprobes_current_mm(void);
/* mmdrop(): releases a reference from rprobes_uprobe_resolve(). */
void rprobes_mm_drop(void *mm);
/* Whether the address space still has users (mm_users > 0). */
bool rprobes_mm_alive(void *mm);
/* Whether thread group @tgid still exists and uses @mm. */
bool rprobes_pid_uses_mm(int tgid, void *mm);
/*
 * Reads or writes @len bytes (within one page) at @addr of @mm, as ptrace
 * does: FOLL_FORCE, and a write to a private mapping breaks COW, so only
 * this address space sees it. Process context. Returns @len or -errno.
 */
long rprobes_umm_rw(void *mm, unsigned long addr, void *buf, unsigned int len, bool write);

/*
 * One user word of current's address space, from a trap handler (atomic
 * context, current's own page tables): fails instead of faulting a page
 * in. put_user()/get_user() under pagefault_disable(): a single access
 * with an exception-table fix-up, where copy_{to,from}_user_nofault() go
 * through the generic copy loop.
 */
bool rprobes_user_write_u64(unsigned long addr, u64 val);
bool rprobes_user_read_u64(unsigned long addr, u64 *val);

/*
 * From the signal hook, for a step of current aborted at the start of its
 * slot: whether the stepped copy faulted, i.e. current has a pending
 * kernel-generated SIGSEGV or SIGBUS, or a SIGILL, SIGFPE, SIGTRAP or
 * SIGBUS whose si_addr is @slot (the kernel's error_get_trap_addr() maps
 * XOL addresses back only for its own uprobes). The si_addr of those is
 * rewritten to @orig, the probed instruction, as without the probe. Takes
 * current's siglock.
 */
bool rprobes_step_fault_fixup(unsigned long slot, unsigned long orig);

/* A page for the XOL area, filled with int3; NULL if out of memory. */
void *rprobes_xol_page_alloc(void);
/* put_page(). */
void rprobes_page_put(void *page);
/* page_address(). */
void *rprobes_page_address(void *page);
/*
 * Maps @n pages as current's XOL area: r-x, anonymous, placed one page
 * above the stack when free (else wherever mmap puts it); never writable
 * by user space, not copied on fork. Returns the address or -errno.
 */
long rprobes_xol_map(void **pages, unsigned int n);

#endif /* RPROBES_SHIM_H */

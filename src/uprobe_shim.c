// SPDX-License-Identifier: GPL-2.0
/*
 * C half of rprobes' user probes (see rprobes_shim.h): thin wrappers around
 * what Rust cannot reach (static inlines, macros, notifier and tracepoint
 * plumbing). The probe logic is in src/uprobes.rs and src/xol.rs.
 *
 * Lock order: the registry mutex (Rust) before mmap_lock; nothing here takes
 * a Rust lock while holding mmap_lock.
 */
#include <linux/module.h>
#include <linux/kdebug.h>
#include <linux/kprobes.h>
#include <linux/notifier.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>
#include <linux/sched/signal.h>
#include <linux/signal.h>
#include <linux/task_work.h>
#include <linux/tracepoint.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/mmap_lock.h>
#include <linux/highmem.h>
#include <linux/pid.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/workqueue.h>
#include <asm/ptrace.h>

#include "rprobes_shim.h"

/* ---- die notifier: user-mode int3 and single-step traps ---- */

/*
 * The trap handlers, in src/uprobes.rs (#[no_mangle]), called directly:
 * under emulation an indirect call costs a lookup at every hit.
 */
int rprobes_uprobes_int3(struct pt_regs *regs, void *mm);
int rprobes_uprobes_debug(struct pt_regs *regs, void *mm, unsigned long *dr6);

static void (*rp_signal)(struct pt_regs *regs, void *mm);
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

/* Signal delivery: before arch_do_signal_or_restart() builds a frame. */
static int rp_sig_pre(struct kprobe *p, struct pt_regs *kregs)
{
	struct mm_struct *mm = current->mm;

	if (mm)
		rp_signal((struct pt_regs *)regs_get_kernel_argument(kregs, 0), mm);
	return 0;
}

/* Set up by rprobes_signal_hook(). */
static struct kprobe rp_sig_kp;

int rprobes_die_hook(void (*signal)(struct pt_regs *regs, void *mm), const u32 *active)
{
	rp_active = active;
	rp_signal = signal;
	return register_die_notifier(&rprobes_die_nb);
}

static bool rp_sig_on;

int rprobes_signal_hook(void)
{
	int ret;

	if (rp_sig_on)
		return 0;
	/* register_kprobe() fills the struct in: a fresh one each time. */
	memset(&rp_sig_kp, 0, sizeof(rp_sig_kp));
	rp_sig_kp.symbol_name = "arch_do_signal_or_restart";
	rp_sig_kp.pre_handler = rp_sig_pre;
	/*
	 * Registered disarmed, then armed: 7.3's register_kprobe() returns 0
	 * when it cannot arm a new ftrace-based probe (after taking it out of
	 * its table again), enable_kprobe() reports the failure.
	 */
	rp_sig_kp.flags = KPROBE_FLAG_DISABLED;
	ret = register_kprobe(&rp_sig_kp);
	if (ret)
		return ret;
	ret = enable_kprobe(&rp_sig_kp);
	if (ret) {
		unregister_kprobe(&rp_sig_kp);
		return ret;
	}
	rp_sig_on = true;
	return 0;
}

void rprobes_die_unhook(void)
{
	/* Both wait for running callbacks. */
	unregister_die_notifier(&rprobes_die_nb);
	if (rp_sig_on)
		unregister_kprobe(&rp_sig_kp);
	rp_sig_on = false;
}

/* ---- user words from the trap handlers ---- */

bool rprobes_user_write_u64(unsigned long addr, u64 val)
{
	u64 __user *p = (u64 __user *)addr;
	int ret;

	pagefault_disable();
	ret = put_user(val, p);
	pagefault_enable();
	return ret == 0;
}

bool rprobes_user_read_u64(unsigned long addr, u64 *val)
{
	u64 __user *p = (u64 __user *)addr;
	int ret;

	pagefault_disable();
	ret = get_user(*val, p);
	pagefault_enable();
	return ret == 0;
}

/* ---- signals queued by a stepped copy ---- */

bool rprobes_step_fault_fixup(unsigned long slot, unsigned long orig)
{
	struct sighand_struct *sighand = current->sighand;
	struct sigqueue *q;
	unsigned long flags;
	bool faulted = false;

	/* Exiting: nothing will be delivered. */
	if (!sighand)
		return false;
	spin_lock_irqsave(&sighand->siglock, flags);
	/*
	 * Faults are forced on the task itself (force_sig_fault()): they are
	 * in its private queue. si_code > 0: sent by the kernel, not by
	 * kill()/sigqueue()/tgkill(), whose siginfo user space chose.
	 */
	list_for_each_entry(q, &current->pending.list, list) {
		kernel_siginfo_t *info = &q->info;

		if (info->si_code <= 0)
			continue;
		switch (info->si_signo) {
		case SIGILL:
		case SIGFPE:
		case SIGTRAP:
		case SIGBUS:
			/* si_addr: the faulting instruction (#UD, #DE, #MF, #XM). */
			if ((unsigned long)info->si_addr == slot) {
				info->si_addr = (void __user *)orig;
				faulted = true;
			} else if (info->si_signo == SIGBUS) {
				/* si_addr: the data address (or NULL for #AC). */
				faulted = true;
			}
			break;
		case SIGSEGV:
			/* si_addr: the data address, or 0 (#GP). */
			faulted = true;
			break;
		}
	}
	spin_unlock_irqrestore(&sighand->siglock, flags);
	return faulted;
}

/* ---- process events: fork, exit, exec ---- */

static void (*rp_fork)(void *parent_mm, void *child);
static void (*rp_gone)(void);

static void rp_fork_probe(void *data, struct task_struct *parent, struct task_struct *child)
{
	struct mm_struct *mm = READ_ONCE(parent->mm);

	/* A vfork or CLONE_VM child shares the mm, and its probes. */
	if (mm && child->mm && child->mm != mm && !(child->flags & PF_KTHREAD))
		rp_fork(mm, child);
}

static void rp_exit_probe(void *data, struct task_struct *p, bool group_dead)
{
	if (group_dead)
		rp_gone();
}

static void rp_exec_probe(void *data, struct task_struct *p, pid_t old_pid,
			  struct linux_binprm *bprm)
{
	rp_gone();
}

static struct rp_tp {
	const char *name;
	void *probe;
	struct tracepoint *tp;
	bool on;
} rp_tps[] = {
	{ "sched_process_fork", rp_fork_probe },
	{ "sched_process_exit", rp_exit_probe },
	{ "sched_process_exec", rp_exec_probe },
};

static void rp_find_tp(struct tracepoint *tp, void *priv)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(rp_tps); i++)
		if (!strcmp(tp->name, rp_tps[i].name))
			rp_tps[i].tp = tp;
}

void rprobes_proc_unhook(void)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(rp_tps); i++) {
		if (rp_tps[i].on)
			tracepoint_probe_unregister(rp_tps[i].tp, rp_tps[i].probe, NULL);
		rp_tps[i].on = false;
	}
	tracepoint_synchronize_unregister();
}

int rprobes_proc_hook(void (*fork)(void *parent_mm, void *child), void (*gone)(void))
{
	int i, ret;

	rp_fork = fork;
	rp_gone = gone;
	for_each_kernel_tracepoint(rp_find_tp, NULL);
	for (i = 0; i < ARRAY_SIZE(rp_tps); i++) {
		if (!rp_tps[i].tp) {
			ret = -ENOENT;
			goto fail;
		}
		ret = tracepoint_probe_register(rp_tps[i].tp, rp_tps[i].probe, NULL);
		if (ret)
			goto fail;
		rp_tps[i].on = true;
	}
	return 0;
fail:
	rprobes_proc_unhook();
	return ret;
}

/* ---- task work: run @fn(@arg) in a task's own context ---- */

struct rp_twork {
	struct callback_head cb;
	void (*fn)(void *arg);
	void *arg;
	/* Made by rprobes_twork_new(): owned by the caller, never freed here. */
	bool owned;
};

static void rp_twork_run(struct callback_head *cb)
{
	struct rp_twork *w = container_of(cb, struct rp_twork, cb);
	void (*fn)(void *arg) = w->fn;
	void *arg = w->arg;

	/*
	 * An owned work belongs to what @fn may drop: not touched after the
	 * call. Ours is freed before it.
	 */
	if (!w->owned)
		kfree(w);
	fn(arg);
	/*
	 * The module's exit waits for synchronize_rcu_tasks(), so the few
	 * instructions left after this put cannot be freed under us.
	 */
	module_put(THIS_MODULE);
}

static int rp_twork_queue(struct rp_twork *w, void *task, void (*fn)(void *arg), void *arg)
{
	int ret;

	w->fn = fn;
	w->arg = arg;
	init_task_work(&w->cb, rp_twork_run);
	if (!try_module_get(THIS_MODULE))
		return -ENODEV;
	ret = task_work_add(task ? task : current, &w->cb, TWA_RESUME);
	if (ret)
		module_put(THIS_MODULE);
	return ret;
}

int rprobes_task_work(void *task, void (*fn)(void *arg), void *arg)
{
	struct rp_twork *w = kmalloc(sizeof(*w), GFP_ATOMIC | __GFP_NOWARN);
	int ret;

	if (!w)
		return -ENOMEM;
	w->owned = false;
	ret = rp_twork_queue(w, task, fn, arg);
	if (ret)
		kfree(w);
	return ret;
}

void *rprobes_twork_new(void)
{
	struct rp_twork *w = kzalloc(sizeof(*w), GFP_KERNEL);

	if (w)
		w->owned = true;
	return w;
}

int rprobes_twork_queue(void *w, void (*fn)(void *arg), void *arg)
{
	return rp_twork_queue(w, NULL, fn, arg);
}

void rprobes_twork_free(void *w)
{
	kfree(w);
}

/* ---- deferred reaping of dead address spaces ---- */

static void (*rp_reap)(void);

static void rp_reap_fn(struct work_struct *work)
{
	rp_reap();
}

static DECLARE_DELAYED_WORK(rp_reap_work, rp_reap_fn);

void rprobes_reap_init(void (*fn)(void))
{
	rp_reap = fn;
}

void rprobes_reap_kick(unsigned int ms)
{
	schedule_delayed_work(&rp_reap_work, msecs_to_jiffies(ms));
}

void rprobes_reap_stop(void)
{
	cancel_delayed_work_sync(&rp_reap_work);
}

/* ---- address spaces ---- */

void *rprobes_current_mm(void)
{
	return current->mm;
}

void rprobes_mm_drop(void *mm)
{
	mmdrop(mm);
}

bool rprobes_mm_alive(void *mm)
{
	return atomic_read(&((struct mm_struct *)mm)->mm_users) > 0;
}

bool rprobes_pid_uses_mm(int tgid, void *mm)
{
	struct task_struct *t;
	bool ret = false;

	rcu_read_lock();
	t = pid_task(find_vpid(tgid), PIDTYPE_TGID);
	if (t)
		ret = READ_ONCE(t->mm) == mm;
	rcu_read_unlock();
	return ret;
}

long rprobes_umm_rw(void *mmp, unsigned long addr, void *buf, unsigned int len, bool write)
{
	struct mm_struct *mm = mmp;
	struct vm_area_struct *vma;
	struct page *page;
	void *maddr;
	long ret = len;

	if (!len || (addr & ~PAGE_MASK) + len > PAGE_SIZE)
		return -EINVAL;
	if (!mmget_not_zero(mm))
		return -ESRCH;
	if (mmap_read_lock_killable(mm)) {
		mmput(mm);
		return -EINTR;
	}
	/* As ptrace does: a write to a private mapping breaks COW. */
	page = get_user_page_vma_remote(mm, addr, FOLL_FORCE | (write ? FOLL_WRITE : 0), &vma);
	if (IS_ERR(page)) {
		ret = PTR_ERR(page);
		goto out;
	}
	maddr = kmap_local_page(page);
	if (write) {
		copy_to_user_page(vma, page, addr, maddr + offset_in_page(addr), buf, len);
		set_page_dirty_lock(page);
	} else {
		copy_from_user_page(vma, page, addr, buf, maddr + offset_in_page(addr), len);
	}
	kunmap_local(maddr);
	put_page(page);
out:
	mmap_read_unlock(mm);
	mmput(mm);
	return ret;
}

/* ---- resolving a probe point ---- */

long rprobes_uprobe_resolve(int pid, const char *path, size_t path_len, unsigned long addr,
			    struct rprobes_upoint *out)
{
	struct task_struct *task;
	struct vm_area_struct *vma;
	struct mm_struct *mm;
	struct pid *p;
	long ret = 0;

	p = find_get_pid(pid);
	task = p ? get_pid_task(p, PIDTYPE_PID) : NULL;
	put_pid(p);
	if (!task)
		return -ESRCH;
	mm = get_task_mm(task);
	out->tgid = task_tgid_vnr(task);
	if (!mm) {
		put_task_struct(task);
		return -EINVAL;
	}
	out->vm_flags = 0;
	if (path) {
		char *pbuf = kmalloc(PATH_MAX, GFP_KERNEL);
		VMA_ITERATOR(vmi, mm, 0);

		ret = -ENOENT;
		if (!pbuf) {
			ret = -ENOMEM;
			goto out;
		}
		mmap_read_lock(mm);
		for_each_vma(vmi, vma) {
			unsigned long start = vma->vm_pgoff << PAGE_SHIFT;
			char *name;

			if (!vma->vm_file || addr < start ||
			    addr - start >= vma->vm_end - vma->vm_start)
				continue;
			name = d_path(&vma->vm_file->f_path, pbuf, PATH_MAX);
			if (IS_ERR(name) || strlen(name) != path_len || memcmp(name, path, path_len))
				continue;
			out->vaddr = vma->vm_start + (addr - start);
			ret = 0;
			break;
		}
		mmap_read_unlock(mm);
		kfree(pbuf);
		if (ret)
			goto out;
	} else {
		out->vaddr = addr;
	}
	mmap_read_lock(mm);
	vma = vma_lookup(mm, out->vaddr);
	if (vma) {
		out->vm_flags |= RPROBES_UVMA_MAPPED;
		if (vma->vm_flags & VM_READ)
			out->vm_flags |= RPROBES_UVMA_READ;
		if (vma->vm_flags & VM_WRITE)
			out->vm_flags |= RPROBES_UVMA_WRITE;
		if (vma->vm_flags & VM_EXEC)
			out->vm_flags |= RPROBES_UVMA_EXEC;
		if (vma->vm_flags & (VM_SHARED | VM_MAYSHARE))
			out->vm_flags |= RPROBES_UVMA_SHARED;
		if (vma->vm_flags & (VM_IO | VM_PFNMAP | VM_MIXEDMAP))
			out->vm_flags |= RPROBES_UVMA_SPECIAL;
	}
	mmap_read_unlock(mm);
	/*
	 * The instruction's bytes, page by page (not access_process_vm(),
	 * which turns every error into a short read): a lack of memory is
	 * ENOMEM, not "nothing mapped". A second page that cannot be read
	 * leaves what the first one has.
	 */
	{
		unsigned int n = min_t(unsigned long, sizeof(out->bytes),
				       PAGE_SIZE - offset_in_page(out->vaddr));
		long r2;

		ret = rprobes_umm_rw(mm, out->vaddr, out->bytes, n, false);
		if (ret == n && n < sizeof(out->bytes)) {
			r2 = rprobes_umm_rw(mm, out->vaddr + n, out->bytes + n,
					    sizeof(out->bytes) - n, false);
			if (r2 > 0)
				ret += r2;
			else if (r2 == -ENOMEM || r2 == -EINTR)
				ret = r2;
		}
		if (ret == 0 || (ret < 0 && ret != -ENOMEM && ret != -EINTR))
			ret = -EFAULT;
	}
	if (ret > 0 && out->mm_ref) {
		mmgrab(mm);
		out->mm = mm;
	}
out:
	mmput(mm);
	put_task_struct(task);
	return ret;
}

/* ---- the XOL area ---- */

void *rprobes_xol_page_alloc(void)
{
	struct page *page = alloc_page(GFP_KERNEL);

	if (page)
		memset(page_address(page), 0xcc, PAGE_SIZE);
	return page;
}

void rprobes_page_put(void *page)
{
	put_page(page);
}

void *rprobes_page_address(void *page)
{
	return page_address(page);
}

long rprobes_xol_map(void **pages, unsigned int n)
{
	struct mm_struct *mm = current->mm;
	unsigned long len = (unsigned long)n * PAGE_SIZE, hint = 0, addr;
	struct vm_area_struct *vma;
	unsigned int i;
	long ret;

	if (!mm)
		return -ESRCH;
	/* One page above the top of the stack, when that is free. */
	mmap_read_lock(mm);
	vma = find_vma(mm, mm->start_stack);
	if (vma && vma->vm_start <= mm->start_stack)
		hint = vma->vm_end + PAGE_SIZE;
	mmap_read_unlock(mm);
	addr = -ENOMEM;
	if (hint && hint + len <= TASK_SIZE && hint + len > hint)
		addr = vm_mmap(NULL, hint, len, PROT_READ | PROT_EXEC,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, 0);
	if (IS_ERR_VALUE(addr))
		addr = vm_mmap(NULL, 0, len, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, 0);
	if (IS_ERR_VALUE(addr))
		return addr;

	mmap_write_lock(mm);
	vma = vma_lookup(mm, addr);
	/* Another thread of the process may have changed it meanwhile. */
	if (!vma || vma->vm_start != addr || vma->vm_end != addr + len ||
	    !vma_is_anonymous(vma) || vma->anon_vma ||
	    (vma->vm_flags & (VM_WRITE | VM_SHARED)) != 0) {
		ret = -EBUSY;
		goto fail;
	}
	/*
	 * Never writable by user space (no VM_MAYWRITE: mprotect() refuses
	 * PROT_WRITE, and FOLL_FORCE writes need a COW mapping), not reachable
	 * by ptrace or /proc/PID/mem (VM_IO), not copied into children, not
	 * grown by mremap(), not dumped. The slots are our own pages.
	 */
	vm_flags_mod(vma, VM_DONTCOPY | VM_DONTEXPAND | VM_DONTDUMP | VM_IO | VM_MIXEDMAP,
		     VM_MAYWRITE);
	for (i = 0; i < n; i++) {
		ret = vm_insert_page(vma, addr + i * PAGE_SIZE, pages[i]);
		if (ret)
			goto fail;
	}
	mmap_write_unlock(mm);
	return addr;
fail:
	mmap_write_unlock(mm);
	vm_munmap(addr, len);
	return ret;
}

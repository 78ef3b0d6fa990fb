// SPDX-License-Identifier: GPL-2.0
/*
 * User memory for user probes (see user.h): user words under
 * pagefault_disable(), a stepped copy's pending signals, remote reads and
 * writes, VMA walks, and the XOL mapping (vm_mmap(), mmap_write_lock()).
 *
 * Lock order: the registry mutex (Rust) before mmap_lock; nothing here takes
 * a Rust lock while holding mmap_lock.
 */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/mmap_lock.h>
#include <linux/pagemap.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/signal.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/userfaultfd_k.h>

#include <asm/mmu_context.h>

#include "security.h"
#include "user.h"

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

/*
 * A user reference on @mm and its mmap_lock for read, or -ESRCH (no users
 * left) or -EINTR (a fatal signal); undone by mmap_read_unlock() and
 * mmput().
 */
static long rprobes_mm_read_lock(struct mm_struct *mm)
{
	if (!mmget_not_zero(mm))
		return -ESRCH;
	if (mmap_read_lock_killable(mm)) {
		mmput(mm);
		return -EINTR;
	}
	return 0;
}

/*
 * One page of @mm at @addr, as ptrace gets it (@flags: FOLL_FORCE, maybe
 * FOLL_WRITE), but never waiting for it (FOLL_NOWAIT): a page that needs I/O
 * first, or sits on a userfaultfd or FUSE mapping whose handler has not
 * answered, is -EAGAIN (the I/O started), not a sleep with mmap_lock and
 * rprobes' registry mutex held: such a process cannot freeze rprobes'
 * control files. mmap_lock held for read.
 */
static struct page *rprobes_gup_nowait(struct mm_struct *mm, unsigned long addr,
				       unsigned int flags, struct vm_area_struct **vmap)
{
	struct page *page;
	long got;

	got = get_user_pages_remote(mm, addr, 1, flags | FOLL_NOWAIT, &page, NULL);
	if (got < 0)
		return ERR_PTR(got);
	if (got == 0)
		return ERR_PTR(-EAGAIN);
	*vmap = vma_lookup(mm, addr);
	if (WARN_ON_ONCE(!*vmap)) {
		put_page(page);
		return ERR_PTR(-EINVAL);
	}
	return page;
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
	ret = rprobes_mm_read_lock(mm);
	if (ret)
		return ret;
	ret = len;
	/* As ptrace does: a write to a private mapping breaks COW. */
	page = rprobes_gup_nowait(mm, addr, FOLL_FORCE | (write ? FOLL_WRITE : 0), &vma);
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
	/*
	 * The writer must be allowed to attach to the process as ptrace
	 * would, before anything of its memory is looked at (its mappings,
	 * its bytes). @mm was taken first: if the process execs meanwhile,
	 * the check is of its new image and refuses (the mms differ).
	 */
	ret = rprobes_may_attach(pid, mm);
	if (ret)
		goto out;
	/* x86-64 code only: the decoder, emulation and steps are 64-bit. */
	if (!is_64bit_mm(mm)) {
		ret = -ENOEXEC;
		goto out;
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
			else if (r2 == -ENOMEM || r2 == -EINTR || r2 == -EAGAIN)
				ret = r2;
		}
		if (ret == 0 || (ret < 0 && ret != -ENOMEM && ret != -EINTR && ret != -EAGAIN))
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

/* ---- path probes ---- */

long rprobes_all_mms(struct rprobes_mmref *out, unsigned long cap)
{
	struct task_struct *p;
	unsigned long n = 0, i;

	rcu_read_lock();
	for_each_process(p) {
		struct mm_struct *mm;

		if (p->flags & PF_KTHREAD)
			continue;
		task_lock(p);
		mm = p->mm;
		/* A 32-bit (IA32) process is not probed: x86-64 code only. */
		if (mm && is_64bit_mm(mm)) {
			/* Threads share it; a vfork child too, for a while. */
			for (i = 0; i < n && i < cap; i++)
				if (out[i].mm == mm)
					break;
			if (i == n || i == cap) {
				if (n < cap) {
					mmgrab(mm);
					out[n].mm = mm;
					out[n].tgid = task_tgid_vnr(p);
				}
				n++;
			}
		}
		task_unlock(p);
	}
	rcu_read_unlock();
	return n;
}

void rprobes_mmdrop(void *mm)
{
	mmdrop(mm);
}

/* The mappings a path probe goes into (the kernel's valid_vma()). */
static bool rprobes_probe_vma(struct vm_area_struct *vma)
{
	vm_flags_t flags = VM_HUGETLB | VM_MAYEXEC | VM_MAYSHARE | VM_WRITE;

	return vma->vm_file && (vma->vm_flags & flags) == VM_MAYEXEC &&
	       !(vma->vm_flags & (VM_IO | VM_PFNMAP | VM_MIXEDMAP));
}

long rprobes_mm_file_vmas(void *mmp, void *inode, struct rprobes_fvma *out, unsigned int cap)
{
	struct mm_struct *mm = mmp;
	struct vm_area_struct *vma;
	long n = 0;
	VMA_ITERATOR(vmi, mm, 0);

	/* A 32-bit (IA32) process: no mapping path probes go into. */
	if (!is_64bit_mm(mm))
		return 0;
	n = rprobes_mm_read_lock(mm);
	if (n)
		return n;
	for_each_vma(vmi, vma) {
		if (!rprobes_probe_vma(vma) || file_inode(vma->vm_file) != inode)
			continue;
		if (n < cap) {
			out[n].start = vma->vm_start;
			out[n].end = vma->vm_end;
			out[n].offset = (u64)vma->vm_pgoff << PAGE_SHIFT;
		}
		n++;
	}
	mmap_read_unlock(mm);
	mmput(mm);
	return n;
}

/*
 * mmap_write_lock() without waiting: another process's mmap_lock is never
 * waited for with the registry mutex held. As mmap_write_lock() does, less
 * the tracepoints; undone by mmap_write_unlock().
 */
static bool rprobes_mmap_write_trylock(struct mm_struct *mm)
{
	if (!down_write_trylock(&mm->mmap_lock))
		return false;
	mm_lock_seqcount_begin(mm);
	return true;
}

/*
 * After the last breakpoint of a page of @mm at @addr was taken back: drop
 * the private copy the first write made (copy-on-write), when the page is
 * again what the file holds, so that the process shares the page cache's
 * page as before the probe. As the kernel's uprobes do at unregister
 * (__uprobe_write()), with mmap_lock held for write instead of the page
 * table lock: no ptrace write (FOLL_FORCE, under mmap_lock) can change the
 * page between the comparison and the zap, and the mapping, not writable,
 * cannot be written by the process itself. Nothing happens when the lock is
 * taken (not waited for), the page holds anything else (another probe's
 * int3, a debugger's), is pinned for DMA, the mapping is
 * writable or on a userfaultfd (a zap would be a fault it reports), or the
 * file's page is not in the page cache. Returns whether the copy went.
 */
static bool rprobes_drop_copy(struct mm_struct *mm, unsigned long addr)
{
	struct vm_area_struct *vma;
	struct folio *folio, *orig;
	struct page *page;
	void *a, *b;
	pgoff_t index;
	bool same = false;
	long got;

	addr &= PAGE_MASK;
	if (!mmget_not_zero(mm))
		return false;
	if (!rprobes_mmap_write_trylock(mm))
		goto put;
	vma = vma_lookup(mm, addr);
	if (!vma || !vma->vm_file || !vma_is_cow_mapping(vma) ||
	    (vma->vm_flags & (VM_WRITE | VM_IO | VM_PFNMAP | VM_MIXEDMAP | VM_HUGETLB)) ||
	    userfaultfd_armed(vma))
		goto unlock;
	got = get_user_pages_remote(mm, addr, 1, FOLL_FORCE | FOLL_NOWAIT, &page, NULL);
	if (got != 1)
		goto unlock;
	folio = page_folio(page);
	/*
	 * Not a copy, or one a device may write (DMA pin): it stays. Other
	 * references (the LRU's per-CPU batch, a migration, a reader of the
	 * page) only delay its freeing: the page they see is what the file
	 * holds, and no ptrace write can come (mmap_lock).
	 */
	if (!folio_test_anon(folio) || folio_test_large(folio) || folio_maybe_dma_pinned(folio))
		goto put_page;
	index = linear_page_index(vma, addr);
	orig = filemap_get_folio(vma->vm_file->f_mapping, index);
	if (IS_ERR(orig))
		goto put_page;
	if (folio_test_uptodate(orig)) {
		a = kmap_local_page(page);
		b = kmap_local_page(folio_file_page(orig, index));
		same = !memcmp(a, b, PAGE_SIZE);
		kunmap_local(b);
		kunmap_local(a);
	}
	folio_put(orig);
put_page:
	put_page(page);
	/* The next access faults the page cache's page in again. */
	if (same)
		zap_vma_range(vma, addr, PAGE_SIZE);
unlock:
	mmap_write_unlock(mm);
put:
	mmput(mm);
	return same;
}

long rprobes_umm_poke(void *mmp, unsigned long addr, void *inode, u8 old, u8 new)
{
	struct mm_struct *mm = mmp;
	struct vm_area_struct *vma;
	struct page *page;
	u8 *maddr;
	long ret = 0;

	ret = rprobes_mm_read_lock(mm);
	if (ret)
		return ret;
	/*
	 * Checked under the lock the write is made under: a mapping made
	 * MAP_SHARED (or unmapped, or another file's) since the probe point
	 * was resolved gets nothing, and the page cache never an int3.
	 */
	vma = vma_lookup(mm, addr);
	if (!vma || (vma->vm_flags & (VM_SHARED | VM_MAYSHARE | VM_IO | VM_PFNMAP | VM_MIXEDMAP)) ||
	    (inode && (!vma->vm_file || file_inode(vma->vm_file) != inode))) {
		ret = -ENOENT;
		goto out;
	}
	/*
	 * Taking an int3 back (or checking one is there) looks first without
	 * FOLL_WRITE: a mapping whose byte is not ours (a sweep over every
	 * process that maps a file) keeps sharing the page cache's page, no
	 * copy-on-write. Writing one expects the file's byte, the common
	 * case: one lookup, for writing.
	 */
	if (old == 0xcc) {
		page = rprobes_gup_nowait(mm, addr, FOLL_FORCE, &vma);
		if (IS_ERR(page)) {
			ret = PTR_ERR(page);
			goto out;
		}
		maddr = kmap_local_page(page);
		if (maddr[offset_in_page(addr)] != old)
			ret = -EBUSY;
		kunmap_local(maddr);
		put_page(page);
		if (ret || old == new)
			goto out;
	}
	page = rprobes_gup_nowait(mm, addr, FOLL_FORCE | FOLL_WRITE, &vma);
	if (IS_ERR(page)) {
		ret = PTR_ERR(page);
		goto out;
	}
	maddr = kmap_local_page(page);
	if (maddr[offset_in_page(addr)] != old) {
		ret = -EBUSY;
	} else {
		copy_to_user_page(vma, page, addr, maddr + offset_in_page(addr), &new, 1);
		set_page_dirty_lock(page);
	}
	kunmap_local(maddr);
	put_page(page);
out:
	mmap_read_unlock(mm);
	/* A breakpoint taken back: the copy it made may go. */
	if (!ret && old == 0xcc && new != 0xcc)
		rprobes_drop_copy(mm, addr);
	mmput(mm);
	return ret;
}

void *rprobes_vma_probe_inode(void *vmap)
{
	struct vm_area_struct *vma = vmap;

	if (vma->vm_mm != current->mm || !vma->vm_file || (vma->vm_flags & VM_MAYSHARE) ||
	    !is_64bit_mm(vma->vm_mm))
		return NULL;
	return file_inode(vma->vm_file);
}

/* A mapping that holds @inode's semaphores (the kernel's valid_ref_ctr_vma()). */
static unsigned long rprobes_ref_ctr_vaddr(struct vm_area_struct *vma, void *inode, u64 offset)
{
	u64 start = (u64)vma->vm_pgoff << PAGE_SHIFT;

	if (!vma->vm_file || file_inode(vma->vm_file) != inode ||
	    (vma->vm_flags & (VM_WRITE | VM_SHARED | VM_MAYSHARE)) != VM_WRITE ||
	    offset < start || offset - start >= vma->vm_end - vma->vm_start)
		return 0;
	return vma->vm_start + (offset - start);
}

long rprobes_ref_ctr_add(void *mmp, void *inode, u64 offset, unsigned long *vaddr, short delta)
{
	struct mm_struct *mm = mmp;
	struct vm_area_struct *vma;
	unsigned long addr = 0;
	struct page *page;
	short *ptr;
	long ret = 0;

	ret = rprobes_mm_read_lock(mm);
	if (ret)
		return ret;
	if (*vaddr) {
		vma = vma_lookup(mm, *vaddr);
		if (vma && rprobes_ref_ctr_vaddr(vma, inode, offset) == *vaddr)
			addr = *vaddr;
	} else {
		VMA_ITERATOR(vmi, mm, 0);

		for_each_vma(vmi, vma) {
			addr = rprobes_ref_ctr_vaddr(vma, inode, offset);
			if (addr)
				break;
		}
	}
	if (!addr) {
		ret = -ENOENT;
		goto out;
	}
	*vaddr = addr;
	if (!delta)
		goto out;
	page = rprobes_gup_nowait(mm, addr, FOLL_FORCE | FOLL_WRITE, &vma);
	if (IS_ERR(page)) {
		ret = PTR_ERR(page);
		goto out;
	}
	ptr = kmap_local_page(page) + offset_in_page(addr);
	if (*ptr + delta < 0) {
		ret = -EINVAL;
	} else {
		*ptr += delta;
		set_page_dirty_lock(page);
	}
	kunmap_local(ptr);
	put_page(page);
out:
	mmap_read_unlock(mm);
	mmput(mm);
	return ret;
}

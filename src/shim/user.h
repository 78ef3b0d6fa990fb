/* SPDX-License-Identifier: GPL-2.0 */
/*
 * user.c: user memory for src/uprobes/ and src/sys/user.rs.
 */
#ifndef RPROBES_SHIM_USER_H
#define RPROBES_SHIM_USER_H

#include <linux/types.h>

/* A resolved user probe point (rprobes_uprobe_resolve()). */
struct rprobes_upoint {
	/* The virtual address of the probe point. */
	unsigned long vaddr;
	/* Out: the process's mm, with a mm_count reference (mmgrab()), if
	 * @mm_ref was set; an `ARef<Mm>` in Rust. */
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
 * would (FOLL_FORCE). Current (the writer) must be allowed to attach to the
 * process as ptrace would (rprobes_may_attach()). Returns the number of bytes
 * read, or -ESRCH (no such process), -EINVAL (no user memory: a kernel
 * thread, or exiting), -EPERM (no ptrace access), -ENOENT
 * (the file is not mapped there), -ENOEXEC (a 32-bit process: x86-64 code
 * only), -EFAULT (nothing readable), -EAGAIN (not
 * readable without waiting: see rprobes_umm_poke()), -ENOMEM.
 */
long rprobes_uprobe_resolve(int pid, const char *path, size_t path_len, unsigned long addr,
			    struct rprobes_upoint *out);

/*
 * Reads or writes @len bytes (within one page) at @addr of @mm, as ptrace
 * does: FOLL_FORCE, and a write to a private mapping breaks COW, so only
 * this address space sees it; never waits for a page (-EAGAIN, as
 * rprobes_umm_poke()). Process context. Returns @len or -errno.
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

/*
 * Maps @n pages as current's XOL area: r-x, anonymous, placed one page
 * above the stack when free (else wherever mmap puts it); never writable
 * by user space, not copied on fork. Returns the address or -errno.
 */
long rprobes_xol_map(void **pages, unsigned int n);

/* ---- path probes: every process that maps a file ---- */

/* A process's address space (rprobes_all_mms()). */
struct rprobes_mmref {
	/* With a mm_count reference (mmgrab()): rprobes_mmdrop() it. */
	void *mm;
	/* The thread group id of a process using it. */
	int tgid;
};

/*
 * The address spaces of the processes alive now (64-bit ones: a 32-bit
 * process is never probed), each once, each with a mm_count reference: at most @cap are stored in @out; returns how many there
 * are (more than @cap: call again with room for them; the ones stored must be
 * dropped either way). Kernel threads have none. Process context.
 */
long rprobes_all_mms(struct rprobes_mmref *out, unsigned long cap);

/* Drops a reference of rprobes_all_mms() (mmdrop()). */
void rprobes_mmdrop(void *mm);

/* A mapping of a file (rprobes_mm_file_vmas()). */
struct rprobes_fvma {
	unsigned long start;
	unsigned long end;
	/* The file offset mapped at @start. */
	u64 offset;
};

/*
 * The mappings of @mm that map @inode as the kernel's uprobes would probe
 * them: private (not VM_MAYSHARE), VM_MAYEXEC, not writable, not hugetlb.
 * At most @cap in @out; returns how many there are, or -ESRCH (no users
 * left), -EINTR. Takes mmap_lock for read. Process context.
 */
long rprobes_mm_file_vmas(void *mm, void *inode, struct rprobes_fvma *out, unsigned int cap);

/*
 * Replaces the byte @old at @addr of @mm with @new, as ptrace writes (a
 * private mapping's copy-on-write is broken first), after checking under the
 * same mmap_lock that @addr is in a private mapping (not VM_MAYSHARE, not
 * VM_IO/PFNMAP/MIXEDMAP) and, when @inode is not NULL, that the mapping is of
 * @inode: an int3 never reaches the page cache or the file. Returns 0, or
 * -EBUSY (the byte there is not @old: then nothing is written, and when
 * @old is an int3 no copy-on-write is broken; @old == @new == int3 only
 * checks the byte), -EAGAIN (the
 * page is not there without waiting: I/O started, or a userfaultfd or FUSE
 * mapping whose handler has not answered; try again later), -ENOENT (not mapped, shared, or of
 * another file), -ESRCH (no users left), -EINTR (a fatal signal), -ENOMEM,
 * -EFAULT. Process context.
 */
long rprobes_umm_poke(void *mm, unsigned long addr, void *inode, u8 old, u8 new);

/*
 * Adds @delta to the 16-bit USDT semaphore at file offset @offset of @inode
 * in @mm, as the kernel's uprobes do (a ptrace-like write that breaks
 * copy-on-write): in the private, writable mapping of @inode that holds that
 * offset, at *@vaddr if it is not 0 (then rechecked), else found and stored
 * in *@vaddr. @delta 0 only finds it. Returns 0, or -ENOENT (no such mapping
 * yet), -EINVAL (the counter would go below 0: unchanged), -ESRCH, -EINTR,
 * -ENOMEM, -EFAULT. Process context.
 */
long rprobes_ref_ctr_add(void *mm, void *inode, u64 offset, unsigned long *vaddr, short delta);

/*
 * For the mmap hook (a kprobe on uprobe_mmap(), atomic): the inode of @vma's
 * file if @vma is a private file mapping of current's address space (text
 * for path probes, data for their USDT semaphores), else NULL.
 */
void *rprobes_vma_probe_inode(void *vma);

#endif

// SPDX-License-Identifier: GPL-2.0
/*
 * The writer's rights over a probed process (see security.h): the kernel's
 * own ptrace check, reached through /proc/PID/mem because 7.3 exports
 * neither ptrace_may_access() nor mm_access() to modules.
 */
#include <linux/cred.h>
#include <linux/dcache.h>
#include <linux/err.h>
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/uidgid.h>

#include "security.h"

/*
 * Opens /proc/@pid/mem as current, with its real uid and gid as fs ids:
 * procfs checks PTRACE_MODE_ATTACH | PTRACE_MODE_FSCREDS, which compares
 * the fs ids; with them set to the real ones it is the REALCREDS check
 * ptrace(2) and process_vm_writev(2) make. (The capability part uses the
 * effective set where REALCREDS would use the permitted one: never more
 * lenient.)
 */
static struct file *open_mem(int pid)
{
	const struct cred *cur = current_cred(), *old = NULL;
	struct cred *real = NULL;
	struct file *f;
	char path[32];

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	if (!uid_eq(cur->fsuid, cur->uid) || !gid_eq(cur->fsgid, cur->gid)) {
		real = prepare_creds();
		if (!real)
			return ERR_PTR(-ENOMEM);
		real->fsuid = real->uid;
		real->fsgid = real->gid;
		old = override_creds(real);
	}
	f = filp_open(path, O_RDONLY, 0);
	if (real) {
		revert_creds(old);
		put_cred(real);
	}
	return f;
}

long rprobes_may_attach(int pid, struct mm_struct *mm)
{
	struct dentry *d;
	struct file *f;
	long ret;

	f = open_mem(pid);
	/*
	 * procfs reports a failed allocation of the inode of /proc/PID or of
	 * its `mem` as ENOENT (proc_pid_instantiate()): once more, so that
	 * an allocation failure is not taken for a missing /proc.
	 */
	if (PTR_ERR_OR_ZERO(f) == -ENOENT)
		f = open_mem(pid);
	if (IS_ERR(f)) {
		ret = PTR_ERR(f);
		return ret == -ENOMEM || ret == -EINTR ? ret : -EPERM;
	}
	/*
	 * Is it the `mem` file of a procfs, whose open checked the task
	 * owning @mm? __mem_open() keeps the mm it checked in private_data
	 * (compared here, never dereferenced). A /proc/PID/mem of another
	 * pid namespace or under a bind mount names another process (or
	 * another file: its dentry is the real one); an exec since the
	 * caller took @mm gave the task another mm.
	 */
	d = f->f_path.dentry;
	ret = 0;
	if (d->d_sb->s_magic != PROC_SUPER_MAGIC || strcmp(d->d_name.name, "mem") ||
	    f->private_data != mm)
		ret = -EPERM;
	fput(f);
	return ret;
}

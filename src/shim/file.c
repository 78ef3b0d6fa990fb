// SPDX-License-Identifier: GPL-2.0
/*
 * A file read by path (see file.h): the Rust `kernel` crate of 7.3 has
 * `File` for descriptors (`fget`) but no open by path and no read.
 */
#include <linux/err.h>
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/namei.h>
#include <linux/path.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "file.h"

void *rprobes_file_open(const char *path, size_t len, u64 *size)
{
	struct path p;
	struct file *f;
	char *name;
	int err;

	if (len >= PATH_MAX)
		return ERR_PTR(-ENAMETOOLONG);
	if (memchr(path, 0, len))
		return ERR_PTR(-EINVAL);
	name = kmemdup_nul(path, len, GFP_KERNEL);
	if (!name)
		return ERR_PTR(-ENOMEM);
	/* Not even open a device or a FIFO (an open may block or act). */
	err = kern_path(name, LOOKUP_FOLLOW, &p);
	if (!err) {
		if (!d_is_reg(p.dentry))
			err = -EACCES;
		path_put(&p);
	}
	if (err) {
		kfree(name);
		return ERR_PTR(err);
	}
	f = filp_open(name, O_RDONLY | O_LARGEFILE | O_NOCTTY | O_NONBLOCK, 0);
	kfree(name);
	if (IS_ERR(f))
		return f;
	/* Renamed over in between: still read regular files only. */
	if (!S_ISREG(file_inode(f)->i_mode)) {
		fput(f);
		return ERR_PTR(-EACCES);
	}
	*size = i_size_read(file_inode(f));
	return f;
}

long rprobes_file_read(void *file, u64 off, void *buf, size_t len)
{
	loff_t pos = off;

	if (fatal_signal_pending(current))
		return -EINTR;
	if (off > LLONG_MAX)
		return 0;
	return kernel_read(file, buf, len, &pos);
}

void rprobes_file_close(void *file)
{
	fput(file);
}

void *rprobes_file_inode(void *file)
{
	struct inode *inode = file_inode((struct file *)file);

	ihold(inode);
	return inode;
}

void rprobes_iput(void *inode)
{
	iput(inode);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Reading a seq_file from the kernel (see seqread.h): init_sync_kiocb()
 * and iov_iter_kvec() set-up are inlines.
 */
#include <linux/fs.h>
#include <linux/seq_file.h>
#include <linux/uio.h>

#include "seqread.h"

long rprobes_seq_kernel_read(void *filp, void *buf, size_t count, long long *pos)
{
	struct file *file = filp;
	struct kvec iov = { .iov_base = buf, .iov_len = count };
	struct iov_iter iter;
	struct kiocb kiocb;
	ssize_t ret;

	init_sync_kiocb(&kiocb, file);
	kiocb.ki_pos = *pos;
	iov_iter_kvec(&iter, ITER_DEST, &iov, 1, count);
	ret = seq_read_iter(&kiocb, &iter);
	if (ret > 0)
		*pos = kiocb.ki_pos;
	return ret;
}

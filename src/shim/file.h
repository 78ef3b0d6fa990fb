/* SPDX-License-Identifier: GPL-2.0 */
/*
 * file.c: a file read by path, for the ELF symbol reader of
 * `PID:PATH:SYMBOL[+OFF]` (src/sys/file.rs). Process context only.
 */
#ifndef RPROBES_SHIM_FILE_H
#define RPROBES_SHIM_FILE_H

#include <linux/types.h>

/*
 * Opens the regular file @path (@len bytes, no NUL) read-only, as current
 * would open(2) it (its root, cwd, credentials and permissions), and sets
 * *@size to its size (i_size_read()). Anything but a regular file is
 * refused before it is opened (-EACCES, as execve(2) refuses it), so no
 * device or FIFO is opened or read. Returns the file (a reference, for
 * rprobes_file_close()) or an ERR_PTR (-ENOENT, -EACCES, -ENOMEM, -EINVAL
 * for a path with a NUL, -ENAMETOOLONG, ...).
 */
void *rprobes_file_open(const char *path, size_t len, u64 *size);

/*
 * Reads up to @len bytes at @off of @file (kernel_read()). Returns the
 * number read (0 at the end), or -errno; -EINTR when current has a fatal
 * signal pending.
 */
long rprobes_file_read(void *file, u64 off, void *buf, size_t len);

/* Drops the reference of rprobes_file_open() (fput()). */
void rprobes_file_close(void *file);

/*
 * The inode of @file, with a reference of its own (ihold()): a path probe
 * keeps its file's inode, so that the inode is not reused while the probe
 * names it. Drop it with rprobes_iput().
 */
void *rprobes_file_inode(void *file);

/* Drops a reference of rprobes_file_inode() (iput(); sleeps). */
void rprobes_iput(void *inode);

#endif

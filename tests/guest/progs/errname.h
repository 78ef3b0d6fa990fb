/* SPDX-License-Identifier: GPL-2.0 */
/*
 * errname.h: ename(), an errno's name as the guest tests compare it
 * ("EINVAL"; "OK" for 0; "E123" for a number glibc has no name for). Shared by the
 * test programs that print errno names (ctl, faultinj, fdio, uhostile).
 * Needs _GNU_SOURCE (strerrorname_np, glibc 2.32) before any include.
 */
#ifndef RPROBES_ERRNAME_H
#define RPROBES_ERRNAME_H

#include <stdio.h>
#include <string.h>

static inline const char *ename(int e)
{
	static char buf[16];
	const char *n = e ? strerrorname_np(e) : "OK";

	if (n)
		return n;
	snprintf(buf, sizeof(buf), "E%d", e);
	return buf;
}

#endif

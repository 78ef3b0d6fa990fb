#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# `make run`: probe a few hot kernel functions, run a workload, show counts.
D=/sys/kernel/debug/rprobes
echo "# insmod rprobes.ko kprobes=do_sys_openat2,vfs_read,vfs_write,__x64_sys_getpid"
insmod /rprobes.ko kprobes=do_sys_openat2,vfs_read,vfs_write,__x64_sys_getpid || exit 1
echo "# cat $D/probes"
cat $D/probes
echo "# workload: find / ; cat /proc/*/stat ; ls -lR /sys/kernel/debug/rprobes"
find / -xdev >/dev/null 2>&1
cat /proc/*/stat >/dev/null 2>&1
ls -lR $D >/dev/null
echo "# cat $D/profile   (event, hits, misses, kprobe nmissed)"
cat $D/profile
rmmod rprobes

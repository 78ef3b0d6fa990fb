# SPDX-License-Identifier: GPL-2.0
# insmod with kprobes=: probes registered, parameter visible, hits counted;
# a bad parameter fails insmod and leaves nothing registered.
. /tests/lib.sh
load kprobes=vfs_read,__x64_sys_sched_get_priority_min+0
check "parameter in sysfs" grep -qx 'vfs_read,__x64_sys_sched_get_priority_min+0' /sys/module/rprobes/parameters/kprobes
cat $D/probes
check "vfs_read probe listed" grep -qx 'p:rprobes/p_vfs_read_0 vfs_read' $D/probes
check "syscall probe listed" grep -qx 'p:rprobes/p___x64_sys_sched_get_priority_min_0 __x64_sys_sched_get_priority_min' $D/probes
check "kernel lists 2 kprobes" [ "$(wc -l </sys/kernel/debug/kprobes/list)" -eq 2 ]
cat /proc/version >/dev/null
check "vfs_read hit" [ "$(hits rprobes/p_vfs_read_0)" -gt 0 ]
rmmod rprobes || fail rmmod
check "rmmod unregistered everything" [ ! -s /sys/kernel/debug/kprobes/list ]

for bad in no_such_function_xyz 'vfs_read,no_such_function_xyz' 'vfs_read+0x100000000' 'r:x'; do
	if insmod /rprobes.ko kprobes="$bad" 2>/dev/null; then fail "insmod kprobes=$bad succeeded"; fi
	check "kprobes=$bad refused, module not loaded" [ ! -d /sys/module/rprobes ]
	check "kprobes=$bad left no kprobe" [ ! -s /sys/kernel/debug/kprobes/list ]
done
dmesg | grep "kprobes=: cannot probe" | tail -n 4
check "reason in the kernel log" in_dmesg "cannot probe 'no_such_function_xyz': Invalid probed address or symbol"
finish

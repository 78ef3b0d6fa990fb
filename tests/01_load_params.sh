# SPDX-License-Identifier: GPL-2.0
# debug-cost: 343
# insmod with kprobes= and uprobes=: probes registered, parameter visible,
# hits counted (exactly, for the user probes of a running program); a bad
# item fails insmod with its errno and a reason in the kernel log and
# leaves nothing registered and no breakpoint.
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

# uprobes=: points of a running uprobe_loop, PID:0xADDR and PID:PATH:0xOFF.
trap uprobe_cleanup EXIT
N=$(scaled 1000 100)
BIN=/tests/progs/uprobe_loop
uloop_reference ref
ref=$res
uloop_start p
pid=$pid_p
a_push=$(uloop_addr p u_push)
a_rip=$(uloop_addr p u_rip)
o_rip=$(file_off $pid $BIN $a_rip)
[ -n "$o_rip" ] || fail "no file offset for u_rip"
param="$pid:$a_push,$pid:$BIN:$o_rip"
load uprobes="$param"
check "uprobes= in sysfs" grep -qx "$param" /sys/module/rprobes/parameters/uprobes
cat $D/probes
check "PID:0xADDR probe listed" grep -qx "p:rprobes/p_${pid}_$a_push $pid:$a_push" $D/probes
check "PID:PATH:0xOFF probe listed" grep -qx "p:rprobes/p_${pid}_uprobe_loop_$o_rip $pid:$BIN:$o_rip" $D/probes
check "2 probes" [ "$(grep -c . $D/probes)" = 2 ]
touch /tmp/go.p
uloop_result p
echo "probed: $res"
check "probed output identical" [ "$res" = "$ref" ]
# u_rip runs directly and through u_icall: 2N.
check "u_push hit exactly $N times" [ "$(hits rprobes/p_${pid}_$a_push)" = $N ]
check "u_rip hit exactly $((2 * N)) times" [ "$(hits rprobes/p_${pid}_uprobe_loop_$o_rip)" = $((2 * N)) ]
xol_line $pid
check "u_rip stepped" [ "$(xol_field $pid stepped)" = $((2 * N)) ]
check "u_push emulated" [ "$(xol_field $pid emulated)" = $N ]
rmmod rprobes || fail rmmod
printf 'u_push %s\nu_rip %s\nu_int3 %s\n' $a_push $a_rip "$(uloop_addr p u_int3)" >/tmp/up.pts
text_ok() { # the process's bytes at the points are the file's
	ubytes $pid $BIN </tmp/up.pts >/tmp/up.bytes || return 1
	awk '$4 != $5 { bad = 1 } END { exit bad }' /tmp/up.bytes
}
check "rmmod restored the text" text_ok

# A bad item fails the load with its errno and a reason in the kernel log,
# and leaves nothing: no module, no breakpoint (a good item before it is
# taken out again), the process runs on correctly.
touch /tmp/end.p
wait $pid_p
check "the probed process exited 0" [ $? = 0 ]
uloop_start q
pid=$pid_q
a_push=$(uloop_addr q u_push)
a_rip=$(uloop_addr q u_rip)
printf 'u_push %s\nu_rip %s\nu_int3 %s\n' $a_push $a_rip "$(uloop_addr q u_int3)" >/tmp/up.pts
sh -c 'exit 0' &
dead=$!
wait $dead
bad_load() { # errno dmesg-text item
	dmesg -c >/dev/null
	got=$(ctl -m /rprobes.ko uprobes="$3")
	check "uprobes=$3: load fails with $1 (got $got)" [ "$got" = "$1" ]
	check "uprobes=$3: module not loaded" [ ! -d /sys/module/rprobes ]
	check "uprobes=$3: reason in the kernel log" in_dmesg "uprobes=: cannot probe '[^']*': $2"
	check "uprobes=$3: the process's text unchanged" text_ok
}
bad_load ESRCH "No such process" "$pid:$a_push,$dead:$a_push"
bad_load EINVAL "The instruction cannot be probed: int" "$pid:$a_push,$pid:$(uloop_addr q u_int3)"
bad_load EINVAL "Invalid uprobe offset" "$pid:$a_rip,$pid:4096"
bad_load EINVAL "Invalid uprobe offset" "$pid:$a_rip,$pid:0x"
bad_load ENOENT "The file is not mapped at that offset" "$pid:$a_push,$pid:/no/such:0x0"
bad_load EINVAL "not a user probe point" "$pid:$a_push,vfs_read"
check "no kprobe left" [ ! -s /sys/kernel/debug/kprobes/list ]
check "kprobes=PID:ADDR fails with EINVAL" [ "$(ctl -m /rprobes.ko kprobes="$pid:$a_push")" = EINVAL ]
check "kprobes= takes no user probe point" in_dmesg "kprobes=: cannot probe '$pid:$a_push': not a kernel probe point"
touch /tmp/go.q /tmp/end.q
uloop_result q
check "the process ran correctly after the failed loads" [ "$res" = "$ref" ]
wait $pid_q
check "it exited 0" [ $? = 0 ]
finish

# SPDX-License-Identifier: GPL-2.0
# debug-cost: 34
# Environment check, no rprobes involved: the kernel's own tracefs kprobes
# on vfs_read/ksys_read, removed while two vCPUs hit them. Under QEMU 7.2's
# multi-threaded TCG this oopses in the kernel's text patching (cross-
# modifying code), which is why scripts/run-qemu uses `-accel
# tcg,thread=single` (2 vCPUs, interleaved). If this fails, the guest
# environment is unsound and no later result means anything.
. /tests/lib.sh
for round in 1 2 3; do
	echo 'p:k1 vfs_read' >$T/kprobe_events || fail "tracefs add"
	echo 'p:k2 ksys_read' >>$T/kprobe_events || fail "tracefs add"
	echo 1 >$T/events/kprobes/enable
	trigger -r 2 &
	p1=$!
	trigger -r 2 &
	p2=$!
	sleep 1
	echo 0 >$T/events/kprobes/enable
	echo >$T/kprobe_events || fail "tracefs clear"
	wait $p1 $p2
	echo "round $round: removed under load"
done
check "two vCPUs online" [ "$(grep -c ^processor /proc/cpuinfo)" -ge 2 ]
finish

# SPDX-License-Identifier: GPL-2.0
# debug-cost: 78
# rmmod while every CPU hits the probes: no crash, every kprobe removed.
. /tests/lib.sh
for round in 1 2 3; do
	load kprobes=vfs_read,ksys_read
	trigger -r 3 &
	p1=$!
	trigger -r 3 &
	p2=$!
	sleep 1
	check "round $round: hits while loaded" [ "$(hits rprobes/p_vfs_read_0)" -gt 0 ]
	rmmod rprobes || fail "rmmod under load"
	check "round $round: no kprobe left" [ ! -s /sys/kernel/debug/kprobes/list ]
	wait $p1 $p2
done
finish

# SPDX-License-Identifier: GPL-2.0
# debug-cost: 9
# One short repetition of every `make bench` case, so the benchmark cannot
# rot: each case must produce a number (not a benchmark: no timing check).
. /tests/lib.sh
# The debug kernel's run is long enough without it (some 130 s there), and
# the main kernel's run keeps the benchmark from rotting.
[ "${rpdebug:-0}" = 1 ] && skip "the benchmark's smoke test runs on the main kernel only"
# NPROBES: each of them is registered and removed 3 times (about 0.3 s each
# on the debug kernel).
/tests/bench.sh 1 2000 $(scaled 20 4) >/tmp/bench.out 2>&1
cat /tmp/bench.out
check "bench finished" grep -q '^BENCHDONE' /tmp/bench.out
for c in syscall_base ufunc_base kprobe_tracefs kprobe_rprobes kprobe_rprobes_noevent kprobe_rprobes_disarmed \
	kprobe_rprobes_1000 kretprobe_tracefs kretprobe_rprobes kprobe3_tracefs kprobe3_rprobes \
	uprobe_base uprobe_emu_tracefs uprobe_emu_rprobes uprobe_mov_tracefs uprobe_mov_rprobes uprobe_step_tracefs uprobe_step_rprobes uprobe_rip_tracefs uprobe_rip_rprobes reg_rprobes del_rprobes mem_rprobes memacct_rprobes reg_tracefs del_tracefs mem_tracefs; do
	check "case $c measured" grep -Eq "^BENCH $c 1 -?[0-9.]+\$" /tmp/bench.out
done
check "module unloaded by the bench" [ ! -d /sys/module/rprobes ]
finish

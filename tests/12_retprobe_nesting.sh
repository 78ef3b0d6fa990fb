# SPDX-License-Identifier: GPL-2.0
# debug-cost: 60
# Return probes under recursion, nesting, concurrency, maxactive pressure
# and migration: every return is seen, in LIFO order, with the right value.
. /tests/lib.sh
load
S=$D/selftest

# Recursion: rprobes_selftest_recurse(n) returns n; the innermost call
# returns first, so the values come back as 0, 1, ..., 9 (10 calls: the
# default maxactive on 2 CPUs is max(10, 2 * CPUs) = 10).
echo 'r:rec rprobes_selftest_recurse' >>$D/probes || fail add
echo 'recurse 9' >$S || fail "selftest recurse"
check "10 returns for depth 9" [ "$(hits rprobes/rec)" -eq 10 ]
got=$(awk '/ rprobes\/rec: / { sub(/.*ret=/, ""); printf "%s ", $0 }' $D/returns)
echo "# recursion returns: $got"
check "LIFO: every level, innermost first" \
	[ "$got" = "0x0 0x1 0x2 0x3 0x4 0x5 0x6 0x7 0x8 0x9 " ]
check "each level returns into the level above" \
	[ "$(grep -c 'rprobes/rec: (rprobes_selftest_recurse+' $D/returns)" -eq 9 ]
echo 'recurse 40' >$S
cat $D/profile
check "depth 40 beyond maxactive: extra levels are maxactive misses" \
	[ "$(awk '$1 == "rprobes/rec" { print $2 + $5 }' $D/profile)" -eq 51 ]
check "and some were misses" [ "$(awk '$1 == "rprobes/rec" { print $5 }' $D/profile)" -gt 0 ]
echo '-:rec' >>$D/probes
echo 'r64:rec rprobes_selftest_recurse' >>$D/probes || fail add
echo 'recurse 63' >$S
check "r64: all 64 levels seen" [ "$(hits rprobes/rec)" -eq 64 ]

# Nesting: outer(7) calls inner(7) = 15, outer returns 115.
echo 'r:in rprobes_selftest_inner' >>$D/probes || fail add
echo 'r:out rprobes_selftest_outer' >>$D/probes || fail add
echo 'p:outentry rprobes_selftest_outer' >>$D/probes || fail add
echo 'nest 7' >$S
check "inner returned 15" grep -q ' rprobes/in: .* ret=0xf$' $D/returns
check "outer returned 115" grep -q ' rprobes/out: .* ret=0x73$' $D/returns
check "entry probe on the same function still counts" [ "$(hits rprobes/outentry)" -eq 1 ]
check "inner's caller is outer" grep -q 'rprobes/in: (rprobes_selftest_outer+' $D/returns
echo >$D/probes

# Every register and the arithmetic flags survive the trampoline, caller-
# and callee-saved alike (the selftest checks them right after the return;
# rprobes_selftest_regs is plain asm, so its probe is an int3 kprobe).
echo 'regs 0' >$S || fail "registers wrong without a probe"
echo 'r:regs rprobes_selftest_regs' >>$D/probes || fail add
echo 'regs 0' >$S
check "registers and flags intact after a probed return" [ $? -eq 0 ]
check "and the return was seen" [ "$(hits rprobes/regs)" -eq 1 ]
check "entry to a plain-asm function is an int3 kprobe" \
	not grep -q 'rprobes_selftest_regs.*FTRACE' /sys/kernel/debug/kprobes/list

# Concurrent callers on every vCPU: exact counts, no instance lost.
echo 'r:sg __x64_sys_sched_get_priority_min' >>$D/probes || fail add
ncpu=$(nproc)
pids=
for c in $(seq 0 $((ncpu - 1))); do
	for k in 1 2; do
		taskset -c $c trigger 3000 &
		pids="$pids $!"
	done
done
wait $pids
total=$((ncpu * 2 * 3000))
cat $D/profile
h=$(hits rprobes/sg)
m=$(awk '$1 == "rprobes/sg" { print $5 }' $D/profile)
check "every return handled or counted as a maxactive miss ($h + $m)" [ $((h + m)) -eq $total ]
check "default maxactive is enough for $((ncpu * 2)) callers" [ "$m" -eq 0 ]
check "nothing in flight" [ "$(awk '$1 == "rprobes/sg" { print $6 }' $D/profile)" -eq 0 ]

# maxactive 1 and three sleepers at once: one in flight, two misses.
echo 'r1:sl1 rprobes_selftest_sleep' >>$D/probes || fail add
for i in 1 2 3; do echo "sleep $((1000 * SLOW))" >$S & done
usleep $((300000 * SLOW))
check "one instance in flight" [ "$(awk '$1 == "rprobes/sl1" { print $6 }' $D/profile)" -eq 1 ]
wait
check "two maxactive misses" [ "$(awk '$1 == "rprobes/sl1" { print $5 }' $D/profile)" -eq 2 ]
check "one return" [ "$(hits rprobes/sl1)" -eq 1 ]

# A sleeper moved to the other CPU returns there.
if [ "$ncpu" -ge 2 ]; then
	echo 'r:sl rprobes_selftest_sleep' >>$D/probes || fail add
	taskset -c 0 sh -c "echo 'sleep $((1000 * SLOW))' >$S" &
	p=$!
	usleep $((300000 * SLOW))
	taskset -p -c 1 $p >/dev/null || fail "taskset -p"
	wait $p
	grep sl: $D/latency
	check "returned on another CPU than it entered" grep -q '^rprobes/sl: returns 1 (migrated 1)' $D/latency
	lat='^\[512M, 1G)  *1 \|^\[1G, 2G)  *1 '
	[ $SLOW = 5 ] && lat='^\[4G, 8G)  *1 '
	check "latency about $SLOW s" grep -q "$lat" $D/latency
fi
echo >$D/probes
check "no instance left" grep -q '^in_flight 0$' $D/instances
finish

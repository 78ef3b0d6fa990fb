# SPDX-License-Identifier: GPL-2.0
# debug-cost: 428
# timeout: 600
# Life cycle of a probed process (progs/ulife.c): fork children run
# unprobed on their original text without an XOL area and are not
# counted; vfork children share the mm and are counted; a vfork child's
# exec leaves the parent's probes alone; exec drops the old image's probes;
# 1000 fork/exit cycles with a probe hit each time leak nothing, nor do
# 200 fresh processes each probed, stepped and exiting; probes
# removed and re-added while threads hit them; a stepped instruction that
# faults: the step is aborted before the SIGSEGV frame is built, so the
# handler sees the unprobed context, the thread is not left mid-step (rmmod
# works while it sleeps in its handler), and the load is redone correctly
# after the handler, with the probe gone. The XOL area goes one page above
# the [stack] mapping, or elsewhere when the program has mapped that page.
. /tests/lib.sh
trap uprobe_cleanup EXIT
load
val() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
start() { # out mode args...: starts ulife, sets $bg, waits for ready
	o=$1
	shift
	uprog_start ulife $o /tmp/ul.go "$@"
}
probe() { # out point...
	o=$1
	shift
	uprog_probe $o ul "$@"
}
# Starts ulife MODE ARGS (out file $o), probes l_emu and l_step, lets it
# go and waits until it is done; its output but the points is logged.
run_to_done() { # mode args...
	start $o "$@"
	probe $o l_emu l_step
	touch /tmp/ul.go
	wait_line $o '^done$' 60 $bg
	grep -v point $o
}
stop() { # pid
	: >$D/probes
	kill $1 2>/dev/null
	wait $1 2>/dev/null
}

# 1. fork: the child runs unprobed, on its original bytes, no XOL area.
o=/tmp/ul.fork
run_to_done fork -h
check "fork: the parent had an XOL area" not grep -q '^parent xol area 0$' $o
check "fork: the child's text has the original bytes" grep -q '^child text l_emu=55 l_step=48$' $o
check "fork: the XOL area is not in the child" grep -q '^child xol mapped 0$' $o
check "fork: the child's results right" grep -q '^child errors 0$' $o
check "fork: the child exited 0" grep -q '^child status 0$' $o
check "fork: the parent still has its breakpoint" grep -q '^parent text l_emu=cc$' $o
check "fork: parent results right" grep -q '^errors 0$' $o
check "fork: only the parent counted: l_emu 2 (got $(hits ul/l_emu))" [ "$(hits ul/l_emu)" = 2 ]
check "fork: only the parent counted: l_step 2 (got $(hits ul/l_step))" [ "$(hits ul/l_step)" = 2 ]
xol_line $bg
check "fork: xol stepped 2" [ "$(xol_field $bg stepped)" = 2 ]
check "fork: xol emulated 2" [ "$(xol_field $bg emulated)" = 2 ]
stop $bg

# 2. vfork: the child shares the mm and is probed; vfork+exec.
o=/tmp/ul.vfork
run_to_done vfork -h
check "vfork: child exited 0, results right" grep -q '^vfork child status 0 errors 0$' $o
check "vfork: vfork+exec child exited 0" grep -q '^vfork+exec child status 0$' $o
check "vfork: results right" grep -q '^errors 0$' $o
check "vfork: 1 + 3 (child) + 1 hits on l_emu (got $(hits ul/l_emu))" [ "$(hits ul/l_emu)" = 5 ]
check "vfork: 1 + 3 (child) + 1 hits on l_step (got $(hits ul/l_step))" [ "$(hits ul/l_step)" = 5 ]
check "vfork: the parent's probes survive the child's exec" [ "$(grep -c '^p:ul/' $D/probes)" = 2 ]
stop $bg

# 3. exec drops the old image's probes; the new image runs unprobed.
o=/tmp/ul.exec
run_to_done exec -h
check "exec: the new image has the original bytes" grep -q "^after exec pid $bg text l_emu=55 l_step=48\$" $o
check "exec: the new image's results right" grep -q '^errors 0$' $o
# Reaped shortly after the exec (a work item).
n=50
while grep -q "^p:ul/" $D/probes && [ $n -gt 0 ]; do
	usleep 100000
	n=$((n - 1))
done
cat $D/probes
check "exec: the old image's probes are gone from probes" not grep -q "^p:ul/" $D/probes
xol_line $bg
check "exec: no XOL state of the old image" sh -c "! grep -q '^pid=$bg ' $D/xol || grep -q '^pid=$bg area=none ' $D/xol"
expect_ok $D/probes "p:ul/l_emu $bg:$(point l_emu 3 $o)"
check "exec: the new image can be probed at the same address" [ "$(grep -c '^p:ul/' $D/probes)" = 1 ]
stop $bg

# 4. 1000 fork/exit cycles (scaled: 250 after 25 warm-up cycles on the
# debug kernel, where a fork costs about 0.2 s), a probe hit in the parent
# each time: no growth.
# MemFree is only steady enough with small per-CPU page lists, the page
# cache dropped and the per-CPU counters folded (else it moves by +-5 MB
# over such a loop without any probe; with this, by +-250 kB). On the
# debug kernel KASAN's quarantine keeps freed objects (up to 1/32 of the
# memory) and kmemleak and debug objects add their own, so Slab and MemFree
# move with the workload: there kmemleak's scan after the tests checks for
# leaks instead (scripts/run-qemu fails the run on any), and the module's
# own accounting is compared as everywhere.
NW=$(scaled 100 25)
NK=$(scaled 1000 100)
mem() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	echo 1 >/proc/sys/vm/stat_refresh
	awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo
}
pcp=$(cat /proc/sys/vm/percpu_pagelist_high_fraction)
echo 100000 >/proc/sys/vm/percpu_pagelist_high_fraction
o=/tmp/ul.loop
start $o forkloop -w $NW -k $NK -h
probe $o l_emu l_step
touch /tmp/ul.go
wait_line $o '^warm ' 60 $bg
check "forkloop: warm-up cycles fine" grep -q "^warm $NW failures 0\$" $o
cat $D/memory >/tmp/ul.mem0
free0=$(mem MemFree)
slab0=$(mem Slab)
touch /tmp/ul.go.2
wait_line $o '^done$' 100 $bg
free1=$(mem MemFree)
slab1=$(mem Slab)
cat $D/memory >/tmp/ul.mem1
echo "# MemFree ${free0} -> ${free1} kB, Slab ${slab0} -> ${slab1} kB"
check "forkloop: $NK cycles, children fine" grep -q "^forks $NK failures 0\$" $o
check "forkloop: parent results right" grep -q '^errors 0$' $o
nh=$((NW + NK))
check "forkloop: $nh hits on l_step (got $(hits ul/l_step))" [ "$(hits ul/l_step)" = $nh ]
check "forkloop: $nh hits on l_emu (got $(hits ul/l_emu))" [ "$(hits ul/l_emu)" = $nh ]
xol_line $bg
check "forkloop: xol stepped $nh" [ "$(xol_field $bg stepped)" = $nh ]
if [ "${rpdebug:-0}" != 1 ]; then
	check "forkloop: Slab grew < 256 kB over $NK cycles" [ $((slab1 - slab0)) -lt 256 ]
	check "forkloop: MemFree fell < 1 MB over $NK cycles" [ $((free0 - free1)) -lt 1024 ]
else
	echo "# debug kernel: Slab/MemFree not compared (KASAN quarantine); kmemleak checks"
fi
if ! cmp -s /tmp/ul.mem0 /tmp/ul.mem1; then
	diff /tmp/ul.mem0 /tmp/ul.mem1
	fail "forkloop: the module's memory accounting changed"
fi
echo "ok: forkloop: the module's memory file is unchanged"
check "forkloop: one xol line (no state left by the children)" [ "$(grep -c . $D/xol)" = 1 ]
stop $bg
echo $pcp >/proc/sys/vm/percpu_pagelist_high_fraction

# 4b. Fresh probed processes: each cycle a new process (a fork child of an
# unprobed ulife) gets a probe on a stepped instruction, hits it (its XOL
# area and state are created), and exits. 200 cycles (scaled, after 20
# warm-up ones): the module's memory file and Slab do not grow, every
# child's probe and state are reaped.
NW=$(scaled 20 5)
NK=$(scaled 200 20)
reaped() { # every ul/ probe and xol line gone (at most 10 s, times SLOW)
	_n=$((100 * SLOW))
	while { grep -q '^p:ul/' $D/probes || grep -q . $D/xol; } && [ $_n -gt 0 ]; do
		pause 0.1
		_n=$((_n - 1))
	done
	! grep -q '^p:ul/' $D/probes && ! grep -q . $D/xol
}
echo 100000 >/proc/sys/vm/percpu_pagelist_high_fraction
o=/tmp/ul.ploop
start $o probeloop -w $NW -k $NK -h
touch /tmp/ul.go
wait_line $o '^warm ' 120 $bg
check "probeloop: warm-up cycles fine" grep -q "^warm $NW failures 0\$" $o
check "probeloop: warm-up children's probes and state reaped" reaped
cat $D/memory >/tmp/ul.pmem0
slab0=$(mem Slab)
touch /tmp/ul.go.2
wait_line $o '^done$' 300 $bg
grep -v point $o
check "probeloop: $NK probed children, each hit its probe with an XOL area" grep -q "^probed $NK failures 0\$" $o
check "probeloop: every child's probe and state reaped" reaped
slab1=$(mem Slab)
cat $D/memory >/tmp/ul.pmem1
echo "# Slab ${slab0} -> ${slab1} kB over $NK probed processes"
if [ "${rpdebug:-0}" != 1 ]; then
	check "probeloop: Slab grew < 256 kB over $NK probed processes" [ $((slab1 - slab0)) -lt 256 ]
fi
if ! cmp -s /tmp/ul.pmem0 /tmp/ul.pmem1; then
	diff /tmp/ul.pmem0 /tmp/ul.pmem1
	fail "probeloop: the module's memory accounting changed"
fi
echo "ok: probeloop: the module's memory file is unchanged"
check "probeloop: the parent was never probed" not grep -q "^pid=$bg " $D/xol
stop $bg
echo $pcp >/proc/sys/vm/percpu_pagelist_high_fraction

# 5. Removal (and re-insertion) while threads hit the probes.
o=/tmp/ul.thr
start $o threads -t 4
probe $o l_emu l_step
touch /tmp/ul.go
wait_line $o '^running$' 60 $bg
for i in 1 2 3 4 5; do
	usleep 300000
	h=$(hits ul/l_step)
	check "threads: round $i: hits while probed ($h)" [ "$h" -gt 0 ]
	expect_ok $D/probes "-:ul/l_step"
	expect_ok $D/probes "-:ul/l_emu"
	usleep 200000
	probe $o l_step l_emu
done
usleep 200000
: >$D/probes
touch /tmp/ul.go.stop
wait $bg
check "threads: exited 0" [ $? = 0 ]
check "threads: results right" grep -q '^errors 0$' $o

# 6. A stepped instruction faults: its handler, then rmmod.
o=/tmp/ul.fault
ulife -m fault -g /tmp/ul.ref >$o.ref 2>&1 &
upids="$upids $!"
ref=$!
touch /tmp/ul.ref
wait_line $o.ref '^in-handler$' 60 $ref
touch /tmp/ul.ref.2
wait $ref
check "fault, unprobed: recovered" grep -q '^recovered 77$' $o.ref
start $o fault -h
probe $o l_fault
touch /tmp/ul.go
wait_line $o '^in-handler$' 60 $bg
xol_line $bg
echo "# hits in the handler: $(hits ul/l_fault)"
check "fault: the hit counted once" [ "$(hits ul/l_fault)" = 1 ]
check "fault: the step was aborted for the signal" [ "$(xol_field $bg aborted)" = 1 ]
check "fault: no slot held while the thread is in its handler" [ "$(xol_field $bg slots)" = "0/512" ]
check "fault: rmmod works while the thread sleeps in its handler" rmmod rprobes
touch /tmp/ul.go.2
wait_line $o '^done$' 60 $bg
grep -v point $o
check "fault: the load was redone after the handler" grep -q '^recovered 77$' $o
check "fault: results right" grep -q '^errors 0$' $o
# What the handler saw (fault address, the instruction it was at, TF in
# the interrupted context) must be what it sees without the probe.
check "fault, unprobed: the handler saw l_fault" grep -q '^segv at l_fault addr 0x8 tf 0$' $o.ref
check "fault: the handler saw the same context as unprobed: $(grep '^segv' $o)" \
	[ "$(grep '^segv' $o)" = "$(grep '^segv' $o.ref)" ]
kill $bg
wait $bg 2>/dev/null
if [ -d /sys/module/rprobes ]; then
	check "rmmod works once the thread has left" rmmod rprobes
fi

# 7. XOL placement: one page above the top of the [stack] mapping when
# that is free; when the program has mapped something there before its
# first hit, elsewhere, and the probes still work.
load
for blk in "" -b; do
	w=free
	[ -n "$blk" ] && w=taken
	o=/tmp/ul.place
	run_to_done xolplace -k 3 $blk -h
	st=$(awk '$NF == "[stack]" { split($1, r, "-"); print r[2] }' /proc/$bg/maps)
	want=$(printf '0x%x' $((0x$st + 4096)))
	area=$(xol_field $bg area)
	xol_line $bg
	grep -e '\[stack\]' -e "^${area#0x}-" /proc/$bg/maps
	check "xol ($w): the program's stack end is the maps file's" grep -q "^stack end 0x$st\$" $o
	check "xol ($w): the program sees its area in xol" grep -q "^xol area $area\$" $o
	check "xol ($w): results right" grep -q '^errors 0$' $o
	check "xol ($w): 3 hits on l_step" [ "$(hits ul/l_step)" = 3 ]
	check "xol ($w): 3 hits on l_emu" [ "$(hits ul/l_emu)" = 3 ]
	check "xol ($w): 3 steps" [ "$(xol_field $bg stepped)" = 3 ]
	check "xol ($w): the area is 4 pages r-xp in maps" \
		grep -q "^${area#0x}-$(printf '%x' $((area + 16384))) r-xp " /proc/$bg/maps
	if [ -z "$blk" ]; then
		check "xol (free): the area is one page above the stack ($want)" [ "$area" = "$want" ]
	else
		check "xol (taken): the program's page is where the area would go" grep -q "^blocked $want\$" $o
		check "xol (taken): the area is elsewhere ($area)" [ "$area" != "$want" ]
		check "xol (taken): the program's page is still there, r--p" grep -q "^${want#0x}-[0-9a-f]* r--p " /proc/$bg/maps
		check "xol (taken): and unchanged" grep -q '^blocker intact 1$' $o
	fi
	stop $bg
	check "xol ($w): the xol line is gone after exit" xol_gone $bg
done
check "rmmod" rmmod rprobes
finish

# SPDX-License-Identifier: GPL-2.0
# debug-cost: 183
# Hostile user space (progs/uhostile.c): a probed process munmaps,
# mprotects, mremaps or maps over its XOL area (found through `xol`),
# lets a ptrace peer write into it, or rewrites its own probed text. The
# XOL area is never writable from user space (mprotect PROT_WRITE fails
# with EACCES, ptrace and /proc/PID/mem writes fail); only the attacking
# process may suffer (it may die of a signal), a probed bystander runs on
# untouched, probes stay removable, a rewritten instruction is not
# "restored" over, the module unloads (the harness checks the kernel log).
. /tests/lib.sh
trap uprobe_cleanup EXIT
load
start() { # out gofile mode args...: starts uhostile, sets $bg, waits for ready
	o=$1
	g=$2
	shift 2
	uprog_start uhostile $o $g "$@"
}
probe() { # out group point...
	o=$1
	shift
	uprog_probe $o "$@"
}
# Wait until OUT has "done" or the process is gone.
settle() { # out pid
	n=600
	while [ $n -gt 0 ] && kill -0 $2 2>/dev/null && ! grep -q '^done$' $1; do
		usleep 100000
		n=$((n - 1))
	done
}
gone() { check "$2: the xol line is gone after exit" xol_gone $1; } # pid what

# A bystander: the same program, probed, calling both probes all along.
start /tmp/uh.calm /tmp/uh.calm.go calm -h
calm=$bg
probe /tmp/uh.calm calm h_emu h_step
touch /tmp/uh.calm.go

hostile() { # mode
	m=$1
	o=/tmp/uh.$m
	start $o /tmp/uh.go $m -h
	probe $o uh h_emu h_step
	touch /tmp/uh.go
	settle $o $bg
	grep -v point $o
	xol_line $bg
	if kill -0 $bg 2>/dev/null; then
		echo "# $m: outcome: survived: $(grep errors $o | tr '\n' ' ')"
		expect_ok $D/probes "-:uh/h_emu"
		expect_ok $D/probes "-:uh/h_step"
		kill $bg
		wait $bg 2>/dev/null
	else
		wait $bg
		echo "# $m: outcome: exited with status $?"
	fi
	check "$m: the process got that far" grep -q '^area 0x' $o
	gone $bg $m
	# Only uh/ probes of that process may be left: remove them.
	grep '^p:uh/' $D/probes | sed 's/^p:\([^ ]*\) .*/-:\1/' >/tmp/uh.left
	while read -r l; do expect_ok $D/probes "$l"; done </tmp/uh.left
	check "$m: its probes are gone" not grep -q '^p:uh/' $D/probes
	check "$m: the bystander still runs" kill -0 $calm
}

hostile munmap

hostile mprotect
check "mprotect: PROT_WRITE refused with EACCES" grep -q '^mprotect-w EACCES$' /tmp/uh.mprotect
check "mprotect: PROT_WRITE|PROT_EXEC refused with EACCES" grep -q '^mprotect-wx EACCES$' /tmp/uh.mprotect

hostile mremap
hostile mapfixed

hostile ptrace
check "ptrace: the peer attached" not grep -q '^attach ' /tmp/uh.ptrace
check "ptrace: PTRACE_POKEDATA into the XOL area fails" grep -q '^poke E' /tmp/uh.ptrace
check "ptrace: a /proc/PID/mem write into the XOL area fails" grep -q '^memwrite E' /tmp/uh.ptrace
check "ptrace: the XOL area is unchanged" grep -q '^xol unchanged 1$' /tmp/uh.ptrace
check "ptrace: the process runs on correctly" grep -q '^step errors 0$' /tmp/uh.ptrace

# The process rewrites its probed text (and plants an int3 of its own).
o=/tmp/uh.rewrite
start $o /tmp/uh.go rewrite -h
probe $o uh h_emu h_step h_rw
touch /tmp/uh.go
wait_line $o '^rewritten$' 60 $bg
grep -v point $o
check "rewrite: the process saw its breakpoint byte" grep -q '^h_rw before cc$' $o
check "rewrite: the rewritten code runs" grep -q '^rewritten returns 2$' $o
check "rewrite: its own int3 gives it a SIGTRAP" grep -q '^own int3 sigtraps 1 returns 3$' $o
check "rewrite: h_rw never hit (got $(hits uh/h_rw))" [ "$(hits uh/h_rw)" = 0 ]
check "rewrite: h_step hit once (got $(hits uh/h_step))" [ "$(hits uh/h_step)" = 1 ]
expect_ok $D/probes "-:uh/h_rw"
expect_ok $D/probes "-:uh/h_emu"
expect_ok $D/probes "-:uh/h_step"
touch /tmp/uh.go.2
wait_line $o '^done$' 60 $bg
grep -v point $o
check "rewrite: the removal did not write over the process's own bytes" grep -q '^kept 1$' $o
check "rewrite: unprobed results right" grep -q '^step errors 0$' $o
kill $bg
wait $bg 2>/dev/null
gone $bg rewrite

# The bystander was never disturbed.
touch /tmp/uh.calm.go.stop
wait_line /tmp/uh.calm '^done$' 60 $calm
grep -v point /tmp/uh.calm
check "bystander: every result right" grep -q ' emu errors 0 step errors 0$' /tmp/uh.calm
n=$(awk '$1 == "calls" { print $2 }' /tmp/uh.calm)
check "bystander: every call counted ($n, h_step $(hits calm/h_step))" [ "$(hits calm/h_step)" = "$n" ]
check "bystander: every call counted ($n, h_emu $(hits calm/h_emu))" [ "$(hits calm/h_emu)" = "$n" ]
kill $calm
wait $calm 2>/dev/null
gone $calm bystander
: >$D/probes
check "no probe left" [ ! -s $D/probes ]
check "module unloads" rmmod rprobes
finish

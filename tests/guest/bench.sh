#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest side of `make bench`: bench.sh REPS ITERS NPROBES
# Prints `BENCH <case> <rep> <value>` lines (ns per iteration, ns per
# operation, or bytes) and `BENCHINFO <key> <value>`; the host
# (scripts/bench-report) turns them into the table and JSON.
REPS=${1:-5}
ITERS=${2:-200000}
NPROBES=${3:-1000}
# getpid() loops are timed CHUNK calls at a time and the fastest chunk
# counts: a chunk lasts about a millisecond, less than the time slice the
# host gives QEMU, so most chunks run undisturbed by the host's other work.
CHUNK=500
D=/sys/kernel/debug/rprobes
T=/sys/kernel/tracing
FN=__x64_sys_getpid
# Three arguments: the pt_regs pointer and two words of it.
ARGS3='a=%di b=+112(%di):u64 c=+104(%di):x64'
die() { echo "BENCHERROR $*"; exit 1; }

echo "BENCHINFO cpu $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
echo "BENCHINFO accel tcg"
echo "BENCHINFO vcpus $(grep -c ^processor /proc/cpuinfo)"
echo "BENCHINFO kernel $(uname -r)"
echo "BENCHINFO kprobes_on_ftrace $(grep -c FTRACE /sys/kernel/debug/kprobes/list 2>/dev/null)"
insmod /rprobes.ko || die insmod
echo 0 >/sys/kernel/debug/kprobes/enabled 2>/dev/null && echo 1 >/sys/kernel/debug/kprobes/enabled

# Probe points both rprobes and tracefs accept, for the many-probe cases.
awk '{ print $1 }' $T/available_filter_functions | grep -v "$FN\|__ftrace_invalid" | sort | uniq -u >/tmp/cands
: >/tmp/many
n=0
while read -r f && [ $n -lt "$NPROBES" ]; do
	if [ "$(ctl $D/probes "p:m$n $f")" = OK ]; then
		echo "p:m$n $f" >>/tmp/many
		n=$((n + 1))
	fi
done </tmp/cands
: >$D/probes
[ $n -eq "$NPROBES" ] || die "only $n probe points usable"
sed 's/^p:m\([0-9]*\) .*/m\1 0/' /tmp/many >/tmp/many-off
sed 's/^p:m/p:kprobes\/m/' /tmp/many >/tmp/many-tracefs

# User probes: `bench uloop` waits for a go-file, the probe goes in
# meanwhile (tracefs: by file offset of /tests/progs/bench; rprobes: by
# address in that process), then times N calls and waits for GOFILE.done
# while the hit count is checked (a probe that did not fire would report a
# cost it never paid).
# Like getpid(), user-probe loops are timed in chunks of about a
# millisecond (a hit costs some 10 us under TCG) and the fastest counts;
# the unprobed loop is timed in longer chunks (a call is some 10 ns).
UITERS=$((ITERS / 4))
UCHUNK=100
UB=/tests/progs/bench
ucase() { # case: uprobe_base | uprobe_{emu,mov,step,rip}_{tracefs,rprobes} | uprobe_emu_rprobes_noevent | uprobe_{emu,step}_rprobes_path
	k=${1#uprobe_}
	mech=${k#*_}
	k=${k%%_*}
	fn=ub_fn
	[ "$k" = rip ] && fn=ub_rip
	n=$UITERS
	chunk=$UCHUNK
	[ "$k" = base ] && n=$((ITERS * 10)) && chunk=100000
	# No old /tmp/ub.out: until the child has opened it, the previous
	# case's copy would say "ready" while $bp is not bench yet.
	rm -f /tmp/ub.go /tmp/ub.go.done /tmp/ub.out
	bench uloop $n $fn /tmp/ub.go $chunk >/tmp/ub.out &
	bp=$!
	i=0
	until grep -q '^ready$' /tmp/ub.out 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 300 ] || return 1
		usleep 10000
	done
	addr=$(awk -v t="ub_$k" '$1 == "target" && $2 == t { print $3 }' /tmp/ub.out)
	off=$(awk -v t="ub_$k" '$1 == "target" && $2 == t { print $4 }' /tmp/ub.out)
	case $mech in
	tracefs) echo "p:ub/x $UB:$off" >$T/uprobe_events && echo 1 >$T/events/ub/x/enable || return 1 ;;
	rprobes) echo "p:ub/x $bp:$addr" >$D/probes || return 1 ;;
	rprobes_path) echo "p:ub/x $UB:$off" >$D/probes || return 1 ;;
	rprobes_noevent) echo 0 >$D/tracing_on && echo "p:ub/x $bp:$addr" >$D/probes || return 1 ;;
	esac
	touch /tmp/ub.go
	i=0
	# The result: the first line after "ready".
	until awk 'on { n++ } /^ready$/ { on = 1 } END { exit !n }' /tmp/ub.out; do
		i=$((i + 1))
		[ $i -lt 12000 ] || return 1
		usleep 10000
	done
	case $mech in
	tracefs) h=$(awk '$2 == "x" { print $3 }' $T/uprobe_profile) ;;
	rprobes*) h=$(awk '$1 == "ub/x" { print $2 }' $D/profile) ;;
	*) h=$n ;;
	esac
	case $mech in
	tracefs) echo 0 >$T/events/ub/x/enable && echo >$T/uprobe_events ;;
	rprobes*) : >$D/probes && echo 1 >$D/tracing_on ;;
	esac
	touch /tmp/ub.go.done
	wait $bp || return 1
	[ "$h" = "$n" ] || { echo "BENCHERROR $1: $h hits, expected $n" >&2; return 1; }
	tail -n 1 /tmp/ub.out
}

meminfo() { awk '/^(Slab|Percpu):/ { s += $2 } END { print s }' /proc/meminfo; }

setup() {
	case $1 in
	syscall_base | ufunc_base) ;;
	kprobe_tracefs) echo "p:bench $FN" >$T/kprobe_events && echo 1 >$T/events/kprobes/bench/enable ;;
	kprobe_rprobes) echo "p:bench $FN" >$D/probes ;;
	kprobe_rprobes_noevent) echo 0 >$D/tracing_on && echo "p:bench $FN" >$D/probes ;;
	kretprobe_tracefs) echo "r:rbench $FN" >$T/kprobe_events && echo 1 >$T/events/kprobes/rbench/enable ;;
	kprobe3_tracefs) echo "p:bench3 $FN $ARGS3" >$T/kprobe_events && echo 1 >$T/events/kprobes/bench3/enable ;;
	kprobe3_rprobes) echo "p:bench3 $FN $ARGS3" >$D/probes ;;
	kretprobe_rprobes) echo "r:rbench $FN" >$D/probes ;;
	kprobe_rprobes_disarmed) echo "p:bench $FN" >$D/probes && echo 'bench 0' >$D/armed ;;
	kprobe_rprobes_1000)
		bench write $D/probes /tmp/many >/dev/null && bench write $D/armed /tmp/many-off >/dev/null &&
			echo "p:bench $FN" >>$D/probes
		;;
	esac
}
teardown() {
	case $1 in
	kprobe_tracefs) echo 0 >$T/events/kprobes/bench/enable && echo >$T/kprobe_events ;;
	kretprobe_tracefs) echo 0 >$T/events/kprobes/rbench/enable && echo >$T/kprobe_events ;;
	kprobe3_tracefs) echo 0 >$T/events/kprobes/bench3/enable && echo >$T/kprobe_events ;;
	kprobe3_rprobes) : >$D/probes ;;
	kprobe_rprobes* | kretprobe_rprobes) : >$D/probes && echo 1 >$D/tracing_on ;;
	esac
}
measure() {
	case $1 in
	ufunc_base) bench ufunc $((ITERS * 20)) ;;
	uprobe_*) ucase "$1" ;;
	*) bench getpid "$ITERS" "$CHUNK" ;;
	esac
}

cases="syscall_base kprobe_tracefs kprobe_rprobes kprobe_rprobes_noevent kprobe_rprobes_disarmed kprobe_rprobes_1000 ufunc_base
kretprobe_tracefs kretprobe_rprobes kprobe3_tracefs kprobe3_rprobes
uprobe_base uprobe_emu_tracefs uprobe_emu_rprobes uprobe_emu_rprobes_noevent uprobe_mov_tracefs uprobe_mov_rprobes uprobe_step_tracefs uprobe_step_rprobes uprobe_rip_tracefs uprobe_rip_rprobes
uprobe_emu_rprobes_path uprobe_step_rprobes_path"
# BENCH_CASES=a,b,... (kernel command line, e.g. RPROBES_CMDLINE) runs
# only those cases, for a quick look at one path.
[ -n "$BENCH_CASES" ] && cases=$(echo "$BENCH_CASES" | tr , ' ')
rep=1
while [ $rep -le "$REPS" ]; do
	# Rotate the order every repetition (A B C, B C A, ...) against drift.
	order=$(echo $cases | awk -v r=$rep '{ for (i = 0; i < NF; i++) printf "%s ", $(((i + r - 1) % NF) + 1) }')
	for c in $order; do
		setup $c || die "setup $c"
		v=$(measure $c) || die "measure $c"
		teardown $c || die "teardown $c"
		echo "BENCH $c $rep $v"
	done
	# Control plane and memory: register and remove NPROBES probes.
	m0=$(meminfo)
	v=$(bench write $D/probes /tmp/many) || die "rprobes register"
	m1=$(meminfo)
	echo "BENCH reg_rprobes $rep $((v / NPROBES))"
	echo "BENCH mem_rprobes $rep $(((m1 - m0) * 1024 / NPROBES))"
	echo "BENCH memacct_rprobes $rep $(awk '$1 == "bytes_per_probe" { print $2 }' $D/memory)"
	v=$(bench trunc $D/probes) || die "rprobes clear"
	echo "BENCH del_rprobes $rep $((v / NPROBES))"
	m0=$(meminfo)
	if v=$(bench write $T/kprobe_events /tmp/many-tracefs); then
		m1=$(meminfo)
		echo "BENCH reg_tracefs $rep $((v / NPROBES))"
		echo "BENCH mem_tracefs $rep $(((m1 - m0) * 1024 / NPROBES))"
		v=$(bench trunc $T/kprobe_events) || die "tracefs clear"
		echo "BENCH del_tracefs $rep $((v / NPROBES))"
	fi
	rep=$((rep + 1))
done
rmmod rprobes
echo "BENCHDONE"

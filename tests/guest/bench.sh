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
# rprobes' events are trace events too (the kprobe3_rprobes_tracefs
# case); the other cases enable none of them (BENCH_NO_TEVENTS=1 on the
# kernel command line: loaded without trace_events=1, to compare the
# hits of events that tracefs does not consume).
if [ "${BENCH_NO_TEVENTS:-0}" = 1 ]; then
	insmod /rprobes.ko || die insmod
else
	insmod /rprobes.ko trace_events=1 || die insmod
fi
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
ucase() { # case: uprobe_base | uprobe_{emu,mov,step,rip,ret,sub,load,test,plt}_{tracefs,rprobes} | uprobe_emu_rprobes_noevent | uprobe_{emu,step}_rprobes_path
	k=${1#uprobe_}
	mech=${k#*_}
	k=${k%%_*}
	# ret: a return probe on ub_fn (its entry is ub_emu), recording
	# $retval: a hit is the entry and the return.
	pfx=p
	args=
	if [ "$k" = ret ]; then
		k=emu
		pfx=r
		args=' rv=$retval'
	fi
	fn=ub_fn
	[ "$k" = rip ] && fn=ub_rip
	# What the kernel steps and rprobes emulates (sub, load, test, plt).
	case $k in sub | load | test | plt) fn=ub_fn2 ;; esac
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
	tracefs) echo "$pfx:ub/x $UB:$off$args" >$T/uprobe_events && echo 1 >$T/events/ub/x/enable || return 1 ;;
	rprobes) echo "$pfx:ub/x $bp:$addr$args" >$D/probes || return 1 ;;
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
# Drops the unused dentries and inodes (those of exited processes'
# /proc directories, of removed tracefs events), then waits (5 s at most)
# until Slab + Percpu stay the same for half a second: what the steps
# before left behind or freed late (after an RCU grace period, the per-CPU
# allocator's balance work) is not counted in the next delta.
settle() {
	echo 2 >/proc/sys/vm/drop_caches
	_s=$(meminfo)
	_i=0
	while [ $_i -lt 10 ]; do
		usleep 500000
		_t=$(meminfo)
		[ "$_t" = "$_s" ] && return 0
		_s=$_t
		_i=$((_i + 1))
	done
}
# AnonPages in kB: the private copies of file pages a breakpoint was
# written into (copy-on-write), among others.
anoninfo() { awk '/^AnonPages:/ { print $2 }' /proc/meminfo; }

# Path probes on libc (issue 17): NPROBES points of libc in one write
# while LPROCS processes map it, as tracefs uprobe events (written, then
# enabled: the kernel writes the breakpoints at the enable) and as rprobes
# path probes (armed at once: written during the write). The processes
# are Debian's /usr/bin/sleep (dynamic: it maps libc), asleep in
# clock_nanosleep, fresh for every measurement, so that each side starts
# from processes with no breakpoint and no private copy of a libc page,
# and no probe is hit while it is measured.
LIBC=/lib/x86_64-linux-gnu/libc.so.6
LPROCS=${BENCH_LIBC_PROCS:-20}
lprocs_start() { # count
	lpids=
	_i=0
	while [ $_i -lt "$1" ]; do
		/usr/bin/sleep 100000 &
		lpids="$lpids $!"
		_i=$((_i + 1))
	done
	# Each asleep: in clock_nanosleep (syscall 230), libc mapped long since.
	for _p in $lpids; do
		_i=0
		until read -r _nr _ </proc/$_p/syscall 2>/dev/null && [ "$_nr" = 230 ]; do
			_i=$((_i + 1))
			[ $_i -lt 3000 ] || return 1
			usleep 10000
		done
	done
}
lprocs_stop() {
	if [ -n "$lpids" ]; then
		# shellcheck disable=SC2086 # a list of pids
		kill $lpids
		# shellcheck disable=SC2086
		wait $lpids 2>/dev/null
	fi
	lpids=
	# rprobes lets go of the dead address spaces when it reaps (a read
	# of `xol` does): nothing of them is freed during the next measurement.
	cat $D/xol >/dev/null
}
# The points, once: the first NPROBES distinct functions of libc's .dynsym
# (symoff -l: in the table's order, no IFUNC, no alias) that both accept,
# with one process mapping libc: rprobes takes a line or refuses it at the
# write; the kernel judges the instruction when it first writes the
# breakpoint (at the enable). /tmp/libc-rp and /tmp/libc-tr get the same
# NPROBES lines `p:bt/fN LIBC:0xOFF`, N from 0.
libc_points_select() {
	symoff -l 0 $LIBC >/tmp/libc-cands || return 1
	lprocs_start 1 || return 1
	: >/tmp/libc-ok
	_n=0
	_k=0
	_bad=0
	while read -r _off _ && [ $_n -lt $((NPROBES + 32)) ]; do
		_k=$((_k + 1))
		if echo "p:bt/c$_k $LIBC:$_off" 2>/dev/null >>$D/probes; then
			echo "$_k $_off" >>/tmp/libc-ok
			_n=$((_n + 1))
		else
			_bad=$((_bad + 1))
		fi
	done </tmp/libc-cands
	: >$D/probes
	echo "BENCHINFO libc_refused_rprobes $_bad of the first $_k"
	# The first NPROBES of them at once; one by one only if the kernel
	# refuses one (an enable of the group fails if one event's does).
	head -n "$NPROBES" /tmp/libc-ok | sed "s|^\([0-9]*\) \(.*\)|p:bt/c\1 $LIBC:\2|" >/tmp/libc-try
	if bench write $T/uprobe_events /tmp/libc-try >/dev/null &&
		echo 1 2>/dev/null >$T/events/bt/enable; then
		awk '{ print "p:bt/f" NR - 1, $2 }' /tmp/libc-try >/tmp/libc-rp
		_n=$(wc -l </tmp/libc-rp)
		_bad=0
	else
		echo 0 >$T/events/bt/enable
		echo >$T/uprobe_events
		: >/tmp/libc-rp
		_n=0
		_bad=0
		while read -r _k _off && [ $_n -lt "$NPROBES" ]; do
			if echo "p:bt/c$_k $LIBC:$_off" 2>/dev/null >>$T/uprobe_events &&
				echo 1 2>/dev/null >$T/events/bt/c$_k/enable; then
				echo "p:bt/f$_n $LIBC:$_off" >>/tmp/libc-rp
				_n=$((_n + 1))
			else
				_bad=$((_bad + 1))
				echo 0 2>/dev/null >$T/events/bt/c$_k/enable
				echo "-:bt/c$_k" 2>/dev/null >>$T/uprobe_events
			fi
		done </tmp/libc-ok
	fi
	echo "BENCHINFO libc_refused_tracefs $_bad"
	echo 0 >$T/events/bt/enable && echo >$T/uprobe_events || return 1
	lprocs_stop
	[ $_n -eq "$NPROBES" ] || {
		echo "BENCHERROR only $_n libc functions usable by both"
		return 1
	}
	cp /tmp/libc-rp /tmp/libc-tr
	echo "BENCHINFO libc_points $NPROBES points in $LPROCS processes, $(head -n 1 /tmp/libc-rp) .. $(tail -n 1 /tmp/libc-rp)"
}
# The kernel's breakpoints are in (tracefs shows no mapping count): the
# first, the middle and the last point read int3 in every process, read
# as ptrace reads (rprobes' explain, which writes nothing).
int3_everywhere() {
	for _l in "$(head -n 1 /tmp/libc-tr)" "$(sed -n "$((NPROBES / 2 + 1))p" /tmp/libc-tr)" \
		"$(tail -n 1 /tmp/libc-tr)"; do
		_o=${_l##*:}
		for _p in $lpids; do
			echo "$_p:$LIBC:$_o" >$D/explain || return 1
			read -r _x <$D/explain
			case $_x in *" bytes=cc"*) ;; *)
				echo "BENCHERROR tracefs: no int3 at $_o in $_p: $_x"
				return 1
				;;
			esac
		done
	done
}
# One side: `BENCH libc_{add,del,mem,cow,cowleft}_SIDE` (and for tracefs
# the write and the enable apart, for rprobes its own accounting).
libc_side() { # rprobes|tracefs rep
	lprocs_start "$LPROCS" || return 1
	settle
	m0=$(meminfo)
	a0=$(anoninfo)
	case $1 in
	rprobes) v=$(bench ops write $D/probes /tmp/libc-rp) || return 1 ;;
	tracefs) v=$(bench ops write $T/uprobe_events /tmp/libc-tr put $T/events/bt/enable 1) || return 1 ;;
	esac
	m1=$(meminfo)
	a1=$(anoninfo)
	case $1 in
	rprobes)
		_in=$(grep -c "^0x[0-9a-f]* bt/f[0-9]* $LIBC:0x[0-9a-f]* .*\[in $LPROCS\]\$" $D/list)
		[ "$_in" = "$NPROBES" ] || {
			echo "BENCHERROR rprobes: $_in of $NPROBES points [in $LPROCS]"
			grep -v "\[in $LPROCS\]\$" $D/list | head -n 5
			return 1
		}
		acct=$(awk '$1 == "probe_bytes" { print $2 }' $D/memory)
		d=$(bench ops trunc $D/probes) || return 1
		;;
	tracefs)
		_n=$(grep -c "^p:bt/f" $T/uprobe_events)
		[ "$_n" = "$NPROBES" ] || {
			echo "BENCHERROR tracefs: $_n uprobe events of $NPROBES"
			return 1
		}
		[ "$(cat $T/events/bt/enable)" = 1 ] || {
			echo "BENCHERROR tracefs: events/bt/enable is $(cat $T/events/bt/enable)"
			return 1
		}
		int3_everywhere || return 1
		d=$(bench ops put $T/events/bt/enable 0 trunc $T/uprobe_events) || return 1
		;;
	esac
	a2=$(anoninfo)
	lprocs_stop
	set -- "$1" "$2" $v
	echo "BENCH libc_add_$1 $2 $(($3 / NPROBES))"
	[ "$1" = tracefs ] && echo "BENCH libc_write_tracefs $2 $(($4 / NPROBES))" &&
		echo "BENCH libc_enable_tracefs $2 $(($5 / NPROBES))"
	echo "BENCH libc_del_$1 $2 $((${d%% *} / NPROBES))"
	echo "BENCH libc_mem_$1 $2 $(((m1 - m0) * 1024 / NPROBES))"
	[ "$1" = rprobes ] && echo "BENCH libc_memacct_rprobes $2 $((acct / NPROBES))"
	echo "BENCH libc_cow_$1 $2 $(((a1 - a0) * 1024 / NPROBES))"
	echo "BENCH libc_cowleft_$1 $2 $((a2 - a0))"
	return 0
}
libc_points() { # rep: both sides, the first alternating (A B, B A, ...)
	if [ $(($1 % 2)) = 1 ]; then
		libc_side rprobes "$1" && libc_side tracefs "$1" || return 1
	else
		libc_side tracefs "$1" && libc_side rprobes "$1" || return 1
	fi
	# What the processes and the probes leave to free later is freed
	# before the next case (the memory case of the kprobes does not wait).
	settle
}

setup() {
	case $1 in
	syscall_base | ufunc_base) ;;
	kprobe_tracefs) echo "p:bench $FN" >$T/kprobe_events && echo 1 >$T/events/kprobes/bench/enable ;;
	kprobe_rprobes) echo "p:bench $FN" >$D/probes ;;
	kprobe_rprobes_noevent) echo 0 >$D/tracing_on && echo "p:bench $FN" >$D/probes ;;
	kretprobe_tracefs) echo "r:rbench $FN" >$T/kprobe_events && echo 1 >$T/events/kprobes/rbench/enable ;;
	kprobe3_tracefs) echo "p:bench3 $FN $ARGS3" >$T/kprobe_events && echo 1 >$T/events/kprobes/bench3/enable ;;
	kprobe3_rprobes) echo "p:bench3 $FN $ARGS3" >$D/probes ;;
	# A hit every filter rejects (another pid): tracefs' filter (after
	# the fetch, on the reserved event) against rprobes' (before it).
	kprobe3_tracefs_filtered)
		echo "p:bench3 $FN $ARGS3" >$T/kprobe_events && echo 'common_pid == 1' >$T/events/kprobes/bench3/filter &&
			echo 1 >$T/events/kprobes/bench3/enable
		;;
	kprobe3_rprobes_filtered) echo "p:bench3 $FN $ARGS3" >$D/probes && echo 'bench3 pid=1' >$D/filter ;;
	# The same event through tracefs' buffer only (rprobes' own stream
	# off), like with like with kprobe3_tracefs.
	kprobe3_rprobes_tracefs)
		echo "p:bench3 $FN $ARGS3" >$D/probes && echo 0 >$D/tracing_on &&
			echo 1 >$T/events/rprobes/bench3/enable
		;;
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
	kprobe3_rprobes | kprobe3_rprobes_filtered) : >$D/probes ;;
	kprobe3_tracefs_filtered)
		echo 0 >$T/events/kprobes/bench3/enable && echo 0 >$T/events/kprobes/bench3/filter && echo >$T/kprobe_events
		;;
	kprobe3_rprobes_tracefs) echo 0 >$T/events/rprobes/bench3/enable && : >$D/probes && echo 1 >$D/tracing_on ;;
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
kretprobe_tracefs kretprobe_rprobes kprobe3_tracefs kprobe3_rprobes kprobe3_rprobes_tracefs kprobe3_tracefs_filtered kprobe3_rprobes_filtered
uprobe_base uprobe_emu_tracefs uprobe_emu_rprobes uprobe_emu_rprobes_noevent uprobe_mov_tracefs uprobe_mov_rprobes uprobe_step_tracefs uprobe_step_rprobes uprobe_rip_tracefs uprobe_rip_rprobes
uprobe_emu_rprobes_path uprobe_step_rprobes_path uprobe_ret_tracefs uprobe_ret_rprobes libc_points
uprobe_sub_tracefs uprobe_sub_rprobes uprobe_load_tracefs uprobe_load_rprobes uprobe_test_tracefs uprobe_test_rprobes uprobe_plt_tracefs uprobe_plt_rprobes"
# BENCH_CASES=a,b,... (kernel command line, e.g. RPROBES_CMDLINE) runs
# only those cases, for a quick look at one path.
[ -n "$BENCH_CASES" ] && cases=$(echo "$BENCH_CASES" | tr , ' ')
case " $(echo $cases) " in *" libc_points "*) libc_points_select || die "libc points" ;; esac
rep=1
while [ $rep -le "$REPS" ]; do
	# Rotate the order every repetition (A B C, B C A, ...) against drift.
	order=$(echo $cases | awk -v r=$rep '{ for (i = 0; i < NF; i++) printf "%s ", $(((i + r - 1) % NF) + 1) }')
	for c in $order; do
		if [ $c = libc_points ]; then
			libc_points $rep || die "libc_points"
			continue
		fi
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
	# tracefs, like with like: rprobes' probes are armed when added,
	# tracefs' when their events are enabled, so its add is the write and
	# the enable (its write alone in reg_tracefs_write), its removal the
	# disable and the truncation.
	if v=$(bench ops write $T/kprobe_events /tmp/many-tracefs put $T/events/kprobes/enable 1); then
		m1=$(meminfo)
		set -- $v
		echo "BENCH reg_tracefs $rep $(($1 / NPROBES))"
		echo "BENCH reg_tracefs_write $rep $(($2 / NPROBES))"
		echo "BENCH mem_tracefs $rep $(((m1 - m0) * 1024 / NPROBES))"
		v=$(bench ops put $T/events/kprobes/enable 0 trunc $T/kprobe_events) || die "tracefs clear"
		set -- $v
		echo "BENCH del_tracefs $rep $(($1 / NPROBES))"
	fi
	rep=$((rep + 1))
done
rmmod rprobes
echo "BENCHDONE"

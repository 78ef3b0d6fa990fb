# SPDX-License-Identifier: GPL-2.0
# debug-cost: 822
# Fault injection (kernel and return probes; user probes are not covered
# yet): slab and page allocation failures in rprobes' own paths, through
# failslab and fail_page_alloc with a stack filter (only allocations with
# module code on the stack count). Systematic sweeps (fail-nth: the 1st,
# 2nd, ... allocation of one call fails, until the call needs no more)
# over probe add (kprobe, return probe and its return instances,
# maxactive, fetch args), remove, clear, the other control files, reads,
# buffer_size_kb resizes and module load with kprobes=/kretprobes= under
# load; then random failures (make-it-fail + task-filter, probability,
# interval, times) over mixed operations. Every failure must be ENOMEM
# (with an error_log entry for a probe line) and leave no half-registered
# probe: tests/progs/faultinj.c checks probes, profile, list, armed,
# filter, memory, instances and the kernel's kprobes/list (the same
# addresses, disarmed in the same places) after every fault. Needs
# CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC, CONFIG_FAULT_INJECTION_DEBUG_FS
# and CONFIG_FAULT_INJECTION_STACKTRACE_FILTER (qemu/kernel.config): skipped
# elsewhere.
#
# Sizes (environment, e.g. from the kernel command line; `make stress`
# passes bigger ones): module load fails at its first FAILSLAB_INSMOD_HEAD
# allocations, every FAILSLAB_INSMOD_STRIDEth after, and every
# FAILSLAB_INSMOD_STEPth of its last FAILSLAB_INSMOD_TAIL (the probes of
# the parameters and the files); FAILSLAB_RANDOM_OPS random operations.
# The defaults take about 90 s on 2 vCPUs under TCG.
# timeout: 1200
# debug-timeout: 1800
. /tests/lib.sh
F=/sys/kernel/debug
[ -d $F/failslab ] && [ -d $F/fail_page_alloc ] && [ -e /proc/self/fail-nth ] ||
	skip "no failslab/fail_page_alloc/fail-nth in this kernel"
[ -e $F/failslab/require-start ] || skip "no fault-injection stack filter in this kernel"
end=$(awk '$3 == "_end" { print $1 }' /proc/kallsyms)
case $end in
"" | 0000000000000000) skip "no kernel addresses in /proc/kallsyms" ;;
esac
SG=__x64_sys_sched_get_priority_min
S=/tmp/failslab
# The defaults scale with SCALE (tests/lib.sh; the debug kernel, where a
# load takes some 20 s and each sweep step some 1 s, runs a twentieth): fewer
# loads, fewer random operations, and below 1 the sweeps that repeat a
# path another sweep covers are left out (`all`).
HEAD=${FAILSLAB_INSMOD_HEAD:-$(scaled 3 1)}
STRIDE=${FAILSLAB_INSMOD_STRIDE:-$((97 * 1000 / SCALE_PM))}
TAIL=${FAILSLAB_INSMOD_TAIL:-$(scaled 130 6)}
STEP=${FAILSLAB_INSMOD_STEP:-3}
RANDOM_OPS=${FAILSLAB_RANDOM_OPS:-$(scaled 150 30)}
rm -rf $S
mkdir -p $S

# Both fault types: counted only with code above the kernel image (that is
# module code: rprobes is the only module) on the stack, sleeping
# allocations and order-0 pages included, no messages (a stack dump would
# be taken for a splat).
attrs() { # probability interval times, for both
	for a in failslab fail_page_alloc; do
		echo "$1" >$F/$a/probability
		echo "$2" >$F/$a/interval
		echo "$3" >$F/$a/times
	done
}
for a in failslab fail_page_alloc; do
	echo 0 >$F/$a/verbose
	echo N >$F/$a/ignore-gfp-wait
	echo 0x$end >$F/$a/require-start
	echo 0xffffffffffffffff >$F/$a/require-end
	echo 32 >$F/$a/stacktrace-depth
	echo Y >$F/$a/task-filter
	echo 0 >$F/$a/space
done
echo 0 >$F/fail_page_alloc/min-order
echo N >$F/fail_page_alloc/ignore-gfp-highmem
attrs 0 1 1
# Kernel code that WARNs by design when an allocation fails gets no faults
# (the host would take the WARN for a splat): the stack filter rejects one
# function, disarm_kprobe_ftrace (disarming an ftrace-based kprobe updates
# ftrace's filter) and, while modules load, trace_rb_cpu_prepare (the ring
# buffer of each further CPU). rpfaildisarm=1 on the kernel command line
# (RPROBES_CMDLINE=rpfaildisarm=1) lifts the first: rprobes must then
# keep, and report, a probe it cannot disarm. For manual runs only: the
# kernel WARNs, and its failed disarm has already counted the probe out of
# ftrace (7.3 __disarm_kprobe_ftrace), so ftrace-based probes may stop
# firing for the rest of the boot.
reject() { # function
	lo=$(awk -v f="$1" '$3 == f { print $1 }' /proc/kallsyms)
	hi=$(awk -v lo="$lo" '$2 ~ /^[tT]$/ && $1 > lo { print $1 }' /proc/kallsyms | sort | head -n 1)
	[ -n "$lo" ] && [ -n "$hi" ] || fail "no $1 in /proc/kallsyms"
	for a in failslab fail_page_alloc; do
		echo 0x$lo >$F/$a/reject-start
		echo 0x$hi >$F/$a/reject-end
	done
	echo "# no faults in $1 [0x$lo, 0x$hi)"
}
if [ "$rpfaildisarm" = 1 ]; then
	echo "# rpfaildisarm=1: faults in disarm_kprobe_ftrace too (the kernel WARNs once)"
else
	reject disarm_kprobe_ftrace
fi
# No kprobe but rprobes' signal hook (registered with the first user
# probe, until rmmod).
no_kprobes() { ! grep -v 'arch_do_signal_or_restart+0x0' /sys/kernel/debug/kprobes/list | grep -q .; }
# Back to the defaults (no filter, no failures) whatever happens.
restore() {
	for a in failslab fail_page_alloc; do
		echo 0 >$F/$a/probability
		echo 0 >$F/$a/require-start
		echo 0 >$F/$a/reject-start
		echo 0 >$F/$a/reject-end
		echo N >$F/$a/task-filter
		echo Y >$F/$a/ignore-gfp-wait
		echo 2 >$F/$a/verbose
	done
	echo 1 >$F/fail_page_alloc/min-order
	echo Y >$F/fail_page_alloc/ignore-gfp-highmem
	touch $S/stop
	uprobe_cleanup
}
trap restore EXIT

faults=0
t0=$(now_cs)
# faultinj MODE ARGS...: one sweep; its faults are added up.
fi_run() {
	_t=$(now_cs)
	faultinj "$@" >$S/out 2>&1
	rc=$?
	echo "$(cat $S/out) ($(since $_t))"
	[ $rc -eq 0 ] || return 1
	n=$(sed -n 's/.* faults \([0-9]*\) .*/\1/p' $S/out)
	faults=$((faults + ${n:-0}))
}
# The module still counts: a probe, 100 calls, 100 hits. After a failed
# disarm (rpfaildisarm=1) the kernel's count of ftrace-based kprobes is off,
# so the probe is then past the function's fentry call (int3, not ftrace).
works() {
	at=$SG
	[ "$rpfaildisarm" = 1 ] && at=$SG+5
	echo "p:ok $at" >>$D/probes || return 1
	trigger 100
	[ "$(hits rprobes/ok)" -eq 100 ] || return 1
	echo '-:ok' >>$D/probes
}

load
echo 16 >$D/buffer_size_kb || fail "buffer_size_kb"
# Sweeps that only repeat paths of others: with SCALE 1 only.
all() { [ "$SCALE_PM" -ge 1000 ] || return 0; "$@"; }
check "add: kprobe" fi_run add rprobes/fa 'p:fa vfs_read'
all check "add: kprobe with group" fi_run add grp/fg "p:grp/fg $SG"
check "add: return probe" fi_run add rprobes/fr "r:fr $SG"
all check "add: return probe with maxactive" fi_run add rprobes/fr16 'r16:fr16 read_zero'
check "add: fetch args" fi_run add rprobes/fx 'p:fx ksys_read a=%di:x64 b=+0(%si):u8 s=+0(%si):ustring c=$comm'
all check "add: fetch args with a symbol" fi_run add rprobes/fy 'p:fy vfs_read ban=@linux_banner:string'
all check "add: return probe with fetch args" fi_run add rprobes/fxr "r:fxr $SG ret=\$retval:s32 p=\$arg1:x64"
all check "add: line buffer of a fresh file" fi_run rawline rprobes/fa 'p:fa vfs_read'
# The buffer grows at 16 bytes, and "p:fbuf vfs_read " is a whole line: a
# write failing there must not leave it for close(2) to run (the random
# section found that once).
check "add: line buffer grown mid-line" fi_run rawline rprobes/fbuf 'p:fbuf vfs_read a=%di:x64'
check "remove" fi_run remove rprobes/fa 'p:fa vfs_read'
all check "remove a return probe" fi_run remove rprobes/fr "r:fr $SG"
check "clear (> probes)" fi_run clear 'p:c1 vfs_read' "r:c2 $SG" 'p:c3 ksys_read a=%di:x64' 'r8:c4 read_zero'
echo "r:w $SG" >>$D/probes || fail "add w"
echo 'p:w2 vfs_read' >>$D/probes || fail "add w2"
echo 'p:w3 ksys_read' >>$D/probes || fail "add w3"
check "armed: disarm" fi_run write armed 'w 0' 'w 1'
all check "armed: arm" fi_run write armed 'w 1' 'w 0'
check "enabled: all off" fi_run write enabled 0 1
all check "enabled: all on" fi_run write enabled 1 0
check "filter" fi_run write filter 'w comm=trigger'
all check "set_event_pid" fi_run write set_event_pid '1 2 3'
all check "stacktrace" fi_run write stacktrace 'w'
all check "tracing_on" fi_run write tracing_on '0'
# What the write sweeps changed back (below SCALE 1 the sweeps that would
# do it, "all on" and "arm", are left out): everything on, w armed.
echo 1 >$D/tracing_on
echo 1 >$D/enabled
echo 'w 1' >$D/armed
: >$D/set_event_pid
echo 'w none' >$D/filter
check "buffer_size_kb 16 -> 32 -> 16" fi_run resize 32
# A known number of events for the reads: w2 and w3 (vfs_read, ksys_read:
# every read in the system, the sweeps' own included) disarmed, 50 of w.
# A full buffer makes `trace` allocate for every page of its text, and the
# sweep a step for each (900 steps of about 1 s on the debug kernel).
echo 'w2 0' >$D/armed
echo 'w3 0' >$D/armed
: >$D/trace
trigger 50
check "50 events for the reads" grep -q 'entries-in-buffer: 50,' $D/trace
reads="probes profile list armed filter memory instances latency returns stacktrace trace error_log trace_pipe xol"
[ "$SCALE_PM" -ge 1000 ] || reads="probes trace trace_pipe xol"
for f in $reads; do
	check "read $f" fi_run read $f
done
: >$D/probes

# User probes. The first probe of a process also makes its state (and,
# the first of all, hooks signal delivery): each try on a fresh process
# (ulife waits for a file that never comes), its N-th counted allocation
# failed (fail-nth of the writing shell; a comment line first grows the
# open file's line buffer). A failure: ENOMEM, the line in error_log, no
# probe and no state left for the process. Then add and remove on a
# process that has its state.
uproc() {
	uprog_start ulife $S/ul $S/never fork
	ub=$bg
	ua=$(point l_step 3 $S/ul)
}
n=1
left=0
ubad=
_t=$(now_cs)
while [ "$left" = 0 ] && [ $n -le 100 ]; do
	uproc
	: >$D/error_log
	sh -c "exec 3>>$D/probes; echo '#                                        ' >&3
		echo $n >/proc/self/fail-nth; echo 'p:uadd $ub:$ua' >&3; rc=\$?
		read l </proc/self/fail-nth; echo \$rc \$l" >$S/urc 2>$S/uerr
	read -r rc left <$S/urc
	if [ "$rc" != 0 ]; then
		grep -q 'Cannot allocate memory' $S/uerr || ubad="$ubad $n:errno($(cat $S/uerr))"
		grep -q "Command: p:uadd $ub:$ua" $D/error_log || ubad="$ubad $n:error_log"
		grep -q uadd $D/probes && ubad="$ubad $n:probe-left"
		xol_line $ub >/dev/null && ubad="$ubad $n:state-left"
	else
		grep -q uadd $D/probes || ubad="$ubad $n:no-probe"
	fi
	: >$D/probes
	kill $ub
	wait $ub 2>/dev/null
	n=$((n + 1))
done
faults=$((faults + n - 2))
echo "# user probe add: $((n - 2)) allocations failed in turn ($(since $_t))"
check "add: user probe on a new process${ubad:+ (bad:$ubad)}" [ -z "$ubad" ] && [ $n -gt 2 ] && [ "$left" -gt 0 ]
uproc
check "add: user probe" fi_run add rprobes/uadd "p:uadd $ub:$ua"
check "remove: user probe" fi_run remove rprobes/uadd "p:uadd $ub:$ua"
kill $ub
wait $ub 2>/dev/null

# The XOL area, made in the probed task at its first stepped hit (task
# work): ulife sets its own fail-nth, so that its N-th counted allocation
# from then on fails. The hit is taken again, the area made at the next
# one; results, hit counts (21 each: nothing counted twice or lost) and
# the area must be right. N goes up until no fault is injected.
xolrun() { # ulife -f ARG: runs it with both probes; $xo, $xb
	xo=$S/xol.$1
	uprog_start ulife $xo $S/xgo xolfail -f "$1" -k 20 -h
	xb=$bg
	echo "p:xe $xb:$(point l_emu 3 $xo)" >>$D/probes &&
		echo "p:xs $xb:$(point l_step 3 $xo)" >>$D/probes || return 1
	touch $S/xgo
	wait_line $xo '^done$' 60 $xb
}
xolstop() {
	: >$D/probes
	kill $xb
	wait $xb 2>/dev/null
}
n=1
left=0
xbad=
_t=$(now_cs)
while [ "$left" = 0 ] && [ $n -le 100 ]; do
	xolrun $n || xbad="$xbad $n:run"
	left=$(sed -n 's/^fail-left //p' $xo)
	grep -q '^errors 0$' $xo || xbad="$xbad $n:results"
	grep -q '^area yes$' $xo || xbad="$xbad $n:area"
	h="$(hits rprobes/xe) $(hits rprobes/xs)"
	[ "$h" = "21 21" ] || xbad="$xbad $n:hits($h)"
	[ "$left" = 0 ] && [ "$(xol_field $xb retries)" -lt 1 ] && xbad="$xbad $n:retries"
	xolstop
	n=$((n + 1))
done
faults=$((faults + n - 2))
echo "# XOL creation: $((n - 2)) allocations failed in turn ($(since $_t))"
check "XOL creation: each allocation fails in turn, the next hit makes it${xbad:+ (bad:$xbad)}" \
	[ -z "$xbad" ] && [ $n -gt 2 ] && [ "$left" -gt 0 ]

# Every allocation of it fails (make-it-fail): after 16 attempts the
# process is given up on, its breakpoints removed; it runs on unprobed,
# with right results.
attrs 100 1 100000
xolrun 0
attrs 0 1 1
check "XOL creation always failing: results right" grep -q '^errors 0$' $xo
check "XOL creation always failing: no area" grep -q '^area no$' $xo
check "XOL creation always failing: xol says so" [ "$(xol_field $xb area)" = failed ]
check "XOL creation always failing: no stepped hit counted" [ "$(hits rprobes/xs)" = 0 ]
check "XOL creation always failing: reported" in_dmesg "pid $xb: cannot create the XOL area"
xolstop
check "nothing left" no_kprobes
check "module still works" works
check "rmmod" rmmod rprobes

# Module load: the allocations of init (the ring buffer's pages first,
# then the kallsyms scan and the probes of the parameters, then the
# debugfs files; sampled as the sizes above say), while every CPU calls the
# functions under the return probes.
PARAMS="kprobes=vfs_read,$SG kretprobes=$SG:8,read_zero"
reject trace_rb_cpu_prepare
for i in $(seq $(nproc)); do
	(while [ ! -e $S/stop ] && kill -0 $$ 2>/dev/null; do
		trigger 20000 && trigger -n 20000 || echo "# load $i failed"
	done) &
done
total=$(faultinj count /rprobes.ko $PARAMS)
echo "# a load makes $total counted allocations"
check "load counted allocations" [ "${total:-0}" -gt $((HEAD + TAIL)) ]
tail0=$((total - TAIL))
check "insmod: first $HEAD allocations" fi_run insmod /rprobes.ko 1 $HEAD 1 $PARAMS
check "insmod: every $STRIDE after" fi_run insmod /rprobes.ko $((HEAD + 1)) $((tail0 - 1)) $STRIDE $PARAMS
check "insmod: the last $TAIL allocations, every $STEP" \
	fi_run insmod /rprobes.ko $tail0 $((total + 20)) $STEP $PARAMS
touch $S/stop
wait
check "nothing loaded" [ ! -d /sys/module/rprobes ]
[ "$rpfaildisarm" = 1 ] || reject disarm_kprobe_ftrace

# Random failures: make-it-fail on for each operation of the helper only,
# 1 in 10 of its counted allocations (interval 1), at most 100000 faults
# of each type (`times` counts them down).
load
if [ "$RANDOM_OPS" -gt 0 ]; then
echo 16 >$D/buffer_size_kb
attrs 10 1 100000
seed=${RPROBES_FUZZ_SEED:-$(date +%s)}
echo "# seed $seed"
check "random: $RANDOM_OPS operations" faultinj random "$seed" $RANDOM_OPS
left=$(($(cat $F/failslab/times) + $(cat $F/fail_page_alloc/times)))
attrs 0 1 1
random=$((200000 - left))
echo "# random: $random faults injected"
check "random faults were injected" [ $random -gt 0 ]
faults=$((faults + random))
else
	echo "# random section skipped (FAILSLAB_RANDOM_OPS=0)"
fi
check "no kprobe left" no_kprobes
check "module still works" works
check "rmmod" rmmod rprobes
echo "# $faults faults injected in all ($(since $t0))"
finish

# SPDX-License-Identifier: GPL-2.0
# debug-cost: 175
# User probes end to end: breakpoints in one process (and not in another
# process running the same binary), emulated and stepped instructions,
# exact hit counts, identical program output, the XOL area, removal,
# errors, reaping at exit, unload.
. /tests/lib.sh
load
# Loop iterations of the target (each probe hit N or 2N times): scaled,
# at least 100 (the debug kernel runs a twentieth).
N=$(scaled 1000 100)
trap uprobe_cleanup EXIT

# Reference run, unprobed.
uloop_reference ref
ref=$res

# Probed run, with an unprobed twin running the same binary at once.
uloop_start p
uloop_start twin
pid=$pid_p
for n in u_nop u_push u_rip u_ripst u_mov u_call u_jcc_jz u_icall u_retp_ret; do
	expect_ok $D/probes "p:ut/$n $pid:$(uloop_addr p $n)"
done
cat $D/probes
check "probes listed" [ "$(grep -c "^p:ut/.* $pid:0x" $D/probes)" = 9 ]
cat $D/list
check "list shows the verdicts" grep -q "ut/u_rip $pid:0x[0-9a-f]* \[step-fixup\]" $D/list
grep "pid=$pid " $D/xol
check "no XOL area before a step" grep -q "pid=$pid area=none" $D/xol
# Refused instructions (u_r_*, never run): EINVAL, the decoder's reason in
# error_log, and no breakpoint: the process's bytes there are the file's,
# and its run below (result compared) is right.
for r in syscall:syscall sysenter:syscall int80:int cli:privileged hlt:privileged \
	ljmp:far-transfer lcall:far-transfer lret:far-transfer iret:iret \
	movss:segment-load popfs:segment-load; do
	n=${r%%:*}
	why=${r#*:}
	: >$D/error_log
	expect_err $D/probes EINVAL "p:ut/r_$n $pid:$(uloop_addr p u_r_$n)"
	check "u_r_$n: error_log gives the reason '$why'" \
		grep -q "rprobes: error: The instruction cannot be probed: $why\$" $D/error_log
	check "u_r_$n: the command in error_log" grep -q "Command: p:ut/r_$n $pid:" $D/error_log
done
check "still 9 probes after the refused ones" [ "$(grep -c '^p:ut/' $D/probes)" = 9 ]
check "no refused probe in list" not grep -q 'ut/r_' $D/list
grep '^u_r_\|^u_int3 ' /tmp/ul.p >/tmp/ul.p.refused
ubytes $pid /tests/progs/uprobe_loop </tmp/ul.p.refused >/tmp/ul.p.rbytes || fail "ubytes on the refused points"
cat /tmp/ul.p.rbytes
check "the process's text at every refused point is the file's, no int3" \
	awk '$4 != $5 || $4 == "cc" && $1 != "u_int3" { bad = 1 } END { exit bad }' /tmp/ul.p.rbytes

# Fetch arguments: registers, $comm, user memory (the return address);
# its point, `test %edi,%edi`, is stepped: 6 stepped probe points in all.
expect_ok $D/probes "p:ut/args $pid:$(uloop_addr p u_jcc) i=%di:s64 c=\$comm ret=+0(%sp):x64"
check "arguments read back" grep -q "^p:ut/args $pid:0x[0-9a-f]* i=%di:s64 c=\$comm ret=+0(%sp):x64$" $D/probes
: >$D/trace
touch /tmp/go.p /tmp/go.twin
uloop_result p
got=$res
uloop_result twin
twin=$res
echo "probed: $got"
echo "twin:   $twin"
check "probed output identical" [ "$got" = "$ref" ]
check "twin output identical (no breakpoint in it)" [ "$twin" = "$ref" ]
cat $D/profile
# u_call calls u_nop, u_icall calls u_rip through fptr.
for n in u_nop u_push u_rip u_ripst u_mov u_call u_jcc_jz u_icall u_retp_ret; do
	want=$N
	case $n in u_nop | u_rip) want=$((2 * N)) ;; esac
	h=$(hits ut/$n)
	[ "$h" = $want ] || fail "ut/$n: $h hits, expected $want"
done
echo "ok: every probe hit exactly as often as it was called"
line=$(grep "pid=$pid " $D/xol)
echo "$line"
area=$(echo "$line" | sed -n 's/.*area=\(0x[0-9a-f]*\).*/\1/p')
[ -n "$area" ] || fail "no XOL area after steps"
case $line in *" stepped=$((6 * N)) emulated=$((6 * N)) "*) echo "ok: step and emulation counts" ;; *) fail "counts" ;; esac
case $line in *" slots=0/"*) echo "ok: no slot left in use" ;; *) fail "slots in use" ;; esac
grep "^${area#0x}-" /proc/$pid/maps
check "XOL area r-xp in the process" grep -q "^${area#0x}-[0-9a-f]* r-xp " /proc/$pid/maps
check "no XOL area in the twin" not grep -q "pid=$pid_twin " $D/xol

grep -c 'ut/args:' $D/trace
check "one event per call" [ "$(grep -c 'ut/args:' $D/trace)" = $N ]
grep 'ut/args:' $D/trace | head -n 2
first=$(grep 'ut/args:' $D/trace | head -n 1)
second=$(grep 'ut/args:' $D/trace | sed -n 2p)
case $first in *"uprobe_loop-$pid "*": ut/args: ("*") i=0 c=\"uprobe_loop\" ret=0x4"*) echo "ok: first event" ;; *) fail "first event: $first" ;; esac
case $second in *") i=1 c=\"uprobe_loop\" ret=0x4"*) echo "ok: second event" ;; *) fail "second event: $second" ;; esac
expect_ok $D/probes "-:ut/args"

# Errors: each with an errno and a reason; nothing changes.
expect_err $D/probes EEXIST "p:ut/again $pid:$(uloop_addr p u_nop)"
expect_err $D/probes EINVAL "p:ut/bad $pid:$(uloop_addr p u_int3)"
check "reason in error_log" grep -q "The instruction cannot be probed: int" $D/error_log
expect_err $D/probes EOPNOTSUPP "r:ut/ret $pid:$(uloop_addr p u_nop)"
expect_err $D/probes EFAULT "p:ut/data $pid:0x1000"
expect_err $D/probes ENOENT "p:ut/file $pid:/no/such:0x0"
: >$D/error_log
expect_err $D/probes EINVAL "p:ut/sym $pid:$(uloop_addr p u_jcc) x=@jiffies"
check "@SYM in a user probe: SYM_ON_UPROBE" grep -q 'rprobes: error: Symbol is not available with uprobe' $D/error_log
expect_err $D/probes EINVAL "p:ut/arg1 $pid:$(uloop_addr p u_jcc) x=\$arg1"
check "still 9 probes" [ "$(grep -c '^p:ut/' $D/probes)" = 9 ]

# Removal restores the instruction; the process keeps running correctly
# (its result checked above, it must still exit 0 after the refused adds).
expect_ok $D/probes "-:ut/u_rip"
check "removed" not grep -q 'ut/u_rip ' $D/probes
touch /tmp/end.p /tmp/end.twin
wait $pid_p
check "probed process exits 0" [ $? = 0 ]
wait $pid_twin

# Exit: its probes and state are reaped.
check "state reaped at exit" xol_gone $pid
check "probes reaped at exit" not grep -q '^p:ut/' $D/probes
expect_err $D/probes ESRCH "p:ut/dead $pid:$(uloop_addr p u_nop)"

# rmmod while a process is stepping probed instructions all the time: it
# may be refused while a step is in flight (EAGAIN), then it succeeds,
# every breakpoint is gone, and the process finishes with the right result.
N=20000
uloop_reference ref2
ref2=$res
uloop_start s
for n in u_rip u_ripst u_mov u_icall u_retp_ret; do
	expect_ok $D/probes "p:ut/$n $pid_s:$(uloop_addr s $n)"
done
touch /tmp/go.s
usleep 500000
tries=0
until rmmod rprobes 2>/dev/null; do
	tries=$((tries + 1))
	[ $tries -lt 200 ] || fail "rmmod never succeeded"
	usleep 10000
done
echo "ok: rmmod under stepping succeeded after $tries refusal(s)"
uloop_result s
got=$res
echo "under rmmod: $got"
check "result right across the unload" [ "$got" = "$ref2" ]
touch /tmp/end.s
wait $pid_s
check "process exits 0" [ $? = 0 ]
finish

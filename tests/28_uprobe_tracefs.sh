# SPDX-License-Identifier: GPL-2.0
# debug-cost: 44
# rprobes' user probes beside the kernel's own (tracefs uprobe_events) in
# one process. The kernel's uprobe die notifier claims every int3 of a
# process that has a uprobe anywhere (MMF_HAS_UPROBES) and, finding none of
# its own at the address, sends SIGTRAP: rprobes' notifier must see the
# trap first and pass on what is not its own. Checked: identical output,
# exact counts on both sides, each side's removal leaves the other
# working, and rprobes refuses the instruction a uprobe already holds.
. /tests/lib.sh
[ -e $T/uprobe_events ] || skip "no uprobe_events in this kernel"
load
N=$(scaled 1000 100)
BIN=/tests/progs/uprobe_loop
trap 'echo 0 2>/dev/null >$T/events/rpt/enable; echo >$T/uprobe_events; uprobe_cleanup' EXIT
uhits() { awk -v e="$1" '$2 == e { print $3 }' $T/uprobe_profile; }

uloop_reference ref
ref=$res

uloop_start p
pid=$pid_p
# The kernel's uprobe (on the file) on u_mov; rprobes (in this process)
# on u_push and u_call (emulated) and u_rip (stepped with a fix-up).
off=$(file_off $pid $BIN $(uloop_addr p u_mov))
[ -n "$off" ] || fail "no file offset for u_mov"
echo "p:rpt/mov $BIN:$off" >$T/uprobe_events || fail "tracefs uprobe"
echo 1 >$T/events/rpt/enable || fail "enable the tracefs uprobe"
for n in u_push u_call u_rip; do
	expect_ok $D/probes "p:ut/$n $pid:$(uloop_addr p $n)"
done
# The instruction under the kernel's int3 is not rprobes' to take.
expect_err $D/probes EINVAL "p:ut/u_mov $pid:$(uloop_addr p u_mov)"
check "the refusal says why" grep -q "The instruction cannot be probed: int" $D/error_log
touch /tmp/go.p
uloop_result p
got=$res
echo "# probed: $got"
check "output identical with both kinds of probes" [ "$got" = "$ref" ]
check "tracefs uprobe: $N hits" [ "$(uhits mov)" = $N ]
check "rprobes u_push: $N hits" [ "$(hits ut/u_push)" = $N ]
check "rprobes u_call: $N hits" [ "$(hits ut/u_call)" = $N ]
check "rprobes u_rip: $((2 * N)) hits (direct and through fptr)" [ "$(hits ut/u_rip)" = $((2 * N)) ]
touch /tmp/end.p
wait $pid
check "the probed process exited with 0" [ $? = 0 ]

# Each side's removal leaves the other working: rprobes' probes go first
# in one process, the kernel's in the other.
uloop_start a
uloop_start b
for t in a b; do
	eval p=\$pid_$t
	expect_ok $D/probes "p:ut/push_$t $p:$(uloop_addr $t u_push)"
done
echo 1 >$T/events/rpt/enable
echo "-:ut/push_a" >>$D/probes || fail "remove ut/push_a"
echo 0 >$T/events/rpt/enable
echo >$T/uprobe_events || fail "remove the tracefs uprobe"
echo "p:rpt/mov $BIN:$off" >$T/uprobe_events && echo 1 >$T/events/rpt/enable || fail "re-add"
touch /tmp/go.a /tmp/go.b
uloop_result a
check "a: output identical (kernel uprobe only)" [ "$res" = "$ref" ]
uloop_result b
check "b: output identical (both)" [ "$res" = "$ref" ]
check "tracefs uprobe: $((2 * N)) hits over a and b" [ "$(uhits mov)" = $((2 * N)) ]
check "rprobes push_b: $N hits" [ "$(hits ut/push_b)" = $N ]
touch /tmp/end.a /tmp/end.b
wait $pid_a
check "a exited with 0" [ $? = 0 ]
wait $pid_b
check "b exited with 0" [ $? = 0 ]
echo 0 >$T/events/rpt/enable
echo >$T/uprobe_events
: >$D/probes
finish

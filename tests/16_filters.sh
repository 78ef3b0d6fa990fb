# SPDX-License-Identifier: GPL-2.0
# debug-cost: 42
# Filters: per probe pid= / comm=, the global set_event_pid; a filtered-out
# hit is neither counted, recorded nor (return probes) hijacked.
. /tests/lib.sh
load
echo 'p:sg __x64_sys_sched_get_priority_min' >>$D/probes || fail add
echo 'r:sgr __x64_sys_sched_get_priority_min' >>$D/probes || fail add
expect_err $D/filter ENOENT 'nosuch pid=1'
expect_err $D/filter EINVAL 'sg pid=abc'
expect_err $D/filter EINVAL 'sg pid=0'
expect_err $D/filter EINVAL 'sg color=red'
expect_err $D/filter EINVAL 'sg comm=0123456789abcdef'
check "no filter by default" grep -qx 'rprobes/sg none' $D/filter

# comm: only `trigger` counts; the same syscall from another comm does not.
echo 'sg comm=trigger' >$D/filter || fail "comm filter"
echo 'sgr comm=trigger' >$D/filter || fail "comm filter"
check "reads back" grep -qx 'rprobes/sg comm=trigger' $D/filter
cp /tests/progs/trigger /tmp/other
/tmp/other 7
trigger 5
check "entry: only trigger's 5 hits" [ "$(hits rprobes/sg)" -eq 5 ]
check "return: only trigger's 5" [ "$(hits rprobes/sgr)" -eq 5 ]
check "only trigger's events" [ "$(grep -c 'other-' $D/trace)" -eq 0 ]
check "10 events from trigger" [ "$(grep -c 'trigger-' $D/trace)" -eq 10 ]

# pid: one of two identical processes.
echo 'sg none' >$D/filter
echo 'sgr none' >$D/filter
sh -c 'usleep 300000; exec trigger 4' &
p=$!
echo "sg pid=$p" >$D/filter || fail "pid filter"
trigger 6
wait $p
check "pid filter: 5 + 4" [ "$(hits rprobes/sg)" -eq 9 ]
check "unfiltered return probe: 5 + 4 + 6" [ "$(hits rprobes/sgr)" -eq 15 ]
echo 'sg none' >$D/filter

# Global set_event_pid applies to every probe.
sh -c 'usleep 300000; exec trigger 3' &
p=$!
echo "$p" >$D/set_event_pid || fail set_event_pid
check "set_event_pid reads back" [ "$(cat $D/set_event_pid)" = "$p" ]
trigger 8
wait $p
check "global: entry 9 + 3" [ "$(hits rprobes/sg)" -eq 12 ]
check "global: return 15 + 3" [ "$(hits rprobes/sgr)" -eq 18 ]
: >$D/set_event_pid
check "cleared" [ -z "$(cat $D/set_event_pid)" ]
trigger 1
check "after clearing, all count" [ "$(hits rprobes/sg)" -eq 13 ]

# A filtered-out hit of a return probe is not hijacked: while a task the
# filter excludes sleeps inside the function, none of the probe's
# instances is in flight (a filter applied only at the return would have
# one). The same with a filter that lets the task through is the control.
# The entry probe tells when the task is inside; it is still inside when
# its process is still there after in_flight was read (the sleep is long,
# and the task is killed to end it).
inflight() { awk '$1 == "in_flight" { print $2 }' $D/instances; }
echo 'r:slp rprobes_selftest_sleep' >>$D/probes || fail "add slp"
echo 'p:slpe rprobes_selftest_sleep' >>$D/probes || fail "add slpe"
sleep_inside() { # filter of slp; prints in_flight while a task is inside
	echo "slp $1" >$D/filter || fail "filter slp $1"
	_h=$(hits rprobes/slpe)
	sh -c "echo 'sleep 600000' >$D/selftest" &
	_s=$!
	_n=$((600 * SLOW))
	while [ "$(hits rprobes/slpe)" -eq "$_h" ] && [ $_n -gt 0 ]; do
		pause 0.1
		_n=$((_n - 1))
	done
	_f=$(inflight)
	kill -0 $_s 2>/dev/null || fail "the sleeper was not inside"
	kill -9 $_s
	wait $_s 2>/dev/null
	echo "$_f"
}
f=$(sleep_inside comm=nosuchcomm)
check "filtered out: not hijacked (in_flight $f)" [ "$f" = 0 ]
check "filtered out: not counted" [ "$(hits rprobes/slp)" -eq 0 ]
f=$(sleep_inside comm=sh)
check "let through: hijacked (in_flight $f)" [ "$f" = 1 ]
check "let through: its return counted" [ "$(hits rprobes/slp)" -eq 1 ]
echo >$D/probes
finish

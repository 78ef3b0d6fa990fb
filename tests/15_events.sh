# SPDX-License-Identifier: GPL-2.0
# debug-cost: 71
# The event stream: line format for entry and return events, trace_pipe
# (consuming, blocking, poll, O_NONBLOCK), trace (snapshot; > clears),
# tracing_on, buffer_size_kb and lost events.
. /tests/lib.sh
load
echo 'p:sg __x64_sys_sched_get_priority_min' >>$D/probes || fail add
echo 'r:sgr __x64_sys_sched_get_priority_min' >>$D/probes || fail add
trigger 3
cat $D/trace
check "3 entry events" [ "$(grep -c ': rprobes/sg: (__x64_sys_sched_get_priority_min+0x0/0x' $D/trace)" -eq 3 ]
check "3 return events: (caller <- func)" \
	[ "$(grep -c ': rprobes/sgr: (.*+0x.*/0x.* <- __x64_sys_sched_get_priority_min)$' $D/trace)" -eq 3 ]
check "comm-pid [cpu] secs.usecs:" grep -Eq '^ *trigger-[0-9]+ +\[[0-9]{3}\] +[0-9]+\.[0-9]{6}: rprobes/sg: ' $D/trace
check "trace does not consume" [ "$(grep -c rprobes/sg: $D/trace)" -eq 3 ]
check "pipe has data: poll says ready" [ "$(pollwait $D/trace_pipe 0)" = ready ]
timeout 2 cat $D/trace_pipe >/tmp/pipe.out
check "trace_pipe gave all 6" [ "$(grep -c 'rprobes/sg' /tmp/pipe.out)" -eq 6 ]
check "entry before its return" [ "$(sed -n 1p /tmp/pipe.out | grep -c 'rprobes/sg: ')" -eq 1 ]
check "trace_pipe consumed them" [ "$(grep -c 'rprobes/sg' $D/trace)" -eq 0 ]
check "empty pipe: poll times out" [ "$(pollwait $D/trace_pipe 200)" = timeout ]
check "O_NONBLOCK read of an empty pipe fails with EAGAIN" \
	[ "$(ctl -r $D/trace_pipe 2>&1)" = EAGAIN ]

# A reader blocks until an event arrives.
head -n 1 $D/trace_pipe >/tmp/one.out &
r=$!
usleep 500000
check "reader still blocked" kill -0 $r
trigger 1
wait $r
check "reader woke up with the event" grep -q 'rprobes/sg: ' /tmp/one.out
timeout 1 cat $D/trace_pipe >/dev/null

# poll wakes up when an event arrives.
pollwait $D/trace_pipe 3000 >/tmp/poll.out &
p=$!
usleep 300000
trigger 1
wait $p
check "poll woke up" [ "$(cat /tmp/poll.out)" = ready ]
: >$D/trace
check "> trace clears" [ "$(grep -vc '^#' $D/trace)" -eq 0 ]

echo 0 >$D/tracing_on
trigger 5
check "tracing_on 0: no events" [ "$(grep -vc '^#' $D/trace)" -eq 0 ]
check "but hits still counted" [ "$(hits rprobes/sg)" -eq 10 ]
echo 1 >$D/tracing_on

# A tiny buffer overflows: old events are overwritten and counted.
echo 4 >$D/buffer_size_kb || fail resize
check "buffer_size_kb reads back" [ "$(cat $D/buffer_size_kb)" -le 8 ]
trigger 3000
head -3 $D/trace
check "overwritten events counted" [ "$(sed -n 's/.*overwritten: \([0-9]*\).*/\1/p' $D/trace)" -gt 0 ]
timeout 2 cat $D/trace_pipe >/tmp/pipe.out
check "trace_pipe reports lost events" grep -q '^CPU:[0-9]* \[LOST [0-9]* EVENTS\]' /tmp/pipe.out
expect_err $D/buffer_size_kb EINVAL 0
expect_err $D/buffer_size_kb EINVAL abc
echo 1408 >$D/buffer_size_kb

# comm-pid is resolved when the events are read, from the comm each pid
# last hit with (tracefs does it from its saved cmdlines), also for a task
# that renamed itself between hits, while $comm is the comm at the hit.
: >$D/trace
echo 'p:sgc __x64_sys_sched_get_priority_min c=$comm' >>$D/probes || fail "add sgc"
echo 'p:kp/sgc __x64_sys_sched_get_priority_min c=$comm' >>$T/kprobe_events || fail "tracefs add"
echo 1 >$T/events/kp/sgc/enable
echo >$T/trace
cp /tests/progs/trigger /tmp/a-much-longer-name
trigger 2
/tmp/a-much-longer-name 1
trigger -n renamed 2
echo 0 >$T/events/kp/sgc/enable
grep ' sgc: ' $T/trace | awk '{ print $1, $NF }' >/tmp/sgc.tracefs
grep ' rprobes/sgc: ' $D/trace | awk '{ print $1, $NF }' >/tmp/sgc.rprobes
echo '-:kp/sgc' >>$T/kprobe_events
echo '-:sgc' >>$D/probes
echo "# tracefs: $(cat /tmp/sgc.tracefs)"
echo "# rprobes: $(cat /tmp/sgc.rprobes)"
check "7 events" [ "$(wc -l </tmp/sgc.rprobes)" -eq 7 ]
# tracefs may not have saved a comm yet (<...>); where it has, they agree.
check "pids, comms and \$comm as tracefs" [ "$(paste -d' ' /tmp/sgc.tracefs /tmp/sgc.rprobes |
	awk '{ t = $1; sub(/.*-/, "", t); r = $3; sub(/.*-/, "", r)
		if (t != r || $2 != $4 || ($1 !~ /^<...>-/ && $1 != $3)) bad++ }
		END { print bad + 0 }')" -eq 0 ]
check "a renamed task shows its last comm" [ "$(grep -c '^renamed-.* c="trigger"$' /tmp/sgc.rprobes)" -eq 2 ]
check "\$comm is the comm at the hit" [ "$(grep -c '^renamed-.* c="renamed"$' /tmp/sgc.rprobes)" -eq 2 ]
check "a comm is 15 characters" [ "$(grep -c '^a-much-longer-n-' /tmp/sgc.rprobes)" -eq 1 ]

# Events of a removed probe stay readable.
trigger 1
echo >$D/probes
check "events outlive their probe" grep -q 'removed probe' $D/trace
finish

# SPDX-License-Identifier: GPL-2.0
# debug-cost: 99
# Several probes under one event, as tracefs' kprobe_multiprobe.tc and the
# append errors of kprobe_syntax_errors.tc: the probes fire the one event
# (each event line with its own function), `-:EVENT SYM` removes one,
# `-:EVENT` the rest; armed, filter and stacktrace are the event's; an
# appended probe needs the same type and argument names and types, and must
# not be the exact same probe; kernel and user events never share a name.
. /tests/lib.sh
load
S=$D/selftest
F1=__x64_sys_sched_get_priority_min
F2=rprobes_selftest_recurse
N=$(scaled 100 20)
trap uprobe_cleanup EXIT
# The event's hits: the sum over its probes' lines in profile.
ehits() {
	_s=0
	while read -r _e _h _; do
		[ "$_e" = "$1" ] && _s=$((_s + _h))
	done <$D/profile
	echo $_s
}
# (Module functions print as `FUNC+0xOFF/0xSIZE [rprobes]`.)
# Lines of FILE matching a regex.
count() { grep -c "$2" "$1"; }
# Two probes, one event.
expect_ok $D/probes "p:multi $F1 x=%di:u64"
expect_ok $D/probes "p:multi $F2 x=%di:u64"
cat $D/probes
check "one line per probe" [ "$(count $D/probes '^p:rprobes/multi ')" -eq 2 ]
check "the first probe" grep -qx "p:rprobes/multi $F1 x=%di:u64" $D/probes
check "the second probe" grep -qx "p:rprobes/multi $F2 x=%di:u64" $D/probes
check "two kprobes" [ "$(count /sys/kernel/debug/kprobes/list .)" -eq 2 ]
check "list: both" [ "$(count $D/list ' rprobes/multi ')" -eq 2 ]
check "profile: a line per probe" [ "$(count $D/profile '^  rprobes/multi ')" -eq 2 ]
check "armed: the event" [ "$(cat $D/armed)" = "rprobes/multi 1" ]
check "filter: the event" [ "$(cat $D/filter)" = "rprobes/multi none" ]
check "memory counts both" grep -qx 'probes 2' $D/memory
trigger 3
echo 'recurse 4' >$S || fail recurse
cat $D/trace
check "3 events from $F1" [ "$(count $D/trace ": rprobes/multi: ($F1+0x0/0x[0-9a-f]*) x=")" -eq 3 ]
check "5 events from $F2" [ "$(count $D/trace ": rprobes/multi: ($F2+0x0/0x[0-9a-f]* \[rprobes\]) x=")" -eq 5 ]
check "$F2's arguments 4..0" [ "$(sed -n "s/.*($F2+.*) x=//p" $D/trace | tr '\n' ' ')" = "4 3 2 1 0 " ]
check "profile: 3 + 5 hits" [ "$(ehits rprobes/multi)" -eq 8 ]

# armed is the event's: all of its probes, and a probe appended later.
echo 'multi 0' >$D/armed || fail disarm
check "armed 0" [ "$(cat $D/armed)" = "rprobes/multi 0" ]
check "both disabled" [ "$(count $D/list 'rprobes/multi .* \[DISABLED\]$')" -eq 2 ]
expect_ok $D/probes "p:multi rprobes_selftest_inner x=%di:u64"
check "the appended probe is disabled too" [ "$(count $D/list 'rprobes/multi .* \[DISABLED\]$')" -eq 3 ]
trigger 2
echo 'recurse 1' >$S
echo 'nest 7' >$S
check "no hits while disarmed" [ "$(ehits rprobes/multi)" -eq 8 ]
echo 'multi 1' >$D/armed || fail arm
check "none disabled" [ "$(count $D/list 'DISABLED')" -eq 0 ]
trigger 1
echo 'recurse 0' >$S
echo 'nest 7' >$S
check "all three fire: 8 + 1 + 1 + 1" [ "$(ehits rprobes/multi)" -eq 11 ]
check "inner's x=7" grep -q ": rprobes/multi: (rprobes_selftest_inner+0x0/0x[0-9a-f]* \[rprobes\]) x=7$" $D/trace

# The filter is the event's, and an appended probe takes it.
echo 'multi comm=trigger' >$D/filter || fail filter
check "filter: one line" [ "$(cat $D/filter)" = "rprobes/multi comm=trigger" ]
expect_ok $D/probes "p:multi rprobes_selftest_outer x=%di:u64"
trigger 2
echo 'recurse 1' >$S
echo 'nest 1' >$S
check "only trigger's 2 hits" [ "$(ehits rprobes/multi)" -eq 13 ]
expect_err $D/filter EINVAL 'multi pid=0'
check "a refused filter leaves the event with one" [ "$(count $D/filter .)" -eq 1 ]
echo 'multi none' >$D/filter || fail "filter none"
echo 'nest 1' >$S
check "unfiltered: inner and outer" [ "$(ehits rprobes/multi)" -eq 15 ]

# Removal: one probe by its point (and arguments), then the rest.
expect_err $D/probes ENOENT "-:multi vfs_read"
expect_err $D/probes ENOENT "-:multi $F2 x=%di"
expect_err $D/probes ENOENT "-:multi $F2 y=%di:u64"
expect_err $D/probes ENOENT "-:multi $F2+0"
expect_ok $D/probes "-:multi $F2 x=%di:u64"
check "three left" [ "$(count $D/probes '^p:rprobes/multi ')" -eq 3 ]
check "$F2's gone" not grep -q "$F2" $D/probes
expect_ok $D/probes "-:rprobes/multi rprobes_selftest_inner"
check "two left" [ "$(count /sys/kernel/debug/kprobes/list .)" -eq 2 ]
: >$D/trace
trigger 2
echo 'recurse 3' >$S
echo 'nest 1' >$S
check "$F1: 2 events" [ "$(count $D/trace ": rprobes/multi: ($F1+")" -eq 2 ]
check "outer: 1 event" [ "$(count $D/trace ": rprobes/multi: (rprobes_selftest_outer+")" -eq 1 ]
check "none from the removed" [ "$(count $D/trace ": rprobes/multi: ")" -eq 3 ]
expect_ok $D/probes "-:multi"
check "none left" [ ! -s $D/probes ]
check "no kprobes" [ ! -s /sys/kernel/debug/kprobes/list ]
check "armed empty" [ ! -s $D/armed ]
expect_err $D/probes ENOENT "-:multi"

# kprobe_syntax_errors.tc: appending to `p:kprobes/testevent FUNC abcd=\1`.
printf '%s\n' 'p:kprobes/testevent kernel_clone abcd=\1' >>$D/probes || fail "add testevent"
expect_err_at '^r:kprobes/testevent do_exit' EEXIST 'Probe type is different from existing probe'
expect_err_at '^p:kprobes/testevent do_exit%return' EEXIST 'Probe type is different from existing probe'
expect_err_at 'p:kprobes/testevent kernel_clone ^bcd=\1' EEXIST 'Argument type or name is different from existing probe'
expect_err_at 'p:kprobes/testevent kernel_clone ^abcd=\1:u8' EEXIST 'Argument type or name is different from existing probe'
expect_err_at 'p:kprobes/testevent kernel_clone ^abcd=\"foo"' EEXIST 'Argument type or name is different from existing probe'
expect_err_at 'p:kprobes/testevent kernel_clone abcd=\1 ^x=\2' EEXIST 'Argument type or name is different from existing probe'
# Fewer arguments: after the end of the command (tracefs counts its NUL).
expect_err_at 'p:kprobes/testevent kernel_clone ^' EEXIST 'Argument type or name is different from existing probe'
expect_err_at '^p:kprobes/testevent kernel_clone abcd=\1' EEXIST 'There is already the exact same probe event'
expect_err_at '^p:kprobes/testevent kernel_clone+0 abcd=\1' EEXIST 'There is already the exact same probe event'
# The same names and types with another body, or another point: appended.
expect_ok $D/probes 'p:kprobes/testevent kernel_clone abcd=\2'
expect_ok $D/probes 'p:kprobes/testevent vfs_read abcd=\1'
check "three under testevent" [ "$(count $D/probes '^p:kprobes/testevent ')" -eq 3 ]
expect_err_at '^p:kprobes/testevent vfs_read abcd=\1' EEXIST 'There is already the exact same probe event'
# Argument matching removes just the one with that body.
expect_ok $D/probes '-:kprobes/testevent kernel_clone abcd=\2'
check "kernel_clone abcd=\\1 stays" grep -qx 'p:kprobes/testevent kernel_clone abcd=\\1' $D/probes
check "two left" [ "$(count $D/probes '^p:kprobes/testevent ')" -eq 2 ]
: >$D/probes
check "> clears every probe of the event" [ ! -s $D/probes ]

# Return probes: one event on two functions, each return its own.
expect_ok $D/probes 'r:rm rprobes_selftest_inner ret=$retval:u64'
expect_ok $D/probes 'r:rm rprobes_selftest_outer ret=$retval:u64'
# maxactive is no part of the probe type.
expect_ok $D/probes 'r5:rm rprobes_selftest_recurse ret=$retval:u64'
expect_err_at '^p:rm rprobes_selftest_sleep' EEXIST 'Probe type is different from existing probe'
expect_err_at '^r:rm rprobes_selftest_inner ret=$retval:u64' EEXIST 'There is already the exact same probe event'
expect_err_at '^p:rm rprobes_selftest_inner%return ret=$retval:u64' EEXIST 'There is already the exact same probe event'
expect_err_at 'r:rm rprobes_selftest_sleep ^ret=$retval:s64' EEXIST 'Argument type or name is different from existing probe'
check "r5 reads back" grep -qx 'r5:rprobes/rm rprobes_selftest_recurse ret=$retval:u64' $D/probes
echo 'rm' >$D/stacktrace || fail "stacktrace on"
: >$D/trace
echo 'nest 7' >$S
echo 'recurse 2' >$S
cat $D/trace
check "inner returns 15 to outer" \
	grep -q ": rprobes/rm: (rprobes_selftest_outer+0x[0-9a-f]*/0x[0-9a-f]* \[rprobes\] <- rprobes_selftest_inner[^)]*) ret=15$" $D/trace
check "outer returns 115" grep -q ": rprobes/rm: (.* <- rprobes_selftest_outer[^)]*) ret=115$" $D/trace
check "recurse returns 0, 1, 2" [ "$(count $D/trace ": rprobes/rm: (.* <- rprobes_selftest_recurse[^)]*) ret=[012]$")" -eq 3 ]
check "profile: 5 returns" [ "$(ehits rprobes/rm)" -eq 5 ]
check "latency: a histogram per probe" [ "$(count $D/latency '^rprobes/rm: returns ')" -eq 3 ]
check "stacktrace on for the event's probes" [ "$(count $D/stacktrace '^rprobes/rm:$')" -eq 3 ]
check "returns: 5" [ "$(count $D/returns 'rprobes/rm')" -eq 5 ]
expect_ok $D/probes '-:rm rprobes_selftest_outer'
check "in flight none" grep -qx 'in_flight 0' $D/instances
expect_ok $D/probes '-:rm'
check "no return probes" [ ! -s $D/probes ]
check "no instances reserved" grep -qx 'reserved 0' $D/instances

# Without GRP/: armed is the first event's (its group), `-:` every group's
# (tracefs' dyn_event_release matches any group).
expect_ok $D/probes 'p:g1/same vfs_read'
expect_ok $D/probes 'p:g2/same vfs_read'
expect_ok $D/probes 'p:g2/same ksys_read'
echo 'same 0' >$D/armed || fail "armed same 0"
check "g1/same disarmed" grep -qx 'g1/same 0' $D/armed
check "g2/same still armed" grep -qx 'g2/same 1' $D/armed
echo 'g2/same 0' >$D/armed || fail "armed g2/same 0"
check "both of g2/same disarmed" [ "$(count $D/list 'g2/same .* \[DISABLED\]$')" -eq 2 ]
expect_ok $D/probes '-:same'
check "-:same removes it in every group" [ ! -s $D/probes ]

# Kernel and user events never share a name (tracefs: EVENT_EXIST, kprobe
# and uprobe events are apart); a user event holds one probe.
uloop_start u
a=$(uloop_addr u u_push)
b=$(uloop_addr u u_call)
expect_ok $D/probes 'p:kev vfs_read'
expect_err_at "^p:kev $pid_u:$a" EEXIST 'Given group/event name is already used by another event'
expect_ok $D/probes "p:uev $pid_u:$a"
expect_err_at '^p:uev vfs_read' EEXIST 'Given group/event name is already used by another event'
expect_err_at "^p:uev $pid_u:$a" EEXIST 'There is already the exact same probe event'
expect_err_at "^p:uev $pid_u:$b" EEXIST 'Given group/event name is already used by another event'
expect_err $D/probes ENOENT "-:uev $pid_u:$b"
expect_ok $D/probes "-:uev $pid_u:$a"
expect_ok $D/probes '-:kev'
check "all gone" [ ! -s $D/probes ]
touch /tmp/go.u /tmp/end.u
uloop_result u

# Add and remove under load, several probes per event.
trigger -r 30 &
t=$!
i=0
n=$(scaled 20 4)
while [ $i -lt $n ]; do
	expect_ok $D/probes "p:load vfs_read x=%di:x64"
	expect_ok $D/probes "p:load ksys_read x=%di:x64"
	expect_ok $D/probes "p:load vfs_read+0x0 x=%si:x64"
	[ $((i % 2)) = 0 ] && expect_ok $D/probes '-:load vfs_read x=%di:x64'
	expect_ok $D/probes '-:load'
	i=$((i + 1))
done
kill $t
wait $t 2>/dev/null
check "nothing left after the load" [ ! -s /sys/kernel/debug/kprobes/list ]
finish

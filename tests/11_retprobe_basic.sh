# SPDX-License-Identifier: GPL-2.0
# debug-cost: 53
# Return probes: syntax and read-back, exact hit counts, return values
# (cross-checked against a tracefs kretprobe event on the same calls),
# maxactive, refused offsets, the kretprobes= parameter.
. /tests/lib.sh
load kretprobes=vfs_read,ksys_read:7
check "kretprobes= read back" grep -q '^r:rprobes/r_vfs_read_0 vfs_read$' $D/probes
check "kretprobes= maxactive read back" grep -q '^r7:rprobes/r_ksys_read_0 ksys_read$' $D/probes
echo >$D/probes

expect_ok $D/probes 'r:sgpm __x64_sys_sched_get_priority_min'
expect_ok $D/probes 'p:pct/sgpm2 __x64_sys_sched_get_priority_min%return'
expect_ok $D/probes 'r5:five __x64_sys_sched_get_priority_min'
check "r read back" grep -q '^r:rprobes/sgpm __x64_sys_sched_get_priority_min$' $D/probes
check "%return reads back as r" grep -q '^r:pct/sgpm2 __x64_sys_sched_get_priority_min$' $D/probes
check "rN read back" grep -q '^r5:rprobes/five __x64_sys_sched_get_priority_min$' $D/probes
expect_err $D/probes EINVAL 'r vfs_read+4'
check "offset error message" grep -q 'Retprobe address must be an function entry' $D/error_log
expect_err $D/probes EINVAL 'r4097 vfs_read'
expect_err $D/probes EINVAL 'r0 vfs_read'
expect_err $D/probes ENOENT 'r no_such_function_xyz'
check "refused lines changed nothing" [ "$(grep -c . $D/probes)" -eq 3 ]

trigger 1000
check "return hits == 1000" [ "$(hits rprobes/sgpm)" -eq 1000 ]
check "%return hits == 1000" [ "$(hits pct/sgpm2)" -eq 1000 ]
cat $D/profile
check "no misses" [ "$(awk '$1 == "rprobes/sgpm" { print $3 + $4 + $5 + $6 }' $D/profile)" -eq 0 ]
check "latency histogram counts 1000" grep -q '^rprobes/sgpm: returns 1000 ' $D/latency
head -5 $D/latency

# Same calls, both mechanisms: the sequence of return values must agree.
echo >$D/probes
echo 'r:sg __x64_sys_sched_get_priority_min' >>$D/probes || fail add
echo 'r:kp/sg __x64_sys_sched_get_priority_min ret=$retval:x64' >>$T/kprobe_events || fail tracefs
echo 1 >$T/events/kp/sg/enable
echo >$T/trace
expected=$(trigger -p 0,1,2,99,3,5,6,1 | while read -r v; do printf '0x%x ' "$v"; done)
echo "# userspace saw: $expected"
echo 0 >$T/events/kp/sg/enable
tr=$(grep -o 'ret=0x[0-9a-f]*' $T/trace | cut -d= -f2 | tr '\n' ' ')
rp=$(awk '/ rprobes\/sg: / { sub(/.*ret=/, ""); printf "%s ", $0 }' $D/returns)
echo "# tracefs: $tr"
echo "# rprobes: $rp"
echo "-:kp/sg" >>$T/kprobe_events
check "tracefs saw 8 returns" [ "$(echo $tr | wc -w)" -eq 8 ]
check "rprobes and tracefs agree" [ "$rp" = "$tr" ]
check "both agree with userspace" [ "$rp" = "$expected" ]
grep sg $D/returns | head -2
check "returns shows caller <- function" grep -q '(.* <- __x64_sys_sched_get_priority_min+0x0/' $D/returns

echo >$D/probes
check "no instance left" grep -q '^in_flight 0$' $D/instances
rmmod rprobes || fail rmmod
finish

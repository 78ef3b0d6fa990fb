# SPDX-License-Identifier: GPL-2.0
# debug-cost: 31
# hits == N for a function reached only by one syscall, called N times.
. /tests/lib.sh
load
echo 'p:sgpm __x64_sys_sched_get_priority_min' >>$D/probes || fail add
check "zero before" [ "$(hits rprobes/sgpm)" -eq 0 ]
trigger 1000
check "hits == 1000" [ "$(hits rprobes/sgpm)" -eq 1000 ]
trigger 234
check "hits == 1234" [ "$(hits rprobes/sgpm)" -eq 1234 ]
cat $D/profile
check "no misses" [ "$(awk '$1 == "rprobes/sgpm" { print $3 + $4 }' $D/profile)" -eq 0 ]
finish

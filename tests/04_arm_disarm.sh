# SPDX-License-Identifier: GPL-2.0
# debug-cost: 52
# Per-probe arm/disarm and the global switch, without unregistering.
. /tests/lib.sh
load
echo 'p:sgpm __x64_sys_sched_get_priority_min' >>$D/probes || fail add
check "armed by default" grep -qx 'rprobes/sgpm 1' $D/armed
trigger 10
echo 'sgpm 0' >$D/armed || fail disarm
check "disarmed" grep -qx 'rprobes/sgpm 0' $D/armed
check "still registered" grep -q sgpm $D/probes
check "kernel shows it disabled" grep -q 'DISABLED' /sys/kernel/debug/kprobes/list
trigger 100
check "no hits while disarmed" [ "$(hits rprobes/sgpm)" -eq 10 ]
echo 'rprobes/sgpm 1' >$D/armed || fail rearm
trigger 5
check "hits after re-arm" [ "$(hits rprobes/sgpm)" -eq 15 ]
echo 0 >$D/enabled || fail "global off"
check "enabled reads 0" [ "$(cat $D/enabled)" = 0 ]
trigger 100
check "no hits while globally disabled" [ "$(hits rprobes/sgpm)" -eq 15 ]
echo 1 >$D/enabled || fail "global on"
trigger 7
check "hits after global enable" [ "$(hits rprobes/sgpm)" -eq 22 ]
expect_err $D/armed ENOENT 'nosuch 1'
expect_err $D/armed EINVAL 'sgpm 2'
expect_err $D/enabled EINVAL 'yes'
# A probe added while globally disabled stays off until enabled.
echo 0 >$D/enabled
echo 'p:late __x64_sys_sched_get_priority_min' >>$D/probes || fail "add while disabled"
trigger 3
check "late probe off while disabled" [ "$(hits rprobes/late)" -eq 0 ]
echo 1 >$D/enabled
trigger 3
check "late probe on after enable" [ "$(hits rprobes/late)" -eq 3 ]
finish

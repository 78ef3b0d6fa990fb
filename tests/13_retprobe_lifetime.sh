# SPDX-License-Identifier: GPL-2.0
# debug-cost: 68
# Return probes and lifetimes: rmmod is refused while a task sleeps inside
# a probed function (the real nanosleep path) and works once it is gone,
# killed while sleeping; probes removed while returns are in flight are
# parked until they drain; tasks that exit inside a probed function are
# reclaimed when they are freed.
. /tests/lib.sh
S=$D/selftest
inflight() { awk '$1 == "in_flight" { print $2 }' $D/instances; }
wait_drained() {
	for i in $(seq $((50 * SLOW))); do
		[ "$(inflight)" -eq 0 ] && return 0
		usleep 100000
	done
	cat $D/instances $D/profile
	return 1
}
load
# The runner's timeout(1) sleeps in the same path: count from 1 up.
echo 'r:ns hrtimer_nanosleep' >>$D/probes || fail add
sleep 1000 &
s1=$!
usleep $((300000 * SLOW))
check "returns in flight" [ "$(inflight)" -ge 1 ]
check "rmmod refused while a task sleeps inside" not rmmod rprobes
check "module still there" grep -q '^rprobes ' /proc/modules
h=$(hits rprobes/ns)
kill -9 $s1
wait $s1 2>/dev/null
check "killed sleeper's return came back through the trampoline" [ "$(hits rprobes/ns)" -gt "$h" ]
echo '-:ns' >>$D/probes || fail remove
check "everything drained once the probe is gone" wait_drained

# Remove the probe while two tasks sleep inside: the probe goes at once,
# its instances drain when the sleeps end. The sleeps must outlast the
# checks up to the re-add: about 0.5 s on the guest kernel, 3 to 5 s on the
# debug kernel.
echo 'r:st rprobes_selftest_sleep' >>$D/probes || fail add
echo "sleep $((2000 * SLOW))" >$S &
echo "sleep $((2000 * SLOW))" >$S &
usleep $((300000 * SLOW))
check "two in flight" [ "$(inflight)" -eq 2 ]
echo '-:st' >>$D/probes || fail remove
check "probe gone from the list" not grep -q st $D/probes
check "probe parked" grep -q '^parked_probes 1$' $D/instances
echo 'r:st2 rprobes_selftest_sleep' >>$D/probes || fail "re-add while in flight"
check "re-added probe got its own instances" grep -q '^reserved 20$' $D/instances
wait
check "parked instances drained" wait_drained
check "parked probe freed" grep -q '^parked_probes 0$' $D/instances
check "its instances released" grep -q '^reserved 10$' $D/instances
check "the re-added probe missed the earlier calls" [ "$(hits rprobes/st2)" -eq 0 ]
echo 'sleep 1' >$S
check "re-added probe works" [ "$(hits rprobes/st2)" -eq 1 ]

# Killed while sleeping inside: the function returns early, through the
# trampoline, and the reference on the module goes with it.
sh -c "echo 'sleep 100000' >$S" &
k=$!
usleep $((300000 * SLOW))
check "sleeping inside" [ "$(inflight)" -eq 1 ]
check "rmmod refused" not rmmod rprobes
kill -9 $k
wait $k 2>/dev/null
check "killed task's return handled" wait_drained
check "and counted" [ "$(hits rprobes/st2)" -eq 2 ]
echo >$D/probes

# Add and remove a return probe 30 times (scaled: 8 on the debug kernel,
# where each cycle takes about 0.6 s) while both CPUs run through the
# probed function: returns in flight at each removal are parked and drain.
trigger -r 4 &
t1=$!
trigger -r 4 &
t2=$!
for i in $(seq $(scaled 30 8)); do
	echo 'r:vr vfs_read' >>$D/probes || fail "add $i"
	echo '-:vr' >>$D/probes || fail "remove $i"
done
check "readers unharmed" wait $t1
check "both readers unharmed" wait $t2
check "all returns back after add/remove under load" wait_drained
check "no parked probe left" grep -q '^parked_probes 0$' $D/instances

# Tasks that exit inside the probed function never return through it: their
# instances come back when the task is freed.
echo 'r:ex do_exit' >>$D/probes || fail "add do_exit"
r0=$(awk '$1 == "reclaimed" { print $2 }' $D/instances)
nex=$(scaled 20 5)
for i in $(seq $nex); do /bin/true; done
check "no return seen from do_exit" [ "$(hits rprobes/ex)" -eq 0 ]
# Every exiting process (awk and cat here too) leaves an instance until it
# is freed, an RCU grace period after it is reaped: stop adding more first.
echo >$D/probes
check "exited tasks reclaimed" wait_drained
r1=$(awk '$1 == "reclaimed" { print $2 }' $D/instances)
echo "# reclaimed $r0 -> $r1"
check "at least $nex reclaimed" [ $((r1 - r0)) -ge $nex ]
check "rmmod once nothing is in flight" rmmod rprobes
finish

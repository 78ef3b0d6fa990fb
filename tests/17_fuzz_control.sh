# SPDX-License-Identifier: GPL-2.0
# debug-cost: 49
# Random and mutated lines into every writable control file (bounded
# count: 3000, scaled: 750 on the debug kernel): no splat (the host checks
# the kernel log), every write accepted or rejected with an errno, every
# rejected probe line logged in error_log, and the module still removes
# everything and unloads.
. /tests/lib.sh
load
seed=${RPROBES_FUZZ_SEED:-$(date +%s)}
echo "# seed $seed"
n=$(scaled 3000 500)
check "$n fuzzed writes" fuzzctl "$seed" $n $D
echo 1 >$D/enabled
echo 1 >$D/tracing_on
: >$D/set_event_pid
: >$D/probes
check "everything removed" [ ! -s /sys/kernel/debug/kprobes/list ]
for i in $(seq 50); do
	grep -q '^in_flight 0$' $D/instances && break
	usleep 100000
done
check "module unloads" rmmod rprobes
finish

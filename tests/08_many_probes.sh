# SPDX-License-Identifier: GPL-2.0
# debug-cost: 41
# 256 probes at once (like ftracetest's multiple_kprobes), hit, then cleared.
# Each registration and removal updates ftrace (about 0.3 s on the debug
# kernel), so the count scales (64 on the debug kernel, see SCALE).
. /tests/lib.sh
load
N=$(scaled 256 32)
grep -v '__ftrace_invalid_address__' $T/available_filter_functions | awk '{ print $1 }' | head -n 600 >/tmp/cands
n=0
while read -r f && [ $n -lt $N ]; do
	# The shell's own echo: a refused line fails the write, no fork needed.
	echo "p:mp$n $f" >>$D/probes 2>/dev/null && n=$((n + 1))
done </tmp/cands
check "$N probes registered" [ "$n" -eq $N ]
check "$N listed" [ "$(wc -l <$D/probes)" -eq $N ]
check "$N kernel kprobes" [ "$(wc -l </sys/kernel/debug/kprobes/list)" -eq $N ]
ls / >/dev/null
total=$(awk '{ s += $2 } END { print s }' $D/profile)
echo "# hits on $N probes: $total"
: >$D/probes
check "cleared" [ ! -s $D/probes ]
check "kernel list empty" [ ! -s /sys/kernel/debug/kprobes/list ]
finish

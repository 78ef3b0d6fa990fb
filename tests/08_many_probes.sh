# SPDX-License-Identifier: GPL-2.0
# 256 probes at once (like ftracetest's multiple_kprobes), hit, then cleared.
. /tests/lib.sh
load
n=0
for f in $(grep -v '__ftrace_invalid_address__' $T/available_filter_functions | awk '{ print $1 }' | head -n 600); do
	[ "$(ctl $D/probes "p:mp$n $f")" = OK ] && n=$((n + 1))
	[ $n -ge 256 ] && break
done
check "256 probes registered" [ "$n" -eq 256 ]
check "256 listed" [ "$(wc -l <$D/probes)" -eq 256 ]
check "256 kernel kprobes" [ "$(wc -l </sys/kernel/debug/kprobes/list)" -eq 256 ]
ls / >/dev/null
total=$(awk '{ s += $2 } END { print s }' $D/profile)
echo "# hits on 256 probes: $total"
: >$D/probes
check "cleared" [ ! -s $D/probes ]
check "kernel list empty" [ ! -s /sys/kernel/debug/kprobes/list ]
finish

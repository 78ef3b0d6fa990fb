# SPDX-License-Identifier: GPL-2.0
# debug-cost: 235
# timeout: 600
# User probes hit by many threads at once (progs/uthreads.c): 16 threads
# through the same emulated (push) and stepped (rip-relative load, ret)
# probes give exact totals and correct results; a SIGUSR1 storm while the
# threads run through the stepped probes, the handler itself calling a
# probed function; SIGKILL of a process in the middle of a hit storm.
# Afterwards no XOL slot is in use, the process's state is freed, the
# module unloads (the harness checks the kernel log).
. /tests/lib.sh
trap uprobe_cleanup EXIT
load
T=16
# Calls per thread: scaled (250 on the debug kernel, where a stepped hit
# costs about 1 ms). The signal storm goes on until every thread has taken
# 20 signals, whatever K is.
K=$(scaled 1000 100)
val() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }

start() { # out mode args...: starts uthreads, sets $bg, waits for ready
	o=$1
	shift
	uprog_start uthreads $o /tmp/ut.go "$@"
}
probe() { # out point...
	o=$1
	shift
	uprog_probe $o ut "$@"
}
slots_free() { # pid what
	xol_line $1
	s=$(xol_field $1 slots)
	check "$2: no XOL slot in use" [ "${s%/*}" = 0 ]
	check "$2: hwm within the slots" [ "$(xol_field $1 hwm)" -le "${s#*/}" ]
}
gone() { check "$2: the xol line is gone" xol_gone $1; } # pid what

# 1. 16 threads, exact totals.
o=/tmp/ut.hits
start $o hits -t $T -k $K -h
probe $o t_emu t_step t_ret
touch /tmp/ut.go
wait_line $o '^done$' 100 $bg
check "hits: every result right" [ "$(val errors $o)" = 0 ]
calls=$(val calls $o)
check "hits: $T x $K calls" [ "$calls" = $((T * K)) ]
for p in t_emu t_step t_ret; do
	check "hits: $p hit exactly $calls times (got $(hits ut/$p))" [ "$(hits ut/$p)" = "$calls" ]
done
check "hits: xol stepped = 2 x $calls" [ "$(xol_field $bg stepped)" = $((2 * calls)) ]
check "hits: xol emulated = $calls" [ "$(xol_field $bg emulated)" = "$calls" ]
slots_free $bg hits
: >$D/probes
kill $bg
wait $bg 2>/dev/null
gone $bg hits

# 2. A SIGUSR1 storm through the stepped probes; the handler calls t_sig.
# The storm goes on until the process sees (in `xol`) a step aborted for a
# signal, or 200 s have passed: the async abort path must have run.
o=/tmp/ut.sig
start $o signals -t $T -k $K -h
probe $o t_emu t_step t_ret t_sig
touch /tmp/ut.go
wait_line $o '^done$' 100 $bg
cat $o | grep -v point
check "signals: every result right" [ "$(val errors $o)" = 0 ]
calls=$(val calls $o)
handled=$(val handled $o)
check "signals: each thread took >= 20 signals" [ "$handled" -ge $((T * 20)) ]
for p in t_emu t_step t_ret; do
	check "signals: $p hit exactly $calls times (got $(hits ut/$p))" [ "$(hits ut/$p)" = "$calls" ]
done
check "signals: t_sig hit exactly $handled times (got $(hits ut/t_sig))" [ "$(hits ut/t_sig)" = "$handled" ]
# A step that a signal interrupted before it ran is aborted (the handler
# sees the unprobed context) and done again afterwards: counted in both.
aborted=$(xol_field $bg aborted)
echo "# steps aborted for signals: $aborted"
check "signals: the storm saw a step aborted for a signal ($(val aborted-seen $o))" [ "$(val aborted-seen $o)" -gt 0 ]
check "signals: xol aborted > 0 ($aborted)" [ "$aborted" -gt 0 ]
check "signals: xol stepped = 2 x calls + handled + aborted" [ "$(xol_field $bg stepped)" = $((2 * calls + handled + aborted)) ]
slots_free $bg signals
: >$D/probes
kill $bg
wait $bg 2>/dev/null
gone $bg signals

# 3. SIGKILL during a hit storm, after different delays.
for ms in 300 1000 2500; do
	o=/tmp/ut.kill
	start $o storm -t $T
	probe $o t_emu t_step t_ret
	touch /tmp/ut.go
	wait_line $o '^running$' 60 $bg
	usleep $((ms * 1000))
	check "kill after ${ms} ms: probes were hit" [ "$(hits ut/t_step)" -gt 0 ]
	xol_line $bg
	kill -KILL $bg
	wait $bg
	check "kill after ${ms} ms: killed by SIGKILL" [ $? = 137 ]
	gone $bg "kill after ${ms} ms"
	: >$D/probes
	check "kill after ${ms} ms: no probe left" [ ! -s $D/probes ]
done
check "module unloads" rmmod rprobes
finish

# SPDX-License-Identifier: GPL-2.0
# debug-cost: 53
# Stepped instructions that fault, and rep string instructions
# (progs/ufault.c). A `div` by zero, an EVEX instruction and invalid
# encodings the decoder steps (#UD): the SA_SIGINFO handler sees si_addr
# and the context's %rip at the probed instruction, as without the probe
# (the kernel's own fix-up of si_addr knows only its own uprobes), and each
# execution is counted once, also when the handler skips the instruction.
# `rep movsb`/`rep stosq` with counts 0, 1, 1000, `repe cmpsb`, `repne
# scasb`, a `rep movsb` under a SIGALRM storm (signals between iterations
# abort and replay the step) and one in a program that sets TF itself
# (its SIGTRAP after every iteration): the output is the unprobed run's,
# and each probe counts executions, not iterations.
. /tests/lib.sh
trap uprobe_cleanup EXIT
load
R=$(scaled 3 1)
out=/tmp/uf
results() { awk '/^done$/ { exit } on { print } /^ready$/ { on = 1 }' "$1"; }

# Unprobed reference.
ufault -n $R >$out.ref || fail "unprobed run failed"
results $out.ref >$out.ref.res
check "reference: SIGFPE at the div, si_addr = rip" grep -q '^fault 1 div.0 sig=8 code=1 at=div addr=+0 rip=+0$' $out.ref
grep '^fault 1 .*\.0 ' $out.ref
# Faults the handler saw: each one a step aborted for its signal.
nfault=$(grep -c '^fault .* sig=' $out.ref)
echo "# faults per run: $nfault"

rm -f /tmp/uf.go
ufault -n $R -g /tmp/uf.go -h >$out 2>&1 &
bg=$!
upids="$upids $bg"
wait_line $out '^ready$' 60 $bg
pid=$(prog_pid $out)
check "pid line" [ "$pid" = $bg ]
awk '$1 == "point" { print $2, $3, $4, $5 }' $out >$out.points
bad=""
total=0
while read -r name addr hits v; do
	echo "$pid:$addr" >>$D/explain || fail "explain $pid:$addr failed"
	read -r l <$D/explain
	got=${l#* verdict=}
	got=${got%% *}
	[ "$got" = "$v" ] || bad="$bad $name:$got!=$v"
	expect_ok $D/probes "p:uf/$name $pid:$addr"
	total=$((total + hits))
done <$out.points
[ -z "$bad" ] || fail "explain verdicts differ:$bad"
echo "ok: $(wc -l <$out.points) points probed, verdicts as expected"
touch /tmp/uf.go
wait_line $out '^done$' 300 $bg
results $out >$out.res
if ! cmp -s $out.ref.res $out.res; then
	diff $out.ref.res $out.res | head -n 40
	fail "probed output differs from the unprobed run"
fi
echo "ok: probed output identical to the unprobed run ($(wc -l <$out.res) lines)"
cat $D/profile
bad=$(awk -v pf=$D/profile '
	BEGIN { while ((getline x <pf) > 0) { split(x, w, " "); h[w[1]] = w[2] } }
	(h["uf/" $1] "") != ($3 "") { printf " %s:%s!=%s", $1, h["uf/" $1], $3 }' $out.points)
[ -z "$bad" ] || fail "hit counts differ (got!=want):$bad"
echo "ok: every probe counted its executions exactly ($total hits)"
xol_line $pid
aborted=$(xol_field $pid aborted)
stepped=$(xol_field $pid stepped)
# Aborted steps: one per fault, plus the SIGALRMs that came between two
# iterations of the storm's rep movsb (or between a trap and its step).
async=$((aborted - nfault))
echo "# steps aborted for SIGALRM: $async"
check "at least one abort per fault" [ $async -ge 0 ]
# Steps: one per hit, one more per replay: each SIGALRM abort, and each
# SIGTRAP after an iteration of tfrep (2 of its 3 iterations per round).
check "xol stepped = hits + replays ($stepped = $total + $async + $((2 * R)))" \
	[ "$stepped" = $((total + async + 2 * R)) ]
slots=$(xol_field $pid slots)
check "no XOL slot in use after the run" [ "${slots%/*}" = 0 ]
: >$D/probes
kill $bg
wait $bg 2>/dev/null
check "state reaped at exit" xol_gone $bg
check "module unloads" rmmod rprobes
finish

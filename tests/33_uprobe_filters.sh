# SPDX-License-Identifier: GPL-2.0
# debug-cost: 98
# Filters on user probes, as on kernel probes (test 16): per probe pid= /
# comm= through the `filter` file and the global set_event_pid; a
# filtered-out hit is neither counted nor recorded, and the programs run
# right. Two processes run the same binary, each with its own probes.
. /tests/lib.sh
load
# Loop iterations (u_nop runs 2N times, u_push and u_mov N times each).
N=$(scaled 1000 100)
trap uprobe_cleanup EXIT
ev() { grep -c " $1: " $D/trace; } # events of GRP/EVENT
# With trace emptied, lets the started uprobe_loops TAGs run their loops:
# each one's output must be the reference.
run_loops() { # tag...
	: >$D/trace
	for _u; do touch /tmp/go.$_u; done
	for _u; do
		uloop_result $_u
		check "$_u: output right" [ "$res" = "$ref" ]
	done
}

# 1. Per-probe filters.
uloop_reference ref
ref=$res
uloop_start a
uloop_start b
expect_ok $D/probes "p:uf/a_nop $pid_a:$(uloop_addr a u_nop) c=\$comm"
expect_ok $D/probes "p:uf/a_push $pid_a:$(uloop_addr a u_push)"
expect_ok $D/probes "p:uf/a_mov $pid_a:$(uloop_addr a u_mov)"
expect_ok $D/probes "p:uf/b_nop $pid_b:$(uloop_addr b u_nop) c=\$comm"
cat $D/filter
check "filter lists the user probes" grep -qx 'uf/a_nop none' $D/filter
expect_ok $D/filter "uf/a_nop pid=$pid_a"
expect_ok $D/filter "uf/b_nop pid=$pid_a"
expect_ok $D/filter "uf/a_push comm=uprobe_loop"
expect_ok $D/filter "uf/a_mov comm=nosuch"
expect_err $D/filter EINVAL "uf/a_nop pid=abc"
expect_err $D/filter ENOENT "uf/nosuch pid=1"
cat $D/filter
check "pid filter reads back (a bad write changed nothing)" grep -qx "uf/a_nop pid=$pid_a" $D/filter
check "comm filter reads back" grep -qx 'uf/a_push comm=uprobe_loop' $D/filter
run_loops a b
cat $D/profile
check "pid=a on a's probe: all $((2 * N)) hits" [ "$(hits uf/a_nop)" = $((2 * N)) ]
check "pid=a on b's probe: none" [ "$(hits uf/b_nop)" = 0 ]
check "comm=uprobe_loop: all $N" [ "$(hits uf/a_push)" = $N ]
check "comm=nosuch: none" [ "$(hits uf/a_mov)" = 0 ]
check "a's events recorded" [ "$(ev uf/a_nop)" = $((2 * N)) ]
check "b's filtered hits not recorded" [ "$(ev uf/b_nop)" = 0 ]
grep -m 1 ' uf/a_nop: ' $D/trace
check "the events are a's" [ "$(grep ' uf/a_nop: ' $D/trace | grep -vc "uprobe_loop-$pid_a .* c=\"uprobe_loop\"")" = 0 ]
touch /tmp/end.a /tmp/end.b
wait $pid_a
wait $pid_b

# 2. The global set_event_pid: only c's hits count, in every probe, also
# where the probe's own filter would let them through.
uloop_start c
uloop_start d
expect_ok $D/probes "p:uf/c_nop $pid_c:$(uloop_addr c u_nop)"
expect_ok $D/probes "p:uf/d_nop $pid_d:$(uloop_addr d u_nop)"
expect_ok $D/probes "p:uf/d_push $pid_d:$(uloop_addr d u_push)"
expect_ok $D/filter "uf/d_push comm=uprobe_loop"
echo "$pid_c" >$D/set_event_pid || fail set_event_pid
run_loops c d
: >$D/set_event_pid
cat $D/profile
check "set_event_pid=c: c's $((2 * N)) hits" [ "$(hits uf/c_nop)" = $((2 * N)) ]
check "set_event_pid=c: none of d's" [ "$(hits uf/d_nop)" = 0 ]
check "set_event_pid=c: d's comm-filtered probe neither" [ "$(hits uf/d_push)" = 0 ]
check "no event of d" [ "$(ev uf/d_nop)" = 0 ]
touch /tmp/end.c /tmp/end.d
wait $pid_c
wait $pid_d
finish

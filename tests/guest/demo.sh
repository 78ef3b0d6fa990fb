#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# `make run`: the product in one screen. A kernel probe with fetch
# arguments read from trace_pipe, a return probe's latency histogram, and
# user probes on a running program by file offset (hits; one instruction
# emulated, one stepped out of line).
D=/sys/kernel/debug/rprobes
say() { echo "# $*"; }
run() {
	say "$*"
	sh -c "$*" || exit 1
}
run "insmod /rprobes.ko"
run "echo 'p:demo/open do_sys_openat2 dfd=\$arg1:s32 path=+0(\$arg2):ustring' >> $D/probes"
run "echo 'r:demo/read vfs_read ret=\$retval:s64' >> $D/probes"
run "cat $D/probes"
: >$D/trace
say "workload: cat /etc/passwd; ls /tests"
cat /etc/passwd >/dev/null
ls /tests >/dev/null
say "cat $D/trace_pipe   (the workload's opens)"
timeout 5 cat $D/trace_pipe | grep -m 2 -e 'path="/etc/passwd"' -e 'path="/tests"'
say "cat $D/latency   (demo/read: entry to return, log2 buckets of ns)"
cat $D/latency

# A user program: uprobe_loop calls small functions N times when told to.
cd /tmp || exit 1
rm -f go end
uprobe_loop go end 2000 >loop.out &
pid=$!
while ! grep -q '^ready' loop.out 2>/dev/null; do usleep 50000; done
# File offset of a function in the program's text mapping.
off() {
	a=$(awk -v n="$1" '$1 == n { print $2 }' loop.out)
	awk '$6 == "/tests/progs/uprobe_loop" { print $1, $3 }' /proc/$pid/maps |
		while read -r r o; do
			s=$((0x${r%-*}))
			e=$((0x${r#*-}))
			if [ $((a)) -ge $s ] && [ $((a)) -lt $e ]; then
				printf '0x%x\n' $((a - s + 0x$o))
			fi
		done
}
say "uprobe_loop runs as pid $pid; u_push starts with 'push %rbp', u_rip with 'mov counter(%rip),%rax'"
run "echo 'p:demo/push $pid:/tests/progs/uprobe_loop:$(off u_push)' >> $D/probes"
run "echo 'p:demo/rip $pid:/tests/progs/uprobe_loop:$(off u_rip)' >> $D/probes"
run "cat $D/list"
touch go
while ! grep -q '^result' loop.out; do usleep 50000; done
say "uprobe_loop called each function 2000 times (u_rip once more through a pointer): $(grep '^result' loop.out)"
say "cat $D/profile   (event, hits, misses, kprobe nmissed, maxactive misses, in flight)"
cat $D/profile
say "cat $D/xol   (the XOL area made at the first stepped hit)"
cat $D/xol
touch end
wait $pid
run "rmmod rprobes"

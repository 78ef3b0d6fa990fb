# SPDX-License-Identifier: GPL-2.0
# debug-cost: 31
# Stack traces recorded in the return handler start at the real caller and
# never show the trampoline.
. /tests/lib.sh
load
echo 'r:vr vfs_read' >>$D/probes || fail add
expect_err $D/stacktrace ENOENT 'nosuch'
echo 'p:entry vfs_write' >>$D/probes || fail add
expect_err $D/stacktrace EINVAL 'entry'
echo vr >$D/stacktrace || fail "enable stacktrace"
dd if=/dev/zero of=/dev/null bs=1 count=10 2>/dev/null
cat $D/stacktrace
check "first frame is the caller ksys_read" \
	[ "$(sed -n 2p $D/stacktrace | grep -c '=> ksys_read+')" -eq 1 ]
check "the syscall path follows" grep -q '=> do_syscall_64+' $D/stacktrace
check "no rprobes frame in the trace" not grep -q '=> .*rprobes' $D/stacktrace
# Nested hijacked returns: rprobes_selftest_inner's trace passes outer's
# (hijacked) return and shows it as the real address.
echo 'r:in rprobes_selftest_inner' >>$D/probes || fail add
echo 'r:out rprobes_selftest_outer' >>$D/probes || fail add
echo in >$D/stacktrace
echo 'nest 1' >$D/selftest
cat $D/stacktrace
check "inner's caller is outer" grep -A1 '^rprobes/in:' $D/stacktrace | grep -q '=> rprobes_selftest_outer+'
check "outer's hijacked return shown as its real caller" \
	grep -A2 '^rprobes/in:' $D/stacktrace | grep -q '=> .*selftest.*run\|=> .*SelfTest'
echo '!vr' >$D/stacktrace
check "disabled" not grep -q '^rprobes/vr:' $D/stacktrace
echo >$D/probes
finish

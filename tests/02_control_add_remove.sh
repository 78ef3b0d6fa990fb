# SPDX-License-Identifier: GPL-2.0
# debug-cost: 55
# Add (>>), read back, remove (-:), clear (>): tracefs semantics.
. /tests/lib.sh
load
check "starts empty" [ ! -s $D/probes ]
echo 'p:myprobe vfs_read' >>$D/probes || fail "add myprobe"
echo 'p:grp2/ev2 vfs_read+0' >>$D/probes || fail "add grp2/ev2"
echo 'p vfs_write' >>$D/probes || fail "add default name"
echo 'p:foo.bar vfs_open' >>$D/probes || fail "add GRP.EVENT"
cat $D/probes
check "custom name" grep -qx 'p:rprobes/myprobe vfs_read' $D/probes
check "custom group" grep -qx 'p:grp2/ev2 vfs_read' $D/probes
check "default name" grep -qx 'p:rprobes/p_vfs_write_0 vfs_write' $D/probes
check "GRP.EVENT form" grep -qx 'p:foo/bar vfs_open' $D/probes
check "4 in profile" [ "$(grep -vc "^#" $D/profile)" -eq 4 ]
check "4 in kprobes/list" [ "$(wc -l </sys/kernel/debug/kprobes/list)" -eq 4 ]
cat $D/memory
check "memory accounts 4 probes" grep -qx 'probes 4' $D/memory
check "memory per probe > 0" [ "$(awk '$1 == "bytes_per_probe" { print $2 }' $D/memory)" -gt 0 ]
echo '-:myprobe' >>$D/probes || fail "remove myprobe"
check "myprobe gone" not grep -q myprobe $D/probes
echo '-:grp2/ev2 vfs_read' >>$D/probes || fail "remove with matching probe point"
check "ev2 gone" not grep -q ev2 $D/probes
expect_err $D/probes ENOENT '-:nonexistent'
expect_err $D/probes ENOENT '-:rprobes/p_vfs_write_0 vfs_read'
check "caret under the mismatching probe point" [ "$(tail -n 1 $D/error_log | wc -c)" -eq $((13 + 24)) ]
check "2 left before clear" [ "$(wc -l <$D/probes)" -eq 2 ]
echo 'p:a vfs_read' >$D/probes || fail "truncating write"
check "> cleared then added one" [ "$(cat $D/probes)" = 'p:rprobes/a vfs_read' ]
: >$D/probes
check "> with nothing clears" [ ! -s $D/probes ]
check "kernel list empty" [ ! -s /sys/kernel/debug/kprobes/list ]
# Several lines in one write, comments and blank lines.
printf 'p:l1 vfs_read\n\n# comment\np:l2 vfs_write # trailing\n' >>$D/probes || fail multi-line
check "two from one write" [ "$(wc -l <$D/probes)" -eq 2 ]
# A symbol with an offset on an instruction boundary.
echo 'p:off vfs_read+4' >>$D/probes 2>/dev/null || echo "# note: vfs_read+4 not a boundary here"
finish

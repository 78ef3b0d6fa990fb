# SPDX-License-Identifier: GPL-2.0
# debug-cost: 32
# Lines split across write() calls, an unterminated last line, overlong
# lines, NUL bytes and non-UTF-8: each handled deliberately.
. /tests/lib.sh
load
check "split line joins" [ "$(ctl -s $D/probes 'p:sp' 'lit vfs_' 'read\n')" = OK ]
check "split line added once" [ "$(cat $D/probes)" = 'p:rprobes/split vfs_read' ]
check "unterminated line runs at close" [ "$(ctl -s $D/probes 'p:tail vfs_write')" = OK ]
check "tail added" grep -qx 'p:rprobes/tail vfs_write' $D/probes
n=$(wc -l <$D/probes)
long=$(head -c 5000 /dev/zero | tr '\0' a)
check "overlong -> E2BIG" [ "$(ctl $D/probes "p:x $long")" = E2BIG ]
check "overlong logged" grep -q 'Command is too long' $D/error_log
check "nothing added" [ "$(wc -l <$D/probes)" -eq "$n" ]
check "line after an overlong one still works" [ "$(ctl -s $D/probes "p:y $long" '\np:after vfs_read\n')" = E2BIG ]
check "NUL byte -> EINVAL" [ "$(ctl -s $D/probes 'p:n\0ul vfs_read\n')" = EINVAL ]
check "non-UTF-8 -> EINVAL" [ "$(ctl $D/probes "$(printf 'p:\377 vfs_read')")" = EINVAL ]
check "still $n probes" [ "$(wc -l <$D/probes)" -eq "$n" ]
check "reads at an offset" [ "$(dd if=$D/probes bs=1 skip=2 count=7 2>/dev/null)" = 'rprobes' ]
finish

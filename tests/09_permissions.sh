# SPDX-License-Identifier: GPL-2.0
# debug-cost: 27
# Control files are root-only; an unprivileged write is refused.
. /tests/lib.sh
load
check "probes is 0600" [ "$(stat -c %a $D/probes)" = 600 ]
check "profile is 0400" [ "$(stat -c %a $D/profile)" = 400 ]
got=$(su nobody -s /tests/progs/ctl -- $D/probes 'p:evil vfs_read' 2>&1 || true)
echo "# unprivileged: $got"
check "unprivileged add refused" [ ! -s $D/probes ]
finish

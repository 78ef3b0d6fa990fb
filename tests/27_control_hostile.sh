# SPDX-License-Identifier: GPL-2.0
# debug-cost: 312
# Hostile use of the control files: concurrent writers (every line is
# applied exactly once, the result is consistent), reads in odd-sized
# pieces and at offsets after lseek (the same bytes as one read), writes
# with a file offset, and an unprivileged user refused on every file.
. /tests/lib.sh
load
# 4 writers, each adding and removing its own 25 probes 4 times, at once;
# the 5th round leaves its probes.
W=4
P=25
for w in $(seq $W); do
	(
		for round in 1 2 3 4 5; do
			set --
			for i in $(seq $P); do set -- "$@" "p:w$w/p$i vfs_read"; done
			ctl $D/probes "$@" >/tmp/rc.add.$w.$round
			[ $round = 5 ] && break
			set --
			for i in $(seq $P); do set -- "$@" "-:w$w/p$i"; done
			ctl $D/probes "$@" >/tmp/rc.del.$w.$round
		done
	) &
done
wait
cat /tmp/rc.add.* /tmp/rc.del.* | sort | uniq -c
check "every concurrent write succeeded" [ "$(cat /tmp/rc.add.* /tmp/rc.del.* | sort -u)" = OK ]
check "exactly the last round's probes" [ "$(grep -c '^p:w[0-9]*/p[0-9]* vfs_read$' $D/probes)" = $((W * P)) ]
for w in $(seq $W); do
	[ "$(grep -c "^p:w$w/" $D/probes)" = $P ] || fail "writer $w: wrong count"
done
check "kprobes list agrees" [ "$(grep -c vfs_read /sys/kernel/debug/kprobes/list)" = $((W * P)) ]

# Reads in 1-, 7- and 4096-byte pieces and after lseek give the same bytes.
# (profile is left out: reading it hits the vfs_read probes.)
for f in probes list armed memory filter instances xol; do
	cat $D/$f >/tmp/whole
	dd if=$D/$f bs=1 2>/dev/null >/tmp/p1
	dd if=$D/$f bs=7 2>/dev/null >/tmp/p7
	cmp -s /tmp/whole /tmp/p1 || fail "$f: 1-byte reads differ"
	cmp -s /tmp/whole /tmp/p7 || fail "$f: 7-byte reads differ"
	size=$(wc -c </tmp/whole)
	if [ "$size" -gt 10 ]; then
		off=$((size / 2))
		dd if=$D/$f bs=1 skip=$off 2>/dev/null >/tmp/tail
		tail -c +$((off + 1)) /tmp/whole | cmp -s - /tmp/tail || fail "$f: read after lseek($off) differs"
	fi
done
echo "ok: piecewise and seeked reads match"

# A write at a file offset (pwrite-like, via dd seek) is still one line.
echo "p:seeked/x vfs_write" | dd of=$D/probes bs=1 seek=100 conv=notrunc 2>/dev/null
check "write at an offset applied" grep -q '^p:seeked/x vfs_write$' $D/probes

# Unprivileged: no control file can be written, none read.
n=$(wc -l <$D/probes)
for f in $(ls $D); do
	if su nobody -s /bin/sh -c "cat $D/$f" >/dev/null 2>&1; then
		fail "nobody could read $f"
	fi
	if su nobody -s /bin/sh -c "echo 'p:evil/x vfs_read' >>$D/$f" 2>/dev/null; then
		fail "nobody could write $f"
	fi
done
check "nothing changed by nobody" [ "$(wc -l <$D/probes)" = "$n" ]
check "the directory itself is root-only" not su nobody -s /bin/sh -c "ls $D"
: >$D/probes
check "all removed" [ ! -s $D/probes ]
check "module unloads" rmmod rprobes
finish

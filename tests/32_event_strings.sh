# SPDX-License-Identifier: GPL-2.0
# debug-cost: 58
# Events with strings are sized at the hit, as tracefs sizes them
# (`__get_data_size()`): many strings in one event are recorded, a string
# takes its length in the buffer (not a fixed maximum), a long string is
# kept whole (up to tracefs' 4096 bytes) where it fits and cut, never
# dropped, where the event cannot hold it; and an argument of more than a
# kilobyte of text (a long string, an x64[64] array) is printed whole with
# the arguments after it, like tracefs prints them.
. /tests/lib.sh
load
SG=__x64_sys_sched_get_priority_min
dropped() { sed -n 's/.*dropped: \([0-9]*\).*/\1/p' $D/trace; }
entries() { sed -n 's/.*entries-in-buffer: \([0-9]*\).*/\1/p' $D/trace; }

# 1. 20 string values in one event (20 x $comm; the old fixed 256 bytes a
# string made such an event bigger than the ring buffer takes: dropped).
# " c1=VALUE c2=VALUE ... cN=VALUE" in $list (no fork: a loop in the shell).
named() { # n value
	list=
	_i=1
	while [ $_i -le $1 ]; do
		list="$list c$_i=$2"
		_i=$((_i + 1))
	done
}
named 20 '$comm'
expect_ok $D/probes "p:many $SG$list n=\\7:u8"
trigger 3
grep ' rprobes/many: ' $D/trace | head -n 1
check "3 events with 20 strings" [ "$(grep -c ' rprobes/many: ' $D/trace)" -eq 3 ]
named 20 '"trigger"'
check "every string and the number after them" \
	[ "$(grep -c " rprobes/many: (.*)$list n=7\$" $D/trace)" -eq 3 ]
check "none dropped" [ "$(dropped)" = 0 ]
expect_ok $D/probes "-:many"

# 2. A string event takes its size: with a small buffer, more $comm events
# fit than could if each took 256 bytes of string room. Every CPU's buffer
# holds at most buffer_size_kb plus two pages (reader and commit page).
expect_ok $D/probes "p:sgc $SG c=\$comm"
echo 8 >$D/buffer_size_kb || fail resize
: >$D/trace
kb=$(cat $D/buffer_size_kb)
possible=$(cat /sys/devices/system/cpu/possible)
case $possible in *-*) ncpu=$((${possible#*-} + 1)) ;; *) ncpu=1 ;; esac
trigger 1500
e=$(entries)
cap=$(((kb * 1024 + 8192) * ncpu))
echo "# $e events held in $ncpu x ${kb} KiB (+ 2 pages each): $cap bytes"
check "more events held than 276-byte ones could fill" [ $((e * 276)) -gt "$cap" ]
check "the last one reads back" [ "$(grep ' rprobes/sgc: ' $D/trace | tail -n 1 | sed 's/.*) //')" = 'c="trigger"' ]
echo 1408 >$D/buffer_size_kb
expect_ok $D/probes "-:sgc"

# 3. A 3999-character path: kept whole (tracefs keeps it too), printed with
# the argument after it; an x64[64] of its bytes (in the kernel's copy,
# do_file_open's struct filename; some 1200 characters of text) is printed
# whole, as tracefs prints it. Three copies of the path
# cannot fit one event: the first is whole, the second cut to what is
# left, the third empty; nothing is dropped.
long=/$(printf '%3998s' '' | tr ' ' a)
[ ${#long} -eq 3999 ] || fail "path of ${#long}"
expect_ok $D/probes 'p:ls do_sys_openat2 path=+0(%si):ustring n=\7:u8'
expect_ok $D/probes 'p:la do_file_open a=+0(+0(%si)):x64[64] n=\7:u8'
expect_ok $D/probes 'p:l3 do_sys_openat2 p1=+0(%si):ustring p2=+0(%si):ustring p3=+0(%si):ustring n=\7:u8'
echo 'p:kp/ls do_sys_openat2 path=+0(%si):ustring n=\7:u8' >>$T/kprobe_events || fail "tracefs add"
echo 'p:kp/la do_file_open a=+0(+0(%si)):x64[64] n=\7:u8' >>$T/kprobe_events || fail "tracefs add"
echo 1 >$T/events/kp/enable
echo >$T/trace
: >$D/trace
cat "$long" 2>/dev/null
echo 0 >$T/events/kp/enable
# (tracefs prints the event without its group; the copy of a shorter path
# opened later may show the long one's bytes after its end: take the
# events whose array starts with the long path.)
grep ' ls: (.*) path="/aaaa' $T/trace | tail -n 1 | sed 's/.*) //' >/tmp/ls.tracefs
grep ' rprobes/ls: (.*) path="/aaaa' $D/trace | tail -n 1 | sed 's/.*) //' >/tmp/ls.rprobes
grep ' la: (.*) a={0x616161616161612f,0x6161616161616161,' $T/trace | tail -n 1 | sed 's/.*) //' >/tmp/la.tracefs
grep ' rprobes/la: (.*) a={0x616161616161612f,0x6161616161616161,' $D/trace | tail -n 1 | sed 's/.*) //' >/tmp/la.rprobes
echo '-:kp/ls' >>$T/kprobe_events
echo '-:kp/la' >>$T/kprobe_events
echo "# rprobes la: $(cut -c1-80 /tmp/la.rprobes)... $(wc -c </tmp/la.rprobes) bytes"
echo "# tracefs la: $(cut -c1-80 /tmp/la.tracefs)... $(wc -c </tmp/la.tracefs) bytes"
check "the whole path, then n" [ "$(cat /tmp/ls.rprobes)" = "path=\"$long\" n=7" ]
check "the path as tracefs has it" cmp -s /tmp/ls.rprobes /tmp/ls.tracefs
check "the array is over 1024 characters" [ "$(wc -c </tmp/la.rprobes)" -gt 1100 ]
check "the whole array, then n" grep -q '^a={0x616161616161612f,\(0x6161616161616161,\)\{62\}0x6161616161616161} n=7$' /tmp/la.rprobes
check "the array as tracefs prints it" cmp -s /tmp/la.rprobes /tmp/la.tracefs
l3=$(grep ' rprobes/l3: (.*) p1="/aaaa' $D/trace | tail -n 1 | sed 's/.*) //')
rest=${l3#"p1=\"$long\" p2=\""}
p2=${rest%%\"*}
echo "# l3: ${#l3} characters; p2 of ${#p2}; then ${rest#*\" }"
check "three long strings: recorded, the first whole" [ "$rest" != "$l3" ]
check "the second cut (non-empty)" [ "${#p2}" -gt 0 ]
check "the second cut (short)" [ "${#p2}" -lt 200 ]
check "the second is the path's start" [ "${long#"$p2"}" != "$long" ]
check "the third empty, then n" [ "${rest#*\" }" = 'p3="" n=7' ]
check "none dropped" [ "$(dropped)" = 0 ]
echo >$D/probes
finish

# SPDX-License-Identifier: GPL-2.0
# debug-cost: 175
# Every bad line: the tracefs errno, an error_log entry with the reason and
# the caret under the failing column (ftracetest's check: the caret line is
# 13 + pos bytes with its newline), and no change to the probe list.
# (A probe appended to an existing event is tracefs' multiprobe, test 30:
# here only the refused appends.)
. /tests/lib.sh
load
echo 'p:keep vfs_read' >>$D/probes || fail add
slurp before $D/probes
probes_unchanged() {
	slurp now $D/probes
	[ "$now" = "$before" ]
}
# spec  errno  message; ^ marks the expected caret position. The loop runs
# no command but ctl (in expect_err): the debug kernel forks slowly.
# The long lines are made below, into the same list.
cat >/tmp/bad.list <<'LIST'
p^100 vfs_read|EINVAL|Maxactive is not for kprobe
r^1a111 vfs_read|EINVAL|Invalid maxactive number
r^100000 vfs_read|EINVAL|Maxactive is too big
p ^non_exist_func|ENOENT|Invalid probed address or symbol
p ^hoge-fuga|ENOENT|Invalid probed address or symbol
p ^hoge+1000-1000|ENOENT|Invalid probed address or symbol
r ^vfs_read+10|EINVAL|Retprobe address must be an function entry
p ^vfs_read+10%return|EINVAL|Retprobe address must be an function entry
p vfs_read^%hoge|EINVAL|Invalid probed address suffix
p:^/bar vfs_read|EINVAL|Group name is not specified
p:^12345678901234567890123456789012345678901234567890123456789012345/bar vfs_read|EINVAL|Group name is too long
p:^foo.1/bar vfs_read|EINVAL|Group name must follow the same rules as C identifiers
p:foo/^ vfs_read|EINVAL|Event name is not specified
p:foo/^12345678901234567890123456789012345678901234567890123456789012345 vfs_read|EINVAL|Event name is too long
p:foo/^bar.1 vfs_read|EINVAL|Event name must follow the same rules as C identifiers
^a:myprobeaccept inet_csk_accept|EINVAL|Unknown command
^r:keep vfs_write|EEXIST|Probe type is different from existing probe
^p:keep vfs_write%return|EEXIST|Probe type is different from existing probe
p:keep vfs_write ^a=%ax|EEXIST|Argument type or name is different from existing probe
^p:keep vfs_read|EEXIST|There is already the exact same probe event
^p:keep vfs_read+0|EEXIST|There is already the exact same probe event
p vfs_read ^$retval|EINVAL|$retval is not available on probe
p vfs_read ^%none_reg|EINVAL|Invalid register name
p vfs_read +0(@11):u8[^256]|EINVAL|Array number is too big
p vfs_read var1=@11 ^var1=@12|EINVAL|This argument name is already used
p vfs_read ^$stack10000|EINVAL|Invalid stack number
p vfs_read ^$arg10000|EINVAL|Invalid argument number
p vfs_read ^$none_var|EINVAL|Invalid $-variable specified
p vfs_read ^@12345678abcde|EINVAL|Invalid memory address
p vfs_read ^@+10|EINVAL|File offset is not available for kernel probes
p vfs_read arg1=\^x|EINVAL|Invalid immediate value
p vfs_read ^+0@0)|EINVAL|Dereference needs a brace
p vfs_read ^+0ab1(@0)|EINVAL|Invalid dereference offset
p vfs_read +0(+0(@0^)|EINVAL|Dereference brace is not closed
p vfs_read +0(^$comm)|EINVAL|$comm can not be dereferenced
p vfs_read ^&1|EINVAL|Invalid fetch argument
p vfs_read +0(@11):u8[10^|EINVAL|Array is not closed
p vfs_read +0(@11):u8[10]^a|EINVAL|Array has wrong suffix
p vfs_read +0(@11):u8[^10a]|EINVAL|Invalid array size
p vfs_read @11:^unknown_type|EINVAL|Unknown type is specified
p vfs_read $stack0:^string|EINVAL|String accepts only memory argument
p vfs_read @11:^b10@a/16|EINVAL|Invalid bitfield
p vfs_read ^=@11|EINVAL|Argument name is not specified
p vfs_read ^var.1=@11|EINVAL|Argument name must follow the same rules as C identifiers
p vfs_read arg1=^|EINVAL|No argument expression
p vfs_read+8 ^$arg1|EINVAL|$arg* can be used only on function entry or exit
p vfs_read ^$arg*|EOPNOTSUPP|BTF is not available or not supported
r ^vfs_read+8|EINVAL|Retprobe address must be an function entry
p ^vfs_read+8%return|EINVAL|Retprobe address must be an function entry
-:^nosuch|ENOENT|No such probe event
p vfs_read arg1=\"abcd^|EINVAL|String is not closed with '"'
p vfs_read x=\"^|EINVAL|String is not closed with '"'
p vfs_read ^arg123456789012345678901234567890=@11|EINVAL|Argument name is too long
p vfs_read $comm:^x64|EINVAL|$comm and immediate-string only accepts string type
p vfs_read \"x":^u8|EINVAL|$comm and immediate-string only accepts string type
p vfs_read \1:^symstr|EINVAL|Symbol String doesn't accept data/userdata
p vfs_read $arg* ^$arg*|EINVAL|$arg* can be used only once in the parameters
p vfs_read +0(+0(+0(+0(+0(+0(+0(+0(^+0(@0)))))))))|E2BIG|Too many nested typecasts/dereferences
p vfs_read this_cpu_ptr(this_cpu_ptr(this_cpu_ptr(this_cpu_ptr(this_cpu_ptr(this_cpu_ptr(this_cpu_ptr(this_cpu_ptr(^this_cpu_ptr(%ax)))))))))|E2BIG|Too many nested typecasts/dereferences
p ^vfs_read x=@no_such_symbol_xyz|ENOENT|Invalid probed address or symbol
r ^vfs_read x=+0(@no_such_symbol_xyz):string|ENOENT|Invalid probed address or symbol
LIST
# rep VAR STR N: VAR = STR repeated N times (no fork).
rep() {
	_r=
	_i=0
	while [ $_i -lt $3 ]; do
		_r=$_r$2
		_i=$((_i + 1))
	done
	eval "$1=\$_r"
}
rep open '+1234567(' 26
rep close ')' 26
echo "p vfs_read ^$open@1234$close|E2BIG|Argument expression is too long" >>/tmp/bad.list
rep xs x 249
echo "p vfs_read n=^+0(%ax)$xs|E2BIG|Argument expression is too long" >>/tmp/bad.list
many=
i=0
while [ $i -le 128 ]; do
	many="$many a$i=%ax"
	i=$((i + 1))
done
echo "p vfs_read ^${many# }|E2BIG|Too many arguments are specified" >>/tmp/bad.list
rep six ' +0(%ax):u64[64]' 6
echo "p vfs_read$six +0(^%ax):u64[64]|E2BIG|Event too big (too many fields?)" >>/tmp/bad.list
echo "p vfs_read$six ^%ax|E2BIG|Event too big (too many fields?)" >>/tmp/bad.list
while IFS='|' read -r spec errno msg; do
	[ -n "$spec" ] || continue
	expect_err_at "$spec" "$errno" "$msg"
	probes_unchanged || fail "'$spec' changed the probe list"
done </tmp/bad.list
check "the 129-argument line was checked" grep -q 'a128=%ax|E2BIG' /tmp/bad.list
# The kernel's own tracefs gives the same errno, message and caret (its
# wording is the kernel's trace_probe.h of the running kernel).
while IFS='|' read -r spec; do
	pre=${spec%%^*}
	line=$pre${spec#*^}
	: >$T/error_log
	: >$D/error_log
	te=$(ctl $T/kprobe_events "$line")
	re=$(ctl $D/probes "$line")
	slurp tl $T/error_log
	slurp rl $D/error_log
	tm=${tl#*": error: "}
	tm=${tm%%"
"*}
	rm=${rl#*": error: "}
	rm=${rm%%"
"*}
	tc=${tl%?}
	tc=${tc##*"
"}
	rc=${rl%?}
	rc=${rc##*"
"}
	echo "# tracefs: $te $tm | rprobes: $re $rm"
	[ "$te" = "$re" ] || fail "'$line': errno $re, tracefs $te"
	[ "$tm" = "$rm" ] || fail "'$line': message '$rm', tracefs '$tm'"
	[ "${#tc}" = "${#rc}" ] || fail "'$line': caret at ${#rc}, tracefs ${#tc}"
	[ "${#rc}" -eq $((12 + ${#pre})) ] || fail "'$line': caret not under ^"
done <<'LIST'
p vfs_read ^$none_var
p vfs_read ^@+10
p ^vfs_read x=@no_such_symbol_xyz
p vfs_read arg1=\"abcd^
p vfs_read $comm:^x64
p vfs_read +0(+0(+0(+0(+0(+0(+0(+0(^+0(@0)))))))))
LIST
echo "ok: errno, message and caret as tracefs"
# A name that kallsyms holds more than once (like tracefs' name_show test).
dup=$(awk '$2 ~ /^[tT]$/ && NF == 3 { print $3 }' /proc/kallsyms | sort | uniq -d | head -n 1)
[ -n "$dup" ] || fail "no duplicated text symbol in this kernel"
: >$D/error_log
expect_err $D/probes EINVAL "p $dup"
check "non-unique reason" grep -q 'rprobes: error: The symbol is not unique' $D/error_log
check "non-unique caret at 2" [ "$(tail -n 1 $D/error_log | wc -c)" -eq 15 ]
check "list unchanged after non-unique" probes_unchanged
# ... and a module notifier keeps the table fresh: still refused after a reload.
: >$D/error_log
expect_err $D/probes EINVAL "p:again $dup"
# The kernel's own refusals pass through: a blacklisted symbol.
: >$D/error_log
bl=$(awk '$2 ~ /^[a-z_]+$/ { print $2; exit }' /sys/kernel/debug/kprobes/blacklist)
[ -n "$bl" ] || fail "no blacklisted symbol found"
got=$(ctl $D/probes "p:bl $bl")
echo "# blacklisted $bl: $got"
[ "$got" = OK ] && fail "blacklisted function accepted"
grep -q 'Failed to register probe event\|Invalid probed address' $D/error_log || fail "no reason for refused registration"
# Not an instruction boundary: find an offset inside vfs_read that fails with EILSEQ.
found=
for off in 1 2 3 5 6 7; do
	got=$(ctl $D/probes "p:ib$off vfs_read+$off")
	if [ "$got" = EILSEQ ]; then found=$off; break; fi
	echo "-:ib$off" >>$D/probes 2>/dev/null
done
[ -n "$found" ] || fail "no offset gave EILSEQ"
check "boundary reason" grep -q 'Probe point is not an instruction boundary' $D/error_log
check "probe list unchanged" probes_unchanged
# error_log keeps the last 8, and '>' clears it.
for i in 1 2 3 4 5 6 7 8 9 10; do ctl $D/probes "p:${i}bad vfs_read" >/dev/null; done
check "error_log keeps 8" [ "$(grep -c 'rprobes: error:' $D/error_log)" -eq 8 ]
: >$D/error_log
check "error_log cleared" [ ! -s $D/error_log ]
finish

# SPDX-License-Identifier: GPL-2.0
# debug-cost: 92
# The values fetch arguments record, exactly, on rprobes_selftest_args
# (src/selftest.rs: 8 known integer arguments, the 7th and 8th on the
# stack, a pointer to a record with a field of each width, negative ones,
# a char array, strings, a bitfield container and a pointer chain; returns
# -42): the fast path (every argument a register or one load), the
# interpreter (registers, $stackN, $stack, $argN on the stack, @ADDR,
# @SYM+-OFF, nested and negative dereferences, char, char[N], strings,
# bitfields, auto names), the s/u/x/bitfield views of negative values at 64,
# 32, 16 and 8 bits, +uOFF()/ustring on kernel memory ((fault)), and $argN
# 1..8 at return. Each probe has a tracefs twin with the same arguments on
# the same call: both must print the same values.
. /tests/lib.sh
load
F=rprobes_selftest_args
ksym() { awk -v s="$1" '$3 == s { print $1; exit }' /proc/kallsyms; }
rec=$(ksym rprobes_selftest_rec)
rec2=$(ksym rprobes_selftest_rec2)
echo "# $F at $(ksym $F), rec at $rec, rec2 at $rec2"
check "target and its records in kallsyms" [ -n "$(ksym $F)" -a -n "$rec" -a -n "$rec2" ]

# The fields (the text after "(...) ") of the last EVENT line of FILE, in
# $_f. Shell builtins only, and no command substitution: each fork costs
# some 0.25 s of CPU on the debug kernel, and there are some 120 checks.
fields_of() { # file event
	_f=
	while IFS= read -r _l; do
		case $_l in *" $2: "*) _f=$_l ;; esac
	done <"$1"
	_f=${_f#*) }
}
fields() { # file event: prints them
	fields_of "$@"
	echo "$_f"
}
# The value of NAME (its last one) in a fields text, in $_v.
val_of() { # fields name
	case " $1" in
	*" $2="*)
		_v=" $1"
		_v=${_v##* $2=}
		_v=${_v%% *}
		;;
	*) _v= ;;
	esac
}
val() { # fields name: prints it
	val_of "$@"
	echo "$_v"
}
# Adds EVENT with ARGS in rprobes (group rprobes) and tracefs (group kp),
# at the entry (p) or the return (r) of $F.
tw=
both() { # p|r event args
	echo "$1:$2 $F $3" >>$D/probes || fail "rprobes: $1:$2 $3"
	echo "$1:kp/$2 $F $3" >>$T/kprobe_events || {
		cat $T/error_log
		fail "tracefs: $1:kp/$2 $3"
	}
	tw="$tw $2"
}
# rprobes' and tracefs' fields of EVENT must be the same.
same() { # event
	fields_of $D/trace "rprobes/$1"
	_r=$_f
	fields_of $T/trace "$1"
	_t=$_f
	echo "# rprobes $1: $_r"
	echo "# tracefs $1: $_t"
	[ -n "$_r" ] && [ "$_r" = "$_t" ]
}
# Checks NAME of rprobes' EVENT is WANT.
is() { # event name want
	fields_of $D/trace "rprobes/$1"
	val_of "$_f" "$2"
	[ "$_v" = "$3" ] || fail "$1 $2=$_v, expected $3"
	echo "ok: $1 $2=$3"
}

# rec: +0 u8 0xa5, +1 s8 -3, +2 u16 0xbeef, +4 s32 -100000,
# +8 u64 0xfedcba9876543210, +16 s64 -5, +24 &rec2, +32 "abcdefg",
# +40 -> "hello", +48 u32 0x12345678. rec2: +0 0x2222333344445555,
# +8 &rec+16, +16 &rec2. Arguments: -2, 0x1122334455667788, &rec, -1000,
# "rprobes-selftest", &rec+16, -7, 0x0807060504030201.

# The fast path: registers, $argN in registers, one load each (widths 8 to
# 64, a negative offset).
both p fast "a1=%di a1s=%di:s64 a2=%si:x64 a3=%dx a4=\$arg4:s32 a4h=%cx:s16 a4b=%cx:s8 m8=+0(%dx):u8 m8s=+1(%dx):s8 m16=+2(%dx):x16 m16s=+2(%dx):s16 m32=+4(%dx):s32 m64=+8(%dx):x64 neg=-16(%r9):u8 neg8=-8(%r9):x64 mid=+0(\$arg6):s64"
# The interpreter: the stack, $argN on the stack, absolute and symbol
# addresses, pointer chains, negative dereferences, chars, strings,
# bitfields with an offset, user reads of kernel memory.
if [ $((0x$rec2)) -gt $((0x$rec)) ]; then
	below=rprobes_selftest_rec2-$((0x$rec2 - 0x$rec))
	below_want=0xfffe7960beeffda5 # rec's first 8 bytes
else
	below=rprobes_selftest_rec-$((0x$rec - 0x$rec2))
	below_want=0x2222333344445555 # rec2's first 8 bytes
fi
both p stk "st0=\$stack0 sym=\$stack0:symbol st1=\$stack1:s64 st2=\$stack2:x64 sp=\$stack top=+0(\$stack) top1=+8(\$stack):s64 a7=\$arg7:s64 a8=\$arg8 a8b=\$arg8:u8 a8w=\$arg8:x16"
both p mem "abs=@0x$rec:u8 abs16=@0x$rec:x16 plus=@rprobes_selftest_rec+8:x64 minus=@$below:x64 l2=+0(+24(%dx)):x64 l4=+0(+16(+16(+24(%dx)))):x64 n1=-16(+8(+24(%dx))):u8 n2=-8(+8(+24(%dx))):s64 n3=-12(+8(+24(%dx))):s32 c=+32(%dx):char ca=+32(%dx):char[7] s=+32(%dx):string hs=+0(+40(%dx)):string str=+0(%r8):string sa=+33(%dx):string bf=+48(%dx):b8@4/32 bf2=+48(%dx):b12@20/32 bf3=+48(%dx):b4@28/32 bfs=+1(%dx):b3@2/8"
both p usr "u1=+u0(%r8):string u2=+0(%r8):ustring k=+0(%r8):string"
# A user dereference that faults before the string: (fault) in rprobes.
# Not compared: tracefs leaves such a string's data location pointing at
# the room the next string argument then fills (store_trace_args()), so it
# prints that one's text.
echo "p:udr $F u3=+0(+u0(%dx)):string k=+0(%r8):string" >>$D/probes || fail "add udr"
both p auto "%di \$arg2:x64 +0(%dx):u8 \$arg7:s64 +0(+40(%dx)):string"
# Views of the same negative values at each width: %di is -2, +16(%dx) is
# -5, $stack1 -7; b4@4/W of -7 is 15, b<W-1>@1/W of -2 is 2^(W-1)-1,
# b<W-2>@2/W of -5 is 2^(W-2)-2.
for w in 64 32 16 8; do
	both p t$w "s=%di:s$w u=%di:u$w x=%di:x$w b=%di:b$((w - 1))@1/$w ms=+16(%dx):s$w mu=+16(%dx):u$w mx=+16(%dx):x$w mb=+16(%dx):b$((w - 2))@2/$w sb=\$stack1:b4@4/$w"
done
# One call with the entry probes only (a return probe would have replaced
# $stack0 by its trampoline before the entry probes run).
fire() {
	for e in $tw; do echo 1 >$T/events/kp/$e/enable; done
	echo >$T/trace
	: >$D/trace
	echo 'args 0' >$D/selftest || fail "selftest args"
	for e in $tw; do echo 0 >$T/events/kp/$e/enable; done
	cat $D/trace
}
fire

check "fast: like tracefs" same fast
is fast a1 0xfffffffffffffffe
is fast a1s -2
is fast a2 0x1122334455667788
is fast a3 0x$rec
is fast a4 -1000
is fast a4h -1000
is fast a4b 24
is fast m8 165
is fast m8s -3
is fast m16 0xbeef
is fast m16s -16657
is fast m32 -100000
is fast m64 0xfedcba9876543210
is fast neg 165
is fast neg8 0xfedcba9876543210
is fast mid -5

check "stack: like tracefs" same stk
is stk st1 -7
is stk st2 0x807060504030201
is stk top "$(val "$(fields $D/trace rprobes/stk)" st0)"
is stk top1 -7
is stk a7 -7
is stk a8 0x807060504030201
is stk a8b 1
is stk a8w 0x201
sym=$(val "$(fields $D/trace rprobes/stk)" sym)
case $sym in
*selftest*+0x*/0x*) echo "ok: \$stack0:symbol is in the caller: $sym" ;;
*) fail "\$stack0:symbol $sym" ;;
esac

check "memory: like tracefs" same mem
is mem abs 165
is mem abs16 0xfda5
is mem plus 0xfedcba9876543210
is mem minus $below_want
is mem l2 0x2222333344445555
is mem l4 0x2222333344445555
is mem n1 165
is mem n2 -81985529216486896
is mem n3 -100000
is mem c "'a'"
is mem ca "{'a','b','c','d','e','f','g'}"
is mem s '"abcdefg"'
is mem hs '"hello"'
is mem str '"rprobes-selftest"'
is mem sa '"bcdefg"'
is mem bf 103
is mem bf2 291
is mem bf3 1
# -3 is 0xfd: bits 2..4 are 0b111.
is mem bfs 7

check "user reads of kernel memory: like tracefs" same usr
is usr u1 '(fault)'
is usr u2 '(fault)'
is udr u3 '(fault)'
is udr k '"rprobes-selftest"'
is usr k '"rprobes-selftest"'

check "auto names: like tracefs" same auto
check "auto names arg1..arg5" [ "$(fields $D/trace rprobes/auto)" = \
	'arg1=0xfffffffffffffffe arg2=0x1122334455667788 arg3=165 arg4=-7 arg5="hello"' ]

for w in 64 32 16 8; do
	check "types at $w bits: like tracefs" same t$w
done
is t64 s -2
is t64 u 18446744073709551614
is t64 x 0xfffffffffffffffe
is t64 b 9223372036854775807
is t64 ms -5
is t64 mu 18446744073709551611
is t64 mx 0xfffffffffffffffb
is t64 sb 15
is t64 mb 4611686018427387902
is t32 s -2
is t32 u 4294967294
is t32 x 0xfffffffe
is t32 b 2147483647
is t32 ms -5
is t32 mu 4294967291
is t32 mx 0xfffffffb
is t32 sb 15
is t32 mb 1073741822
is t16 s -2
is t16 u 65534
is t16 x 0xfffe
is t16 b 32767
is t16 ms -5
is t16 mu 65531
is t16 mx 0xfffb
is t16 sb 15
is t16 mb 16382
is t8 s -2
is t8 u 254
is t8 x 0xfe
is t8 b 127
is t8 ms -5
is t8 mu 251
is t8 mx 0xfb
is t8 sb 15
is t8 mb 62

# Return probes: $argN saved at entry, the 7th and 8th from the stack.
both r ret "a1=\$arg1:s64 a3=+0(\$arg3):u8 a6=+0(\$arg6):s64 a7=\$arg7:s64 a8=\$arg8 rv=\$retval:s64 rv8=\$retval:x8"
both r ret8 "a8=\$arg8 a7=\$arg7:s64 a8b=\$arg8:u8"
both r regs "a1=\$arg1:s64 a4=\$arg4:s64 rv=\$retval:s64"
fire
check "return: like tracefs" same ret
is ret a1 -2
is ret a3 165
is ret a6 -5
is ret a7 -7
is ret a8 0x807060504030201
is ret rv -42
is ret rv8 0xd6
check "return, stack arguments only: like tracefs" same ret8
is ret8 a8 0x807060504030201
is ret8 a7 -7
is ret8 a8b 1
check "return, registers only: like tracefs" same regs
is regs a4 -1000
is regs rv -42

# Numbers read through a user dereference of kernel memory: 0 in rprobes
# (tracefs leaves its buffer as it was).
echo "p:unum $F n=+u0(%dx):x64 m=+8(+u0(%dx)):x64 ok=+0(%dx):u8" >>$D/probes || fail "add unum"
echo 'args 0' >$D/selftest || fail "selftest args"
is unum n 0x0
is unum m 0x0
is unum ok 165

# A return probe keeps 6 words at entry: 7 different $argN with one on the
# stack do not fit.
: >$D/error_log
expect_err $D/probes E2BIG "r:eargs $F \$arg1 \$arg2 \$arg3 \$arg4 \$arg5 \$arg6 \$arg7"
check "error_log: too many entry arguments" grep -q 'Too many entry arguments specified' $D/error_log
check "nothing added" not grep -q eargs $D/probes
expect_ok $D/probes "r:eargs6 $F \$arg1 \$arg2 \$arg3 \$arg4 \$arg5 \$arg8 \$arg1:u8"
: >$D/trace
echo 'args 0' >$D/selftest || fail "selftest args"
check "six with one on the stack" [ "$(fields $D/trace rprobes/eargs6)" = \
	"arg1=0xfffffffffffffffe arg2=0x1122334455667788 arg3=0x$rec arg4=0xfffffffffffffc18 arg5=$(val "$(fields $D/trace rprobes/eargs6)" arg5) arg6=0x807060504030201 arg7=254" ]

for e in $tw; do echo "-:kp/$e" >>$T/kprobe_events; done
echo >$D/probes
finish

# SPDX-License-Identifier: GPL-2.0
# debug-cost: 86
# Fetch arguments: registers, $argN, $retval, $comm, dereferences, strings
# from kernel and user memory, (fault), types (s/u/x/bitfield views of the
# same value agree), arrays, symbols, immediates; compared with tracefs on
# the same calls where both can see them.
. /tests/lib.sh
load
arg() { # event name: the value of NAME= in the last event of EVENT
	grep " $1: " $D/trace | tail -n 1 | sed -n "s/.* $2=\([^ ]*\).*/\1/p"
}
SG=__x64_sys_sched_get_priority_min

# The syscall wrapper gets a pt_regs: its %di is the user's registers,
# whose di holds the policy.
echo "p:sg $SG regs=%di pol=+112(%di):s32 pu=+112(%di):u32 px=+112(%di):x32 b=+112(%di):b4@0/32 c=\$comm st=\$stack0:x64" >>$D/probes ||
	fail "add with args"
echo "r:sgr $SG pol=+112(\$arg1):s32 ret=\$retval:s32 rx=\$retval:x16" >>$D/probes || fail "add return with args"
grep sg $D/probes
check "args read back" grep -q "^p:rprobes/sg $SG regs=%di pol=+112(%di):s32 " $D/probes
trigger -p 1 >/dev/null
trigger -p 99 >/dev/null
cat $D/trace
check "s32 of policy 99" [ "$(arg rprobes/sg pol)" = 99 ]
check "u32 view" [ "$(arg rprobes/sg pu)" = 99 ]
check "x32 view" [ "$(arg rprobes/sg px)" = 0x63 ]
check "bitfield b4@0/32 of 99 = 3" [ "$(arg rprobes/sg b)" = 3 ]
check '$comm' [ "$(arg rprobes/sg c)" = '"trigger"' ]
check '$argN in a return probe (saved at entry)' [ "$(arg rprobes/sgr pol)" = 99 ]
check '$retval:s32 of EINVAL' [ "$(arg rprobes/sgr ret)" = -22 ]
check '$retval:x16' [ "$(arg rprobes/sgr rx)" = 0xffea ]
check "first call: policy 1 returned 1" grep -q 'rprobes/sgr: .* pol=1 ret=1 ' $D/trace

# Strings: a user string through the syscall's pt_regs, a kernel string,
# a fault, an immediate, a symbol.
: >$D/trace
echo "p:op do_sys_openat2 path=+0(%si):ustring bad=+0(\\0x10):string imm=\\\"hi\":string lit=\\42:u8 caller=\$stack0:symbol ban=@linux_banner:string" >>$D/probes ||
	fail "add string args"
cat /dev/null
grep ' rprobes/op: ' $D/trace | head -3
check "ustring" grep -q 'rprobes/op: .* path="/dev/null" ' $D/trace
check "(fault), no oops" grep -q 'rprobes/op: .* bad=(fault) ' $D/trace
check "immediate string" grep -q 'rprobes/op: .* imm="hi" ' $D/trace
check "immediate number" grep -q 'rprobes/op: .* lit=42 ' $D/trace
check "symbol: the caller" grep -Eq 'rprobes/op: .* caller=[a-z_0-9]+\+0x[0-9a-f]+/0x[0-9a-f]+ ' $D/trace
check "@SYM:string (kernel memory at a symbol)" grep -q 'rprobes/op: .* ban="Linux version ' $D/trace
expect_err $D/probes ENOENT 'p:bad vfs_read x=@no_such_symbol_xyz'

# The README's example: a user string argument saved at entry, read at return.
: >$D/trace
echo 'r:open do_sys_openat2 path=+0($arg2):ustring ret=$retval:s32' >>$D/probes || fail "README example"
cat /dev/null
grep 'rprobes/open:' $D/trace | head -2
check "README example works" grep -q 'rprobes/open: (.* <- do_sys_openat2) path="/dev/null" ret=3$' $D/trace

# An array of the user's pt_regs words, and the same with tracefs.
echo "p:arr $SG a=+112(%di):u32[2]" >>$D/probes || fail "add array"
echo "p:kp/arr $SG a=+112(%di):u32[2] pol=+112(%di):s32 c=\$comm" >>$T/kprobe_events || fail "tracefs add"
echo 1 >$T/events/kp/arr/enable
echo >$T/trace
trigger -p 5 >/dev/null
echo 0 >$T/events/kp/arr/enable
tr=$(grep 'arr:' $T/trace | tail -n 1 | sed 's/.*) //')
rp=$(grep 'rprobes/arr:' $D/trace | tail -n 1 | sed 's/.*) //')
rp2="$(arg rprobes/sg pol) $(arg rprobes/sg c)"
echo "# tracefs: $tr"
echo "# rprobes: $rp / $rp2"
echo '-:kp/arr' >>$T/kprobe_events
check "array like tracefs" [ "$(echo "$tr" | cut -d' ' -f1)" = "$rp" ]
check "values like tracefs" [ "$(echo "$tr" | cut -d' ' -f2,3)" = "pol=5 c=\"trigger\"" ]
check "rprobes saw the same" [ "$rp2" = '5 "trigger"' ]
echo >$D/probes
finish

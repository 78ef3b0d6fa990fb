# SPDX-License-Identifier: GPL-2.0
# debug-cost: 53
# User probe points, inspection only: `explain` resolves PID:0xADDR and
# PID:PATH:0xOFF in a live process, reads the instruction there without
# writing anything, and prints the decoder's verdict; bad points get a
# clear errno and reason.
. /tests/lib.sh
load
E=$D/explain
uprobe_target >/tmp/ut.out &
pid=$!
for i in $(seq 50); do [ -s /tmp/ut.out ] && grep -q '^data ' /tmp/ut.out && break; usleep 100000; done
addr() { awk -v n="$1" '$1 == n { print $2 }' /tmp/ut.out; }
verdict() { # NAME expected-verdict-text
	a=$(addr "$1")
	expect_ok $E "$pid:$a"
	cat $E
	grep -q "^$pid:$a: addr=$a prot=r-xp bytes=[0-9a-f]* $2" $E || fail "$1: expected '$2'"
	echo "ok: $1 -> $2"
}
md5_before=$(md5sum /tests/progs/uprobe_target | cut -d' ' -f1)
verdict f_nop 'len=1 verdict=emulate-nop'
verdict f_push 'len=1 verdict=emulate-push'
verdict f_rip 'len=7 verdict=step-fixup rip_disp_off=3'
verdict f_call 'len=5 verdict=emulate-call'
verdict f_jz 'len=2 verdict=emulate-jcc'
verdict f_vex 'len=8 verdict=step-fixup rip_disp_off=4'
verdict f_syscall 'len=2 refuse=syscall'
verdict f_int3 'len=1 refuse=int'
verdict f_cli 'len=1 refuse=privileged'
verdict f_movss 'len=2 refuse=segment-load'

# PID:PATH:0xOFF, the file offset computed from /proc/PID/maps.
a=$(addr f_rip)
line=$(awk -v p=/tests/progs/uprobe_target '$6 == p && $2 ~ /x/' /proc/$pid/maps | head -n 1)
start=0x${line%%-*}
foff=0x$(echo "$line" | awk '{ print $3 }')
off=$(printf '0x%x' $((a - start + foff)))
expect_ok $E "$pid:/tests/progs/uprobe_target:$off"
cat $E
check "file offset resolves to the same address" grep -q "addr=$a .*verdict=step-fixup" $E

# Data is not code.
expect_ok $E "$pid:$(addr data)"
check "data refused" grep -q 'prot=rw-p .*refuse=not-executable' $E

# Errors: each with an errno and a reason.
expect_err $E EINVAL "$pid:4096"
check "reason" grep -q 'error: address/offset must be a 0x-prefixed hex number' $E
expect_err $E EINVAL "0:0x1000"
expect_err $E EINVAL "$pid:tests/x:0x10"
expect_err $E ENOENT "$pid:/no/such/file:0x0"
check "reason" grep -q 'not mapped at that offset' $E
expect_err $E EFAULT "$pid:0x10"
expect_err $E EINVAL "2:0x1000"
check "kernel thread" grep -q 'no user memory' $E
kill $pid
wait $pid 2>/dev/null
expect_err $E ESRCH "$pid:$a"
check "dead pid" grep -q 'no such process' $E
check "nothing was written into the program" [ "$(md5sum /tests/progs/uprobe_target | cut -d' ' -f1)" = "$md5_before" ]
finish

# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the guest tests (sourced). A test fails on the first
# failed check; `finish` records the result for the runner.
D=/sys/kernel/debug/rprobes
T=/sys/kernel/tracing
# (Its own variable: tests use `name` for their own purposes.)
_rp_test=$(basename "$0" .sh)
name=$_rp_test
echo 1 >/tmp/rc.$_rp_test
fail() {
	echo "FAIL: $*"
	exit 1
}
check() { # description, command...
	d=$1
	shift
	if "$@"; then echo "ok: $d"; else fail "$d"; fi
}
finish() {
	echo 0 >/tmp/rc.$_rp_test
	exit 0
}
# The test cannot run here (the runner reports `# SKIP`).
skip() {
	echo "SKIP: $*"
	echo 4 >/tmp/rc.$name
	exit 0
}
load() {
	insmod /rprobes.ko "$@" || fail "insmod $*"
}
# hits of GRP/EVENT in profile
hits() { awk -v n="$1" '$1 == n { print $2 }' $D/profile; }
# Expect a write to fail with errno name $2 (e.g. ENOENT): ctl prints it.
expect_err() { # file errno line
	got=$(ctl "$1" "$3")
	[ "$got" = "$2" ] || fail "'$3' -> $got, expected $2"
	echo "ok: '$3' -> $2"
}
expect_ok() { # file line
	got=$(ctl "$1" "$2")
	[ "$got" = "OK" ] || fail "'$2' -> $got, expected OK"
}
# Negation usable as a command under `check`.
not() { ! "$@"; }
# grep in the kernel log, usable under `check`.
in_dmesg() { dmesg | grep -q "$1"; }
# --- user probes (tests 22-25; the programs' protocol is in progs/uprog.h)
# Test programs started in the background go into $upids: killed when the
# test ends, however it ends (a held program would otherwise keep the
# runner's pipe open).
upids=
uprobe_cleanup() { [ -z "$upids" ] || kill -9 $upids 2>/dev/null; }
# Is process PID alive (not gone, not a zombie)?
alive() { [ -r /proc/$1/stat ] && [ "$(sed 's/.*) //' /proc/$1/stat | cut -c1)" != Z ]; }
# Wait until FILE has a line matching REGEX (at most SECS seconds, 60 if
# not given); fails the test otherwise, or as soon as process PID (if
# given) is gone without having written it.
wait_line() { # file regex [secs [pid]]
	_n=$((${3:-60} * 10))
	while [ $_n -gt 0 ]; do
		grep -q "$2" "$1" 2>/dev/null && return 0
		if [ -n "$4" ] && ! alive "$4"; then
			grep -q "$2" "$1" 2>/dev/null && return 0
			tail -n 5 "$1"
			dmesg | tail -n 5
			fail "process $4 ended without '$2' in $1"
		fi
		usleep 100000
		_n=$((_n - 1))
	done
	tail -n 5 "$1" 2>/dev/null
	fail "timeout waiting for '$2' in $1"
}
# Field of a program's "point NAME 0xADDR HITS VERDICT" line ($2: 3 addr,
# 4 hits, 5 verdict).
point() { awk -v n="$1" -v f="$2" '$1 == "point" && $2 == n { print $f }' "$3"; }
# The program's pid from its "pid N" line.
prog_pid() { awk '$1 == "pid" { print $2; exit }' "$1"; }
# The `xol` line of a process, and one of its fields (area, slots, hwm,
# stepped, emulated).
xol_line() { grep "^pid=$1 " $D/xol; }
xol_field() { xol_line "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }'; }
# Starts a user-probe test program (the uprog.h protocol) in the background
# with `-m MODE ARGS... -g GOFILE`, output in OUT; sets $bg (also added to
# $upids) and waits for its "ready".
uprog_start() { # prog out gofile mode args...
	_up=$1
	_uo=$2
	_ug=$3
	shift 3
	rm -f $_ug $_ug.2 $_ug.stop
	$_up -m "$@" -g $_ug >$_uo 2>&1 &
	bg=$!
	upids="$upids $bg"
	wait_line $_uo '^ready$' 60 $bg
	check "pid line" [ "$(prog_pid $_uo)" = $bg ]
}
# Adds GRP/POINT at each POINT that program $bg listed in OUT.
uprog_probe() { # out group point...
	_uo=$1
	_ugrp=$2
	shift 2
	for _upt in "$@"; do
		expect_ok $D/probes "p:$_ugrp/$_upt $bg:$(point $_upt 3 $_uo)"
	done
}
# A probe point's verdict name as `explain` prints it.
explain_verdict() { # PID:ADDR
	expect_ok $D/explain "$1"
	sed -n 's/.* verdict=\([a-z-]*\).*/\1/p' $D/explain
}
# File offset of virtual address ADDR in PID's mapping of PATH.
file_off() { # pid path addr
	awk -v p="$2" '$6 == p { print $1, $3 }' /proc/$1/maps | while read -r r o; do
		s=$((0x${r%-*}))
		e=$((0x${r#*-}))
		if [ $(($3)) -ge $s ] && [ $(($3)) -lt $e ]; then
			printf '0x%x\n' $(($3 - s + 0x$o))
			break
		fi
	done
}

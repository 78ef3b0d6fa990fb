# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the guest tests (sourced). A test fails on the first
# failed check; `finish` records the result for the runner.
D=/sys/kernel/debug/rprobes
T=/sys/kernel/tracing
name=$(basename "$0" .sh)
echo 1 >/tmp/rc.$name
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
	echo 0 >/tmp/rc.$name
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

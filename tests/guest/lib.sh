# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the guest tests (sourced by every tests/guest/*/*.tc).
#
# A test reports KTAP sub-tests: each `check` (and `pass`) prints `ok N
# DESC`, the first failed one `not ok N DESC` and ends the test; the
# runner (run-all) indents them under the test's own result. The result
# is the exit code, as in kselftest: 0 (`finish`: every check passed), 1
# (`fail`, or the script ended without `finish`), 4 (`skip`). Other output
# is diagnostics.
D=/sys/kernel/debug/rprobes
T=/sys/kernel/tracing
# The test's name (the runner's `TEST` environment variable: CAT/NAME);
# tests use `name` for their own purposes too.
_rp_test=${TEST:-${0##*/}}
_rp_test=${_rp_test%.tc}
name=$_rp_test
# The debug kernel (rpdebug=1 on its command line) runs the guest several
# times slower. Timing windows (how long a task sleeps inside a probed
# function, how long to give it to get there) scale with SLOW.
SLOW=1
[ "${rpdebug:-0}" = 1 ] && SLOW=5
# Workload size: rpscale=X on the kernel command line (scripts/run-qemu
# --scale, from RPROBES_SCALE / the Makefile; the debug run uses less than
# 1, where a probe registration costs about 0.3 s and a fork+exec about
# 0.4 s). Tests take their iteration counts (hits, probes, fuzzed writes,
# add/remove cycles) from `scaled N [MIN]`: N times X, at least MIN (1).
# Timing windows do not scale with it (see SLOW), and the checks stay the
# same, only counted against the scaled numbers.
SCALE=${rpscale:-1}
case $SCALE in
*.*)
	_f=${SCALE#*.}000
	_f=${_f%"${_f#???}"}
	_i=${SCALE%%.*}
	SCALE_PM=$((${_i:-0} * 1000 + 1$_f - 1000))
	;;
*) SCALE_PM=$((SCALE * 1000)) ;;
esac
scaled() { # N [MIN]
	_n=$((($1 * SCALE_PM + 500) / 1000))
	[ "$_n" -ge "${2:-1}" ] || _n=${2:-1}
	echo "$_n"
}
# KTAP sub-test numbers, and whether the test ended on purpose.
_rp_n=0
_rp_end=
_rp_atexit=:
# Cleanup commands run when the test ends, however it ends (instead of a
# `trap ... EXIT` of the test's own, which would replace the runner's).
at_exit() { _rp_atexit="$_rp_atexit; $*"; }
_rp_exit() {
	_rc=$?
	eval "$_rp_atexit"
	if [ -z "$_rp_end" ]; then
		# Neither finish, fail nor skip: the script stopped early.
		echo "not ok $((_rp_n + 1)) the test reached finish (it stopped before, with status $_rc)"
		_rp_failed=1
		_rc=1
	fi
	echo "1..$((_rp_n + ${_rp_failed:-0}))"
	exit $_rc
}
trap _rp_exit EXIT
# A passed sub-test.
pass() {
	_rp_n=$((_rp_n + 1))
	echo "ok $_rp_n $*"
}
fail() {
	_rp_failed=1
	echo "not ok $((_rp_n + 1)) $*"
	_rp_end=fail
	exit 1
}
check() { # description, command...
	d=$1
	shift
	if "$@"; then pass "$d"; else fail "$d"; fi
}
finish() {
	_rp_end=pass
	exit 0
}
# The test cannot run here (the runner reports `# SKIP`).
skip() {
	echo "# SKIP: $*"
	_rp_end=skip
	exit 4
}
load() {
	insmod /rprobes.ko "$@" || fail "insmod $*"
}
# Process creation is what the guest tests mostly cost on the debug kernel
# (a fork about 0.25 s of CPU, an exec 0.1 s more): the helpers below use
# the shell's own read, case and test, and no command where a loop would
# run one per iteration.
#
# A pause of SECS (fractional) seconds without a fork: a read with a time
# limit on a FIFO that nobody writes (usleep is a forked applet).
_rp_fifo=/tmp/.rp_pause
[ -p $_rp_fifo ] || mkfifo $_rp_fifo
pause() { read -r -t "$1" _ <>$_rp_fifo; :; }
# Uptime in centiseconds, without a fork; `since CS` prints the seconds
# from CS to now ("12.34 s").
now_cs() {
	read -r _up _ </proc/uptime
	echo $((${_up%.*} * 100 + 1${_up#*.} - 100))
}
since() {
	_d=$(($(now_cs) - $1))
	echo "$((_d / 100)).$((_d % 100 / 10))$((_d % 10)) s"
}
# hits of GRP/EVENT in profile
hits() {
	while read -r _e _h _; do
		if [ "$_e" = "$1" ]; then
			echo "$_h"
			return
		fi
	done <$D/profile
}
# Expect a write to fail with errno name $2 (e.g. ENOENT): ctl prints it.
expect_err() { # file errno line
	got=$(ctl "$1" "$3")
	[ "$got" = "$2" ] || fail "'$3' -> $got, expected $2"
	pass "'$3' -> $2"
}
expect_ok() { # file line
	got=$(ctl "$1" "$2")
	[ "$got" = "OK" ] || fail "'$2' -> $got, expected OK"
}
# A refused probe line, ^ marking where the caret must be: errno name $2,
# error_log's reason $3, its command line and caret (13 + pos bytes with
# the newline), and the probes unchanged.
expect_err_at() { # spec errno message
	_pre=${1%%^*}
	_line=$_pre${1#*^}
	slurp _before $D/probes
	: >$D/error_log
	expect_err $D/probes "$2" "$_line"
	slurp _log $D/error_log
	case $_log in *"rprobes: error: $3"*) ;; *) printf %s "$_log"; fail "message for '$_line'" ;; esac
	# (The command is normalised: no trailing space.)
	case $_log in *"  Command: ${_line% }"*) ;; *) printf %s "$_log"; fail "command for '$_line'" ;; esac
	_last=${_log%?}
	_last=${_last##*"
"}
	_len=$((${#_last} + 1))
	[ "$_len" -eq $((13 + ${#_pre})) ] ||
		{ printf %s "$_log"; fail "caret for '$_line': $_len != 13 + ${#_pre}"; }
	slurp _now $D/probes
	[ "$_now" = "$_before" ] || fail "'$_line' changed the probes"
}
# The whole of FILE in variable VAR, read by the shell itself: a loop of
# `$(cat FILE)` costs a fork and exec each time, 0.4 s on the debug kernel.
slurp() { # VAR FILE
	_s=
	while IFS= read -r _l || [ -n "$_l" ]; do
		_s="$_s$_l
"
	done <"$2"
	eval "$1=\$_s"
}
# Negation usable as a command under `check`.
not() { ! "$@"; }
# grep in the kernel log, usable under `check`.
in_dmesg() { dmesg | grep -q "$1"; }
# --- user probes (uprobes/classes, threads, lifecycle, hostile; the programs' protocol is in progs/uprog.h)
# Test programs started in the background go into $upids: killed when the
# test ends, however it ends (a held program would otherwise keep the
# runner's pipe open).
upids=
uprobe_cleanup() { [ -z "$upids" ] || kill -9 $upids 2>/dev/null; }
# Is process PID alive (not gone, not a zombie)?
alive() {
	read -r _st 2>/dev/null </proc/$1/stat || return 1
	_st=${_st##*) }
	[ "${_st%% *}" != Z ]
}
# Wait until FILE has a line matching REGEX (at most SECS seconds, 60 if
# not given, times SLOW); fails the test otherwise, or as soon as process
# PID (if given) is gone without having written it.
# It polls every 0.1 s (0.5 s on the debug kernel, where each grep is a
# fork and exec that takes CPU from the program being waited for: both
# vCPUs are one host thread).
_rp_poll=0.1
[ "$SLOW" -gt 1 ] && _rp_poll=0.5
wait_line() { # file regex [secs [pid]]
	_n=$((${3:-60} * 10 * SLOW))
	[ "$_rp_poll" = 0.1 ] || _n=$((${3:-60} * 2 * SLOW))
	while [ $_n -gt 0 ]; do
		grep -q "$2" "$1" 2>/dev/null && return 0
		if [ -n "$4" ] && ! alive "$4"; then
			grep -q "$2" "$1" 2>/dev/null && return 0
			tail -n 5 "$1"
			dmesg | tail -n 5
			fail "process $4 ended without '$2' in $1"
		fi
		pause $_rp_poll
		_n=$((_n - 1))
	done
	tail -n 5 "$1" 2>/dev/null
	fail "timeout waiting for '$2' in $1"
}
# Field of a program's "point NAME 0xADDR HITS VERDICT" line ($2: 3 addr,
# 4 hits, 5 verdict).
point() { # NAME FIELD FILE
	_pn=$1
	_pf=$2
	while read -r _a _b _r; do
		[ "$_a" = point ] && [ "$_b" = "$_pn" ] || continue
		set -f
		set -- $_a $_b $_r
		set +f
		eval "echo \"\${$_pf}\""
		return
	done <"$3"
}
# The program's pid from its "pid N" line.
prog_pid() {
	while read -r _k _v _; do
		if [ "$_k" = pid ]; then
			echo "$_v"
			return
		fi
	done <"$1"
}
# The `xol` line of a process, and one of its fields (area, slots, hwm,
# stepped, emulated).
# (_xol PID: that line in $_xl, or false.)
_xol() {
	while IFS= read -r _xl; do
		case $_xl in "pid=$1 "*) return 0 ;; esac
	done <$D/xol
	return 1
}
xol_line() { _xol "$1" && echo "$_xl"; }
xol_field() {
	_xol "$1" || return
	set -f
	for _kv in $_xl; do
		case $_kv in "$2="*)
			echo "${_kv#*=}"
			break
			;;
		esac
	done
	set +f
}
# Waits (5 s at most, times SLOW) until process PID has no `xol` line (its
# state is reaped after it exits); false if it still has one.
xol_gone() { # pid
	_n=$((50 * ${SLOW:-1}))
	while xol_line $1 >/dev/null && [ $_n -gt 0 ]; do
		usleep 100000
		_n=$((_n - 1))
	done
	! xol_line $1 >/dev/null
}
# Waits (5 s at most, times SLOW) until every `list` row of process PID's
# probes says [gone]: after the process exited, its breakpoints and state
# are reaped, and its probe lines stay, with their counts, until they are
# removed. False if one is still live.
_live_rows() { grep " $1:" $D/list | grep -qv ' \[gone\]$'; }
probes_dead() { # pid
	_n=$((50 * ${SLOW:-1}))
	while _live_rows $1 && [ $_n -gt 0 ]; do
		pause 0.1
		_n=$((_n - 1))
	done
	! _live_rows $1 && grep -q " $1:.* \[gone\]$" $D/list
}
# Starts a user-probe test program (the uprog.h protocol) in the background
# with `-m MODE ARGS... -g GOFILE`, output in OUT; sets $bg (also added to
# $upids) and waits for its "ready".
uprog_start() { # prog out gofile mode args...
	_up=$1
	_uo=$2
	_ug=$3
	shift 3
	# No old OUT: its "ready" would be taken for the new program's.
	rm -f $_ug $_ug.2 $_ug.stop $_uo
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
# uprobe_loop (tests uprobes/basic and uprobes/tracefs; its own protocol, not uprog.h):
# `uloop_start TAG` runs it for $N calls with /tmp/go.TAG and /tmp/end.TAG,
# output in /tmp/ul.TAG, its pid in $pid_TAG (and $upids), and waits for its
# "ready"; `uloop_addr TAG NAME` prints a point's address; `uloop_result
# TAG` waits for the result line and puts it in $res.
uloop_start() { # tag
	rm -f /tmp/go.$1 /tmp/end.$1 /tmp/ul.$1
	uprobe_loop /tmp/go.$1 /tmp/end.$1 $N >/tmp/ul.$1 2>&1 &
	eval pid_$1=$!
	upids="$upids $!"
	wait_line /tmp/ul.$1 '^ready' 30 $!
}
uloop_addr() { awk -v n="$2" '$1 == n { print $2 }' /tmp/ul.$1; }
uloop_result() { # tag
	eval "wait_line /tmp/ul.$1 '^result' 60 \$pid_$1"
	res=$(grep '^result' /tmp/ul.$1)
}
# An unprobed run of uprobe_loop to the end: its result line in $res.
uloop_reference() { # tag
	uloop_start $1
	touch /tmp/go.$1 /tmp/end.$1
	uloop_result $1
	eval "wait \$pid_$1"
	echo "# reference ($1): $res"
	[ -n "$res" ] || fail "no reference result"
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
# --- Debian's dynamic userland and the dynamic test programs (uprobes/dynamic)
# scripts/mkinitramfs copies Debian's loader and the libraries the
# dynamic programs need at their real paths, as regular files: these are
# the paths a process maps (/proc/PID/maps) and a probe by path names
# (/lib64/ld-linux-x86-64.so.2, the PT_INTERP of the programs, is a link
# to $LDSO). No .symtab in either: their functions are in .dynsym.
# Debian's programs (/usr/bin/cat, env, sha256sum, sleep) are not on PATH,
# where busybox's applets of /bin come first: run them by path.
LDSO=/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
LIBC=/lib/x86_64-linux-gnu/libc.so.6
# libuprobed.so (tests/guest/progs/dyn/libuprobed.c): dynloop and forkexec
# link it, dlopener loads it with dlopen().
LIBUPROBED=/tests/lib/libuprobed.so
# The real path of libc.so.6 in the guest.
libc_path() { echo $LIBC; }
# The path of the file named BASENAME that process PID maps (its first
# mapping of a file by that name); nothing if none.
mapped_path() { # pid basename
	while read -r _ _ _ _ _ _mp; do
		case $_mp in */"$2")
			echo "$_mp"
			return
			;;
		esac
	done </proc/$1/maps
}
# symoff FILE SYMBOL... (tests/guest/progs/symoff.c: file offsets of
# functions, by .symtab or .dynsym) into variable VAR, the offsets
# separated by spaces; fails the test if symoff fails.
symoff_of() { # var file symbol...
	_sv=$1
	shift
	_so=$(symoff "$@") || fail "symoff $*"
	set -f
	set -- $_so
	set +f
	eval "$_sv=\$*"
}
# Hits of the tracefs uprobe event EVENT (its name without the group) in
# uprobe_profile.
uprobe_hits() { # event
	while read -r _ _e _h; do
		if [ "$_e" = "$1" ]; then
			echo "$_h"
			return
		fi
	done <$T/uprobe_profile
}
# The hits of every tracefs uprobe event EVENT in variable PREFIXEVENT
# (one read of uprobe_profile, no fork).
uprobe_hits_vars() { # prefix
	while read -r _ _e _h; do
		eval "$1$_e=\$_h"
	done <$T/uprobe_profile
}
# The dynamic programs (their protocol: progs/dyn/dynprog.h). `dyn_start
# TAG PROG ARGS...` runs `PROG -g /tmp/go.TAG -e /tmp/end.TAG ARGS...` in
# the background, output in /tmp/dyn.TAG, its pid in $pid_TAG (and
# $upids), and waits for its "ready"; `dyn_sym TAG NAME` prints the
# address of its "sym NAME 0xADDR" line; `touch /tmp/go.TAG` releases it;
# `dyn_result TAG` waits for its result line and puts it in $res;
# `dyn_end TAG` lets it exit and fails the test unless it exits with 0 (0:
# its results are the ones it computes without the library).
dyn_start() { # tag prog args...
	_dt=$1
	_dp=$2
	shift 2
	rm -f /tmp/go.$_dt /tmp/end.$_dt /tmp/dyn.$_dt
	$_dp -g /tmp/go.$_dt -e /tmp/end.$_dt "$@" >/tmp/dyn.$_dt 2>&1 &
	eval pid_$_dt=$!
	upids="$upids $!"
	wait_line /tmp/dyn.$_dt '^ready$' 60 $!
}
dyn_sym() { # tag name
	while read -r _a _b _c; do
		if [ "$_a" = sym ] && [ "$_b" = "$2" ]; then
			echo "$_c"
			return
		fi
	done </tmp/dyn.$1
}
dyn_result() { # tag
	eval "wait_line /tmp/dyn.$1 '^result' 60 \$pid_$1"
	res=
	while IFS= read -r _l; do
		case $_l in result*) res=$_l ;; esac
	done </tmp/dyn.$1
}
dyn_end() { # tag
	touch /tmp/end.$1
	eval "wait \$pid_$1"
	_rc=$?
	[ $_rc = 0 ] || {
		cat /tmp/dyn.$1
		fail "$1 exited with $_rc"
	}
	pass "$1 exited with 0"
}
# dynloop's result line for N iterations (progs/dyn/dynloop.c).
dynloop_expect() { # n
	echo "result n=$1 add=$(($1 * ($1 - 1) / 2)) body=$((2 * $1 * $1)) odd=$(($1 / 2 * ($1 / 2))) step=$((3 * $1)) calls=$1"
}

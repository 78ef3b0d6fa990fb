# SPDX-License-Identifier: GPL-2.0
# debug-cost: 144
# User probes on every class of instruction (progs/uclasses.c): nop forms,
# push (incl. %rsp, REX), mov, rip-relative loads/stores/RMW, the same
# with the scratch register (rsi, rdi, rbx) live across them, call/jmp
# rel8/rel32, jcc taken and not (all 16 conditions), ret/ret imm, indirect
# call/jmp through rip-relative memory and registers, SSE and AVX with
# rip-relative operands, popf/pushf and flags, loop/jrcxz, and a program
# that single-steps itself with TF. For each point: `explain` gives the
# expected verdict; probed, the program prints exactly what it prints
# unprobed; every probe counts exactly the times its instruction ran; the
# `xol` file counts stepped and emulated hits; another process running the
# same binary meanwhile never traps; removal restores every byte.
# On the debug kernel a fork costs about 0.25 s and an exec 0.1 s more:
# nothing runs a command per point (progs/ubytes reads the bytes of all
# the points at once; explain, adding and removing are the shell's echo
# and read).
. /tests/lib.sh
trap uprobe_cleanup EXIT
load
R=20
BIN=/tests/progs/uclasses
if grep -qw avx /proc/cpuinfo; then
	avx=1
else
	avx=0
	echo "# SKIP avx class: the guest CPU has no AVX (/proc/cpuinfo)"
fi
md5_bin=$(md5sum $BIN | cut -d' ' -f1)
# Result lines of a run: between "ready" (or the start) and "done"/"done2".
results() { awk '/^done/ { exit } on { print } /^ready$/ { on = 1 }' "$1"; }
results2() { awk '/^done2$/ { exit } on { print } /^done$/ { on = 1 }' "$1"; }
same_results() { # ref got what
	if ! cmp -s "$1" "$2"; then
		diff "$1" "$2" | head -n 40
		fail "$3: probed output differs from the unprobed run"
	fi
	echo "ok: $3: output identical to the unprobed run ($(wc -l <"$1") lines)"
}

run_set() { # tag classes
	tag=$1
	t0=$(now_cs)
	out=/tmp/uc.$tag
	uclasses -n $R -c "$2" >$out.ref || fail "$tag: unprobed run failed"
	results $out.ref >$out.ref.res
	check "$tag: the program's AVX detection matches /proc/cpuinfo" grep -q "^avx $avx\$" $out.ref
	rm -f /tmp/uc.go /tmp/uc.go.2 $out
	uclasses -n $R -c "$2" -g /tmp/uc.go -h >$out 2>&1 &
	upids="$upids $!"
	bg=$!
	wait_line $out '^ready$' 60 $bg
	pid=$(prog_pid $out)
	check "$tag: pid line" [ "$pid" = "$bg" ]
	awk '$1 == "point" { print $2, $3, $4, $5 }' $out >$out.points
	npoints=$(wc -l <$out.points)

	# Each point's file offset and original bytes, in one exec (progs/
	# ubytes: "NAME ADDR OFF MEM FILE HITS VERDICT"): the text in memory is
	# the file's, and no point is an int3 already.
	ubytes $pid $BIN <$out.points >$out.orig || {
		cat $out.orig
		fail "$tag: ubytes: a point not in a mapping of $BIN, or unreadable"
	}
	bad=""
	while read -r name addr off m f hits v; do
		[ "$m" = "$f" ] && [ "$m" != cc ] || bad="$bad $name($addr):$m/$f"
	done <$out.orig
	[ -z "$bad" ] || fail "$tag: unprobed text differs from the file (memory/file):$bad"
	echo "ok: $tag: unprobed text is the file's at all $npoints points"

	# Verdicts first (explain reads the text, nothing is inserted yet),
	# then the probes; every third one by file offset. (The shell's own
	# echo and read: a command per point costs seconds on the debug kernel.)
	bad=""
	i=0
	nscr=0
	steps=0
	emus=0
	while read -r name addr off m f hits v; do
		echo "$pid:$addr" >>$D/explain || fail "'$pid:$addr' -> explain failed, expected OK"
		read -r l <$D/explain
		case $l in
		*" verdict="*)
			got=${l#* verdict=}
			got=${got%% *}
			;;
		*) got="" ;;
		esac
		[ "$got" = "$v" ] || bad="$bad $name($addr):$got!=$v"
		# scr_REG_...: the scratch register must be REG (the program
		# keeps a value in it across the instruction and prints it).
		case $name in scr_*)
			want=${name#scr_}
			want=${want%%_*}
			case $l in *" scratch=$want "*) nscr=$((nscr + 1)) ;; *) bad="$bad $name($addr):scratch!=$want" ;; esac
			;;
		esac
		if [ $((i % 3)) = 2 ]; then
			p="p:uc/$name $pid:$BIN:$off"
		else
			p="p:uc/$name $pid:$addr"
		fi
		echo "$p" >>$D/probes || fail "'$p' failed, expected OK"
		# A task with TF set is stepped even where the verdict is
		# emulate-*: its SIGTRAP then comes from a real single step.
		case $tag:$v in
		tf:*) steps=$((steps + hits)) ;;
		*:emulate-*) emus=$((emus + hits)) ;;
		*) steps=$((steps + hits)) ;;
		esac
		i=$((i + 1))
	done <$out.orig
	[ -z "$bad" ] || fail "$tag: explain verdicts differ:$bad"
	echo "ok: $tag: explain verdicts of $npoints points as expected ($nscr scratch registers)"
	check "$tag: $npoints probes listed" [ "$(grep -c '^p:uc/' $D/probes)" = "$npoints" ]
	read -r fname faddr fo _ f0 _ <$out.orig
	grep "uc/$fname" $D/probes $D/list
	check "$tag: list shows every probe's address and verdict" awk -v l=$D/list '
		BEGIN { while ((getline x <l) > 0) { split(x, w, " "); a[w[2]] = w[1] " " w[4] } }
		a["uc/" $1] != $2 " [" $4 "]" { print "not in the list:", $0; bad = 1 }
		END { exit bad }' $out.points
	ubytes $pid $BIN <$out.points >$out.probed
	bad=""
	while read -r name addr off m f hits v; do
		[ "$m" = cc ] || bad="$bad $name($addr):$m"
	done <$out.probed
	[ -z "$bad" ] || fail "$tag: no int3 in the process's text at:$bad"
	echo "ok: $tag: int3 in the process's text at all $npoints points"
	check "$tag: the file itself is unchanged" [ "$(md5sum $BIN | cut -d' ' -f1)" = "$md5_bin" ]
	expect_err $D/probes EEXIST "p:uc/again $pid:$BIN:$fo"

	# The same binary in another process, unprobed, meanwhile: no trap.
	uclasses -n $R -c "$2" >$out.other 2>&1 &
	upids="$upids $!"
	other=$!
	touch /tmp/uc.go
	wait_line $out '^done$' 100 $bg
	wait $other
	check "$tag: the other process exited normally" [ $? = 0 ]
	results $out.other >$out.other.res
	same_results $out.ref.res $out.other.res "$tag: other process"
	results $out >$out.res
	same_results $out.ref.res $out.res "$tag"

	bad=$(awk -v pf=$D/profile '
		BEGIN { while ((getline x <pf) > 0) { split(x, w, " "); h[w[1]] = w[2] } }
		(h["uc/" $1] "") != ($3 "") { printf " %s:%s!=%s", $1, h["uc/" $1], $3 }' $out.points)
	[ -z "$bad" ] || fail "$tag: hit counts differ (got!=want):$bad"
	echo "ok: $tag: exact hit counts on all $npoints probes"

	xol_line $pid
	check "$tag: xol stepped=$steps" [ "$(xol_field $pid stepped)" = $steps ]
	check "$tag: xol emulated=$emus" [ "$(xol_field $pid emulated)" = $emus ]
	slots=$(xol_field $pid slots)
	check "$tag: no XOL slot in use after the run" [ "${slots%/*}" = 0 ]
	area=$(xol_field $pid area)
	if [ $steps -gt 0 ]; then
		check "$tag: an XOL area exists" [ "$area" != none ]
		grep "^${area#0x}-" /proc/$pid/maps
		check "$tag: XOL area r-xp, anonymous, in /proc/PID/maps" \
			awk -v a="${area#0x}" 'index($1, a "-") == 1 && $2 == "r-xp" && $6 == "" { f = 1 } END { exit !f }' /proc/$pid/maps
		check "$tag: hwm >= 1" [ "$(xol_field $pid hwm)" -ge 1 ]
	else
		check "$tag: no XOL area when every probe is emulated" [ "$area" = none ]
	fi

	# Remove: half one by one, the rest at once; every byte restored: the
	# memory byte is the file's and the one before the probes at every point
	# (ubytes over $out.orig: "NAME ADDR OFF MEM FILE OFF0 MEM0 FILE0 ...").
	i=0
	while read -r name addr hits v; do
		if [ $((i % 2)) = 0 ]; then
			echo "-:uc/$name" >>$D/probes || fail "'-:uc/$name' failed, expected OK"
		fi
		i=$((i + 1))
	done <$out.points
	: >$D/probes
	check "$tag: no probe left" [ ! -s $D/probes ]
	ubytes $pid $BIN <$out.orig >$out.after
	bad=""
	while read -r name addr off m f o0 m0 _; do
		[ "$m" = "$f" ] && [ "$m" = "$m0" ] && [ "$off" = "$o0" ] ||
			bad="$bad $name:$m!=$f/$m0"
	done <$out.after
	[ -z "$bad" ] || fail "$tag: text not restored after removal (memory!=file/before):$bad"
	echo "ok: $tag: original bytes back at all $npoints points ($faddr: $f0)"
	touch /tmp/uc.go.2
	wait_line $out '^done2$' 100 $bg
	results2 $out >$out.res2
	same_results $out.ref.res $out.res2 "$tag: after removal"
	kill $bg
	wait $bg 2>/dev/null
	check "$tag: the xol line is gone after exit" xol_gone $bg
	echo "$tag: $npoints points in $(since $t0)"
}

# At most 64 probes per process: the classes in three sets.
run_set basic nop,push,mov,rip,scratch,call,jmp,jcc
check "basic: the scratch class's 8 scratch registers checked" [ "$nscr" = 8 ]
run_set cc cc
run_set more flags,ret,icall,sse,avx,scratchv,loop
if [ $avx = 1 ]; then
	check "more: the scratchv class's 3 scratch registers checked" [ "$nscr" = 3 ]
fi
# A program that single-steps itself (TF set by popf, SIGTRAP handler):
# same trap sequence with probes on the traced instructions.
run_set tf tf
check "module unloads" rmmod rprobes
finish

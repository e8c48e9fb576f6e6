#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The guest side of the test run (scripts/check.sh boots the VM with this):
# runs each tests/NN-*.sh (or those named), keeps their KTAP output in
# $RMPAGE_OUT, then checks the kernel log and kmemleak as one more KTAP
# test set. Exits non-zero if any script failed.
cd "$(dirname "$0")/.."
out=${RMPAGE_OUT:-/tmp/out}
mkdir -p "$out"
kml=/sys/kernel/debug/kmemleak
[ -w $kml ] && echo clear > $kml
# The kernel log is judged from here on: what the tests provoke. Anything
# before (boot) is shown, not judged; kasan_multi_shot on the command line
# keeps a boot-time report from silencing later ones.
boot_lines=$(dmesg | wc -l)
first_line=$(dmesg | head -n 1)
pat='BUG:|WARNING:|Oops|KASAN|possible .*locking|circular locking|hung task|blocked for more than|panicked|kernel BUG|UBSAN|general protection'
dmesg | head -n "$boot_lines" | grep -E "$pat" | sed 's/^/# boot (not judged): /'

# show_tasks PID...: what each process left behind by a test is doing:
# its command, state, wait channel and kernel stack.
show_tasks() {
	local pid
	for pid in "$@"; do
		[ -d /proc/$pid ] || continue
		echo "# left running: $pid $(tr '\0' ' ' < /proc/$pid/cmdline | cut -c1-120)"
		echo "#   $(grep -E '^State' /proc/$pid/status), wchan $(cat /proc/$pid/wchan 2>/dev/null)"
		sed 's/^/#   /' /proc/$pid/stack 2>/dev/null | head -n 16
	done
}

# stop_tasks PID...: kills them, waits up to 10 s for them to go, then
# lazily unmounts what is still mounted under the tests' work directory.
stop_tasks() {
	local i
	kill -KILL "$@" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		kill -0 "$@" 2>/dev/null || break
		sleep 0.1
	done
	awk '$2 ~ "^/tmp/rmpage-work/" { print $2 }' /proc/mounts | sort -r | xargs -r -n1 umount -l
}

if [ $# -gt 0 ]; then tests=("$@"); else tests=(tests/[0-9][0-9]-*.sh); fi
status=0
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	echo "# ==== $name"
	start=$(date +%s)
	# RMPAGE_TEST_TIMEOUT: make matrix runs a test on every
	# configuration, for longer than make check's tests take.
	limit=${RMPAGE_TEST_TIMEOUT:-1500}
	# A session of its own: what the test leaves running, such as a
	# process under an inner timeout (a process group of its own) when
	# this timeout ended the script, is found by the session and stopped
	# here, so that it cannot hold a mount, and the module, into the
	# tests that follow.
	setsid bash -c 'echo $$ > "$1"; exec timeout "$3" bash "$2"' _ "$out/$name.sid" "$t" "$limit" 2>&1 |
		tee "$out/$name.ktap"
	rc=${PIPESTATUS[0]}
	left=$(pgrep -s "$(cat "$out/$name.sid")")
	if [ -n "$left" ]; then
		show_tasks $left | tee -a "$out/$name.ktap"
		stop_tasks $left
	fi
	echo "# ==== $name: exit $rc, $(( $(date +%s) - start ))s"
	echo "$rc" > "$out/$name.rc"
	[ "$rc" = 0 ] || [ "$rc" = 4 ] || status=1
done

# Whatever the scripts left behind goes before the leak scan.
grep -q '^rmpage ' /proc/modules && { umount -a -t rext2 2>/dev/null; rmmod rmpage; }
losetup -D 2>/dev/null

. tests/lib/ktap.sh
{
	ktap_print_header
	ktap_set_plan 2
	bad=$(dmesg | tail -n +$((boot_lines + 1)) | grep -E "$pat")
	# A mark is a line count: it holds only while no line has left the
	# ring buffer (vm.sh's log_buf_len).
	[ "$(dmesg | head -n 1)" = "$first_line" ] ||
		bad+="${bad:+$'\n'}the kernel log wrapped: lines were lost before they were judged"
	if [ -z "$bad" ]; then
		ktap_test_pass "kernel log since the tests began has no BUG, WARNING, Oops, KASAN, lockdep, hung task or panic report"
	else
		echo "$bad" | head -n 20 | sed 's/^/# /'
		ktap_test_fail "kernel log since the tests began has no BUG, WARNING, Oops, KASAN, lockdep, hung task or panic report"
	fi
	if [ -w $kml ]; then
		# Two scans: kmemleak reports an object only once it has stayed
		# unreferenced across scans.
		echo scan > $kml; sleep 1; echo scan > $kml
		leaks=$(cat $kml)
		if [ -z "$leaks" ]; then
			ktap_test_pass "kmemleak finds no unreferenced object"
		else
			echo "$leaks" | head -n 40 | sed 's/^/# /'
			ktap_test_fail "kmemleak finds no unreferenced object"
		fi
	else
		ktap_test_skip "kmemleak finds no unreferenced object" "no kmemleak in this kernel"
	fi
	(ktap_finished)
} 2>&1 | tee "$out/zz-kernel-log.ktap"
[ "${PIPESTATUS[0]}" = 0 ] || status=1
dmesg > "$out/dmesg-final.log"
exit $status

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
pat='BUG:|WARNING:|Oops|KASAN|possible .*locking|circular locking|hung task|blocked for more than|panicked|kernel BUG|UBSAN|general protection'
dmesg | head -n "$boot_lines" | grep -E "$pat" | sed 's/^/# boot (not judged): /'

if [ $# -gt 0 ]; then tests=("$@"); else tests=(tests/[0-9][0-9]-*.sh); fi
status=0
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	echo "# ==== $name"
	start=$(date +%s)
	timeout 1500 bash "$t" 2>&1 | tee "$out/$name.ktap"
	rc=${PIPESTATUS[0]}
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

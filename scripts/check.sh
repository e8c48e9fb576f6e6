#!/usr/bin/env bash
# The test command: set up (idempotent), build the module, run the host tests,
# then boot the debug kernel and run the KTAP tests in tests/ inside it.
# Prints each phase's wall time and the KTAP totals; exits non-zero on any
# failure.
#
#   scripts/check.sh [tests/NN-name.sh ...]    (default: all)
set -euo pipefail
. "$(dirname "$0")/common.sh"
cd "$RMPAGE_TOP"
t0=$(date +%s)

"$RMPAGE_TOP/scripts/setup.sh" debug

phase module
make -s KDIR="$(rmpage_kdir debug)"
make -s KDIR="$(rmpage_kdir debug)" CLIPPY=1 2>&1 | tee /tmp/rmpage-clippy.log
# rustc and clippy start their lines with the word; objtool puts the object
# first ("src/rmpage.o: warning: objtool: ...").
if grep -qE '^(warning|error)|: (warning|error): objtool' /tmp/rmpage-clippy.log; then
	die "clippy, rustc or objtool warnings (see above)"
fi
make -s fmt-check

phase host-tests
(cd tests/host && cargo test --quiet 2>&1) | tee /tmp/rmpage-host-tests.log

phase vm-tests
results=${RMPAGE_RESULTS:-$RMPAGE_TOP/results/check}
rm -rf "$results"
mkdir -p "$results"
if [ $# -gt 0 ]; then tests=("$@"); else tests=(tests/[0-9][0-9]-*.sh); fi

# The whole suite runs in two VMs side by side (RMPAGE_CHECK_VMS=1 for
# one), each booting its own debug kernel and judging its own kernel log
# and kmemleak (zz-kernel-log). A VM keeps both its vCPUs busy in most
# tests (the loop device's worker beside the test), so two VMs on two
# cores each run at about half speed, and the gain is what the tests that
# keep one vCPU busy leave over (12-fsx, 13-programs): about a tenth. The
# tests go to the VM with less work so far, longest first, by the seconds
# each took in a run of two VMs; a test not listed counts 60.
declare -A seconds=(
	[01-module]=36 [02-mount]=201 [03-read]=389 [04-bio-parity]=140 [05-corrupt]=195
	[06-ioerror]=52 [07-filled-mapping]=27 [08-pitfalls]=117 [09-write]=299
	[10-write-pitfalls]=117 [11-namespace]=399 [12-fsx]=230 [13-programs]=86
	[14-teardown]=137 [15-fuzz]=139 [16-faults]=272
)
vms=${RMPAGE_CHECK_VMS:-2}
[ "${#tests[@]}" -ge "$vms" ] || vms=${#tests[@]}
declare -a group load
for ((v = 0; v < vms; v++)); do group[v]="" load[v]=0; done
while read -r _ t; do
	v=0
	for ((i = 1; i < vms; i++)); do [ "${load[i]}" -lt "${load[v]}" ] && v=$i; done
	name=$(basename "$t" .sh)
	load[v]=$((load[v] + ${seconds[$name]:-60}))
	group[v]+=" $t"
done < <(for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	echo "${seconds[$name]:-60} $t"
done | sort -rn)

set +e
pids=()
for ((v = 0; v < vms; v++)); do
	# Each VM runs its tests in file order.
	mine=$(echo ${group[v]} | tr ' ' '\n' | sort | tr '\n' ' ')
	echo "# vm$((v + 1)): $mine"
	# shellcheck disable=SC2086
	"$RMPAGE_TOP/scripts/vm.sh" -k debug -o "$results/vm$((v + 1))" -- tests/run-in-vm.sh $mine \
		2>&1 | sed -u "s/^/[vm$((v + 1))] /" &
	pids+=($!)
done
vm_rc=0
for pid in "${pids[@]}"; do wait "$pid" || vm_rc=1; done
# sed's status is the pipeline's: the VM's own is its rc file.
for ((v = 1; v <= vms; v++)); do
	[ "$(cat "$results/vm$v/rc" 2>/dev/null)" = 0 ] || vm_rc=1
done
set -e
phase ""

pass=0 fail=0 skip=0
for f in "$results"/vm*/*.ktap; do
	[ -f "$f" ] || continue
	p=$(grep -cE '^ok [0-9]+ ' "$f" || true)
	s=$(grep -cE '^ok [0-9]+ .*# SKIP' "$f" || true)
	n=$(grep -cE '^not ok [0-9]+ ' "$f" || true)
	pass=$((pass + p - s)) skip=$((skip + s)) fail=$((fail + n))
	name=$(basename "$f" .ktap)
	[ "$name" != zz-kernel-log ] || name="$name ($(basename "$(dirname "$f")"))"
	rc=$(cat "${f%.ktap}.rc" 2>/dev/null || echo 0)
	printf '# %-24s pass %3d  fail %3d  skip %3d%s\n' "$name" $((p - s)) "$n" "$s" \
		"$( [ "$rc" = 0 ] || [ "$rc" = 4 ] || echo "  exit $rc")"
done
# The failures last, where the tail of a long log shows them: each "not
# ok" line with the comment lines before it, and any "left running".
for f in "$results"/vm*/*.ktap; do
	[ -f "$f" ] || continue
	grep -qE '^(not ok|# left running|Bail out)' "$f" || continue
	echo "# in $(basename "$(dirname "$f")")/$(basename "$f"):"
	grep -B2 -E '^(not ok|# left running|Bail out)' "$f" | cut -c1-300 | head -n 12 | sed 's/^/#   /'
done
# A VM without an exit status was stopped (vm.sh's timeouts) or died: say
# where, since its own lines may be far above.
for ((v = 1; v <= vms; v++)); do
	[ ! -f "$results/vm$v/rc" ] || continue
	last=$(find "$results/vm$v" -name '[0-9][0-9]-*.ktap' 2>/dev/null | sort | tail -n 1)
	if [ -n "$last" ]; then
		echo "# vm$v did not finish: it stopped in $(basename "$last" .ktap)"
	else
		echo "# vm$v did not finish: it stopped before its first test (console logs in $results/vm$v)"
	fi
done
echo "# results and logs: $results (wall time $(( $(date +%s) - t0 ))s)"
echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:$skip error:0"
echo "$pass passed, $fail failed, $skip skipped"
[ "$vm_rc" = 0 ] && [ "$fail" = 0 ] && [ "$pass" -gt 0 ]

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
set +e
"$RMPAGE_TOP/scripts/vm.sh" -k debug -o "$results" -- tests/run-in-vm.sh "$@"
vm_rc=$?
set -e
phase ""

pass=0 fail=0 skip=0
for f in "$results"/*.ktap; do
	[ -f "$f" ] || continue
	p=$(grep -cE '^ok [0-9]+ ' "$f" || true)
	s=$(grep -cE '^ok [0-9]+ .*# SKIP' "$f" || true)
	n=$(grep -cE '^not ok [0-9]+ ' "$f" || true)
	pass=$((pass + p - s)) skip=$((skip + s)) fail=$((fail + n))
	printf '# %-24s pass %3d  fail %3d  skip %3d\n' "$(basename "$f" .ktap)" $((p - s)) "$n" "$s"
done
echo "# results and logs: $results (wall time $(( $(date +%s) - t0 ))s)"
echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:$skip error:0"
echo "$pass passed, $fail failed, $skip skipped"
[ "$vm_rc" = 0 ] && [ "$fail" = 0 ] && [ "$pass" -gt 0 ]

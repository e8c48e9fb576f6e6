#!/usr/bin/env bash
# The long mode (make soak): set up, build the module, boot the debug kernel
# as scripts/check.sh does, and run the random-operation checker
# (tests/12-fsx.sh) for a million operations on rext2 with the Rust engine,
# in rounds that each end with a remount and a check of every file, then
# the corrupted-image fuzzer (tests/15-fuzz.sh) on 2,000 variants; then
# judge the kernel log of the run (BUG, WARNING, KASAN, lockdep, hung task)
# as tests/run-in-vm.sh does. Longer runs the project adds later go here.
#
#   scripts/soak.sh
#
# The knobs are the tests', with the long mode's defaults:
# RMPAGE_FSX_CONFIGS (rust), RMPAGE_FSX_OPS (1000000), RMPAGE_FSX_ROUNDS
# (20), RMPAGE_FSX_SEED (from the clock; printed, and a failure prints the
# seed and step that replay it); RMPAGE_FUZZ_VARIANTS (2000),
# RMPAGE_FUZZ_SEED (from the clock; printed, and each variant that fails is
# saved under fuzz-repro/ with its seed and index), RMPAGE_FUZZ_CONFIGS
# (ext2 rust c). RMPAGE_SOAK_TESTS ("12-fsx 15-fuzz") picks the phases.
# RMPAGE_RESULTS (results/soak) keeps the KTAP output, the reproducers and
# the guest's kernel log.
set -euo pipefail
. "$(dirname "$0")/common.sh"
cd "$RMPAGE_TOP"
t0=$(date +%s)

"$RMPAGE_TOP/scripts/setup.sh" debug

phase module
make -s KDIR="$(rmpage_kdir debug)"

phase soak
results=${RMPAGE_RESULTS:-$RMPAGE_TOP/results/soak}
rm -rf "$results"
mkdir -p "$results"
export RMPAGE_FSX_CONFIGS=${RMPAGE_FSX_CONFIGS:-rust}
export RMPAGE_FSX_OPS=${RMPAGE_FSX_OPS:-1000000}
export RMPAGE_FSX_ROUNDS=${RMPAGE_FSX_ROUNDS:-20}
export RMPAGE_FSX_SEED=${RMPAGE_FSX_SEED:-$(date +%s)}
export RMPAGE_FUZZ_VARIANTS=${RMPAGE_FUZZ_VARIANTS:-2000}
export RMPAGE_FUZZ_SEED=${RMPAGE_FUZZ_SEED:-$(date +%s)}
tests=${RMPAGE_SOAK_TESTS:-12-fsx 15-fuzz}
# A day at most: a million operations take hours under TCG.
export RMPAGE_VM_TIMEOUT=${RMPAGE_VM_TIMEOUT:-86400}
echo "soak: $tests; fsx: $RMPAGE_FSX_OPS operations on $RMPAGE_FSX_CONFIGS in $RMPAGE_FSX_ROUNDS rounds, first seed $RMPAGE_FSX_SEED; fuzz: $RMPAGE_FUZZ_VARIANTS variants of seed $RMPAGE_FUZZ_SEED"
set +e
# The mark in the kernel log: what comes after it is the soak's. Each
# test's KTAP output goes to $RMPAGE_OUT (the results directory) from the
# guest.
"$RMPAGE_TOP/scripts/vm.sh" -k debug -o "$results" -- \
	bash -c 'echo rmpage-soak-start > /dev/kmsg; rc=0
		for t in $0; do
			bash tests/$t.sh | tee "$RMPAGE_OUT/$t.ktap"
			[ "${PIPESTATUS[0]}" = 0 ] || rc=1
		done
		exit $rc' "$tests"
vm_rc=$?
set -e
phase ""

pat='BUG:|WARNING:|Oops|KASAN|possible .*locking|circular locking|hung task|blocked for more than|panicked|kernel BUG|UBSAN|general protection'
if grep -q rmpage-soak-start "$results/dmesg.log" 2> /dev/null; then
	bad=$(sed -n '/rmpage-soak-start/,$p' "$results/dmesg.log" | grep -E "$pat" || true)
else
	bad="no kernel log from the soak in $results/dmesg.log"
fi
if [ -n "$bad" ]; then
	echo "soak: the kernel log has reports:"
	echo "$bad" | head -n 20
fi
pass=0 fail=0
for t in $tests; do
	p=$(grep -cE '^ok [0-9]+ ' "$results/$t.ktap" 2> /dev/null || true)
	n=$(grep -cE '^not ok [0-9]+ ' "$results/$t.ktap" 2> /dev/null || true)
	echo "soak: $t: pass ${p:-0} fail ${n:-0}"
	pass=$((pass + ${p:-0})) fail=$((fail + ${n:-0}))
done
echo "soak: pass $pass fail $fail, kernel log $([ -z "$bad" ] && echo clean || echo NOT clean), exit $vm_rc; results in $results (wall time $(( $(date +%s) - t0 ))s)"
[ "$vm_rc" = 0 ] && [ "$fail" = 0 ] && [ "$pass" -gt 0 ] && [ -z "$bad" ]

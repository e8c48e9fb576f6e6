#!/usr/bin/env bash
# The long mode (make soak): set up, build the module, boot the debug kernel
# as scripts/check.sh does, and run the random-operation checker
# (tests/12-fsx.sh) for a million operations on rext2 with the Rust engine,
# in rounds that each end with a remount and a check of every file; then
# judge the kernel log of the run (BUG, WARNING, KASAN, lockdep, hung task)
# as tests/run-in-vm.sh does. Longer runs the project adds later go here.
#
#   scripts/soak.sh
#
# The knobs are tests/12-fsx.sh's, with the long mode's defaults:
# RMPAGE_FSX_CONFIGS (rust), RMPAGE_FSX_OPS (1000000), RMPAGE_FSX_ROUNDS
# (20), RMPAGE_FSX_SEED (from the clock; printed, and a failure prints the
# seed and step that replay it). RMPAGE_RESULTS (results/soak) keeps the
# KTAP output and the guest's kernel log.
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
# A day at most: a million operations take hours under TCG.
export RMPAGE_VM_TIMEOUT=${RMPAGE_VM_TIMEOUT:-86400}
echo "soak: $RMPAGE_FSX_OPS operations on $RMPAGE_FSX_CONFIGS in $RMPAGE_FSX_ROUNDS rounds, first seed $RMPAGE_FSX_SEED"
set +e
# The mark in the kernel log: what comes after it is the soak's.
"$RMPAGE_TOP/scripts/vm.sh" -k debug -o "$results" -- \
	bash -c 'echo rmpage-soak-start > /dev/kmsg && bash tests/12-fsx.sh' | tee "$results/12-fsx.ktap"
vm_rc=${PIPESTATUS[0]}
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
pass=$(grep -cE '^ok [0-9]+ ' "$results/12-fsx.ktap" || true)
fail=$(grep -cE '^not ok [0-9]+ ' "$results/12-fsx.ktap" || true)
echo "soak: pass $pass fail $fail, kernel log $([ -z "$bad" ] && echo clean || echo NOT clean), exit $vm_rc; results in $results (wall time $(( $(date +%s) - t0 ))s)"
[ "$vm_rc" = 0 ] && [ "$fail" = 0 ] && [ "$pass" -gt 0 ] && [ -z "$bad" ]

# SPDX-License-Identifier: GPL-2.0
# KTAP output for rmpage's kselftest-style tests, following the kernel's
# tools/testing/selftests/kselftest/ktap_helpers.sh: "TAP version 13", a
# plan, "ok N - ..." / "not ok N - ...", "# Totals:", exit 0/1/4.

KTAP_TESTNO=1
KTAP_CNT_PASS=0
KTAP_CNT_FAIL=0
KTAP_CNT_SKIP=0
KSFT_PASS=0
KSFT_FAIL=1
KSFT_SKIP=4
KSFT_NUM_TESTS=0

ktap_print_header() { echo "TAP version 13"; }
ktap_print_msg() { echo "# $*"; }
ktap_set_plan() { KSFT_NUM_TESTS=$1; echo "1..$1"; }

ktap_test_pass() {
	echo "ok $KTAP_TESTNO - $1"
	KTAP_TESTNO=$((KTAP_TESTNO + 1)) KTAP_CNT_PASS=$((KTAP_CNT_PASS + 1))
}

ktap_test_fail() {
	echo "not ok $KTAP_TESTNO - $1"
	KTAP_TESTNO=$((KTAP_TESTNO + 1)) KTAP_CNT_FAIL=$((KTAP_CNT_FAIL + 1))
}

ktap_test_skip() {
	echo "ok $KTAP_TESTNO - $1 # SKIP ${2:-}"
	KTAP_TESTNO=$((KTAP_TESTNO + 1)) KTAP_CNT_SKIP=$((KTAP_CNT_SKIP + 1))
}

# ktap_check DESCRIPTION COMMAND...: one test, passing if COMMAND succeeds.
# One command only: in "ktap_check DESC [ a ] && [ b ]" the shell runs
# [ b ] after the test has passed or failed on [ a ] alone. A condition of
# several parts goes to ktap_check_all.
ktap_check() {
	local desc=$1
	shift
	if "$@"; then ktap_test_pass "$desc"; else ktap_test_fail "$desc"; fi
}

# ktap_check_all DESCRIPTION CONDITION: one test, passing if CONDITION (a
# string of shell, "[ a ] && [ b ]", evaluated here) holds.
ktap_check_all() {
	if eval "$2"; then ktap_test_pass "$1"; else ktap_test_fail "$1"; fi
}

ktap_print_totals() {
	echo "# Totals: pass:$KTAP_CNT_PASS fail:$KTAP_CNT_FAIL xfail:0 xpass:0 skip:$KTAP_CNT_SKIP error:0"
}

ktap_exit_fail_msg() {
	echo "Bail out! $*"
	ktap_print_totals
	exit $KSFT_FAIL
}

ktap_finished() {
	ktap_print_totals
	local ran=$((KTAP_TESTNO - 1))
	if [ "$ran" -ne "$KSFT_NUM_TESTS" ]; then
		echo "# planned $KSFT_NUM_TESTS tests, ran $ran"
		exit $KSFT_FAIL
	fi
	[ $KTAP_CNT_FAIL -eq 0 ] || exit $KSFT_FAIL
	[ $KTAP_CNT_PASS -gt 0 ] || exit $KSFT_SKIP
	exit $KSFT_PASS
}

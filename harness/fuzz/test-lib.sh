# test-lib.sh - what the fuzz scripts' tests (test-run.sh, test-bench.sh) share. Source it from a POSIX sh
# script whose pass and fail counters start at 0.
#
#   result STATUS PASS-TEXT FAIL-TEXT [FILE [SHOW]]
#       Counts one check: STATUS 0 prints "PASS PASS-TEXT", any other "FAIL FAIL-TEXT" and then FILE,
#       indented, through SHOW (default: $RESULT_SHOW, or its last 20 lines).
result() {
	if [ "$1" -eq 0 ]; then
		echo "PASS $2"
		pass=$((pass + 1))
	else
		echo "FAIL $3"
		# shellcheck disable=SC2086
		[ -z "${4:-}" ] || sed 's/^/    | /' "$4" 2>/dev/null | ${5:-${RESULT_SHOW:-tail -20}}
		fail=$((fail + 1))
	fi
}

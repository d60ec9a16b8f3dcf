# test-lib.sh - shell functions the conform test scripts share. Source it from a POSIX sh script:
#   . "$(dirname "$0")/test-lib.sh"
#
#   test_usage NARGS ARGS-TEXT "$@"
#       With --help, prints "usage: SCRIPT ARGS-TEXT" and exits 0; with other than NARGS arguments
#       prints it and exits 2.
#   test_result STATUS PASS-TEXT FAIL-TEXT [FILE...]
#       Counts one check in $pass or $fail: STATUS 0 prints "PASS PASS-TEXT", any other "FAIL FAIL-TEXT"
#       and then each FILE with its lines indented by "    | ".
#   test_dir NAME
#       Makes a scratch directory /tmp/NAME.XXXXXX, sets $d to it and removes it on exit.
#   test_summary
#       Prints the final line "N passed, N failed"; returns 0 when nothing failed, else 1.

pass=0
fail=0

test_usage() {
	_tu_count=$1 _tu_text=$2
	shift 2
	if [ "${1:-}" = "--help" ] || [ $# -ne "$_tu_count" ]; then
		echo "usage: $0 $_tu_text"
		[ "${1:-}" = "--help" ] && exit 0
		exit 2
	fi
}

test_result() {
	_tr_status=$1 _tr_pass=$2 _tr_fail=$3
	shift 3
	if [ "$_tr_status" -eq 0 ]; then
		echo "PASS $_tr_pass"
		pass=$((pass + 1))
	else
		echo "FAIL $_tr_fail"
		[ $# -eq 0 ] || sed 's/^/    | /' "$@"
		fail=$((fail + 1))
	fi
}

test_dir() {
	d=$(mktemp -d "/tmp/$1.XXXXXX") || exit 2
	trap 'rm -rf "$d"' EXIT
}

test_summary() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}

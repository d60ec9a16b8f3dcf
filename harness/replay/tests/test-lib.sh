# test-lib.sh - what replay's test scripts (run-tests.sh, test-verdicts.sh) share: a scratch directory, the
# server helpers of ci/lib.sh, and the counting checks. Source it after setting ROOT:
#   . "$HERE/test-lib.sh"
#
#   pass / fail TEXT          count a check (fail prints "FAIL: TEXT" on stderr)
#   expect_rc WANT NAME CMD...   runs CMD (stdout to $TMP/out, stderr to $TMP/err, 60 s bound) and
#                             checks its exit status
#   expect_in FILE PATTERN NAME  FILE has a line matching the grep pattern
TMP=$(mktemp -d)
FAILS=0
PASSES=0
SERVER_LOGDIR=$TMP
. "$ROOT/ci/lib.sh"
trap 'server_stop_all; rm -rf "$TMP"' EXIT INT TERM

pass() { PASSES=$((PASSES + 1)); }
fail() { FAILS=$((FAILS + 1)); echo "FAIL: $*" >&2; }

expect_rc() {
	want=$1; name=$2; shift 2
	timeout 60 "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	if [ "$rc" -eq "$want" ]; then pass; else fail "$name: exit $rc, expected $want"; sed 's/^/    /' "$TMP/err" "$TMP/out" | head -20 >&2; fi
}

expect_in() {
	if grep -q -- "$2" "$1"; then pass; else fail "$3: no line matching '$2' in $(basename "$1")"; sed 's/^/    /' "$1" | head -20 >&2; fi
}

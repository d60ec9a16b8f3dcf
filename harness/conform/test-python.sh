#!/bin/sh
# test-python.sh - the conformance gate on the Python tutorial servers (servers/python/): the faithful ones
# and the decoding port fail exactly their expected-failure lists (ci/expected-failures/), the corrected one passes every case
# (--strict), and the gate itself fails when a list does not match. Final line "N passed, N failed".
# Usage: harness/conform/test-python.sh CONFORM
set -u
. "$(dirname "$0")/test-lib.sh"
test_usage 1 "CONFORM   (the conform binary, e.g. build/std/bin/conform)" "$@"
export CONFORM=$1
cd "$(dirname "$0")/../.." || exit 2
command -v python3 >/dev/null || { echo "test-python: python3 is not installed"; echo "0 passed, 1 failed"; exit 1; }
gate=ci/conformance-gate.sh
ef=ci/expected-failures
py=servers/python
log=$(mktemp /tmp/conform-python.XXXXXX) || exit 2
trap 'rm -f "$log"' EXIT
t0=$(date +%s)

# expect NAME WANT-EXIT gate-args...
expect() {
	name=$1 want=$2
	shift 2
	s=$(date +%s)
	"$gate" "$@" >"$log" 2>&1
	rc=$?
	test_result $((rc != want)) "$name: gate exit $rc as expected ($(($(date +%s) - s)) s): $(tail -1 "$log")" \
		"$name: gate exit $rc, expected $want"
	[ "$rc" = "$want" ] || sed 's/^/    | /' "$log" | grep -v '^    | PASS'
}

# conform's default timeout and retry: the cases the faithful servers must PASS must not flake under load
expect "faithful socketserver (TCP+UDP)" 0 --expect-failures "$ef/python-tutorial-socketserver.txt" \
	"python3 $py/tutorial_socketserver.py 0"
expect "faithful plain UDP server" 0 --expect-failures "$ef/python-tutorial-udp-plain.txt" \
	--exec-udp "python3 $py/tutorial_udp_plain.py {port}"
expect "corrected (TCP+UDP, IPv4+IPv6)" 0 "python3 $py/corrected.py 0" -- --strict
expect "decoding port (decode, str.upper(), encode)" 0 \
	--expect-failures "$ef/python-decoding-upper.txt" "python3 $py/decoding_upper.py 0"
expect "gate catches a stale list (corrected vs the faithful list)" 1 \
	--expect-failures "$ef/python-tutorial-socketserver.txt" "python3 $py/corrected.py 0" -- --only 'tcp/transform/*'
echo "python gate: $(($(date +%s) - t0)) s"
test_summary

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
dir=$(mktemp -d /tmp/conform-python.XXXXXX) || exit 2
trap 'rm -rf "$dir"' EXIT
t0=$(date +%s)

# gate KEY gate-args...: runs the gate, its output in $dir/KEY.log and "EXIT SECONDS" in $dir/KEY.rc
gate() {
	key=$1
	shift
	s=$(date +%s)
	"$gate" "$@" >"$dir/$key.log" 2>&1
	echo "$? $(($(date +%s) - s))" >"$dir/$key.rc"
}

# expect KEY NAME WANT-EXIT: counts the gate run KEY, which had to exit WANT-EXIT
expect() {
	key=$1 name=$2 want=$3
	read -r rc secs <"$dir/$key.rc"
	test_result $((rc != want)) "$name: gate exit $rc as expected ($secs s): $(tail -1 "$dir/$key.log")" \
		"$name: gate exit $rc, expected $want"
	[ "$rc" = "$want" ] || sed 's/^/    | /' "$dir/$key.log" | grep -v '^    | PASS'
}

# Two streams of gate runs side by side (about 40 s each, where one after another took 86 s); the
# servers run conform's default timeout and retry, so the cases the faithful servers must PASS must not
# flake under load.
{
	gate socketserver --expect-failures "$ef/python-tutorial-socketserver.txt" \
		"python3 $py/tutorial_socketserver.py 0"
	gate udp-plain --expect-failures "$ef/python-tutorial-udp-plain.txt" \
		--exec-udp "python3 $py/tutorial_udp_plain.py {port}"
	gate stale --expect-failures "$ef/python-tutorial-socketserver.txt" "python3 $py/corrected.py 0" \
		-- --only 'tcp/transform/*'
} &
gate corrected "python3 $py/corrected.py 0" -- --strict
gate decoding --expect-failures "$ef/python-decoding-upper.txt" "python3 $py/decoding_upper.py 0"
wait
expect socketserver "faithful socketserver (TCP+UDP)" 0
expect udp-plain "faithful plain UDP server" 0
expect corrected "corrected (TCP+UDP, IPv4+IPv6)" 0
expect decoding "decoding port (decode, str.upper(), encode)" 0
expect stale "gate catches a stale list (corrected vs the faithful list)" 1
echo "python gate: $(($(date +%s) - t0)) s"
test_summary

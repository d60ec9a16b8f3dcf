#!/bin/sh
# test-random.sh - conform's random phase alone (--only 'random/*'): it passes the reference servers,
# the bug-free mutant and the correct Python servers (no false positive), and it fails
# the mutants whose bugs only pipelining, resets while output is owed and stalled readers show:
# lost-wakeup (a connection whose write blocked is forgotten once another is served: T7), which every
# fixed case passes, and reset-harms-neighbor (a write error resets another connection: T6). A
# failure leaves fuzz inputs that replay turns into pcaps. Prints one line per check and a final
# "N passed, N failed".
# Usage: harness/conform/test-random.sh BINDIR MUTANTDIR
set -u
. "$(dirname "$0")/test-lib.sh"
test_usage 2 "BINDIR MUTANTDIR   (BINDIR holds conform, replay, tcp-upper, udp-upper; MUTANTDIR the mutants)" "$@"
B=$1 M=$2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp -d /tmp/conform-random.XXXXXX) || exit 2
trap 'rm -rf "$out"' EXIT

# passes NAME conform-args...: the random phase passes every sequence
passes() {
	name=$1
	shift
	timeout 120 "$B/conform" --only 'random/*' --random 20 --seed 1 --seeds-dir "$out/$name" "$@" \
		>"$out/$name.txt" 2>&1
	rc=$?
	test_result $rc "random phase passes $name: $(tail -1 "$out/$name.txt")" \
		"random phase vs $name: exit $rc (expected 0)" "$out/$name.txt"
}

# fails NAME RULE conform-args...: some sequence fails with RULE, its fuzz inputs turn into pcaps
fails() {
	name=$1 rule=$2
	shift 2
	timeout 300 "$B/conform" --only 'random/*' --timeout 500ms --seeds-dir "$out/$name" "$@" \
		>"$out/$name.txt" 2>&1
	rc=$?
	first=$(grep -m1 "^FAIL  random/seed-[0-9]* *$rule " "$out/$name.txt" | awk '{print $2 " (" $3 ")"}')
	ok=1
	if [ $rc -eq 1 ] && [ -n "$first" ] && grep -q 'replay --from-fuzz-input' "$out/$name.txt"; then
		ok=0
		for f in "$out/$name"/random_seed-*.tcp-*; do
			[ -e "$f" ] || continue
			"$B/replay" --from-fuzz-input "$f" --fuzz-format tcp --write-pcap "$f.pcap" \
				>>"$out/$name.replay" 2>&1 || ok=1
		done
	fi
	test_result $ok "random phase fails $name: $first, its fuzz inputs become pcaps" \
		"random phase vs $name: exit $rc, no $rule failure with fuzz inputs replay can read" \
		"$out/$name.txt"
}

passes reference --exec-tcp "$B/tcp-upper -l 127.0.0.1:0" --exec-udp "$B/udp-upper -l 127.0.0.1:0"
passes none --exec "$M/none"
if command -v python3 >/dev/null; then
	# Python's threads on a loaded host: a longer bound on each wait (a bound, not a pace)
	for py in corrected thread_per_connection; do
		passes "python-$py" --timeout 5s --exec "python3 $ROOT/servers/python/$py.py {port}"
	done
fi
fails lost-wakeup T7 --random 6 --seed 6 --exec "$M/lost-wakeup"
fails reset-harms-neighbor 'T[1467]' --random 20 --seed 1 --exec "$M/reset-harms-neighbor"
test_summary

#!/bin/sh
# test-random.sh - conform's random phase alone (--only 'random/*'): it passes the reference servers
# (--random 1000) and the correct Python server (servers/python/corrected.py) beside a CPU-heavy job (a
# busy loop, bounded in time), and the bug-free mutant and the other correct Python server (no false
# positive); it fails the mutants whose bugs only pipelining, resets while output is owed and stalled
# readers show: lost-wakeup (a connection whose write blocked is forgotten once another is served: T7),
# which every fixed case passes, and reset-harms-neighbor (a write error resets another connection: T6).
# A failure leaves fuzz inputs that replay turns into pcaps. Datagrams the kernel dropped at a server's
# socket (small-rcvbuf: the smallest receive buffer) are the SHOULD finding udp/buffer/drops, not a U1
# failure, in the fixed burst case and the random bursts alike; a server that loses datagrams itself
# (drop-empty) still fails U1. Prints one line per check and a final "N passed, N failed".
# Usage: harness/conform/test-random.sh BINDIR MUTANTDIR
#   CONFORM_RANDOM_REF (1000) and CONFORM_RANDOM_PEER (200) are the sequences run against the reference
#   and against corrected.py beside the busy loop.
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

# beside NAME CONFORM-ARGS...: in the background, the random phase passes NAME while the busy loop runs
beside() {
	name=$1
	shift
	(timeout 400 "$B/conform" --only 'random/*' --seed 1 --seeds-dir "$out/$name" "$@" >"$out/$name.txt" 2>&1
	echo $? >"$out/$name.rc") &
}

# the CPU-heavy job: a busy loop, bounded in time, stopped (by its pid) once the runs beside it end
timeout 400 sh -c 'while :; do :; done' &
busy=$!
t0=$(date +%s)
beside reference --random "${CONFORM_RANDOM_REF:-1000}" --exec-tcp "$B/tcp-upper -l 127.0.0.1:0" \
	--exec-udp "$B/udp-upper -l 127.0.0.1:0"
if command -v python3 >/dev/null; then
	# Python's threads on a loaded host: a longer bound on each wait (a bound, not a pace)
	beside python-corrected --random "${CONFORM_RANDOM_PEER:-200}" --timeout 5s \
		--exec "python3 $ROOT/servers/python/corrected.py {port}"
fi

passes none --exec "$M/none"
if command -v python3 >/dev/null; then
	passes python-thread_per_connection --timeout 5s --exec "python3 $ROOT/servers/python/thread_per_connection.py {port}"
fi
fails lost-wakeup T7 --random 6 --seed 6 --exec "$M/lost-wakeup"
fails reset-harms-neighbor 'T[1467]' --random 20 --seed 1 --exec "$M/reset-harms-neighbor"

# the kernel's drops at a small receive buffer: the SHOULD finding, in the fixed burst and random bursts
# (UDP alone: the sequences are bursts only, so that a TCP timeout on a loaded host cannot blur it)
timeout 120 "$B/conform" --only 'udp/boundary/burst' --only 'random/*' --random 10 --seed 1 \
	--seeds-dir "$out/small-rcvbuf" --exec-udp "$M/small-rcvbuf" >"$out/small-rcvbuf.txt" 2>&1
rc=$?
ok=1
if [ $rc -eq 0 ] && grep -q '^PASS  udp/boundary/burst' "$out/small-rcvbuf.txt" &&
	grep -q "^FAIL  udp/buffer/drops .*SHOULD" "$out/small-rcvbuf.txt" &&
	grep -q "kernel dropped [0-9]* datagrams at the server's socket (receive buffer full).*udp/boundary/burst.*random/seed-" \
		"$out/small-rcvbuf.txt" && ! grep -q '^FAIL  random/' "$out/small-rcvbuf.txt"; then
	ok=0
fi
test_result $ok "small-rcvbuf: the kernel's drops are the SHOULD finding udp/buffer/drops (exit 0), in the burst case and random bursts" \
	"small-rcvbuf: exit $rc, no udp/buffer/drops finding naming udp/boundary/burst and random sequences, or a MUST failure" \
	"$out/small-rcvbuf.txt"
# a server that loses datagrams itself: U1, and the kernel's counter is named
fails drop-empty U1 --random 3 --seed 1 --exec-udp "$M/drop-empty"
if ! grep -q "the kernel dropped none at the server's socket nor in the host's backlog: the server lost them" "$out/drop-empty.txt"; then
	test_result 1 "" "drop-empty: the U1 failure does not say the kernel dropped none" "$out/drop-empty.txt"
fi

# waits for a run beside the busy loop (each is bounded by its timeout 400)
wait_beside() {
	while [ ! -e "$out/$1.rc" ]; do sleep 1; done
}
for name in reference python-corrected; do
	[ -e "$out/$name.txt" ] || continue
	wait_beside "$name"
	rc=$(cat "$out/$name.rc")
	test_result "$rc" "beside a busy loop, the random phase passes $name: $(tail -1 "$out/$name.txt")" \
		"beside a busy loop, random phase vs $name: exit $rc (expected 0)" "$out/$name.txt"
done
kill "$busy" 2>/dev/null
echo "random phase beside the busy loop: $(($(date +%s) - t0)) s"
test_summary

#!/bin/sh
# test-gate.sh - conform as a gate against servers that are up but wrong, or dead: readiness judged by the
# transport (a server whose start-up line conform cannot read, that never answers, resets everything or
# hangs, fails its cases with exit 1; one that never listens is exit 2), the dead-target exit (a server
# that answers nothing ends within 20 s, the rest "not reached" in every report; --patient runs all),
# --repeat's failure counts, and the summary's words (MUST and SHOULD failures, one exec/stop/sigterm
# for two servers, resource figures per sender for UDP). One line per check, final "N passed, N failed".
# Usage: harness/conform/test-gate.sh BINDIR MUTANTDIR
set -u
. "$(dirname "$0")/test-lib.sh"
test_usage 2 "BINDIR MUTANTDIR   (BINDIR holds conform, tcp-upper, udp-upper; MUTANTDIR the mutants)" "$@"
B=$1 M=$2 C=$1/conform
test_dir conform-gate
ok() { test_result 0 "$1" ""; }
ko() { test_result 1 "" "$@"; }
TCP="$B/tcp-upper -l 127.0.0.1:0"
UDP="$B/udp-upper -l 127.0.0.1:0"

# run NAME conform-args...: output in $d/NAME.out (stdout and stderr), exit status in $rc, seconds in $secs
run() {
	_out=$d/$1.out
	shift
	s=$(date +%s)
	timeout 60 "$C" "$@" >"$_out" 2>&1
	rc=$?
	secs=$(($(date +%s) - s))
	[ -z "${GATE_TIMES:-}" ] || echo "  ${secs}s: conform $*"
}

# json FILE EXPRESSION: python3's verdict on the JSON report r (exit 0 when EXPRESSION holds)
json() {
	python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
by = {c["id"]: c for c in r["cases"]}
sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2"
}

# 1. Readiness by the transport: the start-up line in other words, with {port}.
FIRST="--only tcp/transform/all-bytes --only udp/transform/all-bytes --timeout 300ms --retries 0"
for kind in "silent:$M/silent" "hang:$M/none --hang" "reset-all:$M/reset-all"; do
	name=${kind%%:*}
	# shellcheck disable=SC2086
	run "ready-$name" $FIRST --exec "${kind#*:} -l 127.0.0.1:{port} --own-words"
	if [ $rc -eq 1 ] && ! grep -q "did not start" "$d/ready-$name.out" && grep -q '^FAIL  tcp/transform/all-bytes' "$d/ready-$name.out"; then
		ok "$name server, start-up line in its own words: up, its cases fail (exit 1 in ${secs}s)"
	else
		ko "$name server with its own start-up words: exit $rc (want 1, a failed case, not a set-up error)" "$d/ready-$name.out"
	fi
done
# shellcheck disable=SC2086
run ready-none $FIRST --exec "$M/none -l 127.0.0.1:{port} --own-words"
[ $rc -eq 0 ] && ok "a correct server in its own words passes" || ko "correct server in its own words: exit $rc" "$d/ready-none.out"
for t in tcp udp; do
	run "never-$t" --start-timeout 1s "--exec-$t" 'sleep 30; : {port}'
	if [ $rc -eq 2 ] && [ $secs -le 4 ] && grep -q "did not start listening.*nothing listening on {port}" "$d/never-$t.out"; then
		ok "nothing listening on {port} ($t refused): exit 2, did not start"
	else
		ko "never listening on $t: exit $rc in ${secs}s (want 2 within 4 s)" "$d/never-$t.out"
	fi
done

# 2. The dead-target exit: a server that answers nothing, default timeouts.
run dead --exec "$M/silent" --json "$d/dead.json" --junit "$d/dead.xml" --tap
if [ $rc -eq 1 ] && [ $secs -le 20 ] && grep -q "the remaining tcp cases are not reached" "$d/dead.out" &&
	grep -q '^FAIL  tcp/transform/all-bytes' "$d/dead.out" && grep -q ' not reached, ' "$d/dead.out"; then
	ok "silent server: exit 1 in ${secs}s, first failures shown, the rest not reached"
else
	ko "silent server: exit $rc in ${secs}s (want 1 within 20 s, 'not reached')" "$d/dead.out"
fi
if json "$d/dead.json" 'r["not_reached"] >= 30 and r["failed"] == 4 and by["tcp/framing/interactive"]["status"] == "not_reached" and by["udp/size/1"]["message"].startswith("not reached")'; then
	ok "JSON: 4 failures (3 tcp, 1 udp), the other cases status not_reached with the reason"
else
	ko "JSON of the silent run does not report the not reached cases" "$d/dead.out"
fi
nr=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["not_reached"])' "$d/dead.json" 2>/dev/null)
if [ "$(xmllint --xpath 'count(//testcase/skipped[starts-with(@message, "not reached")])' "$d/dead.xml" 2>/dev/null)" = "$nr" ] &&
	[ "$(grep -c '# SKIP not reached' "$d/dead.out")" = "$nr" ]; then
	ok "JUnit and TAP: the $nr not reached cases skipped with the reason"
else
	ko "JUnit/TAP do not mark $nr cases not reached" "$d/dead.out"
fi
run patient --patient --only 'tcp/transform/*' --timeout 200ms --retries 0 --exec "$M/silent" --json "$d/patient.json"
run impatient --only 'tcp/transform/*' --timeout 200ms --retries 0 --exec "$M/silent" --json "$d/impatient.json"
if json "$d/patient.json" 'r["failed"] == 4 and r["not_reached"] == 0' &&
	json "$d/impatient.json" 'r["failed"] == 3 and r["not_reached"] == 1'; then
	ok "--patient runs every case (4 failed), without it the fourth is not reached"
else
	ko "--patient: every case should run" "$d/patient.out" "$d/impatient.out"
fi

# 3. --repeat: the failure count per case, over the rounds.
run repeat-ref --repeat 3 --only 'udp/size/*' --exec-udp "$UDP" --json "$d/repeat-ref.json"
if [ $rc -eq 0 ] && grep -q '^  *0/3  *udp/size/0$' "$d/repeat-ref.out" && [ "$(grep -c '^conform: round ' "$d/repeat-ref.out")" = 3 ] &&
	json "$d/repeat-ref.json" 'all(c["rounds"] == 3 and c["failures"] == 0 for c in r["cases"] if c["id"].startswith("udp/"))'; then
	ok "--repeat 3 on the reference: 3 rounds, 0/3 per case, exit 0"
else
	ko "--repeat 3 on the reference: exit $rc" "$d/repeat-ref.out"
fi
run repeat-bug --repeat 2 --only 'udp/size/*' --timeout 300ms --retries 0 --exec "$M/drop-empty" --json "$d/repeat-bug.json"
if [ $rc -eq 1 ] && grep -q '^  *2/2  *udp/size/0' "$d/repeat-bug.out" &&
	json "$d/repeat-bug.json" 'by["udp/size/0"]["failures"] == 2 and by["udp/size/0"]["status"] == "fail" and by["udp/size/1"]["failures"] == 0'; then
	ok "--repeat 2 on drop-empty: udp/size/0 failed 2 of 2, exit 1"
else
	ko "--repeat 2 on drop-empty: exit $rc" "$d/repeat-bug.out"
fi

# a server that answers the first empty datagram only: udp/size/0 passes in round 1, fails in round 2
cat >"$d/flaky.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
empty = 0
while True:
    data, peer = s.recvfrom(65536)
    empty += not data
    if data or empty == 1:
        s.sendto(data.upper(), peer)
PY
run repeat-flaky --repeat 2 --only udp/size/0 --timeout 300ms --retries 0 --exec-udp "python3 $d/flaky.py {port}" --json "$d/repeat-flaky.json"
if [ $rc -eq 1 ] && grep -q '^  *1/2  *udp/size/0  (flaky)' "$d/repeat-flaky.out" &&
	json "$d/repeat-flaky.json" 'by["udp/size/0"]["failures"] == 1 and by["udp/size/0"]["rounds"] == 2 and by["udp/size/0"]["status"] == "fail"'; then
	ok "--repeat 2 on a server that fails the second time: udp/size/0 1/2 (flaky), reported failed, exit 1"
else
	ko "--repeat 2 on a flaky server: exit $rc" "$d/repeat-flaky.out"
fi

# 4. The summary's words, one stop case for two servers, resource lines.
run words --exec-tcp "$TCP" --exec-udp "$UDP" --only tcp/ipv6/transform --only udp/size/1 --only exec/stop/sigterm \
	--only udp/resources/senders --junit "$d/words.xml"
if [ $rc -eq 0 ] && grep -q '0 MUST failures, 0 SHOULD failures (not counted without --strict)' "$d/words.out"; then
	ok "summary names MUST and SHOULD failures and what counts"
else
	ko "summary wording" "$d/words.out"
fi
if [ "$(grep -c '^PASS  exec/stop/sigterm' "$d/words.out")" = 1 ] &&
	[ "$(xmllint --xpath 'count(//testcase[@name="exec/stop/sigterm"])' "$d/words.xml" 2>/dev/null)" = 1 ]; then
	ok "--exec-tcp and --exec-udp: exec/stop/sigterm once in the summary and the JUnit"
else
	ko "exec/stop/sigterm is not reported once" "$d/words.out"
fi
if grep -q 'udp/resources/senders: [0-9][0-9.]* bytes and [0-9][0-9.]* descriptors per sender kept' "$d/words.out"; then
	ok "UDP resource figures: per sender, not negative"
else
	ko "UDP resource line" "$d/words.out"
fi
run strict --strict --exec-tcp "$TCP" --only tcp/ipv6/transform
grep -q 'SHOULD failures (counted: --strict)' "$d/strict.out" && ok "--strict: SHOULD failures said to count" ||
	ko "--strict summary" "$d/strict.out"
test_summary

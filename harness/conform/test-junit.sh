#!/bin/sh
# test-junit.sh - conform's reports and pcaps are usable by other tools: run against a mutant that fails
# (tests/mutants latin1), the JUnit XML validates with xmllint and holds one testcase per case and a
# failure per failing case, the JSON parses, the TAP plan matches, and each failing case's pcap reads with
# tcpdump -r and replays with bin/replay (its note says expect=upper, so the reference servers pass it; with
# --expect recorded the recorded answer is the mutant's, and the reference must mismatch). Final "N passed, N failed".
# Usage: harness/conform/test-junit.sh BINDIR MUTANTDIR
set -u
. "$(dirname "$0")/test-lib.sh"
test_usage 2 "BINDIR MUTANTDIR   (BINDIR holds conform and replay; MUTANTDIR the latin1 mutant)" "$@"
B=$1 M=$2
test_dir conform-junit
ok() { test_result 0 "$1" ""; }
ko() { test_result 1 "" "$@"; }

"$B/conform" --timeout 1s --retries 0 --exec "$M/latin1" --junit "$d/r.xml" --json "$d/r.json" --tap \
	--pcap-dir "$d/pcap" >"$d/tap.txt" 2>"$d/human.txt"
rc=$?
[ $rc -eq 1 ] && ok "conform exits 1 on a failing server" || ko "conform exit $rc on the latin1 mutant, expected 1"

if xmllint --noout "$d/r.xml" 2>"$d/xmllint.txt"; then ok "JUnit XML validates with xmllint"; else ko "xmllint: $(cat "$d/xmllint.txt")"; fi
ncases=$(grep -c '^\(PASS\|FAIL\|SKIP\)  ' "$d/human.txt")
nfail=$(grep -c '^FAIL  ' "$d/human.txt")
x_cases=$(xmllint --xpath 'count(//testcase)' "$d/r.xml" 2>/dev/null)
x_fail=$(xmllint --xpath 'count(//testcase/failure)' "$d/r.xml" 2>/dev/null)
x_attr=$(xmllint --xpath 'string(/testsuites/@failures)' "$d/r.xml" 2>/dev/null)
if [ "$x_cases" = "$ncases" ] && [ "$x_fail" = "$nfail" ] && [ "$x_attr" = "$nfail" ] && [ "$nfail" -gt 0 ]; then
	ok "JUnit has $x_cases testcases and $x_fail failures, as the summary"
else
	ko "JUnit testcases $x_cases/failures $x_fail (attribute $x_attr), summary $ncases/$nfail"
fi
if python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if len(r["cases"]) == int(sys.argv[2]) and r["failed"] == int(sys.argv[3]) else 1)' "$d/r.json" "$ncases" "$nfail"; then
	ok "JSON parses and counts the same"
else
	ko "JSON report does not parse or disagrees with the summary"
fi
if grep -q "^1\.\.$ncases\$" "$d/tap.txt" && [ "$(grep -c '^not ok ' "$d/tap.txt")" = "$nfail" ]; then
	ok "TAP plan 1..$ncases with $nfail 'not ok'"
else
	ko "TAP output does not match the summary"
fi

p="$d/pcap/tcp_transform_all-bytes.pcap"
if [ -s "$p" ] && tcpdump -nr "$p" 2>/dev/null | grep -q 'Flags \[S\]'; then ok "pcap of a failing case reads with tcpdump -r"; else ko "no readable pcap $p"; fi
"$B/replay" -q --expect recorded "$p" "$d/pcap/udp_transform_all-bytes.pcap" >"$d/replay1.txt" 2>&1
r1=$?
"$B/replay" -q "$p" "$d/pcap/udp_transform_all-bytes.pcap" >"$d/replay2.txt" 2>&1
r2=$?
if [ $r1 -eq 1 ] && [ $r2 -eq 0 ]; then
	ok "replay --expect recorded reproduces the recorded mismatch (exit 1); by the pcap's note the reference passes (exit 0)"
else
	ko "replay exits $r1 (want 1) and $r2 (want 0)" "$d/replay1.txt" "$d/replay2.txt"
fi
test_summary

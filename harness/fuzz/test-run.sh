#!/bin/sh
# test-run.sh - make fuzz's scheduler (fuzz-run, harness/fuzz/scheduler.c) on bad input, with stand-in
# engines (shell scripts, so no fuzzer build is needed): bad --time values and an unwritable --out are
# exit 2 at once; an engine that never starts is exit 2 and the summary does not say "Crashes: none"; a
# working engine is exit 0 with "Crashes: none"; an engine that finds a crash is exit 1 with the crash in
# the summary and a command that reproduces it; SIGINT mid-run still prints the summary;
# ci/planted-bug.sh's bad arguments are exit 2 before any build. One line per case, final
# "N passed, N failed". Usage: harness/fuzz/test-run.sh FUZZ-RUN (from anywhere; make fuzz-run-test)
set -u
if [ "${1:-}" = "--help" ] || [ $# -ne 1 ]; then
	echo "usage: $0 FUZZ-RUN   (tests the fuzz-run program, e.g. build/std/bin/fuzz-run, with stand-in engines)"
	[ "${1:-}" = "--help" ] && exit 0
	exit 2
fi
case "$1" in /*) R=$1 ;; *) R=$PWD/$1 ;; esac
if [ ! -x "$R" ]; then
	echo "$0: $1: not an executable (make fuzz-run-test builds it)" >&2
	exit 2
fi
cd "$(dirname "$0")/../.." || exit 2
d=$(mktemp -d /tmp/fuzz-run-test.XXXXXX) || exit 2
trap 'rm -rf "$d"' EXIT
pass=0 fail=0
mkdir -p "$d/bad" "$d/good" "$d/crash"
printf '#!/bin/sh\necho "ERROR: stand-in engine: cannot start" >&2\nexit 1\n' >"$d/bad/fuzz_udp"
printf '#!/bin/sh\nprintf "#2\\tINITED cov: 5 ft: 5 corp: 1/1b exec/s: 0 rss: 1Mb\\n#900\\tDONE   cov: 7 ft: 9 corp: 2/2b lim: 4 exec/s: 900 rss: 1Mb\\n"\nsleep 1\n' >"$d/good/fuzz_udp"
# finds a crash and writes it where -artifact_prefix says; run on that file, reports it again
cat >"$d/crash/fuzz_udp" <<'EOF'
#!/bin/sh
for a in "$@"; do case $a in -artifact_prefix=*) p=${a#-artifact_prefix=} ;; esac; done
echo "==7==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x602 at pc 0x55" >&2
if [ -n "${p:-}" ]; then
	printf '#2\tINITED cov: 5 ft: 5 corp: 1/1b exec/s: 0 rss: 1Mb\n'
	printf x >"${p}crash-0123"
fi
exit 1
EOF
chmod +x "$d/bad/fuzz_udp" "$d/good/fuzz_udp" "$d/crash/fuzz_udp"
touch "$d/file"

# result STATUS PASS-TEXT FAIL-TEXT [FILE [SHOW]]: counts one check; STATUS 0 prints "PASS PASS-TEXT",
# any other "FAIL FAIL-TEXT" and then FILE, indented, through SHOW (default: its last 20 lines)
result() {
	if [ "$1" -eq 0 ]; then
		echo "PASS $2"
		pass=$((pass + 1))
	else
		echo "FAIL $3"
		# shellcheck disable=SC2086
		[ -z "${4:-}" ] || sed 's/^/    | /' "$4" 2>/dev/null | ${5:-tail -20}
		fail=$((fail + 1))
	fi
}

# case NAME WANT-EXIT MAX-SECONDS OUTPUT-PATTERN NOT-PATTERN -- fuzz-run-args...
case_() {
	name=$1 want=$2 max=$3 pat=$4 notpat=$5
	shift 6
	s=$(date +%s)
	timeout $((max + 10)) "$R" "$@" >"$d/out.txt" 2>&1
	rc=$?
	secs=$(($(date +%s) - s))
	[ "$rc" = "$want" ] && [ "$secs" -le "$max" ] && grep -q -- "$pat" "$d/out.txt" &&
		{ [ -z "$notpat" ] || ! grep -q -- "$notpat" "$d/out.txt"; }
	result $? "$name: exit $rc in ${secs}s" "$name: exit $rc (want $want) in ${secs}s (limit ${max}s); output:" \
		"$d/out.txt"
}

G="--jobs 1 --bindir $d/good"
case_ "FUZZ_TIME=abc" 2 3 "--time abc: expected" "" -- --time abc --out "$d/o1" $G fuzz_udp
case_ "FUZZ_TIME=0" 2 3 "--time 0: expected" "" -- --time 0 --out "$d/o1" $G fuzz_udp
case_ "FUZZ_TIME=-5" 2 3 "--time -5: expected" "" -- --time -5 --out "$d/o1" $G fuzz_udp
case_ "FUZZ_TIME=nan" 2 3 "--time nan: expected" "" -- --time nan --out "$d/o1" $G fuzz_udp
case_ "FUZZ_TIME=0.5 (too short to run anything)" 2 3 "--time 0.5: expected" "" -- --time 0.5 --out "$d/o1" $G fuzz_udp
case_ "FUZZ_JOBS=0" 2 3 "--jobs 0" "" -- --time 3 --jobs 0 --out "$d/o1" --bindir "$d/good" fuzz_udp
case_ "FUZZ_OUT under a regular file" 2 3 "--out $d/file/sub (FUZZ_OUT): cannot write there" "" -- --time 3 --out "$d/file/sub" $G fuzz_udp
case_ "target not built" 2 3 "not built" "" -- --time 3 --out "$d/o1" --bindir "$d/none" fuzz_udp
case_ "engine that never starts" 2 15 "engine failed to run" "Crashes: none\$" -- --time 4 --out "$d/o2" --bindir "$d/bad" fuzz_udp
case_ "a working engine" 0 15 "Crashes: none\$" "Engine errors" -- --time 3 --out "$d/o3" $G fuzz_udp
case_ "an engine that finds a crash" 1 15 "reproduce: \`$d/crash/fuzz_udp $d/o5/fuzz_udp/crashes/crash-0123\`" \
	"Engine errors" -- --time 3 --out "$d/o5" --jobs 1 --bindir "$d/crash" fuzz_udp
grep -q "^- \*\*fuzz_udp\*\*: AddressSanitizer: heap-buffer-overflow on address -- 1 input(s)" "$d/o5/SUMMARY.md" 2>/dev/null
result $? "the crash's summary names its report" "the crash's summary names its report; SUMMARY.md:" "$d/o5/SUMMARY.md"
# ci/planted-bug.sh: bad arguments are exit 2 before anything is built or fuzzed
for args in "-t" "-t abc" "-t 0" "-t -5" "-t 999999" "--bogus" "tcp-slide no-such-bug"; do
	s=$(date +%s)
	# shellcheck disable=SC2086
	timeout 20 ci/planted-bug.sh $args >"$d/pb.txt" 2>&1
	rc=$?
	[ $rc -eq 2 ] && [ $(($(date +%s) - s)) -le 2 ] && grep -q "planted-bug.sh: .*\(-t\|unknown\)" "$d/pb.txt"
	result $? "planted-bug.sh $args: exit 2 at once: $(head -1 "$d/pb.txt")" \
		"planted-bug.sh $args: exit $rc (want 2 within 2 s); output:" "$d/pb.txt" "head -5"
done
ci/planted-bug.sh --help | grep -q "^usage: ci/planted-bug.sh"
result $? "planted-bug.sh --help" "planted-bug.sh --help"

# SIGINT (Ctrl-C) mid-run: the summary is still printed, promptly
setsid "$R" --time 60 --out "$d/o4" $G fuzz_udp >"$d/int.txt" 2>&1 &
pid=$!
sleep 3
kill -INT -- -"$pid" 2>/dev/null || kill -INT "$pid"
s=$(date +%s)
for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then
	kill -KILL -- -"$pid" 2>/dev/null
	result 1 "" "SIGINT mid-run: still running 15 s later"
else
	grep -q "stopped by Ctrl-C" "$d/int.txt" && grep -q "^## Crashes" "$d/int.txt"
	result $? "SIGINT mid-run: summary printed $(($(date +%s) - s)) s after the signal" \
		"SIGINT mid-run: no summary; output:" "$d/int.txt"
fi
wait "$pid" 2>/dev/null
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

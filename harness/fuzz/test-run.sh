#!/bin/sh
# test-run.sh - make fuzz's driver (fuzz-run, harness/fuzz/fuzz_run.py, as shipped) on bad input, with
# stand-in engines (shell scripts, so no fuzzer build is needed): bad --time values and an unwritable --out
# are exit 2 at once; an engine that never starts is exit 2 and the summary does not say "Crashes: none";
# a working engine is exit 0 with "Crashes: none"; an engine that finds a crash is exit 1 with the crash
# in the summary and a command that reproduces it; a run leaves OUT/<target>.csv (its columns, a row every
# --sample seconds, no impossible exec/s, execs from libFuzzer's final stats) and a well-formed chart
# OUT/<target>.svg that SUMMARY.md links; without gnuplot (GNUPLOT=/nonexistent) the CSV stays, stderr
# and SUMMARY.md say why no picture was drawn and the exit status is the same; a stand-in afl-fuzz that
# resumes an earlier run's fuzzer_stats (execs_done carried on, as AFL++ does) shows this run's execs and
# exec/s only; SIGINT mid-run still prints the summary and leaves the CSV, the chart and SUMMARY.md;
# ci/planted-bug.sh's bad arguments are exit 2 before any build; --impl (make fuzz IMPL=...): a finding
# deduplicated, shrunk, its confirmation, command and conform case; a clean run; an engine that runs nothing. One line per case, final "N passed, N
# failed".
# Usage: harness/fuzz/test-run.sh FUZZ-RUN DRAW-CHART (from anywhere; make fuzz-run-test); KEEP=1 keeps
# its scratch directory /tmp/fuzz-run-test.* for a look at the outputs.
set -u
if [ "${1:-}" = "--help" ] || [ $# -ne 2 ]; then
	echo "usage: $0 FUZZ-RUN DRAW-CHART   (tests harness/fuzz/fuzz_run.py with stand-in engines; DRAW-CHART:"
	echo "       build/std/bin/draw-chart, which draws its charts)"
	[ "${1:-}" = "--help" ] && exit 0
	exit 2
fi
case "$1" in /*) R=$1 ;; *) R=$PWD/$1 ;; esac
case "$2" in /*) C=$2 ;; *) C=$PWD/$2 ;; esac
for f in "$R" "$C"; do
	if [ ! -x "$f" ]; then
		echo "$0: $f: not an executable (make fuzz-run-test builds draw-chart)" >&2
		exit 2
	fi
done
cd "$(dirname "$0")/../.." || exit 2
d=$(mktemp -d /tmp/fuzz-run-test.XXXXXX) || exit 2
trap '[ -n "${KEEP:-}" ] || rm -rf "$d"' EXIT
pass=0 fail=0
mkdir -p "$d/bad" "$d/good" "$d/crash"
printf '#!/bin/sh\necho "ERROR: stand-in engine: cannot start" >&2\nexit 1\n' >"$d/bad/fuzz_udp"
# prints its status lines and, as -print_final_stats=1 does at the end, its exact count of executions
printf '#!/bin/sh\nprintf "#2\\tINITED cov: 5 ft: 5 corp: 1/1b exec/s: 0 rss: 1Mb\\n#900\\tDONE   cov: 7 ft: 9 corp: 2/2b lim: 4 exec/s: 900 rss: 1Mb\\nstat::number_of_executed_units: 950\\n"\nsleep 1\n' >"$d/good/fuzz_udp"
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
# afl-fuzz that resumes DIR/NAME/fuzzer_stats as AFL++ does (execs_done and run_time carried on; its
# execs_per_sec is execs_done over this run's time, absurd at the start of a resumed run), then does
# 1000 execs a second for -V seconds, writing its figures every second
mkdir -p "$d/afl"
cat >"$d/afl/afl-fuzz" <<'EOF'
#!/bin/sh
while [ $# -gt 0 ]; do
	case $1 in -o) o=$2; shift ;; -M | -S) n=$2; shift ;; -V) v=$2; shift ;; --) break ;; esac
	shift
done
dir=$o/$n
mkdir -p "$dir/queue" "$dir/crashes"
prior=0 prior_t=0
if [ -f "$dir/fuzzer_stats" ]; then
	prior=$(sed -n 's/^execs_done *: //p' "$dir/fuzzer_stats")
	prior_t=$(sed -n 's/^run_time *: //p' "$dir/fuzzer_stats")
fi
trap 'exit 0' INT TERM
k=0
while [ "$k" -le "$v" ]; do
	printf 'last_update       : %s\nrun_time          : %s\nfuzzer_pid        : %s\nexecs_done        : %s\nexecs_per_sec     : %s\ncorpus_count      : 5\nsaved_crashes     : 0\nedges_found       : %s\nbitmap_cvg        : 1.00%%\n' \
		"$(date +%s)" $((prior_t + k)) $$ $((prior + 1000 * k)) $(((prior + 1000 * k) / (k + 1))) $((10 + k)) >"$dir/fuzzer_stats.new"
	mv "$dir/fuzzer_stats.new" "$dir/fuzzer_stats"
	k=$((k + 1))
	sleep 1
done
EOF
chmod +x "$d/bad/fuzz_udp" "$d/good/fuzz_udp" "$d/crash/fuzz_udp" "$d/afl/afl-fuzz"
touch "$d/file"

# result (harness/fuzz/test-lib.sh)
. harness/fuzz/test-lib.sh

# case NAME WANT-EXIT MAX-SECONDS OUTPUT-PATTERN NOT-PATTERN -- fuzz-run-args...
case_() {
	name=$1 want=$2 max=$3 pat=$4 notpat=$5
	shift 6
	s=$(date +%s)
	timeout $((max + 10)) "$R" --chart "$C" "$@" >"$d/out.txt" 2>&1
	rc=$?
	secs=$(($(date +%s) - s))
	[ "$rc" = "$want" ] && [ "$secs" -le "$max" ] && grep -q -- "$pat" "$d/out.txt" &&
		{ [ -z "$notpat" ] || ! grep -q -- "$notpat" "$d/out.txt"; }
	result $? "$name: exit $rc in ${secs}s" "$name: exit $rc (want $want) in ${secs}s (limit ${max}s); output:" \
		"$d/out.txt"
}

G="--jobs 1 --bindir $d/good"
# usage errors: exit 2 within 5 s (the interpreter's start included), before a run of 10 s could begin
case_ "FUZZ_TIME=abc" 2 5 "--time abc: expected" "" -- --time abc --out "$d/o1" $G fuzz_udp
case_ "FUZZ_TIME=0" 2 5 "--time 0: expected" "" -- --time 0 --out "$d/o1" $G fuzz_udp
case_ "FUZZ_TIME=-5" 2 5 "--time -5: expected" "" -- --time -5 --out "$d/o1" $G fuzz_udp
case_ "FUZZ_TIME=nan" 2 5 "--time nan: expected" "" -- --time nan --out "$d/o1" $G fuzz_udp
case_ "FUZZ_TIME=0.5 (too short to run anything)" 2 5 "--time 0.5: expected" "" -- --time 0.5 --out "$d/o1" $G fuzz_udp
case_ "FUZZ_JOBS=0" 2 5 "--jobs 0" "" -- --time 10 --jobs 0 --out "$d/o1" --bindir "$d/good" fuzz_udp
case_ "FUZZ_OUT under a regular file" 2 5 "--out $d/file/sub (FUZZ_OUT): cannot write there" "" -- --time 10 --out "$d/file/sub" $G fuzz_udp
case_ "target not built" 2 5 "not built" "" -- --time 10 --out "$d/o1" --bindir "$d/none" fuzz_udp
case_ "engine that never starts" 2 15 "engine failed to run" "Crashes: none\$" -- --time 4 --out "$d/o2" --bindir "$d/bad" fuzz_udp
grep -q "no chart drawn for fuzz_udp: nothing to draw" "$d/out.txt" && grep -q "no chart: nothing to draw" "$d/o2/SUMMARY.md"
result $? "engine that never starts: no chart, nothing to draw" "engine that never starts: no reason for the missing chart; output:" "$d/out.txt"
case_ "a working engine" 0 15 "Crashes: none\$" "Engine errors" -- --time 3 --out "$d/o3" $G fuzz_udp
case_ "an engine that finds a crash" 1 15 "reproduce: \`$d/crash/fuzz_udp $d/o5/fuzz_udp/crashes/crash-0123\`" \
	"Engine errors" -- --time 3 --out "$d/o5" --jobs 1 --bindir "$d/crash" fuzz_udp
grep -q "^- \*\*fuzz_udp\*\*: AddressSanitizer: heap-buffer-overflow on address -- 1 input(s)" "$d/o5/SUMMARY.md" 2>/dev/null
result $? "the crash's summary names its report" "the crash's summary names its report; SUMMARY.md:" "$d/o5/SUMMARY.md"

# the time series and its chart: OUT/fuzz_udp.csv with its columns and a row a second, exec/s never above
# what the stand-in can do (900 execs a chunk of at least 0.5 s), an SVG xmllint accepts with both
# series, and SUMMARY.md linking both
HEADER=elapsed_s,execs,exec_per_s,coverage,corpus,crashes,running_s,state
# series_ok DIR MIN-ROWS MAX-RATE: DIR/fuzz_udp.csv has the header, MIN-ROWS rows at least, and no
# exec/s above MAX-RATE
series_ok() {
	[ "$(head -1 "$1/fuzz_udp.csv" 2>/dev/null)" = "$HEADER" ] &&
		[ "$(($(wc -l <"$1/fuzz_udp.csv") - 1))" -ge "$2" ] &&
		awk -F, -v max="$3" 'NR > 1 && $3 != "" && $3 != "NaN" && $3 + 0 > max { bad = 1 } END { exit bad }' "$1/fuzz_udp.csv"
}
case_ "a run with its time series" 0 15 "Crashes: none\$" "no chart drawn" -- --time 4 --sample 1 --out "$d/o6" $G fuzz_udp
series_ok "$d/o6" 3 2000
result $? "OUT/fuzz_udp.csv: the columns, $(($(wc -l <"$d/o6/fuzz_udp.csv") - 1)) rows, exec/s at most 2000" \
	"OUT/fuzz_udp.csv: not the columns, 3 rows or sane exec/s; it holds:" "$d/o6/fuzz_udp.csv" cat
xmllint --noout "$d/o6/fuzz_udp.svg" 2>"$d/xml.txt" && grep -q ">coverage<" "$d/o6/fuzz_udp.svg" &&
	grep -q "exec/s (last interval)<" "$d/o6/fuzz_udp.svg"
result $? "OUT/fuzz_udp.svg: well-formed, with both series" "OUT/fuzz_udp.svg: not well-formed or a series missing:" "$d/xml.txt"
awk -F, 'END { exit !($2 > 0 && $2 % 950 == 0) }' "$d/o6/fuzz_udp.csv"
result $? "execs from libFuzzer's final stats (950 a chunk), not its last status line (900)" \
	"execs are not libFuzzer's final stats (950 a chunk); OUT/fuzz_udp.csv:" "$d/o6/fuzz_udp.csv" cat
grep -q "](fuzz_udp.svg)" "$d/o6/SUMMARY.md" && grep -q "](fuzz_udp.csv)" "$d/o6/SUMMARY.md" &&
	grep -q "^- \*\*fuzz_udp\*\*: coverage .* 7 edges" "$d/o6/SUMMARY.md"
result $? "SUMMARY.md links the chart and the series, and tells the coverage" "SUMMARY.md: no links or coverage; it holds:" "$d/o6/SUMMARY.md" cat
GNUPLOT=/nonexistent "$R" --chart "$C" --time 3 --sample 1 --out "$d/o7" $G fuzz_udp >"$d/nognuplot.txt" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q "^fuzz-run: no chart drawn: gnuplot not found.*; the figures are in CSV" "$d/nognuplot.txt" &&
	grep -q "no chart: gnuplot not found.*no picture drawn" "$d/o7/SUMMARY.md" && series_ok "$d/o7" 2 2000 && [ ! -e "$d/o7/fuzz_udp.svg" ]
result $? "GNUPLOT=/nonexistent: exit 0, the CSV, and why no picture was drawn" \
	"GNUPLOT=/nonexistent: exit $rc (want 0), or no CSV or reason; output:" "$d/nognuplot.txt"
# AFL++: an earlier run's 100 000 000 execs in 1000 s are not this run's, nor its exec/s
mkdir -p "$d/o8/fuzz_udp/sync/main"
printf 'run_time          : 1000\nfuzzer_pid        : 1\nexecs_done        : 100000000\n' >"$d/o8/fuzz_udp/sync/main/fuzzer_stats"
PATH="$d/afl:$PATH" "$R" --chart "$C" --engine afl --time 4 --progress 1 --sample 1 --out "$d/o8" $G fuzz_udp >"$d/afl.txt" 2>&1
rc=$?
[ $rc -eq 0 ] && series_ok "$d/o8" 3 1500 && grep -q "^| fuzz_udp | [0-9] [0-9]* | [0-9]* | 1000 |" "$d/o8/SUMMARY.md" &&
	grep -q "exec/s *1000 (last *[0-9]* s)" "$d/afl.txt" && ! grep -q "exec/s *[0-9]\{5,\}" "$d/afl.txt"
result $? "AFL++ resuming an earlier run: this run's execs, exec/s 1000" \
	"AFL++ resuming an earlier run: exit $rc, or an earlier run's execs or an impossible exec/s; output:" "$d/afl.txt" cat

# ci/planted-bug.sh: bad arguments are exit 2 before anything is built or fuzzed
for args in "-t" "-t abc" "-t 0" "-t -5" "-t 999999" "--bogus" "tcp-slide no-such-bug" "-o /nonexistent/objs"; do
	s=$(date +%s)
	# shellcheck disable=SC2086
	timeout 20 ci/planted-bug.sh $args >"$d/pb.txt" 2>&1
	rc=$?
	[ $rc -eq 2 ] && [ $(($(date +%s) - s)) -le 2 ] && grep -q "planted-bug.sh: .*\(-t\|-o\|unknown\)" "$d/pb.txt"
	result $? "planted-bug.sh $args: exit 2 at once: $(head -1 "$d/pb.txt")" \
		"planted-bug.sh $args: exit $rc (want 2 within 2 s); output:" "$d/pb.txt" "head -5"
done
ci/planted-bug.sh --help | grep -q "^usage: ci/planted-bug.sh"
result $? "planted-bug.sh --help" "planted-bug.sh --help"

# make fuzz IMPL=... (--impl): stand-in engines, impl-repro, replay and conform. A finding (its
# capslock-finding line) is keyed by rule and place, shrunk, confirmed (here: it does not reproduce on a
# fresh server, which the summary must say), given its command and conform case: exit 1; a clean engine:
# "Findings: none" with its coverage mode, exit 0; an engine that runs nothing: exit 2; a wrong target: 2
mkdir -p "$d/impl" "$d/impl-clean" "$d/impl-bad"
cat >"$d/impl/fuzz-impl-tcp" <<'EOF'
#!/bin/sh
for a in "$@"; do case $a in -artifact_prefix=*) p=${a#-artifact_prefix=} ;; -minimize_crash=1) m=1 ;; esac; done
echo "capslock-impl: target tcp, coverage: instrumented (65536-byte map)" >&2
[ "$CAPSLOCK_IMPL" = "./srv {port}" ] || { echo "CAPSLOCK_IMPL is '$CAPSLOCK_IMPL'" >&2; exit 2; }
if [ -n "${m:-}" ]; then printf ab >"${p}minimized-from-1"; exit 0; fi
if [ -z "${p:-}" ]; then echo "capslock-finding: T7 conn2/stalled: no byte for 2000 ms" >&2; exit 1; fi
printf '#2\tINITED cov: 5 ft: 5 corp: 1/1b exec/s: 0 rss: 1Mb\n#90\tNEW cov: 6 ft: 6 corp: 2/2b lim: 4 exec/s: 90 rss: 1Mb\n' >&2
f=${p}crash-$$
printf abcdefgh >"$f"
echo "capslock-finding: T7 conn2/stalled: no byte for 2000 ms" >&2
echo "artifact_prefix='$p'; Test unit written to $f" >&2
echo "stat::number_of_executed_units: 90" >&2
exit 1
EOF
printf '#!/bin/sh\necho "capslock-impl: target tcp, coverage: black-box (the server wrote no edge map)" >&2\nprintf "#2\\tINITED cov: 5 ft: 5 corp: 1/1b exec/s: 0 rss: 1Mb\\nstat::number_of_executed_units: 500\\n" >&2\nsleep 1\n' >"$d/impl-clean/fuzz-impl-tcp"
printf '#!/bin/sh\necho "capslock-impl: cannot start ./srv: no such file" >&2\nexit 1\n' >"$d/impl-bad/fuzz-impl-tcp"
# reproduces, unless told not to (the file norepro beside it)
printf '#!/bin/sh\n[ -e "$(dirname "$0")/norepro" ] && exit 0\necho "capslock-finding: T7 conn2/stalled: no byte" >&2\nexit 1\n' >"$d/impl/impl-repro"
printf '#!/bin/sh\nprintf x >"$4"\n' >"$d/impl/replay"
cat >"$d/impl/conform" <<'EOF'
#!/bin/sh
[ "$1" = --list ] && { printf 'ID RULE LEVEL DESCRIPTION\ntcp/concurrency/stalled T7 MUST x\n'; exit 0; }
while [ $# -gt 0 ]; do
	[ "$1" = --json ] && printf '{"cases":[{"id":"tcp/concurrency/stalled","status":"fail"}]}' >"$2"
	shift
done
exit 1
EOF
chmod +x "$d"/impl*/*
impl_run() { # OUT BINDIR TARGET LOG
	"$R" --chart "$C" --time 3 --sample 1 --jobs 2 --impl './srv {port}' --repro "$d/impl/impl-repro" \
		--replay "$d/impl/replay" --conform "$d/impl/conform" --shrink-time 5 --out "$1" --bindir "$2" "$3" >"$4" 2>&1
}
impl_run "$d/oi" "$d/impl" fuzz-impl-tcp "$d/impl.txt"
rc=$?
f=$d/oi/findings/01-fuzz-impl-tcp-T7
[ $rc -eq 1 ] && grep -q "^## Findings: 1 unique" "$d/oi/SUMMARY.md" &&
	grep -q "instrumented (65536-byte map)" "$d/oi/SUMMARY.md" &&
	grep -q "fresh server: yes, the same rule and place" "$d/oi/SUMMARY.md" &&
	grep -q "caught by .tcp/concurrency/stalled" "$d/oi/SUMMARY.md" &&
	grep -q "impl-repro --exec './srv {port}' --tcp " "$d/oi/SUMMARY.md" && [ "$(cat "$f/input")" = ab ] && [ -s "$f/input.pcap" ]
result $? "--impl, a finding: exit 1, one by rule and place, confirmed on a fresh server, shrunk, its command and conform case" \
	"--impl, a finding: exit $rc (want 1) or the summary lacks a part of it; output:" "$d/impl.txt"
touch "$d/impl/norepro"
impl_run "$d/oi5" "$d/impl" fuzz-impl-tcp "$d/impl5.txt"
rc=$?
[ $rc -eq 1 ] && grep -q "NOT against a freshly started server" "$d/oi5/SUMMARY.md" &&
	[ "$(cat "$d/oi5/findings/01-fuzz-impl-tcp-T7/input")" = abcdefgh ]
result $? "--impl, a finding a fresh server does not show: said so, kept unshrunk" \
	"--impl, a finding a fresh server does not show: exit $rc (want 1), or not said; output:" "$d/impl5.txt"
impl_run "$d/oi2" "$d/impl-clean" fuzz-impl-tcp "$d/impl2.txt"
rc=$?
[ $rc -eq 0 ] && grep -q "^## Findings: none" "$d/oi2/SUMMARY.md" && grep -q "coverage black-box" "$d/oi2/SUMMARY.md"
result $? "--impl, a clean run: exit 0, Findings: none, black-box said" \
	"--impl, a clean run: exit $rc (want 0); output:" "$d/impl2.txt"
impl_run "$d/oi3" "$d/impl-bad" fuzz-impl-tcp "$d/impl3.txt"
rc=$?
[ $rc -eq 2 ] && grep -q "did NOT fuzz everything" "$d/oi3/SUMMARY.md"
result $? "--impl, an engine that runs nothing: exit 2, not clean" \
	"--impl, an engine that runs nothing: exit $rc (want 2); output:" "$d/impl3.txt"
impl_run "$d/oi4" "$d/impl" fuzz_tcp "$d/impl4.txt"
rc=$?
[ $rc -eq 2 ] && grep -q "expected fuzz-impl-tcp" "$d/impl4.txt"
result $? "--impl with fuzz_tcp: exit 2" "--impl with fuzz_tcp: exit $rc (want 2); output:" "$d/impl4.txt"

# SIGINT (Ctrl-C) mid-run: the summary is still printed, promptly
setsid "$R" --chart "$C" --time 60 --sample 1 --out "$d/o4" $G fuzz_udp >"$d/int.txt" 2>&1 &
pid=$!
sleep 3
kill -INT -- -"$pid" 2>/dev/null || kill -INT "$pid"
s=$(date +%s)
for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then
	kill -KILL -- -"$pid" 2>/dev/null
	result 1 "" "SIGINT mid-run: still running 15 s later"
else
	grep -q "stopped by Ctrl-C" "$d/int.txt" && grep -q "^## Crashes" "$d/int.txt" &&
		grep -q "stopped by Ctrl-C" "$d/o4/SUMMARY.md" && series_ok "$d/o4" 2 2000 &&
		[ "$(tail -1 "$d/o4/fuzz_udp.csv" | cut -d, -f8)" = ended ] && xmllint --noout "$d/o4/fuzz_udp.svg"
	result $? "SIGINT mid-run: summary printed $(($(date +%s) - s)) s after the signal; CSV, chart and SUMMARY.md left" \
		"SIGINT mid-run: no summary, CSV or chart; output:" "$d/int.txt"
fi
wait "$pid" 2>/dev/null
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

#!/bin/sh
# test-bench.sh - make bench-fuzz's script (harness/fuzz/fuzz_bench.py) as shipped, with stand-in engines
# (shell scripts that print libFuzzer's final stats, write AFL++'s fuzzer_stats and print the standalone
# runner's rate, so no fuzzer build is needed) and the real tcp-upper for the network-driven harness: bad
# --time, no target and an unwritable --out are exit 2 at once; a run where every engine works is exit 0 with
# the figures the stand-ins make in the printed table, in fuzz.md and in fuzz.json (its keys, nulls and ratios,
# read with Python's json module); a failing engine is exit 1 with its reason under "Errors:" and in fuzz.json,
# an engine that crashes after its stats is a note and still a rate, and a missing standalone runner leaves
# its column out. One line per case, final "N passed, N failed".
# Usage: harness/fuzz/test-bench.sh TCP-UPPER (from anywhere; make fuzz-bench-test); KEEP=1 keeps its
# scratch directory /tmp/fuzz-bench-test.* for a look at the outputs.
set -u
if [ "${1:-}" = "--help" ] || [ $# -ne 1 ]; then
	echo "usage: $0 TCP-UPPER   (tests harness/fuzz/fuzz_bench.py with stand-in engines and this tcp-upper)"
	[ "${1:-}" = "--help" ] && exit 0
	exit 2
fi
case "$1" in /*) S=$1 ;; *) S=$PWD/$1 ;; esac
if [ ! -x "$S" ]; then
	echo "$0: $1: not an executable (make fuzz-bench-test builds it)" >&2
	exit 2
fi
cd "$(dirname "$0")/../.." || exit 2
F=harness/fuzz/fuzz_bench.py
d=$(mktemp -d /tmp/fuzz-bench-test.XXXXXX) || exit 2
trap '[ -n "${KEEP:-}" ] || rm -rf "$d"' EXIT
pass=0 fail=0
mkdir -p "$d/lf" "$d/fast" "$d/bad" "$d/crash" "$d/afl" "$d/std" "$d/san"
# libFuzzer: 2000 units in a second (8000 without sanitizer), stats on stderr as -print_final_stats=1 writes them
printf '#!/bin/sh\nsleep 1\nprintf "Done 2000 runs in 1 second(s)\\nstat::number_of_executed_units: 2000\\nstat::average_exec_per_sec:     2000\\n" >&2\n' >"$d/lf/fuzz_tcp"
sed 's/2000/8000/g' "$d/lf/fuzz_tcp" >"$d/fast/fuzz_tcp"
printf '#!/bin/sh\necho "ERROR: stand-in engine: cannot start" >&2\nexit 1\n' >"$d/bad/fuzz_tcp"
printf '#!/bin/sh\nprintf "==9==ERROR: AddressSanitizer: SEGV\\nstat::number_of_executed_units: 500\\n" >&2\nexit 77\n' >"$d/crash/fuzz_tcp"
# afl-fuzz: 30000 execs in a run_time of 2 s, written where -o says, as AFL++ does (OUT/default/fuzzer_stats)
cat >"$d/afl/afl-fuzz" <<'EOF'
#!/bin/sh
while [ $# -gt 0 ]; do
	case $1 in -o) o=$2; shift ;; --) break ;; esac
	shift
done
mkdir -p "$o/default"
printf 'start_time        : 1\nrun_time          : 2\nexecs_done        : 30000\nexecs_per_sec     : 14000.00\n' >"$o/default/fuzzer_stats"
EOF
# shellcheck disable=SC2016 # $0 and $2 are the stand-in's own
printf '#!/bin/sh\necho "$0: ran 1 inputs x $2 in 0.600 s: 400000 exec/s"\n' >"$d/std/fuzz_tcp-standalone"
sed 's/400000/100000/' "$d/std/fuzz_tcp-standalone" >"$d/san/fuzz_tcp-standalone"
chmod +x "$d"/*/*
touch "$d/file"

# result (harness/fuzz/test-lib.sh), showing a failing file's last 40 lines
. harness/fuzz/test-lib.sh
RESULT_SHOW="tail -40"

# usage NAME OUTPUT-PATTERN -- args...: exit 2 before any measurement (none printed, within 10 s even on a
# loaded machine), the message on stderr
usage() {
	name=$1 pat=$2
	shift 3
	s=$(date +%s)
	timeout 10 "$F" "$@" >"$d/out.txt" 2>"$d/err.txt"
	rc=$?
	[ $rc -eq 2 ] && [ $(($(date +%s) - s)) -le 10 ] && grep -q -- "$pat" "$d/err.txt" && [ ! -s "$d/out.txt" ]
	result $? "$name: exit 2: $(head -1 "$d/err.txt")" "$name: exit $rc (want 2 at once); stderr:" "$d/err.txt"
}
usage "BENCH_FUZZ_TIME=abc" "^fuzz-bench: --time abc: expected whole seconds from 1 to 3600" -- --time abc fuzz_tcp
usage "BENCH_FUZZ_TIME=0" "^fuzz-bench: --time 0: expected" -- --time 0 fuzz_tcp
usage "no target" "^fuzz-bench: expected 1 to 60 target names" -- --time 1
usage "an unknown option" "^fuzz-bench: --bogus: unknown option" -- --bogus fuzz_tcp
usage "--out under a regular file" "^fuzz-bench: --out $d/file/sub: " -- --time 1 --out "$d/file/sub" fuzz_tcp
"$F" --help | grep -q "^usage: fuzz_bench.py \[--time SECONDS\]"
result $? "--help" "--help prints no usage"

# run NAME OUT WANT-EXIT args...: one whole run with the stand-in afl-fuzz first on PATH
run() {
	name=$1 out=$2 want=$3
	shift 3
	PATH="$d/afl:$PATH" timeout 120 "$F" --time 1 --afl-dir "$d/afl" --server "$S" --out "$out" "$@" fuzz_tcp \
		>"$d/$name.txt" 2>&1
	rc=$?
	[ $rc -eq "$want" ]
	result $? "$name: exit $rc" "$name: exit $rc (want $want); output:" "$d/$name.txt"
}
# json FILE PYTHON-EXPRESSION: the expression over j, fuzz.json as Python's json module reads it, is true
json() {
	python3 -c 'import json, math, sys; j = json.load(open(sys.argv[1])); sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)' "$@"
}

run "every engine works" "$d/o1" 0 --lf-dir "$d/lf" --lf-fast-dir "$d/fast" --std-dir "$d/std" --san-dir "$d/san"
grep -Eq '^\| fuzz_tcp \| (1 [0-9]{3}|2 000) \| [4-8] [0-9]{3} \| 15 000 \| - \| - \|$' "$d/o1/fuzz.md" &&
	grep -Eq '^\| tcp-upper --inetd \| - \| - \| 15 000 \| - \| [1-9][0-9 ]* \|$' "$d/o1/fuzz.md" &&
	grep -Eq '^\| same input: hello world \+ FIN \| - \| - \| - \| 400 000 / 100 000 \| [1-9][0-9 ]* \|$' "$d/o1/fuzz.md" &&
	grep -q '^\*\*Fuzzing throughput ratio: [1-9][0-9 ]*x\*\* = .*fastest engine (AFL++, 15 000 exec/s)' "$d/o1/fuzz.md" &&
	grep -q '^\*\*Same-input ratio: [1-9][0-9 ]*x\*\* = .*(optimized build, 400 000 exec/s).* Under ASan + UBSan: ' "$d/o1/fuzz.md" &&
	! grep -q "Errors:" "$d/o1/fuzz.md"
result $? "fuzz.md: the stand-ins' figures, both ratios, no errors" "fuzz.md is not as expected:" "$d/o1/fuzz.md"
sed -n '/^# Fuzzing speed/,/^(written to/p' "$d/every engine works.txt" | sed '$d' | cmp -s - "$d/o1/fuzz.md" &&
	grep -q "^fuzz-bench: fuzz_tcp AFL++ persistent: 15000 exec/s$" "$d/every engine works.txt" &&
	grep -q "^(written to $d/o1/fuzz.md and fuzz.json)$" "$d/every engine works.txt"
result $? "the printed table is fuzz.md; one line per measurement" "the output differs from fuzz.md:" "$d/every engine works.txt"
json "$d/o1/fuzz.json" 'list(j) == ["seconds_per_measurement", "cores", "rows", "ratio_in_process_vs_network_best",
	"ratio_in_process_asan_vs_network", "ratio_same_input", "ratio_same_input_san", "errors"]
	and j["seconds_per_measurement"] == 1 and j["cores"] >= 1 and j["errors"] == []
	and [list(r) for r in j["rows"]] == [["target", "libfuzzer_asan_ubsan", "libfuzzer_nosan", "aflpp"],
		["target", "aflpp", "network"], ["target", "network", "standalone_san", "standalone_std"]]
	and 1000 < j["rows"][0]["libfuzzer_asan_ubsan"] <= 2000 and 4000 < j["rows"][0]["libfuzzer_nosan"] <= 8000
	and j["rows"][0]["aflpp"] == j["rows"][1]["aflpp"] == 15000.0 and j["rows"][1]["network"] > 0
	and j["rows"][2]["standalone_std"] == 400000.0 and j["rows"][2]["standalone_san"] == 100000.0
	and j["ratio_in_process_vs_network_best"] == 15000.0 / j["rows"][1]["network"]
	and j["ratio_in_process_asan_vs_network"] == j["rows"][0]["libfuzzer_asan_ubsan"] / j["rows"][1]["network"]
	and j["ratio_same_input"] == 400000.0 / j["rows"][2]["network"]
	and j["ratio_same_input_san"] == 100000.0 / j["rows"][2]["network"]' 2>"$d/json.txt"
result $? "fuzz.json: its keys in order, the figures and the ratios" "fuzz.json is not as expected:" "$d/o1/fuzz.json"

run "a failing engine" "$d/o2" 1 --lf-dir "$d/crash" --lf-fast-dir "$d/bad" --std-dir "$d/none" --san-dir "$d/san"
grep -q "^fuzz-bench: note: fuzz_tcp crashed after [0-9]* s (a finding: run make fuzz); rate measured up to the crash$" "$d/a failing engine.txt" &&
	grep -q "^fuzz-bench: fuzz_tcp libFuzzer (no sanitizer): failed$" "$d/a failing engine.txt" &&
	grep -q "^- fuzz_tcp libFuzzer (no sanitizer): libFuzzer failed (exit status 1): ERROR: stand-in engine: cannot start$" "$d/o2/fuzz.md" &&
	grep -Eq '^\| fuzz_tcp \| [1-9][0-9 ]* \| - \| 15 000 \| - \| - \|$' "$d/o2/fuzz.md" &&
	grep -Eq '^\| same input: hello world \+ FIN \| - \| - \| - \| - \| [1-9][0-9 ]* \|$' "$d/o2/fuzz.md"
result $? "fuzz.md and the output: the crash's note, the failure and its reason" "no note, failure or reason:" "$d/a failing engine.txt"
json "$d/o2/fuzz.json" 'j["rows"][0]["libfuzzer_nosan"] is None and j["rows"][0]["libfuzzer_asan_ubsan"] > 0
	and "standalone_std" not in j["rows"][2] and j["ratio_same_input"] == 100000.0 / j["rows"][2]["network"]
	and j["errors"] == ["fuzz_tcp libFuzzer (no sanitizer): libFuzzer failed (exit status 1): ERROR: stand-in engine: cannot start\n"]'
result $? "fuzz.json: null for the failure, its reason, no column for a missing runner" "fuzz.json is not as expected:" "$d/o2/fuzz.json"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

#!/bin/sh
# driver-smoke.sh - the bench driver's test (bench.py as shipped): a short run writes BENCH.md with its
# table, a valid bench.json, ratios.csv with its columns and the chart ratios.svg (or says why there is
# none); a wrong server fails it; the extras' figures come from make's JSON. usage: driver-smoke.sh BINDIR
# (tcp-upper, udp-upper, draw-chart, bench/loadgen, bench/echo). No timing is asserted.
set -u
B=${1:?usage: driver-smoke.sh BINDIR}
bench=$(dirname "$0")/bench.py
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-driver.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

timeout 120 "$bench" -T 0.3 -n 2 -b "$B" -o "$tmp" --only stream1,udp64,idle >"$tmp/stdout" 2>"$tmp/stderr" ||
	fail "bench exited $?: $(tail -5 "$tmp/stderr")"
for f in BENCH.md bench.json; do
	[ -s "$tmp/$f" ] || fail "bench wrote no $f"
done
grep -q '^| TCP stream, 1 connection | [0-9]* MB/s | [0-9]* MB/s |' "$tmp/BENCH.md" || fail "no stream row in BENCH.md: $(cat "$tmp/BENCH.md")"
grep -q '^| UDP, 64 B datagrams' "$tmp/BENCH.md" || fail "no UDP row in BENCH.md"
grep -q 'B (VmRSS' "$tmp/BENCH.md" || fail "no RSS figure in BENCH.md"
grep -q '^\[  *[0-9]*/' "$tmp/stderr" || fail "no progress lines on stderr"
if command -v python3 >/dev/null 2>&1; then
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["figures"][0]["ref"]["median"] > 0' \
		"$tmp/bench.json" || fail "bench.json is not valid JSON with a reference figure"
fi
# ratios.csv: its columns, one row per figure run, each with a reference median; ratios.svg, its chart,
# well-formed (gnuplot installed) or the message that says why there is none.
header=figure,label,unit,reference,echo,python,tutorial,ref_over_echo,ref_over_echo_per_cpu,ref_over_python
header=$header,ref_over_tutorial,echo_over_python,echo_over_tutorial
[ "$(head -1 "$tmp/ratios.csv")" = "$header" ] || fail "ratios.csv columns: $(head -1 "$tmp/ratios.csv")"
[ "$(sed 1d "$tmp/ratios.csv" | cut -d, -f1 | tr '\n' ' ')" = "stream1 udp64 idle " ] ||
	fail "ratios.csv rows: $(cat "$tmp/ratios.csv")"
awk -F, 'NR > 1 && (NF != 13 || !($4 > 0)) { exit 1 }' "$tmp/ratios.csv" ||
	fail "ratios.csv: a row without 13 fields or a reference median: $(cat "$tmp/ratios.csv")"
if command -v "${GNUPLOT:-gnuplot}" >/dev/null 2>&1; then
	grep -q "^bench: drew $tmp/ratios.svg" "$tmp/stderr" || fail "no chart drawn: $(grep chart "$tmp/stderr")"
	xmllint --noout "$tmp/ratios.svg" || fail "ratios.svg is not well-formed XML"
	grep -q 'reference / echo (a)' "$tmp/ratios.svg" || fail "ratios.svg has no reference / echo bars"
else
	grep -q '^bench: no chart drawn: gnuplot not found' "$tmp/stderr" || fail "no word of the missing gnuplot"
fi
# Without gnuplot the chart is not drawn, bench says why and still succeeds.
GNUPLOT=/nonexistent "$bench" -b "$B" --chart "$tmp/ratios.csv" 2>"$tmp/stderr-chart" ||
	fail "bench --chart without gnuplot exited $?"
grep -q '^bench: no chart drawn: gnuplot not found .*; the figures are in CSV' "$tmp/stderr-chart" ||
	fail "bench --chart without gnuplot: $(cat "$tmp/stderr-chart")"
# A wrong server must not pass as a figure: the echo server in the reference's place is a wrong reply.
mkdir -p "$tmp/fake"
ln -s "$(cd "$B" && pwd)/bench" "$tmp/fake/bench"
ln -s "$(cd "$B" && pwd)/draw-chart" "$tmp/fake/draw-chart"
ln -s "$(cd "$B" && pwd)/bench/echo" "$tmp/fake/tcp-upper"
ln -s "$(cd "$B" && pwd)/udp-upper" "$tmp/fake/udp-upper"
timeout 60 "$bench" -T 0.3 -n 1 -b "$tmp/fake" -o "$tmp/o2" --only stream1 >"$tmp/stdout2" 2>"$tmp/stderr2"
rc=$?
[ $rc -eq 1 ] || fail "bench with an echo server as tcp-upper exited $rc, expected 1"
grep -q 'WRONG REPLY' "$tmp/o2/BENCH.md" || fail "BENCH.md does not report the wrong reply"
# Usage errors exit 2.
"$bench" -n 16 >/dev/null 2>&1
[ $? -eq 2 ] || fail "bench -n 16 did not exit 2"
BENCH_TIME=0 "$bench" --only none -b "$B" -o "$tmp/o4" >/dev/null 2>&1
[ $? -eq 2 ] || fail "bench with BENCH_TIME=0 did not exit 2"
# Without --only, the extras: make's targets (a stand-in make: bench-fuzz writes fuzz.json, there is no
# bench-replay) and the conform suite (not built here). The fuzz row sums fuzz.json up; bench.json holds it.
mkdir -p "$tmp/o3"
cat >"$tmp/make" <<EOF
#!/bin/sh
case "\$*" in
*-n\ bench-fuzz) ;;
*bench-fuzz) echo '{"seconds": 4, "targets": [{"target": "fuzz_tcp", "libfuzzer_nosan": 22490, "aflpp": 13.5}]}' >"$tmp/o3/fuzz.json" ;;
*) exit 2 ;;
esac
EOF
timeout 300 "$bench" -T 0.2 -n 1 -b "$B" -o "$tmp/o3" --make "sh $tmp/make" >"$tmp/stdout3" 2>"$tmp/stderr3" ||
	fail "bench with the extras exited $?: $(tail -5 "$tmp/stderr3")"
grep -q '^| Fuzz exec/s (make bench-fuzz) | fuzz_tcp: libfuzzer_nosan 22490 aflpp 13.50 |' "$tmp/o3/BENCH.md" ||
	fail "no fuzz row from fuzz.json: $(grep Fuzz "$tmp/o3/BENCH.md")"
grep -q '^| Replay packets/s (make bench-replay) | not available: no make target bench-replay' "$tmp/o3/BENCH.md" ||
	fail "no replay row saying why: $(grep Replay "$tmp/o3/BENCH.md")"
grep -q '^| Conform suite wall time (reference servers) | not available: conform program (none given)' \
	"$tmp/o3/BENCH.md" || fail "no conform row saying why"
[ "$(sed 1d "$tmp/o3/ratios.csv" | cut -d, -f1 | tr '\n' ' ')" = "stream1 stream4 stream16 stream64 pingpong udp64 udp1400 accept idle " ] ||
	fail "not every figure measured: $(cat "$tmp/o3/ratios.csv")"
if command -v python3 >/dev/null 2>&1; then
	python3 -c 'import json,sys; x=json.load(open(sys.argv[1]))["extra"]
assert x["fuzz"]["targets"][0]["aflpp"] == 13.5 and "not_available" in x["replay"], x' "$tmp/o3/bench.json" ||
		fail "bench.json does not hold fuzz.json and why replay is missing"
fi
echo "bench driver smoke: passed"

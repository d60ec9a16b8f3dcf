#!/bin/sh
# smoke.sh - soak-smoke: the short abuse suite (--small, 15 s in all), then what it sampled: per case a
# CSV with the sampler's columns and numeric rows, and its chart, well-formed (when gnuplot is installed
# and the case lasted two samples); then one short case without gnuplot, which must say so and still
# pass. usage: smoke.sh BINDIR OUTDIR. No timing is asserted.
set -u
B=${1:?usage: smoke.sh BINDIR OUTDIR}
OUT=${2:?usage: smoke.sh BINDIR OUTDIR}
CASES="reset-storm unsent-bound backpressure slow-clients half-open descriptors udp-flood sigterm sigterm-udp"
COLUMNS=elapsed_s,rss_kib,fds,harness_fds
fail() {
	echo "FAIL: soak-smoke: $*" >&2
	exit 1
}

mkdir -p "$OUT" || exit 2
rm -f "$OUT"/*.csv "$OUT"/*.svg
"$B/soak/soak" -b "$B" -T 15 --small -o "$OUT" 2>"$OUT/stderr"
rc=$?
cat "$OUT/stderr" >&2
[ $rc -eq 0 ] || fail "soak exited $rc"
have_gnuplot=0
command -v "${GNUPLOT:-gnuplot}" >/dev/null 2>&1 && have_gnuplot=1
for c in $CASES; do
	csv=$OUT/$c.csv
	svg=$OUT/$c.svg
	[ -s "$csv" ] || fail "no samples of $c ($csv)"
	[ "$(head -1 "$csv")" = "$COLUMNS" ] || fail "$csv: columns '$(head -1 "$csv")', expected $COLUMNS"
	rows=$(($(wc -l <"$csv") - 1))
	[ "$rows" -ge 1 ] || fail "$csv: no sample"
	awk -F, 'NR > 1 && (NF != 4 || $1 !~ /^[0-9.]+$/ || $2 !~ /^[0-9]+$/ || $3 !~ /^[0-9]+$/ ||
		$4 !~ /^[0-9]+$/) { exit 1 }' "$csv" || fail "$csv: a row that is not four numbers"
	if [ $have_gnuplot -eq 1 ] && [ "$rows" -ge 2 ]; then
		xmllint --noout "$svg" || fail "$svg is not well-formed"
		grep -q 'server resident memory' "$svg" || fail "$svg has no memory line"
	fi
done
if [ $have_gnuplot -eq 0 ]; then
	grep -q '^soak: no chart drawn: gnuplot not found' "$OUT/stderr" || fail "no word of the missing gnuplot"
fi
# Without gnuplot: the samples are written, no chart, a message, and the case still holds.
rm -rf "$OUT/no-gnuplot"
GNUPLOT=/nonexistent "$B/soak/soak" -b "$B" -T 1 --small -c descriptors -o "$OUT/no-gnuplot" \
	>/dev/null 2>"$OUT/stderr-no-gnuplot" || fail "soak without gnuplot exited $?: $(cat "$OUT/stderr-no-gnuplot")"
grep -q '^soak: no chart drawn: gnuplot not found .*; the figures are in CSV' "$OUT/stderr-no-gnuplot" ||
	fail "soak without gnuplot: $(cat "$OUT/stderr-no-gnuplot")"
[ -s "$OUT/no-gnuplot/descriptors.csv" ] || fail "soak without gnuplot wrote no samples"
[ ! -e "$OUT/no-gnuplot/descriptors.svg" ] || fail "soak without gnuplot wrote a chart"
echo "soak smoke: samples and charts of $(echo $CASES | wc -w) cases checked"

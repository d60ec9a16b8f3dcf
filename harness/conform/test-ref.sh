#!/bin/sh
# test-ref.sh - conform against the reference servers (bin/tcp-upper, bin/udp-upper), IPv4 then IPv6:
# every case must pass, and the IPv4 run must take under 15 s (the bound the gate is held to for the
# suite without --random; the IPv6 run adds 20 random sequences: 30 s). Prints the wall time and a
# final "N passed, N failed" line. Usage: harness/conform/test-ref.sh BINDIR
set -u
. "$(dirname "$0")/test-lib.sh"
test_usage 1 "BINDIR   (BINDIR holds conform, tcp-upper, udp-upper; e.g. build/std/bin)" "$@"
B=$1
out=$(mktemp -d /tmp/conform-ref.XXXXXX) || exit 2
trap 'rm -rf "$out"' EXIT

# run NAME MAXSECS conform-args...
run() {
	name=$1 max=$2
	shift 2
	t0=$(date +%s.%N)
	"$B/conform" --strict "$@" >"$out/$name.txt" 2>&1
	rc=$?
	t1=$(date +%s.%N)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	[ $rc -eq 0 ] && awk -v s="$secs" -v m="$max" 'BEGIN { exit !(s < m) }'
	ok=$?
	test_result $ok "conform vs reference ($name): $(tail -1 "$out/$name.txt"); wall ${secs}s (limit ${max}s)" \
		"conform vs reference ($name): exit $rc, wall ${secs}s (limit ${max}s)"
	[ $ok -eq 0 ] || grep -v '^PASS' "$out/$name.txt" | sed 's/^/  /'
}

# --strict: SHOULD cases count too; the ones that cannot apply (IPv6 on an IPv4 target) are skipped.
run ipv4 15 --exec-tcp "$B/tcp-upper -l 127.0.0.1:0" --exec-udp "$B/udp-upper -l 127.0.0.1:0"
run ipv6 30 --exec-tcp "$B/tcp-upper -l [::1]:0" --exec-udp "$B/udp-upper -l [::1]:0" --random 20 --seed 1
test_summary

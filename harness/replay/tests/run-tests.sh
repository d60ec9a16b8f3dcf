#!/bin/sh
# run-tests.sh - whole-program tests of bin/replay: golden outputs over every capture in pcaps/, bad
# inputs, a planted-bug server, reports, and the fuzz-seed/pcap conversions.
#
# usage: harness/replay/tests/run-tests.sh BINDIR golden|badinput|planted|convert [--update]
#   BINDIR   the variant's program directory (build/std/bin or build/san/bin): replay, tcp-upper,
#            udp-upper and badserver are taken from there
#   --update rewrite the golden files (golden only) instead of comparing
# Exit status: 0 all passed, 1 a test failed, 2 usage error.
set -u

case "${1:-}" in -h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;; esac
[ $# -ge 2 ] || { echo "usage: run-tests.sh BINDIR golden|badinput|planted|convert [--update]" >&2; exit 2; }
B=$1
WHAT=$2
UPDATE=${3:-}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
GOLDEN=$HERE/golden
TMP=$(mktemp -d)
FAILS=0
PASSES=0
SRV=""
trap 'if [ -n "$SRV" ]; then kill $SRV 2>/dev/null; wait $SRV 2>/dev/null; fi; rm -rf "$TMP"' EXIT INT TERM

pass() { PASSES=$((PASSES + 1)); }
fail() { FAILS=$((FAILS + 1)); echo "FAIL: $*" >&2; }

# expect_rc WANT NAME CMD...: runs CMD (stdout to $TMP/out, stderr to $TMP/err), checks its exit status.
expect_rc() {
	want=$1; name=$2; shift 2
	timeout 60 "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	if [ "$rc" -eq "$want" ]; then pass; else fail "$name: exit $rc, expected $want"; sed 's/^/    /' "$TMP/err" "$TMP/out" | head -20 >&2; fi
}

# expect_in FILE PATTERN NAME: FILE has a line matching the grep pattern.
expect_in() {
	if grep -q -- "$2" "$1"; then pass; else fail "$3: no line matching '$2' in $(basename "$1")"; sed 's/^/    /' "$1" | head -20 >&2; fi
}

# start_bad ARGS...: starts the planted-bug server, sets PORT.
start_bad() {
	"$B/badserver" "$@" 2>"$TMP/srv.err" &
	SRV=$!
	i=0
	while ! grep -q '^listening on' "$TMP/srv.err" 2>/dev/null; do
		i=$((i + 1)); [ $i -lt 100 ] || { fail "badserver did not start"; return 1; }
		sleep 0.05
	done
	PORT=$(sed -n '1s/.*:\([0-9]*\)$/\1/p' "$TMP/srv.err")
}

stop_bad() { kill $SRV 2>/dev/null; wait $SRV 2>/dev/null; SRV=""; rm -f "$TMP/srv.err"; }

case $WHAT in
golden)
	# Every committed capture: the decoded flows (--list) and the replay against the reference servers,
	# byte for byte. The outputs hold only captured addresses, so nothing needs normalizing but the path.
	mkdir -p "$GOLDEN"
	for f in "$ROOT"/pcaps/*; do
		n=$(basename "$f")
		(cd "$ROOT" && timeout 60 "$B/replay" --list "pcaps/$n") >"$TMP/$n.list" 2>&1
		(cd "$ROOT" && timeout 60 "$B/replay" "pcaps/$n") >"$TMP/$n.out" 2>&1
		rc=$?
		if [ "$rc" -ne 0 ]; then fail "replay pcaps/$n: exit $rc"; sed 's/^/    /' "$TMP/$n.out" >&2; continue; fi
		for k in list out; do
			if [ "$UPDATE" = --update ]; then
				cp "$TMP/$n.$k" "$GOLDEN/$n.$k"
			elif diff -u "$GOLDEN/$n.$k" "$TMP/$n.$k" >"$TMP/diff" 2>&1; then
				pass
			else
				fail "pcaps/$n: output differs from golden/$n.$k"; head -30 "$TMP/diff" >&2
			fi
		done
	done
	for g in "$GOLDEN"/*; do
		[ -e "$ROOT/pcaps/$(basename "${g%.*}")" ] || fail "golden file $(basename "$g") has no capture"
	done
	;;
badinput)
	S=$ROOT/pcaps/session1.pcap
	: >"$TMP/empty.pcap"
	expect_rc 2 "zero-length file" "$B/replay" "$TMP/empty.pcap"
	expect_in "$TMP/err" "empty.pcap" "zero-length file names the file"
	echo "this is not a capture file, just text" >"$TMP/text.pcap"
	expect_rc 2 "text file" "$B/replay" "$TMP/text.pcap"
	expect_in "$TMP/err" "text.pcap" "text file names the file"
	head -c 10 "$S" >"$TMP/cuthdr.pcap"
	expect_rc 2 "file header cut" "$B/replay" "$TMP/cuthdr.pcap"
	expect_in "$TMP/err" "cuthdr.pcap" "cut header names the file"
	expect_rc 2 "missing file" "$B/replay" "$TMP/nonexistent.pcap"
	expect_in "$TMP/err" "nonexistent.pcap" "missing file names the file"
	# A truncated last packet is reported, not fatal: the packets before it replay.
	size=$(wc -c <"$S")
	head -c $((size - 5)) "$S" >"$TMP/cutlast.pcap"
	npk=$("$B/replay" --list "$S" | sed -n '1s/.*: \([0-9]*\) frames.*/\1/p')
	expect_rc 0 "truncated last packet" "$B/replay" "$TMP/cutlast.pcap"
	expect_in "$TMP/err" "cutlast.pcap: packet $npk: truncated" "truncated last packet is reported with its number"
	# Unknown link type: the link type field (bytes 20-23, little-endian) set to 147 (USER0).
	cp "$S" "$TMP/link147.pcap"
	printf '\223\000\000\000' | dd of="$TMP/link147.pcap" bs=1 seek=20 conv=notrunc 2>/dev/null
	expect_rc 2 "unknown link type" "$B/replay" "$TMP/link147.pcap"
	expect_in "$TMP/err" "link147.pcap: packet 1: unsupported link type 147" "unknown link type message"
	# Corrupted: packet 2's captured length set to 0x7ffffff0 (record header at 24 + 16 + caplen1).
	cp "$S" "$TMP/corrupt.pcap"
	c1=$(od -An -tu4 -j32 -N4 "$S" | tr -d ' ')
	printf '\360\377\377\177' | dd of="$TMP/corrupt.pcap" bs=1 seek=$((24 + 16 + c1 + 8)) conv=notrunc 2>/dev/null
	expect_rc 2 "corrupted packet length" "$B/replay" "$TMP/corrupt.pcap"
	expect_in "$TMP/err" "corrupt.pcap: packet 2:" "corrupted file names the packet"
	# Malformed frame inside a good file: an IPv4 header length of 4 in packet 1 (byte 14 of the frame).
	cp "$S" "$TMP/badihl.pcap"
	printf '\104' | dd of="$TMP/badihl.pcap" bs=1 seek=$((24 + 16 + 14)) conv=notrunc 2>/dev/null
	expect_rc 0 "malformed frame" "$B/replay" "$TMP/badihl.pcap"
	expect_in "$TMP/err" "badihl.pcap: packet 1: IPv4 header length 16 < 20" "malformed frame is named"
	expect_in "$TMP/out" "skipped: incomplete flow: no SYN" "flow without its SYN is skipped"
	expect_rc 1 "--incomplete fail" "$B/replay" --incomplete fail "$TMP/badihl.pcap"
	# Options
	expect_rc 2 "bad option" "$B/replay" --no-such-option "$S"
	expect_rc 2 "bad --expect" "$B/replay" --expect sideways "$S"
	expect_in "$TMP/err" "--expect sideways" "bad --expect names the option"
	expect_rc 2 "bad --target" "$B/replay" --target nowhere "$S"
	expect_rc 0 "--help" "$B/replay" --help
	expect_rc 2 "no arguments" "$B/replay"
	# IPv6 flows are replayed over [::1]; a host without an IPv6 loopback skips them with a reason. The
	# host is simulated by a private network namespace (root only) with IPv6 off on its loopback.
	if unshare -n true 2>/dev/null; then
		expect_rc 0 "no IPv6 loopback" unshare -n sh -c 'ip link set lo up && sysctl -qw net.ipv6.conf.lo.disable_ipv6=1 && exec "$0" "$@"' \
			"$B/replay" "$ROOT/pcaps/nano.pcap" "$S"
		expect_in "$TMP/out" "nano.pcap flow 1 tcp .*: skipped: IPv6 flow: this host has no IPv6 loopback" "no IPv6 loopback: IPv6 flow skipped"
		expect_in "$TMP/out" "2 ok, 0 mismatch, 0 error, 2 skipped" "no IPv6 loopback: IPv4 flows still replayed"
	else
		echo "replay badinput: cannot unshare a network namespace, the no-IPv6 case is not tested" >&2
	fi
	# Nobody listening: a setup error, not a mismatch.
	expect_rc 2 "refused target" "$B/replay" --target 127.0.0.1:1 "$ROOT/pcaps/gen-ooo.pcap"
	;;
planted)
	# A server that drops reply byte 20 on its 3rd connection: with -j 1 that is flow 3.
	start_bad --drop 20 --conn 3 || exit 1
	expect_rc 1 "dropped byte" "$B/replay" -j 1 --target "127.0.0.1:$PORT" --junit "$TMP/r.xml" --json "$TMP/r.json" \
		"$ROOT/pcaps/concurrent.pcap"
	expect_in "$TMP/out" "flow 3 tcp .*: MISMATCH: server->client differs at offset 20 " "dropped byte: flow 3, offset 20"
	[ "$(grep -c MISMATCH "$TMP/out")" -eq 1 ] && pass || fail "dropped byte: exactly one flow mismatches"
	expect_in "$TMP/out" "^  expected: 00000000 .*|CLIENT 2 LINE 0C|" "dropped byte: hexdump of the expected side"
	expect_in "$TMP/out" "^ *00000010 .*|LIEN 2 LINE 1 *| <-" "dropped byte: hexdump of the received side"
	xmllint --noout "$TMP/r.xml" && pass || fail "--junit output is not valid XML"
	expect_in "$TMP/r.xml" 'failures="1"' "--junit counts the failure"
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["summary"]["mismatch"] == 1; assert d["files"][0]["flows"][2]["offset"] == 20' "$TMP/r.json" \
		&& pass || fail "--json output is not valid JSON with the mismatch"
	stop_bad
	# The same bug against --expect upper.
	start_bad --drop 0 || exit 1
	expect_rc 1 "dropped byte, --expect upper" "$B/replay" --expect upper --target "127.0.0.1:$PORT" "$ROOT/pcaps/gen-ooo.pcap"
	expect_in "$TMP/out" "flow 1 tcp .*: MISMATCH: server->client differs at offset 0 " "--expect upper: flow 1, offset 0"
	stop_bad
	# A server that answers FIN with RST.
	start_bad --fin-rst || exit 1
	expect_rc 1 "FIN answered with RST" "$B/replay" --target "127.0.0.1:$PORT" "$ROOT/pcaps/gen-ooo.pcap"
	expect_in "$TMP/out" "flow 1 tcp .*: MISMATCH: server->client closed with RST at offset 26, recorded FIN" "FIN/RST: flow 1, offset 26"
	expect_rc 1 "FIN answered with RST, --expect upper" "$B/replay" --expect upper --target "127.0.0.1:$PORT" "$ROOT/pcaps/gen-ooo.pcap"
	expect_in "$TMP/out" "expected FIN (T4)" "FIN/RST under --expect upper names T4"
	stop_bad
	# A UDP server whose replies have the right length but a wrong byte 3: recorded mode compares each
	# reply with the recorded reply datagram (datagram 3 of udp-sizes.pcap is the first longer than 3).
	start_bad --udp-flip 3 || exit 1
	expect_rc 1 "UDP wrong same-length reply" "$B/replay" --target "127.0.0.1:$PORT" "$ROOT/pcaps/udp-sizes.pcap"
	expect_in "$TMP/out" "flow 1 udp .*: MISMATCH: reply to datagram 3 differs from the recorded reply at offset 3 (expected 1024 bytes, got 1024)" \
		"UDP recorded mode: datagram 3, offset 3"
	expect_in "$TMP/out" "^  got:      00000000  41 42 43 45 45 " "UDP recorded mode: hexdump of the reply"
	expect_rc 1 "UDP wrong same-length reply, --expect upper" "$B/replay" --expect upper --target "127.0.0.1:$PORT" \
		"$ROOT/pcaps/udp-sizes.pcap"
	expect_in "$TMP/out" "flow 1 udp .*: MISMATCH: reply to datagram 3 differs at offset 3: X1" "UDP --expect upper names X1"
	# Where the capture lost a reply, recorded mode falls back to the rule and says so.
	expect_rc 1 "UDP bad reply where none was captured" "$B/replay" --target "127.0.0.1:$PORT" "$ROOT/pcaps/gen-udp-noreply.pcap"
	expect_in "$TMP/out" "reply to datagram 2 differs at offset 3: .*(no recorded reply: checked by the rule)" \
		"UDP: the rule fallback catches datagram 2"
	stop_bad
	start_bad --udp-flip 100 || exit 1
	expect_rc 0 "UDP short datagrams untouched" "$B/replay" --target "127.0.0.1:$PORT" "$ROOT/pcaps/gen-udp-noreply.pcap"
	expect_in "$TMP/out" "2 equal to the recorded ones, 1 with no recorded reply checked by the rule" "UDP: the rule fallback is named"
	stop_bad
	# A client reset while the server owes output (reset-owed.pcap): a correct server passes without
	# replay demanding the owed bytes the capture never saw; a server killed by SIGPIPE when it writes into
	# the reset connection fails the run, although its own flow matched.
	start_bad --drop 100000000 || exit 1
	expect_rc 0 "reset while owed, correct server" "$B/replay" --target "127.0.0.1:$PORT" "$ROOT/pcaps/reset-owed.pcap"
	expect_in "$TMP/out" "flow 1 tcp .*: ok: sent 1048592 bytes in [0-9]* writes then RST" "reset while owed: replayed to the RST"
	stop_bad
	start_bad --sigpipe || exit 1
	expect_rc 1 "reset while owed, server dies of SIGPIPE" "$B/replay" --target "127.0.0.1:$PORT" "$ROOT/pcaps/reset-owed.pcap"
	expect_in "$TMP/err" "after the replay the server at 127.0.0.1:$PORT no longer serves (did it crash?)" "SIGPIPE death is reported"
	expect_in "$TMP/out" "; a server died" "SIGPIPE death is in the summary"
	stop_bad
	# --map sends a captured port to a server; an unmapped port is an error (exit 2).
	start_bad --drop 1000000 || exit 1
	sport=$("$B/replay" --list "$ROOT/pcaps/session1.pcap" | sed -n 's/.*flow 1 tcp [^>]*> 127.0.0.1:\([0-9]*\).*/\1/p')
	expect_rc 2 "--map without the UDP port" "$B/replay" --map "$sport=127.0.0.1:$PORT" "$ROOT/pcaps/session1.pcap"
	expect_in "$TMP/out" "flow 1 tcp .*: ok: " "--map: the mapped TCP flow is replayed"
	expect_in "$TMP/out" "flow 2 udp .*: ERROR: no --map for captured server port" "--map: the unmapped flow is an error"
	stop_bad
	;;
convert)
	# Flows -> fuzz seeds -> pcaps that replay, and the timing options.
	expect_rc 0 "--write-corpus" "$B/replay" --write-corpus "$TMP/corpus" "$ROOT/pcaps/session1.pcap"
	[ -s "$TMP/corpus/fuzz_tcp/session1-flow1" ] && pass || fail "--write-corpus wrote no TCP seed"
	[ -s "$TMP/corpus/fuzz_udp/session1-flow2" ] && pass || fail "--write-corpus wrote no UDP seed"
	for k in tcp udp; do
		n=1; [ $k = udp ] && n=2
		expect_rc 0 "--from-fuzz-input $k" "$B/replay" --from-fuzz-input "$TMP/corpus/fuzz_$k/session1-flow$n" \
			--write-pcap "$TMP/$k.pcap"
		expect_rc 0 "replay of the $k seed's pcap" "$B/replay" "$TMP/$k.pcap"
		"$B/replay" --list "$TMP/$k.pcap" >"$TMP/$k.list"
		"$B/replay" --list "$ROOT/pcaps/session1.pcap" >"$TMP/orig.list"
		# The client stream survives the round trip: same byte count.
		want=$(sed -n "/flow $n $k/{n;s/.*c2s \([0-9]*\) bytes.*/\1/p}" "$TMP/orig.list")
		expect_in "$TMP/$k.list" "c2s $want bytes" "$k round trip keeps the $want client bytes"
	done
	if command -v tcpdump >/dev/null 2>&1; then
		tcpdump -nr "$TMP/tcp.pcap" >/dev/null 2>&1 && pass || fail "tcpdump cannot read the written pcap"
	else
		echo "replay convert: tcpdump not installed, written pcap not cross-checked" >&2
	fi
	expect_rc 0 "--timing original" "$B/replay" --timing original "$ROOT/pcaps/gen-retrans.pcap"
	expect_rc 0 "--speed 4" "$B/replay" --speed 4 -j 2 "$ROOT/pcaps/session1.pcap"
	;;
*)
	echo "run-tests.sh: unknown test set $WHAT" >&2
	exit 2
	;;
esac
echo "replay $WHAT tests: $PASSES passed, $FAILS failed"
[ $FAILS -eq 0 ]

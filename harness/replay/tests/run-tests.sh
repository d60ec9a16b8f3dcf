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
. "$HERE/test-lib.sh"

# start_bad ARGS...: starts the planted-bug server, sets PORT.
start_bad() {
	server_start BAD "$B/badserver" "$@" || { fail "badserver did not start"; return 1; }
	PORT=$BAD_PORT
}

stop_bad() { server_stop BAD; }

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
	# A truncated last packet is reported with its number; the capture is cut, so its flows are not
	# checked (exit 2) unless --incomplete replay replays the packets before it (test-verdicts.sh has more).
	size=$(wc -c <"$S")
	head -c $((size - 5)) "$S" >"$TMP/cutlast.pcap"
	npk=$("$B/replay" --list "$S" | sed -n '1s/.*: \([0-9]*\) frames.*/\1/p')
	expect_rc 2 "truncated last packet" "$B/replay" "$TMP/cutlast.pcap"
	expect_in "$TMP/err" "cutlast.pcap: packet $npk: truncated" "truncated last packet is reported with its number"
	expect_rc 0 "truncated last packet, --incomplete replay" "$B/replay" --incomplete replay "$TMP/cutlast.pcap"
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
	# A capture whose every flow is skipped checked nothing: exit 2, naming why and what to do.
	cp "$ROOT/pcaps/reset.pcap" "$TMP/allskipped.pcap"
	printf '\104' | dd of="$TMP/allskipped.pcap" bs=1 seek=$((24 + 16 + 14)) conv=notrunc 2>/dev/null
	expect_rc 2 "every flow skipped" "$B/replay" "$TMP/allskipped.pcap"
	expect_in "$TMP/err" "no flow was checked: all 1 flows are incomplete.*tcpdump -B" "a run that checked nothing says why"
	# Options
	expect_rc 2 "bad option" "$B/replay" --no-such-option "$S"
	expect_in "$TMP/err" "--no-such-option: unknown option" "unknown option is named"
	expect_rc 2 "bad short option" "$B/replay" -x "$S"
	expect_in "$TMP/err" "-x: unknown option" "unknown short option is named"
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
	# Nobody listening: a setup error naming the address, not a mismatch and not a hang (TCP and UDP).
	expect_rc 2 "refused target" "$B/replay" --target 127.0.0.1:1 "$S"
	expect_in "$TMP/out" "flow 1 tcp .*: ERROR: connect to 127.0.0.1:1: Connection refused" "refused TCP target is named"
	expect_in "$TMP/out" "flow 2 udp .*: ERROR: nothing listens at the target" "refused UDP target is a setup error"
	# Write errors: every report and output file is checked, the run fails naming it (exit 2), and the
	# summary on stdout is still printed.
	expect_rc 2 "--junit /dev/full" "$B/replay" --junit /dev/full "$S"
	expect_in "$TMP/err" "--junit /dev/full: No space left on device" "--junit write error names the file"
	expect_in "$TMP/out" "^replay: 2 flows in 1 files: 2 ok" "--junit write error loses no result"
	expect_rc 2 "--json /dev/full" "$B/replay" --json /dev/full "$S"
	expect_in "$TMP/err" "--json /dev/full: No space left on device" "--json write error names the file"
	expect_rc 2 "--junit into a missing dir, --json still written" "$B/replay" --junit "$TMP/no/such/r.xml" --json "$TMP/r.json" "$S"
	expect_in "$TMP/err" "--junit $TMP/no/such/r.xml: No such file or directory" "--junit into a missing dir names the file"
	python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["summary"]["ok"] == 2' "$TMP/r.json" \
		&& pass || fail "--json is still written when --junit fails"
	# the one rule for output directories: the last part is created, a missing parent is refused
	expect_rc 2 "--write-corpus under a missing parent" "$B/replay" --write-corpus "$TMP/new/corpus" "$S"
	expect_in "$TMP/err" "--write-corpus $TMP/new/corpus: its parent directory $TMP/new does not exist" \
		"--write-corpus names the missing parent"
	expect_rc 0 "--write-corpus creates a missing dir" "$B/replay" --write-corpus "$TMP/new" "$S"
	[ -s "$TMP/new/fuzz_tcp/session1-flow1" ] && pass || fail "--write-corpus into a new dir wrote no seed"
	expect_rc 2 "--write-pcap /dev/full" "$B/replay" --from-fuzz-input "$S" --write-pcap /dev/full
	expect_in "$TMP/err" "--write-pcap: /dev/full: write error" "--write-pcap write error names the file"
	expect_rc 2 "--write-pcap into a missing dir" "$B/replay" --from-fuzz-input "$S" --write-pcap "$TMP/no/such/dir/x.pcap"
	expect_in "$TMP/err" "no/such/dir/x.pcap" "--write-pcap into a missing dir names the file"
	for args in "$S" "--list $S" "--write-corpus $TMP/c1 $S" "--help"; do
		timeout 60 "$B/replay" $args >/dev/full 2>"$TMP/err"
		rc=$?
		[ $rc -eq 2 ] && pass || fail "replay $args >/dev/full: exit $rc, expected 2"
		expect_in "$TMP/err" "standard output: No space left on device" "replay $args >/dev/full names stdout"
	done
	: >"$TMP/afile"
	expect_rc 2 "--write-corpus under a file" "$B/replay" --write-corpus "$TMP/afile/corpus" "$S"
	expect_in "$TMP/err" "--write-corpus $TMP/afile/corpus: Not a directory" "--write-corpus under a file names the dir"
	mkdir -p "$TMP/ro"
	chmod 555 "$TMP/ro"
	if [ -w "$TMP/ro" ]; then
		# root writes anywhere: /proc/self refuses new directories to everybody.
		expect_rc 2 "--write-corpus into a read-only dir" "$B/replay" --write-corpus /proc/self/corpus "$S"
		expect_in "$TMP/err" "--write-corpus /proc/self/corpus" "--write-corpus read-only names the dir"
	else
		expect_rc 2 "--write-corpus into a read-only dir" "$B/replay" --write-corpus "$TMP/ro/corpus" "$S"
		expect_in "$TMP/err" "--write-corpus $TMP/ro/corpus" "--write-corpus read-only names the dir"
	fi
	chmod 755 "$TMP/ro"
	# Not captures: a directory, a header with a huge snap length, garbage, a file with no flows.
	expect_rc 2 "directory as PCAP" "$B/replay" "$TMP"
	expect_in "$TMP/err" "$TMP: not a readable pcap/pcapng file: .*Is a directory" "directory as PCAP is named"
	expect_rc 2 "directory as fuzz input" "$B/replay" --from-fuzz-input "$TMP" --write-pcap "$TMP/x.pcap"
	expect_in "$TMP/err" "--from-fuzz-input $TMP: Is a directory" "directory as fuzz input is named"
	# pcap header (magic, 2.4, snaplen 0xffffffff, EN10MB), then a record claiming 0xfffffff0 bytes.
	python3 -c 'import struct,sys; h=struct.pack("<IHHiIII",0xa1b2c3d4,2,4,0,0,0xffffffff,1)
open(sys.argv[1],"wb").write(h+struct.pack("<IIII",0,0,0xfffffff0,0xfffffff0)+b"x"*100)
open(sys.argv[2],"wb").write(h+struct.pack("<IIII",0,0,60,60)+b"\xff"*60)' "$TMP/huge.pcap" "$TMP/noflow.pcap"
	expect_rc 2 "huge snaplen and record length" "$B/replay" "$TMP/huge.pcap"
	expect_in "$TMP/err" "huge.pcap: packet 1: " "huge record length names file and packet"
	expect_rc 2 "capture without flows" "$B/replay" "$TMP/noflow.pcap"
	expect_in "$TMP/err" "noflow.pcap: no TCP or UDP flow to replay" "a capture with nothing to replay is an error, not a pass"
	expect_rc 2 "--list of a capture without flows" "$B/replay" --list "$TMP/noflow.pcap"
	expect_in "$TMP/err" "noflow.pcap: no TCP or UDP flow to replay" "--list and a replay agree on a capture without flows"
	head -c 10000 /dev/urandom >"$TMP/garbage.pcap"
	expect_rc 2 "garbage file" "$B/replay" "$TMP/garbage.pcap"
	expect_in "$TMP/err" "garbage.pcap: " "garbage file is named"
	# Wrong options, missing arguments and bad numbers: exit 2 naming the option.
	for bad in "--timeout" "--timeout abc" "--timeout 0" "--timeout 99999999999999999999" "-j" "-j 0" "-j 257" \
		"--speed abc" "--speed -1" "--map 8082" "--map 99999=127.0.0.1:1" "--map 8082=nowhere" \
		"--server-port 70000" "--server-port x" "--incomplete maybe" "--timing slow" "--fuzz-format sctp" \
		"--junit" "--json" "--write-corpus" "--target" "--target 127.0.0.1:99999"; do
		opt=${bad%% *}
		# shellcheck disable=SC2086
		expect_rc 2 "bad option: $bad" "$B/replay" "$S" $bad
		expect_in "$TMP/err" "$opt" "bad option $bad: the message names $opt"
	done
	expect_rc 2 "--write-pcap without --from-fuzz-input" "$B/replay" --write-pcap "$TMP/x.pcap"
	expect_in "$TMP/err" "--from-fuzz-input and --write-pcap go together" "--write-pcap alone is explained"
	;;
planted)
	# Targets that misbehave at the transport level: bounded by --timeout, never a hang or a silent pass.
	start_bad --silent || exit 1
	t0=$(date +%s)
	expect_rc 1 "silent TCP target" "$B/replay" --timeout 500ms --target "127.0.0.1:$PORT" "$ROOT/pcaps/gen-ooo.pcap" \
		"$ROOT/pcaps/halfclose.pcap" "$ROOT/pcaps/reset-owed.pcap"
	[ $(($(date +%s) - t0)) -le 10 ] && pass || fail "silent TCP target: took more than 10 s at --timeout 500ms"
	expect_in "$TMP/out" "halfclose.pcap flow 1 tcp .*: MISMATCH: server->client ends early at offset 0 .*silence until the timeout" \
		"silent TCP target: ends early, silence"
	expect_in "$TMP/err" "fails a probe exchange" "silent TCP target fails the probe"
	stop_bad
	start_bad --udp-flip 0 --silent || exit 1
	expect_rc 1 "silent UDP target" "$B/replay" --timeout 500ms --target "127.0.0.1:$PORT" "$ROOT/pcaps/udp-sizes.pcap"
	expect_in "$TMP/out" "no reply to datagram 1 (0 bytes) before the timeout (U1)" "silent UDP target: no reply"
	stop_bad
	start_bad --endless || exit 1
	for x in recorded upper; do
		expect_rc 1 "endless garbage, --expect $x" "$B/replay" --expect $x --timeout 500ms --target "127.0.0.1:$PORT" \
			"$ROOT/pcaps/gen-ooo.pcap" "$ROOT/pcaps/halfclose.pcap" "$ROOT/pcaps/reset-owed.pcap"
		expect_in "$TMP/out" "reset-owed.pcap flow 1 tcp .*: MISMATCH: server->client differs at offset 0" "endless garbage, --expect $x: differs at 0"
		expect_in "$TMP/out" "^  got:      00000000  a5 a5" "endless garbage, --expect $x: hexdump"
	done
	stop_bad
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
	expect_in "$TMP/err" "after the replay the server at 127.0.0.1:$PORT fails a probe exchange (did it crash?)" "SIGPIPE death is reported"
	expect_in "$TMP/out" "; a server failed the probe after the replay" "SIGPIPE death is in the summary"
	stop_bad
	# The same death of a reference server that replay started itself: a copy of replay next to a
	# "tcp-upper" that is badserver --sigpipe.
	mkdir -p "$TMP/fakebin"
	cp "$B/replay" "$TMP/fakebin/replay"
	printf '#!/bin/sh\nexec "%s" --sigpipe "$@"\n' "$B/badserver" >"$TMP/fakebin/tcp-upper"
	chmod +x "$TMP/fakebin/tcp-upper"
	expect_rc 1 "reference server dies of SIGPIPE" "$TMP/fakebin/replay" "$ROOT/pcaps/reset-owed.pcap"
	expect_in "$TMP/err" "the reference server (pid [0-9]*) died during the replay: signal 13" "reference server death names the signal"
	# --map sends a captured port to a server; an unmapped port is an error (exit 2) unless --only leaves
	# it out.
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

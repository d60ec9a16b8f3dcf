#!/bin/sh
# test-verdicts.sh - replay's verdicts say what a user means: a conform failure pcap replays as a failure
# against the server that failed (a mutant) and as a pass against the reference, with no extra option (the
# pcap's capslock note); a cut capture (a file that ends inside a packet, a snap length that cut payloads
# or headers) is not checked, exit 2, unless --incomplete says otherwise; --only leaves flows out with a
# reason; and every example `replay --help` shows runs and passes.
#
# usage: harness/replay/tests/test-verdicts.sh BINDIR MUTANTDIR
#   BINDIR    holds replay, conform, tcp-upper and udp-upper
#   MUTANTDIR holds the latin1, sigpipe and garbage mutants (tests/mutants, built by harness/conform/conform.mk)
# Exit status: 0 all passed, 1 a test failed, 2 usage error. Takes about 6 s (15 s on a loaded host).
set -u

case "${1:-}" in -h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;; esac
[ $# -eq 2 ] || { echo "usage: test-verdicts.sh BINDIR MUTANTDIR" >&2; exit 2; }
B=$(cd "$1" && pwd) || exit 2
M=$(cd "$2" && pwd) || exit 2
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
. "$HERE/test-lib.sh"

S=$ROOT/pcaps/session1.pcap
server_start MUT "$M/latin1" || exit 1
server_start TCP "$B/tcp-upper" -l 127.0.0.1:0 || exit 1
server_start UDP "$B/udp-upper" -l 127.0.0.1:0 || exit 1
MUT=127.0.0.1:$MUT_PORT TCP=127.0.0.1:$TCP_PORT UDP=127.0.0.1:$UDP_PORT

# ---- 1. A conform failure pcap carries what SPEC expects ------------------------------------------------
P=$TMP/pcap
mkdir -p "$P"
timeout 60 "$B/conform" --timeout 1s --retries 0 --exec "$M/latin1" --only tcp/transform/all-bytes \
	--only udp/transform/all-bytes --pcap-dir "$P" >"$TMP/conform.out" 2>&1
T=$P/tcp_transform_all-bytes.pcap U=$P/udp_transform_all-bytes.pcap
[ -s "$T" ] && [ -s "$U" ] && pass || fail "conform --pcap-dir wrote no pcap of the latin1 mutant's failures"
expect_rc 0 "--list of a failure pcap" "$B/replay" --list "$T"
expect_in "$TMP/out" '^  note "capslock expect=upper case=tcp/transform/all-bytes rule=X1"' "--list shows the note"
expect_rc 1 "failure pcap against the server that failed (TCP)" "$B/replay" --target "$MUT" "$T"
expect_in "$TMP/out" "flow 1 tcp .*: MISMATCH: server->client differs at offset" "the TCP failure is named"
expect_in "$TMP/out" 'note "capslock expect=upper.*judged by the protocol rule' "the replay says why it judges by the rule"
expect_rc 0 "failure pcap against the reference (TCP)" "$B/replay" --target "$TCP" "$T"
expect_rc 1 "failure pcap against the server that failed (UDP)" "$B/replay" --target "$MUT" "$U"
expect_in "$TMP/out" "flow 1 udp .*: MISMATCH: reply to datagram 1 differs" "the UDP failure is named"
expect_rc 0 "failure pcap against the reference (UDP)" "$B/replay" --target "$UDP" "$U"
expect_rc 0 "failure pcaps against the reference servers replay starts" "$B/replay" "$T" "$U"
expect_rc 0 "--json of a failure pcap" "$B/replay" --json "$TMP/r.json" "$T"
python3 -c 'import json,sys; f=json.load(open(sys.argv[1]))["files"][0]; assert f["expect"] == "upper" and f["note"].startswith("capslock ")' \
	"$TMP/r.json" && pass || fail "--json names the expectation and the note"
# --expect overrides the note: recorded, the mutant's own answer matches.
expect_rc 0 "--expect recorded overrides the note" "$B/replay" --expect recorded --target "$MUT" "$T"
expect_in "$TMP/out" "note .*: --expect overrides it: the replies must equal the recorded ones" "the override is said"
# A failure of SPEC T6 (the sigpipe mutant dies when a client resets while it owes output): replayed by the
# note, the client still reads no more than the recorded one did, so the server owes output at the reset,
# dies, and fails the probe; the reference passes.
timeout 60 "$B/conform" --timeout 1s --retries 0 --exec "$M/sigpipe" --only tcp/reset/owed --pcap-dir "$P" \
	>"$TMP/conform2.out" 2>&1
O=$P/tcp_reset_owed.pcap
[ -s "$O" ] && pass || fail "conform --pcap-dir wrote no pcap of the sigpipe mutant's failure"
# Whether the server still owes output at the reset depends on how much the kernel's socket buffers took
# meanwhile: up to three tries, each against a fresh mutant (without the hold, no try can fail).
for try in 1 2 3; do
	server_start SIG "$M/sigpipe" || exit 1
	timeout 60 "$B/replay" --timeout 2s --target "127.0.0.1:$SIG_PORT" "$O" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	server_stop SIG
	[ $rc -eq 1 ] && break
done
[ $rc -eq 1 ] && pass || fail "T6 failure pcap against the server that failed: exit $rc in 3 tries, expected 1"
expect_in "$TMP/err" "after the replay the server at 127.0.0.1:[0-9]* fails a probe exchange" "the T6 failure: the server died"
expect_rc 0 "T6 failure pcap against the reference" "$B/replay" --target "$TCP" "$O"
# The garbage mutant answers more bytes than it was sent: against the reference, replay waits before each
# action for no more than a conforming server owes, not for the recorded flood (a timeout per action).
timeout 60 "$B/conform" --timeout 1s --retries 0 --exec "$M/garbage" --only tcp/framing/interactive --pcap-dir "$P" \
	>"$TMP/conform3.out" 2>&1
G=$P/tcp_framing_interactive.pcap
[ -s "$G" ] && pass || fail "conform --pcap-dir wrote no pcap of the garbage mutant's failure"
t0=$(date +%s)
expect_rc 0 "garbage failure pcap against the reference" "$B/replay" --timeout 10s --target "$TCP" "$G"
[ $(($(date +%s) - t0)) -lt 9 ] && pass || fail "garbage failure pcap against the reference: a wait for the recorded flood (>= 9 s at --timeout 10s)"
server_start GARBAGE "$M/garbage" || exit 1
expect_rc 1 "garbage failure pcap against the server that failed" "$B/replay" --timeout 2s --target "127.0.0.1:$GARBAGE_PORT" "$G"
server_stop GARBAGE
# A note replay cannot read is an input error, not a silent default (expect=upper made expect=uppex).
sed 's/expect=upper/expect=uppex/' "$T" >"$TMP/badnote.pcap"
expect_rc 2 "a note with an unknown expect=" "$B/replay" --target "$TCP" "$TMP/badnote.pcap"
expect_in "$TMP/err" "badnote.pcap: packet 1: capslock note .*expect=uppex is neither upper nor recorded" "the bad note is named"

# A note that says the recording stopped at its bound makes the capture cut (rule=X1 made cut=abc).
sed 's/rule=X1/cut=abc/' "$T" >"$TMP/cutnote.pcap"
expect_rc 2 "a note that says cut=" "$B/replay" --target "$TCP" "$TMP/cutnote.pcap"
expect_in "$TMP/out" "skipped: not checked: the capture is cut: its note says cut=abc" "a cut recording is not checked"

# ---- 2. A cut capture is not a pass ----------------------------------------------------------------------
head -c 1000 "$S" >"$TMP/cut1000.pcap"
expect_rc 2 "capture cut at 1000 bytes" "$B/replay" "$TMP/cut1000.pcap"
expect_in "$TMP/out" "skipped: not checked: the capture is cut: the file ends inside packet 11" "cut file: the flow says why"
expect_in "$TMP/err" "no flow was checked: the capture is cut" "cut file: the run says why"
head -c 1000 "$ROOT/pcaps/session1.pcapng" >"$TMP/cut1000.pcapng"
expect_rc 2 "pcapng capture cut at 1000 bytes" "$B/replay" "$TMP/cut1000.pcapng"
expect_in "$TMP/err" "cut1000.pcapng: packet [0-9]*: truncated pcapng dump file" "cut pcapng: libpcap's reason, with the packet"
expect_rc 0 "cut capture, --incomplete replay" "$B/replay" --incomplete replay "$TMP/cut1000.pcap"
expect_rc 1 "cut capture, --incomplete fail" "$B/replay" --incomplete fail "$TMP/cut1000.pcap"
size=$(wc -c <"$S")
head -c $((size - 5)) "$S" >"$TMP/cutlast.pcap"
expect_rc 2 "capture cut inside its last packet, beside a whole one" "$B/replay" "$S" "$TMP/cutlast.pcap"
expect_in "$TMP/out" "^replay: 4 flows in 2 files: 2 ok, 0 mismatch, 0 error, 2 skipped" "the whole capture is still replayed"
expect_in "$TMP/err" "2 flows not checked: the capture is cut" "a cut file beside a whole one is not a pass"
if command -v editcap >/dev/null 2>&1; then
	# Snap length 80: the handshake's headers are whole, the TCP payloads past 14 bytes are cut.
	editcap -s 80 "$S" "$TMP/snap80.pcap"
	expect_rc 2 "payload cut by the snap length" "$B/replay" "$TMP/snap80.pcap"
	expect_in "$TMP/out" "flow 1 tcp .*: skipped: not checked: payload cut by the capture's snap length" "snap length: the cut flow says why"
	expect_in "$TMP/out" "flow 2 udp .*: ok: " "snap length: the whole UDP flow is replayed"
	expect_rc 1 "payload cut by the snap length, --incomplete fail" "$B/replay" --incomplete fail "$TMP/snap80.pcap"
	# Snap length 70: the SYNs' TCP headers (40 bytes with options) are cut, so a flow cannot be told.
	editcap -s 70 "$S" "$TMP/snap70.pcap"
	expect_rc 2 "headers cut by the snap length" "$B/replay" "$TMP/snap70.pcap"
	expect_in "$TMP/out" "skipped: not checked: the capture is cut: the snap length cut packet 1 inside its headers (70 of 74 bytes captured)" \
		"snap length in the headers: named with the packet"
else
	fail "editcap (wireshark-common, ci/install-deps.sh) is missing: snap-length cuts are not tested"
fi

# ---- 3. --only, unmapped flows, and the examples of --help -----------------------------------------------
# capture.pcap of the examples: a TCP flow to port 8082 and a UDP flow to port 8080, as two files made
# from the session's seeds (replay writes them with those ports).
"$B/replay" --write-corpus "$TMP/corpus" "$S" >/dev/null &&
	"$B/replay" --from-fuzz-input "$TMP/corpus/fuzz_tcp/session1-flow1" --write-pcap "$TMP/cap-tcp.pcap" >/dev/null &&
	"$B/replay" --from-fuzz-input "$TMP/corpus/fuzz_udp/session1-flow2" --write-pcap "$TMP/cap-udp.pcap" >/dev/null &&
	pass || fail "could not make the example capture"
CAP="$TMP/cap-tcp.pcap $TMP/cap-udp.pcap"
expect_rc 2 "--target at a TCP-only server, UDP flow included" "$B/replay" --target "$TCP" $CAP
expect_in "$TMP/out" "flow 1 udp .*: ERROR: nothing listens at the target.*give --only tcp" "the refused UDP flow names --only tcp"
expect_rc 0 "--only tcp at a TCP-only server" "$B/replay" --target "$TCP" --only tcp $CAP
expect_in "$TMP/out" "flow 1 udp .*: skipped: left out by --only tcp" "--only tcp: the UDP flow is skipped with the reason"
expect_in "$TMP/out" "flow 1 tcp .*: ok: " "--only tcp: the TCP flow is replayed"
expect_rc 0 "--only udp" "$B/replay" --target "$UDP" --only udp $CAP
expect_in "$TMP/out" "flow 1 tcp .*: skipped: left out by --only udp" "--only udp: the TCP flow is skipped"
expect_rc 2 "--map without the other port" "$B/replay" --map "8082=$TCP" $CAP
expect_in "$TMP/out" "flow 1 udp .*: ERROR: no --map for captured server port 8080 (map it, give --target, or leave the flow out with --only)" \
	"an unmapped port is an error that says what to do"
expect_rc 0 "--map with --only PORT" "$B/replay" --map "8082=$TCP" --only 8082 $CAP
expect_in "$TMP/out" "flow 1 udp .*: skipped: left out by --only: captured server port 8080" "--only PORT: the other port is skipped"
expect_rc 2 "--only that leaves every flow out" "$B/replay" --only 9999 $CAP
expect_in "$TMP/err" "no flow was checked: --only left out all 2 flows" "a run where --only left out everything says so"
expect_rc 2 "--only with --list" "$B/replay" --only tcp --list "$S"
expect_in "$TMP/err" "--only chooses the flows to replay: it does not go with --list" "--only with --list is refused, not ignored"
expect_rc 2 "--only sctp" "$B/replay" --only sctp "$S"
expect_in "$TMP/err" "--only sctp: expected tcp, udp or a port number" "a bad --only is named"
# Every example of --help, with its addresses and files made real: 127.0.0.1:8082 and :9000 are a TCP-only
# server, :9001 a UDP one, capture.pcap the capture above, fails/*.pcap (conform --pcap-dir fails/) the failure pcap of part 1.
"$B/replay" --help >"$TMP/help" 2>&1
sed -n '/^Examples:/,$p' "$TMP/help" | sed -n 's/^  replay //p' >"$TMP/examples"
n=$(wc -l <"$TMP/examples")
[ "$n" -ge 3 ] && pass || fail "replay --help shows $n examples (want at least 3, under 'Examples:')"
cd "$ROOT" || exit 2 # the examples name pcaps/ from the top of the tree
while IFS= read -r args; do
	real=$(printf '%s\n' "$args" | sed -e "s|127\.0\.0\.1:8082|$TCP|g; s|127\.0\.0\.1:9000|$TCP|g; s|127\.0\.0\.1:9001|$UDP|g" \
		-e "s|capture\.pcap|$CAP|g; s|fails/tcp_transform_all-bytes\.pcap|$T|g")
	# shellcheck disable=SC2086
	expect_rc 0 "help example: replay $args" "$B/replay" $real
	case " $args " in
	*" --list "* | *" --decode-only "* | *" --write-corpus "* | *" --from-fuzz-input "*) ;;
	*) cat "$TMP/err" >>"$TMP/out" # a report on stdout ('-') sends the flow lines to stderr
	   expect_in "$TMP/out" ": ok: " "help example replay $args checks a flow" ;;
	esac
done <"$TMP/examples"

echo "replay verdict tests: $PASSES passed, $FAILS failed"
[ $FAILS -eq 0 ]

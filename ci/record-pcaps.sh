#!/bin/sh
# record-pcaps.sh - records the committed real captures in pcaps/ with tcpdump on loopback, running the
# tutorial's interactive sessions (and the other cases listed below) against the reference servers.
#
# usage: ci/record-pcaps.sh [--help] [OUTDIR [FILE...]]   (default OUTDIR: pcaps; needs root for tcpdump)
#
# With FILE names (for example reset-owed.pcap) only those captures are recorded, so adding a scenario
# does not re-record, and change the ports and timings of, every other capture.
#
# It starts bin/tcp-upper and bin/udp-upper on free loopback ports (IPv4, and IPv6 for one capture),
# captures each scenario with tcpdump into its own file, and then derives the variants tcpdump cannot
# write (pcapng, big-endian pcap, NULL/LOOP/RAW/802.1Q link types) with ci/gen-pcap-variants.py.
# Generated captures with out-of-order segments, retransmissions and overlaps are made by
# build/std/bin/gen-pcaps (harness/replay/gen_pcaps.c), which this script also runs.
#
#   session1.pcap       tutorial: interactive TCP session (3 lines, a reply each, disconnect) and
#                       interactive UDP session (3 lines), EN10MB, microseconds
#   halfclose.pcap      TCP: client sends 100 kB, half-closes, reads the rest until the server's FIN
#   reset.pcap          TCP: client resets (SO_LINGER 0) mid-stream after a few exchanges, once every
#                       reply has arrived
#   reset-owed.pcap     TCP: client with a 4 kB receive buffer sends a 1 MiB block without reading
#                       (or until the server stops reading, SPEC T8), then resets while the server
#                       still owes it output (T6). 1 MiB, not more: the loopback kernel buffers take
#                       it all, so the capture holds the whole block; 1 MiB keeps pcaps/ small.
#   binary.pcap         TCP and UDP: every byte value 0x00-0xff
#   concurrent.pcap     TCP: 6 clients interleaving their lines
#   udp-sizes.pcap      UDP: empty, 1, 1024, 1025, 8192, 8193 and 65507-byte datagrams
#   any-sll2.pcap       tcpdump -i any (LINUX_SLL2): every loopback packet is seen twice
#   any-sll.pcap        tcpdump -i any -y LINUX_SLL (cooked v1)
#   nano.pcap           --time-stamp-precision=nano, IPv6 TCP and UDP
#   + variants: session1.pcapng, session1-be.pcap, session1-null.pcap, session1-loop.pcap,
#     session1-raw.pcap, session1-vlan.pcap, nano.pcapng (see ci/gen-pcap-variants.py)
#
# Re-recording changes ports and timings, so afterwards run `make replay-golden-update` and review
# the golden diff (harness/replay/tests/golden/) before committing both.
set -eu

case "${1:-}" in
-h|--help)
	sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'
	exit 0 ;;
esac

OUT=${1:-pcaps}
[ $# -gt 0 ] && shift
ONLY="$*"
# want FILE: FILE is to be recorded (no FILE arguments: all of them).
want() { [ -z "$ONLY" ] || case " $ONLY " in *" $1 "*) true ;; *) false ;; esac; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/build/std/bin}
TMP=$(mktemp -d)
SERVER_LOGDIR=$TMP
. "$ROOT/ci/lib.sh"

cleanup() {
	server_stop_all || true
	wait 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

for p in tcp-upper udp-upper gen-pcaps replay; do
	[ -x "$BIN/$p" ] || { echo "record-pcaps: $BIN/$p is missing (run make)" >&2; exit 2; }
done
command -v tcpdump >/dev/null || { echo "record-pcaps: tcpdump is not installed" >&2; exit 2; }
mkdir -p "$OUT"

# start NAME PROG ADDR: starts a server, sets NAME_PORT from its listening line.
start() {
	server_start "$1" "$BIN/$2" -l "$3" || { echo "record-pcaps: $2 did not start" >&2; exit 2; }
}

start TCP tcp-upper 127.0.0.1:0
start UDP udp-upper 127.0.0.1:0
start TCP6 tcp-upper '[::1]:0'
start UDP6 udp-upper '[::1]:0'
# Only our servers' traffic: other programs on this host may use the same port numbers.
FILTER="(ip and tcp port $TCP_PORT) or (ip and udp port $UDP_PORT) or (ip6 and tcp port $TCP6_PORT) or (ip6 and udp port $UDP6_PORT)"

# capture FILE IFACE [tcpdump options...]: records the client scenario named by $SCENARIO. A capture
# that lost a packet (the kernel can drop under load) is recorded again, up to 3 times.
capture() {
	want "$1" || return 0
	for attempt in 1 2 3; do
		capture_once "$@"
		if ! "$BIN/replay" --list "$OUT/$1" | grep -q incomplete; then
			return 0
		fi
		echo "record-pcaps: $OUT/$1 lost packets, recording it again" >&2
	done
	echo "record-pcaps: $OUT/$1 keeps losing packets" >&2
	exit 1
}

capture_once() {
	file=$1; iface=$2; shift 2
	tcpdump -i "$iface" -Z root -U --immediate-mode -B 8192 -s 0 "$@" -w "$TMP/cap.pcap" "$FILTER" 2>"$TMP/tcpdump.err" &
	tp=$!
	i=0
	while ! grep -q 'listening on' "$TMP/tcpdump.err" 2>/dev/null; do
		i=$((i + 1)); [ $i -lt 100 ] || { cat "$TMP/tcpdump.err" >&2; exit 2; }
		sleep 0.05
	done
	sleep 0.2
	if ! python3 "$TMP/client.py" "$SCENARIO" "$TCP_PORT" "$UDP_PORT" "$TCP6_PORT" "$UDP6_PORT"; then
		echo "record-pcaps: scenario $SCENARIO failed" >&2
		kill -INT $tp; wait $tp || true
		exit 1
	fi
	sleep 0.5
	kill -INT $tp
	wait $tp || true
	mv "$TMP/cap.pcap" "$OUT/$file"
	echo "record-pcaps: $OUT/$file ($(grep -o '[0-9]* packets captured' "$TMP/tcpdump.err"))"
}

cat >"$TMP/client.py" <<'EOF'
# Scripted clients for record-pcaps.sh. Each waits for the whole reply before the next line, like the
# tutorial's interactive clients (send a line without its newline, print the answer).
import select, socket, struct, sys, time

scenario, tport, uport, tport6, uport6 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])

def tcp(host=("127.0.0.1", 0), fam=socket.AF_INET):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(host)
    return s

def ask(s, data):
    s.sendall(data)
    got = b""
    while len(got) < len(data):
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    assert got == data.upper(), (got, data)
    time.sleep(0.02)

def udp_ask(u, addr, data):
    u.sendto(data, addr)
    got, _ = u.recvfrom(70000)
    assert got == data.upper(), (len(got), len(data))
    time.sleep(0.02)

T, U = ("127.0.0.1", tport), ("127.0.0.1", uport)
T6, U6 = ("::1", tport6), ("::1", uport6)
lines = [b"hello", b"Hello, World!", b"the quick brown fox 123"]

def tutorial_session(fam, taddr, uaddr):
    """The tutorial's session: each line over TCP, then each line as a UDP datagram."""
    s = tcp(taddr, fam)
    for l in lines:
        ask(s, l)
    s.close()
    u = socket.socket(fam, socket.SOCK_DGRAM)
    u.settimeout(5)
    for l in lines:
        udp_ask(u, uaddr, l)
    u.close()

if scenario in ("session1", "any"):
    tutorial_session(socket.AF_INET, T, U)
elif scenario == "nano":
    tutorial_session(socket.AF_INET6, T6, U6)
elif scenario == "halfclose":
    s = tcp(T)
    ask(s, b"first line\n")
    data = bytes((i * 7) % 256 for i in range(100000))
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    got = b""
    while True:
        c = s.recv(65536)
        if not c:
            break
        got += c
    assert got == data.upper()
    s.close()
elif scenario == "reset":
    s = tcp(T)
    ask(s, b"one")
    ask(s, b"two")
    s.sendall(b"three, then a reset")
    time.sleep(0.05)
    s.recv(65536)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
elif scenario == "reset-owed":
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: a small window
    s.settimeout(5)
    s.connect(T)
    ask(s, b"before the flood")
    s.setblocking(False)
    data = bytes(97 + i % 26 for i in range(1 << 20))
    sent = 0
    while sent < len(data):
        if not select.select([], [s], [], 0.5)[1]:
            break  # the server stopped reading: its buffer and ours are full (T8)
        try:
            sent += s.send(data[sent:sent + 65536])
        except BlockingIOError:
            pass
    time.sleep(0.2)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()  # RST while the server owes the transform of everything it read
    print("reset-owed: sent %d of %d bytes before the reset" % (sent, len(data)), file=sys.stderr)
elif scenario == "binary":
    data = bytes(range(256))
    s = tcp(T)
    ask(s, data)
    ask(s, data[::-1])
    s.close()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(5)
    udp_ask(u, U, data)
    udp_ask(u, U, b"\x00")
    u.close()
elif scenario == "concurrent":
    socks = [tcp(T) for _ in range(6)]
    for r in range(3):
        for i, s in enumerate(socks):
            ask(s, b"client %d line %d" % (i, r))
    for s in socks:
        s.close()
elif scenario == "udp-sizes":
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(5)
    u.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    u.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    for n in (0, 1, 1024, 1025, 8192, 8193, 65507):
        udp_ask(u, U, bytes(97 + i % 26 for i in range(n)))
    u.close()
else:
    sys.exit("unknown scenario " + scenario)
EOF

SCENARIO=session1 capture session1.pcap lo
SCENARIO=halfclose capture halfclose.pcap lo
SCENARIO=reset capture reset.pcap lo
SCENARIO=reset-owed capture reset-owed.pcap lo
SCENARIO=binary capture binary.pcap lo
SCENARIO=concurrent capture concurrent.pcap lo
SCENARIO=udp-sizes capture udp-sizes.pcap lo
SCENARIO=any capture any-sll2.pcap any
SCENARIO=any capture any-sll.pcap any -y LINUX_SLL
SCENARIO=nano capture nano.pcap lo --time-stamp-precision=nano

[ -z "$ONLY" ] || exit 0
# Variants tcpdump cannot write, derived byte for byte (documented in the script).
V=$ROOT/ci/gen-pcap-variants.py
python3 "$V" pcapng "$OUT/session1.pcap" "$OUT/session1.pcapng"
python3 "$V" pcapng "$OUT/nano.pcap" "$OUT/nano.pcapng"
python3 "$V" big-endian "$OUT/session1.pcap" "$OUT/session1-be.pcap"
for l in null loop raw vlan; do
	python3 "$V" "$l" "$OUT/session1.pcap" "$OUT/session1-$l.pcap"
done

# Generated captures (out-of-order, retransmissions, overlaps, wraparound, gaps, ...).
"$BIN/gen-pcaps" "$OUT"

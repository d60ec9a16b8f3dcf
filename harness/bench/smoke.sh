#!/bin/sh
# smoke.sh - the bench's test: the load generator passes correct servers and catches wrong ones.
# usage: smoke.sh BINDIR   (BINDIR holds tcp-upper, udp-upper, bench/loadgen, bench/echo)
# Timings are never asserted: each case checks the load generator's exit status (0 figures, 1 wrong reply).
set -u
B=${1:?usage: smoke.sh BINDIR}
T=${SMOKE_TIME:-0.5}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-smoke.XXXXXX") || exit 2
fails=0
cases=0
SERVER_LOGDIR=$tmp
. "$(dirname "$0")/../../ci/lib.sh"
trap 'server_stop_all; rm -rf "$tmp"' EXIT INT TERM

# start NAME CMD...: stops the previous server, starts this one on port 0, sets addr and pid from its
# listening line.
start() {
	server_stop_all
	server_start "$@" || { echo "smoke: $1 did not start" >&2; exit 1; }
	addr=$SERVER_ADDR
	pid=$SERVER_PID
}

# expect WANT WHAT LOADGEN-ARGS...: runs the load generator at addr (none when addr is empty: --exec),
# checks its exit status.
expect() {
	want=$1
	what=$2
	shift 2
	cases=$((cases + 1))
	timeout 60 "$B/bench/loadgen" -T "$T" "$@" ${addr:+"$addr"} >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ $rc -ne "$want" ]; then
		echo "FAIL: $what: loadgen $* $addr exited $rc, expected $want" >&2
		cat "$tmp/out" "$tmp/err" >&2
		fails=$((fails + 1))
	else
		echo "ok: $what ($(cat "$tmp/err" "$tmp/out" | head -c 160 | tr '\n' ' '))"
	fi
}

start echo_tcp "$B/bench/echo" -l 127.0.0.1:0
expect 0 "echo TCP stream, 2 connections" -e -m stream -c 2
expect 0 "echo TCP ping-pong" -e -m pingpong
expect 0 "echo TCP accept" -e -m accept
expect 0 "echo TCP idle, 300 connections" -e -m idle -c 300 -p "$pid"
expect 1 "upper mode catches the echo server (stream)" -m stream
expect 1 "upper mode catches the echo server (ping-pong)" -m pingpong
expect 1 "upper mode catches the echo server (accept)" -m accept -s 64

start echo_udp "$B/bench/echo" -u -l 127.0.0.1:0
expect 0 "echo UDP 1400 B" -e -m udp -s 1400
expect 1 "upper mode catches the echo server (UDP)" -m udp

start drop "$B/bench/echo" -F drop -l 127.0.0.1:0
expect 1 "a dropped byte is caught (T1)" -e -m stream
start extra "$B/bench/echo" -F extra -l 127.0.0.1:0
expect 1 "an extra byte before FIN is caught (T1)" -e -m stream
start trunc "$B/bench/echo" -u -F trunc -l 127.0.0.1:0
expect 1 "a truncated datagram is caught (U4)" -e -m udp -s 1400
expect 0 "datagrams under the truncation pass" -e -m udp -s 64
start dup "$B/bench/echo" -u -F dup -l 127.0.0.1:0
expect 1 "a duplicate reply is caught (U1)" -e -m udp
start lose "$B/bench/echo" -u -F lose -l 127.0.0.1:0
expect 0 "lost datagrams are counted, not fatal" -e -m udp
if ! grep -q '"lost": [1-9]' "$tmp/out"; then
	echo "FAIL: a server that drops every 10th datagram shows no loss: $(cat "$tmp/out")" >&2
	fails=$((fails + 1))
fi

start tcp_upper "$B/tcp-upper" -l 127.0.0.1:0
expect 0 "tcp-upper stream, 4 connections" -m stream -c 4
expect 0 "tcp-upper ping-pong" -m pingpong
expect 0 "tcp-upper accept" -m accept
expect 0 "tcp-upper idle, 300 connections" -m idle -c 300 -p "$pid"
expect 0 "tcp-upper, printable text payload" -a -m stream
expect 1 "echo mode catches the transform (tcp-upper)" -e -m stream

start udp_upper "$B/udp-upper" -l 127.0.0.1:0
expect 0 "udp-upper 64 B" -m udp -s 64
expect 0 "udp-upper 1400 B" -m udp -s 1400
expect 0 "udp-upper 65507 B" -m udp -s 65507 -w 4
expect 1 "echo mode catches the transform (udp-upper)" -e -m udp

# --exec: loadgen starts the server itself, reads its address and pid, and stops it.
server_stop_all
addr=
expect 0 "--exec echo TCP stream" -e -m stream --exec "$B/bench/echo -l 127.0.0.1:0" --log "$tmp/exec.log"
if ! grep -q 'listening on tcp' "$tmp/exec.log"; then
	echo "FAIL: --log holds no listening line: $(cat "$tmp/exec.log")" >&2
	fails=$((fails + 1))
fi
expect 0 "--exec echo UDP (its udp listening line)" -e -m udp --exec "$B/bench/echo -u -l 127.0.0.1:0"
expect 0 "--exec tcp-upper idle, 300 connections (the pid from the start)" -m idle -c 300 \
	--exec "$B/tcp-upper -l 127.0.0.1:0"
expect 1 "--exec: upper mode catches the echo server" -m stream --exec "$B/bench/echo -l 127.0.0.1:0"
expect 2 "--exec: a server that never listens" -m stream --exec "$B/bench/echo -l 127.0.0.1:nonsense"
expect 2 "--exec and an address" -m stream --exec "$B/bench/echo -l 127.0.0.1:0" 127.0.0.1:9

# IPv6 (B1), where the host has ::1.
if server_start echo6 "$B/bench/echo" -l '[::1]:0' 2>/dev/null; then
	start tcp6 "$B/tcp-upper" -l '[::1]:0'
	expect 0 "tcp-upper over IPv6" -m stream -c 2
	start udp6 "$B/udp-upper" -l '[::1]:0'
	expect 0 "udp-upper over IPv6, 65527 B" -m udp -s 65527 -w 4
else
	echo "skip: no IPv6 loopback here"
fi

if [ $fails -ne 0 ]; then
	echo "bench smoke: $fails of $cases cases FAILED" >&2
	exit 1
fi
echo "bench smoke: all $cases cases passed"

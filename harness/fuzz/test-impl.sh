#!/bin/sh
# test-impl.sh BINDIR MUTANTDIR - impl-repro (the reproducer of fuzz-impl-tcp and fuzz-impl-udp) finds
# the bugs of two mutants over real sockets and passes the reference servers on the same inputs:
#  - lost-wakeup (forgets a connection whose write blocked once it serves another) fails
#    harness/fuzz/impl-seeds/tcp-stalled-beside-served: a client stops reading while it sends 5 MiB,
#    time passes until the server has stopped reading it, a second client is served, the first reads
#    again and never gets the rest (no progress);
#  - other-port (replies from another socket) fails corpus/fuzz_udp/seed-senders (U1);
#  - tcp-upper and udp-upper pass those inputs and every committed seed of corpus/fuzz_tcp, corpus/fuzz_udp;
#  - a server that does not start, or no input, is a set-up error (exit 2).
# About 5 s.
set -u
B=$1
M=$2
R=$B/impl-repro
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# expect STATUS TEXT DESCRIPTION -- impl-repro ARGS...
expect() {
	want=$1 text=$2 what=$3
	shift 4
	"$R" "$@" >"$tmp/out" 2>&1
	rc=$?
	if [ "$rc" != "$want" ] || ! grep -q -- "$text" "$tmp/out"; then
		echo "test-impl: FAIL: $what: exit $rc (wanted $want), output:" >&2
		sed 's/^/  | /' "$tmp/out" >&2
		fail=1
	else
		echo "test-impl: ok: $what: $(grep -m1 -- "$text" "$tmp/out")"
	fi
}

S=harness/fuzz/impl-seeds
expect 1 'capslock-finding: T[0-9] no-progress' 'lost-wakeup: the stalled client never gets its answer' -- \
	--exec "$M/lost-wakeup -l 127.0.0.1:{port}" --idle-ms 1000 $S/tcp-stalled-beside-served
expect 1 'capslock-finding: U1 other-address' 'other-port: replies from another port' -- \
	--exec "$M/other-port -l 127.0.0.1:{port}" --udp corpus/fuzz_udp/seed-senders
expect 0 'inputs played, 0 with a finding' 'tcp-upper passes the same input and every fuzz_tcp seed' -- \
	--exec "$B/tcp-upper -l 127.0.0.1:{port}" $S/tcp-stalled-beside-served corpus/fuzz_tcp/seed-*
expect 0 'inputs played, 0 with a finding' 'udp-upper passes every fuzz_udp seed' -- \
	--exec "$B/udp-upper -l 127.0.0.1:{port}" --udp corpus/fuzz_udp/seed-*
expect 2 'did not start listening\|exited with status' 'a server that does not start is a set-up error' -- \
	--exec "sh -c 'exit 3' {port}" corpus/fuzz_tcp/seed-hello
expect 2 'no INPUT' 'no input is a usage error' -- --exec "$B/tcp-upper -l 127.0.0.1:{port}"
exit $fail

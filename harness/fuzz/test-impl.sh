#!/bin/sh
# test-impl.sh BINDIR MUTANTDIR - impl-repro (the reproducer of fuzz-impl-tcp and fuzz-impl-udp) finds
# the bugs of two mutants over real sockets and passes the reference servers on the same inputs:
#  - lost-wakeup (forgets a connection whose write blocked once it serves another) fails
#    harness/fuzz/impl-seeds/tcp-stop-flood-then-other: a client stops reading and floods 6 MiB, time
#    passes until the server has stopped reading it, a second client is served, the first reads again
#    and never gets the rest (T7);
#  - other-port (replies from another socket) fails corpus/fuzz_udp/seed-senders (U1);
#  - sigpipe (killed by SIGPIPE when a client resets while owed output) is DEATH on
#    harness/fuzz/impl-seeds/tcp-reset-while-owed (a client that stopped reading resets once the server
#    is blocked writing to it);
#  - leak-on-reset (keeps the descriptor of a reset connection) is LEAK after a thousand resets;
#  - a stand-in server that prints an AddressSanitizer report and aborts on the bytes 0xde 0xad is ASAN,
#    named by its first own frame, and is started again for the next input;
#  - tcp-upper and udp-upper pass those inputs and every committed seed of corpus/fuzz_tcp, corpus/fuzz_udp;
#  - a server that does not start, or no input, is a set-up error (exit 2).
# About 6 s (12 s under ASan on a loaded 2-core host).
set -u
B=$1
M=$2
R=$B/impl-repro
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
S=harness/fuzz/impl-seeds

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


expect 1 'capslock-finding: T7 resumed-no-progress' 'lost-wakeup: the stalled client never gets its answer' -- \
	--exec "$M/lost-wakeup -l 127.0.0.1:{port}" --idle-ms 1000 $S/tcp-stop-flood-then-other
expect 1 'capslock-finding: U1 other-address' 'other-port: replies from another port' -- \
	--exec "$M/other-port -l 127.0.0.1:{port}" --udp corpus/fuzz_udp/seed-senders
expect 1 'capslock-finding: DEATH signal-13' 'sigpipe: the server dies of SIGPIPE' -- \
	--exec "$M/sigpipe -l 127.0.0.1:{port}" $S/tcp-reset-while-owed
expect 1 'capslock-finding: LEAK descriptors' 'leak-on-reset: a descriptor per reset connection' -- \
	--exec "$M/leak-on-reset -l 127.0.0.1:{port}" --repeat 1500 corpus/fuzz_tcp/seed-reset-mid-stream
cat >"$tmp/asan.py" <<'PY'
import os, socket, sys, threading
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
print("listening on tcp 127.0.0.1:%s" % sys.argv[1], file=sys.stderr, flush=True)
def serve(c):
    while True:
        d = c.recv(65536)
        if not d:
            c.shutdown(socket.SHUT_WR)
            c.close()
            return
        if b"\xde\xad" in d:
            sys.stderr.write("==1==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x602000000011\n"
                             "WRITE of size 1 at 0x602000000011 thread T0\n"
                             "    #0 0x55 in __interceptor_memcpy\n    #1 0x56 in handle_chunk stub.c:12\n")
            sys.stderr.flush()
            os.abort()
        c.sendall(d.upper())
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
printf '\000\000\003ab\336\255' >"$tmp/dead.tcp"
expect 1 'capslock-finding: ASAN heap-buffer-overflow@handle_chunk' 'a sanitizer report in the log, then a restart' -- \
	-v --exec "python3 $tmp/asan.py {port}" corpus/fuzz_tcp/seed-hello "$tmp/dead.tcp" corpus/fuzz_tcp/seed-hello
grep -q "impl-repro: corpus/fuzz_tcp/seed-hello: passed" "$tmp/out" && [ "$(grep -c passed "$tmp/out")" = 2 ] ||
	{ echo "test-impl: FAIL: the input after the death did not pass against a restarted server" >&2; fail=1; }
expect 0 'inputs played, 0 with a finding' 'tcp-upper passes the same input and every fuzz_tcp seed' -- \
	--exec "$B/tcp-upper -l 127.0.0.1:{port}" $S/tcp-* corpus/fuzz_tcp/seed-*
expect 0 'inputs played, 0 with a finding' 'udp-upper passes every fuzz_udp seed' -- \
	--exec "$B/udp-upper -l 127.0.0.1:{port}" --udp corpus/fuzz_udp/seed-*
expect 2 'did not start listening\|exited with status' 'a server that does not start is a set-up error' -- \
	--exec "sh -c 'exit 3' {port}" corpus/fuzz_tcp/seed-hello
expect 2 'no INPUT' 'no input is a usage error' -- --exec "$B/tcp-upper -l 127.0.0.1:{port}"
exit $fail

#!/bin/sh
# test-errors.sh - conform on bad input: wrong options, garbage arguments, unreachable or hostile
# targets, unwritable outputs. Each must end quickly with exit 2 (or 1 where a case fails) and a message
# naming the option, file or address at fault; none may pass (exit 0) or hang. One line per case.
# ci/conformance-gate.sh's own bad arguments too. Final line "N passed, N failed".
# Usage: harness/conform/test-errors.sh BINDIR MUTANTDIR
set -u
. "$(dirname "$0")/test-lib.sh"
test_usage 2 "BINDIR MUTANTDIR   (BINDIR holds conform and tcp-upper; MUTANTDIR the silent mutant)" "$@"
B=$1 M=$2 C=$1/conform
test_dir conform-errors
touch "$d/file"
TCP="$B/tcp-upper -l 127.0.0.1:0"
ONE=tcp/framing/no-newline

# case WANT-EXIT MAX-SECONDS STDERR-PATTERN -- conform-args... (stdout goes to $out, default a file)
out=$d/out.txt
case_() {
	want=$1 max=$2 pat=$3
	shift 4
	s=$(date +%s)
	timeout $((max + 5)) "$C" "$@" >"$out" 2>"$d/err.txt"
	rc=$?
	secs=$(($(date +%s) - s))
	[ "$rc" = "$want" ] && [ "$secs" -le "$max" ] && { [ -z "$pat" ] || grep -q -- "$pat" "$d/err.txt"; }
	test_result $? "exit $rc in ${secs}s: conform $*" \
		"conform $*: exit $rc (want $want) in ${secs}s (limit ${max}s), stderr:" "$d/err.txt"
	out=$d/out.txt
}

case_ 2 2 "--timeout 'abc'" -- --timeout abc --tcp 127.0.0.1:1
case_ 2 2 "--timeout '-1'" -- --timeout -1 --tcp 127.0.0.1:1
case_ 2 2 "--retries '99'" -- --retries 99 --tcp 127.0.0.1:1
case_ 2 2 "--seed 'x'" -- --seed x --tcp 127.0.0.1:1
case_ 2 2 "^conform: --bogus: unknown option$" -- --bogus
case_ 2 2 "^Try 'conform --help' for more information.$" -- --bogus
case_ 2 2 "^conform: --tcp: missing argument$" -- --tcp
case_ 2 2 "--timeout '1000' is not a duration from 0.01 to 600 s" -- --timeout 1000 --tcp 127.0.0.1:1
case_ 2 2 "--tap, --json - and --junit - each write to stdout" -- --tap --json - --tcp 127.0.0.1:1
case_ 2 2 "--seed applies to the random phase" -- --seed 1 --tcp 127.0.0.1:1
case_ 2 2 "unexpected argument 'stray'" -- stray --tcp 127.0.0.1:1
case_ 2 2 "nothing to test" --
case_ 2 2 "port '99999'" -- --tcp 127.0.0.1:99999
case_ 2 2 "not a loopback address" -- --tcp 192.0.2.1:80
case_ 2 2 "looks up no names" -- --tcp no-such-host.invalid:80
case_ 2 2 "--only 'tcp/nomatch' matches no case" -- --only tcp/nomatch --tcp 127.0.0.1:1
case_ 2 2 "--exec: the server command is empty" -- --exec ' '
case_ 2 2 "--pid names a server conform did not start" -- --pid 2 --exec "$TCP"
case_ 2 2 "--pid 4194303: no such process" -- --pid 4194303 --tcp 127.0.0.1:1
case_ 2 2 "--nofile-many" -- --nofile-many 1 --tcp 127.0.0.1:1
case_ 2 3 "127.0.0.1:1: Connection refused" -- --tcp 127.0.0.1:1
case_ 2 3 "udp 127.0.0.1:1: nothing listening" -- --udp 127.0.0.1:1
case_ 2 3 "exited with status 127 .*not found" -- --exec 'no-such-server-xyz'
case_ 2 3 "exited with status 3" -- --exec 'exit 3'
case_ 2 4 "no 'listening on udp ADDR:PORT' line.*listening on tcp" -- --start-timeout 1s --exec "$TCP"
case_ 2 4 "within 1000 ms.*its last output: garbage" -- --start-timeout 1000ms --exec-tcp 'echo garbage; exec sleep 30'
case_ 2 3 "--junit $d/missing/r.xml: No such file" -- --junit "$d/missing/r.xml" --exec-tcp "$TCP" --only $ONE
case_ 2 3 "--json /dev/full: No space" -- --json /dev/full --exec-tcp "$TCP" --only $ONE
case_ 2 3 "--junit /dev/full: No space" -- --junit /dev/full --exec-tcp "$TCP" --only $ONE
case_ 2 3 "--pcap-dir $d/file: Not a directory" -- --pcap-dir "$d/file" --exec-tcp "$TCP" --only $ONE
case_ 2 3 "--pcap-dir $d/file/sub: Not a directory" -- --pcap-dir "$d/file/sub" --exec-tcp "$TCP" --only $ONE
case_ 2 3 "--pcap-dir $d/no/dir: its parent directory $d/no does not exist" -- --pcap-dir "$d/no/dir" --exec-tcp "$TCP" --only $ONE
case_ 2 3 "nothing was tested" -- --exec-tcp "$TCP" --only tcp/ipv6/transform
out=/dev/full
case_ 2 3 "standard output: No space" -- --exec-tcp "$TCP" --only $ONE
out=/dev/full
case_ 2 3 "standard output: No space" -- --tap --exec-tcp "$TCP" --only $ONE
out=/dev/full
case_ 2 2 "standard output: " -- --help
out=/dev/full
case_ 2 2 "standard output: No space" -- --list
# a server that accepts and never answers: every case fails within its bound, the run ends
case_ 1 60 "" -- --timeout 100ms --retries 0 --exec "$M/silent"

# the CI gate around conform: bad arguments are exit 2, and so is a conform that cannot run
G=$(dirname "$0")/../../ci/conformance-gate.sh
gate() {
	want=$1 pat=$2
	shift 2
	timeout 20 "$G" "$@" >"$d/gate.txt" 2>&1
	rc=$?
	[ "$rc" = "$want" ] && grep -q -- "$pat" "$d/gate.txt"
	test_result $? "exit $rc: conformance-gate.sh $*" "conformance-gate.sh $*: exit $rc (want $want), output:" \
		"$d/gate.txt"
}
gate 0 "usage: ci/conformance-gate.sh" --help
gate 2 "^conformance-gate.sh: --bogus: unknown option$" --bogus
gate 2 "--exec-tcp: missing argument" --exec-tcp
gate 2 "^Try 'conformance-gate.sh --help' for more information.$" --exec-tcp
gate 2 "conform's name is --exec-tcp" --tcp-cmd x
gate 0 "conformance-gate.sh (capslock) [0-9]" --version
gate 2 "no server command" --conform "$C"
gate 2 "more than one CMD" --conform "$C" a b
gate 2 "--conform $d/file: not an executable" --conform "$d/file" "$TCP"
gate 2 "--expect-failures $d/missing: cannot read" --conform "$C" --expect-failures "$d/missing" "$TCP"
gate 2 "could not test" --conform "$C" --exec-tcp 'exit 3'
gate 2 "could not test" --conform "$C" --exec-tcp "$TCP" -- --only tcp/nomatch
test_summary

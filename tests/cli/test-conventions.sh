#!/bin/sh
# test-conventions.sh - every program follows the one command-line convention (lib/cli for the C
# programs, the same rules in the scripts):
#   --version prints "PROG (capslock) X.Y.Z" from the VERSION file, exit 0;
#   an unknown option, a missing argument and a refused value print exactly two lines on stderr, the
#   first naming the option ("PROG: OPTION: ..."), the second "Try 'PROG --help' for more
#   information.", nothing on stdout, exit 2;
#   '-' as a report file is stdout (and no file named '-' appears), contradictory options are refused,
#   an output directory is created but not its missing parent, durations take a unit;
#   every --help ends with examples, and the C programs' examples run (loopback only, free ports, each
#   bounded in time).
# Usage: tests/cli/test-conventions.sh BINDIR   (from anywhere; BINDIR as make's $(B), e.g. build/std/bin)
set -u
if [ $# -ne 1 ] || [ "$1" = "--help" ]; then
	echo "usage: $0 BINDIR   (checks every program's command line: --version, usage errors, '-', examples)"
	[ "${1:-}" = "--help" ] && exit 0
	exit 2
fi
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$(cd "$1" && pwd) || exit 2
cd "$ROOT" || exit 2
VERSION=$(cat VERSION) || exit 2
tmp=$(mktemp -d /tmp/cli-conventions.XXXXXX) || exit 2
SERVER_LOGDIR=$tmp
. "$ROOT/ci/lib.sh"
trap 'server_stop_all; rm -rf "$tmp"' EXIT
PATH=$B:$B/bench:$B/soak:$PATH
export PATH
# the interpreter itself, not a version manager's shim (which costs a second a start)
PY=$(python3 -c 'import sys; print(sys.executable)') || exit 2
pass=0 fail=0

result() { # STATUS TEXT [FILE...]: one line per check; a failure shows the files
	if [ "$1" -eq 0 ]; then
		pass=$((pass + 1))
		printf 'ok   %s\n' "$2"
	else
		fail=$((fail + 1))
		printf 'FAIL %s\n' "$2"
		shift 2
		for f in "$@"; do sed 's/^/    | /' "$f"; done
	fi
}

# The programs: NAME|COMMAND|an option that takes an argument|a refused value for it. The scripts are
# asked fewer questions: each start of the interpreter costs a second on a busy host.
programs() {
	cat <<EOF
tcp-upper|$B/tcp-upper|-l|8082x
udp-upper|$B/udp-upper|-t|0
upper-client|$B/upper-client|-w|5x
conform|$B/conform|--timeout|2000
replay|$B/replay|--timeout|5000
loadgen|$B/bench/loadgen|-T|5x
echo|$B/bench/echo|-l|bad
soak|$B/soak/soak|-T|0
draw-chart|$B/draw-chart|--timeout|1y
gen-pcaps|$B/gen-pcaps|--bench|
fuzz-mkseeds|$B/fuzz-mkseeds||
impl-repro|$B/impl-repro|--idle|5x
fuzz-run|$PY harness/fuzz/fuzz_run.py|--time|5x
fuzz-bench|$PY harness/fuzz/fuzz_bench.py|--time|
bench|$PY harness/bench/bench.py|-T|
conformance-gate.sh|ci/conformance-gate.sh|--exec-tcp|
EOF
}

# is_usage_error NAME FIRST-LINE-PATTERN COMMAND...: exit 2, nothing on stdout, two lines on stderr.
is_usage_error() {
	name=$1 pat=$2
	shift 2
	# shellcheck disable=SC2086
	timeout 20 $cmd "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	[ $rc -eq 2 ] && [ ! -s "$tmp/out" ] && [ "$(wc -l <"$tmp/err")" -eq 2 ] &&
		head -1 "$tmp/err" | grep -q -- "^$name: $pat" &&
		[ "$(tail -1 "$tmp/err")" = "Try '$name --help' for more information." ]
}

# usage_error NAME WHAT FIRST-LINE-PATTERN COMMAND...: is_usage_error, counted.
usage_error() {
	name=$1 what=$2
	shift 2
	is_usage_error "$name" "$@"
	result $? "$name $what: exit $rc, $(head -1 "$tmp/err")" "$tmp/out" "$tmp/err"
}

# The check has teeth: stubs of what the programs did before fail it (the usage on stderr after the
# message, a message without the option, exit 1).
printf '#!/bin/sh\necho "stub: unknown option $1" >&2\necho "usage: stub [-l ADDR]" >&2\nexit 2\n' >"$tmp/stub-usage"
printf '#!/bin/sh\necho "stub: $1: unknown option" >&2\necho "stub: see --help" >&2\nexit 2\n' >"$tmp/stub-see"
printf '#!/bin/sh\necho "stub: $1: unknown option" >&2\necho "Try '"'"'stub --help'"'"' for more information." >&2\nexit 1\n' >"$tmp/stub-exit"
printf '#!/bin/sh\necho "stub: $1: unknown option" >&2\necho "Try '"'"'stub --help'"'"' for more information." >&2\nexit 2\n' >"$tmp/stub-right"
chmod +x "$tmp"/stub-*
for stub in usage see exit; do
	cmd=$tmp/stub-$stub
	! is_usage_error stub "--bogus: unknown option" --bogus
	result $? "the usage-error check fails a program that does it the old way ($stub)" "$tmp/err"
done
cmd=$tmp/stub-right
is_usage_error stub "--bogus: unknown option" --bogus
result $? "the usage-error check passes a program that does it right" "$tmp/err"

# is_version NAME: $cmd --version prints "NAME (capslock) X.Y.Z" alone, exit 0.
is_version() {
	# shellcheck disable=SC2086
	timeout 20 $cmd --version >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	[ $rc -eq 0 ] && [ ! -s "$tmp/err" ] && [ "$(cat "$tmp/out")" = "$1 (capslock) $VERSION" ]
}
printf '#!/bin/sh\necho "stub version %s"\n' "$VERSION" >"$tmp/stub-version"
chmod +x "$tmp/stub-version"
cmd=$tmp/stub-version
! is_version stub
result $? "the --version check fails a program that prints its own format" "$tmp/out"

programs | while IFS='|' read -r name cmd opt bad; do
	is_version "$name"
	result $? "$name --version: $(head -1 "$tmp/out")" "$tmp/out" "$tmp/err"
	usage_error "$name" "an unknown option" "--no-such-option: unknown option\$" --no-such-option
	case $cmd in "$PY "*) ;; *) usage_error "$name" "an unknown short option" "-Y: unknown option\$" -Y ;; esac
	if [ -n "$opt" ]; then
		usage_error "$name" "a missing argument" "$opt" "$opt"
	fi
	if [ -n "$bad" ]; then
		usage_error "$name" "a refused value" "$opt:* '*$bad" "$opt" "$bad"
	fi
	# shellcheck disable=SC2086
	timeout 20 $cmd --help >"$tmp/help" 2>"$tmp/err" </dev/null
	[ $? -eq 0 ] && grep -q "^Examples" "$tmp/help" && [ "$(sed -n '/^Examples/,$p' "$tmp/help" | grep -c '^  ')" -ge 2 ]
	result $? "$name --help ends with examples" "$tmp/help" "$tmp/err"
	cp "$tmp/help" "$tmp/help.$name"
done >"$tmp/log"
cat "$tmp/log"
pass=$((pass + $(grep -c '^ok ' "$tmp/log"))) fail=$((fail + $(grep -c '^FAIL ' "$tmp/log")))

# ---- '-' is stdout for a report; only one report may take it; the human lines go to stderr ----
cmd=$B/replay
"$B/replay" --json - pcaps/session1.pcap >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] && "$PY" -m json.tool "$tmp/out" >/dev/null && grep -q "^replay: .* ok" "$tmp/err" && [ ! -e ./- ]
result $? "replay --json -: the JSON alone on stdout, the summary on stderr (exit $rc)" "$tmp/out" "$tmp/err"
"$B/replay" --junit - pcaps/session1.pcap >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] && head -1 "$tmp/out" | grep -q '^<?xml' && [ ! -e ./- ]
result $? "replay --junit -: the XML on stdout (exit $rc)" "$tmp/out" "$tmp/err"
"$B/replay" --from-fuzz-input corpus/fuzz_tcp/seed-accept-enobufs-pause --write-pcap - >"$tmp/out.pcap" 2>"$tmp/err" &&
	"$B/replay" --list "$tmp/out.pcap" >"$tmp/out" 2>>"$tmp/err" && grep -q "2 flows" "$tmp/out" && [ ! -e ./- ]
result $? "replay --write-pcap -: the pcap on stdout" "$tmp/out" "$tmp/err"
usage_error replay "--json - --junit -" "--json - and --junit - both write to stdout" --json - --junit - pcaps/session1.pcap
cmd=$B/conform
"$B/conform" --exec-tcp "$B/tcp-upper -l 0" --only 'tcp/transform/*' --junit - >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] && head -1 "$tmp/out" | grep -q '^<?xml' && grep -q "^conform: .* passed" "$tmp/err" && [ ! -e ./- ]
result $? "conform --junit -: the XML on stdout, the summary on stderr (exit $rc)" "$tmp/out" "$tmp/err"
usage_error conform "--tap --junit -" "--tap, --json - and --junit - each write to stdout" --tap --junit - --tcp 127.0.0.1:1

# ---- contradictory options ----
cmd=$B/replay
usage_error replay "--speed 2 --timing fast" "--speed replays with the capture's timing: it contradicts --timing fast" \
	--speed 2 --timing fast pcaps/session1.pcap
usage_error replay "--speed 2s (a factor, not a duration)" "--speed 2s: expected a positive factor" --speed 2s pcaps/session1.pcap
usage_error replay "--list --write-corpus" "--list, --decode-only, --write-corpus and --from-fuzz-input are modes" \
	--list --write-corpus "$tmp/c" pcaps/session1.pcap
cmd=$B/conform
usage_error conform "--seed without --random" "--seed applies to the random phase" --seed 1 --tcp 127.0.0.1:1
usage_error conform "--exec with --exec-tcp" "--exec serves both transports" --exec x --exec-tcp y
cmd=ci/conformance-gate.sh
usage_error conformance-gate.sh "CMD with --exec-tcp" "CMD serves both transports" x --exec-tcp y
cmd=$B/tcp-upper
usage_error tcp-upper "--inetd -l" "--inetd serves the connection on stdin: it contradicts -l" --inetd -l 0
cmd=$B/bench/echo
usage_error echo "-F trunc without -u" "-F trunc is a UDP fault" -F trunc
cmd=$B/bench/loadgen
usage_error loadgen "-p with --exec" "-p names a running server" -p 1 --exec x
cmd=$B/soak/soak
usage_error soak "--identity without --tcp/--udp" "--identity describes a server given" --identity

# ---- durations: a bare number is seconds, a unit is taken; an old millisecond value is refused ----
"$B/replay" --timeout 250ms --list pcaps/session1.pcap >/dev/null 2>"$tmp/err"
result $? "replay --timeout 250ms is taken" "$tmp/err"
"$B/conform" --timeout 1.5s --start-timeout 1m --list >/dev/null 2>"$tmp/err"
result $? "conform --timeout 1.5s --start-timeout 1m are taken" "$tmp/err"
cmd=$B/conform
usage_error conform "--start-timeout 10000 (an old millisecond count)" "--start-timeout '10000' is not a duration" \
	--start-timeout 10000 --tcp 127.0.0.1:1
cmd=$B/upper-client
usage_error upper-client "-w 2000 (an old millisecond count)" "-w: '2000' is not a duration" -w 2000 127.0.0.1:1

# ---- -l PORT is loopback ----
server_start lport "$B/tcp-upper" -l 0 && case $lport_ADDR in 127.0.0.1:*) true ;; *) false ;; esac
result $? "tcp-upper -l 0 listens on 127.0.0.1 ($lport_ADDR)" "$tmp/lport.log"
server_stop lport >/dev/null

# ---- output directories: the last part is created, a missing parent refused, the same everywhere ----
"$B/replay" --write-corpus "$tmp/corpus" pcaps/session1.pcap >/dev/null 2>"$tmp/err" && [ -d "$tmp/corpus/fuzz_tcp" ]
result $? "replay --write-corpus DIR creates DIR" "$tmp/err"
"$B/replay" --write-corpus "$tmp/no/such/dir" pcaps/session1.pcap >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "its parent directory $tmp/no/such does not exist" "$tmp/err" && [ ! -e "$tmp/no" ]
result $? "replay --write-corpus under a missing parent: exit 2, nothing made" "$tmp/err"
"$B/conform" --pcap-dir "$tmp/no/such/dir" --exec-tcp "$B/tcp-upper -l 0" --only 'tcp/transform/*' >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "its parent directory $tmp/no/such does not exist" "$tmp/err" && [ ! -e "$tmp/no" ]
result $? "conform --pcap-dir under a missing parent: exit 2, nothing made" "$tmp/err"
"$PY" harness/fuzz/fuzz_bench.py --time 1 --out "$tmp/no/such/dir" fuzz_tcp >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "$tmp/no/such: its parent directory does not exist" "$tmp/err" && [ ! -e "$tmp/no" ]
result $? "fuzz_bench.py --out under a missing parent: exit 2, nothing made" "$tmp/err"
cmd=$B/conform
usage_error conform "--seeds-dir under a missing parent" "--seeds-dir $tmp/no/such/dir: its parent directory $tmp/no/such does not exist" \
	--random 1 --seeds-dir "$tmp/no/such/dir" --tcp 127.0.0.1:1
"$B/soak/soak" -b "$B" -T 1 --small -c sigterm -o "$tmp/no/such/dir" >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "its parent directory $tmp/no/such does not exist" "$tmp/err" && [ ! -e "$tmp/no" ]
result $? "soak -o under a missing parent: exit 2, nothing made" "$tmp/err"

# ---- make help: one line per target, each a target make knows ----
make -s --no-print-directory help >"$tmp/help.make" 2>&1
ok=$?
make -pRrq : 2>/dev/null | awk -F: '/^[a-z][a-z-]*:/ { print $1 }' | sort -u >"$tmp/targets"
for t in $(awk '{ t = substr($0, 6, 16); gsub(/ /, "", t); if (t ~ /^[a-z-]+$/) print t }' "$tmp/help.make"); do
	grep -qx "$t" "$tmp/targets" || { ok=1; echo "make help lists $t, which make does not know" >>"$tmp/help.make"; }
done
[ $ok -eq 0 ] && [ "$(wc -l <"$tmp/help.make")" -ge 10 ]
result $? "make help lists the targets, one line each" "$tmp/help.make"

# ---- the examples of every C program's --help run as shown ----
# The tutorial's port 8082 becomes a free one; upper-client's examples talk to servers started here.
server_start ref_tcp "$B/tcp-upper" -l 0 || exit 2
server_start ref_udp "$B/udp-upper" -l "127.0.0.1:$ref_tcp_PORT" || exit 2
free=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

is_server() { case $1 in tcp-upper | udp-upper | echo) return 0 ;; esac; return 1; }

# run_example NAME LINE: runs it (at most 20 s); a server passes once it prints its listening line.
# Returns 0 when it passed (rc holds its exit status, run the line as run).
run_example() {
	name=$1 line=$2
	case $name in upper-client) port=$ref_tcp_PORT ;; *) port=$free ;; esac
	run=$(printf '%s\n' "$line" | sed "s/8082/$port/g")
	: >"$tmp/ex.out"
	: >"$tmp/ex.err"
	setsid sh -c "$run" >"$tmp/ex.out" 2>"$tmp/ex.err" </dev/null &
	pid=$!
	waited=0 rc=
	while [ $waited -lt 400 ] && [ -z "$rc" ]; do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid"
			rc=$?
		elif grep -q '^listening on ' "$tmp/ex.err" && is_server "$name"; then
			rc=0 # it listens: stop its process group (setsid made it), SIGKILL after 5 s
			kill -TERM "-$pid" 2>/dev/null
			for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null && sleep 0.5; done
		else
			sleep 0.05
			waited=$((waited + 1))
		fi
	done
	[ -n "$rc" ] || rc=timeout
	kill -KILL "-$pid" 2>/dev/null
	{ wait "$pid"; } 2>/dev/null
	first=$(printf '%s\n' "$run" | sed 's/^printf [^|]*| *//' | awk '{ print $1 }')
	# gnuplot missing is draw-chart's exit 3: the example ran, the host lacks the drawing tool
	{ [ "$rc" = 0 ] || { [ "$name" = draw-chart ] && [ "$rc" = 3 ]; }; } &&
		[ "$(basename "$first")" = "$name" ] && [ ! -e ./- ]
}

# example NAME LINE: run_example, counted.
example() {
	run_example "$1" "$2"
	result $? "$1 example (exit $rc): $run" "$tmp/ex.out" "$tmp/ex.err"
}

# The example check has teeth: an example that fails, one that runs another program than the one whose
# help shows it, a server that cannot listen are not passes.
for bad in "conform --no-such-option" "replay pcaps/session1.pcap" "tcp-upper -l 127.0.0.1:99999"; do
	! run_example "$(printf '%s' "$bad" | sed 's/ .*//; s/replay/conform/')" "$bad"
	result $? "the example check fails '$bad' (exit $rc)" "$tmp/ex.err"
done

examples_of() { # the example lines of a --help text: continuation lines joined, descriptions cut
	awk '/^Examples/ { on = 1; next }
	on && /^  / {
		s = $0
		if (cont) { sub(/^ +/, "", s); s = acc " " s } else sub(/^  /, "", s)
		if (s ~ /\\$/) { sub(/ *\\$/, "", s); acc = s; cont = 1; next }
		cont = 0
		sub(/  +.*/, "", s)
		print s
	}' "$1"
}

# replay's examples name a capture and servers of their own: harness/replay/tests/test-verdicts.sh makes
# them real and runs them.
for name in tcp-upper udp-upper upper-client conform replay loadgen echo soak draw-chart; do
	examples_of "$tmp/help.$name" >"$tmp/examples"
	[ -s "$tmp/examples" ]
	result $? "$name --help shows examples" "$tmp/help.$name"
	[ "$name" = replay ] && [ -f harness/replay/tests/test-verdicts.sh ] && continue
	while IFS= read -r line; do
		example "$name" "$line"
	done <"$tmp/examples"
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]

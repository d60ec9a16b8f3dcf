#!/bin/sh
# conformance-gate.sh - the CI gate for an implementation of the uppercase protocol (SPEC.md):
# starts the server under test, runs bin/conform against it, and decides pass/fail. For other projects'
# pipelines (see ci/workflows/conformance.yml) as much as for this one's.
usage() {
	cat <<'USAGE'
usage: ci/conformance-gate.sh [options] ['CMD' | --exec CMD | --exec-tcp CMD --exec-udp CMD]
                              [-- CONFORM-OPTIONS...]
Starts the server under test and runs conform on it, with conform's option names. CMD (or --exec
CMD) serves both TCP and UDP; or give --exec-tcp/--exec-udp for separate servers. '{port}' in a
command becomes a free port, or the server prints 'listening on tcp|udp ADDR:PORT' (stdout or
stderr) with the port it chose.
  --exec CMD                a command serving both TCP and UDP (the same as CMD)
  --exec-tcp CMD            a command serving TCP only
  --exec-udp CMD            a command serving UDP only
  --expect-failures FILE    the exact list of case ids that must fail (one per line, '#' comments):
                            an unexpected failure or an unexpected pass fails the gate
  --junit FILE              also write a JUnit XML report (for the CI's test view)
  --conform PATH            the conform binary (default: $CONFORM, then bin/conform next to this
                            script's repo, then conform on PATH)
  --help                    this text;  --version  the version
Options after -- go to conform (e.g. -- --strict --timeout 3s --only 'tcp/*').
Exit status: 0 the gate passes, 1 it fails (a case failed, or the expected list does not match),
2 could not test (bad options, the server did not start, nothing listening).
Examples:
  ci/conformance-gate.sh 'python3 servers/python/corrected.py {port}' -- --only 'tcp/basic/*'
  ci/conformance-gate.sh --exec-tcp 'bin/tcp-upper -l 0' --exec-udp 'bin/udp-upper -l 0' -- --timeout 1s
USAGE
}
# A usage error, the way every capslock program reports one: one line, then where the help is.
usage_error() {
	printf "conformance-gate.sh: %s\nTry 'conformance-gate.sh --help' for more information.\n" "$1" >&2
	exit 2
}
set -u
here=$(cd "$(dirname "$0")" && pwd)
conform=${CONFORM:-}
expect="" junit="" cmd="" tcpcmd="" udpcmd=""
while [ $# -gt 0 ]; do
	case $1 in
	--help | -h) usage; exit 0 ;;
	--version) echo "conformance-gate.sh (capslock) $(cat "$here/../VERSION" 2>/dev/null || echo unknown)"; exit 0 ;;
	--exec | --exec-tcp | --exec-udp | --expect-failures | --junit | --conform)
		[ $# -ge 2 ] || usage_error "$1: missing argument"
		case $1 in
		--exec) [ -z "$cmd" ] || usage_error "more than one CMD ('$cmd', '$2')"; cmd=$2 ;;
		--exec-tcp) tcpcmd=$2 ;;
		--exec-udp) udpcmd=$2 ;;
		--expect-failures) expect=$2 ;;
		--junit) junit=$2 ;;
		--conform) conform=$2 ;;
		esac
		shift 2 ;;
	--tcp-cmd | --udp-cmd) t=${1#--} && usage_error "$1: unknown option (conform's name is --exec-${t%-cmd})" ;;
	--) shift; break ;;
	-*) usage_error "${1%%=*}: unknown option" ;;
	*) [ -z "$cmd" ] || usage_error "more than one CMD ('$cmd', '$1')"; cmd=$1; shift ;;
	esac
done
if [ -z "$cmd" ] && [ -z "$tcpcmd" ] && [ -z "$udpcmd" ]; then
	usage_error "no server command: give CMD, --exec-tcp or --exec-udp"
fi
if [ -n "$cmd" ] && { [ -n "$tcpcmd" ] || [ -n "$udpcmd" ]; }; then
	usage_error "CMD serves both transports; give it or --exec-tcp/--exec-udp, not both"
fi
if [ -z "$conform" ]; then
	if [ -x "$here/../bin/conform" ]; then
		conform=$here/../bin/conform
	else
		conform=$(command -v conform) || { echo "conformance-gate: no conform binary (build it: make; or --conform PATH)" >&2; exit 2; }
	fi
fi
if [ ! -x "$conform" ] || [ -d "$conform" ]; then
	echo "conformance-gate: --conform $conform: not an executable conform binary" >&2
	exit 2
fi
if [ -n "$expect" ] && { [ ! -r "$expect" ] || [ -d "$expect" ]; }; then
	echo "conformance-gate: --expect-failures $expect: cannot read it" >&2
	exit 2
fi

out=$(mktemp /tmp/conformance-gate.XXXXXX) || exit 2
trap 'rm -f "$out"' EXIT
[ -n "$junit" ] && set -- --junit "$junit" "$@"
[ -n "$cmd" ] && set -- --exec "$cmd" "$@"
[ -n "$tcpcmd" ] && set -- --exec-tcp "$tcpcmd" "$@"
[ -n "$udpcmd" ] && set -- --exec-udp "$udpcmd" "$@"
{
	"$conform" "$@" 2>&1
	echo $? >"$out.rc"
} | tee "$out"
rc=$(cat "$out.rc")
rm -f "$out.rc"
if [ "$rc" != 0 ] && [ "$rc" != 1 ]; then
	# 2, or conform itself died (a signal, exit 126/127): never read as a verdict on the server
	echo "conformance-gate: could not test (conform exit $rc; see its message above)" >&2
	exit 2
fi
if [ -z "$expect" ]; then
	[ "$rc" = 0 ] && echo "conformance-gate: PASS" || echo "conformance-gate: FAIL"
	exit "$rc"
fi

# Compare the failed case ids with the expected list, both ways.
sed 's/#.*//; s/[[:space:]]//g; /^$/d' "$expect" | sort -u >"$out.want"
awk '$1 == "FAIL" { print $2 }' "$out" | sort -u >"$out.got"
unexpected_fail=$(comm -13 "$out.want" "$out.got")
unexpected_pass=$(comm -23 "$out.want" "$out.got")
rm -f "$out.want" "$out.got"
bad=0
if [ -n "$unexpected_fail" ]; then
	echo "conformance-gate: unexpected failures (not in $expect):"
	echo "$unexpected_fail" | sed 's/^/  /'
	bad=1
fi
if [ -n "$unexpected_pass" ]; then
	echo "conformance-gate: unexpected passes (listed in $expect, but they passed or did not run):"
	echo "$unexpected_pass" | sed 's/^/  /'
	bad=1
fi
if [ $bad -ne 0 ]; then
	echo "conformance-gate: FAIL"
	exit 1
fi
echo "conformance-gate: PASS ($(sed 's/#.*//; /^[[:space:]]*$/d' "$expect" | wc -l | tr -d ' ') expected failures, exactly as listed)"
exit 0

#!/bin/sh
# interop.sh - the interoperability table: runs the conformance gate (ci/conformance-gate.sh) over every
# implementation of the uppercase protocol in the repository (the reference servers, servers/python/,
# and interop/'s servers in Node.js, Go, Rust, Java and Perl, each in its correct and its naive form)
# and writes a Markdown matrix, case by implementation (pass, FAIL, skip; "-" when the implementation
# does not serve that transport), with each gate's verdict and each runtime's processes and threads, to
# INTEROP.md. Implementations with an expected-failure list (ci/expected-failures/) are judged against
# it: their gate passes when they fail exactly the listed cases. A language whose toolchain is missing
# is reported "not run: no go" (and the like), in the table and on stderr.
usage() {
	cat <<'USAGE'
usage: ci/interop.sh [--bin DIR] [--out FILE] [--only LIST] [--require-all] [--mutants DIR]
                     [-- CONFORM-OPTIONS...]
  --bin DIR       holds conform, tcp-upper and udp-upper (default: bin/ of the repository)
  --out FILE      the Markdown table (default: INTEROP.md of the repository); '-' for stdout
  --only LIST     these implementations only, comma-separated among reference, python, node, go,
                  rust, java, perl (default: all)
  --require-all   a language not run (its toolchain missing) is exit 2, not just reported
  --mutants DIR   also the test mutants built there (tests/mutants/, e.g. build/std/mutants): shown,
                  their failing gates not counted
Needs python3 (the Python servers, and the table from conform's JSON). interop/'s servers need their
toolchains (ci/install-deps.sh --interop): node, go, rustc ($RUSTC; Debian's /usr/bin/rustc first),
javac and java, perl; each is built with its plain compiler into a temporary directory, offline.
Exit status: 0 every gate passed, 1 a gate failed, 2 could not run.
USAGE
}
set -u
extra="" more=""
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/bin out=$root/INTEROP.md mutants="" only="" require=0
while [ $# -gt 0 ]; do
	case $1 in
	--help | -h) usage; exit 0 ;;
	--bin) [ $# -ge 2 ] || { echo "interop: --bin needs a directory" >&2; exit 2; }; bin=$(cd "$2" && pwd) || exit 2; shift 2 ;;
	--out) [ $# -ge 2 ] || { echo "interop: --out needs a file" >&2; exit 2; }; out=$2; shift 2 ;;
	--only) [ $# -ge 2 ] || { echo "interop: --only needs a list" >&2; exit 2; }; only=",$2,"; shift 2 ;;
	--require-all) require=1; shift ;;
	--mutants) [ $# -ge 2 ] || { echo "interop: --mutants needs a directory" >&2; exit 2; }; mutants=$(cd "$2" && pwd) || exit 2; shift 2 ;;
	--) shift; extra="$*"; break ;;
	*) echo "interop: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done
for p in conform tcp-upper udp-upper; do
	[ -x "$bin/$p" ] || { echo "interop: $bin/$p is not built (make, or --bin DIR)" >&2; exit 2; }
done
command -v python3 >/dev/null || { echo "interop: python3 is not installed" >&2; exit 2; }
for w in $(echo "$only" | tr ',' ' '); do
	case $w in
	reference | python | node | go | rust | java | perl) ;;
	*) echo "interop: --only: unknown implementation '$w' (see --help)" >&2; exit 2 ;;
	esac
done
work=$(mktemp -d /tmp/interop.XXXXXX) || exit 2
trap 'rm -rf "$work"' EXIT
py=$root/servers/python ef=$root/ci/expected-failures
t0=$(date +%s)
: >"$work/names"

# wanted NAME: whether --only selects it
wanted() {
	[ -z "$only" ] || case $only in *",$1,"*) return 0 ;; *) return 1 ;; esac
}

# gate NAME EXPECTED-FAILURES-FILE|- DESIGN GATE-ARGS...: runs the gate (conform options of the command
# line after its own), keeps conform's JSON and the gate's exit status
gate() {
	name=$1 list=$2 design=$3
	shift 3
	[ "$list" = - ] || set -- --expect-failures "$list" "$@"
	s=$(date +%s)
	CONFORM=$bin/conform "$root/ci/conformance-gate.sh" "$@" -- --json "$work/$name.json" $extra $more \
		>"$work/$name.log" 2>&1
	echo $? >"$work/$name.rc"
	echo "$name|$list|$design" >>"$work/names"
	echo "interop: $name: gate exit $(cat "$work/$name.rc") in $(($(date +%s) - s)) s" >&2
	if [ "$(cat "$work/$name.rc")" != 0 ]; then
		grep -v '^PASS' "$work/$name.log" | sed "s|^|interop: $name: |" >&2
	fi
}

# language NAME DESIGN TOOLS BUILD RUN: interop/NAME's server, built by BUILD (a command; '' for none)
# when every one of TOOLS is installed, then gated in its correct form (RUN {port}) and its naive one
# (RUN --naive {port}, which must fail exactly ci/expected-failures/NAME-naive.txt); otherwise both are
# reported "not run: no TOOL"
language() {
	name=$1 design=$2 tools=$3 build=$4 run=$5
	wanted "$name" || return 0
	for t in $tools; do
		if ! command -v "$t" >/dev/null; then
			echo "interop: $name: not run: no $t" >&2
			echo "$name|-|$design|no $t" >>"$work/names"
			echo "$name-naive|$ef/$name-naive.txt|$design|no $t" >>"$work/names"
			[ $require = 0 ] || echo 2 >"$work/$name.rc"
			return 0
		fi
	done
	if [ -n "$build" ] && ! (cd "$root/interop" && eval "$build") >"$work/$name.build" 2>&1; then
		echo "interop: $name: the build failed: $build" >&2
		sed 's/^/  /' "$work/$name.build" >&2
		echo "$name|-|$design|build failed" >>"$work/names"
		echo 2 >"$work/$name.rc"
		return 0
	fi
	gate "$name" - "$design" "$run {port}"
	gate "$name-naive" "$ef/$name-naive.txt" "$design" "$run --naive {port}"
}

if wanted reference; then
	gate reference - "event loop (epoll)" --exec-tcp "$bin/tcp-upper -l 127.0.0.1:0" --exec-udp "$bin/udp-upper -l 127.0.0.1:0"
fi
if wanted python; then
	gate python-corrected - "socketserver, a thread per connection" "python3 $py/corrected.py 0"
	gate python-thread-per-connection - "a thread per connection" "python3 $py/thread_per_connection.py 0"
	gate python-tutorial-socketserver "$ef/python-tutorial-socketserver.txt" "socketserver, a thread per connection" \
		"python3 $py/tutorial_socketserver.py 0"
	gate python-tutorial-udp-plain "$ef/python-tutorial-udp-plain.txt" "one loop (UDP only)" \
		--exec-udp "python3 $py/tutorial_udp_plain.py {port}"
	gate python-decoding-upper "$ef/python-decoding-upper.txt" "socketserver, a thread per connection" \
		"python3 $py/decoding_upper.py 0"
fi
b=$work/build
mkdir -p "$b" || exit 2
rustc=${RUSTC:-$( [ -x /usr/bin/rustc ] && echo /usr/bin/rustc || echo rustc)}
# GOPROXY=off: one file of the standard library, never a fetch
language node "event loop, stream pipeline" node "" "node $root/interop/node/upper.js"
language go "a goroutine per connection" go \
	"GOPROXY=off GOTOOLCHAIN=local GOCACHE=$b/go-cache go build -o $b/go-upper go/upper.go" "$b/go-upper"
language rust "a thread per connection" "$rustc" "$rustc -O -o $b/rust-upper rust/upper.rs" "$b/rust-upper"
# -Xmx64m: a heap sized for the server, as a deployed JVM has (harness/conform/README.md, resource accounting)
language java "a cached thread pool, blocking sockets" "javac java" "javac -d $b/java java/Upper.java" \
	"java -Xmx64m -cp $b/java Upper"
# the naive line again under a Turkish default locale, where toUpperCase() turns 'i' into U+0130
if wanted java; then
	if [ -f "$b/java/Upper.class" ]; then
		gate java-naive-tr "$ef/java-naive-tr.txt" "a cached thread pool, blocking sockets" \
			"java -Xmx64m -Duser.language=tr -Duser.country=TR -cp $b/java Upper --naive {port}"
	else
		echo "java-naive-tr|$ef/java-naive-tr.txt|a cached thread pool, blocking sockets|java not built" >>"$work/names"
	fi
fi
language perl "one IO::Select loop" perl "" "perl $root/interop/perl/upper.pl"
if [ -n "$mutants" ]; then
	grep -v '^#' "$root/tests/mutants/EXPECTED" | while read -r m _; do
		[ -n "$m" ] && [ -x "$mutants/$m" ] && echo "$m"
	done >"$work/mutants"
	more="--timeout 1s --retries 0" # each fails (its bug), quickly; their gates do not count
	while read -r m; do
		gate "mutant-$m" - "test mutant (poll loop)" "$mutants/$m"
	done <"$work/mutants"
fi

python3 - "$work" "$(($(date +%s) - t0))" >"$work/table.md" <<'PY'
import json, os, sys
work, seconds = sys.argv[1], sys.argv[2]
impls = [line.rstrip("\n").split("|") for line in open(os.path.join(work, "names"))]
impls = [(i[0], i[1], i[2], i[3] if len(i) > 3 else "") for i in impls]
results, verdicts, order, figures = {}, {}, [], {}
for name, expected, _, not_run in impls:
    listed = " (expected failures)" if expected != "-" else ""
    if not_run:
        results[name], figures[name] = {}, {}
        verdicts[name] = "not run: " + not_run
        continue
    rc = open(os.path.join(work, name + ".rc")).read().strip()
    try:
        rep = json.load(open(os.path.join(work, name + ".json")))
    except (OSError, ValueError):
        rep = {"cases": []}
    results[name] = {c["id"]: c["status"] for c in rep["cases"]}
    figures[name] = {c["id"]: c["resources"] for c in rep["cases"] if "resources" in c}
    for c in rep["cases"]:
        if c["id"] not in order:
            order.append(c["id"])
    verdicts[name] = {"0": "pass" + listed, "1": "**FAIL**" + listed}.get(rc, "could not test")
cell = {"pass": "pass", "fail": "**FAIL**", "skip": "skip"}


def table(rows):
    """A Markdown table: a column per implementation, rows of (first cell, cells)."""
    print("| case | " + " | ".join(i[0] for i in impls) + " |")
    print("|---|" + "---|" * len(impls))
    for first, cells in rows:
        print("| %s | " % first + " | ".join(cells) + " |")


def case_cell(name, not_run, case):
    return "not run" if not_run else cell.get(results[name].get(case), "-")


def per_connection(f):
    return "%.0f B / %.3f" % (f["bytes_per_connection"], f["descriptors_per_connection"]) if f else "-"


def runtime(name):
    """Processes and threads of the server after the 2000 connect-and-close clients (or the UDP senders)."""
    for case in ("tcp/resources/connections", "udp/resources/senders"):
        f = figures[name].get(case)
        if f and "processes" in f:
            return "%d process%s, %d thread%s" % (f["processes"], "es" * (f["processes"] != 1),
                                                  f["threads"], "s" * (f["threads"] != 1))
    return "-"


print("# Interoperability: conform over every implementation in the repository\n")
print("Written by `ci/interop.sh` (%s s): each implementation through the conformance gate" % seconds)
print("(`ci/conformance-gate.sh`), case by case: pass, **FAIL**, skip, or `-` when it does not serve that")
print("transport. An implementation with an expected-failure list (`ci/expected-failures/`) passes its gate")
print("when it fails exactly the listed cases. Case ids and rules: `harness/conform/README.md`, `SPEC.md`.")
print("The servers of `interop/` (Node.js, Go, Rust, Java, Perl) each come in their correct form and their")
print("naive one (`-naive`: the one-line change that language's newcomers make, `interop/README.md`); a")
print("language whose toolchain is missing is \"not run\" (`ci/install-deps.sh --interop` installs them).\n")
rows = [("`%s`" % case, [case_cell(n, nr, case) for n, _, _, nr in impls]) for case in order]
rows.append(("**gate**", [verdicts[i[0]] for i in impls]))
rows.append(("design", [i[2] for i in impls]))
rows.append(("runtime", [runtime(i[0]) for i in impls]))
table(rows)
print("\nRuntime: the server's processes and threads in all (from /proc), after `tcp/resources/connections`'")
print("2000 connect-and-close clients (a UDP-only server: after `udp/resources/senders`).")
measured = [c for c in order if any(c in figures[i[0]] for i in impls)]
if measured:
    print("\nWhat each server kept per connection (or UDP sender) once they were gone, measured from /proc by")
    print("the resource cases: resident bytes / descriptors per connection (bound: 16384 bytes, 2 + n/100")
    print("descriptors in all).\n")
    table([("`%s`" % case, [per_connection(figures[i[0]].get(case)) for i in impls]) for case in measured])
PY
if [ "$out" = - ]; then
	cat "$work/table.md"
else
	cp "$work/table.md" "$out" || exit 2
	echo "interop: wrote $out" >&2
fi
# every implementation's gate passed: exit 0; one failed: 1; one could not test: 2 (mutants do not count)
worst=0
while IFS='|' read -r name _; do
	[ -f "$work/$name.rc" ] || continue # not run, and --require-all not given
	rc=$(cat "$work/$name.rc")
	case $name in mutant-*) [ "$rc" -le 1 ] && continue ;; esac
	[ "$rc" -gt "$worst" ] && worst=$rc
done <"$work/names"
exit "$worst"

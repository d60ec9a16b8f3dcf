#!/bin/sh
# interop.sh - the interoperability table: runs the conformance gate (ci/conformance-gate.sh) over every
# implementation of the uppercase protocol in the repository and writes a Markdown matrix, case by
# implementation (pass, FAIL, skip; "-" when the implementation does not serve that transport), with each
# gate's verdict, to INTEROP.md. Implementations with an expected-failure list (ci/expected-failures/) are
# judged against it: their gate passes when they fail exactly the listed cases.
usage() {
	cat <<'USAGE'
usage: ci/interop.sh [--bin DIR] [--out FILE] [--mutants DIR] [-- CONFORM-OPTIONS...]
  --bin DIR       holds conform, tcp-upper and udp-upper (default: bin/ of the repository)
  --out FILE      the Markdown table (default: INTEROP.md of the repository); '-' for stdout
  --mutants DIR   also the test mutants built there (tests/mutants/, e.g. build/std/mutants): shown,
                  their failing gates not counted
Needs python3 (the Python servers, and the table from conform's JSON).
Exit status: 0 every gate passed, 1 a gate failed, 2 could not run.
USAGE
}
set -u
extra="" more=""
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/bin out=$root/INTEROP.md mutants=""
while [ $# -gt 0 ]; do
	case $1 in
	--help | -h) usage; exit 0 ;;
	--bin) [ $# -ge 2 ] || { echo "interop: --bin needs a directory" >&2; exit 2; }; bin=$(cd "$2" && pwd) || exit 2; shift 2 ;;
	--out) [ $# -ge 2 ] || { echo "interop: --out needs a file" >&2; exit 2; }; out=$2; shift 2 ;;
	--mutants) [ $# -ge 2 ] || { echo "interop: --mutants needs a directory" >&2; exit 2; }; mutants=$(cd "$2" && pwd) || exit 2; shift 2 ;;
	--) shift; extra="$*"; break ;;
	*) echo "interop: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done
for p in conform tcp-upper udp-upper; do
	[ -x "$bin/$p" ] || { echo "interop: $bin/$p is not built (make, or --bin DIR)" >&2; exit 2; }
done
command -v python3 >/dev/null || { echo "interop: python3 is not installed" >&2; exit 2; }
work=$(mktemp -d /tmp/interop.XXXXXX) || exit 2
trap 'rm -rf "$work"' EXIT
py=$root/servers/python ef=$root/ci/expected-failures
t0=$(date +%s)

# gate NAME EXPECTED-FAILURES-FILE|- GATE-ARGS...: runs the gate (conform options of the command line
# after its own), keeps conform's JSON and the gate's exit status
gate() {
	name=$1 list=$2
	shift 2
	[ "$list" = - ] || set -- --expect-failures "$list" "$@"
	s=$(date +%s)
	CONFORM=$bin/conform "$root/ci/conformance-gate.sh" "$@" -- --json "$work/$name.json" $extra $more \
		>"$work/$name.log" 2>&1
	echo $? >"$work/$name.rc"
	echo "$name|$list" >>"$work/names"
	echo "interop: $name: gate exit $(cat "$work/$name.rc") in $(($(date +%s) - s)) s" >&2
}

gate reference - --tcp-cmd "$bin/tcp-upper -l 127.0.0.1:0" --udp-cmd "$bin/udp-upper -l 127.0.0.1:0"
gate python-corrected - "python3 $py/corrected.py 0"
gate python-thread-per-connection - "python3 $py/thread_per_connection.py 0"
gate python-tutorial-socketserver "$ef/python-tutorial-socketserver.txt" "python3 $py/tutorial_socketserver.py 0"
gate python-tutorial-udp-plain "$ef/python-tutorial-udp-plain.txt" --udp-cmd "python3 $py/tutorial_udp_plain.py {port}"
gate python-decoding-upper "$ef/python-decoding-upper.txt" "python3 $py/decoding_upper.py 0"
if [ -n "$mutants" ]; then
	grep -v '^#' "$root/tests/mutants/EXPECTED" | while read -r m _; do
		[ -n "$m" ] && [ -x "$mutants/$m" ] && echo "$m"
	done >"$work/mutants"
	more="--timeout 1000 --retries 0" # each fails (its bug), quickly; their gates do not count
	while read -r m; do
		gate "mutant-$m" - "$mutants/$m"
	done <"$work/mutants"
fi

python3 - "$work" "$(($(date +%s) - t0))" >"$work/table.md" <<'PY'
import json, os, sys
work, seconds = sys.argv[1], sys.argv[2]
impls = [line.rstrip("\n").split("|", 1) for line in open(os.path.join(work, "names"))]
results, verdicts, order, figures = {}, {}, [], {}
for name, expected in impls:
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
    listed = " (expected failures)" if expected != "-" else ""
    verdicts[name] = {"0": "pass" + listed, "1": "**FAIL**" + listed}.get(rc, "could not test")
cell = {"pass": "pass", "fail": "**FAIL**", "skip": "skip"}


def table(rows):
    """A Markdown table: a column per implementation, rows of (first cell, cells)."""
    print("| case | " + " | ".join(n for n, _ in impls) + " |")
    print("|---|" + "---|" * len(impls))
    for first, cells in rows:
        print("| %s | " % first + " | ".join(cells) + " |")


def per_connection(f):
    return "%.0f B / %.3f" % (f["bytes_per_connection"], f["descriptors_per_connection"]) if f else "-"


print("# Interoperability: conform over every implementation in the repository\n")
print("Written by `ci/interop.sh` (%s s): each implementation through the conformance gate" % seconds)
print("(`ci/conformance-gate.sh`), case by case: pass, **FAIL**, skip, or `-` when it does not serve that")
print("transport. An implementation with an expected-failure list (`ci/expected-failures/`) passes its gate")
print("when it fails exactly the listed cases. Case ids and rules: `harness/conform/README.md`, `SPEC.md`.\n")
rows = [("`%s`" % case, [cell.get(results[n].get(case), "-") for n, _ in impls]) for case in order]
table(rows + [("**gate**", [verdicts[n] for n, _ in impls])])
measured = [c for c in order if any(c in figures[n] for n, _ in impls)]
if measured:
    print("\nWhat each server kept per connection (or UDP sender) once they were gone, measured from /proc by")
    print("the resource cases: resident bytes / descriptors per connection (bound: 16384 bytes, 2 + n/100")
    print("descriptors in all).\n")
    table([("`%s`" % case, [per_connection(figures[n].get(case)) for n, _ in impls]) for case in measured])
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
	rc=$(cat "$work/$name.rc")
	case $name in mutant-*) [ "$rc" -le 1 ] && continue ;; esac
	[ "$rc" -gt "$worst" ] && worst=$rc
done <"$work/names"
exit "$worst"

#!/bin/sh
# run.sh - proves conform has teeth: runs it on every mutant in tests/mutants/EXPECTED and asserts each
# fails its listed case ids (with the listed text in the message), that the bug-free "none" mutant, the
# reference servers and a correct Python server of another design (servers/python/thread_per_connection.py:
# threads, not an event loop) pass every case. servers/python/corrected.py passes every case with --strict in
# conform-python (harness/conform/test-python.sh), so it is not run again here. A mutant with listed ids
# runs those cases only (--only): its verdict is about them, and the whole suite on every mutant cost
# most of this script's time. Prints one line per server and a final "N passed, N failed".
# Usage: tests/mutants/run.sh CONFORM MUTANTDIR BINDIR   (e.g. build/std/bin/conform build/std/mutants build/std/bin)
set -u
if [ "${1:-}" = "--help" ] || [ $# -ne 3 ]; then
	echo "usage: $0 CONFORM MUTANTDIR BINDIR"
	echo "  CONFORM    the conform binary; MUTANTDIR holds the mutants built by conform.mk;"
	echo "  BINDIR     holds tcp-upper and udp-upper (the reference servers, which must pass)"
	[ "${1:-}" = "--help" ] && exit 0
	exit 2
fi
CONFORM=$1 MDIR=$2 BDIR=$3
HERE=$(dirname "$0")
TIMEOUT=${MUTANT_TIMEOUT_MS:-1000}
out=$(mktemp -d /tmp/conform-mutants.XXXXXX) || exit 2
trap 'rm -rf "$out"' EXIT
pass=0 fail=0
t0=$(date +%s)

# check NAME EXPECTED-IDS TEXT conform-args...: EXPECTED-IDS "-" means every MUST case passes.
check() {
	name=$1 ids=$2 text=$3
	shift 3
	# conform bounds every wait itself; this outer bound only turns a hang into a failure (the verdict
	# line shows the seconds the run took)
	started=$(date +%s)
	timeout 150 "$CONFORM" --json "$out/$name.json" "$@" >"$out/$name.txt" 2>&1
	rc=$?
	took=$(($(date +%s) - started))
	[ $rc -eq 124 ] && echo "conform did not finish within 150 s: it hung" >>"$out/$name.txt"
	verdict=$(python3 - "$out/$name.json" "$ids" "$text" "$rc" <<'PY'
import json, sys
path, ids, text, rc = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
try:
    rep = json.load(open(path))
except Exception as e:
    print("FAIL conform wrote no readable JSON (exit %d): %s" % (rc, e)); sys.exit()
failed = {c["id"]: c for c in rep["cases"] if c["status"] == "fail"}
must_failed = [i for i, c in failed.items() if c["level"] == "MUST"]
if ids == "-":
    if rc != 0 or must_failed:
        print("FAIL expected every MUST case to pass (exit %d); failed: %s" % (rc, " ".join(must_failed)))
    else:
        print("PASS all %d cases passed or skipped" % len(rep["cases"]))
    sys.exit()
want = ids.split(",")
missing = [i for i in want if i not in failed]
texts = [t for t in text.split("&&") if t]
notext = [i for i in want if i in failed and any(t not in failed[i]["message"] for t in texts)]
extra = sorted(set(failed) - set(want))
if rc != 1 or missing or notext:
    print("FAIL exit %d; expected failures not seen: %s; message without '%s': %s" %
          (rc, " ".join(missing) or "-", text, " ".join(notext) or "-"))
else:
    print("PASS failed %s as expected%s" % (",".join(want), ("; also failed: " + " ".join(extra)) if extra else ""))
PY
)
	echo "$verdict" | sed "s|^\([A-Z]*\) |\1 $name (${took} s): |" >"$out/$name.verdict"
	case $verdict in
	PASS*) ;;
	*) sed 's/^/    | /' "$out/$name.txt" | grep -v '^    | PASS' >>"$out/$name.verdict" ;;
	esac
}

# report NAME: prints a check's verdict and counts it
report() {
	cat "$out/$1.verdict"
	case $(head -1 "$out/$1.verdict") in
	PASS*) pass=$((pass + 1)) ;;
	*) fail=$((fail + 1)) ;;
	esac
}

# the servers that must pass run alone (timing matters to them); the mutants two at a time
check reference - "" --exec-tcp "$BDIR/tcp-upper -l 127.0.0.1:0" --exec-udp "$BDIR/udp-upper -l 127.0.0.1:0"
report reference
ROOT=$(cd "$HERE/../.." && pwd)
for py in thread_per_connection; do
	if command -v python3 >/dev/null; then
		check "python-$py" - "" --exec "python3 $ROOT/servers/python/$py.py {port}"
	else
		echo "FAIL python-$py: python3 is not installed" >"$out/python-$py.verdict"
	fi
	report "python-$py"
done
grep -v '^#' "$HERE/EXPECTED" | while read -r name ids text; do
	[ -n "$name" ] && echo "$name|$ids|$text"
done >"$out/list"
jobs_running=0
while IFS='|' read -r name ids text; do
	if [ ! -x "$MDIR/$name" ]; then
		echo "FAIL $name: $MDIR/$name is not built" >"$out/$name.verdict"
	elif [ "$ids" = "-" ]; then
		check "$name" - "" --exec "$MDIR/$name"
	else
		[ "$text" = "-" ] && text=""
		t=$TIMEOUT
		# the silent server times out in every case: a shorter bound keeps it quick (it proves no hang)
		[ "$name" = silent ] && t=300
		only=$(echo "$ids" | tr ',' '\n' | sed 's/^/--only /' | tr '\n' ' ')
		# shellcheck disable=SC2086 # one word per option and id (ids hold no blanks)
		check "$name" "$ids" "$text" --timeout "${t}ms" --retries 0 $only --exec "$MDIR/$name" &
		jobs_running=$((jobs_running + 1))
		if [ $jobs_running -ge 2 ]; then
			wait
			jobs_running=0
		fi
	fi
done <"$out/list"
wait
while IFS='|' read -r name ids text; do
	report "$name"
done <"$out/list"
echo "mutants: $(($(date +%s) - t0)) s"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

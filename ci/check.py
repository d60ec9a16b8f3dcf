#!/usr/bin/env python3
"""check.py - make check's runner: builds each variant, runs every suite one after another (the standard
variant's tests, the ASan+UBSan variant's, then the once-only checks), and ends with a table of the
suites' wall times, slowest first, so that it shows where the time goes.

The suites come from the Makefile itself (make print-suites): TESTS run in both variants unless listed in
STD_SKIP (suites the sanitizer variant repeats with more checking and the standard one adds nothing to),
CHECK_ONCE once. It stops at the first failing suite, prints the table of what ran and exits 1; 0 when
every suite passed; 2 on a usage error or when make lists no suite (a check that checked nothing fails)."""
import argparse
import os
import shlex
import subprocess
import sys
import time


def suites(make, variant):
    """make print-suites' lists in variant ('std' or 'san'): {variable: [words]}."""
    args = shlex.split(make) + ["-s", "--no-print-directory", "print-suites"]
    if variant == "san":
        args.append("SAN=1")
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    lists = {}
    for line in out.splitlines():
        name, _, words = line.partition(":")
        lists[name.strip()] = words.split()
    for var in ("TESTS", "STD_SKIP", "CHECK_ONCE"):
        if var not in lists:
            raise SystemExit(f"check.py: make print-suites gave no {var} line")
    return lists


def plan(make):
    """The rows to run: (suite, variant, make arguments)."""
    jobs = "-j" + str(os.cpu_count() or 1)
    std, san = suites(make, "std"), suites(make, "san")
    rows = [("build", "std", [jobs, "all", "check-build"])]
    rows += [(t, "std", [t]) for t in std["TESTS"] if t not in std["STD_SKIP"]]
    rows.append(("build", "san", ["SAN=1", jobs, "all", "check-build"]))
    rows += [(t, "san", ["SAN=1", t]) for t in san["TESTS"]]
    rows.append(("build", "once", [jobs, "check-build-once"]))
    rows += [(t, "once", [t]) for t in std["CHECK_ONCE"]]
    return rows


def table(done, total):
    """The time table of the rows done, slowest first."""
    lines = ["make check: wall time per suite, slowest first",
             f"  {'suite':<24} {'variant':<8} {'seconds':>8} {'share':>6}  result"]
    for suite, variant, secs, ok in sorted(done, key=lambda r: -r[2]):
        share = 100 * secs / total if total > 0 else 0
        lines.append(f"  {suite:<24} {variant:<8} {secs:8.1f} {share:5.1f}%  {'ok' if ok else 'FAILED'}")
    lines.append(f"  {'total':<24} {'':<8} {total:8.1f}        {len(done)} suites")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(
        description="Runs make check's suites and prints their wall times, slowest first.",
        epilog="example: make check   (runs ci/check.py --make make)")
    ap.add_argument("--make", default="make", help="the make command to run (default: make)")
    ap.add_argument("--times", default="build/check-times.txt",
                    help="where the table is written as well (default: build/check-times.txt)")
    a = ap.parse_args()
    try:
        rows = plan(a.make)
    except (subprocess.CalledProcessError, OSError) as e:
        print(f"check.py: cannot list the suites with {a.make} print-suites: {e}", file=sys.stderr)
        return 2
    if all(suite == "build" for suite, _, _ in rows):
        print("check.py: make lists no suite to run: nothing would be checked", file=sys.stderr)
        return 2
    done, start = [], time.monotonic()
    for i, (suite, variant, args) in enumerate(rows, 1):
        print(f"check.py: [{i}/{len(rows)}] {suite} ({variant})", flush=True)
        t0 = time.monotonic()
        rc = subprocess.run(shlex.split(a.make) + args).returncode
        done.append((suite, variant, time.monotonic() - t0, rc == 0))
        if rc != 0:
            break
    text = table(done, time.monotonic() - start)
    print(text)
    try:
        os.makedirs(os.path.dirname(a.times) or ".", exist_ok=True)
        with open(a.times, "w") as f:
            f.write(text + "\n")
    except OSError as e:
        print(f"check.py: {a.times}: {e.strerror}", file=sys.stderr)
    if not done[-1][3]:
        print(f"make check: {done[-1][0]} ({done[-1][1]}) failed", file=sys.stderr)
        return 1
    print("make check: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

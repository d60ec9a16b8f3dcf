#!/usr/bin/env python3
"""check-architecture.py - fails when a source file git tracks is not named in ARCHITECTURE.md, or when
ARCHITECTURE.md names a source file that no longer exists, so that the map of the house stays true.

A source file is a tracked .c or .py file; it counts as named when its path from the top of the tree
appears in ARCHITECTURE.md between backquotes (`lib/decode.c`). Exit 0 every file named, 1 a file
missing or stale (each listed), 2 not a git checkout or no ARCHITECTURE.md."""
import argparse
import os
import re
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser(
        description="Checks that ARCHITECTURE.md names every tracked C and Python source file.",
        epilog="example: ci/check-architecture.py   (make architecture-check)")
    ap.add_argument("--doc", default="ARCHITECTURE.md", help="the document (default: ARCHITECTURE.md)")
    a = ap.parse_args()
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    try:
        files = subprocess.run(["git", "ls-files", "--", "*.c", "*.py"], check=True, capture_output=True,
                               text=True).stdout.split()
        with open(a.doc, encoding="utf-8") as f:
            doc = f.read()
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"check-architecture: {e}", file=sys.stderr)
        return 2
    if not files:
        print("check-architecture: git lists no C or Python file: nothing to check", file=sys.stderr)
        return 2
    named = set(re.findall(r"`([\w./-]+\.(?:c|py))`", doc))
    missing = [p for p in files if p not in named]
    # A path with a placeholder in capitals (harness/fuzz/fuzz_NAME.c) stands for a file to be added.
    stale = sorted(p for p in named if "/" in p and not re.search("[A-Z]{3}", p) and not os.path.exists(p))
    for p in missing:
        print(f"check-architecture: {p} is not named in {a.doc} (add it under its module)", file=sys.stderr)
    for p in stale:
        print(f"check-architecture: {a.doc} names {p}, which does not exist", file=sys.stderr)
    if missing or stale:
        return 1
    print(f"check-architecture: {a.doc} names all {len(files)} C and Python source files")
    return 0


if __name__ == "__main__":
    sys.exit(main())

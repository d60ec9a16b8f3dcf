#!/bin/bash -eu
# build.sh - OSS-Fuzz / ClusterFuzzLite build script for capslock's fuzz targets.
# Contract: compile with $CC $CFLAGS, link with $LIB_FUZZING_ENGINE, write every target into $OUT with
# <target>_seed_corpus.zip, <target>.dict and <target>.options. Runs inside the base-builder image
# (see Dockerfile) and locally (make fuzz-ossfuzz-build sets the variables).
#   CC=clang CFLAGS=-fsanitize=fuzzer-no-link,address LIB_FUZZING_ENGINE=-fsanitize=fuzzer \
#     OUT=/tmp/out .clusterfuzzlite/build.sh
if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
	sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
fi
: "${CC:?set CC}" "${OUT:?set OUT}" "${LIB_FUZZING_ENGINE:?set LIB_FUZZING_ENGINE}"
CFLAGS=${CFLAGS:-}
CXX=${CXX:-}
# The source tree: next to this script (.clusterfuzzlite/..), or, in the OSS-Fuzz image where build.sh is
# copied to $SRC, the working directory ($SRC/capslock).
here=$(cd "$(dirname "$0")" && pwd)
if [ -f "$here/../lib/upper.c" ]; then
	SRCDIR=$(cd "$here/.." && pwd)
elif [ -f "$PWD/lib/upper.c" ]; then
	SRCDIR=$PWD
elif [ -f "${SRC:-/src}/capslock/lib/upper.c" ]; then
	SRCDIR=${SRC:-/src}/capslock
else
	echo "build.sh: cannot find the capslock sources (lib/upper.c) near $here, in $PWD or \$SRC/capslock" >&2
	exit 1
fi
WORK=${WORK:-$(mktemp -d)}
cd "$SRCDIR"

# The target list and the sources every target links: harness/fuzz/targets.txt, as for make.
targets=$(sed -n 's/^targets://p' harness/fuzz/targets.txt)
common=$(sed -n 's/^sources://p' harness/fuzz/targets.txt)
if [ -z "$targets" ] || [ -z "$common" ]; then
	echo "build.sh: harness/fuzz/targets.txt names no targets or no sources" >&2
	exit 1
fi

mkdir -p "$WORK/obj" "$OUT"
objs=""
for src in $common; do
	o="$WORK/obj/$(echo "$src" | tr / _).o"
	# shellcheck disable=SC2086
	$CC $CFLAGS -std=c11 -D_GNU_SOURCE -Ilib -c "$src" -o "$o"
	objs="$objs $o"
done

zipdir() { # zip FILE DIR...: store the regular files of the directories, flat
	local out=$1
	shift
	rm -f "$out"
	if command -v zip >/dev/null; then
		find "$@" -type f ! -name '.*' -print0 | xargs -0 -r zip -q -j "$out"
	else
		find "$@" -type f ! -name '.*' -print0 | xargs -0 -r python3 -c '
import sys, zipfile, os
with zipfile.ZipFile(sys.argv[1], "w") as z:
    for f in sys.argv[2:]:
        z.write(f, os.path.basename(f))' "$out"
	fi
}

for t in $targets; do
	# shellcheck disable=SC2086
	$CC $CFLAGS -std=c11 -D_GNU_SOURCE -Ilib -c "harness/fuzz/$t.c" -o "$WORK/obj/$t.o"
	# libFuzzer is C++: link with $CXX when the environment gives one (OSS-Fuzz does).
	# shellcheck disable=SC2086
	${CXX:-$CC} $CFLAGS "$WORK/obj/$t.o" $objs $LIB_FUZZING_ENGINE -o "$OUT/$t"
	zipdir "$OUT/${t}_seed_corpus.zip" "corpus/$t"
	cp "harness/fuzz/$t.dict" "harness/fuzz/$t.options" "$OUT/"
done
echo "build.sh: built $targets into $OUT"

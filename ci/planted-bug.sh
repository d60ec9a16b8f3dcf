#!/usr/bin/env bash
# planted-bug.sh - shows that the fuzzers find a bug planted in the library or a server's loop within a
# time limit. It copies the bug's file (lib/*.c or servers/*.c) to a temporary directory, plants the bug
# there with sed (the shipped file is never touched), builds the bug's libFuzzer target against the copy
# and fuzzes it.
set -euo pipefail

usage() {
	cat <<USAGE
usage: ci/planted-bug.sh [-t SECONDS] [-f TARGET] [-o OBJDIR] [BUG...]
Plants each BUG in a copy of its library or server file, builds the matching libFuzzer target (or TARGET, to see
whether another target finds it) and fuzzes it for at most SECONDS (default 60). Exit 0 if every bug
was found in time, 1 if one was not, 2 on a setup error (for example: the library changed and the patch
no longer applies). With -o, the sources the bug does not touch are linked from OBJDIR, make fuzz's libFuzzer
build (build/fuzz-libfuzzer, compiled with the same flags), so only the planted copy is compiled.
Bugs (default: all):
  tcp-fin-early   the connection asks for FIN while its last owed byte is still pending (SPEC T4)
  tcp-drop-last   the connection drops its last pending byte when the peer's FIN arrives (T1, T4)
  tcp-slide       the buffer compaction forgets to move the pending bytes (T1: wrong bytes sent)
  tcp-reset-live  a reset or write error does not end the connection (T6: it keeps writing)
  tcp-reset-next  the drive (lib/drive.c) remembers, in a static flag, that a connection was reset or its
                  write failed, and fails the next write of whatever connection comes next: that
                  connection is closed as if reset, its owed bytes dropped (T1/T6: a close with no cause)
  tcp-conn-cross  tcp-upper's loop (servers/tcp_loop.c), closing a reset connection, also drops the
                  next connection's pending output (T1 on the other connection)
  udp-short       the UDP reply is one byte short (U2, U4)
  udp-batch-addr  udp-upper's batch loop (servers/udp_loop.c), leaving out a truncated datagram, moves
                  the next reply's buffer but not its address: it goes to another datagram's sender (U1)
  reasm-overlap1  replay's reassembly (lib/decode_flows.c) drops a segment that overlaps the stream's end by
                  exactly one byte instead of keeping its new bytes
  decode-hbh-len  the frame decoder (lib/decode.c) skips an IPv6 hop-by-hop header as 8 bytes whatever its
                  length field says, so the TCP header is read inside it (a capture's flows become "malformed")
Environment: CLANG (default clang).
USAGE
}

limit=60
force=
objdir=
while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help) usage; exit 0 ;;
	-t)
		if [ $# -lt 2 ]; then echo "planted-bug.sh: -t needs SECONDS" >&2; exit 2; fi
		limit=$2
		shift 2
		case "$limit" in
		'' | *[!0-9]* | 0*) echo "planted-bug.sh: -t '$limit': expected whole seconds from 1 to 86400" >&2; exit 2 ;;
		esac
		if [ "$limit" -gt 86400 ]; then echo "planted-bug.sh: -t '$limit': expected whole seconds from 1 to 86400" >&2; exit 2; fi
		;;
	-f)
		if [ $# -lt 2 ]; then echo "planted-bug.sh: -f needs TARGET" >&2; exit 2; fi
		force=$2
		shift 2
		;;
	-o)
		if [ $# -lt 2 ]; then echo "planted-bug.sh: -o needs OBJDIR" >&2; exit 2; fi
		objdir=$2
		[ -d "$objdir" ] || { echo "planted-bug.sh: -o $objdir: no such directory (make fuzz-build)" >&2; exit 2; }
		shift 2
		;;
	-*) echo "planted-bug.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	*) break ;;
	esac
done
bugs=("$@")
all=(tcp-fin-early tcp-drop-last tcp-slide tcp-reset-live tcp-reset-next tcp-conn-cross udp-short udp-batch-addr reasm-overlap1 decode-hbh-len)
[ ${#bugs[@]} -gt 0 ] || bugs=("${all[@]}")
# every name checked before the first (minute-long) run, not when its turn comes
for bug in "${bugs[@]}"; do
	case " ${all[*]} " in
	*" $bug "*) ;;
	*) echo "planted-bug.sh: unknown bug '$bug'" >&2; usage >&2; exit 2 ;;
	esac
done
cd "$(dirname "$0")/.."
CLANG=${CLANG:-clang}
targets=$(sed -n 's/^targets://p' harness/fuzz/targets.txt)
sources=$(sed -n 's/^sources://p' harness/fuzz/targets.txt)
case " $targets " in *" ${force:-fuzz_tcp} "*) ;; *)
	echo "planted-bug.sh: -f $force: not a target of harness/fuzz/targets.txt ($targets)" >&2
	exit 2 ;;
esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

bug_file() { # bug: the library or server file the bug is planted in
	case "$1" in reasm-*) echo lib/decode_flows.c ;; decode-*) echo lib/decode.c ;; tcp-conn-cross) echo servers/tcp_loop.c ;; tcp-reset-next) echo lib/drive.c ;; udp-batch-addr) echo servers/udp_loop.c ;; *) echo lib/upper.c ;; esac
}

bug_target() { # bug: the fuzz target meant to find it
	case "$1" in udp-*) echo fuzz_udp ;; reasm-* | decode-*) echo fuzz_reasm ;; *) echo fuzz_tcp ;; esac
}

plant() { # bug original copy: applies the sed to the copy, fails if it changed nothing
	local bug=$1 orig=$2 f=$3
	case "$bug" in
	tcp-fin-early) sed -i '/^static int wants_shutdown(/,/^}/s/c->len == 0;/c->len <= 1;/' "$f" ;;
	tcp-drop-last) sed -i 's/^\(\t*\)c->flags |= UPPER_CF_EOF;/&\n\1if (c->len > 0) c->len--;/' "$f" ;;
	tcp-slide) sed -i '/^size_t upper_conn_rspace/,/^}/s/^\(\t*\)memmove(c->buf, c->buf + c->off, c->len);/\1(void)0; \/* planted: pending bytes not moved *\//' "$f" ;;
	tcp-reset-live) sed -i 's/^\(\t*\)c->flags |= UPPER_CF_DEAD;/\1(void)0; \/* planted: the connection stays alive *\//' "$f" ;;
	tcp-reset-next) sed -i -e 's/^#include "drive.h"$/&\nstatic int lost; \/* planted: set by a reset or a failed write *\//' \
		-e 's/^\(\t*\)ssize_t k = io->send(ctx, p, n);$/\1ssize_t k = lost ? DRIVE_IO_ERR - 1 : io->send(ctx, p, n);\n\1lost = 0;/' \
		-e 's/^\(\t*\)\(rc = feed(c, io, ctx, UPPER_EV_WERROR, 0, \&want);\)$/\1lost = k == DRIVE_IO_ERR, \2/' \
		-e 's/^\(\t*\)\(rc = feed(c, io, ctx, UPPER_EV_RESET, 0, \&want);\)$/\1lost = 1, \2/' "$f" ;;
	tcp-conn-cross) sed -i '/^static void conn_close(/,/^}/s/^\(\t*\)l->io->release(l->ctx, c);$/\1if ((c->uc.flags \& UPPER_CF_DEAD) \&\& c->next != NULL) c->next->uc.len = 0; \/* planted *\/\n&/' "$f" ;;
	udp-batch-addr) sed -i '/^static int reply_batch(/,/^}/s/^\(\t*\)l->msgs\[count\] = l->msgs\[i\];/\1l->iov[count] = l->iov[i]; \/* planted: the reply moves, not its address *\//' "$f" ;;
	udp-short) sed -i '/^size_t upper_udp_reply/,/^}/s/return n;/return n > 0 ? n - 1 : 0;/' "$f" ;;
	reasm-overlap1) sed -i '/^static int place(/,/^}/s/^\(\t*\)if (off < next) {$/&\n\1\tif (next - off == 1)\n\1\t\treturn DEC_OK; \/* planted: a one-byte overlap is dropped *\//' "$f" ;;
	decode-hbh-len) sed -i '/^static int ipv6(/,/^}/s/^\(\t*\)nh = v;$/\1if (nh == 0)\n\1\thl = 0; \/* planted: hop-by-hop taken as 8 bytes *\/\n&/' "$f" ;;
	*) echo "planted-bug.sh: unknown bug '$bug'" >&2; usage >&2; exit 2 ;;
	esac
	if cmp -s "$orig" "$f"; then
		echo "planted-bug.sh: $bug: the patch no longer applies to $orig; update ci/planted-bug.sh" >&2
		exit 2
	fi
}

rc=0
for bug in "${bugs[@]}"; do
	d=$tmp/$bug
	mkdir -p "$d/core" "$d/work" "$d/crash"
	file=$(bug_file "$bug")
	copy=$d/core/$(basename "$file")
	cp "$file" "$copy"
	plant "$bug" "$file" "$copy"
	target=${force:-$(bug_target "$bug")}
	case " $targets " in *" $target "*) ;; *)
		echo "planted-bug.sh: $target is not in harness/fuzz/targets.txt" >&2
		exit 2 ;;
	esac
	# every source the targets link (harness/fuzz/targets.txt), with the planted copy for the bug's file
	srcs=("harness/fuzz/$target.c")
	for s in $sources; do
		[ "$s" != "$file" ] || continue
		if [ -n "$objdir" ]; then
			o=$objdir/${s%.c}.o
			[ -f "$o" ] || { echo "planted-bug.sh: $o is missing (make fuzz-build)" >&2; exit 2; }
			srcs+=("$o")
		else
			srcs+=("$s")
		fi
	done
	[ -z "$objdir" ] || srcs[0]=$objdir/harness/fuzz/$target.o
	if ! "$CLANG" -std=c11 -g -O1 -D_GNU_SOURCE -I"$d/core" -Ilib -Iservers -fsanitize=fuzzer,address,undefined \
		-o "$d/fuzzer" "$copy" "${srcs[@]}" 2>"$d/build.log"; then
		echo "planted-bug.sh: $bug: build failed:" >&2
		cat "$d/build.log" >&2
		exit 2
	fi
	max_len=$(sed -n 's/^max_len *= *//p' "harness/fuzz/$target.options")
	start=$(date +%s%N)
	"$d/fuzzer" -max_total_time="$limit" -timeout=10 -dict="harness/fuzz/$target.dict" -max_len="${max_len:-4096}" \
		-artifact_prefix="$d/crash/" "$d/work" "corpus/$target/regressions" >"$d/log" 2>&1 || true
	ms=$((($(date +%s%N) - start) / 1000000))
	# the target's own verdict (not any crash): a SPEC breach, a truth breach or a broken invariant
	if found=$(grep -m1 -oE '(SPEC breach|truth breach|invariant broken).*' "$d/log"); then
		printf 'planted-bug.sh: %-14s FOUND by %s in %d.%03d s: %s\n' "$bug" "$target" $((ms / 1000)) \
			$((ms % 1000)) "$found"
	else
		printf 'planted-bug.sh: %-14s NOT FOUND by %s within %s s\n' "$bug" "$target" "$limit"
		rc=1
	fi
done
exit $rc

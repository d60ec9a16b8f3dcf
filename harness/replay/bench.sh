#!/bin/sh
# bench.sh - measures bin/replay's decode + reassembly rate (packets/s, libpcap read included) on a
# generated capture of at least PACKETS packets, side by side with a tshark read of the same file
# (tshark -q -z follow,tcp,raw,0) when tshark is installed. Writes out/bench/replay.json.
#
# usage: harness/replay/bench.sh [--help] BINDIR [PACKETS]      (default PACKETS 1000000)
# The capture (out/bench/replay-bench.pcap, ~90 MB for 1M packets) is generated, not committed, and
# removed afterwards. Each program gets 3 runs (tshark 1: it is slow); the best time is reported.
# Bounded: every run is killed after 300 s.
set -eu
case "${1:-}" in -h|--help|"") sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; [ -n "${1:-}" ]; exit $? ;; esac
B=$1
N=${2:-1000000}
OUT=out/bench
PCAP=$OUT/replay-bench.pcap
mkdir -p "$OUT"
trap 'rm -f "$PCAP"' EXIT INT TERM
"$B/gen-pcaps" --bench "$N" "$PCAP" >/dev/null
packets=$("$B/replay" --decode-only "$PCAP" | sed -n 's/.*: \([0-9]*\) packets,.*/\1/p')

now() { date +%s.%N; }
best=""
for i in 1 2 3; do
	t0=$(now)
	timeout 300 "$B/replay" --decode-only "$PCAP" >/dev/null
	t=$(echo "$(now) - $t0" | bc -l)
	if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
done
rpps=$(echo "$packets / $best" | bc -l | cut -d. -f1)

tsec=null; tpps=null; tver=null
if command -v tshark >/dev/null 2>&1; then
	tver="\"$(tshark --version 2>/dev/null | head -1 | sed 's/"//g')\""
	t0=$(now)
	if timeout 300 tshark -n -q -r "$PCAP" -z follow,tcp,raw,0 >/dev/null 2>&1; then
		tsec=$(echo "$(now) - $t0" | bc -l)
		tpps=$(echo "$packets / $tsec" | bc -l | cut -d. -f1)
		tsec=$(printf '%.3f' "$tsec")
	fi
fi
cat >"$OUT/replay.json" <<JSON
{
  "benchmark": "replay decode + reassembly (libpcap read included), whole file, all flows",
  "capture": {"packets": $packets, "generator": "gen-pcaps --bench $N", "flows": "TCP, 23 packets each"},
  "replay": {"command": "replay --decode-only", "seconds": $(printf '%.3f' "$best"), "replay_packets_per_second": $rpps},
  "tshark": {"command": "tshark -n -q -r FILE -z follow,tcp,raw,0", "version": $tver, "seconds": $tsec, "tshark_packets_per_second": $tpps},
  "cpu": "$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //; s/"//g')"
}
JSON
cat "$OUT/replay.json"

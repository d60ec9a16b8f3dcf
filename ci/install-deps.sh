#!/usr/bin/env bash
# Installs the Debian 12 packages capslock needs to build, test, fuzz and benchmark (run as root).
# Usage: ci/install-deps.sh [--interop] [--help]   (--interop: only the toolchains of interop/'s servers)
set -euo pipefail
interop=0
case "${1:-}" in
--help | -h)
	sed -n '2,3p' "$0" | sed 's/^# //'
	exit 0
	;;
--interop) interop=1 ;;
"") ;;
*)
	echo "ci/install-deps.sh: unknown argument '$1' (see --help)" >&2
	exit 2
	;;
esac
if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		exec sudo "$0" "$@"
	fi
	echo "ci/install-deps.sh: must run as root (apt-get install)" >&2
	exit 2
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
if [ $interop = 1 ]; then
	# ci/interop.sh's servers in other languages (interop/): Go, Rust (rustc alone, no cargo fetch), Java,
	# Node.js, Perl; each is built with its plain compiler, and a missing one is reported "not run".
	apt-get install -y -qq --no-install-recommends golang-go rustc default-jdk-headless nodejs perl >/dev/null
	echo "ci/install-deps.sh: interop toolchains installed"
	exit 0
fi
# tshark asks whether non-root users may capture (wireshark-common/install-setuid); answer no beforehand
# so the install never stops at a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
# build: make gcc clang llvm (llvm-cov, llvm-profdata) libclang-rt-14-dev (sanitizer and libFuzzer runtimes)
# clang-format (make format, make format-check); libraries: libpcap-dev libcunit1-dev pkg-config;
# fuzzing: afl++; tests: tcpdump tshark libxml2-utils (xmllint) python3 iproute2 procps zip unzip bc;
# charts (lib/chart.c: make bench, make soak): gnuplot-nox
apt-get install -y -qq --no-install-recommends \
	make gcc clang llvm libclang-rt-14-dev clang-format afl++ libpcap-dev libcunit1-dev pkg-config \
	tcpdump tshark libxml2-utils python3 iproute2 procps zip unzip bc gnuplot-nox ca-certificates >/dev/null
echo "ci/install-deps.sh: packages installed"

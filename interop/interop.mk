# interop/interop.mk - the uppercase server in other languages (interop/, one folder each): make check
# gates the ones whose toolchain a fresh machine has (Node.js; Python's are conform-python's), each in
# its correct form and its naive one (ci/expected-failures/node-naive.txt); "not run: no node" when
# node is missing. ci/interop.sh without --only runs the full matrix (Go, Rust, Java and Perl too).

.PHONY: interop-check
CHECK_ONCE += interop-check

interop-check: $(B)/conform $(B)/tcp-upper $(B)/udp-upper
	ci/interop.sh --bin $(B) --only node --out -

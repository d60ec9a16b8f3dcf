# harness/replay/replay.mk - bin/replay (pcap replayer), the capture generator and their tests. The
# pcap reader, the pure decoder and reassembly and the pcap writer are library modules (lib/).

REPLAY_DIR := harness/replay
REPLAY_OBJS := $(addprefix $(O)/$(REPLAY_DIR)/,replay.o options.o servers.o reports.o play.o play_tcp.o play_udp.o fuzzconv.o)

PROGS += replay

$(B)/replay: $(REPLAY_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -pthread -o $@ $^ $(LIB_LIBS)

# The capture generator (not installed): generated pcaps/gen-*.pcap and the benchmark capture.
$(B)/gen-pcaps: $(O)/$(REPLAY_DIR)/gen_pcaps.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIB_LIBS)

all: $(B)/gen-pcaps

# ---- tests (run by make test in both variants) ----
REPLAY_TEST_DIR := $(REPLAY_DIR)/tests

# The decoder's unit tests run under the CUnit runner the unit tests share (tests/unit/unit.c).
$(B)/test-replay-decode: $(O)/$(REPLAY_TEST_DIR)/test_decode.o $(UNIT_RUNNER_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIB_LIBS) $(CUNIT_LIBS)

$(O)/$(REPLAY_TEST_DIR)/%.o: ALL_CFLAGS += $(CUNIT_CFLAGS) -Itests/unit

.PHONY: replay-unit
replay-unit: $(B)/test-replay-decode
	$(B)/test-replay-decode

TESTS += replay-unit

$(B)/badserver: $(O)/$(REPLAY_TEST_DIR)/badserver.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIB_LIBS)

REPLAY_RUN := $(REPLAY_TEST_DIR)/run-tests.sh
REPLAY_TOOLS := $(B)/replay $(B)/tcp-upper $(B)/udp-upper $(B)/badserver

.PHONY: replay-golden replay-badinput replay-planted replay-convert replay-golden-update
replay-golden: $(REPLAY_TOOLS)
	$(REPLAY_RUN) $(B) golden
replay-badinput: $(REPLAY_TOOLS)
	$(REPLAY_RUN) $(B) badinput
replay-planted: $(REPLAY_TOOLS)
	$(REPLAY_RUN) $(B) planted
replay-convert: $(REPLAY_TOOLS)
	$(REPLAY_RUN) $(B) convert
# After a deliberate change of replay's output or of pcaps/: rewrite the golden files, then review the diff.
replay-golden-update: $(REPLAY_TOOLS)
	$(REPLAY_RUN) $(B) golden --update

TESTS += replay-golden replay-badinput replay-planted replay-convert
CHECK_BUILD += $(B)/test-replay-decode $(REPLAY_TOOLS)

# Verdicts (about 6 s; 20 s under ASan on a loaded host, so once, in the standard variant): a conform
# failure pcap replays as a failure against the mutant that made it and as a pass against the reference (its
# note; the latin1, sigpipe and garbage mutants), a cut capture is not checked (exit 2), --only, and every
# example of replay --help. Both variants replay the note pcaps in pcaps/ (replay-golden) and cut files
# (replay-badinput).
.PHONY: replay-verdicts
replay-verdicts: $(REPLAY_TOOLS) $(B)/conform $(O)/mutants/latin1 $(O)/mutants/sigpipe $(O)/mutants/garbage
	$(REPLAY_TEST_DIR)/test-verdicts.sh $(B) $(O)/mutants

CHECK_ONCE += replay-verdicts
CHECK_BUILD += $(B)/conform $(O)/mutants/latin1 $(O)/mutants/sigpipe $(O)/mutants/garbage

# ---- benchmark (not part of make check): out/bench/replay.json ----
.PHONY: bench-replay
bench-replay: $(B)/replay $(B)/gen-pcaps
	$(REPLAY_DIR)/bench.sh $(B) $(or $(REPLAY_BENCH_PACKETS),1000000)

# harness/replay/replay.mk - bin/replay (pcap replayer), its pure decoder/reassembler, the pcap writer,
# the capture generator and their tests (issue 4). Included by the top-level Makefile.
#
# Other fragments may link the pcap writer: $(REPLAY_PCAPW_OBJ) plus $(PCAP_LIBS), header
# harness/replay/pcapw.h. The pure decoder is $(REPLAY_DECODE_OBJ) (no libpcap needed), header
# harness/replay/decode.h.

REPLAY_DIR := harness/replay
REPLAY_PCAPW_OBJ := $(O)/$(REPLAY_DIR)/pcapw.o
REPLAY_DECODE_OBJ := $(O)/$(REPLAY_DIR)/decode.o
REPLAY_OBJS := $(addprefix $(O)/$(REPLAY_DIR)/,replay.o play.o pcapin.o fuzzconv.o) \
	$(REPLAY_DECODE_OBJ) $(REPLAY_PCAPW_OBJ) $(O)/harness/fuzz/script.o

PROGS += replay

$(B)/replay: $(REPLAY_OBJS) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -pthread -o $@ $^ $(PCAP_LIBS)

$(O)/$(REPLAY_DIR)/%.o: ALL_CFLAGS += $(PCAP_CFLAGS)

# The capture generator (not installed): generated pcaps/gen-*.pcap and the benchmark capture.
$(B)/gen-pcaps: $(O)/$(REPLAY_DIR)/gen-pcaps.o $(REPLAY_PCAPW_OBJ) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PCAP_LIBS)

all: $(B)/gen-pcaps

# ---- tests (run by make test in both variants) ----
REPLAY_TEST_DIR := $(REPLAY_DIR)/tests

$(B)/test-replay-decode: $(O)/$(REPLAY_TEST_DIR)/test_decode.o $(REPLAY_DECODE_OBJ) $(REPLAY_PCAPW_OBJ) \
		$(O)/$(REPLAY_DIR)/pcapin.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PCAP_LIBS) $(CUNIT_LIBS)

$(O)/$(REPLAY_TEST_DIR)/%.o: ALL_CFLAGS += $(CUNIT_CFLAGS)

.PHONY: replay-unit
replay-unit: $(B)/test-replay-decode
	$(B)/test-replay-decode

TESTS += replay-unit

$(B)/badserver: $(O)/$(REPLAY_TEST_DIR)/badserver.o $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^

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

# ---- benchmark (not part of make check): out/bench/replay.json ----
.PHONY: bench-replay
bench-replay: $(B)/replay $(B)/gen-pcaps
	$(REPLAY_DIR)/bench.sh $(B) $(or $(REPLAY_BENCH_PACKETS),1000000)

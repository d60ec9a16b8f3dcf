# harness/replay/replay.mk - bin/replay (pcap replayer), its pure decoder/reassembler, the pcap writer,
# the capture generator and their tests. Included by the top-level Makefile.
#
# Other fragments may link the pcap writer: $(REPLAY_PCAPW_OBJ) plus $(PCAP_LIBS), header
# harness/replay/pcapw.h. The pure decoder is $(REPLAY_DECODE_OBJ) (no libpcap needed), header
# harness/replay/decode.h.

REPLAY_PCAPW_OBJ := $(O)/harness/replay/pcapw.o
REPLAY_DECODE_OBJ := $(O)/harness/replay/decode.o

all: $(REPLAY_PCAPW_OBJ)
all: $(REPLAY_DECODE_OBJ)

# harness/soak/soak.mk - the abuse suite (harness/soak/README.md). 'make soak' runs every case against
# tcp-upper and udp-upper, SOAK_TIME seconds in all, and writes out/soak/ and RELIABILITY.md's figures.
# 'soak-smoke' (part of make check, both variants) runs the short version; no timing is asserted.

SOAK_OBJS := $(patsubst %.c,$(O)/%.o,$(wildcard harness/soak/*.c))

$(B)/soak/soak: $(SOAK_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIB_LIBS)

all: $(B)/soak/soak

SOAK_TIME ?= 180
SOAK_OUT ?= out/soak

.PHONY: soak soak-smoke
soak: $(B)/soak/soak $(B)/tcp-upper $(B)/udp-upper
	$(B)/soak/soak -b $(B) -T $(SOAK_TIME) -o $(SOAK_OUT) --reliability RELIABILITY.md

soak-smoke: $(B)/soak/soak $(B)/tcp-upper $(B)/udp-upper
	$(B)/soak/soak -b $(B) -T 15 --small -o $(O)/soak-smoke

TESTS += soak-smoke

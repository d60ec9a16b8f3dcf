# harness/soak/soak.mk - the abuse suite (harness/soak/README.md). 'make soak' runs every case against
# tcp-upper and udp-upper in the standard and the ASan+UBSan build, SOAK_TIME seconds per build, and
# writes the figures to out/soak/std/, out/soak/san/ and RELIABILITY.md, with per case the server's
# memory and descriptors every 250 ms (CASE.csv) and their chart (CASE.svg, through gnuplot). 'soak-smoke'
# (part of make check, both variants) runs the short version and checks the samples and charts
# (harness/soak/smoke.sh); no timing is asserted.

SOAK_OBJS := $(patsubst %.c,$(O)/%.o,$(wildcard harness/soak/*.c))

$(B)/soak/soak: $(SOAK_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -pthread -o $@ $^ $(LIB_LIBS)

all: $(B)/soak/soak

SOAK_TIME ?= 180
SOAK_OUT ?= out/soak
SOAK_LABEL := $(if $(filter 1,$(SAN)),san,std)

.PHONY: soak soak-run soak-smoke
soak:
	$(MAKE) soak-run
	$(MAKE) SAN=1 soak-run

soak-run: $(B)/soak/soak $(B)/tcp-upper $(B)/udp-upper
	@mkdir -p $(SOAK_OUT)
	$(B)/soak/soak -b $(B) -T $(SOAK_TIME) -o $(SOAK_OUT)/$(SOAK_LABEL) --label $(SOAK_LABEL) \
		--reliability RELIABILITY.md

soak-smoke: $(B)/soak/soak $(B)/tcp-upper $(B)/udp-upper
	sh harness/soak/smoke.sh $(B) $(O)/soak-smoke

TESTS += soak-smoke

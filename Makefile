# capslock - network protocol test and fuzz harness for the uppercase protocol (SPEC.md).
#
#   make              build every program into bin/
#   make check        unit + integration tests, then again under ASan+UBSan, then the once-only checks
#   make fuzz         fuzz every target (FUZZ_TIME seconds, default a night)
#   make bench        performance figures, side by side with a no-transform echo server
#   make install      PREFIX=/usr/local DESTDIR=
#
# Each area adds its programs and tests from its own fragment (servers/servers.mk, harness/*/*.mk,
# tests/tests.mk). SAN=1 selects the ASan+UBSan variant, built under build/san/.

CC ?= cc
CFLAGS ?= -O2 -g
LDFLAGS ?=
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
DESTDIR ?=
PKG_CONFIG ?= pkg-config

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith \
	-Wformat=2 -Wno-format-nonliteral
SAN ?=
ifeq ($(SAN),1)
O ?= build/san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
O ?= build/std
SANFLAGS :=
endif
B := $(O)/bin

# Programs are built in $(B); bin/ holds the standard variant's, for the README's commands.
ALL_CPPFLAGS := -D_GNU_SOURCE -Iservers $(CPPFLAGS)
ALL_CFLAGS := -std=c11 $(WARN) $(CFLAGS) $(SANFLAGS) -MMD -MP
ALL_LDFLAGS := $(LDFLAGS) $(SANFLAGS)

PCAP_CFLAGS := $(shell $(PKG_CONFIG) --cflags libpcap 2>/dev/null)
PCAP_LIBS := $(shell $(PKG_CONFIG) --libs libpcap 2>/dev/null || echo -lpcap)
CUNIT_CFLAGS := $(shell $(PKG_CONFIG) --cflags cunit 2>/dev/null)
CUNIT_LIBS := $(shell $(PKG_CONFIG) --libs cunit 2>/dev/null || echo -lcunit)

# Fragments append to these.
PROGS :=        # programs installed and linked into bin/ (names, built as $(B)/NAME)
TESTS :=        # test targets run by 'make test' in the current variant (std and san)
CHECK_ONCE :=   # check targets run once, after both variants
CLEAN_EXTRA :=

# The core library: the protocol core and the socket helpers. Everything links it.
CORE_SRCS := servers/upper.c servers/drive.c servers/net.c
CORE_LIB := $(O)/libupper.a

.PHONY: all check test clean install bench fuzz
all:

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(CORE_LIB): $(CORE_SRCS:%.c=$(O)/%.o)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

-include servers/servers.mk
-include tests/tests.mk
-include harness/fuzz/fuzz.mk
-include harness/replay/replay.mk
-include harness/conform/conform.mk
-include harness/bench/bench.mk

all: $(PROGS:%=$(B)/%)
ifeq ($(O),build/std)
	@mkdir -p bin
	@for p in $(PROGS); do ln -sf ../$(B)/$$p bin/$$p; done
endif

# 'test' runs the current variant's tests; 'check' runs them for both variants, then the rest.
test: all $(TESTS)

check:
	$(MAKE) test
	$(MAKE) SAN=1 test
	$(MAKE) $(CHECK_ONCE)
	@echo "make check: all passed"

install: all
	install -d $(DESTDIR)$(BINDIR)
	for p in $(PROGS); do install -m 755 $(B)/$$p $(DESTDIR)$(BINDIR)/$$p; done

clean:
	rm -rf build bin $(CLEAN_EXTRA)

-include $(shell find $(O) -name '*.d' 2>/dev/null)

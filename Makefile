# capslock - network protocol test and fuzz harness for the uppercase protocol (SPEC.md).
#
#   make              build every program into bin/
#   make check        unit + integration tests, then again under ASan+UBSan, then the once-only checks
#   make fuzz         fuzz every target (FUZZ_TIME seconds, default a night)
#   make bench        performance figures, side by side with a no-transform echo server
#   make install      PREFIX=/usr/local DESTDIR=
#   make format       clang-format every tracked C file under lib servers harness tests (.clang-format)
#   make format-check list the files that differ from .clang-format (part of make check)
#   make help         the user-facing targets, one line each
#
# lib/ is the library every program links (libcapslock.a); each program folder adds its programs and
# tests from its own fragment (servers/servers.mk, harness/*/*.mk, tests/tests.mk). SAN=1 selects the
# ASan+UBSan variant, built under build/san/. ARCHITECTURE.md shows the layers.

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

PCAP_CFLAGS := $(shell $(PKG_CONFIG) --cflags libpcap 2>/dev/null)
PCAP_LIBS := $(shell $(PKG_CONFIG) --libs libpcap 2>/dev/null || echo -lpcap)

# Programs are built in $(B); bin/ holds the standard variant's, for the README's commands.
ALL_CPPFLAGS := -D_GNU_SOURCE -Ilib $(CPPFLAGS) $(PCAP_CFLAGS)
ALL_CFLAGS := -std=c11 $(WARN) $(CFLAGS) $(SANFLAGS) -MMD -MP
ALL_LDFLAGS := $(LDFLAGS) $(SANFLAGS)

CUNIT_CFLAGS := $(shell $(PKG_CONFIG) --cflags cunit 2>/dev/null)
CUNIT_LIBS := $(shell $(PKG_CONFIG) --libs cunit 2>/dev/null || echo -lcunit)

# Fragments append to these.
PROGS :=        # programs installed and linked into bin/ (names, built as $(B)/NAME)
TESTS :=        # test targets run by 'make test' in the current variant (std and san)
CHECK_ONCE :=   # check targets run once, after both variants
STD_SKIP :=     # TESTS the standard variant skips: the ASan+UBSan variant runs the same work with more checks
CHECK_BUILD =   # what the tests need built, built in parallel before a variant's suites run
CHECK_BUILD_ONCE = # what the once-only checks need built, built in parallel before them
CLEAN_EXTRA :=

# The library layer (lib/): the protocol core, socket helpers, pcap reading, decoding and writing, the
# fuzz-script format and the shared helpers. Every program links it; link it with $(LIB_LIBS).
LIB_SRCS := $(sort $(wildcard lib/*.c))
LIB := $(O)/libcapslock.a
LIB_LIBS := $(PCAP_LIBS)

.PHONY: all check test clean install bench fuzz
all:

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

# The one version every program prints with --version (lib/cli.c) and the scripts read: VERSION.
CAPSLOCK_VERSION := $(shell cat VERSION 2>/dev/null || echo unknown)
$(O)/lib/cli.o: ALL_CPPFLAGS += -DCAPSLOCK_VERSION=\"$(CAPSLOCK_VERSION)\"
$(O)/lib/cli.o: VERSION

$(LIB): $(LIB_SRCS:%.c=$(O)/%.o)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

include servers/servers.mk
include tests/tests.mk
include harness/fuzz/fuzz.mk
include harness/fuzz/fuzz_impl_run.mk
include harness/replay/replay.mk
include harness/conform/conform.mk
include harness/bench/bench.mk
include harness/soak/soak.mk
include harness/chart/chart.mk
include interop/interop.mk

all: $(PROGS:%=$(B)/%)
ifeq ($(O),build/std)
	@mkdir -p bin
	@for p in $(PROGS); do ln -sf ../$(B)/$$p bin/$$p; done
endif

# 'test' runs the current variant's tests; 'check' runs them for both variants (less STD_SKIP in the
# standard one), then the rest, one suite at a time, and ends with their wall times (ci/check.py).
test: all $(TESTS)

.PHONY: check-build check-build-once print-suites
check-build: $(CHECK_BUILD)
check-build-once: $(CHECK_BUILD_ONCE)

check:
	@ci/check.py --make "$(MAKE)"

print-suites:
	@echo "TESTS: $(TESTS)"
	@echo "STD_SKIP: $(STD_SKIP)"
	@echo "CHECK_ONCE: $(CHECK_ONCE)"

# make help: the targets a user runs, one line each (the test suites are listed by make print-suites).
.PHONY: help
help:
	@printf '%s\n' \
	'make                  build every program into build/std/bin/, linked from bin/' \
	'make check            every test suite: both variants (std, ASan+UBSan), then the once-only checks' \
	'make test             the test suites of one variant (SAN=1: the ASan+UBSan one)' \
	'make SUITE            one test suite alone, for example make conform-ref (make print-suites lists them)' \
	'make fuzz             fuzz every target for FUZZ_TIME seconds (default a night), then out/fuzz/SUMMARY.md' \
	'make fuzz-afl         the same with AFL++' \
	'make fuzz IMPL=CMD    fuzz your own server over loopback instead (CMD with {port}), then out/fuzz-impl/SUMMARY.md' \
	'make fuzz-merge       minimize the run'"'"'s new inputs into corpus/<target>/' \
	'make coverage         per-file line coverage of the committed corpus' \
	'make bench            performance figures beside a no-transform echo server: out/bench/BENCH.md' \
	'make bench-fuzz       exec/s of each fuzz engine and target' \
	'make bench-replay     replay packets per second' \
	'make soak             the abuse suite against both servers and builds (SOAK_TIME seconds each)' \
	'make interop-check    the tutorial ported to other languages, through the conformance gate' \
	'make format           apply .clang-format to every C file (format-check: list the ones that differ)' \
	'make install          the programs into $$(DESTDIR)$$(PREFIX)/bin (PREFIX=/usr/local)' \
	'make clean            remove build/ and bin/' \
	'make help             this list'

install: all
	install -d $(DESTDIR)$(BINDIR)
	for p in $(PROGS); do install -m 755 $(B)/$$p $(DESTDIR)$(BINDIR)/$$p; done

clean:
	rm -rf build bin $(CLEAN_EXTRA)

# Formatting: one style (.clang-format) for every tracked C source and header of the four folders.
CLANG_FORMAT ?= clang-format
FORMAT_FILES = $(shell git ls-files -- 'lib/*.[ch]' 'servers/*.[ch]' 'harness/*.[ch]' 'tests/*.[ch]')

.PHONY: format format-check
format:
	@command -v $(CLANG_FORMAT) >/dev/null || { echo "make format: $(CLANG_FORMAT) not found (ci/install-deps.sh installs it)" >&2; exit 2; }
	$(CLANG_FORMAT) -i $(FORMAT_FILES)

format-check:
	@command -v $(CLANG_FORMAT) >/dev/null || { echo "format-check: $(CLANG_FORMAT) not found (ci/install-deps.sh installs it)" >&2; exit 2; }
	@[ -n "$(strip $(FORMAT_FILES))" ] || { echo "format-check: no tracked C files found (is this a git checkout?)" >&2; exit 2; }
	@bad=$$(printf '%s\n' $(FORMAT_FILES) | xargs -P "$$(nproc)" -I{} sh -c \
		'$(CLANG_FORMAT) --dry-run --Werror "$$1" >/dev/null 2>&1 || echo "$$1"' sh {}); \
	if [ -n "$$bad" ]; then \
		echo "format-check: these files differ from .clang-format; 'make format' rewrites them:" >&2; \
		for f in $$bad; do echo "  $$f" >&2; done; \
		exit 1; \
	fi; \
	echo "format-check: every C file matches .clang-format"

CHECK_ONCE += format-check

# ARCHITECTURE.md names every tracked C and Python source file, and no file that is gone.
.PHONY: architecture-check
architecture-check:
	@ci/check-architecture.py

CHECK_ONCE += architecture-check

# Dependency files of every C source the variant compiles (absent before the first build).
ALL_SRCS := $(sort $(wildcard lib/*.c servers/*.c harness/*/*.c harness/*/tests/*.c tests/*/*.c))
-include $(ALL_SRCS:%.c=$(O)/%.d)

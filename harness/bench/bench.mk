# harness/bench/bench.mk - the load generator, the no-transform echo server and 'make bench' (bench.py, a
# script that runs loadgen once per measurement and draws its chart through draw-chart).
# Bench programs are not installed: they go to $(B)/bench/.

BENCH_LOAD_OBJS := $(O)/harness/bench/load.o $(O)/harness/bench/udpload.o $(O)/harness/bench/payload.o \
                   $(O)/harness/bench/meter.o

$(B)/bench/loadgen: $(O)/harness/bench/loadgen.o $(BENCH_LOAD_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIB_LIBS)

$(B)/bench/echo: $(O)/harness/bench/echo.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIB_LIBS)

BENCH_PROGS := $(B)/bench/loadgen $(B)/bench/echo
all: $(BENCH_PROGS)

# make bench: BENCH_TIME seconds per run, BENCH_RUNS rounds per figure (ref, echo, python, tutorial back
# to back in each round; medians, and ratios as the median of the per-round ratios).
BENCH_TIME ?= 1
BENCH_RUNS ?= 5
# make bench-fuzz measures each engine this many seconds (its own default is longer): keeps make bench ~5 min.
BENCH_FUZZ_SECONDS ?= 4
BENCH_OUT ?= out/bench
# Not $(MAKE) in the recipe itself: that would make "make -n bench" run the whole bench.
BENCH_MAKE = $(MAKE) BENCH_FUZZ_TIME=$(BENCH_FUZZ_SECONDS)

# (b): the tutorial-style Python servers with the tutorial's accidental bugs fixed (servers/python/corrected.py,
# TCP and UDP in one process), sent every byte value. (b'): the faithful tutorial servers
# (tutorial_socketserver.py), which decode every message as UTF-8 and drop a connection on anything else,
# so they are sent printable ASCII text. Both are skipped, with a note, without python3.
BENCH_PYTHON ?= python3
BENCH_HAVE_PY := $(shell command -v $(BENCH_PYTHON) 2>/dev/null)
BENCH_PY := $(if $(and $(wildcard servers/python/corrected.py),$(BENCH_HAVE_PY)),$(BENCH_PYTHON) servers/python/corrected.py 0)
BENCH_TUT := $(if $(and $(wildcard servers/python/tutorial_socketserver.py),$(BENCH_HAVE_PY)),$(BENCH_PYTHON) servers/python/tutorial_socketserver.py 0)

bench: all $(B)/draw-chart
	@mkdir -p $(BENCH_OUT)
	harness/bench/bench.py -T $(BENCH_TIME) -n $(BENCH_RUNS) -o $(BENCH_OUT) -b $(B) --make "$(BENCH_MAKE)" \
		--conform $(B)/conform $(if $(BENCH_PY),--py-tcp "$(BENCH_PY)" --py-udp "$(BENCH_PY)") \
		$(if $(BENCH_TUT),--tutorial-tcp "$(BENCH_TUT)" --tutorial-udp "$(BENCH_TUT)")

# Tests: the load generator passes correct servers (echo, tcp-upper, udp-upper) and catches wrong ones
# (upper mode against the echo server, echo mode against the reference servers, and the echo server's
# deliberate faults -F). In both variants. The driver's own check runs once. No timing is asserted.
.PHONY: bench-smoke bench-driver-smoke
bench-smoke: $(B)/bench/loadgen $(B)/bench/echo $(B)/tcp-upper $(B)/udp-upper
	sh harness/bench/smoke.sh $(B)

bench-driver-smoke: $(B)/bench/loadgen $(B)/bench/echo $(B)/tcp-upper $(B)/udp-upper $(B)/draw-chart
	sh harness/bench/driver-smoke.sh $(B)

TESTS += bench-smoke
CHECK_ONCE += bench-driver-smoke
CLEAN_EXTRA += out/bench

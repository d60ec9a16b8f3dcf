# harness/bench/bench.mk - the load generator, the no-transform echo server and 'make bench'.
# Bench programs are not installed: they go to $(B)/bench/.

BENCH_LOAD_OBJS := $(O)/harness/bench/load.o

$(B)/bench/loadgen: $(O)/harness/bench/loadgen.o $(BENCH_LOAD_OBJS) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^

$(B)/bench/echo: $(O)/harness/bench/echo.o $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^

BENCH_PROGS := $(B)/bench/loadgen $(B)/bench/echo
all: $(BENCH_PROGS)

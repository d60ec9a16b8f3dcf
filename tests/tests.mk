# tests.mk - unit tests of the core and of the library modules (lib/upper.c, lib/util.c, lib/report.c,
# lib/child.c, lib/exchange_oracle.c, lib/exchange.c, lib/cli.c, lib/chart.c), and integration tests of the
# servers. All run in the standard and the ASan+UBSan variants, each against that variant's binaries in
# $(B). tests/unit/unit.c is the CUnit runner every test program shares.

TEST_BIN := $(O)/tests
UNIT_RUNNER_OBJ := $(O)/tests/unit/unit.o

$(O)/tests/%.o: ALL_CFLAGS += $(CUNIT_CFLAGS)

# One CUnit test program: $(1) its name in $(TEST_BIN), $(2) its objects besides the runner, $(3) the make
# target that runs it, $(4) its arguments, $(5) the programs it needs built first.
define test_program
$(TEST_BIN)/$(1): $(2) $(UNIT_RUNNER_OBJ) $(LIB)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(ALL_LDFLAGS) -pthread -o $$@ $$^ $$(LIB_LIBS) $$(CUNIT_LIBS)

.PHONY: $(3)
$(3): $(TEST_BIN)/$(1) $(5)
	$(TEST_BIN)/$(1) $(4)

TESTS += $(3)
CHECK_BUILD += $(TEST_BIN)/$(1) $(5)
endef

# The server core: transform, TCP state machine, UDP reply, and the oracle.
$(eval $(call test_program,test_upper,$(O)/tests/unit/test_upper.o,test-unit))

# The shared helpers (lib/util.c, lib/report.c); the JUnit case parses its output back with xmllint.
$(eval $(call test_program,test_lib,$(O)/tests/unit/test_lib.o,test-lib))

# The programs under test are this variant's: $(B)/tcp-upper, $(B)/udp-upper, $(B)/upper-client. The
$(eval $(call test_program,test_servers,$(O)/tests/integration/test_servers.o,\
	test-integration,$(B),$(B)/tcp-upper $(B)/udp-upper $(B)/upper-client))

# lib/child.c, against this variant's reference servers.
$(eval $(call test_program,test_child,$(O)/tests/unit/test_child.o,test-child,$(B),$(B)/tcp-upper $(B)/udp-upper))

# lib/exchange_oracle.c: the stream oracle's table; lib/exchange.c: the driver against servers in threads
# of the test.
$(eval $(call test_program,test_exchange,$(O)/tests/unit/test_exchange.o,test-exchange))

# lib/cli.c: the command-line parser's kinds of option and its messages.
$(eval $(call test_program,test_cli,$(O)/tests/unit/test_cli.o,test-cli))

# lib/chart.c: line and bar charts drawn through gnuplot and checked with xmllint; a missing, a failing
# and a hanging gnuplot.
$(eval $(call test_program,test_chart,$(O)/tests/unit/test_chart.o,test-chart))

# Every program's command line follows the one convention (lib/cli): --version, one-line usage errors
# with "Try 'PROG --help'", exit 2, '-' as stdout for reports, contradictions refused, the output-directory
# rule, durations with units, make help; and the examples each --help shows run (loopback, free ports).
# Run once, with the standard build (about 15 s on an idle 2-core host, mostly the examples).
CLI_CONVENTION_PROGS := $(B)/tcp-upper $(B)/udp-upper $(B)/upper-client $(B)/conform $(B)/replay \
	$(B)/gen-pcaps $(B)/fuzz-mkseeds $(B)/impl-repro $(B)/bench/loadgen $(B)/bench/echo $(B)/soak/soak $(B)/draw-chart
.PHONY: cli-conventions
cli-conventions: $(CLI_CONVENTION_PROGS)
	tests/cli/test-conventions.sh $(B)

CHECK_ONCE += cli-conventions
CHECK_BUILD_ONCE += $(CLI_CONVENTION_PROGS)

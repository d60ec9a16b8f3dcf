# tests.mk - unit tests of the core and of the shared helpers (lib/util.c, lib/report.c), and integration
# tests of the servers. All run in the standard and the ASan+UBSan variants, each against that variant's
# binaries in $(B). tests/unit/unit.c is the CUnit runner the unit tests share.

TEST_BIN := $(O)/tests
UNIT_RUNNER_OBJ := $(O)/tests/unit/unit.o

$(TEST_BIN)/test_upper: $(O)/tests/unit/test_upper.o $(UNIT_RUNNER_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIB_LIBS) $(CUNIT_LIBS)

$(O)/tests/unit/test_upper.o $(UNIT_RUNNER_OBJ): ALL_CFLAGS += $(CUNIT_CFLAGS)

.PHONY: test-unit
test-unit: $(TEST_BIN)/test_upper
	$(TEST_BIN)/test_upper

TESTS += test-unit

# The shared helpers (lib/util.c, lib/report.c); the JUnit case parses its output back with xmllint.
$(TEST_BIN)/test_lib: $(O)/tests/unit/test_lib.o $(UNIT_RUNNER_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIB_LIBS) $(CUNIT_LIBS)

$(O)/tests/unit/test_lib.o: ALL_CFLAGS += $(CUNIT_CFLAGS)

.PHONY: test-lib
test-lib: $(TEST_BIN)/test_lib
	$(TEST_BIN)/test_lib

TESTS += test-lib

$(TEST_BIN)/test_servers: $(O)/tests/integration/test_servers.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIB_LIBS) $(CUNIT_LIBS)

$(O)/tests/integration/test_servers.o: ALL_CFLAGS += $(CUNIT_CFLAGS)

# The programs under test are this variant's: $(B)/tcp-upper, $(B)/udp-upper, $(B)/upper-client.
.PHONY: test-integration
test-integration: $(TEST_BIN)/test_servers $(B)/tcp-upper $(B)/udp-upper $(B)/upper-client
	$(TEST_BIN)/test_servers $(B)

TESTS += test-integration

# lib/child.c, against this variant's reference servers.
$(TEST_BIN)/test_child: $(O)/tests/unit/test_child.o $(UNIT_RUNNER_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIB_LIBS) $(CUNIT_LIBS)

$(O)/tests/unit/test_child.o: ALL_CFLAGS += $(CUNIT_CFLAGS)

.PHONY: test-child
test-child: $(TEST_BIN)/test_child $(B)/tcp-upper $(B)/udp-upper
	$(TEST_BIN)/test_child $(B)

TESTS += test-child

# lib/exchange.c: the stream oracle's table, and the driver against servers in threads of the test.
$(TEST_BIN)/test_exchange: $(O)/tests/unit/test_exchange.o $(UNIT_RUNNER_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -pthread -o $@ $^ $(LIB_LIBS) $(CUNIT_LIBS)

$(O)/tests/unit/test_exchange.o: ALL_CFLAGS += $(CUNIT_CFLAGS)

.PHONY: test-exchange
test-exchange: $(TEST_BIN)/test_exchange
	$(TEST_BIN)/test_exchange

TESTS += test-exchange

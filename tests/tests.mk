# tests.mk - unit tests of the core and integration tests of the servers (issue 2). Both run in the
# standard and the ASan+UBSan variants, each against that variant's binaries in $(B).

TEST_BIN := $(O)/tests

$(TEST_BIN)/test_upper: $(O)/tests/unit/test_upper.o $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CUNIT_LIBS)

$(O)/tests/unit/test_upper.o: ALL_CFLAGS += $(CUNIT_CFLAGS)

.PHONY: test-unit
test-unit: $(TEST_BIN)/test_upper
	$(TEST_BIN)/test_upper

TESTS += test-unit

# harness/conform/conform.mk - bin/conform (the conformance checker), the mutant servers it must
# fail (tests/mutants/), and the tests that prove it: against the reference servers (both variants), and
# once: every mutant fails its expected case ids, the random phase catches the mutants only it can, the
# Python tutorial servers fail exactly their expected failures (the corrected ones pass), and the JUnit
# report validates with xmllint.

PROGS += conform

CONFORM_SRCS := harness/conform/conform.c harness/conform/options.c harness/conform/case.c \
	harness/conform/case_table.c harness/conform/case_tcp.c harness/conform/case_tcp_many.c harness/conform/case_udp.c \
	harness/conform/client.c harness/conform/server.c harness/conform/reports.c \
	harness/conform/recording.c harness/conform/random_phase.c harness/conform/random_sequence.c harness/conform/resources.c harness/conform/case_resources.c harness/conform/host.c
CONFORM_OBJS := $(CONFORM_SRCS:%.c=$(O)/%.o)

$(B)/conform: $(CONFORM_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIB_LIBS)

# Mutants: test-only servers, one bug each (tests/mutants/mutant.c, -DMUTANT_<NAME>), never installed.
MUTANT_NAMES := none merge drop-empty trunc-1024 rst-on-halfclose no-close-after-eof sigpipe leak-on-reset \
	one-at-a-time partial-write-drop latin1 wait-newline silent garbage reset-all \
	unicode-upper leak-memory cap-1000 other-port reset-harms-neighbor lost-wakeup \
	small-rcvbuf unbounded
# the mutants that prove make fuzz IMPL=... (fuzz-impl-proofs in harness/fuzz/fuzz_impl_run.mk)
MUTANT_NAMES += heap-4k-reset rare-branch halfclose-after-reset
MUTANT_BINS := $(MUTANT_NAMES:%=$(O)/mutants/%)

# A static pattern rule (not a bare $(O)/mutants/% one, which would also match the files make includes)
# and no -MMD: the mutants leave no .d files behind.
$(MUTANT_BINS): $(O)/mutants/%: tests/mutants/mutant.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(filter-out -MMD -MP,$(ALL_CFLAGS)) -DMUTANT=\"$*\" -o $@ $< $(LIB) $(LIB_LIBS)

.PHONY: conform-ref conform-errors conform-mutants conform-python conform-junit conform-random conform-gate
TESTS += conform-ref conform-errors
# conform's own error paths: the ASan+UBSan run repeats them with more checks, the standard one adds nothing.
STD_SKIP += conform-errors
CHECK_BUILD += $(B)/conform $(MUTANT_BINS)
CHECK_ONCE += conform-mutants conform-python conform-junit conform-random conform-gate

# Every case against the reference servers, in under 10 s (wall time reported).
conform-ref: $(B)/conform $(B)/tcp-upper $(B)/udp-upper
	harness/conform/test-ref.sh $(B)

# Bad options, unreachable and hostile targets, unwritable outputs: exit 2 (or 1) with a message, fast.
conform-errors: $(B)/conform $(B)/tcp-upper $(O)/mutants/silent
	harness/conform/test-errors.sh $(B) $(O)/mutants

conform-mutants: $(B)/conform $(B)/tcp-upper $(B)/udp-upper $(MUTANT_BINS)
	tests/mutants/run.sh $(B)/conform $(O)/mutants $(B)

# The random phase alone: no false positive on the reference, the bug-free mutant and the correct Python
# servers; it catches lost-wakeup (which every fixed case passes) and reset-harms-neighbor.
conform-random: $(B)/conform $(B)/replay $(B)/tcp-upper $(B)/udp-upper $(O)/mutants/none $(O)/mutants/small-rcvbuf $(O)/mutants/drop-empty \
		$(O)/mutants/lost-wakeup $(O)/mutants/reset-harms-neighbor
	harness/conform/test-random.sh $(B) $(O)/mutants

# conform as a gate: readiness by the transport, the dead-target exit, --repeat, the summary's words.
conform-gate: $(B)/conform $(B)/tcp-upper $(B)/udp-upper $(O)/mutants/silent $(O)/mutants/none \
		$(O)/mutants/reset-all $(O)/mutants/drop-empty
	harness/conform/test-gate.sh $(B) $(O)/mutants

conform-python: $(B)/conform
	harness/conform/test-python.sh $(B)/conform

conform-junit: $(B)/conform $(B)/replay $(B)/tcp-upper $(B)/udp-upper $(O)/mutants/latin1
	harness/conform/test-junit.sh $(B) $(O)/mutants

CLEAN_EXTRA += conform-out

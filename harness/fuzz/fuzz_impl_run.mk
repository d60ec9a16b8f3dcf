# fuzz_impl_run.mk - make fuzz IMPL='CMD {port}': fuzzing the user's implementation over loopback with the
# engines fuzz-impl-tcp / fuzz-impl-udp (built by make fuzz-impl-build), driven by harness/fuzz/fuzz_run.py
# --impl; the mutant builds its proofs need (afl-clang-fast for coverage, clang -fsanitize=address); and
# make fuzz-impl-proofs, the proofs in make check. See harness/fuzz/README.md, "Fuzz your own implementation".

IMPL ?=
IMPL_TRANSPORT ?= both
FUZZ_IMPL_OUT ?= out/fuzz-impl
FUZZ_IMPL_SHRINK_TIME ?= 30
FUZZ_IMPL_TARGETS := $(if $(filter tcp both,$(IMPL_TRANSPORT)),fuzz-impl-tcp) \
	$(if $(filter udp both,$(IMPL_TRANSPORT)),fuzz-impl-udp)

.PHONY: fuzz-impl-run
# The command goes through the environment, so that quotes in it reach fuzz_run.py as typed.
fuzz-impl-run: export CAPSLOCK_FUZZ_IMPL := $(IMPL)
fuzz-impl-run: fuzz-args fuzz-impl-build $(B)/draw-chart $(B)/impl-repro $(B)/replay $(B)/conform
	@case '$(IMPL_TRANSPORT)' in tcp|udp|both) ;; *) \
		echo "make fuzz: IMPL_TRANSPORT='$(IMPL_TRANSPORT)': expected tcp, udp or both" >&2; exit 2;; esac
	$(FUZZ_SRC)/fuzz_run.py --impl "$$CAPSLOCK_FUZZ_IMPL" --time $(FUZZ_TIME) --jobs $(FUZZ_JOBS) \
		--out $(FUZZ_IMPL_OUT) --bindir $(FUZZ_IMPL) --chart $(B)/draw-chart --repro $(B)/impl-repro \
		--replay $(B)/replay --conform $(B)/conform --shrink-time $(FUZZ_IMPL_SHRINK_TIME) $(FUZZ_IMPL_TARGETS)

# ---- the mutants of tests/mutants/mutant.c for the proofs: with AFL++'s edge coverage (fuzz.mk's
# $(AFL_SERVERS)/mutants/NAME, afl-clang-fast), and with AddressSanitizer (clang, here) ----
FUZZ_IMPL_MUTANTS := heap-4k-reset rare-branch halfclose-after-reset lost-wakeup
FUZZ_IMPL_ASAN := build/fuzz-impl-asan
FUZZ_IMPL_ASAN_CFLAGS := -std=gnu11 -g -O1 -D_GNU_SOURCE -Ilib -fsanitize=address -fno-omit-frame-pointer

$(FUZZ_IMPL_ASAN)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CLANG) $(FUZZ_IMPL_ASAN_CFLAGS) -c -o $@ $<

$(FUZZ_IMPL_ASAN)/mutants/%: tests/mutants/mutant.c $(LIB_SRCS:%.c=$(FUZZ_IMPL_ASAN)/%.o)
	@mkdir -p $(dir $@)
	$(FUZZ_CLANG) $(FUZZ_IMPL_ASAN_CFLAGS) -DMUTANT=\"$*\" -o $@ $^ $(LIB_LIBS)
.SECONDARY: $(LIB_SRCS:%.c=$(FUZZ_IMPL_ASAN)/%.o)

FUZZ_IMPL_PROOF_BUILD := $(FUZZ_IMPL_BINS) $(AFL_SERVERS)/mutants/rare-branch $(FUZZ_IMPL_ASAN)/mutants/heap-4k-reset \
	$(FUZZ_IMPL_MUTANTS:%=$(O)/mutants/%) $(B)/tcp-upper $(B)/udp-upper
CHECK_BUILD_ONCE += $(FUZZ_IMPL_PROOF_BUILD)

# ---- make check, once: the proofs (harness/fuzz/impl_proofs.py), 40-60 s on 2 cores: lost-wakeup and
# halfclose-after-reset found black-box, heap-4k-reset found under ASan, rare-branch found with coverage
# and not black-box in the same time, nothing on the reference and the correct Python servers, a target
# off loopback refused ----
FUZZ_IMPL_PROOF_TIME ?= 20
FUZZ_IMPL_COV_RUNS ?= 100000
.PHONY: fuzz-impl-proofs
fuzz-impl-proofs: $(FUZZ_IMPL_PROOF_BUILD)
	$(FUZZ_SRC)/impl_proofs.py --engines $(FUZZ_IMPL) --bin $(B) --mutants $(O)/mutants \
		--asan-mutants $(FUZZ_IMPL_ASAN)/mutants --afl-mutants $(AFL_SERVERS)/mutants --time $(FUZZ_IMPL_PROOF_TIME) --cov-runs $(FUZZ_IMPL_COV_RUNS)
CHECK_ONCE += fuzz-impl-proofs

# ---- make bench-fuzz (fuzz.mk's recipe, with --impl-dir): the engines against the reference servers,
# uninstrumented and built with afl-clang-fast ($(AFL_SERVERS)) ----
bench-fuzz: $(FUZZ_IMPL_BINS) $(AFL_SERVERS)/tcp-upper $(AFL_SERVERS)/udp-upper

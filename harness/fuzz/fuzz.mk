# fuzz.mk - fuzz targets: libFuzzer, AFL++ and standalone builds of harness/fuzz/fuzz_*.c,
# make fuzz / fuzz-afl / fuzz-merge / coverage / bench-fuzz, and the fuzz part of make check.
# See harness/fuzz/README.md.

FUZZ_SRC := harness/fuzz
# The target list and the sources every target links, defined once in targets.txt.
FUZZ_TARGETS := $(strip $(shell sed -n 's/^targets://p' $(FUZZ_SRC)/targets.txt))
FUZZ_LIBSRCS := $(strip $(shell sed -n 's/^sources://p' $(FUZZ_SRC)/targets.txt))
ifeq ($(strip $(FUZZ_TARGETS)),)
$(error $(FUZZ_SRC)/targets.txt names no fuzz target)
endif

# A target's max_len, from its NAME.options (the length libFuzzer, the smoke runs and the merge use), as
# a shell command on $$t.
FUZZ_MAX_LEN_OF_T = sed -n 's/^max_len *= *//p' $(FUZZ_SRC)/$$t.options

FUZZ_TIME ?= 28800
FUZZ_JOBS ?= $(shell nproc 2>/dev/null || echo 1)
# Each target under libFuzzer for this long from its corpus, no crash allowed; that the fuzzers find bugs
# is fuzz-planted's to show, so the smoke only needs to reach every seed and some mutations.
FUZZ_SMOKE_TIME ?= 5
FUZZ_OUT ?= out/fuzz
FUZZ_CLANG ?= clang
AFL_CC ?= afl-clang-fast
LLVM_PROFDATA ?= $(shell command -v llvm-profdata || command -v llvm-profdata-14)
LLVM_COV ?= $(shell command -v llvm-cov || command -v llvm-cov-14)

# ---- standalone runner, in the current variant (std or san) ----
FUZZ_SA_OBJS := $(filter-out lib/%,$(FUZZ_LIBSRCS)) $(FUZZ_SRC)/standalone.c
FUZZ_SA_OBJS := $(patsubst %.c,$(O)/%.o,$(filter %.c,$(FUZZ_SA_OBJS)))
FUZZ_STANDALONE := $(FUZZ_TARGETS:%=$(B)/%-standalone)

$(B)/fuzz_%-standalone: $(O)/$(FUZZ_SRC)/fuzz_%.o $(FUZZ_SA_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIB_LIBS)

.PHONY: fuzz-standalone fuzz-replay-corpus
fuzz-standalone: $(FUZZ_STANDALONE)

# make check (std and san): every committed input and every saved crash reproducer replays clean.
fuzz-replay-corpus: $(FUZZ_STANDALONE)
	@for t in $(FUZZ_TARGETS); do \
		if [ -d corpus/$$t ]; then $(B)/$$t-standalone corpus/$$t || exit 1; \
		else echo "fuzz-replay-corpus: corpus/$$t is missing" >&2; exit 1; fi; \
	done
TESTS += fuzz-replay-corpus
# Its std run replays what the ASan+UBSan run replays with more checks, and the runner does not ship.
STD_SKIP += fuzz-replay-corpus
CHECK_BUILD += $(FUZZ_STANDALONE) $(B)/fuzz-test
# The engine builds the once-only fuzz checks run, built in parallel before them.
CHECK_BUILD_ONCE += $(FUZZ_LF_BINS) $(FUZZ_AFL_BINS)

# ---- libFuzzer (clang, ASan + UBSan); the core is compiled with coverage too ----
FUZZ_LF := build/fuzz-libfuzzer
FUZZ_LF_CFLAGS := -std=c11 -g -O1 -D_GNU_SOURCE -Ilib -fno-omit-frame-pointer \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
FUZZ_LF_BINS := $(FUZZ_TARGETS:%=$(FUZZ_LF)/%)
# The simulators and the oracle are the checker, not the code under test: the libFuzzer builds compile
# them without compare tracing (edge coverage stays). Their compares are of simulated counters and of
# reply bytes that always match, no help to the mutator, and cost fuzz_tcp 40% of its instructions per
# execution; a 20 s run reaches the same edges and features without them.
FUZZ_NO_TRACE_CMP := $(filter $(FUZZ_SRC)/%sim.c $(FUZZ_SRC)/tcpkern.c lib/oracle.c,$(FUZZ_LIBSRCS))
FUZZ_CMP_CFLAGS = $(if $(filter $(FUZZ_NO_TRACE_CMP),$<),-fno-sanitize-coverage=trace-cmp)

$(FUZZ_LF)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CLANG) $(FUZZ_LF_CFLAGS) $(FUZZ_CMP_CFLAGS) $(WARN) -MMD -MP -c -o $@ $<

$(FUZZ_LF)/fuzz_%: $(FUZZ_LF)/$(FUZZ_SRC)/fuzz_%.o $(FUZZ_LIBSRCS:%.c=$(FUZZ_LF)/%.o)
	$(FUZZ_CLANG) -fsanitize=fuzzer,address,undefined -o $@ $^

# ---- AFL++ (afl-clang-fast, persistent mode, shared-memory input) ----
FUZZ_AFL := build/fuzz-afl
FUZZ_AFL_CFLAGS := -std=gnu11 -g -O2 -D_GNU_SOURCE -Ilib
FUZZ_AFL_BINS := $(FUZZ_TARGETS:%=$(FUZZ_AFL)/%) $(FUZZ_AFL)/tcp-upper

$(FUZZ_AFL)/%.o: %.c
	@mkdir -p $(dir $@)
	AFL_QUIET=1 $(AFL_CC) $(FUZZ_AFL_CFLAGS) -MMD -MP -c -o $@ $<

$(FUZZ_AFL)/fuzz_%: $(FUZZ_AFL)/$(FUZZ_SRC)/fuzz_%.o $(FUZZ_AFL)/$(FUZZ_SRC)/afl_driver.o \
		$(FUZZ_LIBSRCS:%.c=$(FUZZ_AFL)/%.o)
	AFL_QUIET=1 $(AFL_CC) -o $@ $^

# The whole server, for the end-to-end path: tcp-upper --inetd reads stdin (fork server). It links
# the library as an archive of AFL++-instrumented objects, as the normal build does.
$(FUZZ_AFL)/libcapslock.a: $(LIB_SRCS:%.c=$(FUZZ_AFL)/%.o)
	$(AR) rcs $@ $^

$(FUZZ_AFL)/tcp-upper: $(FUZZ_AFL)/servers/tcp_upper.o $(FUZZ_AFL)/servers/tcp_loop.o $(FUZZ_AFL)/servers/serve.o \
		$(FUZZ_AFL)/libcapslock.a
	AFL_QUIET=1 $(AFL_CC) -pthread -o $@ $^ $(LIB_LIBS)

# ---- coverage (clang source-based coverage, standalone runner) ----
FUZZ_COV := $(O)/fuzz-cov
FUZZ_COV_CFLAGS := -std=c11 -g -O0 -D_GNU_SOURCE -Ilib -fprofile-instr-generate -fcoverage-mapping

$(FUZZ_COV)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CLANG) $(FUZZ_COV_CFLAGS) -MMD -MP -c -o $@ $<

$(FUZZ_COV)/fuzz_%: $(FUZZ_COV)/$(FUZZ_SRC)/fuzz_%.o $(FUZZ_COV)/$(FUZZ_SRC)/standalone.o \
		$(FUZZ_LIBSRCS:%.c=$(FUZZ_COV)/%.o)
	$(FUZZ_CLANG) -fprofile-instr-generate -o $@ $^


.PHONY: fuzz-build fuzz-afl-build
fuzz-build: $(FUZZ_LF_BINS) $(FUZZ_STANDALONE)
fuzz-afl-build: $(FUZZ_AFL_BINS)

# ---- seed corpora: regenerate with `make fuzz-seeds` (the output is committed) ----
$(B)/fuzz-mkseeds: $(O)/$(FUZZ_SRC)/mkseeds.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIB_LIBS)

.PHONY: fuzz-seeds
fuzz-seeds: $(B)/fuzz-mkseeds
	@mkdir -p corpus/fuzz_tcp/regressions corpus/fuzz_udp/regressions
	$(B)/fuzz-mkseeds corpus/fuzz_tcp corpus/fuzz_udp corpus/fuzz_pcap

# ---- long runs: harness/fuzz/fuzz_run.py (scheduling, progress, Ctrl-C, out/fuzz/SUMMARY.md), its charts
# drawn by draw-chart ----
.PHONY: fuzz fuzz-afl fuzz-merge fuzz-args
# A bad FUZZ_TIME is a usage error before minutes of building, not after (fuzz_run.py checks the rest).
fuzz-args:
	@case '$(FUZZ_TIME)' in ''|*[!0-9.]*|*.*.*|.) \
		echo "make fuzz: FUZZ_TIME='$(FUZZ_TIME)' is not a number of seconds (for example FUZZ_TIME=120)" >&2; \
		exit 2;; esac

# make fuzz IMPL='CMD {port}' fuzzes the user's implementation instead (harness/fuzz/fuzz_impl_run.mk).
ifeq ($(strip $(IMPL)),)
fuzz: fuzz-args fuzz-build $(B)/draw-chart
	$(FUZZ_SRC)/fuzz_run.py --engine libfuzzer --time $(FUZZ_TIME) --jobs $(FUZZ_JOBS) --out $(FUZZ_OUT) \
		--bindir $(FUZZ_LF) --chart $(B)/draw-chart $(FUZZ_TARGETS)
else
fuzz: fuzz-impl-run
endif

fuzz-afl: fuzz-args fuzz-afl-build fuzz-build $(B)/draw-chart
	$(MAKE) SAN=1 build/san/bin/tcp-upper
	$(FUZZ_SRC)/fuzz_run.py --engine afl --time $(FUZZ_TIME) --jobs $(FUZZ_JOBS) --out $(FUZZ_OUT)-afl \
		--bindir $(FUZZ_AFL) --san-tcp-upper build/san/bin/tcp-upper --chart $(B)/draw-chart \
		$(FUZZ_TARGETS) tcp-upper

# make fuzz-merge: the run's working corpus merged into the committed one, corpus/<t>, with libFuzzer's
# set-cover merge: the committed files stay, and of the run's inputs only a smallest set that reaches
# the edges the committed files miss is copied in. -use_counters=0 counts an edge once, not once per
# hit-count bucket: a 30 s fuzz_reasm run merges as 11 files this way, 143 with the buckets, 363 with
# plain -merge=1. FUZZ_MERGE_FLAGS='-merge=1' restores the old merge.
FUZZ_MERGE_FLAGS ?= -set_cover_merge=1 -use_counters=0
fuzz-merge: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
		if [ -d $(FUZZ_OUT)/$$t/corpus ]; then \
			mkdir -p corpus/$$t; \
			$(FUZZ_LF)/$$t $(FUZZ_MERGE_FLAGS) -max_len=$$($(FUZZ_MAX_LEN_OF_T)) corpus/$$t $(FUZZ_OUT)/$$t/corpus 2>&1 | \
				grep -E 'MERGE-OUTER: [0-9]+ new files' || exit 1; \
		else echo "fuzz-merge: no run to merge for $$t ($(FUZZ_OUT)/$$t/corpus missing)"; fi; \
	done

# ---- make check, once: every committed input fits its target's max_len (libFuzzer would cut a longer
# one, so its end would never be fuzzed nor replayed as committed) ----
.PHONY: fuzz-corpus-size
fuzz-corpus-size:
	@for t in $(FUZZ_TARGETS); do \
		max=$$($(FUZZ_MAX_LEN_OF_T)); \
		case "$$max" in ''|*[!0-9]*) echo "fuzz-corpus-size: $(FUZZ_SRC)/$$t.options gives no max_len" >&2; exit 1;; esac; \
		big=$$(find corpus/$$t -type f ! -name '.*' -size +$${max}c); \
		if [ -n "$$big" ]; then \
			echo "fuzz-corpus-size: longer than $$t's max_len of $$max bytes:" $$big >&2; exit 1; \
		fi; \
	done
	@echo "fuzz-corpus-size: every input of $(FUZZ_TARGETS) fits its max_len"
CHECK_ONCE += fuzz-corpus-size

# ---- make check, once: bounded libFuzzer smoke runs ----
.PHONY: fuzz-smoke
# Two targets at a time (one per core); each one's verdict is read after both have run.
fuzz-smoke: $(FUZZ_LF_BINS)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && n=0 && for t in $(FUZZ_TARGETS); do \
		mkdir -p $$tmp/$$t; \
		echo "fuzz-smoke: $$t for $(FUZZ_SMOKE_TIME) s"; \
		{ $(FUZZ_LF)/$$t -max_total_time=$(FUZZ_SMOKE_TIME) -timeout=10 -print_final_stats=1 \
			-dict=$(FUZZ_SRC)/$$t.dict -max_len=$$($(FUZZ_MAX_LEN_OF_T)) -artifact_prefix=$$tmp/$$t/ $$tmp/$$t corpus/$$t \
			>$$tmp/$$t.log 2>&1; echo $$? >$$tmp/$$t.rc; } & \
		n=$$((n + 1)); [ $$((n % 2)) -ne 0 ] || wait; \
	done; wait; \
	for t in $(FUZZ_TARGETS); do \
		if [ "$$(cat $$tmp/$$t.rc)" != 0 ]; then \
			grep -E 'SPEC breach|ERROR:|runtime error|#[0-9]+ 0x' $$tmp/$$t.log | head -20 >&2; \
			echo "fuzz-smoke: $$t crashed; the input is kept in out/fuzz-smoke/" >&2; \
			mkdir -p out/fuzz-smoke && cp $$tmp/$$t/crash-* $$tmp/$$t/leak-* $$tmp/$$t/timeout-* out/fuzz-smoke/ 2>/dev/null; \
			exit 1; \
		fi; \
		printf '%s: ' $$t; grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' $$tmp/$$t.log | tr '\n' ' '; echo; \
	done
CHECK_ONCE += fuzz-smoke

# ---- make check, once: the OSS-Fuzz / ClusterFuzzLite build script builds, and its targets run ----
.PHONY: fuzz-ossfuzz-build
fuzz-ossfuzz-build:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	CC=$(FUZZ_CLANG) CXX= CFLAGS="-fsanitize=fuzzer-no-link,address" LIB_FUZZING_ENGINE=-fsanitize=fuzzer \
		OUT=$$tmp/out WORK=$$tmp/work .clusterfuzzlite/build.sh && \
	for t in $(FUZZ_TARGETS); do \
		for f in $$t $${t}_seed_corpus.zip $$t.dict $$t.options; do \
			[ -s $$tmp/out/$$f ] || { echo "fuzz-ossfuzz-build: $$tmp/out/$$f missing" >&2; exit 1; }; \
		done; \
		$$tmp/out/$$t -runs=200 -dict=$$tmp/out/$$t.dict >$$tmp/$$t.log 2>&1 || \
			{ tail -20 $$tmp/$$t.log >&2; echo "fuzz-ossfuzz-build: $$t failed to run" >&2; exit 1; }; \
	done && echo "fuzz-ossfuzz-build: $(FUZZ_TARGETS) built and ran"
CHECK_ONCE += fuzz-ossfuzz-build

# ---- make check, once: bugs planted in copies of library files are found within a minute ----
.PHONY: fuzz-planted
fuzz-planted: $(FUZZ_LF_BINS)
	CLANG=$(FUZZ_CLANG) ci/planted-bug.sh -t 60 -o $(FUZZ_LF)
CHECK_ONCE += fuzz-planted

# make coverage: the committed corpus (corpus/<target> and its regressions/) replayed by the coverage
# build of the standalone runner; llvm-cov HTML and a per-file table of lines (lines, covered, percent)
# into COVERAGE_OUT. Every file on targets.txt's "sources:" line is reported; the server sources with
# logic (the core lib/upper.c, lib/drive.c and the servers' loops servers/*.c) and the replayer's
# decoder (lib/decode.c, lib/decode_flows.c) must have COVERAGE_MIN % of their lines run, or the rule
# fails naming the file. The others are checking code (oracle, simulators) or hold functions only other programs call
# (the script encoders, the capture writer's address helper): shown, not gated. COVERAGE_RUN=1 adds the last make fuzz run's working corpora (then the figures are
# no longer those of the committed corpus alone).
COVERAGE_OUT ?= out/coverage
COVERAGE_MIN ?= 85
COVERAGE_RUN ?=
COVERAGE_GATED := $(filter lib/upper.c lib/drive.c lib/decode.c lib/decode_flows.c servers/%,$(FUZZ_LIBSRCS))
FUZZ_COV_BINS := $(FUZZ_TARGETS:%=$(FUZZ_COV)/%)
FUZZ_COV_OBJECTS := $(firstword $(FUZZ_COV_BINS)) $(patsubst %,-object=%,$(wordlist 2,$(words $(FUZZ_COV_BINS)),$(FUZZ_COV_BINS)))
# The table, from llvm-cov's report per file (columns 8 and 9: lines, missed lines) and per function
# (columns 5 and 6, under a "File 'PATH':" line). "In called functions" counts only the functions a
# target ran at all; the functions none ran are listed below the table. llvm-cov names a file by its
# absolute path or drops the directory prefix all files share, so a file is matched by the end of a path.
FUZZ_COV_TABLE := function ends(a, b) { return a == b || substr(a, length(a) - length(b)) == "/" b } \
	function which(name,  i) { for (i = 1; i <= nf; i++) if (ends(f[i], name) || ends(name, f[i])) return f[i]; \
		return "" } \
	FNR == NR { n = which($$1); if (n != "") { lines[n] = $$8; missed[n] = $$9 }; next } \
	/^File / { cur = which(substr($$2, 2, length($$2) - 3)); next } \
	cur != "" && $$5 ~ /^[0-9]+$$/ && $$1 != "TOTAL" { \
		if ($$6 < $$5) { called[cur] += $$5; called_missed[cur] += $$6 } else if ($$5 > 0) uncalled[cur] = uncalled[cur] " " $$1 } \
	END { printf "%-26s %6s %8s %8s  %-24s %s\n", "file", "lines", "covered", "percent", "in called functions", \
			"at least " min "%"; \
		for (i = 1; i <= nf; i++) { n = f[i]; \
			if (!(n in lines) || lines[n] + 0 == 0) { \
				printf "%-26s %6s %8s %8s  %-24s %s\n", n, "-", "-", "-", "-", "no coverage data"; \
				if (n in gate) bad = bad " " n; continue } \
			covered = lines[n] - missed[n]; ok = covered * 100 >= min * lines[n]; \
			in_called = called[n] ? sprintf("%d/%d, %.1f%%", called[n] - called_missed[n], called[n], \
				100 * (called[n] - called_missed[n]) / called[n]) : "-"; \
			printf "%-26s %6d %8d %7.1f%%  %-24s %s\n", n, lines[n], covered, 100 * covered / lines[n], \
				in_called, !(n in gate) ? "(not required)" : ok ? "yes" : "NO"; \
			if ((n in gate) && !ok) bad = bad " " n } \
		for (i = 1; i <= nf; i++) if (f[i] in uncalled) printf "never called in %s:%s\n", f[i], uncalled[f[i]]; \
		if (bad != "") { printf "coverage: under %s%% of lines:%s\n", min, bad; exit 1 } }

.PHONY: coverage
coverage: $(FUZZ_COV_BINS)
	@case '$(COVERAGE_MIN)' in ''|*[!0-9.]*) echo "coverage: COVERAGE_MIN='$(COVERAGE_MIN)' is not a percentage" >&2; exit 2;; esac
	@rm -rf $(COVERAGE_OUT) && mkdir -p $(COVERAGE_OUT)/profraw
	@for t in $(FUZZ_TARGETS); do \
		dirs=corpus/$$t; [ -d corpus/$$t/regressions ] && dirs="$$dirs corpus/$$t/regressions"; \
		if [ "$(COVERAGE_RUN)" = 1 ] && [ -d $(FUZZ_OUT)/$$t/corpus ]; then dirs="$$dirs $(FUZZ_OUT)/$$t/corpus"; fi; \
		LLVM_PROFILE_FILE=$(COVERAGE_OUT)/profraw/$$t.profraw $(FUZZ_COV)/$$t $$dirs || exit 1; \
	done
	@$(LLVM_PROFDATA) merge -sparse -o $(COVERAGE_OUT)/fuzz.profdata $(COVERAGE_OUT)/profraw/*.profraw
	@$(LLVM_COV) show -format=html -output-dir=$(COVERAGE_OUT) -instr-profile=$(COVERAGE_OUT)/fuzz.profdata \
		-show-line-counts-or-regions $(FUZZ_COV_OBJECTS) $(FUZZ_LIBSRCS)
	@$(LLVM_COV) report -instr-profile=$(COVERAGE_OUT)/fuzz.profdata $(FUZZ_COV_OBJECTS) $(FUZZ_LIBSRCS) \
		>$(COVERAGE_OUT)/report.txt
	@$(LLVM_COV) report -show-functions -instr-profile=$(COVERAGE_OUT)/fuzz.profdata $(FUZZ_COV_OBJECTS) \
		$(FUZZ_LIBSRCS) >$(COVERAGE_OUT)/functions.txt
	@echo "coverage of $(FUZZ_TARGETS) over corpus/$(if $(filter 1,$(COVERAGE_RUN)), and $(FUZZ_OUT)/*/corpus):"
	@awk -v min='$(COVERAGE_MIN)' -v files='$(FUZZ_LIBSRCS)' -v gated='$(COVERAGE_GATED)' \
		'BEGIN { nf = split(files, f, " "); ng = split(gated, g, " "); for (i = 1; i <= ng; i++) gate[g[i]] = 1 } \
		$(FUZZ_COV_TABLE)' $(COVERAGE_OUT)/report.txt $(COVERAGE_OUT)/functions.txt >$(COVERAGE_OUT)/summary.txt; \
		rc=$$?; cat $(COVERAGE_OUT)/summary.txt; \
		echo "coverage: open $(COVERAGE_OUT)/index.html (llvm-cov's own table: $(COVERAGE_OUT)/report.txt)"; exit $$rc

# Keep the engine builds' objects (make would delete them as intermediates).
FUZZ_ALL_SRCS := $(FUZZ_LIBSRCS) $(FUZZ_TARGETS:%=$(FUZZ_SRC)/%.c) $(FUZZ_SRC)/standalone.c $(FUZZ_SRC)/afl_driver.c
.SECONDARY: $(foreach d,$(FUZZ_LF) $(FUZZ_AFL) $(FUZZ_COV),$(FUZZ_ALL_SRCS:%.c=$(d)/%.o))

# ---- make bench-fuzz: exec/s per engine vs a network-driven harness (harness/fuzz/fuzz_bench.py) ----
# A libFuzzer build without sanitizers shows the engine's own speed next to the ASan+UBSan one.
FUZZ_LFF := build/fuzz-libfuzzer-fast
FUZZ_LFF_CFLAGS := -std=c11 -g -O2 -D_GNU_SOURCE -Ilib -fsanitize=fuzzer-no-link
BENCH_FUZZ_TIME ?= 6

$(FUZZ_LFF)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CLANG) $(FUZZ_LFF_CFLAGS) $(FUZZ_CMP_CFLAGS) $(WARN) -MMD -MP -c -o $@ $<

$(FUZZ_LFF)/fuzz_%: $(FUZZ_LFF)/$(FUZZ_SRC)/fuzz_%.o $(FUZZ_LIBSRCS:%.c=$(FUZZ_LFF)/%.o)
	$(FUZZ_CLANG) -fsanitize=fuzzer -o $@ $^

.SECONDARY: $(FUZZ_ALL_SRCS:%.c=$(FUZZ_LFF)/%.o)

.PHONY: bench-fuzz
bench-fuzz: $(FUZZ_LF_BINS) $(FUZZ_TARGETS:%=$(FUZZ_LFF)/%) $(FUZZ_AFL_BINS)
	$(MAKE) SAN= O=build/std build/std/bin/tcp-upper build/std/bin/fuzz_tcp-standalone \
		build/std/bin/udp-upper build/std/bin/conform
	$(MAKE) SAN=1 O=build/san build/san/bin/fuzz_tcp-standalone
	$(FUZZ_SRC)/fuzz_bench.py --time $(BENCH_FUZZ_TIME) --lf-dir $(FUZZ_LF) --lf-fast-dir $(FUZZ_LFF) \
		--afl-dir $(FUZZ_AFL) --server build/std/bin/tcp-upper --std-dir build/std/bin --san-dir build/san/bin \
		--impl-dir $(FUZZ_IMPL) --out out/bench $(FUZZ_TARGETS)
.SECONDARY: $(FUZZ_SA_OBJS) $(FUZZ_TARGETS:%=$(O)/$(FUZZ_SRC)/%.o)

# ---- unit tests of the input formats and the TCP simulation (CUnit), both variants ----
$(B)/fuzz-test: $(O)/$(FUZZ_SRC)/test_fuzz.o $(O)/$(FUZZ_SRC)/tcpsim.o $(O)/$(FUZZ_SRC)/tcpkern.o $(O)/servers/tcp_loop.o \
		$(O)/$(FUZZ_SRC)/udpsim.o $(O)/servers/udp_loop.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIB_LIBS) $(CUNIT_LIBS)

$(O)/$(FUZZ_SRC)/test_fuzz.o: ALL_CFLAGS += $(CUNIT_CFLAGS)

.PHONY: fuzz-unit
fuzz-unit: $(B)/fuzz-test
	$(B)/fuzz-test
TESTS += fuzz-unit

# ---- make check, once: the AFL++ builds build and run an input outside afl-fuzz (stdin) ----
.PHONY: fuzz-afl-smoke
fuzz-afl-smoke: $(FUZZ_AFL_BINS)
	@for t in $(FUZZ_TARGETS); do \
		for f in corpus/$$t/seed-*; do $(FUZZ_AFL)/$$t < $$f || { echo "fuzz-afl-smoke: $$t failed on $$f" >&2; exit 1; }; done; \
	done
	@out=$$(printf 'hello World\n' | $(FUZZ_AFL)/tcp-upper --inetd) && [ "$$out" = "HELLO WORLD" ] || \
		{ echo "fuzz-afl-smoke: $(FUZZ_AFL)/tcp-upper --inetd answered '$$out'" >&2; exit 1; }
	@echo "fuzz-afl-smoke: the AFL++ builds of $(FUZZ_TARGETS) tcp-upper run"
CHECK_ONCE += fuzz-afl-smoke

# ---- make check, once: make fuzz's driver (harness/fuzz/fuzz_run.py, as shipped) on bad input, with
# stand-in engines: bad FUZZ_TIME, unwritable FUZZ_OUT, an engine that never starts (never "no crashes"),
# a crash (exit 1, reproduce command), the time series and its chart (and the reason without gnuplot,
# exit status unchanged), an AFL++ run resuming an earlier one, Ctrl-C still leaves the summary, series
# and chart ----
.PHONY: fuzz-run-test
fuzz-run-test: $(B)/draw-chart
	$(FUZZ_SRC)/test-run.sh $(FUZZ_SRC)/fuzz_run.py $(B)/draw-chart
CHECK_ONCE += fuzz-run-test

# ---- make check, once: make bench-fuzz's script (fuzz_bench.py) with stand-in engines and the real
# tcp-upper: usage errors, the table, fuzz.md and fuzz.json of a working run, a failing engine's exit 1 ----
.PHONY: fuzz-bench-test
fuzz-bench-test: $(B)/tcp-upper
	$(FUZZ_SRC)/test-bench.sh $(B)/tcp-upper
CHECK_ONCE += fuzz-bench-test

# Dependency files of the engine builds, from their object lists.
FUZZ_DEP_SRCS := $(FUZZ_ALL_SRCS) servers/tcp_upper.c servers/tcp_loop.c servers/serve.c $(LIB_SRCS)
-include $(foreach d,$(FUZZ_LF) $(FUZZ_AFL) $(FUZZ_COV) $(FUZZ_LFF),$(FUZZ_DEP_SRCS:%.c=$(d)/%.d))

# ==== fuzzing a user's implementation over real sockets (harness/fuzz/impl*.c, harness/fuzz/README.md
# "Fuzzing a user's implementation over real sockets"): the libFuzzer targets fuzz-impl-tcp and fuzz-impl-udp, the reproducer impl-repro, the
# reference servers and the mutants built with AFL++'s compilers (they write their edge map into the
# shared memory the targets give them), and the test that impl-repro finds a mutant's bug ====

IMPL_OBJS := harness/fuzz/impl.o harness/fuzz/impl_tcp.o harness/fuzz/impl_udp.o

PROGS += impl-repro
$(B)/impl-repro: $(O)/harness/fuzz/impl_repro.o $(IMPL_OBJS:%=$(O)/%) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIB_LIBS)

# The targets link libFuzzer but carry no coverage instrumentation and no sanitizer: the code under test
# is the server (its edge map is the coverage; its own ASan reports come through its log), and the
# harness's branches depend on timing (partial sends, poll wakeups), so they would only add noise to the
# corpus; ASan in the client would cost time and check only the checker.
FUZZ_IMPL := build/fuzz-impl
FUZZ_IMPL_CFLAGS := -std=c11 -g -O2 -D_GNU_SOURCE -Ilib
FUZZ_IMPL_BINS := $(FUZZ_IMPL)/fuzz-impl-tcp $(FUZZ_IMPL)/fuzz-impl-udp

$(FUZZ_IMPL)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CLANG) $(FUZZ_IMPL_CFLAGS) $(WARN) -MMD -MP -c -o $@ $<

$(FUZZ_IMPL)/fuzz_impl_udp.o: $(FUZZ_SRC)/fuzz_impl.c
	@mkdir -p $(dir $@)
	$(FUZZ_CLANG) $(FUZZ_IMPL_CFLAGS) $(WARN) -DIMPL_TARGET_UDP -MMD -MP -c -o $@ $<

$(FUZZ_IMPL)/libcapslock.a: $(LIB_SRCS:%.c=$(FUZZ_IMPL)/%.o)
	$(AR) rcs $@ $^

$(FUZZ_IMPL)/fuzz-impl-tcp: $(FUZZ_IMPL)/$(FUZZ_SRC)/fuzz_impl.o $(IMPL_OBJS:%=$(FUZZ_IMPL)/%) $(FUZZ_IMPL)/libcapslock.a
	$(FUZZ_CLANG) -fsanitize=fuzzer -o $@ $^ $(LIB_LIBS)

$(FUZZ_IMPL)/fuzz-impl-udp: $(FUZZ_IMPL)/fuzz_impl_udp.o $(IMPL_OBJS:%=$(FUZZ_IMPL)/%) $(FUZZ_IMPL)/libcapslock.a
	$(FUZZ_CLANG) -fsanitize=fuzzer -o $@ $^ $(LIB_LIBS)

# Servers with AFL++'s edge map, for coverage-guided runs of fuzz-impl-*: the reference servers and the
# mutants of tests/mutants (AFL_USE_ASAN=1 adds ASan, after rm -rf build/afl-servers build/fuzz-afl).
AFL_SERVERS := build/afl-servers
$(AFL_SERVERS)/tcp-upper: $(FUZZ_AFL)/tcp-upper
	@mkdir -p $(dir $@)
	cp $< $@

$(AFL_SERVERS)/udp-upper: $(FUZZ_AFL)/servers/udp_upper.o $(FUZZ_AFL)/servers/udp_loop.o $(FUZZ_AFL)/servers/serve.o \
		$(FUZZ_AFL)/libcapslock.a
	@mkdir -p $(dir $@)
	AFL_QUIET=1 $(AFL_CC) -pthread -o $@ $^ $(LIB_LIBS)

$(AFL_SERVERS)/mutants/%: tests/mutants/mutant.c $(FUZZ_AFL)/libcapslock.a
	@mkdir -p $(dir $@)
	AFL_QUIET=1 $(AFL_CC) $(FUZZ_AFL_CFLAGS) -DMUTANT=\"$*\" -o $@ $< $(FUZZ_AFL)/libcapslock.a $(LIB_LIBS)

.PHONY: fuzz-impl-build afl-servers fuzz-impl-test
fuzz-impl-build: $(FUZZ_IMPL_BINS) $(B)/impl-repro
afl-servers: $(AFL_SERVERS)/tcp-upper $(AFL_SERVERS)/udp-upper

# make check (the ASan+UBSan variant; about 12 s): impl-repro finds the bugs of the lost-wakeup, other-port,
# sigpipe and leak-on-reset mutants and of a stand-in that prints an ASan report (T7, U1, DEATH, LEAK,
# ASAN), and passes the reference servers on the same inputs and on every committed seed.
fuzz-impl-test: $(B)/impl-repro $(B)/tcp-upper $(B)/udp-upper $(O)/mutants/lost-wakeup $(O)/mutants/other-port \
		$(O)/mutants/sigpipe $(O)/mutants/leak-on-reset
	$(FUZZ_SRC)/test-impl.sh $(B) $(O)/mutants
TESTS += fuzz-impl-test
STD_SKIP += fuzz-impl-test
CHECK_BUILD += $(B)/impl-repro

.SECONDARY: $(foreach s,$(LIB_SRCS) $(FUZZ_SRC)/fuzz_impl.c $(IMPL_OBJS:%.o=%.c),$(FUZZ_IMPL)/$(s:%.c=%.o))
-include $(foreach s,$(LIB_SRCS) $(FUZZ_SRC)/fuzz_impl.c $(IMPL_OBJS:%.o=%.c),$(FUZZ_IMPL)/$(s:%.c=%.d)) $(FUZZ_IMPL)/fuzz_impl_udp.d

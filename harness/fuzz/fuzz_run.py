#!/usr/bin/env python3
"""fuzz_run.py - fuzz-run, the driver behind `make fuzz` (libFuzzer) and `make fuzz-afl` (AFL++).

Runs every fuzz target on every core for --time seconds, prints a progress line per target at least
every minute (the exec/s of the last interval, or that the target waits for a worker slot), keeps a row
per target every --sample seconds in OUT/<target>.csv, stops cleanly on Ctrl-C or SIGTERM, then charts
each series as OUT/<target>.svg through draw-chart (without gnuplot the reason is told instead) and
writes OUT/SUMMARY.md (execs, whole-run exec/s, coverage and when it last grew, new corpus entries,
crashes deduplicated by report and top frames with a reproduce command, the charts) and prints it. Exit
status as USAGE says; a target the engine did not run is never reported as "no crashes". Nothing is
written under corpus/.

Scheduling (libFuzzer): JOBS worker slots (default: the cores) run chunks of at most 60 s, each a
libFuzzer run bounded by -max_total_time; slot i runs target (i + k) mod T at its k-th chunk. With fewer
cores than targets every target gets an equal share of them and the machine is never oversubscribed
(libFuzzer's -fork runs many jobs of one target, not a share of the cores for each of several); with
more, several workers fuzz one target and share its working corpus (libFuzzer reloads it). Each chunk
starts from the working corpus plus the committed seeds, so a crash only costs its chunk.

Scheduling (AFL++): all targets at once, an -M instance each, plus -S instances round-robin while cores
remain (AFL_NO_AFFINITY=1 lets them share cores). Figures come from each instance's fuzzer_stats and
plot_data, not afl-whatsup: it sums an earlier run's execs with this one's and reads only fuzzer_stats
(written once a minute).

With --impl CMD (make fuzz IMPL='CMD {port}'), the targets are fuzz-impl-tcp and/or fuzz-impl-udp: engines
that run each input against the user's server CMD over loopback sockets, seeded from corpus/fuzz_tcp and
corpus/fuzz_udp. Every chunk starts its own server on a free port. Findings are keyed by the engines'
"capslock-finding: RULE WHERE: ..." lines, then shrunk, confirmed against a fresh server, written as an
input, a pcap and a command, and matched with conform's cases (impl_findings.py)."""
import contextlib, getopt, glob, itertools, os, re, shlex, shutil, signal, sys, time
from types import SimpleNamespace

import engines, impl_findings

PROG = "fuzz-run"
HEADER = "elapsed_s,execs,exec_per_s,coverage,corpus,crashes,running_s,state"
USAGE = f"""usage: {PROG} [--engine libfuzzer|afl] [--time SECONDS] [--jobs N] [--progress SECONDS]
                [--sample SECONDS] [--out DIR] [--bindir DIR] [--san-tcp-upper PATH] [--chart PATH]
                [--impl CMD [--repro PATH] [--replay PATH] [--conform PATH] [--shrink-time SECONDS]]
                TARGET...
Fuzzes every TARGET (fuzz_tcp ...; tcp-upper for AFL++) for a while, then summarizes (make fuzz).
  --engine E           libfuzzer (default) or afl
  --time SECONDS       seconds to fuzz, at least 2 (default 28800, a night); every SECONDS takes a
                       unit too: 500ms, 90s, 2m, 8h
  --jobs N             worker slots, 1 to 1024 (default: the number of cores)
  --progress SECONDS   seconds between progress lines (default and most 60)
  --sample SECONDS     seconds between the rows of DIR/<target>.csv (default: TIME/60, 2 to 30)
  --out DIR            working directory (default out/fuzz; created when missing, not its parent);
                       DIR/SUMMARY.md is the summary,
                       DIR/<target>.csv the target's figures over time, DIR/<target>.svg their chart
  --bindir DIR         where the target binaries are (default build/fuzz-libfuzzer)
  --san-tcp-upper PATH sanitizer tcp-upper that reproduces AFL++ crashes of the whole binary
                       (default build/san/bin/tcp-upper)
  --chart PATH         the draw-chart program that draws the charts (default build/std/bin/draw-chart)
  --impl CMD           fuzz the implementation CMD ('{{port}}' becomes a free port, as conform --exec);
                       TARGETs fuzz-impl-tcp and/or fuzz-impl-udp (libFuzzer only); earlier crash files
                       of those targets under DIR are removed first (a run judges one implementation)
  --repro PATH         impl-repro, which confirms findings on a fresh server (default build/std/bin/impl-repro)
  --replay PATH        replay, which writes each finding as a pcap (default build/std/bin/replay)
  --conform PATH       conform, whose cases are matched with each finding (default build/std/bin/conform)
  --shrink-time SECONDS  bound on shrinking each unique finding (default 30)
Exit 0 no crash file, 1 a crash file under DIR/<target>/ (kept between runs; --impl: a finding), 2 usage or set-up
error, the engine did not run a target, a full disk, or a summary that could not be written
(a chart that could not be drawn changes nothing).
  --version            the version
Examples:
  harness/fuzz/fuzz_run.py --time 2m --out out/fuzz fuzz_tcp fuzz_udp
  harness/fuzz/fuzz_run.py --engine afl --time 8h --bindir build/fuzz-afl tcp-upper
"""
stop_requested = False

def on_signal(sig, frame):
    global stop_requested
    stop_requested = True

def warn(message):
    print(f"{PROG}: {message}", file=sys.stderr)

def fail(message, usage=False):
    """A set-up error (exit 2); usage: a usage error, one line and where the help is, as every program."""
    warn(message)
    if usage:
        sys.stderr.write(f"Try '{PROG} --help' for more information.\n")
    sys.exit(2)

def number(option, text, low, reason, whole=False):
    """A duration (engines.duration: seconds, or with a unit, 500ms, 2m) or, whole, a count, from low to
    1e9 (1024 for a count); exit 2 naming the option otherwise."""
    value = (int(text) if re.fullmatch(r"\d+", text) else None) if whole else engines.duration(text)
    if value is None or not low <= value <= (1024 if whole else 1e9):
        fail(f"{option} {text}: {reason}", usage=True)
    return value

def options(argv):
    """The options as attributes (dashes as underscores), the targets as names; exit 2 on a usage error."""
    g = {"engine": "libfuzzer", "time": "28800", "jobs": str(os.cpu_count() or 1), "progress": "60",
         "sample": None, "out": "out/fuzz", "bindir": "build/fuzz-libfuzzer",
         "san-tcp-upper": "build/san/bin/tcp-upper", "chart": "build/std/bin/draw-chart", "impl": None,
         "repro": "build/std/bin/impl-repro", "replay": "build/std/bin/replay",
         "conform": "build/std/bin/conform", "shrink-time": "30"}
    try:
        pairs, names = getopt.gnu_getopt(argv, "h", ["help", "version"] + [k + "=" for k in g])
    except getopt.GetoptError as e:
        fail(engines.getopt_error(e), usage=True)
    for k, v in pairs:
        if k in ("-h", "--help"):
            sys.stdout.write(USAGE)
            sys.exit(0)
        if k == "--version":
            print(f"{PROG} (capslock) {engines.version()}")
            sys.exit(0)
        g[k[2:]] = v
    if g["engine"] not in ("libfuzzer", "afl"):
        fail(f"--engine {g['engine']}: expected libfuzzer or afl", usage=True)
    o = SimpleNamespace(**{k.replace("-", "_"): v for k, v in g.items()}, afl=g["engine"] == "afl",
                        names=names)
    # runs too short to start one chunk are refused
    o.time = number("--time", o.time, 2, "expected a number of seconds, at least 2 (make fuzz FUZZ_TIME=...)")
    o.jobs = number("--jobs", o.jobs, 1, "expected a number of worker slots from 1 to 1024", whole=True)
    o.shrink_time = number("--shrink-time", o.shrink_time, 0, "expected a number of seconds")
    if o.impl is not None:
        if not o.impl.strip():
            fail("--impl: empty command (make fuzz IMPL='./myserver {port}')")
        if o.afl:
            fail("--impl runs under libFuzzer only (its engines are fuzz-impl-tcp and fuzz-impl-udp)")
        if bad := [n for n in names if n not in ("fuzz-impl-tcp", "fuzz-impl-udp")]:
            fail(f"--impl: {' '.join(bad)}: expected fuzz-impl-tcp and/or fuzz-impl-udp", usage=True)
    o.progress = min(number("--progress", o.progress, 0.001, "expected a positive number of seconds"), 60,
                     max(o.time / 6, 5))
    # about 60 rows a run when not given: every 2 s of two minutes, every 30 s of a night
    o.sample = min(max(o.time / 60, 2), 30) if o.sample is None else \
        number("--sample", o.sample, 0.5, "expected a number of seconds, at least 0.5")
    if not 1 <= len(names) <= 64:
        fail(f"expected 1 to 64 target names, got {len(names)}", usage=True)
    return o

def check_out(out):
    """--out: not under corpus/, and writable."""
    path, corpus = os.path.abspath(out), os.path.abspath("corpus")
    if path == corpus or path.startswith(corpus + "/"):
        fail(f"--out {out}: must not be under corpus/\n({PROG} --help lists the options)")
    probe = os.path.join(out, ".fuzz-run-write-test")
    try:
        engines.make_out_dir(out, "out/fuzz")
        with open(probe, "w") as f:
            f.write("x")
        os.unlink(probe)
    except OSError as e:
        fail(f"--out {out} (FUZZ_OUT): cannot write there: "
             + (f"{e.filename}: {e.strerror}" if e.filename and e.filename != probe else e.strerror))

def rate_since(mark, now):
    """exec/s between two (execs, seconds on the target's run clock), None when nothing new was reported."""
    return (now[0] - mark[0]) / (now[1] - mark[1]) if now[1] > mark[1] and now[0] >= mark[0] else None

class Target:
    """A target's files, its engine's failures and the figures of its progress lines, series and chart."""
    execs_done = cov_done = 0  # over finished chunks
    nfailed, failed_log, failed_why = 0, "", ""  # chunks or instances that ran nothing
    run_secs, running = 0.0, False  # seconds with an engine of the target running
    # the engine's latest (execs, at) and when they changed; the same at the last progress line and row
    known = progress_mark = sample_mark = (0, 0.0)
    known_elapsed = sample_run_secs = 0.0
    cov = cov_first = 0  # libFuzzer's cov, AFL++'s edges_found; the first one reported
    cov_first_at, cov_grew_at = 0.0, -1.0
    corpus_n = crashes_n = rows = 0
    density = chart_why = ""  # AFL++: the main instance's bitmap_cvg
    has_coverage = has_rate = csv_bad = False

    def __init__(self, o, name):
        self.name, self.afl, self.binary = name, o.afl, os.path.join(o.bindir, name)
        if not os.access(self.binary, os.X_OK):
            fail(f"{self.binary}: not built (run make fuzz-build / fuzz-afl-build / fuzz-impl-build)")
        # fuzz-impl-tcp takes fuzz_tcp's inputs: its seeds, dictionary and max_len
        base = "fuzz_" + name.removeprefix("fuzz-impl-") if o.impl else name
        self.impl, self.mode, self.findings = o.impl, None, []  # findings: (rule, where, sentence, file)
        self.seeds = "corpus/" + ("tcp-upper-inetd" if name == "tcp-upper" else base)
        if not os.path.isdir(self.seeds):
            fail(f"{self.seeds}: seed corpus missing")
        # the engine's extra arguments: the dictionary, and libFuzzer's max_len from NAME.options
        dictionary = f"harness/fuzz/{base}.dict"
        max_len = re.search(r"^\s*max_len\s*=\s*(\d+)", engines.read_text(f"harness/fuzz/{base}.options",
                                                                          1 << 16), re.M)
        self.extra = (["-x", dictionary] if o.afl else [f"-dict={dictionary}"]) * os.path.exists(dictionary)
        self.extra += [f"-max_len={max_len[1]}"] if max_len and not o.afl else []
        self.dir = os.path.join(o.out, name)
        self.corpus, self.crashes, self.logs, self.sync = (os.path.join(self.dir, d)
                                                           for d in ("corpus", "crashes", "logs", "sync"))
        try:
            for d in (self.crashes, self.logs, os.path.join(self.dir, "findings")) if o.impl else ():
                shutil.rmtree(d, ignore_errors=True)  # another implementation's, or an earlier run's
            os.makedirs(self.corpus, exist_ok=True)
            # the engine's scenario inputs (a stalled reader beside served ones, a reset while output is
            # owed) join the working corpus: the committed fuzz_tcp seeds are the simulator's
            for f in glob.glob(f"harness/fuzz/impl-seeds/{name.removeprefix('fuzz-impl-')}-*") if o.impl else ():
                shutil.copy(f, self.corpus)
            for d in (self.corpus, self.crashes, self.logs):
                os.makedirs(d, exist_ok=True)
        except OSError as e:
            fail(f"--out {o.out} (FUZZ_OUT): {e.filename}: {e.strerror}")
        self.corpus_start = engines.count_files(self.corpus)
        self.csv_path, self.svg_path = (os.path.join(o.out, name + ext) for ext in (".csv", ".svg"))
        with contextlib.suppress(OSError):
            os.unlink(self.svg_path)  # an earlier run's chart is not this one's
        try:
            self.csv = open(self.csv_path, "w", buffering=1)  # line by line: a stopped run keeps its rows
            self.csv.write(HEADER + "\n")
        except OSError as e:
            fail(f"--out {o.out} (FUZZ_OUT): cannot write {self.csv_path}: {e.strerror}")

    def failed(self, log, why):
        self.nfailed, self.failed_log, self.failed_why = self.nfailed + 1, log, why

    def update(self, running, execs, at, cov, elapsed, dt):
        """A tick's news: an engine of it runs, its execs and when reported (None: now, on the target's run
        clock), its coverage; elapsed: seconds since the start, dt since the previous tick."""
        if self.running:
            self.run_secs += dt
        self.running = running
        if execs != self.known[0] or (at is not None and at > self.known[1]):
            self.known, self.known_elapsed = (execs, self.run_secs if at is None else at), elapsed
        if cov > self.cov:
            if self.cov == 0:
                self.cov_first, self.cov_first_at = cov, elapsed
            else:
                self.cov_grew_at = elapsed
            self.cov = cov

    def crash_files(self):
        """Its crash files, this run's and earlier runs' (AFL++: every instance's)."""
        pattern = os.path.join(glob.escape(self.sync), "*", "crashes", "id:*") if self.afl else \
            os.path.join(glob.escape(self.crashes), "*")
        return [f for f in sorted(glob.glob(pattern)) if os.path.isfile(f)]

    def count(self):
        """The corpus (AFL++: corpus_count, from the ticks) and crash files."""
        self.crashes_n = len(self.crash_files())
        if not self.afl:
            self.corpus_n = engines.count_files(self.corpus)

    def row(self, elapsed, state):
        """Appends a row: exec/s since the previous row, NaN when the target did not run (a chart breaks its
        line there), empty when its engine reported nothing new (the next rate covers both); coverage empty
        until reported (AFL++: also when nothing new, so a chart joins the reported values)."""
        rate = rate_since(self.sample_mark, self.known)
        cells = [f"{elapsed:.1f}", str(self.known[0]), "" if rate is None else f"{rate:.0f}", ""]
        if rate is not None:
            self.has_rate = True
        elif self.run_secs == self.sample_run_secs:
            cells[2] = "NaN"
        if self.cov > 0 and (not self.afl or self.known != self.sample_mark):
            cells[3], self.has_coverage = str(self.cov), True
        cells += [str(self.corpus_n), str(self.crashes_n), f"{self.run_secs:.1f}", state]
        try:
            self.csv.write(",".join(cells) + "\n")
        except OSError:
            self.csv_bad = True
        self.sample_mark, self.sample_run_secs, self.rows = self.known, self.run_secs, self.rows + 1

def progress(o, targets, elapsed):
    """A line per target: its execs so far, and the exec/s since the previous line or what it does instead."""
    width = max(len(t.name) for t in targets)
    for t in targets:
        t.count()
        rate = rate_since(t.progress_mark, t.known)
        if rate is not None:
            rate = "exec/s %8.0f (last %3.0f s%s)" % (rate, t.known[1] - t.progress_mark[1],
                                                      "" if t.running or o.afl else "; waiting now")
        elif not t.running:
            rate = "ended" if o.afl else "waiting for a worker slot (ran %.0f s)" % t.run_secs
        elif o.afl and t.known[1] <= 0:
            rate = "no figures yet (AFL++ writes after 60 s)"
        elif t.known[0] > 0:
            rate = "no update since %.0f s" % (elapsed - t.known_elapsed)
        else:
            rate = "no figures from the engine yet"
        cov = "edges %5d (%s)" % (t.cov, t.density or "?") if o.afl else "cov %5d" % t.cov
        print("[%6ds] %-*s execs %13s  %-42s  %s  corpus %6d  crashes %d" % (
            int(elapsed), width, t.name, engines.fmt_count(t.known[0]), rate, cov, t.corpus_n, t.crashes_n))
        t.progress_mark = t.known

def sample(targets, elapsed, final=False):
    for t in targets:
        t.count()
        t.row(elapsed, "ended" if final or (t.afl and not t.running) else "running" if t.running
              else "waiting")

class Job:
    """A libFuzzer chunk or an AFL++ instance."""
    def __init__(self, t=None):
        self.proc, self.t, self.log, self.execs, self.cov, self.stopped = None, t, "", 0, 0, False

def drive(o, targets, jobs, step):
    """The run's loop, every half second: step(elapsed, dt) polls the engines, updates the targets and
    says whether the run is over; on a stop request the engines are stopped (those killed are marked
    stopped); otherwise a row per target and progress lines when due. Returns the seconds the run took."""
    start = last = next_sample = time.monotonic()
    next_progress = start + o.progress
    while True:
        now = time.monotonic()
        over, last = step(now - start, now - last), now
        if over:
            return time.monotonic() - start
        if stop_requested:
            killed = engines.stop([j.proc for j in jobs if j.proc])
            for j in jobs:
                j.stopped = j.stopped or j.proc in killed
            continue
        if now >= next_sample:  # the next one due after now
            sample(targets, now - start)
            next_sample += o.sample * ((now - next_sample) // o.sample + 1)
        if now >= next_progress:
            progress(o, targets, now - start)
            next_progress += o.progress * ((now - next_progress) // o.progress + 1)
        time.sleep(0.5)

def chunk_start(j, slot, t, secs, number):
    j.log = os.path.join(t.logs, "chunk-%05d-slot%d.log" % (number, slot))
    # the fuzz-impl engines bound every wait themselves (an input of 16 MB to a slow server takes a while)
    argv = [t.binary, f"-max_total_time={secs}", f"-timeout={60 if t.impl else 10}", "-print_final_stats=1",
            f"-artifact_prefix={t.crashes}/", *t.extra, t.corpus, t.seeds]
    j.ncrash = engines.count_files(t.crashes)
    try:
        j.proc = engines.start(argv, j.log)
    except OSError as e:
        t.failed(j.log, f"could not start: {e.filename}: {e.strerror}")
        return
    j.t, j.execs, j.cov = t, 0, 0

def chunk_ended(j):
    """Adds an ended chunk's figures to its target. One that ran no input and left no crash did not start
    (bad flag, unreadable corpus, full disk): the run must not read as clean. 72: libFuzzer interrupted."""
    t, rc = j.t, j.proc.returncode
    execs, cov = engines.libfuzzer_figures(engines.read_text(j.log, 65536, tail=True))
    stopped = stop_requested and rc in (0, 72, 130, -signal.SIGINT, -signal.SIGKILL)
    if execs == 0 and not stopped and not engines.libfuzzer_ran(engines.read_text(j.log, 1 << 20)) and \
            engines.count_files(t.crashes) == j.ncrash:
        t.failed(j.log, engines.status_text(rc))
    t.execs_done, t.cov_done, j.proc = t.execs_done + execs, max(t.cov_done, cov), None
    if t.impl:
        t.mode = t.mode or impl_findings.coverage_mode(engines.read_text(j.log, 65536))
        t.findings += [f for f in impl_findings.scan_log(engines.read_text(j.log, 1 << 20, tail=True))
                       if os.path.isfile(f[3])]

def run_libfuzzer(o, targets):
    jobs, chunk_no, nt = [Job() for _ in range(o.jobs)], [0] * o.jobs, len(targets)
    lognum = itertools.count(1)
    chunk = min(max(int(o.time * o.jobs / (2 * nt)), 5), 60)  # short runs: shorter, so every target runs

    def step(elapsed, dt):
        for i, j in enumerate(jobs):
            if j.proc and j.proc.poll() is not None:
                chunk_ended(j)
            elif j.proc:
                j.execs, j.cov = engines.libfuzzer_figures(engines.read_text(j.log, 65536, tail=True))
            if j.proc is None and not stop_requested and elapsed < o.time - 1:  # so a chunk has 1 s at least
                t, chunk_no[i] = targets[(i + chunk_no[i]) % nt], chunk_no[i] + 1
                chunk_start(j, i, t, int(min(o.time - elapsed, chunk)), next(lognum))
        for t in targets:
            mine = [j for j in jobs if j.proc and j.t is t]
            t.update(bool(mine), t.execs_done + sum(j.execs for j in mine), None,
                     max([t.cov_done] + [j.cov for j in mine]), elapsed, dt)
        return not any(j.proc for j in jobs) and (stop_requested or elapsed >= o.time - 1)

    return drive(o, targets, jobs, step)

def afl_start(o, t, k, nt):
    """Starts instance k: -M main for the first of each target, -S secK for the others. A persistent
    harness takes no arguments; tcp-upper --inetd reads its stdin."""
    j, role = Job(t), "main" if k < nt else f"sec{k}"
    j.log = os.path.join(t.dir, f"afl-{role}.log")
    j.stats, j.plot = (os.path.join(t.sync, role, f) for f in ("fuzzer_stats", "plot_data"))
    prior = engines.afl_stats(j.stats)  # an earlier run's, which this one may resume
    j.prior, j.resumed = (prior.run_time, prior.execs) if prior else (0, 0), None
    argv = ["afl-fuzz", "-i", t.seeds, "-o", t.sync, "-M" if k < nt else "-S", role, "-V", str(int(o.time)),
            "-t", "2000", *t.extra, "--", os.path.realpath(t.binary)] + ["--inetd"] * (t.name == "tcp-upper")
    try:
        j.proc = engines.start(argv, j.log)
    except OSError as e:
        j.stopped = True  # its failure is recorded here, not from a status
        t.failed(j.log, f"could not start: {e.filename}: {e.strerror}")
    return j

def afl_instance(j):
    """An instance's (time, execs, edges, corpus) in this run and its bitmap_cvg, from the newer of its
    fuzzer_stats (every 60 s) and plot_data (every 5 s) that this run's process wrote, less the execs and
    time of an earlier run it resumes; None before it has figures."""
    st = engines.afl_stats(j.stats)
    if st is None or j.proc is None or st.pid != j.proc.pid:
        return None
    if j.resumed is None:
        j.resumed = j.prior[1] > 0 and st.execs >= j.prior[1] and st.run_time >= j.prior[0]
    f = (st.run_time, st.execs, st.edges, st.corpus)
    plot = engines.afl_plot_last(j.plot)
    if plot and plot[0] > f[0] and plot[1] >= f[1]:
        f = plot
    if j.resumed:
        f = (f[0] - j.prior[0], f[1] - j.prior[1], f[2], f[3])
    return f, st.coverage

def run_afl(o, targets):
    nt = len(targets)
    os.environ.update(engines.AFL_ENV, AFL_AUTORESUME="1", AFL_IMPORT_FIRST="1")
    jobs = [afl_start(o, targets[k % nt], k, nt) for k in range(max(o.jobs, nt))]

    def step(elapsed, dt):
        running = [j.proc is not None and j.proc.poll() is None for j in jobs]
        for i, t in enumerate(targets):  # instance k fuzzes target k mod nt
            execs, at, cov, corpus = 0, 0.0, 0, None
            for k in range(i, len(jobs), nt):
                figures = afl_instance(jobs[k])
                if figures:
                    (secs, n, edges, count), density = figures
                    execs, at, cov = execs + n, max(at, secs), max(cov, edges)
                    corpus = count if corpus is None else max(corpus, count)
                    t.density = density if k < nt else t.density
            t.corpus_n = t.corpus_n if corpus is None else corpus
            t.update(any(running[i::nt]), execs, at, cov, elapsed, dt)
        return not any(running)

    elapsed = drive(o, targets, jobs, step)
    for j in jobs:
        rc = j.proc.returncode if j.proc else 0
        main_stats = os.path.join(j.t.sync, "main", "fuzzer_stats")
        if not (j.stopped or rc in (0, 130, -signal.SIGINT) or os.path.exists(main_stats)):
            j.t.failed(j.log, engines.status_text(rc))
    return elapsed

def reproduce(o, t, file, cwd):
    """Runs a crash file of t again: its key (target, kind, up to 3 own frames) and the command that shows
    it. AFL++ crashes of a harness replay with its libFuzzer build (same input), tcp-upper's with ASan's."""
    stdin = o.afl and t.name == "tcp-upper"
    if not o.afl:
        argv, cmd = [t.binary, file], f"{t.binary} {file}"
    elif stdin:
        argv, cmd = [o.san_tcp_upper, "--inetd"], f"{o.san_tcp_upper} --inetd < '{file}'"
    else:
        argv, cmd = [f"build/fuzz-libfuzzer/{t.name}", file], f"build/fuzz-libfuzzer/{t.name} '{file}'"
    try:
        rc, text = engines.run(argv, 60, stdin_path=file if stdin else None)
        kind, frames = engines.crash_report(text, cwd)
    except OSError as e:
        kind, frames = "could not be reproduced: " + f"{e.filename}: {e.strerror}"[:90], []
    kind = kind or ("timeout" if rc is None else "no crash on replay (flaky?)" if rc == 0
                    else engines.status_text(rc))
    return (t.name, kind[:127], tuple(frames)), cmd

def summary_row(o, t, buckets, cwd):
    """The table row of t; its crash files go into buckets ({key: [count, command, first file]}).
    Returns (row, crash files, whether it ran no input at all)."""
    rate = t.known[0] / t.known[1] if t.known[1] > 0 else 0
    coverage = f"{t.cov} edges ({t.density or '?'} of the map)" if o.afl else f"{t.cov} edges"
    added = t.corpus_n - (engines.count_files(t.seeds) if o.afl else t.corpus_start)
    files, unique = t.crash_files(), 0
    for f in files if not o.impl else ():
        key, cmd = reproduce(o, t, f, cwd)
        unique += key not in buckets
        buckets.setdefault(key, [0, cmd, f])[0] += 1
    if o.impl:
        unique = len({f[:2] for f in t.findings})
        coverage = f"{t.cov} features; " + (t.mode or "coverage mode unknown (no start line)").split(";")[0]
    row = "| %s | %s | %.0f | %.0f | %s | %d (%+d) | %d (%d) |\n" % (
        t.name, engines.fmt_count(t.known[0]), t.run_secs, rate, coverage, t.corpus_n, added, len(files),
        unique)
    return row, len(files), t.known[0] == 0 and not files

def crash_list(buckets):
    out = [f"## Crashes: {len(buckets)} unique (by report and top 3 frames)\n\n"]
    for (name, kind, frames), (count, cmd, file) in sorted(buckets.items()):
        out.append(f"- **{name}**: {kind} -- {count} input(s)\n  - stack: " + " <- ".join(frames) +
                   ("" if frames else "(none below the target: the report is the key)") +
                   f"\n  - reproduce: `{cmd}`\n  - keep it: copy {file} into corpus/{name}/regressions/"
                   " (make check replays it)\n")
    return out

def log_tail(path, n):
    """The last n lines of a log, each as "    > LINE"."""
    try:
        with open(path, "rb") as f:
            f.seek(max(f.seek(0, os.SEEK_END) - 4096, 0))
            lines = [line for line in f.read().decode(errors="replace").split("\n") if line]
    except OSError as e:
        return f"    > (cannot read the log: {e.strerror})\n"
    return "".join(f"    > {line}\n" for line in lines[-n:]) or "    > (the log is empty)\n"

def over_time(o, targets, elapsed):
    """The summary's section on the run over time: per target when coverage last grew, series and chart."""
    out = ["## Over time\n\nA row every %.0f s per target in <target>.csv (%s): exec_per_s is the exec/s "
           "since the previous row over the seconds the target ran, empty when the engine reported nothing "
           "new (the next rate spans both intervals), NaN when the target did not run since the previous "
           "row (it waited for a worker slot).\n\n" % (o.sample, HEADER)]
    unit = "features" if o.impl else "edges"
    for t in targets:
        if t.cov == 0:
            grew = "no coverage reported"
        elif t.cov_grew_at >= 0:
            grew = "coverage last grew at %.0f s of %.0f s: %d %s (%d at %.0f s)" % (
                t.cov_grew_at, elapsed, t.cov, unit, t.cov_first, t.cov_first_at)
        else:
            grew = "coverage did not grow in %.0f s: %d %s from %.0f s on" % (elapsed, t.cov, unit,
                                                                               t.cov_first_at)
        out.append(f"- **{t.name}**: {grew}; {t.rows} rows in [{t.name}.csv]({t.name}.csv)\n" +
                   (f"  - no chart: {t.chart_why}\n" if t.chart_why else
                    f"\n  ![{t.name}: coverage and exec/s over the run]({t.name}.svg)\n\n"))
    return out + ["\n"]

def summarize(o, targets, elapsed):
    """Writes OUT/SUMMARY.md and prints it. Returns the exit status."""
    cwd, buckets, broken, idle, files = os.getcwd(), {}, [], [], 0
    try:
        free = shutil.disk_usage(o.out).free
    except OSError:
        free = None
    disk_full = free is not None and free < 1 << 20
    out = ["# Fuzzing summary (%s)\n\n" % ("AFL++" if o.afl else "libFuzzer")]
    if o.impl:
        out.append(f"Implementation: `{o.impl}`, started by each engine process on a free loopback port "
                   "and kept running across inputs (restarted only when it dies, itself a finding).\n\n")
    out.append("Ran %.0f s" % elapsed)
    if stop_requested:
        out.append(" (stopped by Ctrl-C or SIGTERM; %.0f s were asked)" % o.time)
    each, coverage = ("instances", "AFL++'s edges_found (and bitmap_cvg)") if o.afl else \
        ("workers", "libFuzzer's ft (features: the server's edges when it is instrumented, beside the "
         "engine's own map of which op met which client state)") if o.impl else \
        ("workers", "libFuzzer's cov (edges)")
    out.append(f" on {o.jobs} worker slot(s), {time.strftime('%Y-%m-%d %H:%M:%S %Z')}. \"ran\" is the "
               "seconds in which the target had an engine running; exec/s is the whole-run average, the "
               f"run's execs over those seconds, summed over the target's {each} (the progress lines show "
               f"the exec/s of their last interval); coverage is {coverage}.\n\n"
               "| target | execs | ran (s) | exec/s | coverage | corpus (new) | crashes (unique) |\n"
               "|---|---:|---:|---:|---:|---:|---:|\n")
    for t in targets:
        row, n, no_input = summary_row(o, t, buckets, cwd)
        out.append(row)
        files += n
        idle += [t] if no_input else []
        broken += [t.name] if no_input or t.nfailed else []
    out.append("\n")
    if o.impl:
        out += impl_findings.report(o, targets, lambda m: print(f"{PROG}: {m}"))
    elif buckets:
        out += crash_list(buckets)
    elif o.impl:
        pass
    elif broken or disk_full:
        out.append("## Crashes: none found, but this run did NOT fuzz everything (see below): not a clean "
                   "result\n")
    else:
        out.append("## Crashes: none\n")
    out.append("\n")
    if disk_full:
        out.append(f"## Disk full: {o.out} has {free // 1024} KiB free; corpus entries, logs and crash files "
                   "may be missing (free some space, or set FUZZ_OUT elsewhere)\n\n")
    out += over_time(o, targets, elapsed)
    if broken:
        out.append("## Engine errors\n\n")
        out += [f"- **{t.name}**: no input was executed in the whole run\n" for t in idle]
        out += [f"- **{t.name}**: the engine failed to run {t.nfailed} time(s); the last one:\n"
                f"  - {t.failed_why}, log {t.failed_log}:\n" + log_tail(t.failed_log, 6)
                for t in targets if t.nfailed]
        out.append("\n")
    text = "".join(out).removesuffix("\n")  # one newline after its last line, not the blank line after it
    print("\n" + text)
    if o.impl:
        files = sum(len(t.findings) for t in targets)
    rc, path = 1 if files else 0, os.path.join(o.out, "SUMMARY.md")
    try:
        with open(path, "w") as f:
            f.write(text)
        print(f"(written to {path})")
    except OSError as e:
        warn(f"--out {o.out}: cannot write the summary {path}: {e.strerror}")
        rc = 2
    if broken:
        warn(f"the engine did not run for {', '.join(broken)}; see 'Engine errors' above")
        rc = rc or 2
    if disk_full and rc == 0:
        warn(f"--out {o.out}: the disk is full; see the summary")
        rc = 2
    return rc

def chart(o, t):
    """Draws the target's series as OUT/<target>.svg with draw-chart: coverage, and exec/s on the
    right-hand axis, each when the series has a value of it (gnuplot refuses a line without one). Returns
    draw-chart's exit status (0 drawn, 3 no gnuplot, 1 otherwise), with the reason in t.chart_why."""
    cov, rate = t.has_coverage, t.has_rate
    if not cov and not rate:
        t.chart_why = "nothing to draw: its engine reported no figures"
        return 1
    argv = [o.chart, "--csv", t.csv_path, "--svg", t.svg_path, "--x", "elapsed_s", "--title",
            f"{t.name}: coverage and exec/s over the run", "--xlabel", "seconds since the start", "--ylabel",
            ("coverage (edges found)" if o.afl else "coverage (ft)" if o.impl else "coverage (cov)") if cov else
            "exec/s"]
    argv += ["--series", "coverage:coverage", "--fit-left"] * cov
    argv += ["--series", "exec_per_s:exec/s (last interval)" + ":right" * cov] * rate
    argv += ["--y2label", "exec/s"] * (cov and rate)
    try:
        rc, text = engines.run(argv, 60)
    except OSError as e:
        rc, text = 1, f"cannot run {e.filename}: {e.strerror} (make builds draw-chart)"
    lines = text.strip().splitlines()
    t.chart_why = "" if rc == 0 else "draw-chart took more than 60 s" if rc is None else \
        lines[0].removeprefix("draw-chart: ") if lines else f"draw-chart: {engines.status_text(rc)}"
    return rc if rc in (0, 3) else 1

def finish(o, targets, elapsed):
    """After the run: the last row of every series, then its chart. Without gnuplot the reason is told once
    (any other failure once per target) and kept for the summary; the exit status does not change."""
    told = False
    sample(targets, elapsed, final=True)
    for t in targets:
        try:
            t.csv.close()
        except OSError:
            t.csv_bad = True
        if t.csv_bad:
            warn(f"{t.csv_path}: a row could not be written (disk full?)")
            t.chart_why = "its time series could not be written"
            continue
        rc = chart(o, t)
        if rc == 3 and not told:
            told = True
            warn(f"no chart drawn: {t.chart_why}; the figures are in CSV ({o.out}/<target>.csv)")
        elif rc == 1:
            warn(f"no chart drawn for {t.name}: {t.chart_why}; the figures are in CSV ({t.csv_path})")

def main():
    sys.stdout.reconfigure(line_buffering=True)
    o = options(sys.argv[1:])
    check_out(o.out)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    targets = [Target(o, name) for name in o.names]
    if o.impl:
        os.environ["CAPSLOCK_IMPL"] = o.impl  # the engines start the server themselves, each on its own port
        print(f"{PROG}: implementation {shlex.quote(o.impl)}")
    print(f"{PROG}: {'AFL++' if o.afl else 'libFuzzer'}, {len(targets)} target(s) {' '.join(o.names)}, "
          f"{o.time:.0f} s, {o.jobs} slot(s); working corpus and crashes under {o.out}/ "
          "(Ctrl-C stops cleanly)")
    elapsed = (run_afl if o.afl else run_libfuzzer)(o, targets)
    finish(o, targets, elapsed)
    return summarize(o, targets, elapsed)

if __name__ == "__main__":
    sys.exit(main())

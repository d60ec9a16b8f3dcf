#!/usr/bin/env python3
"""run.py - the driver behind `make fuzz` (libFuzzer) and `make fuzz-afl` (AFL++).

Runs every fuzz target on every core for --time seconds, prints a progress line per target at least
every minute, stops cleanly on Ctrl-C, then writes OUT/SUMMARY.md (execs, exec/s, coverage, new corpus
entries, crashes deduplicated by stack with a reproduce command) and prints it. Exit status: 0 no
crash, 1 a crash was found, 2 usage or setup error, or the engine did not run a target (never
reported as "no crashes"), or the summary could not be written. Nothing is written under corpus/.

Scheduling (libFuzzer): JOBS worker slots (default: the number of cores) run chunks of at most 60 s.
Slot i runs target (i + k) mod T at its k-th chunk, so with fewer cores than targets every target
gets an equal share of the cores and the machine is never oversubscribed; with more cores than
targets several workers fuzz one target and share its working corpus (libFuzzer reloads it). Each
chunk starts from the working corpus plus the committed seeds, so a crash only costs its chunk.

Scheduling (AFL++): all targets run at once, one -M instance each, plus -S instances round-robin
while cores remain (AFL_NO_AFFINITY=1 lets them share cores when there are fewer cores than targets).
"""
import argparse
import glob
import math
import os
import re
import signal
import subprocess
import sys
import time

STOP = False


def on_signal(signum, frame):
    global STOP
    STOP = True


def count_files(d):
    n = 0
    for _, _, files in os.walk(d):
        n += sum(1 for f in files if not f.startswith('.') and f != 'README.txt')
    return n


def fmt_int(n):
    return f"{n:,}".replace(",", " ")


# ---- crash deduplication: reproduce each crash and key it by its report and top frames ----

FRAME_RE = re.compile(r"^\s*#(\d+) 0x[0-9a-f]+ in (\S+) (\S+)")
SKIP_FUNCS = ("__sanitizer", "__asan", "__ubsan", "__interceptor", "fuzzer::", "abort", "raise",
              "__libc", "__GI_", "_start", "LLVMFuzzerTestOneInput", "main", "libc_start")


def reproduce(cmd, path, stdin_file=False):
    env = dict(os.environ, ASAN_OPTIONS="symbolize=1:detect_leaks=1:abort_on_error=1",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    try:
        if stdin_file:
            with open(path, "rb") as f:
                p = subprocess.run(cmd, stdin=f, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   timeout=60, env=env)
        else:
            p = subprocess.run(cmd + [path], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               timeout=60, env=env)
        return p.returncode, p.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        return -1, "timeout (60 s) while reproducing"


def crash_key(rc, text):
    """Returns (kind, frames) for a sanitizer / oracle report."""
    kind = None
    for line in text.splitlines():
        m = re.search(r"SPEC breach: (.*)", line)
        if m:
            # The rule and what broke it, without the numbers that vary between inputs.
            kind = "SPEC breach: " + re.sub(r"\b\d+\b", "N", m.group(1))[:90]
            break
        m = re.search(r"ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer): ([\w-]+( on [\w-]+)?)", line)
        if m:
            kind = f"{m.group(1)}: {m.group(2)}"
            break
        m = re.search(r"runtime error: (.*)", line)
        if m:
            kind = "UBSan: " + re.sub(r"\b-?\d+\b", "N", m.group(1))[:90]
            break
        if "bug:" in line and "refused by the core" in line:
            kind = "core refused an event"
            break
    frames = []
    for line in text.splitlines():
        m = FRAME_RE.match(line)
        if not m:
            continue
        func, loc = m.group(2), m.group(3).lstrip("(")
        path = loc.split(":")[0]
        # Only the project's own frames: not libc, the sanitizer runtimes or the engine.
        if func.startswith(SKIP_FUNCS) or not os.path.isabs(path) or \
                os.path.relpath(path, os.getcwd()).startswith(".."):
            continue
        loc = os.path.relpath(path, os.getcwd()) + (":" + loc.split(":")[1] if ":" in loc else "")
        frames.append(f"{func} ({loc})")
        if len(frames) == 3:
            break
    if kind is None:
        kind = "timeout" if rc == -1 else ("no crash on replay (flaky?)" if rc == 0 else f"exit status {rc}")
    return kind, tuple(frames)


# ---- libFuzzer ----

LINE_RE = re.compile(r"^#(\d+)\s+(\w+)\s+cov: (\d+) ft: (\d+) corp: (\d+)/\S+.*?exec/s: (\d+)")


class Target:
    def __init__(self, name, binary, seeds, out, extra):
        self.name, self.binary, self.seeds, self.extra = name, binary, seeds, extra
        self.dir = os.path.join(out, name)
        self.corpus = os.path.join(self.dir, "corpus")
        self.crashes = os.path.join(self.dir, "crashes")
        self.logs = os.path.join(self.dir, "logs")
        for d in (self.corpus, self.crashes, self.logs):
            os.makedirs(d, exist_ok=True)
        self.corpus_start = count_files(self.corpus)
        self.execs_done = 0      # over finished chunks
        self.secs_done = 0.0
        self.cov = 0
        self.live = {}           # log path -> (execs, cov) of running chunks
        self.failed = []         # (log, exit status) of chunks in which the engine never ran an input

    def status(self):
        execs = self.execs_done + sum(e for e, _ in self.live.values())
        covs = [c for _, c in self.live.values()] + [self.cov]
        return execs, max(covs)


def last_status(log):
    """Latest (execs, cov) from a libFuzzer log."""
    execs = cov = 0
    try:
        with open(log, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - 65536))
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return 0, 0
    for line in reversed(lines):
        m = LINE_RE.match(line)
        if m:
            return int(m.group(1)), int(m.group(3))
    return execs, cov


def engine_ran(log):
    """Did libFuzzer get as far as running inputs (its INITED line, or a crash report)?"""
    try:
        with open(log, "rb") as f:
            text = f.read(1 << 20).decode("utf-8", "replace")
    except OSError:
        return False
    return "INITED" in text or "==ERROR" in text or "SPEC breach" in text or "Test unit written" in text


def log_tail(log, n=6):
    try:
        with open(log, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - 4096))
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError as e:
        return [f"(cannot read the log: {e})"]
    return lines[-n:] or ["(the log is empty)"]


def run_libfuzzer(args, targets):
    slots = [None] * args.jobs   # (proc, target, log, started)
    chunk_no = [0] * args.jobs
    start = time.time()
    deadline = start + args.time
    # Chunks: at most 60 s; short runs get shorter chunks so every target runs.
    chunk = max(5, min(60, int(args.time * args.jobs / (2 * len(targets))) or 5))
    last_progress = start
    nlog = 0
    while True:
        now = time.time()
        for i, s in enumerate(slots):
            if s is not None:
                proc, t, log, started, ncrash = s
                if proc.poll() is not None:
                    execs, cov = last_status(log)
                    # An engine that exits without running an input and without a crash file did not
                    # start (bad flag, unreadable corpus, full disk): the run must not read as clean.
                    if execs == 0 and not engine_ran(log) and count_files(t.crashes) == ncrash and \
                            not (STOP and proc.returncode in (0, -signal.SIGINT, -signal.SIGKILL, 130)):
                        t.failed.append((log, proc.returncode))
                    t.execs_done += execs
                    t.secs_done += time.time() - started
                    t.cov = max(t.cov, cov)
                    t.live.pop(log, None)
                    slots[i] = None
                else:
                    t.live[log] = last_status(log)
            if slots[i] is None and not STOP and now < deadline - 1:
                t = targets[(i + chunk_no[i]) % len(targets)]
                chunk_no[i] += 1
                secs = int(min(chunk, deadline - now))
                if secs < 1:
                    continue
                nlog += 1
                log = os.path.join(t.logs, f"chunk-{nlog:05d}-slot{i}.log")
                cmd = [t.binary, f"-max_total_time={secs}", "-timeout=10", "-print_final_stats=1",
                       f"-artifact_prefix={t.crashes}/"] + t.extra + [t.corpus, t.seeds]
                try:
                    with open(log, "wb") as lf:
                        proc = subprocess.Popen(cmd, stdout=lf, stderr=subprocess.STDOUT)
                except OSError as e:
                    t.failed.append((log, f"could not start: {e}"))
                    continue
                slots[i] = (proc, t, log, time.time(), count_files(t.crashes))
                t.live[log] = (0, 0)
        if all(s is None for s in slots) and (STOP or time.time() >= deadline - 1):
            break
        if STOP:
            for s in slots:
                if s is not None and s[0].poll() is None:
                    s[0].send_signal(signal.SIGINT)
            stop_at = time.time() + 10
            while time.time() < stop_at and any(s is not None and s[0].poll() is None for s in slots):
                time.sleep(0.2)
            for s in slots:
                if s is not None and s[0].poll() is None:
                    s[0].kill()
            continue
        if time.time() - last_progress >= args.progress:
            last_progress = time.time()
            elapsed = time.time() - start
            for t in targets:
                execs, cov = t.status()
                rate = execs / elapsed if elapsed > 0 else 0
                print(f"[{int(elapsed):>6}s] {t.name:<10} execs {fmt_int(execs):>14}  exec/s {rate:>9.0f}  "
                      f"cov {cov:>5}  corpus {count_files(t.corpus):>6}  crashes {count_files(t.crashes)}",
                      flush=True)
        time.sleep(0.5)
    return time.time() - start


# ---- AFL++ ----

def read_stats(path):
    d = {}
    try:
        with open(path) as f:
            for line in f:
                k, _, v = line.partition(":")
                d[k.strip()] = v.strip()
    except OSError:
        pass
    return d


def run_afl(args, targets):
    env = dict(os.environ, AFL_SKIP_CPUFREQ="1", AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES="1", AFL_NO_UI="1",
               AFL_NO_AFFINITY="1", AFL_AUTORESUME="1", AFL_IMPORT_FIRST="1")
    procs = []
    ninst = max(args.jobs, len(targets))
    for k in range(ninst):
        t = targets[k % len(targets)]
        role = ["-M", "main"] if k < len(targets) else ["-S", f"sec{k}"]
        # A persistent harness takes no arguments; tcp-upper --inetd reads its stdin.
        cmd = ["afl-fuzz", "-i", t.seeds, "-o", t.sync, *role, "-V", str(int(args.time)), "-t", "2000"] + \
            t.extra + ["--", *t.cmd]
        log = os.path.join(t.dir, f"afl-{role[1]}.log")
        try:
            with open(log, "wb") as lf:
                procs.append((subprocess.Popen(cmd, stdout=lf, stderr=subprocess.STDOUT, env=env), t, log))
        except OSError as e:
            t.failed.append((log, f"could not start: {e}"))
    start = time.time()
    last_progress = start
    while any(p.poll() is None for p, _, _ in procs):
        if STOP:
            for p, _, _ in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGINT)
            stop_at = time.time() + 10
            while time.time() < stop_at and any(p.poll() is None for p, _, _ in procs):
                time.sleep(0.2)
            for p, _, _ in procs:
                if p.poll() is None:
                    p.kill()
            break
        if time.time() - last_progress >= args.progress:
            last_progress = time.time()
            for t in targets:
                execs, rate, cov, corp, crashes = afl_totals(t)
                print(f"[{int(time.time() - start):>6}s] {t.name:<16} execs {fmt_int(execs):>14}  exec/s {rate:>9.0f}  "
                      f"cov {cov:>7}  corpus {corp:>6}  crashes {crashes}", flush=True)
        time.sleep(0.5)
    for p, t, log in procs:
        if p.returncode not in (0, None, -2, 130) and not os.path.exists(os.path.join(t.sync, "main", "fuzzer_stats")):
            t.failed.append((log, p.returncode))
    return time.time() - start


def afl_totals(t):
    execs = rate = corp = crashes = 0
    cov = "0%"
    for st in glob.glob(os.path.join(t.sync, "*", "fuzzer_stats")):
        d = read_stats(st)
        execs += int(d.get("execs_done", 0))
        rate += float(d.get("execs_per_sec", 0))
        corp = max(corp, int(d.get("corpus_count", 0)))
        crashes += int(d.get("saved_crashes", d.get("unique_crashes", 0)))
        if os.path.basename(os.path.dirname(st)) == "main":
            cov = d.get("bitmap_cvg", cov)
    return execs, rate, cov, corp, crashes


# ---- summary ----

def summarize(args, targets, elapsed, engine):
    lines = [f"# Fuzzing summary ({engine})", "",
             f"Ran {elapsed:.0f} s{f' (stopped by Ctrl-C or SIGTERM; {args.time:.0f} s were asked)' if STOP else ''} "
             f"on {args.jobs} worker slot(s), {time.strftime('%Y-%m-%d %H:%M:%S %Z')}. "
             "exec/s is per busy worker (libFuzzer) or summed over instances (AFL++); coverage is libFuzzer's "
             "edge count or AFL++'s map density.", "",
             "| target | execs | exec/s | coverage | corpus (new) | crashes (unique) |",
             "|---|---:|---:|---:|---:|---:|"]
    try:
        st = os.statvfs(args.out)
        free = st.f_bavail * st.f_frsize
    except OSError:
        free = None
    disk_full = free is not None and free < (1 << 20)
    buckets = {}
    total_crash_files = 0
    idle = []   # targets that ran no input at all
    for t in targets:
        if engine == "libFuzzer":
            execs, cov = t.status()
            files = [f for f in sorted(glob.glob(os.path.join(t.crashes, "*"))) if os.path.isfile(f)]
            corp = count_files(t.corpus)
            new = corp - t.corpus_start
            rate = execs / t.secs_done if t.secs_done > 0 else 0
            cov_s = f"{cov} edges"
            repro = t.binary
        else:
            execs, rate, cov_s, corp, _ = afl_totals(t)
            new = corp - count_files(t.seeds)
            cov_s += " of the map"
            files = sorted(f for f in glob.glob(os.path.join(t.sync, "*", "crashes", "id:*")))
            repro = t.repro
        total_crash_files += len(files)
        if execs == 0 and not files:
            idle.append(t.name)
        mine = set()
        for f in files:
            if engine == "libFuzzer":
                rc, text = reproduce([t.binary], f)
                cmd = f"{t.binary} {f}"
            else:
                rc, text = reproduce(t.repro_cmd, f, stdin_file=t.repro_stdin)
                cmd = " ".join(t.repro_cmd) + (f" < '{f}'" if t.repro_stdin else f" '{f}'")
            key = (t.name,) + crash_key(rc, text)
            b = buckets.setdefault(key, {"count": 0, "cmd": cmd, "file": f})
            b["count"] += 1
            mine.add(key)
        lines.append(f"| {t.name} | {fmt_int(execs)} | {rate:.0f} | {cov_s} | {corp} ({new:+d}) | "
                     f"{len(files)} ({len(mine)}) |")
        _ = repro
    lines.append("")
    if buckets:
        lines.append(f"## Crashes: {len(buckets)} unique (by report and top 3 frames)")
        lines.append("")
        for (name, kind, frames), b in sorted(buckets.items()):
            lines.append(f"- **{name}**: {kind} -- {b['count']} input(s)")
            lines.append(f"  - stack: {' <- '.join(frames) if frames else '(none below the target: the report is the key)'}")
            lines.append(f"  - reproduce: `{b['cmd']}`")
            lines.append(f"  - keep it: copy {b['file']} into corpus/{name}/regressions/ (make check replays it)")
    elif idle or any(t.failed for t in targets) or disk_full:
        lines.append("## Crashes: none found, but this run did NOT fuzz everything (see below): not a clean result")
    else:
        lines.append("## Crashes: none")
    lines.append("")
    broken = [t for t in targets if t.failed]
    if disk_full:
        lines.append(f"## Disk full: {args.out} has {free // 1024} KiB free; corpus entries, logs and crash "
                     "files may be missing (free some space, or set FUZZ_OUT elsewhere)")
        lines.append("")
    if broken or idle:
        lines.append("## Engine errors")
        lines.append("")
        for name in idle:
            lines.append(f"- **{name}**: no input was executed in the whole run")
        for t in broken:
            lines.append(f"- **{t.name}**: the engine failed to run {len(t.failed)} time(s); the last one:")
            log, rc = t.failed[-1]
            lines.append(f"  - {'exit status ' + str(rc) if isinstance(rc, int) else rc}, log {log}:")
            lines.extend(f"    > {x}" for x in log_tail(log))
        lines.append("")
    text = "\n".join(lines)
    path = os.path.join(args.out, "SUMMARY.md")
    print("\n" + text, flush=True)
    rc = 1 if total_crash_files else 0
    try:
        with open(path, "w") as f:
            f.write(text)
        print(f"(written to {path})")
    except OSError as e:
        print(f"run.py: --out {args.out}: cannot write the summary {path}: {e}", file=sys.stderr)
        rc = 2
    if broken or idle:
        print(f"run.py: the engine did not run for {', '.join(sorted(set(idle) | {t.name for t in broken}))}; "
              "see 'Engine errors' above", file=sys.stderr)
        if rc == 0:
            rc = 2
    if disk_full and rc == 0:
        print(f"run.py: --out {args.out}: the disk is full; see the summary", file=sys.stderr)
        rc = 2
    return rc


def main():
    ap = argparse.ArgumentParser(description="Fuzz every target for a while, then summarize (make fuzz).")
    ap.add_argument("--engine", choices=("libfuzzer", "afl"), default="libfuzzer")
    ap.add_argument("--time", type=float, default=28800, help="seconds to fuzz (default 28800, a night)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker slots (default: cores)")
    ap.add_argument("--progress", type=float, default=60, help="seconds between progress lines (max 60)")
    ap.add_argument("--out", default="out/fuzz", help="working directory (default out/fuzz)")
    ap.add_argument("--bindir", default="build/fuzz-libfuzzer", help="where the target binaries are")
    ap.add_argument("--san-tcp-upper", default="build/san/bin/tcp-upper",
                    help="sanitizer tcp-upper used to reproduce AFL++ crashes of the whole binary")
    ap.add_argument("targets", nargs="+", help="target names (fuzz_tcp ...; tcp-upper for AFL++)")
    args = ap.parse_args()
    # FUZZ_TIME=abc is argparse's error; nan, inf and runs too short to start one chunk are ours
    if not math.isfinite(args.time) or args.time < 2:
        ap.error(f"--time {args.time:g}: expected a number of seconds, at least 2 (make fuzz FUZZ_TIME=...)")
    if args.jobs < 1 or args.jobs > 1024:
        ap.error(f"--jobs {args.jobs}: expected a number of worker slots from 1 to 1024")
    if not math.isfinite(args.progress) or args.progress <= 0:
        ap.error(f"--progress {args.progress:g}: expected a positive number of seconds")
    args.progress = min(args.progress, 60, max(5, args.time / 6))
    if os.path.abspath(args.out).startswith(os.path.abspath("corpus")):
        ap.error("--out must not be under corpus/")
    try:
        os.makedirs(args.out, exist_ok=True)
        probe = os.path.join(args.out, ".run.py-write-test")
        with open(probe, "w") as f:
            f.write("x")
        os.unlink(probe)
    except OSError as e:
        print(f"run.py: --out {args.out} (FUZZ_OUT): cannot write there: {e.strerror or e}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    targets = []
    for name in args.targets:
        binary = os.path.join(args.bindir, name)
        if not os.access(binary, os.X_OK):
            print(f"run.py: {binary}: not built (run make fuzz-build / fuzz-afl-build)", file=sys.stderr)
            return 2
        seeds = os.path.join("corpus", "tcp-upper-inetd" if name == "tcp-upper" else name)
        if not os.path.isdir(seeds):
            print(f"run.py: {seeds}: seed corpus missing", file=sys.stderr)
            return 2
        extra = []
        dictf = os.path.join("harness", "fuzz", name + ".dict")
        if os.path.exists(dictf):
            extra += ["-x", dictf] if args.engine == "afl" else [f"-dict={dictf}"]
        optf = os.path.join("harness", "fuzz", name + ".options")
        if os.path.exists(optf) and args.engine == "libfuzzer":
            with open(optf) as f:
                for line in f:
                    m = re.match(r"\s*max_len\s*=\s*(\d+)", line)
                    if m:
                        extra.append(f"-max_len={m.group(1)}")
        try:
            t = Target(name, binary, seeds, args.out, extra)
        except OSError as e:
            print(f"run.py: --out {args.out} (FUZZ_OUT): {e}", file=sys.stderr)
            return 2
        if args.engine == "afl":
            t.sync = os.path.join(t.dir, "sync")
            if name == "tcp-upper":
                t.cmd = [os.path.abspath(binary), "--inetd"]
                t.repro_cmd, t.repro_stdin = [args.san_tcp_upper, "--inetd"], True
            else:
                t.cmd = [os.path.abspath(binary)]
                lf = os.path.join("build", "fuzz-libfuzzer", name)
                t.repro_cmd, t.repro_stdin = [lf], False
            t.repro = " ".join(t.repro_cmd)
        targets.append(t)

    mode = "libFuzzer" if args.engine == "libfuzzer" else "AFL++"
    print(f"run.py: {mode}, {len(targets)} target(s) {' '.join(args.targets)}, {args.time:.0f} s, "
          f"{args.jobs} slot(s); working corpus and crashes under {args.out}/ (Ctrl-C stops cleanly)", flush=True)
    elapsed = run_libfuzzer(args, targets) if args.engine == "libfuzzer" else run_afl(args, targets)
    return summarize(args, targets, elapsed, mode)


if __name__ == "__main__":
    sys.exit(main())

"""engines.py - starting fuzzing engines and reading their figures, for fuzz_run.py (make fuzz) and
fuzz_bench.py (make bench-fuzz). Standard library only; nothing prints or exits.

start() and run() give each child its own process group (run(): unless told not to), so a stop reaches the
engine and whatever it started (AFL++'s fork server), and a terminal's Ctrl-C reaches only the script,
which then stops its engines in order."""
import collections, contextlib, os, re, signal, subprocess, sys, tempfile, time

# The conventions every capslock script shares (version, durations, output directories), one folder up.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from conventions import duration, getopt_error, make_out_dir, version  # noqa: E402,F401 (engines.NAME)

# No CPU-frequency or core-pattern checks, no terminal UI, no CPU binding (instances share cores).
AFL_ENV = {"AFL_SKIP_CPUFREQ": "1", "AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES": "1", "AFL_NO_UI": "1",
           "AFL_NO_AFFINITY": "1"}

# "#N KIND cov: C ft: F corp: E/SIZE ... exec/s: R", one line of libFuzzer's progress ("cov: C" is absent
# when the binary has no coverage instrumentation of its own, only extra counters: the fuzz-impl engines).
_STATUS = re.compile(r"#(\d+)\s+\w+\s+(?:cov: (\d+) )?ft: (\d+) corp: \d+/\S.*exec/s: \d", re.ASCII)
# "#N 0x... in FUNC LOCATION", a sanitizer's stack frame, and the functions that are not the project's.
_FRAME = re.compile(r"#\d+\s*0x[0-9a-f]+\s*in\s*(\S+)\s*(\S+)")
_NOT_OWN = ("__sanitizer", "__asan", "__ubsan", "__interceptor", "fuzzer::", "abort", "raise", "__libc",
            "__GI_", "_start", "LLVMFuzzerTestOneInput", "main", "libc_start")
# libFuzzer got as far as running inputs: its INITED line, or a crash report.
_RAN = ("INITED", "==ERROR", "SPEC breach", "Test unit written")

def status_text(returncode):
    """How a child ended, from a returncode as run() gives it: "exit status 1", "killed by signal 9"."""
    return ("timed out" if returncode is None else f"killed by signal {-returncode}" if returncode < 0
            else f"exit status {returncode}")

def read_text(path, size, tail=False):
    """The first (tail: the last) size bytes of path as text, "" when it cannot be read."""
    try:
        with open(path, "rb") as f:
            if tail:
                f.seek(max(f.seek(0, os.SEEK_END) - size, 0))
            return f.read(size).decode(errors="replace")
    except OSError:
        return ""

def start(argv, log):
    """Popen of argv in a group of its own, stdin /dev/null, output into the file log; may raise OSError."""
    with open(log, "wb") as f:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                                process_group=0)

def _signal_group(proc, sig):
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)

def stop(procs, grace=10.0):
    """SIGINT to the group of every running proc, SIGKILL after grace seconds to those left; returns those."""
    for p in procs:
        if p.poll() is None:
            _signal_group(p, signal.SIGINT)
    until = time.monotonic() + grace
    while any(p.poll() is None for p in procs) and time.monotonic() < until:
        time.sleep(0.2)
    killed = [p for p in procs if p.poll() is None]
    for p in killed:
        _signal_group(p, signal.SIGKILL)
    return killed

def run(argv, timeout, stdin_path=None, capture="stderr", env=None, group=True):
    """Runs argv (in a process group of its own if group), stdin from stdin_path or /dev/null, SIGKILL after
    timeout seconds. Returns (returncode: negative for a signal, None for the timeout; the last 4 MiB of its
    capture: "stderr", "stdout" or "both", kept in a file, which a grandchild cannot hold open as a pipe)."""
    null = subprocess.DEVNULL
    with open(stdin_path or os.devnull, "rb") as stdin, tempfile.TemporaryFile() as out:
        p = subprocess.Popen(argv, stdin=stdin, stdout=null if capture == "stderr" else out,
                             stderr=null if capture == "stdout" else out, env=env,
                             process_group=0 if group else None)
        try:
            rc = p.wait(timeout)
        except subprocess.TimeoutExpired:
            rc = None
            if group:
                _signal_group(p, signal.SIGKILL)
            p.kill()
            p.wait()
        out.seek(max(out.seek(0, os.SEEK_END) - (4 << 20), 0))
        return rc, out.read().decode(errors="replace")

def libfuzzer_final_stats(text):
    """The "stat::NAME: VALUE" lines of -print_final_stats=1 (also after a crash or Ctrl-C) as {NAME: int}."""
    return {k: int(v) for k, v in re.findall(r"^stat::(\w+):\s*(\d+)", text, re.M)}

def libfuzzer_figures(text):
    """A libFuzzer log's (execs, coverage): execs from its final stats when it has ended, else from its
    last status line; coverage (cov, in edges; ft, features, when it has no cov) from its last status
    line. (0, 0) when it has neither."""
    last = [m for m in map(_STATUS.match, text.splitlines()) if m][-1:]
    execs, cov = (int(last[0][1]), int(last[0][2] or last[0][3])) if last else (0, 0)
    return libfuzzer_final_stats(text).get("number_of_executed_units", execs), cov

def libfuzzer_ran(text):
    """Whether a libFuzzer log shows it got as far as running inputs (INITED, or a crash report)."""
    return any(mark in text for mark in _RAN)

# An AFL++ instance's fuzzer_stats: execs_done, run_time (s), edges_found, corpus_count, fuzzer_pid (-1
# when absent), bitmap_cvg ("12.34%", "" when absent), and whether execs_done was there at all.
AflStats = collections.namedtuple("AflStats", "execs run_time edges corpus pid coverage has_execs")

def _number(text):
    m = re.match(r"\d+(\.\d*)?", text)
    return float(m[0]) if m else 0.0

def afl_stats(path):
    """An AFL++ fuzzer_stats file ("key : value" lines) as AflStats, None when it cannot be read."""
    try:
        with open(path, errors="replace") as f:
            fields = dict(re.findall(r"^[ \t]*([^:\s]+)[ \t]*:[ \t]*(\S+)", f.read(), re.M))
    except OSError:
        return None
    n = [_number(fields.get(k, "")) for k in ("execs_done", "run_time", "edges_found", "corpus_count")]
    pid = int(_number(fields["fuzzer_pid"])) if "fuzzer_pid" in fields else -1
    return AflStats(int(n[0]), n[1], int(n[2]), int(n[3]), pid, fields.get("bitmap_cvg", ""),
                    "execs_done" in fields)

def afl_plot_last(path):
    """An AFL++ plot_data's last complete line as (relative_time, total_execs, edges_found, corpus_count),
    found by the header's names (their order changed between AFL++ versions); None before there is one."""
    header = read_text(path, 1024)
    if not header.startswith("# ") or "\n" not in header:
        return None
    names = [w for w in re.split(r"[, ]+", header[2:header.index("\n")]) if w]
    tail = read_text(path, 4096, tail=True)
    tail = tail[:tail.rfind("\n") + 1]  # the writer may be in the middle of the next line
    line = tail[:-1].rsplit("\n", 1)[-1]
    cells = [c for c in line.split(",") if c] if len(tail) > 1 and not line.startswith("#") else []
    want = ("relative_time", "total_execs", "edges_found", "corpus_count")
    if not all(w in names and names.index(w) < len(cells) for w in want):
        return None
    t, execs, edges, corpus = (_number(cells[names.index(w)].strip()) for w in want)
    return t, int(execs), int(edges), int(corpus)

def _numbers_to_n(text, minus):
    """text cut to 90 characters, every whole number (with minus: and a '-' glued to it) as N."""
    return re.sub(r"(?:(?<=\w)-)?" * minus + r"(?<!\w)\d+(?!\w)", "N", text, flags=re.ASCII)[:90]

def _report_kind(line):
    if m := re.search(r"SPEC breach: (.*)", line):
        return "SPEC breach: " + _numbers_to_n(m[1], False)
    if m := re.search(r"ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer): ([\w-]+(?: on [\w-]+)?)", line,
                      re.ASCII):
        return f"{m[1]}: {m[2]}"
    if m := re.search(r"runtime error: (.*)", line):
        return "UBSan: " + _numbers_to_n(m[1], True)
    return "core refused an event" if "bug:" in line and "refused by the core" in line else None

def _own_frame(line, root):
    m = _FRAME.match(line.lstrip())
    path = m and m[2].removeprefix("(")
    if not m or m[1].startswith(_NOT_OWN) or not path.startswith(root + "/"):
        return None
    path, colon, rest = path[len(root) + 1:].partition(":")
    return f"{m[1]} ({path}:{rest.split(':')[0]})" if colon else f"{m[1]} ({path})"

def crash_report(text, root):
    """What a crash's report (its stderr on a run again) says broke: (kind, the first line's that names one,
    such as "UBSan: ..." with the numbers as N, else None; frames, up to 3 "FUNC (path/file.c:LINE)" of the
    project's files, those under root, an absolute directory)."""
    kind, frames = None, []
    for line in text.splitlines():
        kind = kind or _report_kind(line)
        frame = len(frames) < 3 and _own_frame(line, root)
        frames += [frame] if frame else []
    return kind, frames

def count_files(path):
    """The files under path (recursively), but for .* and README.txt; 0 when path cannot be read."""
    return sum(not f.startswith(".") and f != "README.txt" for _, _, files in os.walk(path) for f in files)

def fmt_count(n):
    """n with a space between thousands: "1 234 567"."""
    return f"{n:,}".replace(",", " ")

"""engines.py - starting fuzzing engines and reading their figures, for the fuzz orchestration scripts
(fuzz_run.py behind make fuzz; importable by any other script here). Standard library only; nothing
prints or exits.

Processes: start() runs an engine into a log, stop() ends a set of them, run() runs a command to its end
under a time bound with its output captured. Each child gets its own process group, so a stop reaches the
engine and whatever it started (AFL++'s fork server), and a terminal's Ctrl-C reaches only the script,
which then stops its engines in order.

libFuzzer: libfuzzer_figures() reads the execs and coverage of a log (its -print_final_stats=1 lines when
the run has ended, otherwise its last status line), libfuzzer_final_stats() all of those stat:: lines and
libfuzzer_ran() whether it got as far as running inputs. crash_report() keys a crash by what its
sanitizer or SPEC check reported and the top frames of the project's own code.

AFL++: AFL_ENV is the environment every afl-fuzz of ours gets, afl_stats() reads an instance's
fuzzer_stats, afl_plot_last() the last line of its plot_data.
"""
import os
import re
import signal
import subprocess
import time
from typing import NamedTuple

# No CPU-frequency or core-pattern checks, no terminal UI, no CPU binding (instances share cores).
AFL_ENV = {"AFL_SKIP_CPUFREQ": "1", "AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES": "1", "AFL_NO_UI": "1",
           "AFL_NO_AFFINITY": "1"}

# "#N KIND cov: C ft: F corp: E/SIZE ... exec/s: R", one line of libFuzzer's progress.
_STATUS = re.compile(r"#(\d+)\s+\w+\s+cov: (\d+) ft: \d+ corp: \d+/\S.*exec/s: \d", re.ASCII)
# "#N 0x... in FUNC LOCATION", a sanitizer's stack frame, and the functions that are not the project's.
_FRAME = re.compile(r"#\d+\s*0x[0-9a-f]+\s*in\s*(\S+)\s*(\S+)")
_NOT_OWN = ("__sanitizer", "__asan", "__ubsan", "__interceptor", "fuzzer::", "abort", "raise", "__libc",
            "__GI_", "_start", "LLVMFuzzerTestOneInput", "main", "libc_start")
# libFuzzer got as far as running inputs: its INITED line, or a crash report.
_RAN = ("INITED", "==ERROR", "SPEC breach", "Test unit written")


def status_text(returncode):
    """How a child ended, from Popen's returncode: "exit status 1", "killed by signal 9"."""
    return f"killed by signal {-returncode}" if returncode < 0 else f"exit status {returncode}"


def read_head(path, size):
    """The first size bytes of path as text (undecodable bytes replaced), "" when it cannot be read."""
    try:
        with open(path, "rb") as f:
            return f.read(size).decode(errors="replace")
    except OSError:
        return ""


def read_tail(path, size):
    """The last size bytes of path as text, "" when it cannot be read."""
    try:
        with open(path, "rb") as f:
            f.seek(max(f.seek(0, os.SEEK_END) - size, 0))
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def start(argv, log):
    """Starts argv (argv[0] looked up in PATH when it has no slash) in its own process group, stdin from
    /dev/null, stdout and stderr into the file log (truncated). Returns the Popen. Raises OSError (its
    filename: the log or argv[0]) when the log cannot be written or argv[0] cannot be started."""
    with open(log, "wb") as f:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                                process_group=0)


def _signal_group(proc, sig):
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def stop(procs, grace=10.0):
    """SIGINT to the process group of every proc still running, grace seconds for them to end, then
    SIGKILL to the groups of those that did not. Returns the list of procs that were killed."""
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


def run(argv, timeout, stdin_path=None, capture="stderr", limit=4 << 20):
    """Runs argv in its own process group, stdin from stdin_path (None: /dev/null), for at most timeout
    seconds (then the group is killed). capture: which of "stderr", "stdout" or "both" is kept (its last
    limit bytes, as text); the rest goes to /dev/null. Returns (returncode, text): returncode as Popen's
    (negative: the signal that ended it), None when the time ran out. Raises OSError when argv[0] or
    stdin_path cannot be opened."""
    pipe, null = subprocess.PIPE, subprocess.DEVNULL
    streams = {"stderr": (null, pipe), "stdout": (pipe, null), "both": (pipe, subprocess.STDOUT)}[capture]
    with open(stdin_path or os.devnull, "rb") as stdin:
        p = subprocess.Popen(argv, stdin=stdin, stdout=streams[0], stderr=streams[1], process_group=0)
    timed_out = False
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = p.poll() is None  # once it has ended, only a grandchild holds the pipe open
        _signal_group(p, signal.SIGKILL)
        out, err = p.communicate()
    return None if timed_out else p.returncode, (out or err or b"")[-limit:].decode(errors="replace")


def libfuzzer_final_stats(text):
    """The "stat::NAME: VALUE" lines libFuzzer prints at its end with -print_final_stats=1 (also after a
    crash or Ctrl-C), as {NAME: int}; {} when there are none (the run has not ended)."""
    return {k: int(v) for k, v in re.findall(r"^stat::(\w+):\s*(\d+)", text, re.M)}


def libfuzzer_figures(text):
    """A libFuzzer log's (execs, coverage): execs from its final stats when it has ended, else from its
    last status line; coverage (cov, in edges) from its last status line. (0, 0) when it has neither."""
    execs = cov = 0
    for line in text.splitlines():
        m = _STATUS.match(line)
        if m:
            execs, cov = int(m[1]), int(m[2])
    return libfuzzer_final_stats(text).get("number_of_executed_units", execs), cov


def libfuzzer_ran(text):
    """Whether a libFuzzer log shows it got as far as running inputs (INITED, or a crash report)."""
    return any(mark in text for mark in _RAN)


class AflStats(NamedTuple):
    """One AFL++ instance's figures from its fuzzer_stats file."""
    execs: int        # execs_done
    rate: float       # execs_per_sec
    corpus: int       # corpus_count
    crashes: int      # saved_crashes (unique_crashes in older versions)
    run_time: float   # run_time, seconds
    edges: int        # edges_found
    pid: int          # fuzzer_pid: the afl-fuzz process that wrote it (-1 when absent)
    coverage: str     # bitmap_cvg, for example "12.34%" ("" when absent)
    has_execs: bool   # execs_done was present


def _number(text):
    m = re.match(r"\d+(\.\d*)?", text or "")
    return float(m[0]) if m else 0.0


def afl_stats(path):
    """Reads path, an AFL++ fuzzer_stats file ("key : value" lines). Returns AflStats, or None when the
    file cannot be read."""
    try:
        with open(path, errors="replace") as f:
            fields = dict(re.findall(r"^\s*([^:\s]+)\s*:\s*(\S+)", f.read(), re.M))
    except OSError:
        return None

    def n(key):
        return _number(fields.get(key))

    crashes = "saved_crashes" if "saved_crashes" in fields else "unique_crashes"
    return AflStats(int(n("execs_done")), n("execs_per_sec"), int(n("corpus_count")), int(n(crashes)),
                    n("run_time"), int(n("edges_found")), int(n("fuzzer_pid")) if "fuzzer_pid" in fields
                    else -1, fields.get("bitmap_cvg", ""), "execs_done" in fields)


def afl_plot_last(path):
    """The last complete line of an AFL++ plot_data file as (relative_time, total_execs, edges_found,
    corpus_count), its columns found by the names in its header (their order changed between AFL++
    versions); None when there is no such line yet."""
    header = read_head(path, 1024)
    if not header.startswith("# ") or "\n" not in header:
        return None
    names = [w for w in re.split(r"[, ]+", header[2:header.index("\n")]) if w]
    tail = read_tail(path, 4096)
    tail = tail[:tail.rfind("\n") + 1]  # the writer may be in the middle of the next line
    line = tail[:-1].rsplit("\n", 1)[-1]
    cells = [c for c in line.split(",") if c] if len(tail) > 1 and not line.startswith("#") else []
    want = ("relative_time", "total_execs", "edges_found", "corpus_count")
    if not all(w in names and names.index(w) < len(cells) for w in want):
        return None
    t, execs, edges, corpus = (_number(cells[names.index(w)].strip()) for w in want)
    return t, int(execs), int(edges), int(corpus)


def _numbers_to_n(text, minus):
    """text with every whole number (and, with minus, a '-' glued to it after a word) replaced by N, cut
    to 90 characters: the rule and what broke it, without the numbers that vary between inputs."""
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
    """What a crash's report (a target run again on the input, its stderr) says broke, as (kind, frames):
    kind from its first line that names one ("SPEC breach: ...", "AddressSanitizer: heap-buffer-overflow
    on address", "UBSan: ...", with the numbers that vary between inputs as N; None when no line does);
    frames, up to 3 of the project's own stack frames "FUNC (path/file.c:LINE)", the project's files being
    those under root (an absolute directory), not libc's, the sanitizers' or the engine's."""
    kind, frames = None, []
    for line in text.splitlines():
        kind = kind or _report_kind(line)
        frame = len(frames) < 3 and _own_frame(line, root)
        frames += [frame] if frame else []
    return kind, frames


def count_files(path):
    """The files under path (recursively) whose names do not start with '.' and are not README.txt; 0
    when path cannot be read."""
    try:
        entries = list(os.scandir(path))
    except OSError:
        return 0
    return sum(count_files(e.path) if e.is_dir(follow_symlinks=False)
               else not e.name.startswith(".") and e.name != "README.txt" for e in entries)


def fmt_count(n):
    """n with a space between thousands: "1 234 567"."""
    return f"{n:,}".replace(",", " ")

#!/usr/bin/env python3
"""bench.py - 'make bench': every figure for the reference servers, side by side in the same run with the
no-transform echo server (a) and the Python tutorial servers (b, b'), rounds interleaved, medians compared;
plus the fuzz, replay and conform figures where their targets exist. Each measurement is one run of the
load generator (bench/loadgen) against a fresh server. Writes BENCH.md, bench.json and ratios.csv, and
draws ratios.csv as a bar chart (ratios.svg) through draw-chart."""
import argparse, json, os, re, resource, signal, subprocess, sys, threading, time

LOG_MAX = 1 << 20  # a server's log keeps its first MiB: the tutorial's prints every message
START_S, STOP_S = 10, 2  # bounds on a server's "listening on" line, and on its exit after SIGTERM
REF, ECHO, PY, TUT = range(4)
KEYS = ["ref", "echo", "python", "python_tutorial"]
LABELS = ["reference", "echo (a)", "python corrected (b)", "python tutorial (b')"]
UNITS = {"stream": "MB/s", "pingpong": "rt/s", "udp": "replies/s", "accept": "conn/s", "idle": "B/conn"}


class Fig:
    def __init__(s, key, label, short, mode, conns, window, size, bar_echo, bar_py, once=False):
        s.key, s.label, s.short, s.mode, s.conns, s.window, s.size = key, label, short, mode, conns, window, size
        s.udp, s.bar_echo, s.bar_py, s.once = mode == "udp", bar_echo, bar_py, once  # once: RSS, not noisy


FIGURES = [
    Fig("stream1", "TCP stream, 1 connection", "stream 1 conn", "stream", 1, 0, 64, 0.9, 5),
    Fig("stream4", "TCP stream, 4 connections", "stream 4 conns", "stream", 4, 0, 64, 0.9, 5),
    Fig("pingpong", "TCP ping-pong, 64 B, 8 connections", "ping-pong 64 B", "pingpong", 8, 0, 64, 0.9, 3),
    Fig("udp64", "UDP, 64 B datagrams, window 64", "UDP 64 B", "udp", 1, 64, 64, 0.9, 20),
    Fig("udp1400", "UDP, 1400 B datagrams, window 64", "UDP 1400 B", "udp", 1, 64, 1400, 0.9, 20),
    Fig("accept", "TCP connections/s (connect, 8 B round trip, close; 32 at a time)", "connections/s",
        "accept", 32, 0, 8, 0, 0),
    Fig("idle", "Server RSS per idle connection, 10,000 connections", "idle RSS per conn", "idle", 10000, 0,
        8, 0, 0, once=True),
]
LIVE = set()  # the process groups started and not yet stopped


def say(*a, end="\n"):
    print(*a, file=sys.stderr, end=end, flush=True)


def die(msg):
    say("bench: " + msg)
    sys.exit(2)


def describe(rc):
    return "exited with status %d" % rc if rc >= 0 else "killed by signal %d (%s)" % (
        -rc, signal.Signals(-rc).name)


class Proc:
    """A child in its own process group, stdin /dev/null, its output to a log cut after LOG_MAX bytes
    (the rest read and dropped, so that its printing still costs it what a terminal would)."""

    def __init__(s, argv, log, cpus=None):
        s.cmd, s.head, s.log = " ".join(argv), b"", open(log, "wb", buffering=0)
        try:
            s.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, process_group=0)
        except OSError as e:
            s.log.close()
            raise RuntimeError("cannot run '%s': %s" % (argv[0], e.strerror))
        LIVE.add(s.p.pid)
        if cpus:
            try:
                os.sched_setaffinity(s.p.pid, cpus)
            except OSError as e:
                s.log.write(b"bench: sched_setaffinity: %s\n" % e.strerror.encode())
        s.drain = threading.Thread(target=s._drain, daemon=True)
        s.drain.start()

    def _drain(s):
        n = 0
        while chunk := s.p.stdout.read1(65536):
            s.head = s.head + chunk[:16384 - len(s.head)] if len(s.head) < 16384 else s.head
            if n < LOG_MAX:
                s.log.write(chunk[:LOG_MAX - n])
                if n + len(chunk) > LOG_MAX:
                    s.log.write(b"\n[log cut here: more than %d bytes]\n" % LOG_MAX)
            n += len(chunk)
        s.log.close()

    def last_line(s):
        lines = [ln for ln in s.head.decode("utf-8", "replace").splitlines() if ln.strip()]
        return "its last output: %r" % lines[-1][:200] if lines else "it printed nothing"

    def listening(s, proto):
        """Waits for the first whole 'listening on PROTO ADDR:PORT' line (IPv4 preferred); returns ADDR:PORT."""
        deadline = time.monotonic() + START_S
        while True:
            found = re.findall(rb"listening on %s ([0-9a-fA-F.:\[\]]+)[ \t\r\n]" % proto.encode(), s.head)
            if found:
                return min(found, key=lambda a: a.startswith(b"[")).decode()
            if s.p.poll() is not None:
                s.drain.join(1)
                raise RuntimeError("'%s' %s before it was listening; %s" % (s.cmd, describe(s.p.returncode),
                                                                            s.last_line()))
            if time.monotonic() > deadline:
                raise RuntimeError("'%s' did not start listening within %d ms (no 'listening on %s ADDR:PORT' "
                                   "line); %s" % (s.cmd, START_S * 1000, proto, s.last_line()))
            time.sleep(0.01)

    def stop(s, sig=signal.SIGTERM, wait=STOP_S):
        """Signals the group, waits, then SIGKILL; returns how the server ended if it had before."""
        before = s.p.poll()
        for sig_now in (sig, signal.SIGKILL):
            try:
                os.killpg(s.p.pid, sig_now)
            except ProcessLookupError:
                break
            try:
                s.p.wait(wait)
            except subprocess.TimeoutExpired:
                pass
            wait = None
        LIVE.discard(s.p.pid)
        s.drain.join(2)
        return None if before is None else describe(before)


def on_stop_signal(sig, frame):
    """A stop signal to bench stops the servers too: the terminal's Ctrl-C does not reach their groups."""
    for pid in list(LIVE):
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    signal.signal(sig, signal.SIG_DFL)
    os.kill(os.getpid(), sig)


def run_cmd(cmd, log, limit):
    """Runs sh -c CMD, output to log, at most limit seconds. Returns (status, wall): 124 on time-out,
    128 + N after signal N."""
    t0 = time.monotonic()
    p = Proc(["/bin/sh", "-c", cmd], log)
    try:
        rc = p.p.wait(limit)
    except subprocess.TimeoutExpired:
        p.stop(signal.SIGKILL)
        return 124, 0
    p.stop()
    return (rc if rc >= 0 else 128 - rc), time.monotonic() - t0


class Cell:
    def __init__(s):
        s.v, s.r, s.round, s.status, s.msg, s.median, s.mi = [], [], [], "ok", "", 0, 0


def measure(o, f, s, argv, run, cell):
    log = "%s/logs/%s-%s-%d.log" % (o.outdir, f.key, KEYS[s], run + 1)
    rc, err = 2, ""
    try:
        srv = Proc(argv, log, {1} if o.pin else None)
    except RuntimeError as e:
        err = str(e)
    else:
        try:
            addr = srv.listening("udp" if f.udp else "tcp")
            lg = [o.loadgen, "-m", f.mode, "-c", str(f.conns), "-s", str(f.size), "-T", repr(o.seconds), "-p",
                  str(srv.p.pid)] + ["-e"] * (s == ECHO) + ["-a"] * (s == TUT) + ["-w", str(f.window)] * f.udp
            p = subprocess.run(lg + [addr], capture_output=True, text=True, timeout=o.seconds + 90)
            rc, err = p.returncode, p.stderr.strip().removeprefix("loadgen: %s: " % addr)
            if rc not in (0, 1, 2):
                rc, err = 2, "loadgen %s: %s" % (describe(p.returncode), err)
        except RuntimeError as e:
            err = str(e)
        except subprocess.TimeoutExpired:
            err = "loadgen did not finish within %.0f s" % (o.seconds + 90)
        ended = srv.stop()
        if ended and rc == 0:
            rc, err = 2, "the server %s during the run; see %s" % (ended, log)
    if rc != 0:
        if cell.status == "ok":
            cell.status, cell.msg = "wrong" if rc == 1 else "error", err
        say("  %-9s %-10s run %d: %s: %s" % (f.key, KEYS[s], run + 1, "WRONG REPLY" if rc == 1 else "error", err))
        return
    r = json.loads(p.stdout)
    cell.r.append(r), cell.round.append(run), cell.v.append(r["value"])
    line = "  %-9s %-10s run %d: %.3f %s" % (f.key, KEYS[s], run + 1, r["value"], r["unit"])
    if f.mode == "pingpong":
        line += " (p50 %.0f us, p99 %.0f us)" % (r["p50_us"], r["p99_us"])
    if f.mode == "udp":
        line += " (%d sent, %d lost)" % (r["sent"], r["lost"])
    if f.mode == "idle":
        line += " (VmRSS %d -> %d KiB, %d connections held)" % (r["rss_before_kb"], r["rss_after_kb"], r["ops"])
    if r["failed"]:
        line += " (%d attempts failed)" % r["failed"]
    if r["server_cpu_s"] >= 0 and f.mode != "idle" and r["seconds"] > 0:
        line += " [CPU: server %.0f%%, loadgen %.0f%%]" % (100 * r["server_cpu_s"] / r["seconds"],
                                                           100 * r["client_cpu_s"] / r["seconds"])
    say(line)


def median(v):
    v = sorted(v)
    n = len(v)
    return 0 if n == 0 else v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def per_cpu(r):
    """Work per CPU-second of server and load generator together: other tenants do not move it."""
    cpu = r["server_cpu_s"] + r["client_cpu_s"]
    return r["value"] * r["seconds"] / cpu if r["server_cpu_s"] >= 0 and r["client_cpu_s"] >= 0 and cpu > 0 else 0


def ratio(cells, top, s, of=None):
    """The median, over the rounds where both ran, of top's figure (or of(run)) over s's within the round
    (the runs of one round are back to back, so they share the machine's load at that moment); 0 if none."""
    a, b, get = cells[top], cells[s], of or (lambda r: r["value"])
    return median([get(ra) / get(rb) for ra, i in zip(a.r, a.round) for rb, j in zip(b.r, b.round)
                   if i == j and get(rb) > 0 and (of is None or get(ra) > 0)])


def cpu_per_unit(f, c):
    """The server's CPU µs per MB (streams) or per operation, median over the runs; 0 when unknown."""
    work = [(r["bytes"] / 1e6 if f.mode == "stream" else r["ops"], r["server_cpu_s"]) for r in c.r]
    return median([cpu * 1e6 / w for w, cpu in work if cpu >= 0 and w > 0])


def run_figures(o, cmds, figs):
    """Each figure in rounds: every available server once per round, starting with the next one each
    round so that none is always first after a pause."""
    cells = {f.key: [Cell() for _ in KEYS] for f in figs}
    total, done = sum((1 if f.once else o.runs) * len(KEYS) for f in figs), 0
    for f in figs:
        say("bench: %s ..." % f.label)
        cs = cells[f.key]
        for run in range(1 if f.once else o.runs):
            for k in range(len(KEYS)):
                s, done = (k + run) % len(KEYS), done + 1
                argv = cmds[s][1 if f.udp else 0]
                if argv is None:
                    cs[s].status = "n/a"
                    continue
                say("[%3d/%d]" % (done, total), end="")
                measure(o, f, s, argv, run, cs[s])
        for c in cs:
            if c.v:
                c.mi = sorted(range(len(c.v)), key=lambda i: c.v[i])[(len(c.v) - 1) // 2]
                c.median = c.v[c.mi]
        if cs[REF].v and cs[ECHO].v:
            say("bench: %s: reference %.3f, echo %.3f: %.2fx" % (f.key, cs[REF].median, cs[ECHO].median,
                                                               ratio(cs, REF, ECHO)))
    return cells


# ---- the extras: fuzz, replay, conform ----------------------------------------------------------------

def json_rates(js):
    """The table's summary of a JSON object: every "key": number pair (but counts and durations), each
    group headed by its "target" string when it has one."""
    out, at = "", 0
    key = re.compile(r'"([^"]*)"[ \t\n]*(:[ \t\n]*)?')
    while (m := key.search(js, at)) and len(out) + 1 < 512:
        k, v, at, piece = m.group(1), js[m.end():], m.end(), ""
        if m.group(2) is None:
            continue
        if v.startswith('"') and k == "target" and '"' in v[1:]:
            piece = "%s%s:" % ("; " if out else "", v[1:v.index('"', 1)])
        elif k not in ("cores", "seconds", "seconds_per_measurement", "packets", "flows") and v[:1] in "-0123456789" and v:
            d = float(re.match(r"-?[0-9]*\.?[0-9]*(?:[eE][-+]?[0-9]+)?", v).group() or 0)
            piece = "%s%s %.*f" % (" " if out else "", k, 0 if d >= 100 else 2, d)
        if len(out) + len(piece) >= 512:
            break
        out += piece
    return out or "see bench.json"


def extra_make(o, target, jsonfile):
    """Runs make TARGET when there is one; returns (its JSON text, value) or (None, why)."""
    log = "%s/logs/%s.log" % (o.outdir, target)
    if run_cmd("%s -s -n %s" % (o.make, target), log, 60)[0] != 0:
        return None, "not available: no make target %s (make -n %s failed)" % (target, target)
    say("bench: make %s ..." % target)
    st = run_cmd("%s -s %s" % (o.make, target), log, 300)[0]
    if st != 0:
        return None, "not available: make %s failed (status %d); see %s" % (target, st, log)
    try:
        with open(jsonfile, errors="replace") as fh:
            js = fh.read(1 << 20).rstrip(" \t\n")
    except OSError:
        js = ""
    if not js.lstrip(" \t\n").startswith("{") or len(js) >= 1 << 20:
        return None, "not available: make %s wrote no JSON object to %s" % (target, jsonfile)
    return js, json_rates(js)


def extra_conform(o):
    if not o.conform or not os.access(o.conform, os.X_OK):
        return None, "not available: conform program %s not built" % (o.conform or "(none given)")
    log = "%s/logs/conform.log" % o.outdir
    # The suite as harness/conform/test-ref.sh runs it: conform starts the servers itself.
    cmd = "%s --strict --exec-tcp '%s/tcp-upper -l 127.0.0.1:0' --exec-udp '%s/udp-upper -l 127.0.0.1:0'" % (
        o.conform, o.bindir, o.bindir)
    say("bench: %s ..." % cmd)
    st, wall = run_cmd(cmd, log, 300)
    if st != 0:
        return None, "not available: conform failed (status %d); see %s" % (st, log)
    return '{"wall_s": %.3f}' % wall, "%.2f s wall" % wall


def run_extras(o):
    """The fuzz and replay figures (through make) and the conform suite's time: (key, label, json, value)."""
    ex = []
    for key, label, target in (("fuzz", "Fuzz exec/s (make bench-fuzz)", "bench-fuzz"),
                               ("replay", "Replay packets/s (make bench-replay)", "bench-replay"),
                               ("conform", "Conform suite wall time (reference servers)", None)):
        if target is None:
            js, value = extra_conform(o)
        elif o.make:
            js, value = extra_make(o, target, "%s/%s.json" % (o.outdir, key))
        else:
            js, value = None, "not available: no --make given"
        if target is None or o.make:
            say("bench: %s: %s" % (label, value))
        ex.append((key, label, js, value))
    return ex


# ---- the reports --------------------------------------------------------------------------------------

def js(s):
    """A JSON string, every byte outside printable ASCII as \\u00XX (as lib/report writes them)."""
    esc = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", '"': '\\"'}
    return '"%s"' % "".join(esc.get(c) or (c if " " <= c < "\x7f" else "\\u%04x" % ord(c))
                            for c in s.encode().decode("latin-1"))


def num(r, fmt="%.3f"):
    return fmt % r if r > 0 else "null"


def verdict(r, bar):
    return "n/a" if r == 0 else "PASS" if r >= bar else "FAIL"


def fmt_value(f, c):
    if not c.v:
        return {"n/a": "n/a", "wrong": "WRONG"}.get(c.status, "error")
    r, m = c.r[c.mi], c.median
    t = {"stream": "%.0f MB/s" % m, "accept": "%.0f conn/s" % m,
         "pingpong": "%.0f rt/s (p50 %.0f µs, p99 %.0f µs)" % (m, r["p50_us"], r["p99_us"]),
         "udp": "%.0f replies/s (%.2f%% lost)" % (m, 100 * r["lost"] / r["sent"] if r["sent"] else 0),
         "idle": "%.0f B (VmRSS %d→%d KiB)" % (m, r["rss_before_kb"], r["rss_after_kb"])}[f.mode]
    if f.mode == "idle" and r["ops"] < f.conns:
        t += ", only %d of %d connections held after 20 s" % (r["ops"], f.conns)
    return t + " *" * (c.status != "ok")  # some runs failed


def md_bar(f, cs):
    """The bar column: each bar, PASS or FAIL; where a Python bar fails, the echo's own ratio shows what
    the machine allows."""
    if f.bar_echo <= 0:
        return "lower is better" if f.mode == "idle" else ""
    re_, rc, py = ratio(cs, REF, ECHO), ratio(cs, REF, ECHO, per_cpu), []
    for s in (PY, TUT):
        r, er = ratio(cs, REF, s), ratio(cs, ECHO, s)
        py.append(verdict(r, f.bar_py) + (" (echo: %.2f×)" % er if 0 < r < f.bar_py and er > 0 else ""))
    ec = " (per CPU-s: %.2f×, %s)" % (rc, verdict(rc, f.bar_echo)) if rc > 0 else ""
    return "≥%.1f× echo: %s%s; ≥%.0f× python: %s (b), %s (b')" % (f.bar_echo, verdict(re_, f.bar_echo), ec,
                                                                f.bar_py, py[0], py[1])


def md_ratio(r):
    return ("%.4f×" if r < 0.1 else "%.2f×") % r if r > 0 else "n/a"


def markdown(o, m, figs, cells, ex, cmds):
    out = ["## capslock bench, %s\n\n" % m["when"],
           "Machine: %d CPUs, %s, Linux %s, %d MiB RAM. Each figure: median of %d rounds of %.1f s runs (ref, "
           "echo, python, tutorial back to back in each round, in rotating order), every reply byte verified; "
           "ratios are the median of the per-round ratios (\"per CPU-s\": of the work done per CPU-second of "
           "server and load generator together, which other tenants do not move); RSS once per server. Total "
           "%.0f s.\n\n" % (m["nproc"], m["cpu"], m["kernel"], int(m["mem_kb"] / 1024), o.runs, o.seconds,
                            m["total_s"]),
           "| Figure | reference | echo (a) | python corrected (b) | python tutorial (b') | ref/echo | ref/(b) "
           "| ref/(b') | bar |\n|---|---|---|---|---|---|---|---|---|\n"]
    for f in figs:
        cs = cells[f.key]
        out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n" % (
            f.label, *[fmt_value(f, c) for c in cs], *[md_ratio(ratio(cs, REF, s)) for s in (ECHO, PY, TUT)],
            md_bar(f, cs)))
    out += ["| %s | %s | | | | | | | |\n" % (label, value[:500]) for _, label, _, value in ex]
    out.append("\n")
    out += ["- %s: %s\n" % (LABELS[s], cmds[s][2]) for s in range(len(KEYS)) if cmds[s][2]]
    out += ["- %s, %s: %s%s\n" % (f.key, LABELS[s], "WRONG REPLY: " * (c.status == "wrong"), c.msg)
            for f in figs for s, c in enumerate(cells[f.key]) if c.status in ("wrong", "error")]
    out.append("\nServer CPU time per unit of work (user + system, from /proc/PID/stat; median over the runs; "
               "lower is better). A server that matches the echo here is at the I/O limit whatever the load on "
               "the machine:\n\n| Figure | reference | echo (a) | python corrected (b) | python tutorial (b') | "
               "ref/echo |\n|---|---|---|---|---|---|\n")
    for f in figs:
        if f.mode != "idle":
            cu = [cpu_per_unit(f, c) for c in cells[f.key]]
            unit = "µs/MB" if f.mode == "stream" else "µs/op"
            out.append("| %s |%s %s |\n" % (f.key, "".join(" %.1f %s |" % (u, unit) if u > 0 else " n/a |" for u in cu),
                                            "%.2f×" % (cu[REF] / cu[ECHO]) if cu[REF] > 0 and cu[ECHO] > 0 else "n/a"))
    out.append("\nReproduce: `make bench` (BENCH_TIME=%g BENCH_RUNS=%d).\n" % (o.seconds, o.runs))
    return "".join(out)


def json_cell(f, c, why):
    out = []
    if c.v:
        r, cpu = c.r[c.mi], cpu_per_unit(f, c)
        out.append('"median": %.3f, "runs": [%s]' % (c.median, ", ".join("%.3f" % v for v in c.v)))
        if f.mode == "pingpong":
            out.append(', "p50_us": %.1f, "p99_us": %.1f' % (r["p50_us"], r["p99_us"]))
        if f.mode == "udp":
            out.append(', "sent": %d, "lost": %d, "late": %d' % (r["sent"], r["lost"], r["late"]))
        if f.mode == "idle":
            out.append(', "rss_before_kb": %d, "rss_after_kb": %d, "held": %d' % (
                r["rss_before_kb"], r["rss_after_kb"], r["ops"]))
        if cpu > 0:
            out.append(', "server_cpu_us_per_%s": %.2f' % ("mb" if f.mode == "stream" else "op", cpu))
        if r["server_cpu_s"] >= 0 and r["seconds"] > 0 and f.mode != "idle":
            out.append(', "server_cpu_pct": %.0f, "loadgen_cpu_pct": %.0f' % (
                100 * r["server_cpu_s"] / r["seconds"], 100 * r["client_cpu_s"] / r["seconds"]))
        if c.status != "ok":
            out.append(", ")
    if c.status != "ok":
        key = {"wrong": "wrong", "n/a": "not_available"}.get(c.status, "error")
        out.append('"%s": %s' % (key, js(why if c.status == "n/a" else c.msg)))
    return "{%s}" % "".join(out)


def json_report(o, m, figs, cells, ex, cmds):
    """bench.json: the same figures as BENCH.md, every run's value and the details behind them."""
    rows = []
    for f in figs:
        cs = cells[f.key]
        row = '    {"key": "%s", "label": %s, "unit": "%s"' % (f.key, js(f.label), UNITS[f.mode])
        row += "".join(',\n     "%s": %s' % (KEYS[s], json_cell(f, c, cmds[s][2])) for s, c in enumerate(cs))
        row += ',\n     "ratio_echo": %s, "ratio_python": %s, "ratio_python_tutorial": %s, ' % tuple(
            num(ratio(cs, REF, s)) for s in (ECHO, PY, TUT))
        row += '"ratio_echo_per_cpu": %s, "ratio_echo_over_python": %s, "ratio_echo_over_python_tutorial": %s' % (
            num(ratio(cs, REF, ECHO, per_cpu)), num(ratio(cs, ECHO, PY)), num(ratio(cs, ECHO, TUT)))
        if f.bar_echo > 0:
            row += ', "bar_echo": %.1f, "bar_python": %.0f' % (f.bar_echo, f.bar_py)
        rows.append(row + "}")
    extra = ",".join('\n    "%s": %s' % (key, j if j is not None else '{"not_available": %s}' % js(v))
                     for key, _, j, v in ex)
    return ('{\n  "date": "%s",\n  "machine": {"nproc": %d, "cpu": %s, "kernel": %s, "mem_kb": %d},\n'
            '  "seconds_per_run": %g,\n  "runs": %d,\n  "statistic": "median",\n  "total_s": %.1f,\n'
            '  "figures": [\n%s\n  ],\n  "extra": {%s\n  }\n}\n' % (
                m["when"], m["nproc"], js(m["cpu"]), js(m["kernel"]), m["mem_kb"], o.seconds, o.runs,
                m["total_s"], ",\n".join(rows), extra))


def ratios_csv(figs, cells):
    """Per figure: each server's median and the ratios of BENCH.md (empty where not available)."""
    out = ["figure,label,unit,reference,echo,python,tutorial,ref_over_echo,ref_over_echo_per_cpu,"
           "ref_over_python,ref_over_tutorial,echo_over_python,echo_over_tutorial\n"]
    for f in figs:
        cs = cells[f.key]
        v = [c.median if c.v else 0 for c in cs] + [
            ratio(cs, REF, ECHO), ratio(cs, REF, ECHO, per_cpu), ratio(cs, REF, PY), ratio(cs, REF, TUT),
            ratio(cs, ECHO, PY), ratio(cs, ECHO, TUT)]
        out.append("%s,%s,%s%s\n" % (f.key, f.short, UNITS[f.mode], "".join(",%.6g" % x if x > 0 else "," for x in v)))
    return "".join(out)


def draw_ratios(bindir, csv, svg):
    """The bar chart of a ratios.csv (log scale, a line at 1). Says what it drew or why it drew nothing,
    which is never a failure of the bench."""
    argv = [bindir + "/draw-chart", "--csv", csv, "--svg", svg, "--x", "label", "--bars", "--log-y",
            "--reference", "1", "--ylabel", "ratio (log scale)", "--title",
            "capslock bench: the reference servers against the others (median of the per-round ratios; above "
            "1: the reference does more, but for idle RSS: less is leaner)"]
    for col, title in (("ref_over_echo", "reference / echo (a)"),
                       ("ref_over_python", "reference / python corrected (b)"),
                       ("ref_over_tutorial", "reference / python tutorial (b')"),
                       ("echo_over_python", "echo (a) / python corrected (b)")):
        argv += ["--series", "%s:%s" % (col, title)]
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        why = (p.stderr.strip().splitlines() or ["draw-chart %s" % describe(p.returncode)])[-1]
    except (OSError, subprocess.TimeoutExpired) as e:
        p, why = None, "cannot run %s: %s" % (argv[0], getattr(e, "strerror", None) or e)
    if p and p.returncode == 0:
        say("bench: drew %s" % svg)
    else:
        say("bench: no chart drawn: %s; the figures are in CSV (%s)" % (why.removeprefix("draw-chart: "), csv))


def machine(total_s):
    """The machine's CPU model, RAM and kernel, for the reports' first lines."""
    m = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "nproc": os.sysconf("SC_NPROCESSORS_ONLN"),
         "cpu": "unknown", "kernel": os.uname().release, "mem_kb": -1, "total_s": total_s}
    for path, pat, key, conv in (("/proc/cpuinfo", r"^model name[^:]*: ?(.*)", "cpu", str),
                                 ("/proc/meminfo", r"MemTotal: *([0-9]+) kB", "mem_kb", int)):
        try:
            with open(path) as fh:
                found = re.search(pat, fh.read(), re.M)
            if found:
                m[key] = conv(found.group(1))
        except OSError:
            pass
    return m


def seconds(arg):
    try:
        v = float(arg) if re.fullmatch(r"[0-9.][0-9.eE+-]*", arg) else -1
    except ValueError:
        v = -1
    if not 0 <= v <= 600:
        raise argparse.ArgumentTypeError("'%s' is not a number of seconds from 0 to 600" % arg)
    if v == 0:
        raise argparse.ArgumentTypeError("a run must last more than 0 seconds")
    return v


def rounds(arg):
    if not re.fullmatch(r"[0-9]+", arg) or not 1 <= int(arg) <= 15:
        raise argparse.ArgumentTypeError("'%s' is not a whole number from 1 to 15" % arg)
    return int(arg)


class Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, "bench: %s (see --help)\n" % message)


def parse_args():
    ap = Parser(prog="bench", formatter_class=argparse.RawDescriptionHelpFormatter, description=(
        "Measures the reference servers side by side with the no-transform echo server (a) and the Python\n"
        "servers (b), runs interleaved, and prints a markdown table of medians and ratios. Besides BENCH.md and\n"
        "bench.json, DIR gets ratios.csv (per figure: each server's median and the ratios) and its bar chart\n"
        "ratios.svg, drawn by BINDIR/draw-chart (gnuplot, $GNUPLOT); without gnuplot it says so and carries on."),
        epilog="Exit status: 0 done, 1 a reference or echo server sent a wrong reply, 2 usage or set-up error.")
    env = {}
    for name, take in (("BENCH_TIME", seconds), ("BENCH_RUNS", rounds)):
        if os.environ.get(name):
            try:
                env[name] = take(os.environ[name])
            except argparse.ArgumentTypeError as e:
                ap.exit(2, "bench: %s: %s\n" % (name, e))
    a = ap.add_argument
    a("-T", dest="seconds", type=seconds, default=env.get("BENCH_TIME", 1.0),
      help="duration of each run (default $BENCH_TIME or 1)")
    a("-n", dest="runs", type=rounds, default=env.get("BENCH_RUNS", 5),
      help="rounds per figure: ref, echo, python back to back (default $BENCH_RUNS or 5)")
    a("-o", dest="outdir", default="out/bench", help="output directory: BENCH.md, bench.json, logs/")
    a("-b", dest="bindir", default="build/std/bin", help="where tcp-upper, udp-upper, draw-chart and bench/ are")
    a("--py-tcp", metavar="CMD", help="command line of the Python TCP server, listening on 127.0.0.1 port 0")
    a("--py-udp", metavar="CMD", help="the same for the Python UDP server")
    a("--tutorial-tcp", metavar="CMD", help="the faithful tutorial servers (sent printable ASCII text only)")
    a("--tutorial-udp", metavar="CMD")
    a("--make", metavar="MAKE", help="make command for bench-fuzz and bench-replay (none: skipped)")
    a("--conform", metavar="PROG", help="the conform program, timed against the reference servers")
    a("--pin", action="store_true", help="run the servers on CPU 1 and the load generator on CPU 0 (2 CPUs)")
    a("--only", metavar="LIST", help="comma-separated figure keys: %s (default all); the extras run only "
      "without --only" % ",".join(f.key for f in FIGURES))
    a("--chart", metavar="CSV", help="measure nothing: draw the bar chart of a ratios.csv (CSV.svg beside it)")
    return ap.parse_args()


def subjects(o):
    """Per server: its TCP and UDP command lines (None when not given) and why it is not available."""
    def built(tcp, udp, *flag):
        for path in (tcp, udp):
            if not os.access(path, os.X_OK):
                die("%s: %s (run make first)" % (path, "not executable" if os.path.exists(path) else "not built"))
        return [tcp, "-l", "127.0.0.1:0"], [udp, *flag, "-l", "127.0.0.1:0"], ""

    def given(tcp, udp, what, script):
        miss = " or ".join(p for p, c in (("TCP", tcp), ("UDP", udp)) if not c)
        why = "not available: no %s %s server given (make bench uses %s under python3)" % (what, miss, script)
        return tcp.split() if tcp else None, udp.split() if udp else None, why if miss else ""
    b = o.bindir
    built(b + "/bench/loadgen", b + "/bench/loadgen")
    return [built(b + "/tcp-upper", b + "/udp-upper"), built(b + "/bench/echo", b + "/bench/echo", "-u"),
            given(o.py_tcp, o.py_udp, "Python", "servers/python/corrected.py"),
            given(o.tutorial_tcp, o.tutorial_udp, "faithful tutorial", "servers/python/tutorial_socketserver.py")]


def main():
    t0, o = time.monotonic(), parse_args()
    if o.chart:
        if len(o.chart) < 4 or not o.chart.endswith(".csv"):
            die("--chart %s: expected a file name ending in .csv" % o.chart)
        return draw_ratios(o.bindir, o.chart, o.chart[:-4] + ".svg") or 0
    # The idle figure holds 10,000 descriptors here and in the server, which inherits the limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and hard != soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_stop_signal)
    if o.pin:
        try:
            if os.sysconf("SC_NPROCESSORS_ONLN") < 2:
                raise OSError("only one CPU online")
            os.sched_setaffinity(0, {0})
        except OSError as e:
            die("--pin needs 2 CPUs: %s" % (e.strerror or e))
    try:
        os.makedirs(o.outdir + "/logs", exist_ok=True)
    except OSError as e:
        die("cannot create %s/logs: %s" % (o.outdir, e.strerror))
    cmds, o.loadgen = subjects(o), o.bindir + "/bench/loadgen"
    only = o.only.split(",") if o.only is not None else None
    figs = [f for f in FIGURES if only is None or f.key in only]
    cells = run_figures(o, cmds, figs)
    ex = [] if only is not None else run_extras(o)
    m = machine(time.monotonic() - t0)
    md = markdown(o, m, figs, cells, ex, cmds)
    try:
        for name, text in (("BENCH.md", md), ("bench.json", json_report(o, m, figs, cells, ex, cmds)),
                           ("ratios.csv", ratios_csv(figs, cells))):
            with open("%s/%s" % (o.outdir, name), "w") as fh:
                fh.write(text)
    except OSError as e:
        die("cannot write %s: %s" % (e.filename or name, e.strerror))
    draw_ratios(o.bindir, o.outdir + "/ratios.csv", o.outdir + "/ratios.svg")
    try:
        sys.stdout.write(md)
        sys.stdout.flush()
    except OSError as e:
        die("cannot write the report to stdout: %s" % e.strerror)
    say("bench: wrote %s/BENCH.md, %s/bench.json and %s/ratios.csv" % (o.outdir, o.outdir, o.outdir))
    if any("wrong" in (c[REF].status, c[ECHO].status) for c in cells.values()):
        say("bench: a reference or echo server sent a WRONG reply (see above)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""bench.py - 'make bench': every figure of the reference servers, side by side in the same run with the
no-transform echo server (a) and the Python tutorial servers (b, b'), rounds interleaved, medians compared;
plus the fuzz, replay and conform figures where their targets exist. Each measurement is one run of
bench/loadgen against a fresh server. Writes BENCH.md, bench.json and ratios.csv, and draws ratios.svg
through draw-chart."""
import argparse, collections, contextlib, json, os, re, shlex, signal, subprocess, sys, time

# The conventions every capslock script shares (version, durations), one folder up.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import conventions  # noqa: E402

REF, ECHO, PY, TUT = range(4)
KEYS = ["ref", "echo", "python", "python_tutorial"]
LABELS = ["reference", "echo (a)", "python corrected (b)", "python tutorial (b')"]
UNITS = {"stream": "MB/s", "pingpong": "rt/s", "udp": "replies/s", "accept": "conn/s", "idle": "B/conn"}
# bar_echo, bar_py: the minimum ratios (0: none); once: measured once per server (RSS is not noisy)
Fig = collections.namedtuple("Fig", "key label short mode conns window size bar_echo bar_py once",
                             defaults=[False])
FIGURES = [
    Fig("stream1", "TCP stream, 1 connection", "stream 1 conn", "stream", 1, 0, 64, 0.95, 5),
    Fig("stream4", "TCP stream, 4 connections", "stream 4 conns", "stream", 4, 0, 64, 0.95, 5),
    Fig("stream16", "TCP stream, 16 connections", "stream 16 conns", "stream", 16, 0, 64, 0.95, 5),
    Fig("stream64", "TCP stream, 64 connections", "stream 64 conns", "stream", 64, 0, 64, 0.95, 5),
    Fig("pingpong", "TCP ping-pong, 64 B, 8 connections", "ping-pong 64 B", "pingpong", 8, 0, 64, 0.9, 3),
    Fig("udp64", "UDP, 64 B datagrams, window 64", "UDP 64 B", "udp", 1, 64, 64, 0.9, 20),
    Fig("udp1400", "UDP, 1400 B datagrams, window 64", "UDP 1400 B", "udp", 1, 64, 1400, 0.9, 20),
    Fig("accept", "TCP connections/s (connect, 8 B round trip, close; 32 at a time)", "connections/s",
        "accept", 32, 0, 8, 0, 0),
    Fig("idle", "Server RSS per idle connection, 10,000 connections", "idle RSS per conn", "idle", 10000,
        0, 8, 0, 0, True),
]
LIVE = set()  # the process groups started and not yet stopped


def say(*a, end="\n"):
    print(*a, file=sys.stderr, end=end, flush=True)


def die(msg):
    say("bench: " + msg)
    sys.exit(2)


def run(argv, limit, log=None):
    """Runs argv in a process group of its own, output to log (else kept), at most limit seconds, then
    SIGTERM and SIGKILL. Returns (status, stdout, stderr, wall): 124 on time-out, 128 + N on signal N."""
    t0 = time.monotonic()
    with open(log or os.devnull, "w") as fh:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=fh if log else subprocess.PIPE,
                             stderr=subprocess.STDOUT if log else subprocess.PIPE, text=True, process_group=0)
        LIVE.add(p.pid)
        try:
            out, err = p.communicate(timeout=limit)
            rc = p.returncode if p.returncode >= 0 else 128 - p.returncode
        except subprocess.TimeoutExpired:
            for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, None)):
                with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
                    os.killpg(p.pid, sig)
                    out, err = p.communicate(timeout=wait)
            rc, out, err = 124, "", "did not finish within %.0f s" % limit
        LIVE.discard(p.pid)
    return rc, out, err, time.monotonic() - t0


def on_stop_signal(sig, frame):
    """A stop signal stops the commands too (loadgen stops its server): they run in groups of their own."""
    for pid in list(LIVE):
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGTERM)
    signal.signal(sig, signal.SIG_DFL)
    os.kill(os.getpid(), sig)


class Cell:
    """One server's runs of one figure; the first failure decides its status."""

    def __init__(s):
        s.r, s.round, s.status, s.msg, s.median, s.mi = [], [], "ok", "", 0, 0


def loadgen(o, f, s, cmd, log):
    """One run: loadgen starts the server and measures it. Returns (0, result) or (1 wrong reply | 2, why)."""
    argv = [o.loadgen, "-m", f.mode, "-c", str(f.conns), "-s", str(f.size), "-T", repr(o.seconds), "--exec",
            cmd, "--log", log] + ["-e"] * (s == ECHO) + ["-a"] * (s == TUT) + ["-w", str(f.window)] * bool(
            f.window) + ["--server-cpu", "1"] * o.pin
    rc, out, err, _ = run(argv, o.seconds + 600)  # loadgen bounds its run; this bounds a hang
    err = err.strip().removeprefix("loadgen: %s: " % cmd)
    return (0, json.loads(out)) if rc == 0 else (rc, err) if rc in (1, 2) else (
        2, "loadgen exited with status %d: %s" % (rc, err))


def measure(o, f, s, cmd, rnd, cell):
    """Round rnd of figure f for server s: its figures or its error on stderr, its result into cell."""
    rc, r = loadgen(o, f, s, cmd, "%s/logs/%s-%s-%d.log" % (o.outdir, f.key, KEYS[s], rnd + 1))
    line = "  %-9s %-10s run %d: " % (f.key, KEYS[s], rnd + 1)
    if rc != 0:
        if cell.status == "ok":
            cell.status, cell.msg = "wrong" if rc == 1 else "error", r
        return say(line + "%s: %s" % ("WRONG REPLY" if rc == 1 else "error", r))
    cell.r.append(r), cell.round.append(rnd)
    line += "%.3f %s" % (r["value"], r["unit"]) + {
        "pingpong": " (p50 %(p50_us).0f us, p99 %(p99_us).0f us)", "udp": " (%(sent)d sent, %(lost)d lost)",
        "idle": " (VmRSS %(rss_before_kb)d -> %(rss_after_kb)d KiB, %(ops)d connections held)",
    }.get(f.mode, "") % r
    if r["failed"]:
        line += " (%d attempts failed)" % r["failed"]
    if r["server_cpu_s"] >= 0 and f.mode != "idle" and r["seconds"] > 0:
        line += " [CPU: server %.0f%%, loadgen %.0f%%]" % (100 * r["server_cpu_s"] / r["seconds"],
                                                           100 * r["client_cpu_s"] / r["seconds"])
    say(line)


def median(v):
    v, n = sorted(v), len(v)
    return 0 if n == 0 else v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def per_cpu(r):
    """Work per CPU-second of server and load generator together, which other tenants do not move."""
    cpu = r["server_cpu_s"] + r["client_cpu_s"]
    return r["value"] * r["seconds"] / cpu if min(r["server_cpu_s"], r["client_cpu_s"]) >= 0 < cpu else 0


def ratio(cs, top, s, of=None):
    """The median, over the rounds where both ran, of top's figure (or of(run)) over s's within the round
    (the runs of a round are back to back: they share the machine's load); 0 when there is none."""
    get = of or (lambda r: r["value"])
    return median([get(a) / get(b) for a, i in zip(cs[top].r, cs[top].round)
                   for b, j in zip(cs[s].r, cs[s].round) if i == j and get(b) > 0 and (not of or get(a) > 0)])


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
        for rnd in range(1 if f.once else o.runs):
            for k in range(len(KEYS)):
                s, done = (k + rnd) % len(KEYS), done + 1
                if cmds[s][f.mode == "udp"] is None:
                    cs[s].status = "n/a"
                    continue
                say("[%3d/%d]" % (done, total), end="")
                measure(o, f, s, cmds[s][f.mode == "udp"], rnd, cs[s])
        for c in (c for c in cs if c.r):
            c.mi = sorted(range(len(c.r)), key=lambda i: c.r[i]["value"])[(len(c.r) - 1) // 2]
            c.median = c.r[c.mi]["value"]
        if cs[REF].r and cs[ECHO].r:
            say("bench: %s: reference %.3f, echo %.3f: %.2fx" % (f.key, cs[REF].median, cs[ECHO].median,
                                                               ratio(cs, REF, ECHO)))
    return cells


# ---- the extras: fuzz, replay, conform ----------------------------------------------------------------

def json_rates(js):
    """The table's summary of a JSON object: every "key": number pair (but counts and durations), each
    group headed by its "target" string when it has one."""
    out, at, key = "", 0, re.compile(r'"([^"]*)"[ \t\n]*(:[ \t\n]*)?')
    while (m := key.search(js, at)) and len(out) + 1 < 512:
        k, v, at, piece = m.group(1), js[m.end():], m.end(), ""
        if m.group(2) is None:
            continue
        if v.startswith('"') and k == "target" and '"' in v[1:]:
            piece = "%s%s:" % ("; " if out else "", v[1:v.index('"', 1)])
        elif v[:1] and v[:1] in "-0123456789" and k not in (
                "cores", "seconds", "seconds_per_measurement", "packets", "flows"):
            d = float(re.match(r"-?[0-9]*\.?[0-9]*(?:[eE][-+]?[0-9]+)?", v).group() or 0)
            piece = "%s%s %.*f" % (" " if out else "", k, 0 if d >= 100 else 2, d)
        if len(out) + len(piece) >= 512:
            break
        out += piece
    return out or "see bench.json"


def extra_make(o, target, jsonfile):
    """make TARGET, when there is one: (the JSON object it wrote, its summary) or (None, why not)."""
    log = "%s/logs/%s.log" % (o.outdir, target)
    if run(["/bin/sh", "-c", "%s -s -n %s" % (o.make, target)], 60, log)[0] != 0:
        return None, "not available: no make target %s (make -n %s failed)" % (target, target)
    say("bench: make %s ..." % target)
    st, js = run(["/bin/sh", "-c", "%s -s %s" % (o.make, target)], 300, log)[0], ""
    if st != 0:
        return None, "not available: make %s failed (status %d); see %s" % (target, st, log)
    with contextlib.suppress(OSError), open(jsonfile, errors="replace") as fh:
        js = fh.read(1 << 20).rstrip(" \t\n")
    if not js.lstrip(" \t\n").startswith("{") or len(js) >= 1 << 20:
        return None, "not available: make %s wrote no JSON object to %s" % (target, jsonfile)
    return js, json_rates(js)


def extra_conform(o):
    if not o.conform or not os.access(o.conform, os.X_OK):
        return None, "not available: conform program %s not built" % (o.conform or "(none given)")
    # The suite as harness/conform/test-ref.sh runs it: conform starts the servers itself.
    argv = [o.conform, "--strict", "--exec-tcp", o.bindir + "/tcp-upper -l 127.0.0.1:0", "--exec-udp",
            o.bindir + "/udp-upper -l 127.0.0.1:0"]
    say("bench: %s ..." % shlex.join(argv))
    st, _, _, wall = run(argv, 300, o.outdir + "/logs/conform.log")
    if st != 0:
        return None, "not available: conform failed (status %d); see %s/logs/conform.log" % (st, o.outdir)
    return '{"wall_s": %.3f}' % wall, "%.2f s wall" % wall


def run_extras(o):
    """The fuzz and replay figures (through make) and the conform suite's time: (key, label, JSON, value)."""
    ex = []
    for key, label, target in (("fuzz", "Fuzz exec/s (make bench-fuzz)", "bench-fuzz"),
                               ("replay", "Replay packets/s (make bench-replay)", "bench-replay"),
                               ("conform", "Conform suite wall time (reference servers)", None)):
        if target and not o.make:
            ex.append((key, label, None, "not available: no --make given"))
            continue
        js, value = extra_make(o, target, "%s/%s.json" % (o.outdir, key)) if target else extra_conform(o)
        say("bench: %s: %s" % (label, value))
        ex.append((key, label, js, value))
    return ex


# ---- the reports --------------------------------------------------------------------------------------

def js(s):
    """A JSON string, each byte outside printable ASCII as \\u00XX (as lib/report writes them)."""
    esc = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", '"': '\\"'}
    return '"%s"' % "".join(esc.get(c) or (c if " " <= c < "\x7f" else "\\u%04x" % ord(c))
                            for c in s.encode().decode("latin-1"))


def ratios(cs):
    """A figure's ratios, named and ordered as in bench.json: the reference's over the others', echo's over
    the Python servers'."""
    return {"echo": ratio(cs, REF, ECHO), "python": ratio(cs, REF, PY),
            "python_tutorial": ratio(cs, REF, TUT), "echo_per_cpu": ratio(cs, REF, ECHO, per_cpu),
            "echo_over_python": ratio(cs, ECHO, PY), "echo_over_python_tutorial": ratio(cs, ECHO, TUT)}


def verdict(r, bar):
    return "n/a" if r == 0 else "PASS" if r >= bar else "FAIL"


def fmt_value(f, c):
    if not c.r:
        return {"n/a": "n/a", "wrong": "WRONG"}.get(c.status, "error")
    r = c.r[c.mi]
    lost = 100 * r["lost"] / r["sent"] if r["sent"] else 0
    t = {"stream": "%(value).0f MB/s", "accept": "%(value).0f conn/s",
         "pingpong": "%(value).0f rt/s (p50 %(p50_us).0f µs, p99 %(p99_us).0f µs)",
         "udp": "%(value).0f replies/s (%(lost_pct).2f%% lost)",
         "idle": "%(value).0f B (VmRSS %(rss_before_kb)d→%(rss_after_kb)d KiB)",
         }[f.mode] % dict(r, lost_pct=lost)
    if f.mode == "idle" and r["ops"] < f.conns:
        t += ", only %d of %d connections held after 20 s" % (r["ops"], f.conns)
    return t + " *" * (c.status != "ok")  # some runs failed


def md_bar(f, cs, q):
    """Each bar, PASS or FAIL; where a Python bar fails, the echo's ratio shows what the machine allows."""
    if f.bar_echo <= 0:
        return "lower is better" if f.mode == "idle" else ""
    py = [verdict(q[k], f.bar_py) + (" (echo: %.2f×)" % q["echo_over_" + k] if 0 < q[k] < f.bar_py and
                                     q["echo_over_" + k] > 0 else "") for k in ("python", "python_tutorial")]
    rc = q["echo_per_cpu"]
    cpu = " (per CPU-s: %.2f×, %s)" % (rc, verdict(rc, f.bar_echo)) if rc > 0 else ""
    return "≥%g× echo: %s%s; ≥%.0f× python: %s (b), %s (b')" % (
        f.bar_echo, verdict(q["echo"], f.bar_echo), cpu, f.bar_py, *py)


def markdown(o, m, figs, cells, ex, cmds):
    """BENCH.md, also printed on stdout."""
    md_ratio = lambda r: ("%.4f×" if r < 0.1 else "%.2f×") % r if r > 0 else "n/a"
    head = "| Figure | reference | echo (a) | python corrected (b) | python tutorial (b') | ref/echo |"
    out = ["## capslock bench, %s\n\n" % m["when"],
           "Machine: %d CPUs, %s, Linux %s, %d MiB RAM. " % (m["nproc"], m["cpu"], m["kernel"], m["mem_mib"]),
           "Each figure: median of %d rounds of %.1f s runs (ref, echo, python, tutorial back to back in "
           "each round, in rotating order), every reply byte verified; ratios are the median of the "
           "per-round ratios (\"per CPU-s\": of the work done per CPU-second of server and load generator "
           "together, which other tenants do not move); RSS once per server. Total %.0f s.\n\n"
           % (o.runs, o.seconds, m["total_s"]),
           head + " ref/(b) | ref/(b') | bar |\n|---|---|---|---|---|---|---|---|---|\n"]
    for f in figs:
        cs, q = cells[f.key], ratios(cells[f.key])
        row = [f.label] + [fmt_value(f, c) for c in cs] + [md_ratio(q[k]) for k in list(q)[:3]]
        out.append("| %s |\n" % " | ".join(row + [md_bar(f, cs, q)]))
    out += ["| %s | %s | | | | | | | |\n" % (label, value[:500]) for _, label, _, value in ex]
    out += ["\n"] + ["- %s: %s\n" % (LABELS[s], cmds[s][2]) for s in range(len(KEYS)) if cmds[s][2]]
    out += ["- %s, %s: %s%s\n" % (f.key, LABELS[s], "WRONG REPLY: " * (c.status == "wrong"), c.msg)
            for f in figs for s, c in enumerate(cells[f.key]) if c.status in ("wrong", "error")]
    out.append("\nServer CPU time per unit of work (user + system, from /proc/PID/stat; median over the "
               "runs; lower is better). A server that matches the echo here is at the I/O limit whatever the "
               "load on the machine:\n\n" + head + "\n|---|---|---|---|---|---|\n")
    for f in (f for f in figs if f.mode != "idle"):
        cu, unit = [cpu_per_unit(f, c) for c in cells[f.key]], "µs/MB" if f.mode == "stream" else "µs/op"
        out.append("| %s |%s %s |\n" % (f.key, "".join(" %.1f %s |" % (u, unit) if u > 0 else " n/a |"
                                                       for u in cu),
                                        "%.2f×" % (cu[REF] / cu[ECHO]) if cu[REF] > 0 < cu[ECHO] else "n/a"))
    return "".join(out) + "\nReproduce: `make bench` (BENCH_TIME=%g BENCH_RUNS=%d).\n" % (o.seconds, o.runs)


def json_cell(f, c, why):
    """One server's object in a figure: its runs and their details, or why it has none."""
    out, r, cpu = "", c.r[c.mi] if c.r else None, cpu_per_unit(f, c)
    if r:
        out = '"median": %.3f, "runs": [%s]' % (c.median, ", ".join("%.3f" % x["value"] for x in c.r))
        out += {"pingpong": ', "p50_us": %(p50_us).1f, "p99_us": %(p99_us).1f',
                "udp": ', "sent": %(sent)d, "lost": %(lost)d, "late": %(late)d',
                "idle": ', "rss_before_kb": %(rss_before_kb)d, "rss_after_kb": %(rss_after_kb)d, '
                        '"held": %(ops)d'}.get(f.mode, "") % r
        if cpu > 0:
            out += ', "server_cpu_us_per_%s": %.2f' % ("mb" if f.mode == "stream" else "op", cpu)
        if r["server_cpu_s"] >= 0 and r["seconds"] > 0 and f.mode != "idle":
            out += ', "server_cpu_pct": %.0f, "loadgen_cpu_pct": %.0f' % (
                100 * r["server_cpu_s"] / r["seconds"], 100 * r["client_cpu_s"] / r["seconds"])
    if c.status != "ok":
        key = {"wrong": "wrong", "n/a": "not_available"}.get(c.status, "error")
        out += (", " if r else "") + '"%s": %s' % (key, js(why if c.status == "n/a" else c.msg))
    return "{%s}" % out


def json_report(o, m, figs, cells, ex, cmds):
    """bench.json: the figures of BENCH.md, every run's value and the details behind them."""
    rows = []
    for f in figs:
        cs, q = cells[f.key], ratios(cells[f.key])
        row = '    {"key": "%s", "label": %s, "unit": "%s"' % (f.key, js(f.label), UNITS[f.mode])
        row += "".join(',\n     "%s": %s' % (KEYS[s], json_cell(f, c, cmds[s][2])) for s, c in enumerate(cs))
        row += ",\n     " + ", ".join('"ratio_%s": %s' % (k, "%.3f" % v if v > 0 else "null")
                                      for k, v in q.items())
        if f.bar_echo > 0:
            row += ', "bar_echo": %g, "bar_python": %.0f' % (f.bar_echo, f.bar_py)
        rows.append(row + "}")
    extra = ",".join('\n    "%s": %s' % (key, j or '{"not_available": %s}' % js(v)) for key, _, j, v in ex)
    return ('{\n  "date": "%s",\n  "machine": {"nproc": %d, "cpu": %s, "kernel": %s, "mem_kb": %d},\n'
            '  "seconds_per_run": %g,\n  "runs": %d,\n  "statistic": "median",\n  "total_s": %.1f,\n'
            '  "figures": [\n%s\n  ],\n  "extra": {%s\n  }\n}\n' % (
                m["when"], m["nproc"], js(m["cpu"]), js(m["kernel"]), m["mem_kb"], o.seconds, o.runs,
                m["total_s"], ",\n".join(rows), extra))


def ratios_csv(figs, cells):
    """Per figure: each server's median and the ratios of BENCH.md (empty where not available)."""
    out = ("figure,label,unit,reference,echo,python,tutorial,ref_over_echo,ref_over_echo_per_cpu,"
           "ref_over_python,ref_over_tutorial,echo_over_python,echo_over_tutorial\n")
    for f in figs:
        q = ratios(cells[f.key])
        v = [c.median if c.r else 0 for c in cells[f.key]] + [q[k] for k in (
            "echo", "echo_per_cpu", "python", "python_tutorial", "echo_over_python",
            "echo_over_python_tutorial")]
        out += "%s,%s,%s%s\n" % (f.key, f.short, UNITS[f.mode], "".join(",%.6g" % x if x > 0 else ","
                                                                       for x in v))
    return out


def draw_ratios(bindir, csv, svg):
    """The bar chart of a ratios.csv (log scale, a line at 1). Says what it drew or why it drew nothing,
    which is never a failure of the bench."""
    argv = [bindir + "/draw-chart", "--csv", csv, "--svg", svg, "--x", "label", "--bars", "--log-y",
            "--reference", "1", "--ylabel", "ratio (log scale)", "--title",
            "capslock bench: the reference servers against the others (median of the per-round ratios; "
            "above 1: the reference does more, but for idle RSS: less is leaner)"]
    for series in ("ref_over_echo:reference / echo (a)", "ref_over_python:reference / python corrected (b)",
                   "ref_over_tutorial:reference / python tutorial (b')",
                   "echo_over_python:echo (a) / python corrected (b)"):
        argv += ["--series", series]
    try:
        rc, _, err, _ = run(argv, 120)
    except OSError as e:
        rc, err = 2, "cannot run %s: %s" % (argv[0], e.strerror)
    if rc == 0:
        return say("bench: drew %s" % svg)
    why = (err.strip().splitlines() or ["draw-chart exited with status %d" % rc])[-1]
    say("bench: no chart drawn: %s; the figures are in CSV (%s)" % (why.removeprefix("draw-chart: "), csv))


def machine(total_s):
    """The date, and the machine's CPU model, RAM and kernel, for the reports' first lines."""
    m = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cpu": "unknown", "mem_kb": -1,
         "nproc": os.sysconf("SC_NPROCESSORS_ONLN"), "kernel": os.uname().release, "total_s": total_s}
    for path, pat, key, conv in (("/proc/cpuinfo", r"^model name[^:]*: ?(.*)", "cpu", str),
                                 ("/proc/meminfo", r"^MemTotal: *([0-9]+) kB", "mem_kb", int)):
        with contextlib.suppress(OSError), open(path) as fh:
            if found := re.search(pat, fh.read(), re.M):
                m[key] = conv(found.group(1))
    return dict(m, mem_mib=int(m["mem_kb"] / 1024))


# ---- main -----------------------------------------------------------------------------------------------

def seconds(arg):
    """-T, BENCH_TIME: a duration as every capslock program takes it, seconds (no sign, space, nan or inf)
    with an optional unit (500ms, 2s, 1m), in (0, 600]."""
    v = conventions.duration(arg)
    v = -1 if v is None else v
    if not 0 < v <= 600:
        raise argparse.ArgumentTypeError("a run must last more than 0 seconds" if v == 0 else
                                         "'%s' is not a duration from 0 to 600 s (500ms, 2s, 1m)" % arg)
    return v


def rounds(arg):
    if not re.fullmatch(r"[0-9]+", arg) or not 1 <= int(arg) <= 15:
        raise argparse.ArgumentTypeError("'%s' is not a whole number from 1 to 15" % arg)
    return int(arg)


class Parser(argparse.ArgumentParser):
    def error(self, message):
        """A usage error the way every capslock program reports one: one line, then where the help is."""
        m = re.fullmatch(r"(?:unrecognized arguments|argument ([^:]+)): (.*)", message)
        if m and m.group(1) is None:
            message = "%s: unknown option" % m.group(2).split()[0]
        elif m:
            opt = m.group(1).split("/")[-1]
            message = "%s: missing argument" % opt if "expected one argument" in m.group(2) else \
                "%s: %s" % (opt, m.group(2))
        say("bench: %s\nTry 'bench --help' for more information." % message)
        sys.exit(2)


def parse_args():
    ap = Parser(prog="bench", formatter_class=argparse.RawDescriptionHelpFormatter, description=(
        "Measures the reference servers side by side with the no-transform echo server (a) and the Python\n"
        "servers (b), runs interleaved, and prints a markdown table of medians and ratios. Besides BENCH.md\n"
        "and bench.json, DIR gets ratios.csv (per figure: each server's median and the ratios) and its bar\n"
        "chart ratios.svg, drawn by BINDIR/draw-chart; without gnuplot it says so and carries on."),
        epilog="Exit status: 0 done, 1 a reference or echo server sent a wrong reply, 2 usage or set-up "
        "error.\nExamples:\n"
        "  harness/bench/bench.py -T 500ms -n 1 --only stream1,udp64 -o /tmp/bench\n"
        "  harness/bench/bench.py --chart docs/charts/bench-ratios.csv")
    env = {}
    for name, take in (("BENCH_TIME", seconds), ("BENCH_RUNS", rounds)):
        try:
            env[name] = take(os.environ[name]) if os.environ.get(name) else None
        except argparse.ArgumentTypeError as e:
            die("%s: %s" % (name, e))
    a = ap.add_argument
    a("--version", action="version", version="bench (capslock) " + conventions.version())
    a("-T", dest="seconds", type=seconds, default=env["BENCH_TIME"] or 1.0,
      help="duration of each run, seconds or with a unit, 500ms (default $BENCH_TIME or 1)")
    a("-n", dest="runs", type=rounds, default=env["BENCH_RUNS"] or 5,
      help="rounds per figure: ref, echo, python back to back (default $BENCH_RUNS or 5)")
    a("-o", dest="outdir", metavar="DIR", default="out/bench", help="BENCH.md, bench.json, ratios.csv, logs/ (created when missing, not its parent)")
    a("-b", dest="bindir", default="build/std/bin", help="where tcp-upper, udp-upper, draw-chart, bench/ are")
    a("--py-tcp", metavar="CMD", help="command line of the Python TCP server, listening on 127.0.0.1 port 0")
    a("--py-udp", metavar="CMD", help="the same for the Python UDP server")
    a("--tutorial-tcp", metavar="CMD", help="the faithful tutorial servers (sent printable ASCII text only)")
    a("--tutorial-udp", metavar="CMD")
    a("--make", metavar="MAKE", help="make command for bench-fuzz and bench-replay (none: skipped)")
    a("--conform", metavar="PROG", help="the conform program, timed against the reference servers")
    a("--pin", action="store_true", help="run the servers on CPU 1 and the load generator on CPU 0 (2 CPUs)")
    a("--only", metavar="LIST", help="comma-separated figure keys: %s (default all); the extras run only "
      "without --only" % ",".join(f.key for f in FIGURES))
    a("--chart", metavar="CSV", help="measure nothing: draw a ratios.csv's bar chart (CSV.svg beside it)")
    return ap.parse_args()


def subjects(o):
    """Per server: its TCP and UDP command lines (None when not given; split on spaces by loadgen, no
    shell), and why it is not available."""
    b = o.bindir
    for path in (o.loadgen, b + "/tcp-upper", b + "/udp-upper", b + "/bench/echo"):
        if not os.access(path, os.X_OK):
            die("%s: %s (run make first)" % (path, "not built" if not os.path.exists(path) else
                                             "not executable"))

    def given(tcp, udp, what, script):
        miss = " or ".join(p for p, c in (("TCP", tcp), ("UDP", udp)) if not c)
        why = "not available: no %s %s server given (make bench uses %s under python3)" % (what, miss, script)
        return tcp or None, udp or None, why if miss else ""
    return [(b + "/tcp-upper -l 127.0.0.1:0", b + "/udp-upper -l 127.0.0.1:0", ""),
            (b + "/bench/echo -l 127.0.0.1:0", b + "/bench/echo -u -l 127.0.0.1:0", ""),
            given(o.py_tcp, o.py_udp, "Python", "servers/python/corrected.py"),
            given(o.tutorial_tcp, o.tutorial_udp, "faithful tutorial",
                  "servers/python/tutorial_socketserver.py")]


def main():
    t0, o = time.monotonic(), parse_args()
    if o.chart:
        if not o.chart.endswith(".csv"):
            die("--chart %s: expected a file name ending in .csv" % o.chart)
        return draw_ratios(o.bindir, o.chart, o.chart[:-4] + ".svg") or 0
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_stop_signal)
    try:
        if o.pin and os.sysconf("SC_NPROCESSORS_ONLN") < 2:
            raise OSError("only one CPU")
        os.sched_setaffinity(0, {0}) if o.pin else None
    except OSError as e:
        die("--pin needs 2 CPUs: %s" % (e.strerror or e))
    # -o DIR by the one rule of every program: made when missing, not its parent (the default is made whole)
    parent = os.path.dirname(os.path.normpath(o.outdir)) or "."
    if o.outdir != "out/bench" and not os.path.isdir(o.outdir) and not os.path.exists(parent):
        die("-o %s: its parent directory %s does not exist (create it first)" % (o.outdir, parent))
    try:
        os.makedirs(o.outdir + "/logs", exist_ok=True)
    except OSError as e:
        die("cannot create %s/logs: %s" % (o.outdir, e.strerror))
    o.loadgen = o.bindir + "/bench/loadgen"
    cmds, only = subjects(o), o.only.split(",") if o.only is not None else None
    figs = [f for f in FIGURES if only is None or f.key in only]
    cells = run_figures(o, cmds, figs)
    ex = run_extras(o) if only is None else []
    m = machine(time.monotonic() - t0)
    md, name = markdown(o, m, figs, cells, ex, cmds), ""
    try:
        for name, text in (("BENCH.md", md), ("bench.json", json_report(o, m, figs, cells, ex, cmds)),
                           ("ratios.csv", ratios_csv(figs, cells))):
            with open("%s/%s" % (o.outdir, name), "w") as fh:
                fh.write(text)
    except OSError as e:
        die("cannot write %s/%s: %s" % (o.outdir, name, e.strerror))
    draw_ratios(o.bindir, o.outdir + "/ratios.csv", o.outdir + "/ratios.svg")
    try:
        sys.stdout.write(md)
        sys.stdout.flush()
    except OSError as e:
        die("cannot write the report to stdout: %s" % e.strerror)
    say("bench: wrote %s/BENCH.md, %s/bench.json and %s/ratios.csv" % (o.outdir, o.outdir, o.outdir))
    if any("wrong" in (cs[REF].status, cs[ECHO].status) for cs in cells.values()):
        say("bench: a reference or echo server sent a WRONG reply (see above)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

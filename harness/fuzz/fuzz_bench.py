#!/usr/bin/env python3
"""fuzz_bench.py - make bench-fuzz: exec/s of each fuzz target under libFuzzer and AFL++, and of a
network-driven harness that starts a fresh tcp-upper for every input and sends it over loopback (as AFLNet).

usage: fuzz_bench.py [--time SECONDS] [--lf-dir DIR] [--lf-fast-dir DIR] [--afl-dir DIR] [--server PATH]
                     [--std-dir DIR] [--san-dir DIR] [--out DIR] [--impl-dir DIR] [--afl-servers DIR]
                     TARGET...
  --time SECONDS     seconds per measurement, 1 to 3600 (default 6); a run lasts about (2 x targets + 2) x it
  --lf-dir DIR       libFuzzer builds with ASan+UBSan (default build/fuzz-libfuzzer)
  --lf-fast-dir DIR  libFuzzer builds without sanitizer (default build/fuzz-libfuzzer-fast)
  --afl-dir DIR      AFL++ builds (default build/fuzz-afl)
  --server PATH      tcp-upper for the network-driven harness (default build/std/bin/tcp-upper)
  --std-dir DIR      standalone runners, optimized build (default build/std/bin)
  --san-dir DIR      standalone runners, ASan+UBSan build (default build/san/bin)
  --out DIR          where fuzz.md and fuzz.json go (default out/bench; created when missing, not its
                     parent); the table is printed too
  --impl-dir DIR     the engines of make fuzz IMPL=... (fuzz-impl-tcp, fuzz-impl-udp): adds their exec/s,
                     one process (one core) each, against tcp-upper and udp-upper of --std-dir,
                     their AFL++-instrumented builds in --afl-servers DIR (default build/afl-servers;
                     coverage on) and
                     servers/python/corrected.py, beside conform --random's sequences/s (--std-dir's
                     conform); each about --time seconds
  --version          the version
Exit 0, 1 when a measurement failed, 2 on a usage error or reports that cannot be written.
Examples:
  harness/fuzz/fuzz_bench.py --time 4 --out /tmp/fuzz-bench fuzz_tcp
  harness/fuzz/fuzz_bench.py --time 1m fuzz_tcp fuzz_udp fuzz_pcap
"""
import getopt, glob, json, math, os, pathlib, re, select, shutil, signal, socket, subprocess, sys, tempfile
import time
from types import SimpleNamespace

import engines

PROG = "fuzz-bench"  # the name its messages have always carried (make bench-fuzz's output)

class Failed(Exception):
    """A measurement that gave no figure; the message says why."""

# The engines run in our process group (group=False), so that a Ctrl-C ends them with us.
def libfuzzer_rate(binary, seeds, secs, dict_arg):
    """libFuzzer's executed units per second of wall time (its average_exec_per_sec counts whole seconds)."""
    with tempfile.TemporaryDirectory(prefix="fuzz-bench.", ignore_cleanup_errors=True) as work:
        t0 = time.monotonic()
        status, out = engines.run([binary, f"-max_total_time={secs}", "-print_final_stats=1", "-max_len=4096",
                                   f"-artifact_prefix={work}/", dict_arg, work, seeds], secs + 60,
                                  capture="both", group=False)
        dt = time.monotonic() - t0
    units = engines.libfuzzer_final_stats(out).get("number_of_executed_units")
    if units is None:
        raise Failed(f"libFuzzer failed ({engines.status_text(status)}): {out[-300:]}")
    if status:
        print(f"{PROG}: note: {os.path.basename(binary)} crashed after {dt:.0f} s (a finding: run make "
              "fuzz); rate measured up to the crash")
    return units / max(dt, 0.001)

def afl_rate(cmd, seeds, secs, dict_path):
    """afl-fuzz's execs_done over run_time, calibration included (what a user gets)."""
    with tempfile.TemporaryDirectory(prefix="fuzz-bench.", ignore_cleanup_errors=True) as work:
        argv = ["afl-fuzz", "-i", seeds, "-o", work, "-V", str(secs), "-t", "2000"]
        argv += (["-x", dict_path] if dict_path else []) + ["--"] + cmd
        status, out = engines.run(argv, secs + 120, capture="both", env=os.environ | engines.AFL_ENV,
                                  group=False)
        paths = [f"{work}/fuzzer_stats"] + sorted(glob.glob(f"{glob.escape(work)}/*/fuzzer_stats"))
        stats = [s for s in map(engines.afl_stats, paths) if s and s.has_execs]
    if not stats:
        raise Failed(f"afl-fuzz failed ({engines.status_text(status)}): {out[-300:]}")
    return stats[-1].execs / max(stats[-1].run_time or secs, 1)

def replay_rate(binary, path, secs):
    """One input run again and again in process by the standalone runner (-n), no engine, no file I/O;
    the runs grow fourfold until one measurement lasts secs / 2."""
    runs = 1000
    while True:
        status, out = engines.run([binary, "-n", str(runs), path], secs * 10 + 60, capture="stdout",
                                  group=False)
        m = re.search(r"in ([\d.]+) s: ([\d.]+) exec/s", out)
        if status != 0 or m is None:
            raise Failed(f"{binary} -n {runs} {path}: {engines.status_text(status)} {out[-200:]}")
        if float(m[1]) >= secs / 2 or runs >= 1 << 30:
            return float(m[2])
        runs *= 4

# ---- the network-driven harness: a fresh server per input, as AFLNet runs one ----
def network_once(server, data, wait=5.0):
    """Starts server on a free loopback port, sends data, half-closes, reads the reply until the server's
    FIN and stops the server (SIGTERM, SIGKILL after wait seconds). Returns None when the whole reply came
    (as many bytes as were sent), else why not; raises when the server or the connection cannot be had.
    The server runs in our process group, so that a Ctrl-C ends it with us."""
    cmd = [server, "-l", "127.0.0.1:0"]
    try:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except OSError as e:
        raise Failed(f"cannot run '{server}': {e.strerror}")
    try:  # its first stderr line says where it listens, by the servers' contract
        ready = select.select([p.stderr], [], [], wait)[0]
        line = (p.stderr.readline() if ready else b"").decode(errors="replace")
        if (m := re.search(r"listening on tcp \S+:(\d+)$", line)) is None:
            raise Failed(f"'{' '.join(cmd)}' gave no 'listening on tcp ADDR:PORT' line within {wait:.0f} s; "
                         f"its first line: {line.strip() or '(none)'}")
        got = 0
        with socket.create_connection(("127.0.0.1", int(m[1])), timeout=wait) as s:
            try:  # the inputs are small seeds: the socket buffers hold one while nothing reads
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
                while chunk := s.recv(65536):
                    got += len(chunk)
            except (ConnectionError, TimeoutError) as e:
                return f"{e.strerror or e} after {got} of {len(data)} reply bytes"
        return None if got == len(data) else f"{got} reply bytes for the {len(data)} sent"
    finally:
        p.terminate()
        try:
            p.wait(wait)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        p.stderr.close()

def network_rate(server, inputs, secs):
    """Executions per second of network_once() over secs seconds, cycling through the inputs."""
    if not inputs:
        raise Failed("no inputs (corpus/tcp-upper-inetd/seed-*)")
    start, n, bad, last = time.monotonic(), 0, 0, ""
    while time.monotonic() - start < secs:
        why = network_once(server, inputs[n % len(inputs)])
        n += 1
        if why is not None:
            bad, last = bad + 1, why
    if bad:
        raise Failed(f"{bad} of {n} network executions did not get their whole reply (the last: {last})")
    return n / (time.monotonic() - start)

# ---- the measurements: a row per target, a column (its JSON key) per way of running it ----
LF, LF_NOSAN, AFL = "libfuzzer_asan_ubsan", "libfuzzer_nosan", "aflpp"
SA_SAN, SA_STD, NET = "standalone_san", "standalone_std", "network"
errors = []

def note(what, measure):
    """Runs a measurement and says its rate, or "failed" with the reason kept; NaN when it failed."""
    try:
        rate = measure()
    except (Failed, OSError) as e:  # OSError: a program that cannot run, a refused connection...
        why = f"{e.filename}: {e.strerror}" if getattr(e, "filename", None) else e
        errors.append(f"{what}: {why}")
        rate = math.nan
    print(f"{PROG}: {what}: {rate:.0f} exec/s" if rate > 0 else f"{PROG}: {what}: failed", flush=True)
    return rate

def measure_target(o, t, have_afl):
    """The three engine figures of one fuzz target; one not measured (no build, no afl-fuzz) is NaN."""
    seeds, dict_path, fast = f"corpus/{t}", f"harness/fuzz/{t}.dict", f"{o.lf_fast_dir}/{t}"
    afl_cmd = [os.path.realpath(f"{o.afl_dir}/{t}")]
    return {"target": t,
            LF: note(f"{t} libFuzzer+ASan+UBSan",
                     lambda: libfuzzer_rate(f"{o.lf_dir}/{t}", seeds, o.time, f"-dict={dict_path}")),
            LF_NOSAN: note(f"{t} libFuzzer (no sanitizer)",
                           lambda: libfuzzer_rate(fast, seeds, o.time, f"-dict={dict_path}"))
            if os.access(fast, os.X_OK) else math.nan,
            AFL: note(f"{t} AFL++ persistent", lambda: afl_rate(afl_cmd, seeds, o.time, dict_path))
            if have_afl else math.nan}

def measure_whole(o, have_afl):
    """The whole server: AFL++'s fork server on tcp-upper --inetd, the network-driven harness on every
    seed and on "hello world\\n" alone, and the standalone runners on the same hello input."""
    half, seeds = max(o.time // 2, 1), "corpus/tcp-upper-inetd"
    afl_cmd = [os.path.realpath(f"{o.afl_dir}/tcp-upper"), "--inetd"]
    whole = {"target": "tcp-upper --inetd",
             AFL: note("tcp-upper --inetd AFL++ fork server", lambda: afl_rate(afl_cmd, seeds, o.time, None))
             if have_afl else math.nan}
    inputs = [pathlib.Path(path).read_bytes() for path in sorted(glob.glob(f"{seeds}/seed-*"))[:256]]
    whole[NET] = note("network-driven (fresh tcp-upper per input, loopback)",
                      lambda: network_rate(o.server, inputs, o.time))
    same = {"target": "same input: hello world + FIN",
            NET: note("network-driven, hello world only",
                      lambda: network_rate(o.server, [b"hello world\n"], half))}
    for column, bindir in ((SA_SAN, o.san_dir), (SA_STD, o.std_dir)):
        if os.access(binary := f"{bindir}/fuzz_tcp-standalone", os.X_OK):
            same[column] = note(f"fuzz_tcp {column} replaying seed-hello",
                                lambda: replay_rate(binary, "corpus/fuzz_tcp/seed-hello", half))
    return [whole, same]

# ---- fuzzing an implementation over real sockets (make fuzz IMPL=...) ----
def impl_rate(engine, cmd, seeds, secs, extra=()):
    """An engine's executed inputs per second of wall time (server start included) against cmd, and its
    coverage mode from its start line."""
    with tempfile.TemporaryDirectory(prefix="fuzz-bench.", ignore_cleanup_errors=True) as work:
        t0 = time.monotonic()
        status, out = engines.run([engine, f"-max_total_time={secs}", "-print_final_stats=1",
                                   f"-artifact_prefix={work}/", *extra, work, seeds], secs + 60, capture="both",
                                  env=os.environ | {"CAPSLOCK_IMPL": cmd}, group=False)
        dt = time.monotonic() - t0
    units = engines.libfuzzer_final_stats(out).get("number_of_executed_units")
    if units is None or status:
        finding = re.search(r"capslock-finding: .*", out)
        raise Failed(f"{os.path.basename(engine)} against {cmd}: {engines.status_text(status)}: " +
                     (finding[0] if finding else out[-300:]))
    mode = re.search(r"capslock-impl: target \w+, coverage: (\w[\w-]*)", out)
    return units / max(dt, 0.001), mode[1] if mode else "?"

def conform_random_rate(conform, server, secs):
    """conform --random's sequences per second against a server (the random phase alone)."""
    n = max(20, secs * 20)
    status, out = engines.run([conform, "--exec-tcp", f"{server} -l 127.0.0.1:0", "--only", "random/*",
                               "--random", str(n), "--seed", "1"], secs * 20 + 120, capture="both", group=False)
    m = re.search(r"(\d+) passed, (\d+) failed.* in ([\d.]+) s", out)
    if status != 0 or m is None:
        raise Failed(f"conform --random: {engines.status_text(status)} {out[-300:]}")
    return int(m[1]) / float(m[3])

def measure_impl(o):
    """Rows (server, engine, coverage, exec/s): the engines against each server, one process each."""
    rows, afl, std, py = [], o.afl_servers, o.std_dir, "python3 servers/python/corrected.py {port}"
    tcp = f"{std}/tcp-upper -l 127.0.0.1:{{port}}"
    plan = [("tcp-upper", "fuzz-impl-tcp", "corpus/fuzz_tcp", tcp),
            ("tcp-upper, inputs of at most 64 bytes", "fuzz-impl-tcp", "corpus/fuzz_tcp", tcp),
            ("tcp-upper, afl-clang-fast build", "fuzz-impl-tcp", "corpus/fuzz_tcp",
             f"{afl}/tcp-upper -l 127.0.0.1:{{port}}"),
            ("udp-upper", "fuzz-impl-udp", "corpus/fuzz_udp", f"{std}/udp-upper -l 127.0.0.1:{{port}}"),
            ("udp-upper, afl-clang-fast build", "fuzz-impl-udp", "corpus/fuzz_udp",
             f"{afl}/udp-upper -l 127.0.0.1:{{port}}"),
            ("corrected.py", "fuzz-impl-tcp", "corpus/fuzz_tcp", py),
            ("corrected.py", "fuzz-impl-udp", "corpus/fuzz_udp", py)]
    for server, engine, seeds, cmd in plan:
        if not os.access(cmd.split()[0], os.X_OK) and not cmd.startswith("python3"):
            continue
        mode = []

        def measure(engine=engine, cmd=cmd, seeds=seeds, server=server):
            extra = ["-max_len=64"] if "64 bytes" in server else []  # the seeds' backpressure inputs send MBs
            rate, how = impl_rate(f"{o.impl_dir}/{engine}", cmd, seeds, o.time, extra)
            mode.append(how)
            return rate

        rate = note(f"{engine} against {server}", measure)
        rows.append({"server": server, "engine": engine, "coverage": (mode or ["-"])[0], "exec_per_s": rate})
    rows.append({"server": "tcp-upper", "engine": "conform --random (sequences/s, not inputs)", "coverage": "-",
                 "exec_per_s": note("conform --random against tcp-upper",
                                    lambda: conform_random_rate(f"{std}/conform", f"{std}/tcp-upper", o.time))})
    return rows

def impl_markdown(impl_rows, rows):
    tcp = next((r for r in rows if r["target"] == "fuzz_tcp"), {})
    text = ("\n## Fuzzing an implementation over real sockets (make fuzz IMPL=...)\n\nOne engine process "
            "(one core) each, its server started once and kept; exec/s over wall time, start included. "
            "In process for comparison: fuzz_tcp under libFuzzer (no sanitizer "
            f"{fmt(tcp.get(LF_NOSAN, 0))}, ASan+UBSan {fmt(tcp.get(LF, 0))}).\n\n"
            "| server | engine | coverage | exec/s |\n|---|---|---|---:|\n")
    for r in impl_rows:
        text += f"| {r['server']} | {r['engine']} | {r['coverage']} | {fmt(r['exec_per_s'])} |\n"
    return text

# ---- the reports ----
def compute_ratios(rows):
    """The summary's ratios and the figures they divide (0, or NaN for a ratio, when one is missing):
    fuzzing throughput (fuzz_tcp's fastest engine, and its ASan+UBSan libFuzzer, over the network-driven
    harness on the seeds) and the same input (in process, std and san builds, over the network)."""
    def get(target, column):
        v = next((r for r in rows if r["target"] == target), {}).get(column, 0)
        return v if v > 0 else 0

    def divide(a, b):
        return a / b if a > 0 and b > 0 else math.nan

    tcp, same = {c: get("fuzz_tcp", c) for c in (LF, LF_NOSAN, AFL)}, "same input: hello world + FIN"
    best_column = max(tcp, key=tcp.get)  # the first of the fastest, LF when none was measured
    q = dict(best_column=best_column, best_in=tcp[best_column], asan_in=tcp[LF],
             net=get("tcp-upper --inetd", NET), hello_std=get(same, SA_STD), hello_san=get(same, SA_SAN),
             hello_net=get(same, NET))
    q.update(best=divide(q["best_in"], q["net"]), asan=divide(q["asan_in"], q["net"]),
             same=divide(max(q["hello_std"], q["hello_san"]), q["hello_net"]),
             same_san=divide(q["hello_san"], q["hello_net"]))
    return q

def fmt(v):
    """A rate for the table: "-" when missing or zero, else whole, with a space between thousands."""
    return engines.fmt_count(int(v + 0.5)) if v > 0 else "-"

def ratios_text(q):
    engine = {LF: "libFuzzer + ASan + UBSan", LF_NOSAN: "libFuzzer, no sanitizer", AFL: "AFL++"}
    text, fastest = "", engine[q["best_column"]]
    if q["best"] > 0:
        text += (f"**Fuzzing throughput ratio: {fmt(q['best'])}x** = exec/s while fuzzing, fuzz_tcp in "
                 f"process with its fastest engine ({fastest}, {fmt(q['best_in'])} exec/s) / the "
                 "network-driven harness fuzzing tcp-upper (a fresh server per input over loopback, "
                 f"{fmt(q['net'])} exec/s).")
        if q["asan"] > 0:
            text += f" With ASan + UBSan: {fmt(q['asan'])}x ({fmt(q['asan_in'])} / {fmt(q['net'])})."
        text += "\n\n"
    if q["same"] > 0:
        std = q["hello_std"] >= q["hello_san"]
        text += (f"**Same-input ratio: {fmt(q['same'])}x** = one input (\"hello world\\n\", then FIN) run "
                 f"again and again, in process without an engine ({'optimized' if std else 'ASan+UBSan'} "
                 f"build, {fmt(q['hello_std'] if std else q['hello_san'])} exec/s) / over the network (a "
                 f"fresh server each time, {fmt(q['hello_net'])} exec/s).")
        if q["same_san"] > 0:
            text += (f" Under ASan + UBSan: {fmt(q['same_san'])}x ({fmt(q['hello_san'])} / "
                     f"{fmt(q['hello_net'])}).")
        text += " Goal: >= 1000x.\n\n"
    return text + ("The fuzzing ratio is the one that says how much faster fuzzing goes: one fuzz_tcp "
                   "execution is a whole script (up to 4 connections, every event), one network execution "
                   "is one server start, one connection, one input and its reply. The same-input ratio "
                   "compares the cost of one identical exchange.\n")

def markdown(o, rows, q, cores):
    text = (f"# Fuzzing speed (make bench-fuzz)\n\n{o.time} s per measurement, {cores} cores, "
            f"{time.strftime('%Y-%m-%d %H:%M %Z')}. exec/s.\n\n| target | libFuzzer + ASan + UBSan | "
            "libFuzzer, no sanitizer | AFL++ | in process, no engine (std / san) | network-driven |\n"
            "|---|---:|---:|---:|---:|---:|\n")
    for r in rows:
        standalone = f"{fmt(r[SA_STD])} / {fmt(r.get(SA_SAN, 0))}" if SA_STD in r else "-"
        text += (f"| {r['target']} | {fmt(r.get(LF, 0))} | {fmt(r.get(LF_NOSAN, 0))} | "
                 f"{fmt(r.get(AFL, 0))} | {standalone} | {fmt(r.get(NET, 0))} |\n")
    text += "\n" + ratios_text(q)
    if o.impl_rows:
        text += impl_markdown(o.impl_rows, rows)
    return text + ("\nErrors:\n" + "".join(f"- {e}\n" for e in errors) if errors else "")

def as_json(o, rows, q, cores):
    """fuzz.json, read by make bench's driver: a column not measured is null, one never set is left out."""
    def number(v):
        return None if isinstance(v, float) and not math.isfinite(v) else v

    out = {"seconds_per_measurement": o.time, "cores": cores,
           "rows": [{k: number(v) for k, v in r.items()} for r in rows],
           "ratio_in_process_vs_network_best": number(q["best"]),
           "ratio_in_process_asan_vs_network": number(q["asan"]),
           "ratio_same_input": number(q["same"]), "ratio_same_input_san": number(q["same_san"])}
    if o.impl_rows:  # --impl-dir: the fuzz-impl engines' rows (server, engine, coverage, exec_per_s)
        out["impl_rows"] = [{k: number(v) for k, v in r.items()} for r in o.impl_rows]
    return json.dumps(out | {"errors": errors}, indent=2)

# ---- set-up ----
def die(message, usage=False):
    """A usage error (one line and where the help is, as every program), or reports that cannot be
    written: the message, exit 2."""
    sys.stderr.write(f"{PROG}: {message}\n" + (f"Try '{PROG} --help' for more information.\n" if usage else ""))
    sys.exit(2)

def parse_options(argv):
    """The options, an attribute each (dashes as underscores), and the targets."""
    o = {"time": "6", "lf-dir": "build/fuzz-libfuzzer", "lf-fast-dir": "build/fuzz-libfuzzer-fast",
         "afl-dir": "build/fuzz-afl", "server": "build/std/bin/tcp-upper", "std-dir": "build/std/bin",
         "san-dir": "build/san/bin", "out": "out/bench", "impl-dir": "",
         "afl-servers": "build/afl-servers"}
    try:
        opts, targets = getopt.gnu_getopt(argv, "h", ["help", "version"] + [f"{k}=" for k in o])
    except getopt.GetoptError as e:
        die(engines.getopt_error(e), usage=True)
    for k, v in opts:
        if k in ("-h", "--help"):
            sys.stdout.write(__doc__)
            sys.exit(0)
        if k == "--version":
            print(f"{PROG} (capslock) {engines.version()}")
            sys.exit(0)
        o[k[2:]] = v
    seconds = engines.duration(o["time"])
    if seconds is None or seconds != int(seconds) or not 1 <= seconds <= 3600:
        die(f"--time {o['time']}: expected whole seconds from 1 to 3600 (a unit is allowed: 90s, 2m)",
            usage=True)
    if not 1 <= len(targets) <= 60:
        die("expected 1 to 60 target names", usage=True)
    o = {k.replace("-", "_"): v for k, v in o.items()} | {"time": int(seconds), "targets": targets}
    return SimpleNamespace(**o)

def main(argv):
    o = parse_options(argv)
    try:
        engines.make_out_dir(o.out, "out/bench")
    except OSError as e:
        die(f"--out {o.out}: {e.filename}: {e.strerror}")
    have_afl = shutil.which("afl-fuzz") is not None
    rows = [measure_target(o, t, have_afl) for t in o.targets] + measure_whole(o, have_afl)
    o.impl_rows = measure_impl(o) if o.impl_dir else []
    q, cores = compute_ratios(rows), os.sysconf("SC_NPROCESSORS_ONLN")
    md = markdown(o, rows, q, cores)
    for name, text in (("fuzz.md", md), ("fuzz.json", as_json(o, rows, q, cores))):
        try:
            with open(f"{o.out}/{name}", "w") as f:
                f.write(text)
        except OSError as e:
            die(f"cannot write {o.out}/{name}: {e.strerror}")
    print(f"\n{md}(written to {o.out}/fuzz.md and fuzz.json)")
    return 1 if errors else 0

if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C ends us, and the server with us, as it ends make
    sys.exit(main(sys.argv[1:]))

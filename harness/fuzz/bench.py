#!/usr/bin/env python3
"""bench.py - `make bench-fuzz`: executions per second of each fuzz target under libFuzzer and AFL++,
and, in the same run, of a network-driven harness that starts a fresh tcp-upper for every input and
sends the input over loopback (as AFLNet does). Writes out/bench/fuzz.json and out/bench/fuzz.md and
prints the table. Each measurement lasts --time seconds (BENCH_FUZZ_TIME), so the whole run is
bounded by about (2 x targets + 2) x time. Exit 0, or 1 when a measurement failed.
"""
import argparse
import glob
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time


def libfuzzer_rate(binary, seeds, secs, extra):
    with tempfile.TemporaryDirectory() as work:
        cmd = [binary, f"-max_total_time={secs}", "-print_final_stats=1", "-max_len=4096",
               f"-artifact_prefix={work}/"] + extra + [work, seeds]
        t0 = time.time()
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=secs + 60)
        dt = time.time() - t0
        out = p.stdout.decode("utf-8", "replace")
    m = re.search(r"stat::number_of_executed_units:\s*(\d+)", out)
    if not m:
        return None, f"libFuzzer failed (exit {p.returncode}): {out[-300:]}"
    if p.returncode != 0:
        print(f"bench-fuzz: note: {os.path.basename(binary)} crashed after {dt:.0f} s (a finding: run make fuzz); "
              "rate measured up to the crash", flush=True)
    return int(m.group(1)) / max(dt, 0.001), None


def afl_rate(cmd, seeds, secs, extra):
    env = dict(os.environ, AFL_SKIP_CPUFREQ="1", AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES="1", AFL_NO_UI="1",
               AFL_NO_AFFINITY="1")
    with tempfile.TemporaryDirectory() as out:
        full = ["afl-fuzz", "-i", seeds, "-o", out, "-V", str(secs), "-t", "2000"] + extra + ["--"] + cmd
        p = subprocess.run(full, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=secs + 120, env=env)
        stats = {}
        for st in glob.glob(os.path.join(out, "**", "fuzzer_stats"), recursive=True):
            with open(st) as f:
                for line in f:
                    k, _, v = line.partition(":")
                    stats[k.strip()] = v.strip()
        if "execs_done" not in stats:
            return None, f"afl-fuzz failed (exit {p.returncode}): {p.stdout.decode('utf-8', 'replace')[-300:]}"
        # Over the fuzzing time, calibration included: what a user gets.
        run_time = max(1.0, float(stats.get("run_time", secs)))
        return int(stats["execs_done"]) / run_time, None


def replay_rate(binary, path, secs):
    """One input run again and again in process by the standalone runner (-n), no engine, no file I/O."""
    runs = 1000
    while True:
        p = subprocess.run([binary, "-n", str(runs), path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=secs * 10 + 60)
        out = p.stdout.decode("utf-8", "replace")
        m = re.search(r"in ([0-9.]+) s: ([0-9]+) exec/s", out)
        if p.returncode != 0 or not m:
            return None, f"{binary} -n {runs} {path}: exit {p.returncode} {out[-200:]}"
        if float(m.group(1)) >= secs / 2 or runs >= 1 << 30:
            return float(m.group(2)), None
        runs *= 4


def network_rate(server, inputs, secs):
    """A fresh server per input, the input over loopback, the whole reply read back (AFLNet's way)."""
    n = 0
    ok = 0
    start = time.time()
    while time.time() - start < secs:
        data = inputs[n % len(inputs)]
        n += 1
        p = subprocess.Popen([server, "-l", "127.0.0.1:0"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        try:
            line = p.stderr.readline().decode("utf-8", "replace").strip()
            m = re.match(r"listening on tcp (\S+):(\d+)$", line)
            if not m:
                return None, f"{server}: unexpected first line {line!r}"
            s = socket.create_connection(("127.0.0.1", int(m.group(2))), timeout=5)
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            got = 0
            while True:
                b = s.recv(65536)
                if not b:
                    break
                got += len(b)
            s.close()
            if got == len(data):
                ok += 1
        finally:
            p.terminate()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            p.stderr.close()
    elapsed = time.time() - start
    if ok != n:
        return None, f"{n - ok} of {n} network executions got a reply of the wrong length"
    return n / elapsed, None


def main():
    ap = argparse.ArgumentParser(description="Fuzzing speed: in-process engines vs a network-driven harness.")
    ap.add_argument("--time", type=int, default=6, help="seconds per measurement (default 6)")
    ap.add_argument("--lf-dir", default="build/fuzz-libfuzzer")
    ap.add_argument("--lf-fast-dir", default="build/fuzz-libfuzzer-fast",
                    help="libFuzzer build without sanitizers (engine speed)")
    ap.add_argument("--afl-dir", default="build/fuzz-afl")
    ap.add_argument("--server", default="build/std/bin/tcp-upper")
    ap.add_argument("--std-dir", default="build/std/bin", help="standalone runners, optimized build")
    ap.add_argument("--san-dir", default="build/san/bin", help="standalone runners, ASan+UBSan build")
    ap.add_argument("--out", default="out/bench")
    ap.add_argument("targets", nargs="+")
    args = ap.parse_args()
    if args.time < 1:
        ap.error("--time must be at least 1")
    os.makedirs(args.out, exist_ok=True)
    have_afl = shutil.which("afl-fuzz") is not None
    rows, errors = [], []

    def note(what, r):
        rate, err = r
        if err:
            errors.append(f"{what}: {err}")
        print(f"bench-fuzz: {what}: " + (f"{rate:.0f} exec/s" if rate else "failed"), flush=True)
        return rate

    for t in args.targets:
        seeds = os.path.join("corpus", t)
        d = os.path.join("harness", "fuzz", t + ".dict")
        row = {"target": t}
        row["libfuzzer_asan_ubsan"] = note(f"{t} libFuzzer+ASan+UBSan",
                                           libfuzzer_rate(os.path.join(args.lf_dir, t), seeds, args.time,
                                                          [f"-dict={d}"]))
        fast = os.path.join(args.lf_fast_dir, t)
        row["libfuzzer_nosan"] = note(f"{t} libFuzzer (no sanitizer)",
                                      libfuzzer_rate(fast, seeds, args.time, [f"-dict={d}"])) \
            if os.access(fast, os.X_OK) else None
        row["aflpp"] = note(f"{t} AFL++ persistent",
                            afl_rate([os.path.abspath(os.path.join(args.afl_dir, t))], seeds, args.time, ["-x", d])) \
            if have_afl else None
        rows.append(row)
    inetd_seeds = os.path.join("corpus", "tcp-upper-inetd")
    whole = {"target": "tcp-upper --inetd"}
    whole["aflpp"] = note("tcp-upper --inetd AFL++ fork server",
                          afl_rate([os.path.abspath(os.path.join(args.afl_dir, "tcp-upper")), "--inetd"],
                                   inetd_seeds, args.time, [])) if have_afl else None
    inputs = []
    for f in sorted(glob.glob(os.path.join(inetd_seeds, "seed-*"))):
        with open(f, "rb") as fh:
            inputs.append(fh.read())
    net = note("network-driven (fresh tcp-upper per input, loopback)", network_rate(args.server, inputs, args.time))
    whole["network"] = net
    rows.append(whole)
    # The same message both ways: "hello world\n" then FIN, one connection.
    hello_net = note("network-driven, hello world only",
                     network_rate(args.server, [b"hello world\n"], max(1, args.time // 2)))
    hello_in = {}
    for name, d in (("standalone_san", args.san_dir), ("standalone_std", args.std_dir)):
        b = os.path.join(d, "fuzz_tcp-standalone")
        if os.access(b, os.X_OK):
            hello_in[name] = note(f"fuzz_tcp {name} replaying seed-hello",
                                  replay_rate(b, os.path.join("corpus", "fuzz_tcp", "seed-hello"),
                                              max(1, args.time // 2)))
    rows.append({"target": "same input: hello world + FIN", "network": hello_net, **hello_in})

    hello_best = max([v for v in hello_in.values() if v] or [0])
    ratio_same = hello_best / hello_net if hello_net and hello_best else None
    ratio_same_san = hello_in["standalone_san"] / hello_net if hello_net and hello_in.get("standalone_san") else None
    best_in = max((r.get(k) or 0) for r in rows if r["target"] == "fuzz_tcp"
                  for k in ("libfuzzer_asan_ubsan", "libfuzzer_nosan", "aflpp")) if rows else 0
    asan_tcp = next((r["libfuzzer_asan_ubsan"] for r in rows if r["target"] == "fuzz_tcp"), None)
    ratio_best = best_in / net if net and best_in else None
    ratio_asan = asan_tcp / net if net and asan_tcp else None

    def f(v):
        return f"{v:,.0f}".replace(",", " ") if v else "-"

    md = ["# Fuzzing speed (make bench-fuzz)", "",
          f"{args.time} s per measurement, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M %Z')}. exec/s.", "",
          "| target | libFuzzer + ASan + UBSan | libFuzzer, no sanitizer | AFL++ | in process, no engine (std / san) "
          "| network-driven |",
          "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        sa = f"{f(r.get('standalone_std'))} / {f(r.get('standalone_san'))}" if "standalone_std" in r else "-"
        md.append(f"| {r['target']} | {f(r.get('libfuzzer_asan_ubsan'))} | {f(r.get('libfuzzer_nosan'))} | "
                  f"{f(r.get('aflpp'))} | {sa} | {f(r.get('network'))} |")
    md.append("")
    if ratio_best:
        md.append(f"Fuzzing throughput, fuzz_tcp (fastest engine) vs the network-driven harness: "
                  f"**{f(ratio_best)}x** ({f(ratio_asan)}x with ASan+UBSan).")
    if ratio_same:
        md.append(f"Same input (hello world, then FIN) in process vs over the network: **{f(ratio_same)}x** "
                  f"(std build; {f(ratio_same_san)}x under ASan+UBSan). Goal: >= 1000x.")
    md.append("One fuzz_tcp execution is a whole script (up to 4 connections, every event); one network "
              "execution is one server start, one connection, one input and its reply.")
    if errors:
        md += ["", "Errors:"] + [f"- {e}" for e in errors]
    text = "\n".join(md) + "\n"
    with open(os.path.join(args.out, "fuzz.md"), "w") as fh:
        fh.write(text)
    with open(os.path.join(args.out, "fuzz.json"), "w") as fh:
        json.dump({"seconds_per_measurement": args.time, "cores": os.cpu_count(), "rows": rows,
                   "ratio_in_process_vs_network_best": ratio_best, "ratio_in_process_asan_vs_network": ratio_asan,
                   "ratio_same_input": ratio_same, "ratio_same_input_san": ratio_same_san,
                   "errors": errors}, fh, indent=2)
    print("\n" + text + f"(written to {args.out}/fuzz.md and fuzz.json)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""impl_proofs.py - make fuzz-impl-proofs: that fuzzing an implementation (make fuzz IMPL=...) finds bugs
conform's fixed cases miss, and reports nothing on correct servers. Each run is a short libFuzzer run of
fuzz-impl-tcp or fuzz-impl-udp against one server, two at a time (the cores):

  - the lost-wakeup mutant (T7, every fixed case passes it) and halfclose-after-reset (a new one
    conform's fixed cases miss) are found black-box;
  - heap-4k-reset built with clang -fsanitize=address is found (its heap overflow shows only to ASan);
  - rare-branch built with afl-clang-fast is found with coverage on (the engine says "instrumented")
    within --cov-runs inputs (100 000; at most --cov-time s, 100); then the same mutant built without
    instrumentation runs black-box for the same time (5 s at least), from the same seed, and whether it
    found the bug is printed as a figure (not asserted: black-box found it in 2 of 9 runs);
  - tcp-upper, udp-upper, servers/python/corrected.py and thread_per_connection.py: no finding, and
    inputs were run (a run that executed nothing fails);
  - a target off loopback is refused before anything is sent.

usage: impl_proofs.py --engines DIR --bin DIR --mutants DIR --asan-mutants DIR --afl-mutants DIR
                      [--time SECONDS] [--clean-time SECONDS] [--cov-time SECONDS] [--cov-runs N]
                      [--only NAME]... | --help | --version
Prints one line per proof and the seconds each took; exit 0 when all hold, 1 when one fails, 2 on a
usage or set-up error (an engine or server missing).
"""
import concurrent.futures, getopt, glob, os, shutil, sys, tempfile, time

import engines, impl_findings

PROG = "fuzz-impl-proofs"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The seeds: the committed corpus with the engine's scenario inputs (harness/fuzz/impl-seeds); for the
# coverage proof, one small input alone (seed-hello) and short inputs, so that both modes start equal.
FULL, SMALL = "full", "small"

def fuzz(engine, target, cmd, secs, seeds=FULL, runs=0):
    """A libFuzzer run of engine against cmd for at most secs seconds (and runs inputs, when given),
    stopping at the first finding. Returns (findings, executed units, coverage mode, seconds, log tail)."""
    base = "fuzz_" + target.removeprefix("fuzz-impl-")
    proto = target.removeprefix("fuzz-impl-")
    with tempfile.TemporaryDirectory(prefix="capslock-proof.") as work:
        os.makedirs(f"{work}/corpus")
        env = impl_findings.env_for(cmd)
        if seeds == SMALL:
            shutil.copy(f"{ROOT}/corpus/{base}/seed-hello", f"{work}/corpus/")
            # short inputs all cost about the same: the engine's scaling of energy by execution time
            # (for the floods of stopped clients) only slows the climb here
            flags = ["-max_len=64", "-use_counters=0", "-entropic_scale_per_exec_time=0"]
            dirs = [f"{work}/corpus"]
        else:
            for f in glob.glob(f"{ROOT}/harness/fuzz/impl-seeds/{proto}-*"):
                shutil.copy(f, f"{work}/corpus/")
            flags = [f"-dict={ROOT}/harness/fuzz/{base}.dict"]
            dirs = [f"{work}/corpus", f"{ROOT}/corpus/{base}"]
        flags += [f"-runs={runs}"] if runs else []
        argv = [engine, f"-max_total_time={secs}", "-print_final_stats=1", "-timeout=10",
                f"-artifact_prefix={work}/", *flags, *dirs]
        t0 = time.monotonic()
        rc, text = engines.run(argv, secs + 60, capture="both", env=env)
        took = time.monotonic() - t0
    execs = engines.libfuzzer_final_stats(text).get("number_of_executed_units", 0)
    execs = execs or engines.libfuzzer_figures(text)[0]
    return impl_findings.findings_of(text), execs, impl_findings.coverage_mode(text), took, text[-1500:]

def expect_finding(engine, target, cmd, secs, rules, mode=None, seeds=FULL, runs=0):
    """A proof that a finding of one of rules (or places) comes within secs (and runs inputs), and, given
    mode, that the engine's coverage mode starts with it. Returns (ok, line)."""
    found, execs, cov, took, tail = fuzz(engine, target, cmd, secs, seeds, runs)
    if mode and not (cov or "").startswith(mode):
        return False, f"coverage mode {cov!r}, expected {mode} ({execs} execs)\n{tail}"
    hit = [f for f in found if f[0] in rules or f[1] in rules]  # by rule, or by place ("no-progress")
    if not hit:
        what = "; ".join(f"{r} {w}: {s}" for r, w, s in found) or "no finding"
        bound = f"{runs} inputs or {secs} s" if runs else f"{secs} s"
        return False, f"expected a {'/'.join(sorted(rules))} finding within {bound}: {what} ({execs} execs)\n{tail}"
    r, w, s = hit[0]
    return True, f"found {r} at {w} after {took:.1f} s, {execs} execs ({cov}): {s}"

def expect_clean(engine, target, cmd, secs, seeds=FULL, runs=0):
    found, execs, cov, took, tail = fuzz(engine, target, cmd, secs, seeds, runs)
    if found:
        return False, "false positive: " + "; ".join(f"{r} {w}: {s}" for r, w, s in found) + f"\n{tail}"
    if execs <= 0:
        return False, f"no input was executed in {took:.0f} s (nothing checked)\n{tail}"
    return True, f"nothing in {took:.0f} s, {execs} execs ({execs / max(took, 0.001):.0f}/s, {cov})"

def coverage_beats_black_box(engine, target, instrumented, plain, secs, runs):
    """The coverage proof: the instrumented build's bug found with coverage on (the engine says
    "instrumented") within runs inputs (and secs s); then the plain build, black-box, from the same seed
    for as long as that took (5 s at least), must not show it. Returns (ok, line)."""
    ok, line = expect_finding(engine, target, instrumented, secs, {"X1"}, "instrumented", SMALL, runs)
    if not ok:
        return ok, "with coverage: " + line
    took = float(line.split(" after ")[1].split(" s,")[0])
    same = max(int(took + 0.999), 5)
    ok2, line2 = expect_clean(engine, target, plain, same, SMALL)
    # the black-box run is a figure, not asserted: on this host it missed the bug in the same time in 7
    # of 9 runs, and a check that fails one run in five would teach people to ignore it
    bb = "not found" if ok2 else "FOUND too"
    return ok, (f"with coverage {line.split(' (')[0]}; black-box for {same} s: {bb} "
                f"(a figure, not asserted): {line2.splitlines()[0]}")

def expect_refused(engine, target, addr):
    """The engine must refuse a target off loopback: exit non-zero quickly, no input run, naming it."""
    var = "CAPSLOCK_IMPL_" + target.removeprefix("fuzz-impl-").upper()
    env = {k: v for k, v in os.environ.items() if k != "CAPSLOCK_IMPL"}
    env[var] = addr
    t0 = time.monotonic()
    rc, text = engines.run([engine, "-runs=10"], 30, capture="both", env=env)
    ran = engines.libfuzzer_final_stats(text).get("number_of_executed_units", 0) or "INITED" in text
    if rc in (0, None) or ran:
        return False, f"{var}={addr}: {engines.status_text(rc)}, ran inputs: {bool(ran)}\n{text[-800:]}"
    return True, f"{var}={addr} refused in {time.monotonic() - t0:.1f} s ({engines.status_text(rc)})"

def proofs(o):
    e = {t: os.path.join(o.engines, t) for t in ("fuzz-impl-tcp", "fuzz-impl-udp")}
    m, py = lambda d, n: os.path.join(d, n), f"python3 {ROOT}/servers/python"
    T, C = o.time, o.clean_time
    # (name, function, arguments), run two at a time in this order
    return [
        ("lost-wakeup", expect_finding, (e["fuzz-impl-tcp"], "fuzz-impl-tcp", m(o.mutants, "lost-wakeup"), T,
                                         {"T7", "no-progress"})),
        ("halfclose-after-reset", expect_finding, (e["fuzz-impl-tcp"], "fuzz-impl-tcp",
                                                   m(o.mutants, "halfclose-after-reset"), T, {"T4"})),
        ("heap-4k-reset-asan", expect_finding, (e["fuzz-impl-tcp"], "fuzz-impl-tcp",
                                                m(o.asan_mutants, "heap-4k-reset"), T, {"ASAN", "DEATH"})),
        ("rare-branch", coverage_beats_black_box, (e["fuzz-impl-tcp"], "fuzz-impl-tcp",
                                                   m(o.afl_mutants, "rare-branch"), m(o.mutants, "rare-branch"),
                                                   o.cov_time, o.cov_runs)),
        ("tcp-upper", expect_clean, (e["fuzz-impl-tcp"], "fuzz-impl-tcp", f"{o.bin}/tcp-upper -l 127.0.0.1:{{port}}", C)),
        ("udp-upper", expect_clean, (e["fuzz-impl-udp"], "fuzz-impl-udp", f"{o.bin}/udp-upper -l 127.0.0.1:{{port}}", C)),
        ("corrected.py-tcp", expect_clean, (e["fuzz-impl-tcp"], "fuzz-impl-tcp", f"{py}/corrected.py {{port}}", C)),
        ("corrected.py-udp", expect_clean, (e["fuzz-impl-udp"], "fuzz-impl-udp", f"{py}/corrected.py {{port}}", C)),
        ("thread_per_connection.py", expect_clean, (e["fuzz-impl-tcp"], "fuzz-impl-tcp",
                                                    f"{py}/thread_per_connection.py {{port}}", C)),
        ("loopback-only-tcp", expect_refused, (e["fuzz-impl-tcp"], "fuzz-impl-tcp", "192.0.2.1:9")),
        ("loopback-only-udp", expect_refused, (e["fuzz-impl-udp"], "fuzz-impl-udp", "192.0.2.1:9")),
    ]

def usage(message):
    print(f"{PROG}: {message}\nTry '{PROG} --help' for more information.", file=sys.stderr)
    sys.exit(2)

def main(argv):
    if argv[:1] == ["--help"]:
        print(__doc__[__doc__.index("usage:"):].rstrip())
        return 0
    if argv[:1] == ["--version"]:
        print(f"{PROG} (capslock) {engines.version()}")
        return 0
    keys = ["engines", "bin", "mutants", "asan-mutants", "afl-mutants", "time", "clean-time", "cov-time",
            "cov-runs", "only"]
    try:
        pairs, rest = getopt.getopt(argv, "", [k + "=" for k in keys])
    except getopt.GetoptError as e:
        usage(engines.getopt_error(e))
    g = {"time": "20", "clean-time": "5", "cov-time": "100", "cov-runs": "100000", "only": []}
    for k, v in pairs:
        if k == "--only":
            g["only"].append(v)
        else:
            g[k[2:]] = v
    if rest or any(k not in g for k in keys):
        usage("missing options" if not rest else f"unexpected argument {rest[0]}")
    o = type("O", (), {k.replace("-", "_"): v for k, v in g.items()})
    o.time, o.clean_time, o.cov_time, o.cov_runs = int(o.time), int(o.clean_time), int(o.cov_time), \
        int(o.cov_runs)
    todo = [p for p in proofs(o) if not o.only or p[0] in o.only]
    for name, f, args in todo:
        cmds = args[2:4] if f is coverage_beats_black_box else args[2:3] if f is not expect_refused else ()
        for a in args[:1] + tuple(a.split()[0] for a in cmds if not a.startswith("python3")):
            if not os.access(a, os.X_OK):
                print(f"{PROG}: {name}: {a} is not built", file=sys.stderr)
                return 2
    if not todo:
        usage("--only matched no proof")
    if shutil.which("python3") is None:
        print(f"{PROG}: python3 is not on PATH (the Python servers need it)", file=sys.stderr)
        return 2
    t0, failed = time.monotonic(), 0
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = [(name, pool.submit(f, *args)) for name, f, args in todo]
        for name, fut in results:
            ok, line = fut.result()
            failed += not ok
            print(f"{'PASS' if ok else 'FAIL'} {name}: {line}")
    print(f"{PROG}: {len(todo) - failed} of {len(todo)} proofs hold, {time.monotonic() - t0:.0f} s")
    return 1 if failed else 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""impl_findings.py - the findings of `make fuzz IMPL=...` (fuzz_run.py --impl), for fuzz_run.py and the
proofs (impl_proofs.py). Standard library only; nothing prints or exits.

The engines fuzz-impl-tcp / fuzz-impl-udp (libFuzzer targets that run each input against the user's
server over loopback, configured by CAPSLOCK_IMPL) print one line per finding before they abort:
    capslock-finding: RULE WHERE: SENTENCE
and one line when they start:
    capslock-impl: target tcp|udp, coverage: instrumented (N-byte map) | black-box (...)
A finding is keyed by (target, RULE, WHERE). Each unique one is shrunk (libFuzzer -minimize_crash=1 with
the same environment, bounded), confirmed against a freshly started server by impl-repro (inputs are not
isolated on a persistent server, so a finding may need the state earlier inputs left), written as an
input, a pcap and the one command that reproduces it, and matched with the conform cases that catch the
same bug."""
import glob, json, os, re, shlex, shutil, tempfile

import engines

FINDING = re.compile(r"capslock-finding: (\S+) (\S+?): (.*)")
WRITTEN = re.compile(r"Test unit written to (\S+)")
START = re.compile(r"capslock-impl: target (\w+), coverage: (.*)")
# what libFuzzer itself reports when no finding line came first (a hang of the engine, its own OOM)
_ENGINE_KIND = re.compile(r"ERROR: libFuzzer: ([\w-]+)|==\d+== ERROR: (\w+Sanitizer): ([\w-]+)")

def transport(target):
    """tcp or udp, from a target name such as fuzz-impl-tcp."""
    return "udp" if target.endswith("udp") else "tcp"

def env_for(cmd):
    """The environment of an engine fuzzing cmd (the {port} contract of conform --exec)."""
    return dict(os.environ, CAPSLOCK_IMPL=cmd)

def coverage_mode(text):
    """The engine's start line's coverage part ("instrumented (65536-byte map)"), None before it printed."""
    m = START.search(text)
    return m[2].split(";")[0].strip() if m else None

def scan_log(text):
    """A chunk log's crashes: [(rule, where, sentence, file)], the finding line before each "Test unit
    written" (a crash without one is keyed by what libFuzzer or a sanitizer reported)."""
    out, last = [], None
    for line in text.splitlines():
        if m := FINDING.search(line):
            last = (m[1], m[2], m[3].strip())
        elif m := WRITTEN.search(line):
            if last is None:
                k = _ENGINE_KIND.search(text)
                kind = (k[1] or f"{k[2]}: {k[3]}") if k else "crash"
                last = ("ENGINE", kind, f"the engine stopped with '{kind}' and no capslock-finding line")
            out.append((*last, m[1]))
            last = None
    return out

def findings_of(text):
    """Every capslock-finding line of a text as (rule, where, sentence)."""
    return [(m[1], m[2], m[3].strip()) for m in FINDING.finditer(text)]

def rerun(binary, cmd, path, timeout=60):
    """Runs the engine on one input (libFuzzer runs a file argument once). Returns its findings."""
    rc, text = engines.run([binary, path], timeout, env=env_for(cmd))
    return findings_of(text)

def shrink(binary, cmd, path, key, secs, extra):
    """A smaller input that gives the same (rule, where), found by -minimize_crash=1 within secs seconds;
    path itself when none is smaller or the engine could not shrink it."""
    with tempfile.TemporaryDirectory(prefix="capslock-shrink.") as work:
        engines.run([binary, "-minimize_crash=1", f"-max_total_time={int(max(secs, 1))}",
                     f"-artifact_prefix={work}/", "-timeout=10", *extra, path], secs + 30, env=env_for(cmd))
        best = path
        for f in sorted(glob.glob(os.path.join(work, "*")), key=os.path.getsize):
            if os.path.getsize(f) >= os.path.getsize(best):
                break
            if key in [(r, w) for r, w, _ in rerun(binary, cmd, f)]:
                out = path + ".min"
                shutil.copyfile(f, out)
                return out
        return best

def confirm(repro, cmd, target, path, key, timeout=60):
    """impl-repro against a freshly started server: (verdict, findings), verdict "same" (rule and place),
    "rule" (same rule, another place), "other", "none" (no finding) or "error: ..." (set-up error)."""
    argv = [repro, "--exec", cmd, "--" + transport(target), path]
    try:
        rc, text = engines.run(argv, timeout, capture="both")
    except OSError as e:
        return f"error: {e.filename}: {e.strerror}", []
    found = findings_of(text)
    if rc is None:
        return f"error: impl-repro did not end within {timeout} s", found
    if rc == 2:
        return "error: " + (text.strip().splitlines() or ["impl-repro: set-up error"])[-1][:200], found
    if any((r, w) == key for r, w, _ in found):
        return "same", found
    if any(r == key[0] for r, _, _ in found):
        return "rule", found
    return ("other" if found else "none"), found

def repro_command(repro, cmd, target, path):
    return f"{repro} --exec {shlex.quote(cmd)} --{transport(target)} {shlex.quote(path)}"

def write_pcap(replay, target, path, out):
    """The input as a pcap (replay --from-fuzz-input); None when written, else why not."""
    try:
        rc, text = engines.run([replay, "--from-fuzz-input", path, "--write-pcap", out, "--fuzz-format",
                                transport(target)], 60)
    except OSError as e:
        return f"{e.filename}: {e.strerror}"
    return None if rc == 0 and os.path.exists(out) else (text.strip().splitlines() or ["failed"])[-1][:200]

def conform_cases(conform):
    """conform --list as {case id: rule}; {} when it cannot be run."""
    try:
        rc, text = engines.run([conform, "--list"], 30, capture="stdout")
    except OSError:
        return {}
    cases = {}
    for line in text.splitlines()[1:]:
        words = line.split()
        if len(words) >= 2 and "/" in words[0]:
            cases[words[0]] = words[1]
    return cases

def conform_catches(conform, cmd, target, rule, cases, timeout=180):
    """Runs conform's fixed cases of the rule (all of the transport's for a death, a sanitizer report or a
    leak) against a fresh server. Returns (ids that failed, ids run, error or None)."""
    proto = transport(target) + "/"
    ids = [i for i, r in cases.items() if i.startswith(proto) and r == rule] or \
        [i for i in cases if i.startswith(proto) and not re.fullmatch(r"[XTUB]\d+", rule)]
    if not ids:
        return [], [], None
    with tempfile.TemporaryDirectory(prefix="capslock-conform.") as work:
        report = os.path.join(work, "r.json")
        argv = [conform, f"--exec-{transport(target)}", cmd, "--json", report]
        for i in ids:
            argv += ["--only", i]
        try:
            rc, _ = engines.run(argv, timeout, capture="both")
        except OSError as e:
            return [], ids, f"cannot run {e.filename}: {e.strerror}"
        try:
            with open(report) as f:
                rep = json.load(f)
        except (OSError, ValueError):
            return [], ids, f"conform wrote no report ({engines.status_text(rc)})"
    return [c["id"] for c in rep.get("cases", []) if c.get("status") == "fail"], ids, None

def _extra(t):
    return [a for a in t.extra if a.startswith("-max_len=")]

def _process(o, t, key, files, n, say):
    """One unique finding of target t: confirmed on a fresh server, shrunk, written under
    OUT/findings/NN-TARGET-RULE/. Returns its markdown."""
    (rule, where, sentence) = key
    d = os.path.join(o.out, "findings", f"{n:02d}-{t.name}-{re.sub(r'[^A-Za-z0-9]+', '-', rule)}")
    os.makedirs(d, exist_ok=True)
    # the smallest inputs first: the first that shows it again on a fresh server is the one kept (an
    # input may need the state earlier ones left on the persistent server)
    say(f"finding {n}: {t.name} {rule} {where}: confirming on a fresh server with {o.repro}")
    candidates = sorted(files, key=os.path.getsize)[:5]
    file, (verdict, found) = candidates[0], ("none", [])
    for f in candidates:
        v = confirm(o.repro, o.impl, t.name, f, (rule, where))
        if f is candidates[0] or v[0] in ("same", "rule"):
            file, (verdict, found) = f, v
        if v[0] in ("same", "rule") or v[0].startswith("error"):
            break
    inp = os.path.join(d, "input")
    shutil.copyfile(file, os.path.join(d, "input.original"))
    shutil.copyfile(file, inp)
    if verdict in ("same", "rule") and o.shrink_time > 0:
        say(f"finding {n}: shrinking (at most {o.shrink_time:.0f} s)")
        small = shrink(t.binary, o.impl, file, (rule, where), o.shrink_time, _extra(t))
        if small != file:
            v = confirm(o.repro, o.impl, t.name, small, (rule, where))
            if v[0] in ("same", "rule"):
                shutil.copyfile(small, inp)
                verdict, found = v
    cmd = repro_command(o.repro, o.impl, t.name, inp)
    seen = "; ".join(f"{r} {w}: {s}" for r, w, s in found[:2])
    tried = f" ({len(candidates)} of its inputs tried)" if len(candidates) > 1 else ""
    confirmed = {
        "same": "yes, the same rule and place",
        "rule": f"yes, the same rule at another place ({seen})",
        "other": f"NOT as found: a fresh server shows another finding ({seen})",
        "none": "NOT against a freshly started server" + tried + ": inputs are not isolated on a "
                "persistent server, so it may need the state that earlier inputs left (the input and pcap "
                "show it anyway)",
    }.get(verdict, f"could not be checked: {verdict.removeprefix('error: ')}")
    pcap = os.path.join(d, "input.pcap")
    why_no_pcap = write_pcap(o.replay, t.name, inp, pcap)
    cases = conform_cases(o.conform)
    say(f"finding {n}: running conform's {rule} cases against a fresh server")
    failed, ids, err = conform_catches(o.conform, o.impl, t.name, rule, cases) if cases else \
        ([], [], f"{o.conform} --list gave no cases")
    if err:
        caught = f"not known: {err}"
    elif failed:
        caught = "caught by " + ", ".join(f"`{i}`" for i in failed)
    else:
        which = rule if rule in cases.values() else "every rule"
        caught = "no conform case catches it: candidate for a new case" + (
            f" (its {len(ids)} {transport(t.name).upper()} case(s) of {which} pass)" if ids else
            " (conform has no case for it)")
    with open(os.path.join(d, "README.md"), "w") as f:
        f.write(f"{rule} {where}: {sentence}\n\nreproduce: {cmd}\nconfirmed: {confirmed}\nconform: {caught}\n")
    size = os.path.getsize(inp)
    return (f"- **{rule}** at `{where}` ({t.name}, {len(files)} input(s)): {sentence}\n"
            f"  - reproduce: `{cmd}`\n"
            f"  - reproducible on a fresh server: {confirmed}\n"
            f"  - input: {inp} ({size} bytes" + (f", shrunk from {os.path.getsize(file)}" if size <
                                                 os.path.getsize(file) else "") + "); pcap: " +
            (pcap if why_no_pcap is None else f"none ({why_no_pcap})") + "\n"
            f"  - conform: {caught}\n")

def report(o, targets, say):
    """The summary's findings section: every unique (target, rule, where) processed in turn."""
    groups = {}
    for t in targets:
        for rule, where, sentence, file in t.findings:
            groups.setdefault((t.name, rule, where), [t, sentence, []])[2].append(file)
    if not groups:
        idle = [t.name for t in targets if t.known[0] == 0 or t.nfailed]
        if idle:
            return ["## Findings: none, but this run did NOT fuzz everything (see below): not a clean result\n\n"]
        return ["## Findings: none\n\n" + "".join(
            f"- {t.name}: {engines.fmt_count(t.known[0])} inputs run against the implementation, "
            f"coverage {t.mode or 'mode unknown'}\n" for t in targets) + "\n"]
    out = [f"## Findings: {len(groups)} unique (by rule and place)\n\nEach is replayed by impl-repro against a "
           "freshly started server (the smallest of up to five of its inputs that shows it again), then "
           "shrunk (libFuzzer -minimize_crash=1; the smaller input is kept only if a fresh server still "
           f"shows it); its input, pcap and README.md are under {os.path.join(o.out, 'findings')}/.\n\n"]
    for n, ((name, rule, where), (t, sentence, files)) in enumerate(sorted(groups.items()), 1):
        out.append(_process(o, t, (rule, where, sentence), files, n, say))
    return out + ["\n"]

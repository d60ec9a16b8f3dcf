"""conventions.py - what every capslock Python script shares with the C programs' command lines (lib/cli):
the version from the VERSION file, durations in seconds with an optional unit, the one rule for output
directories and the wording of a usage error. Standard library only; nothing prints or exits. Used by harness/fuzz/engines.py (and so
fuzz_run.py and fuzz_bench.py) and harness/bench/bench.py."""
import os, re

def version():
    """capslock's version, from the VERSION file at the top of the tree (as every C program prints it)."""
    try:
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "VERSION")) as f:
            return f.read().strip()
    except OSError:
        return "unknown"

def duration(text):
    """A duration as every capslock program takes it: a decimal number of seconds (no sign, nan or inf)
    with an optional unit, ms, s, m or h ("500ms", "2s", "1m"). Returns the seconds, or None."""
    m = re.fullmatch(r"((?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(ms|s|m|h)?", text)
    return float(m.group(1)) * {"ms": 0.001, "m": 60, "h": 3600}.get(m.group(2), 1) if m else None

def make_out_dir(path, default):
    """An output directory by the one rule of every capslock program: one that exists is taken, a missing
    last part is made, a missing parent is refused (a mistyped path); the program's own default is made
    whole. Raises OSError (a missing parent: FileNotFoundError naming it)."""
    if path == default or os.path.isdir(path):
        os.makedirs(path, exist_ok=True)
        return
    parent = os.path.dirname(os.path.normpath(path)) or "."
    if not os.path.exists(parent):
        raise FileNotFoundError(2, "its parent directory does not exist (create it first)", parent)
    os.mkdir(path)

def getopt_error(e):
    """A getopt.GetoptError as one line naming the option, as lib/cli words it: "--NAME: missing argument",
    "--NAME: takes no argument", "--NAME: unknown option" or "-X: unknown option"."""
    if len(e.opt) <= 1:
        return f"-{e.opt}: unknown option"
    return f"--{e.opt}: " + ("missing argument" if "requires argument" in e.msg else
                              "takes no argument" if "must not have" in e.msg else "unknown option")

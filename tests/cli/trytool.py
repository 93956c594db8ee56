# Shared by the `pyalloc try` tests: running `try` on tests/try/prog.py (or a C program compiled here) into a temporary
# results directory, and reading back its rows, meta.json and timeline.
import csv
import json
import os
import subprocess
import tempfile
import threading
import time
import unittest

import synth
from pab import configs, tryplan  # noqa: E402  (synth puts scripts/ on the path)

BUILD = os.path.abspath(os.environ.get("PAB_BUILD", os.path.join(synth.SOURCE, "build")))
PYALLOC = os.path.join(synth.SOURCE, "scripts", "pyalloc")
PROG = os.path.join(synth.SOURCE, "tests", "try", "prog.py")
CPROG = os.path.join(synth.SOURCE, "tests", "try", "cprog.c")
PY = "/usr/bin/python3"
MIB = 1 << 20


class TmpCase(unittest.TestCase):
    """Tests that share one temporary results directory, self.tmp.name."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()


def env(**extra):
    """The caller's environment without allocator knobs (try refuses them), plus extra."""
    e = {k: v for k, v in os.environ.items() if not (configs.allocator_knob(k) or k in tryplan.PYTHON_KNOBS)}
    e.update(PAB_BUILD=BUILD, PYTHONDONTWRITEBYTECODE="1", **extra)
    return e


def pyalloc(args, timeout=120, **extra):
    return subprocess.run([PY, PYALLOC] + args, env=env(**extra), capture_output=True, text=True, timeout=timeout)


def try_run(out, args, cmd, timeout=120):
    """Runs `pyalloc try --out out ARGS -- CMD`, which must succeed; returns (process, rows, meta)."""
    p = pyalloc(["try", "--out", out] + args + ["--"] + cmd, timeout=timeout)
    if p.returncode != 0:
        raise AssertionError(f"try exited {p.returncode}: {p.stderr}")
    run = p.stdout.strip().splitlines()[-1]
    with open(os.path.join(run, "results.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    with open(os.path.join(run, "meta.json")) as f:
        meta = json.load(f)
    return p, rows, meta


def timeline(run):
    with open(os.path.join(run, "timeline.csv"), newline="") as f:
        return list(csv.DictReader(f))


def mib(row, column):
    return int(row[column]) / MIB


def compile_c(tmp, name="cprog", *flags):
    exe = os.path.join(tmp, name)
    subprocess.run(["cc", "-O2", *flags, "-o", exe, CPROG], check=True)
    return exe


class Signaller(threading.Thread):
    """Plays the user of --mark-signal: for each DIR/<pid>.ready a program writes, sends it sig, then DIR/<pid>.sent."""

    def __init__(self, directory, sig):
        super().__init__(daemon=True)
        self.directory, self.sig, self.sent, self.stop = directory, sig, [], threading.Event()

    def run(self):
        while not self.stop.is_set():
            for name in os.listdir(self.directory):
                if name.endswith(".ready"):
                    pid = int(name[:-6])
                    os.kill(pid, self.sig)
                    self.sent.append(pid)
                    os.remove(os.path.join(self.directory, name))
                    open(os.path.join(self.directory, f"{pid}.sent"), "w").close()
            time.sleep(0.01)


def python_cmd(*args):
    return [PY, PROG, *args]


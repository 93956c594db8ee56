# `pyalloc record` / `trace-info` and the replay workload: a C program with a known sequence and a Python snippet
# are recorded; the trace replays under every configuration with the program's live peak; bad files exit 2.
import json
import os
import subprocess
import sys
import tempfile
import unittest

SRC = os.environ.get("PAB_SOURCE", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("PAB_BUILD", os.path.join(SRC, "build"))
sys.path.insert(0, os.path.join(SRC, "scripts"))
from pab import trace  # noqa: E402

PYALLOC = [sys.executable, os.path.join(SRC, "scripts", "pyalloc")]
BENCH = os.path.join(BUILD, "bench", "pyalloc-bench")
LIBS = "/usr/lib/x86_64-linux-gnu"
CONFIGS = [("glibc", "", "none"), ("glibc", "", "cycle"), ("jemalloc", "libjemalloc.so.2", "none"),
           ("mimalloc", "libmimalloc.so.2", "none"), ("tcmalloc", "libtcmalloc_minimal.so.4", "none"),
           ("tbbmalloc", "libtbbmalloc_proxy.so.2", "none")]


def pyalloc(*args):
    env = dict(os.environ, PAB_BUILD=BUILD)
    return subprocess.run(PYALLOC + list(args), capture_output=True, text=True, env=env, timeout=120)


def replay(path, expect, lib, release="none", touch="full"):
    out = path + ".json"
    env = dict(os.environ, LD_PRELOAD=os.path.join(LIBS, lib) if lib else "")
    p = subprocess.run([BENCH, "--pab_workload=replay", f"--pab_param=trace={path}", f"--pab_param=touch={touch}",
                        f"--pab_expect={expect}", f"--pab_release={release}", "--benchmark_min_time=0.01",
                        f"--benchmark_out={out}", "--benchmark_out_format=json"],
                       capture_output=True, text=True, env=env, timeout=120)
    if p.returncode != 0:
        raise AssertionError(f"pyalloc-bench exit {p.returncode}: {p.stderr[-300:]}")
    with open(out) as f:
        return json.load(f)["benchmarks"][0]


class RecordReplay(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="pab-test-record-")
        cls.prog = os.path.join(cls.dir, "alloc_seq")
        subprocess.run(["cc", "-O0", "-pthread", f"-I{SRC}/bench/trace", f"-I{SRC}/tests/c", "-o", cls.prog,
                        os.path.join(SRC, "tests", "c", "progs", "alloc_seq.c")], check=True)
        cls.trace = os.path.join(cls.dir, "seq.pabt")
        cls.rec = pyalloc("record", "--out", cls.trace, "--", cls.prog)

    @classmethod
    def tearDownClass(cls):
        subprocess.run(["rm", "-rf", cls.dir])

    def test_record_writes_the_program_and_its_child(self):
        self.assertEqual(self.rec.returncode, 0, self.rec.stderr)
        self.assertIn("recorded", self.rec.stdout)
        t = trace.Trace(self.trace)
        big = sum(1 for r in t.records() if r[0] == 4242 and r[5] == 1)
        self.assertEqual(big, 2 * 5000)
        self.assertEqual(t.threads, 3)
        children = [n for n in os.listdir(self.dir) if n.startswith("seq.") and n.count(".") == 2]
        self.assertEqual(len(children), 1, os.listdir(self.dir))
        self.assertEqual(trace.Trace(os.path.join(self.dir, children[0])).ppid, t.pid)

    def test_trace_info(self):
        p = pyalloc("trace-info", self.trace)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("threads 3", p.stdout)
        self.assertRegex(p.stdout, r"pvalloc\s+1\s")
        self.assertIn("python-mix%", p.stdout)

    def test_live_peak_by_reading_the_records(self):
        t = trace.Trace(self.trace)
        size, live, peak = {}, 0, 0
        for n, i, old, _dt, _th, op, _al in t.records():
            if op == trace.OP_FREE or (op == trace.OP_REALLOC and old):
                live -= size.pop(i if op == trace.OP_FREE else old, 0)
            if op != trace.OP_FREE and i:
                size[i] = n
                live += n
            peak = max(peak, live)
        self.assertEqual(peak, t.live_peak_bytes)
        self.assertGreaterEqual(peak, (1 << 20) + 5000 + 48 + 10 + 10 + 256 + 100 + 64)

    def test_replay_on_every_configuration(self):
        t = trace.Trace(self.trace)
        for expect, lib, release in CONFIGS:
            with self.subTest(config=f"{expect}/{release}"):
                b = replay(self.trace, expect, lib, release)
                self.assertFalse(b.get("error_occurred"), b.get("error_message"))
                self.assertEqual(b["live_peak_bytes"], t.live_peak_bytes)
                self.assertEqual(b["ops_per_cycle"], t.events)

    def test_replay_touch_modes(self):
        for touch in ("first", "none"):
            b = replay(self.trace, "glibc", "", touch=touch)
            self.assertFalse(b.get("error_occurred"), b.get("error_message"))

    def test_python_snippet(self):
        out = os.path.join(self.dir, "py.pabt")
        p = pyalloc("record", "--out", out, "--", "/usr/bin/python3", "-c",
                    "d = {str(i) * 40: [i] * 100 for i in range(3000)}; d.clear()")
        self.assertEqual(p.returncode, 0, p.stderr)
        b = replay(out, "glibc", "")
        self.assertFalse(b.get("error_occurred"), b.get("error_message"))
        self.assertEqual(b["live_peak_bytes"], trace.Trace(out).live_peak_bytes)

    def test_bad_files_are_refused_in_one_line(self):
        with open(self.trace, "rb") as f:
            data = f.read()
        cases = {"cut.pabt": (data[:-7], "truncated"), "foreign.pabt": (b"#!/bin/sh\n" * 20, "not a pyalloc trace"),
                 "empty.pabt": (b"", "not a pyalloc trace")}
        for name, (content, what) in cases.items():
            path = os.path.join(self.dir, name)
            with open(path, "wb") as f:
                f.write(content)
            with self.subTest(file=name):
                p = pyalloc("trace-info", path)
                self.assertEqual(p.returncode, 2)
                self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
                self.assertIn(what, p.stderr)
                b = replay(path, "glibc", "")
                self.assertTrue(b.get("error_occurred"))
                self.assertIn(what, b["error_message"])

    def test_record_without_a_command(self):
        p = pyalloc("record")
        self.assertEqual(p.returncode, 2)
        self.assertIn("give the command", p.stderr)


if __name__ == "__main__":
    unittest.main()

# `pyalloc record` / `trace-info` and the replay workload: a C program with a known sequence and Python snippets
# are recorded (marks, layers, metadata, a killed recording, the overhead note); the traces replay under every
# configuration; bad files and bad options exit 2 with one line.
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
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
SNIPPET = "d = {str(i) * 40: [i] * 100 for i in range(3000)}; d.clear()"


def pyalloc(*args, env=None):
    e = dict(os.environ, PAB_BUILD=BUILD, **(env or {}))
    return subprocess.run(PYALLOC + list(args), capture_output=True, text=True, env=e, timeout=120)


def replay(path, expect="glibc", lib="", release="none", **params):
    out = path + ".json"
    env = dict(os.environ, LD_PRELOAD=os.path.join(LIBS, lib) if lib else "")
    p = subprocess.run([BENCH, "--pab_workload=replay", f"--pab_param=trace={path}", f"--pab_expect={expect}",
                        f"--pab_release={release}", "--pab_cycles=2", f"--benchmark_out={out}",
                        "--benchmark_out_format=json"] + [f"--pab_param={k}={v}" for k, v in params.items()],
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
        cls.prodcons = os.path.join(cls.dir, "prodcons")
        for exe, src in ((cls.prog, "alloc_seq.c"), (cls.prodcons, "prodcons.c")):
            subprocess.run(["cc", "-O0", "-pthread", f"-I{SRC}/bench/trace", f"-I{SRC}/tests/c", "-o", exe,
                            os.path.join(SRC, "tests", "c", "progs", src)], check=True)
        cls.trace = os.path.join(cls.dir, "seq.pabt")
        cls.rec = pyalloc("record", "--out", cls.trace, "--", cls.prog)
        cls.py = os.path.join(cls.dir, "py.pabt")
        cls.py_rec = pyalloc("record", "--out", cls.py, "--", "/usr/bin/python3", "-c", SNIPPET,
                             env={"PYTHONMALLOC": "malloc"})

    @classmethod
    def tearDownClass(cls):
        subprocess.run(["rm", "-rf", cls.dir])

    def test_record_writes_the_program_and_its_child(self):
        self.assertEqual(self.rec.returncode, 0, self.rec.stderr)
        self.assertRegex(self.rec.stdout, r"recorded \d+ calls, 2 marks, 3 threads")
        t = trace.info(self.trace)
        self.assertEqual((t["threads"], t["complete"], t["layer"], t["python"]), (3, True, "program", False))
        self.assertGreaterEqual(t["ops"]["malloc"], 2 * 5000)
        self.assertEqual([m["name"] for m in t["marks"]], ["seq_start", "seq_done"])
        self.assertEqual(t["note"]["record"]["exit_status"], 0)
        children = [n for n in os.listdir(self.dir) if n.startswith("seq.") and n.count(".") == 2]
        self.assertEqual(len(children), 1, os.listdir(self.dir))
        self.assertEqual(trace.info(os.path.join(self.dir, children[0]))["ppid"], t["pid"])

    def test_trace_info(self):
        p = pyalloc("trace-info", self.trace)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("threads 3", p.stdout)
        self.assertRegex(p.stdout, r"pvalloc\s+1\s")
        self.assertRegex(p.stdout, r"seq_done\s+\d+")
        self.assertRegex(p.stdout, r"\d\.\d\d bytes/event")
        self.assertIn("not a Python interpreter", p.stdout)
        self.assertIn("recorder overhead: not measured", p.stdout)
        self.assertIn("python-mix%", p.stdout)

    def test_compact(self):
        for path in (self.trace, self.py):
            t = trace.info(path)
            self.assertLessEqual(t["file_bytes"] / t["events"], 8.0, path)

    def test_replay_on_every_configuration(self):
        t = trace.info(self.trace)
        for expect, lib, release in CONFIGS:
            with self.subTest(config=f"{expect}/{release}"):
                b = replay(self.trace, expect, lib, release, mark="seq_done")
                self.assertFalse(b.get("error_occurred"), b.get("error_message"))
                self.assertEqual(b["live_peak_bytes"], t["live_peak_bytes"])
                self.assertEqual(b["ops_per_cycle"], t["events"])
                self.assertEqual((b["threads"], b["label"]), (3, "seq_done"))

    def test_replay_touch_and_thread_modes(self):
        for mode in ("recorded", "serial"):
            for touch in ("full", "first", "none"):
                with self.subTest(mode=mode, touch=touch):
                    b = replay(self.trace, touch=touch, thread_mode=mode, layer="pymalloc")
                    self.assertFalse(b.get("error_occurred"), b.get("error_message"))
                    self.assertEqual(b["threads"], 3 if mode == "recorded" else 1)

    def test_python_under_pythonmalloc_malloc(self):
        self.assertEqual(self.py_rec.returncode, 0, self.py_rec.stderr)
        self.assertNotIn("PYTHONMALLOC=malloc to replay", self.py_rec.stderr)
        t = trace.info(self.py)
        self.assertEqual((t["layer"], t["python"], t["pythonmalloc"]), ("malloc", True, "malloc"))
        self.assertIn("exit", [m["name"] for m in t["marks"]])  # set by bench/pysite/sitecustomize.py
        for layer in ("pymalloc", "malloc"):
            b = replay(self.py, layer=layer)
            self.assertFalse(b.get("error_occurred"), b.get("error_message"))
            self.assertEqual((b["live_peak_bytes"], b["label"]), (t["live_peak_bytes"], "exit"))

    def test_run_names_the_layer_that_ran(self):
        out = os.path.join(self.dir, "runs")
        p = pyalloc("run", "--workloads", "replay", "--param", f"trace={self.py}", "--preset", "quick", "--configs",
                    "glibc", "--rounds", "1", "--out", out)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(out, "latest", "results.csv")) as f:
            text = f.read()
        self.assertIn("layer=malloc;mark=exit;thread_mode=recorded", text)  # layer=recorded, resolved from the trace
        self.assertNotIn("layer=recorded", text)

    def test_python_under_pymalloc(self):
        out = os.path.join(self.dir, "pym.pabt")
        p = pyalloc("record", "--out", out, "--", "/usr/bin/python3", "-c", SNIPPET, env={"PYTHONMALLOC": ""})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("record with PYTHONMALLOC=malloc", p.stderr)
        self.assertEqual(trace.info(out)["layer"], "pymalloc")
        info = pyalloc("trace-info", out)
        self.assertIn("NOT in the trace", info.stdout)
        b = replay(out, layer="malloc")
        self.assertTrue(b.get("error_occurred"))
        self.assertIn("recorded under pymalloc", b["error_message"])
        self.assertFalse(replay(out).get("error_occurred"))

    def test_the_users_pythonpath_is_kept(self):
        mod = os.path.join(self.dir, "mods")
        os.makedirs(mod, exist_ok=True)
        with open(os.path.join(mod, "helper_mod.py"), "w") as f:
            f.write("VALUE = 41\n")
        out = os.path.join(self.dir, "path.pabt")
        p = pyalloc("record", "--out", out, "--", "/usr/bin/python3", "-c",
                    "import helper_mod, pyalloc_mark; pyalloc_mark.mark('mine'); raise SystemExit(helper_mod.VALUE + 1)",
                    env={"PYTHONPATH": mod, "PYTHONMALLOC": "malloc"})
        self.assertEqual(p.returncode, 42, p.stderr)
        self.assertEqual([m["name"] for m in trace.info(out)["marks"]], ["mine", "exit"])

    def test_mark_signal(self):
        out = os.path.join(self.dir, "sig.pabt")
        p = pyalloc("record", "--mark-signal", "USR2", "--out", out, "--", "/usr/bin/python3", "-c",
                    "import os, signal; os.kill(os.getpid(), signal.SIGUSR2); x = [str(i) for i in range(1000)]",
                    env={"PYTHONMALLOC": "malloc"})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual([m["name"] for m in trace.info(out)["marks"]], ["signal", "exit"])
        out = os.path.join(self.dir, "csig.pabt")  # a C program: the recorder's own handler, marked at the next call
        p = pyalloc("record", "--mark-signal", "SIGUSR2", "--out", out, "--", self.prodcons, "signal")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual([m["name"] for m in trace.info(out)["marks"]], ["signal", "start", "done"])

    def test_overhead_is_measured_and_stored(self):
        out = os.path.join(self.dir, "oh.pabt")
        p = pyalloc("record", "--overhead", "2", "--out", out, "--", self.prog)
        self.assertEqual(p.returncode, 0, p.stderr)
        o = trace.info(out)["note"]["record"]["overhead"]
        self.assertEqual((o["runs"], len(o["plain_wall_s"]), len(o["recorded_wall_s"])), (2, 2, 2))
        self.assertGreater(o["wall_ratio"], 0)
        names = {n for n in os.listdir(self.dir) if n.startswith("oh.")}  # the scratch recordings are gone
        self.assertEqual(len(names), 2, names)
        self.assertIn("oh.pabt", names)
        self.assertRegex(pyalloc("trace-info", out).stdout, r"recorder overhead: \d+\.\d\dx wall")

    def test_killed_recording_is_valid_up_to_its_last_chunk(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            with self.subTest(signal=sig.name):
                out = os.path.join(self.dir, f"killed-{sig.name}.pabt")
                env = dict(os.environ, PAB_TRACE_OUT=out, LD_PRELOAD=trace_lib())
                p = subprocess.Popen([self.prodcons, "forever"], env=env)
                self.addCleanup(lambda p=p: p.poll() is None and p.kill())  # never left spinning if a check fails
                wait_for_chunks(out, 200000)
                p.send_signal(sig)
                self.assertEqual(p.wait(timeout=20), -sig)
                t = trace.info(out)
                self.assertFalse(t["complete"])
                self.assertEqual([m["name"] for m in t["marks"]], ["start"])
                self.assertGreater(t["events"], 150000)
                self.assertGreater(t["lost_events"], 0)  # one thread's buffer, below what the other wrote
                info = pyalloc("trace-info", out)
                self.assertEqual(info.returncode, 0, info.stderr)
                self.assertIn("INTERRUPTED", info.stdout)
                self.assertRegex(info.stdout, r"lost: \d+ calls")
                with open(out, "rb") as f:
                    data = f.read()
                cut = os.path.join(self.dir, f"cut-{sig.name}.pabt")
                with open(cut, "wb") as f:
                    f.write(data[:-3])
                p = pyalloc("trace-info", cut)
                self.assertEqual(p.returncode, 2)
                self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
                self.assertIn("cut in the middle of a chunk", p.stderr)

    def test_record_forwards_sigterm(self):
        out = os.path.join(self.dir, "fwd.pabt")
        p = subprocess.Popen(PYALLOC + ["record", "--out", out, "--", self.prodcons, "forever"],
                             env=dict(os.environ, PAB_BUILD=BUILD), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        wait_for_chunks(out, 1)
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 128 + signal.SIGTERM, err)
        self.assertIn("ended before the recorder could finish", err)
        self.assertFalse(trace.info(out)["complete"])

    def test_bad_files_are_refused_in_one_line(self):
        with open(self.trace, "rb") as f:
            data = f.read()
        cases = {"cut.pabt": (data[:-7], "cut in the middle"), "foreign.pabt": (b"#!/bin/sh\n" * 20, "not a pyalloc trace"),
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
                b = replay(path)
                self.assertTrue(b.get("error_occurred"))
                self.assertIn(what, b["error_message"])

    def test_bad_options(self):
        cases = [(["record"], "give the command"), (["record", "--overhead", "25X", "--", "true"], "--overhead 25X"),
                 (["record", "--overhead", "-3", "--", "true"], "--overhead -3"),
                 (["record", "--mark-signal", "KILL", "--", "true"], "--mark-signal KILL"),
                 (["record", "--mark-signal", "NOPE", "--", "true"], "--mark-signal NOPE"),
                 (["record", "--out", self.trace, "--", "true"], "exists"),
                 (["record", "--out", "/nonexistent/dir/x.pabt", "--", "true"], "no such directory"),
                 (["trace-info", "/nonexistent.pabt"], "no such trace file")]
        for args, what in cases:
            with self.subTest(args=args):
                p = pyalloc(*args)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
                self.assertIn(what, p.stderr)


def wait_for_chunks(path, calls, timeout=20):
    """Until the recording at `path` holds chunks of `calls` calls (the mark `start` is written at once)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if os.path.exists(path) and trace.info(path, peek=True)["calls"] >= calls:
                return
        except Exception:  # a chunk being written: not whole yet
            pass
        time.sleep(0.02)
    raise AssertionError(f"{path}: no chunk after {timeout} s")


def trace_lib():
    return os.path.join(BUILD, "bench", "libpab-record.so")


if __name__ == "__main__":
    unittest.main()

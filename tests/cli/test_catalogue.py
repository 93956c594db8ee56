# One catalogue: the CLI and the CPython twins take workloads, parameters (defaults, bounds, help) and counters from
# the binary's --pab_list, so an edited copy offered through PAB_CATALOGUE moves both; parameter messages are the C's.
import csv
import json
import os
import subprocess
import sys
import tempfile
import unittest

from tmpfiles import temp_file

SOURCE = os.path.abspath(os.environ.get("PAB_SOURCE", os.path.join(os.path.dirname(__file__), "..", "..")))
BUILD = os.path.abspath(os.environ.get("PAB_BUILD", os.path.join(SOURCE, "build")))
EXE = os.path.join(BUILD, "bench", "pyalloc-bench")
PY = "/usr/bin/python3"
sys.path.insert(0, os.path.join(SOURCE, "scripts"))
from pab import paramspec  # noqa: E402
from pab.errors import UsageError  # noqa: E402


def env_with(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "PYTHONMALLOC", "PAB_CATALOGUE")}
    return dict(env, PAB_BUILD=BUILD, PYTHONDONTWRITEBYTECODE="1", **extra)


def catalogue():
    return json.loads(subprocess.run([EXE, "--pab_list"], capture_output=True, text=True, check=True).stdout)


def param(cat, workload, name):
    w = next(w for w in cat["workloads"] if w["name"] == workload)
    return next(p for p in w["params"] if p["name"] == name)


def twin(workload, *args, env):
    return subprocess.run([PY, os.path.join(SOURCE, "bench", "python", f"{workload}.py")] + list(args), env=env,
                          capture_output=True, text=True, timeout=60)


class Edited(unittest.TestCase):
    """list_pop's n: default 1M -> 3K, bounds [1, 100K]; small_churn's live: another help; no minor_faults."""

    def setUp(self):
        cat = catalogue()
        n = param(cat, "list_pop", "n")
        self.assertEqual((n["default"], n.get("max", 0)), ("1M", 0))  # what the edit changes
        n.update(default="3K", min=1, max=100 << 10)
        param(cat, "small_churn", "live")["help"] = "EDITED: objects in the live set"
        cat["counters"] = [c for c in cat["counters"] if c["name"] != "minor_faults"]
        self.env = env_with(PAB_CATALOGUE=temp_file(self, json.dumps(cat), ".json"))

    def test_cli_lists_and_checks_the_edit(self):
        p = subprocess.run([PY, os.path.join(SOURCE, "scripts", "pyalloc"), "workloads"], env=self.env,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        row = next(ln for ln in p.stdout.splitlines() if ln.split()[:1] == ["n"])
        self.assertEqual(row.split()[:4], ["n", "size", "3K", "1..102400"])
        self.assertIn("EDITED: objects in the live set", p.stdout)
        with tempfile.TemporaryDirectory() as out:
            p = subprocess.run([PY, os.path.join(SOURCE, "scripts", "pyalloc"), "run", "--preset", "quick",
                                "--configs", "glibc", "--workloads", "list_pop", "--param", "n=200K", "--out", out],
                               env=self.env, capture_output=True, text=True, timeout=60)
            self.assertEqual((p.returncode, os.listdir(out)), (2, []), p.stderr)
        self.assertEqual(p.stderr.strip(), "pyalloc: error: list_pop: n=200K: out of range [1, 102400]")

    def test_twin_follows_the_edit(self):
        p = twin("list_pop", "--param=n=200K", "--validate", env=self.env)
        self.assertEqual((p.returncode, p.stderr.strip()), (2, "pyalloc-bench: list_pop: n=200K: out of range [1, 102400]"))
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "o.json")
            p = twin("list_pop", "--cycles=1", "--warmup=0", f"--out={out}", env=self.env)
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(out) as f:
                doc = json.load(f)
        self.assertIn("n=3K", doc["context"]["pab_params"].split(";"))
        b = doc["benchmarks"][0]
        self.assertLess(b["live_peak_bytes"], 1 << 20)  # 3K objects, not a million
        self.assertNotIn("minor_faults", b)
        self.assertIn("major_faults", b)

    def test_cpython_run_records_the_edit(self):
        preset = temp_file(self, "set rounds=1 timeout=60 cycles=1 warmup=0\ncase list_pop\n", ".preset")
        with tempfile.TemporaryDirectory() as out:
            p = subprocess.run([PY, os.path.join(SOURCE, "scripts", "pyalloc"), "run", "--preset", preset,
                                "--configs", "glibc", "--runtime", "cpython", "--out", out], env=self.env,
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(os.path.join(out, "latest", "results.csv")) as f:
                rows = list(csv.DictReader(f))
        self.assertEqual([r["status"] for r in rows], ["ok", "ok"], [r["error"] for r in rows])
        for r in rows:
            self.assertIn("n=3K", r["params"].split(";"))
            self.assertIn("runtime=cpython", r["params"].split(";"))


class SameMessages(unittest.TestCase):
    BAD = ("live=12X", "live=0", "young=101", "mix=zipf", "nosuch=1", "live=", "ops=-3")

    def test_python_refuses_what_the_binary_refuses_in_its_words(self):
        entry = next(w for w in catalogue()["workloads"] if w["name"] == "small_churn")
        for kv in self.BAD:
            with self.subTest(param=kv):
                p = subprocess.run([EXE, "--pab_workload=small_churn", f"--pab_param={kv}", "--pab_validate"],
                                   capture_output=True, text=True)
                self.assertEqual(p.returncode, 2)
                c_says = p.stderr.strip().removeprefix("pyalloc-bench: ")
                with self.assertRaises(UsageError) as e:
                    paramspec.parse(entry, paramspec.pairs([kv]))
                self.assertEqual(str(e.exception), c_says)

    def test_defaults_and_cell_match_the_binarys(self):
        out = temp_file(self, "", ".json")
        p = subprocess.run([EXE, "--pab_workload=small_churn", "--pab_param=live=2K", "--pab_param=idle_ms=0",
                            "--pab_cycles=1", "--pab_warmup=0", f"--benchmark_out={out}", "--benchmark_out_format=json"],
                           capture_output=True, text=True, env=env_with())
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(out) as f:
            c_cell = json.load(f)["context"]["pab_params"]
        entry = next(w for w in catalogue()["workloads"] if w["name"] == "small_churn")
        values, texts = paramspec.parse(entry, {"live": "2K", "idle_ms": "0"})
        self.assertEqual(paramspec.cell(entry["params"], texts), c_cell)
        self.assertEqual(values["live"], 2048)


if __name__ == "__main__":
    unittest.main()

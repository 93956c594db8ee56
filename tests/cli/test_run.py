# `pyalloc run`: the CSV header, seed-reproducible shuffling, JSON -> row flattening, the failed-row paths,
# bad input refused before anything is created, Ctrl-C/SIGTERM keeping what finished, and the quick matrix end to end.
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from repo import PYALLOC, pyalloc

SOURCE = os.path.abspath(os.environ.get("PAB_SOURCE", os.path.join(os.path.dirname(__file__), "..", "..")))
BUILD = os.path.abspath(os.environ.get("PAB_BUILD", os.path.join(SOURCE, "build")))
sys.path.insert(0, os.path.join(SOURCE, "scripts"))
from pab import configs, planning, rundir, runner, schema  # noqa: E402
from pab.errors import UsageError  # noqa: E402
from pab.presets import Case, Preset  # noqa: E402

DESIGN_COLUMNS = (  # docs/design.md §6, copied by hand: the schema must not drift from it (schema 1, then 2)
    "run_id, round, seed, timestamp, host, cpu_model, cores, mem_total_bytes, kernel, thp, glibc_version, "
    "git_rev, preset, config, allocator, allocator_lib, allocator_version, verified, release_policy, env, "
    "workload, params, threads, iterations, real_ns, cpu_ns, ops_per_s, ns_per_op, rss_base_bytes, "
    "rss_peak_bytes, rss_after_free_bytes, rss_after_release_bytes, release_ns, live_peak_bytes, "
    "overhead_ratio, minor_faults, major_faults, status, error, "
    "cold_ns, rss_after_idle_bytes, mark, tuning, shard").split(", ")
TINY = ["--param", "live=2K", "--param", "ops=4K", "--min-time", "0.01"]
CANNED = {
    "context": {"pab_allocator": "jemalloc", "pab_allocator_lib": "/lib/libjemalloc.so.2", "pab_verified": "1",
                "pab_allocator_version": "5.3.0", "pab_params": "layer=malloc;live=10K", "pab_workload": "w"},
    "benchmarks": [{"name": "w/real_time", "iterations": 17, "real_time": 4.0e6, "cpu_time": 3.9e6, "threads": 1,
                    "ops_per_cycle": 2.0e5, "rss_base_bytes": 4.0e6, "rss_peak_bytes": 6.0e6, "live_peak_bytes": 1.0e6,
                    "rss_after_free_bytes": 5.0e6, "rss_after_release_bytes": 4.5e6, "release_ns": 26081.0,
                    "minor_faults": 444.0, "major_faults": 0.0}],
}


class Pure(unittest.TestCase):
    def test_schema_is_design(self):
        self.assertEqual(list(schema.COLUMNS), DESIGN_COLUMNS)

    def test_schedule_reproducible(self):
        cfgs = configs.select(configs.load(), "default")
        pairs = [(c, Case(w)) for c in cfgs for w in ("a", "b", "c")]
        names = lambda jobs: [(j.round, j.config.name, j.case.workload) for j in jobs]  # noqa: E731
        one = names(planning.schedule(pairs, 3, 42))
        self.assertEqual(one, names(planning.schedule(pairs, 3, 42)))
        self.assertNotEqual(one, names(planning.schedule(pairs, 3, 43)))
        self.assertEqual(len(one), 3 * len(pairs))
        rounds = [[p[1:] for p in one if p[0] == r] for r in (1, 2, 3)]
        for r in rounds:  # every round runs every pair once, in its own order
            self.assertEqual(sorted(r), sorted((c.name, k.workload) for c, k in pairs))
        self.assertNotEqual(rounds[0], rounds[1])

    def test_from_json(self):
        f = runner.from_json(CANNED)
        self.assertEqual((f["status"], f["error"], f["verified"], f["params"]), ("ok", "", 1, "layer=malloc;live=10K"))
        self.assertEqual((f["iterations"], f["real_ns"], f["cpu_ns"], f["rss_peak_bytes"]), (17, 4000000, 3900000,
                                                                                          6000000))
        self.assertEqual((f["release_ns"], f["minor_faults"], f["threads"]), (26081, 444, 1))
        self.assertAlmostEqual(f["ops_per_s"], 2e5 * 1e9 / 4e6)
        self.assertAlmostEqual(f["ns_per_op"], 20.0)
        self.assertAlmostEqual(f["overhead_ratio"], 2.0)
        zero = json.loads(json.dumps(CANNED))
        zero["benchmarks"][0]["live_peak_bytes"] = 0
        self.assertNotIn("overhead_ratio", runner.from_json(zero))

    def test_from_json_errors(self):
        for msg, status in (("skipped: needs 25 GiB", "skipped"), ("ENOMEM: malloc(1G)\nreturned NULL", "failed")):
            d = json.loads(json.dumps(CANNED))
            d["benchmarks"][0] = {"name": "w", "error_occurred": True, "error_message": msg, "iterations": 0}
            f = runner.from_json(d)
            self.assertEqual(f["status"], status)
            self.assertNotIn("\n", f["error"])
            self.assertNotIn("real_ns", f)

    def test_from_exit(self):
        self.assertEqual(runner.from_exit(-signal.SIGSEGV, ""), {"status": "failed", "error": "killed by SIGSEGV"})
        self.assertEqual(runner.from_exit(-signal.SIGKILL, "")["status"], "oom")
        f = runner.from_exit(3, "noise\npyalloc-bench: allocator mismatch: expected a, but b\n\n")
        self.assertEqual(f, {"status": "failed", "error": "allocator mismatch: expected a, but b"})

    def test_select_cases(self):
        wl = {"a": {"params": [{"name": "n", "default": "1"}, {"name": "m", "default": "2"}]},
              "b": {"params": [{"name": "k", "default": "3"}]}}
        p = Preset("p", "p", {}, [Case("a", {"n": "5"}), Case("a", {"n": "6"}), Case("b", {})])
        self.assertEqual(planning.select_cases(p, wl, None, {"n": "7"}), [Case("a", {"n": "7"}), Case("b", {})])
        self.assertEqual(planning.select_cases(p, wl, ["b"], {"k": "9"}), [Case("b", {"k": "9"})])
        self.assertEqual(planning.full_params(Case("a", {"n": "5"}), wl), "m=2;n=5")
        with self.assertRaisesRegex(UsageError, "no selected workload has a parameter 'n'"):
            planning.select_cases(p, wl, ["b"], {"n": "1"})
        with self.assertRaisesRegex(UsageError, "unknown workload 'zz'"):
            planning.select_cases(p, wl, ["a", "zz"], {})


class Cli(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="pab-run-test-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.out = os.path.join(self.tmp, "results")

    def run_dir(self):
        runs = [d for d in os.listdir(self.out) if d != "latest"]
        self.assertEqual(len(runs), 1, runs)
        return os.path.join(self.out, runs[0])

    def test_quick_matrix(self):
        p = pyalloc(["run", "--preset", "quick", "--workloads", "small_churn", "--rounds", "3", "--seed", "7",
                     "--timeline", "--out", self.out] + TINY)
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        run = self.run_dir()
        self.assertEqual(p.stdout.strip(), run)
        self.assertEqual(os.path.realpath(os.path.join(self.out, "latest")), os.path.realpath(run))
        with open(os.path.join(run, "results.csv"), newline="") as f:
            self.assertEqual(next(csv.reader(f)), DESIGN_COLUMNS)
        rows = schema.read_rows(run)
        self.assertEqual(len(rows), 18)
        default = [c.name for c in configs.select(configs.load(), None)]
        self.assertEqual(sorted({r["config"] for r in rows}), sorted(default))
        for r in rows:
            self.assertEqual((r["status"], r["error"], r["verified"], r["seed"]), ("ok", "", 1, 7), r)
            self.assertGreaterEqual(r["rss_peak_bytes"], r["rss_base_bytes"])
            self.assertGreater(r["ops_per_s"], 0)
            self.assertGreater(r["live_peak_bytes"], 0)
            self.assertIsNotNone(r["rss_after_release_bytes"])
            self.assertIsNotNone(r["release_ns"])
            self.assertIn("live=2K", r["params"])
            self.assertTrue(r["allocator_lib"] and r["allocator_version"])
        self.assertEqual(sorted(r["round"] for r in rows), [1] * 6 + [2] * 6 + [3] * 6)
        with open(os.path.join(run, "meta.json")) as f:
            meta = json.load(f)
        self.assertIs(meta["complete"], True)
        self.assertEqual((meta["seed"], meta["rounds"], meta["statuses"]), (7, 3, {"ok": 18}))
        said = [l for l in p.stderr.strip().splitlines() if not l.startswith("pyalloc: ")]  # noise check: warnings
        self.assertEqual(len(said), 20, said)  # header, 18 progress lines, summary
        with open(os.path.join(run, "timeline.csv"), newline="") as f:
            tl = list(csv.DictReader(f))
        self.assertEqual(list(tl[0]), list(rundir.TIMELINE_COLUMNS))
        self.assertIn("cycle_start", {r["event"] for r in tl})
        self.assertEqual(len({(r["round"], r["config"]) for r in tl}), 18)

    def test_failed_rows(self):
        table = os.path.join(self.tmp, "mine.tsv")
        with open(table, "w") as f:
            f.write("name\tallocator\tlibrary\trelease\tenv\tmatrix\tdescription\n"
                    "jemalloc\tjemalloc\t/usr/lib/x86_64-linux-gnu/libmimalloc.so.2\tnone\t-\tdefault\twrong\n"
                    "gone\tjemalloc\t/nonexistent/libjemalloc.so.2\tnone\t-\tdefault\tmissing\n")
        # in the default matrix a broken configuration becomes failed rows (named alone, it is refused: test_bad_input)
        p = pyalloc(["run", "--preset", "quick", "--workloads", "small_churn", "--configs-file", table,
                     "--configs", "default", "--out", self.out] + TINY)
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        rows = {r["config"]: r for r in schema.read_rows(self.run_dir())}
        self.assertEqual((rows["gone"]["status"], rows["gone"]["error"]),
                         ("failed", "library not found: /nonexistent/libjemalloc.so.2"))
        self.assertEqual(rows["jemalloc"]["status"], "failed")
        self.assertRegex(rows["jemalloc"]["error"], "expected jemalloc.*mimalloc")
        for r in (rows["gone"], rows["jemalloc"]):
            self.assertEqual((r["workload"], r["verified"], r["real_ns"]), ("small_churn", 0, None))
            self.assertIn("live=2K;", r["params"])
        for name in ("glibc", "mimalloc"):
            self.assertEqual((rows[name]["status"], rows[name]["verified"]), ("ok", 1), rows[name]["error"])

    def test_runtime_both(self):
        p = pyalloc(["run", "--preset", "quick", "--workloads", "small_churn", "--configs", "glibc,jemalloc",
                     "--runtime", "both", "--out", self.out] + TINY)
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        rows = schema.read_rows(self.run_dir())
        kinds = sorted((r["config"], "runtime=cpython" in r["params"], r["params"].split("layer=")[1].split(";")[0])
                       for r in rows)
        self.assertEqual(kinds, [(c, py, layer) for c in ("glibc", "jemalloc")
                                 for py, layer in ((False, "malloc"), (True, "malloc"), (True, "pymalloc"))])
        for r in rows:
            self.assertEqual((r["status"], r["verified"], r["allocator"]), ("ok", 1, r["config"]), r["error"])

    def test_timeout(self):
        p = pyalloc(["run", "--preset", "quick", "--workloads", "small_churn", "--configs", "glibc",
                     "--param", "live=2M", "--param", "ops=2M",
                     "--timeout", "0.3", "--out", self.out])
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        (row,) = schema.read_rows(self.run_dir())
        self.assertEqual(row["status"], "timeout")
        self.assertIn("timed out after 0.3 s", row["error"])

    def test_bad_input(self):
        for args in (["--configs", "nope"], ["--workloads", "nope"], ["--param", "live=25X"], ["--param", "nokey=1"],
                     ["--param", "live"], ["--rounds", "0"], ["--rounds", "x"], ["--preset", "nope"],
                     ["--timeout", "soon"]):
            with self.subTest(args=args):
                p = pyalloc(["run", "--preset", "quick", "--out", self.out] + args)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
                self.assertTrue(p.stderr.startswith("pyalloc: error: "), p.stderr)
                self.assertFalse(os.path.exists(self.out))

    def interrupt(self, sig):
        """Starts a long run, sends sig once two rows are written; returns (exit status, stderr)."""
        env = dict(os.environ, PAB_BUILD=BUILD, PYTHONDONTWRITEBYTECODE="1")
        proc = subprocess.Popen(["/usr/bin/python3", PYALLOC, "run", "--preset", "quick", "--workloads", "small_churn",
                                 "--configs", "glibc",
                                 "--rounds", "50", "--out", self.out, "--param", "live=200K", "--param", "ops=200K",
                                 "--min-time", "0.05"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            time.sleep(0.1)
            runs = [d for d in os.listdir(self.out) if d != "latest"] if os.path.isdir(self.out) else []
            csv_path = os.path.join(self.out, runs[0], "results.csv") if runs else ""
            if csv_path and os.path.exists(csv_path):
                with open(csv_path) as f:
                    if len(f.read().splitlines()) >= 3:
                        break
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
        return proc.returncode, err.decode()

    def test_interrupt_keeps_finished_rows(self):
        for sig, status, name in ((signal.SIGTERM, 143, "SIGTERM"), (signal.SIGINT, 130, "SIGINT")):
            with self.subTest(name):
                shutil.rmtree(self.out, ignore_errors=True)
                rc, err = self.interrupt(sig)
                self.assertEqual(rc, status, err)
                self.assertNotIn("Traceback", err)
                rows = schema.read_rows(self.run_dir())
                self.assertGreaterEqual(len(rows), 2)
                self.assertLess(len(rows), 50)
                self.assertTrue(all(r["status"] == "ok" for r in rows))
                with open(os.path.join(self.run_dir(), "meta.json")) as f:
                    meta = json.load(f)
                self.assertIs(meta["complete"], False)
                self.assertEqual(meta["interrupted"], name)
                self.assertEqual(meta["statuses"], {"ok": len(rows)})

if __name__ == "__main__":
    unittest.main()

# `pyalloc fidelity`: on a synthetic run of both runtimes with known orderings, it finds the known Spearman rho,
# the memory ratios and the flags; bad input is one line and exit 2.
import csv
import os
import sys
import tempfile
import unittest
from repo import pyalloc

SRC = os.environ.get("PAB_SOURCE") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SRC, "scripts"))
from pab import schema  # noqa: E402
from pab.cmd_fidelity import comparisons  # noqa: E402

MiB = 1 << 20
CONFIGS = ("glibc", "glibc-trim", "jemalloc", "mimalloc", "tcmalloc")
C_PARAMS = "layer=malloc;live=1K;mix=python;ops=2K;survivors=0;young=80"
PY_PARAMS = "layer=malloc;live=1K;mix=python;ops=2K;runtime=cpython;survivors=0;young=80"
# per configuration, in CONFIGS order: time (ns), and growth over the base in MiB for peak, after free, after release
C = dict(time=[1, 2, 3, 4, 5], peak=[10, 20, 30, 40, 50], free=[8, 8, 9, 9, 10], rel=[1, 2, 3, 4, 5])
PY = dict(time=[20, 10, 40, 30, 50],  # ranks swapped twice: rho = 1 - 6*4/(5*24) = 0.8
          peak=[10.5, 21, 31.5, 42, 52.5],  # same order, 5 % more: ok
          free=[16, 16, 18, 18, 20],  # twice the C model: a memory flag
          rel=[5, 4, 3, 2, 1])  # reversed: rho = -1


def row(config, params, m, i, base, rnd=1):
    r = {k: "" for k in schema.COLUMNS}
    r.update(run_id="t", round=rnd, seed=1, config=config, allocator=config.split("-")[0], workload="small_churn",
             params=params, status="ok", iterations=10, real_ns=m["time"][i] * 1000, cpu_ns=1, rss_base_bytes=base,
             rss_peak_bytes=base + int(m["peak"][i] * MiB), rss_after_free_bytes=base + int(m["free"][i] * MiB),
             rss_after_release_bytes=base + int(m["rel"][i] * MiB), verified=1)
    return r


def write(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(schema.COLUMNS)
        for r in rows:
            w.writerow([r[k] for k in schema.COLUMNS])


def both(rounds=2):
    rows = []
    for rnd in range(1, rounds + 1):
        for i, cfg in enumerate(CONFIGS):
            rows.append(row(cfg, C_PARAMS, C, i, 4 * MiB, rnd))
            rows.append(row(cfg, PY_PARAMS, PY, i, 11 * MiB, rnd))  # the interpreter's base is subtracted
    rows.append(dict(row("glibc", PY_PARAMS.replace("live=1K", "live=9K"), PY, 0, MiB), status="failed"))
    return rows


class Fidelity(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "results.csv")

    def tearDown(self):
        self.dir.cleanup()

    def test_known_rho_ratio_and_flags(self):
        write(self.path, both())
        got = {c["metric"]: c for c in comparisons(schema.read_rows(self.path))}
        self.assertEqual(set(got), {"time", "peak", "after_free", "after_release"})
        self.assertAlmostEqual(got["time"]["rho"], 0.8)
        self.assertAlmostEqual(got["peak"]["rho"], 1.0)
        self.assertAlmostEqual(got["after_release"]["rho"], -1.0)
        self.assertAlmostEqual(got["after_free"]["ratio"], 2.0, places=3)
        self.assertAlmostEqual(got["peak"]["ratio"], 1.05, places=3)
        self.assertEqual(got["peak"]["flags"], [])
        self.assertEqual(got["time"]["flags"], ["rho<0.9"])
        self.assertTrue(any(f.startswith("memory") for f in got["after_free"]["flags"]))
        self.assertTrue(all(c["n"] == 5 and c["layer"] == "malloc" for c in got.values()))

    def test_flat_orderings_are_not_flagged(self):
        c = dict(C, rel=[1.0, 1.1, 1.2, 1.3, 1.4])  # within 1 MiB of each other in both runtimes: an order of noise
        py = dict(PY, rel=[1.4, 1.3, 1.2, 1.1, 1.0])
        write(self.path, [row(cfg, p, m, i, 0) for i, cfg in enumerate(CONFIGS) for p, m in ((C_PARAMS, c), (PY_PARAMS, py))])
        got = {k["metric"]: k for k in comparisons(schema.read_rows(self.path))}
        self.assertAlmostEqual(got["after_release"]["rho"], -1.0)
        self.assertEqual(got["after_release"]["flags"], ["flat"])
        py_spread = dict(py, rel=[9, 7, 5, 3, 1])  # the model is flat but CPython is not: the model misses it
        write(self.path, [row(cfg, p, m, i, 0) for i, cfg in enumerate(CONFIGS)
                          for p, m in ((C_PARAMS, c), (PY_PARAMS, py_spread))])
        got = {k["metric"]: k for k in comparisons(schema.read_rows(self.path))}
        self.assertIn("rho<0.9", got["after_release"]["flags"])

    def test_cli_prints_table_and_summary(self):
        write(self.path, both())
        p = pyalloc("fidelity", self.dir.name)
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        time_line = next(ln for ln in lines if ln.startswith("small_churn") and " time " in ln)
        self.assertIn("0.80", time_line)
        self.assertIn("rho<0.9", time_line)
        summary = [ln for ln in lines if ln.startswith("small_churn:")]
        self.assertEqual(len(summary), 1)
        self.assertIn("min rho -1.00 (after_release, malloc)", summary[0])
        self.assertIn("3 flagged", summary[0])

    def test_c_rows_without_layer_match_every_python_layer(self):
        rows = []
        for i, cfg in enumerate(CONFIGS):
            rows.append(row(cfg, "mode=memset;size=1M", C, i, 0))
            for layer in ("malloc", "pymalloc"):
                rows.append(row(cfg, f"layer={layer};mode=memset;runtime=cpython;size=1M;touch=0", C, i, 0))
        for r in rows:
            r["workload"] = "large_buffer"
        write(self.path, rows)
        got = comparisons(schema.read_rows(self.path))
        self.assertEqual(sorted({c["layer"] for c in got}), ["malloc", "pymalloc"])
        self.assertTrue(all(abs(c["rho"] - 1) < 1e-9 and not c["flags"] for c in got))

    def test_bad_input_is_one_line(self):
        write(self.path, [r for r in both() if "runtime" not in r["params"]])
        p = pyalloc("fidelity", self.path)
        self.assertEqual(p.returncode, 2)
        self.assertIn("no ok CPython rows", p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1)
        with open(self.path, "w") as f:
            f.write("not,a,results,file\n")
        for arg in (self.path, os.path.join(self.dir.name, "missing")):
            p = pyalloc("fidelity", arg)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
            self.assertNotIn("Traceback", p.stderr)


if __name__ == "__main__":
    unittest.main()

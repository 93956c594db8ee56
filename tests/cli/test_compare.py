# `pyalloc compare A B`: synthetic runs with known answers — 10 % faster in all 5 rounds is `faster` with p < 0.05,
# identical runs are `no change`, 3 vs 3 rounds are `too few rounds`, cases in one run only are listed; bad input exit 2.
import csv
import io
import os
import tempfile
import unittest

import synth
from repo import pyalloc



def faster(rows, config, factor):
    for r in rows:
        if r["config"] == config and r["status"] == "ok":
            r["real_ns"] = int(r["real_ns"] * factor)
    return rows


class Compare(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        d = cls.tmp.name
        cls.a = synth.write_run(d, "a", synth.standard_rows("a", configs=("glibc", "jemalloc")))
        cls.b = synth.write_run(d, "b", faster(synth.standard_rows("b", configs=("glibc", "jemalloc", "mimalloc")),
                                               "jemalloc", 0.9))
        cls.a3 = synth.write_run(d, "a3", synth.standard_rows("a3", rounds=3, configs=("glibc", "jemalloc")))
        cls.b3 = synth.write_run(d, "b3", faster(synth.standard_rows("b3", rounds=3, configs=("glibc", "jemalloc")),
                                                 "jemalloc", 0.9))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def table(self, a, b):
        p = pyalloc("compare", a, b, "--csv")
        self.assertEqual(p.returncode, 0, p.stderr)
        return list(csv.DictReader(io.StringIO(p.stdout)))

    def find(self, rows, config, workload, params, metric):
        hit = [r for r in rows if (r["config"], r["workload"], r["params"], r["metric"]) ==
               (config, workload, params, metric)]
        self.assertEqual(len(hit), 1, (config, workload, params, metric))
        return hit[0]

    def test_ten_percent_faster_in_every_round_is_faster(self):
        rows = self.table(self.a, self.b)
        r = self.find(rows, "jemalloc", "small_churn", "layer=malloc;live=1K", "time")
        self.assertEqual(r["verdict"], "faster")
        self.assertLess(float(r["p_value"]), 0.05)
        self.assertAlmostEqual(float(r["change_pct"]), -10.0, delta=0.5)
        self.assertEqual(self.find(rows, "glibc", "small_churn", "layer=malloc;live=1K", "time")["verdict"], "no change")
        self.assertEqual(self.find(rows, "jemalloc", "list_pop", "n=1K;shrink=none", "peak")["verdict"], "no change")
        g = self.find(rows, "jemalloc", "*", "geomean", "time")
        self.assertAlmostEqual(float(g["change_pct"]), -10.0, delta=0.5)

    def test_slower_is_the_other_way_round(self):
        rows = self.table(self.b, self.a)
        self.assertEqual(self.find(rows, "jemalloc", "small_churn", "layer=malloc;live=1K", "time")["verdict"], "slower")

    def test_identical_runs_are_no_change(self):
        rows = self.table(self.a, self.a)
        self.assertTrue(rows)
        self.assertEqual({r["verdict"] for r in rows if r["workload"] != "*" and r["rounds_a"] != "0"}, {"no change"})
        failed = self.find(rows, "tbbmalloc", "small_churn", "layer=malloc;live=1K", "time")
        self.assertEqual(failed["verdict"], "failed in A, failed in B")

    def test_three_rounds_each_are_too_few(self):
        rows = self.table(self.a3, self.b3)
        r = self.find(rows, "jemalloc", "small_churn", "layer=malloc;live=1K", "time")
        self.assertEqual(r["verdict"], "too few rounds")  # 3 vs 3: the smallest two-sided p is 0.1

    def test_cases_in_one_run_only_are_listed(self):
        rows = self.table(self.a, self.b)
        r = self.find(rows, "mimalloc", "small_churn", "layer=malloc;live=1K", "time")
        self.assertTrue(r["verdict"].startswith("only in B"), r["verdict"])
        failed = self.find(rows, "tbbmalloc", "small_churn", "layer=malloc;live=1K", "time")
        self.assertNotIn("only", failed["verdict"])  # failed in both: listed, not silently dropped
        md = pyalloc("compare", self.a, self.b)
        self.assertEqual(md.returncode, 0, md.stderr)
        self.assertIn("only in B", md.stdout)
        self.assertIn("| jemalloc |", md.stdout)

    def test_bad_input_is_one_line_exit_2(self):
        d = self.tmp.name
        with open(os.path.join(d, "notours.csv"), "w") as f:
            f.write("a,b,c\n1,2,3\n")
        with open(os.path.join(self.a, "results.csv")) as f:
            text = f.read()
        os.makedirs(os.path.join(d, "trunc"), exist_ok=True)
        with open(os.path.join(d, "trunc", "results.csv"), "w") as f:
            f.write(text[: len(text) - 40])
        for bad in (os.path.join(d, "missing"), os.path.join(d, "notours.csv"), os.path.join(d, "trunc")):
            p = pyalloc("compare", self.a, bad)
            self.assertEqual(p.returncode, 2, (bad, p.stderr))
            self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
            self.assertNotIn("Traceback", p.stderr)


if __name__ == "__main__":
    unittest.main()

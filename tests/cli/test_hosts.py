# report, compare and recommend on a merged run of several hosts: one part per host, each normalised on its own host (a
# host where jemalloc is slower is never pooled with one where it is faster); compare --hosts A,B; per-host charts.
import csv
import io
import os
import shutil
import tempfile
import unittest

import synth
from hostrun import SMALL, meta, one_line_error, pyalloc, rows, run_dir


def host_rows(run_id, host, jemalloc_time):
    """synth's standard rows on `host`, with jemalloc's layer=malloc time factor set to jemalloc_time."""
    out = []
    for r in synth.standard_rows(run_id, failed=False):
        r["host"] = host
        if r["config"] == "jemalloc" and "layer=pymalloc" not in r["params"]:
            r["real_ns"] = int(r["real_ns"] / 0.9 * jemalloc_time)
        out.append(r)
    return out


def summary_time(report, host, config):
    """The time cell of config's line in the summary table of host's part of report.md."""
    part = report.split(f"@ {host}\n", 1)[1].split("\n# ", 1)[0]
    line = next(ln for ln in part.splitlines() if ln.startswith(f"| {config} | ") and "cases" not in ln)
    return float(line.split("|")[2].split()[0])


class Synthetic(unittest.TestCase):
    """Host fast: jemalloc 10 % faster than glibc; host slow: 30 % slower.  Mixing them would give one ratio."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pab-hosts-")
        t = unittest.TestCase()
        a = synth.write_run(cls.tmp, "fast", host_rows("fast", "fast", 0.9))
        b = synth.write_run(cls.tmp, "slow", host_rows("slow", "slow", 1.3))
        cls.merged = run_dir(t, "merge", a, b, "--out", os.path.join(cls.tmp, "out"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_report_has_a_part_per_host(self):
        p = pyalloc("report", self.merged, "--no-charts")
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(self.merged, "report.md")) as f:
            report = f.read()
        self.assertIn("holds the rows of 2 hosts (fast, slow)", report)
        self.assertLess(summary_time(report, "fast", "jemalloc"), 0.97)
        self.assertGreater(summary_time(report, "slow", "jemalloc"), 1.1)
        self.assertEqual([ln.split(":")[0].split(" @ ")[1] for ln in p.stdout.splitlines() if ln.startswith("run ")],
                         ["fast", "slow"])  # a summary per host on stdout

    def test_compare_hosts(self):
        p = pyalloc("compare", self.merged, "--hosts", "fast,slow", "--csv")
        self.assertEqual(p.returncode, 0, p.stderr)
        got = list(csv.DictReader(io.StringIO(p.stdout)))
        verdict = {(r["config"], r["params"]): r["verdict"] for r in got if r["metric"] == "time" and r["workload"] != "*"}
        self.assertEqual(verdict[("jemalloc", "layer=malloc;live=1K")], "slower")  # 0.9 -> 1.3: +44 %
        self.assertEqual(verdict[("jemalloc", "layer=pymalloc;live=1K")], "no change")
        self.assertEqual(verdict[("glibc", "layer=malloc;live=1K")], "no change")
        self.assertNotIn("host", got[0])  # one comparison: the usual columns
        p = pyalloc("compare", self.merged, "--hosts", "fast,slow")
        self.assertIn("A = out", p.stdout.replace(os.path.basename(self.merged), "out"))
        self.assertIn("@ fast", p.stdout.splitlines()[0])
        self.assertIn("@ slow", p.stdout.splitlines()[0])

    def test_compare_two_runs_host_by_host(self):
        p = pyalloc("compare", self.merged, self.merged, "--csv")
        self.assertEqual(p.returncode, 0, p.stderr)
        got = list(csv.DictReader(io.StringIO(p.stdout)))
        self.assertEqual({r["host"] for r in got}, {"fast", "slow"})
        self.assertEqual({r["verdict"] for r in got if r["metric"] == "time" and r["workload"] != "*"}, {"no change"})

    def test_recommend_one_host(self):
        self.assertIn("--host NAME", one_line_error(self, pyalloc("recommend", self.merged)))
        overall = {}
        for h in ("fast", "slow"):
            p = pyalloc("recommend", self.merged, "--host", h)
            self.assertEqual(p.returncode, 0, p.stderr)
            overall[h] = p.stdout.split("Overall", 1)[1].splitlines()[1].strip()
        self.assertEqual(overall["fast"], "jemalloc")
        self.assertNotIn("jemalloc", overall["slow"])

    def test_compare_refusals(self):
        one_line_error(self, pyalloc("compare", self.merged))
        self.assertIn("its hosts: fast, slow", one_line_error(self, pyalloc("compare", self.merged, "--hosts", "fast,x")))
        one_line_error(self, pyalloc("compare", self.merged, "--hosts", "fast"))
        one_line_error(self, pyalloc("compare", self.merged, "--hosts", "fast,slow,x"))


class Labelled(unittest.TestCase):
    """The same small plan run as two --host-labels with timelines, merged, reported with charts."""

    def test_two_labels_merged_and_reported(self):
        tmp = tempfile.mkdtemp(prefix="pab-labels-")
        self.addCleanup(shutil.rmtree, tmp, True)
        small = SMALL[:3] + ["small_churn,list_pop"] + SMALL[4:]
        runs = [run_dir(self, "run", *small, "--seed", "8", "--timeline", "--host-label", h,
                        "--out", os.path.join(tmp, h)) for h in ("alpha", "beta")]
        merged = run_dir(self, "merge", *runs, "--out", os.path.join(tmp, "merged"))
        self.assertEqual(meta(merged)["hosts"], ["alpha", "beta"])
        self.assertEqual({r["host"] for r in rows(runs[0])}, {"alpha"})
        with open(os.path.join(merged, "timeline.csv"), newline="") as f:
            self.assertEqual({r["host"] for r in csv.DictReader(f)}, {"alpha", "beta"})
        p = pyalloc("report", merged)
        self.assertEqual(p.returncode, 0, p.stderr)
        charts = sorted(os.listdir(os.path.join(merged, "charts")))
        for h in ("alpha", "beta"):
            self.assertIn(f"{h}-small_churn-timeline.png", charts)
            self.assertIn(f"{h}-list_pop-time.png", charts)
        with open(os.path.join(merged, "report.md")) as f:
            report = f.read()
        self.assertIn("](charts/beta-list_pop-memory.png)", report)
        self.assertEqual(report.count("# pyalloc-bench report: run "), 2)


if __name__ == "__main__":
    unittest.main()

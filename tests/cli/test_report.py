# `pyalloc report`: on a synthetic run it writes report.md (header, summary, a table per case, every failure with
# its reason) and valid PNG charts, the RSS timeline when recorded; bad input gets one line and exit 2.
import os
import tempfile
import unittest

import synth
from repo import pyalloc

PNG = b"\x89PNG\r\n\x1a\n"


class Report(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.run_dir = synth.write_run(cls.tmp.name, "r", synth.standard_rows("r"), timeline=synth.timeline_rows("r"))
        cls.p = pyalloc("report", cls.run_dir)
        with open(os.path.join(cls.run_dir, "report.md")) as f:
            cls.md = f.read()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_exit_and_summary(self):
        self.assertEqual(self.p.returncode, 0, self.p.stderr)
        self.assertIn("report.md", self.p.stdout)
        self.assertLess(len(self.p.stdout.splitlines()), 25)  # one screen
        jem = [l for l in self.p.stdout.splitlines() if l.strip().startswith("jemalloc")]
        self.assertEqual(len(jem), 1)
        self.assertIn("0.923", jem[0])  # geomean over workloads: sqrt(sqrt(0.9 * 0.995) * 0.9)

    def test_header(self):
        for fact in ("synth", "6.1.0-synth", "madvise", "2.36", "5.3.0", "quick / 5 / 7"):
            self.assertIn(fact, self.md.split("## Summary")[0])

    def test_a_table_per_case_with_ratios(self):
        self.assertIn("### small_churn `layer=malloc;live=1K`", self.md)
        self.assertIn("### small_churn `layer=pymalloc;live=1K`", self.md)
        self.assertIn("### list_pop `n=1K;shrink=none`", self.md)
        section = self.md.split("### small_churn `layer=malloc;live=1K`")[1].split("###")[0]
        jem = [l for l in section.splitlines() if l.startswith("| jemalloc |")][0]
        self.assertIn("| 0.900 [", jem)  # time vs glibc with its interval
        self.assertIn("| 42.0 | 24.0 | 5.0 |", jem)  # peak / after free / after release in MiB

    def test_failures_listed_with_reason(self):
        failures = self.md.split("## Failures")[1].split("\n## ")[0]
        self.assertIn("tbbmalloc", failures)
        self.assertIn(synth.FAILED_REASON, failures)
        self.assertIn("| failed | 1,2,3,4,5 |", failures)

    def test_charts_are_pngs(self):
        charts = os.path.join(self.run_dir, "charts")
        names = sorted(os.listdir(charts))
        self.assertEqual(names, ["list_pop-memory.png", "list_pop-time.png", "small_churn-memory.png",
                                 "small_churn-time.png", "small_churn-timeline.png"])
        for n in names:
            with open(os.path.join(charts, n), "rb") as f:
                self.assertEqual(f.read(8), PNG, n)
            self.assertIn(f"(charts/{n})", self.md)

    def test_bad_input_is_one_line_exit_2(self):
        d = self.tmp.name
        with open(os.path.join(d, "notours.csv"), "w") as f:
            f.write("name,value\nx,1\n")
        with open(os.path.join(self.run_dir, "results.csv")) as f:
            lines = f.read().splitlines(True)
        os.makedirs(os.path.join(d, "cut"))
        with open(os.path.join(d, "cut", "results.csv"), "w") as f:
            f.write("".join(lines[:3]) + lines[3][:50])
        for bad in (os.path.join(d, "missing"), os.path.join(d, "notours.csv"), os.path.join(d, "cut")):
            p = pyalloc("report", bad)
            self.assertEqual(p.returncode, 2, (bad, p.stdout, p.stderr))
            self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
            self.assertNotIn("Traceback", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(d, "cut", "report.md")))


if __name__ == "__main__":
    unittest.main()

# `pyalloc plan`: the full preset's 25 GiB cases with the MemAvailable the guard wants (31.5 GiB today), skipped or
# not by the host planned for; plan's verdict is the guard's own, word for word; threads; slices; bad input.
import json
import shutil
import tempfile
import unittest

from hostrun import one_line_error, pyalloc, rows, run_dir


def plan(test, *args, **env):
    p = pyalloc("plan", *args, "--json", **env)
    test.assertEqual(p.returncode, 0, p.stderr)
    return json.loads(p.stdout)


class Plan(unittest.TestCase):
    def test_full_preset_25g_cases(self):
        for avail, skipped in (("24G", True), ("40G", False)):
            out = plan(self, "--preset", "full", "--mem-available", avail)
            self.assertEqual(len(out["cases"]), 16)
            big = [c for c in out["cases"] if c["workload"] == "large_buffer"]
            self.assertEqual(len(big), 2)
            for c in big:
                self.assertIn("size=25G", c["params"])
                self.assertGreaterEqual(c["need_bytes"], 25 << 30)
                self.assertAlmostEqual(c["wants_bytes"] / 2**30, 31.5, delta=0.05)  # today's guard: 25 G / 0.8 + 256 M
                self.assertEqual(c["skip"] is not None, skipped, c["skip"])
        p = pyalloc("plan", "--preset", "full", "--mem-available", "24G")
        self.assertEqual(p.returncode, 0, p.stderr)
        line = next(ln for ln in p.stdout.splitlines() if "large_buffer/size=25G " in ln)
        self.assertEqual(line.split()[2:7], ["25.0", "GiB", "31.5", "GiB", "1"])
        self.assertTrue(line.endswith("SKIPPED"), line)
        self.assertIn("pyalloc run --preset full --workloads large_buffer", p.stdout)

    def test_verdict_is_the_guards(self):
        """With a faked MemAvailable of 1 GiB, a real run skips the 2 GiB cases with the same words plan says."""
        args = ["--preset", "quick", "--workloads", "large_buffer", "--param", "size=2G", "--configs", "glibc"]
        out = plan(self, *args, PAB_MEM_AVAILABLE="1G")
        run = run_dir(self, "run", *args, "--seed", "3", "--out", self.tmp(), PAB_MEM_AVAILABLE="1G")
        said = {c["params"]: c["skip"] for c in out["cases"]}
        got = {r["params"]: r["error"] for r in rows(run)}
        self.assertEqual(len(got), 2)
        self.assertEqual(said, got)
        self.assertEqual({r["status"] for r in rows(run)}, {"skipped"})

    def tmp(self):
        d = tempfile.mkdtemp(prefix="pab-plan-")
        self.addCleanup(shutil.rmtree, d, True)
        return d

    def test_threads_capped_at_the_cores(self):
        few = plan(self, "--preset", "full", "--workloads", "threaded_churn", "--cores", "3")["cases"][0]
        many = plan(self, "--preset", "full", "--workloads", "threaded_churn", "--cores", "32")["cases"][0]
        self.assertEqual((few["threads"], few["threads_asked"]), (3, 16))
        self.assertEqual((many["threads"], many["threads_asked"]), (16, 16))
        self.assertGreater(many["need_bytes"], few["need_bytes"])  # every thread has its own live set

    def test_slices(self):
        whole = plan(self, "--preset", "quick", "--seed", "5")
        n = len(whole["cases"])
        seen = []
        for i in (1, 2, 3):
            part = plan(self, "--preset", "quick", "--seed", "5", "--shard", f"{i}/3")
            self.assertEqual(part["plan"], whole["plan"])
            self.assertEqual([c["index"] for c in part["cases"]], list(range(i, n + 1, 3)))
            seen += [c["params"] for c in part["cases"]]
        self.assertEqual(sorted(seen), sorted(c["params"] for c in whole["cases"]))

    def test_bad_input(self):
        self.assertIn("/nonexistent/x.pabt", one_line_error(self, pyalloc(
            "plan", "--workloads", "replay", "--param", "trace=/nonexistent/x.pabt")))
        for args in (["--mem-available", "25X"], ["--mem-available", "-3"], ["--cores", "0"], ["--shard", "1/3"],
                     ["--workloads", "nope"], ["--preset", "nope"], ["--param", "size=25X", "--workloads",
                                                                     "large_buffer"]):
            one_line_error(self, pyalloc("plan", *args))


if __name__ == "__main__":
    unittest.main()

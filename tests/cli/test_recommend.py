# `pyalloc recommend`: on synthetic runs with known answers the 10 %-faster configuration wins under --objective time
# with its deploy line, a constraint nobody meets gives "none qualifies" and exit 1, release=cycle says what to call.
import os
import tempfile
import unittest

import synth
from repo import pyalloc



def malloc_only(run_id, configs=("glibc", "jemalloc", "mimalloc", "jemalloc-nodecay"), rounds=5):
    """One layer=malloc case: jemalloc 10 % faster than glibc in every round; jemalloc-nodecay uses less memory."""
    rows = []
    for rnd in range(1, rounds + 1):
        for c in configs:
            t = {"jemalloc": 0.9, "jemalloc-nodecay": 0.97}.get(c, 1.0) * 2e6 * synth.jitter(rnd)
            free = {"jemalloc-nodecay": 10, "mimalloc": 40}.get(c, 30) * synth.MIB * synth.jitter(rnd, 1)
            rows.append(synth.row(run_id, c, "small_churn", "layer=malloc;live=1K", rnd, t, 40 * synth.MIB, free))
    return rows


class Recommend(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.m = synth.write_run(cls.tmp.name, "m", malloc_only("m"))
        cls.s = synth.write_run(cls.tmp.name, "s", synth.standard_rows("s"))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_ten_percent_faster_is_recommended_for_time(self):
        p = pyalloc("recommend", self.m, "--objective", "time")
        self.assertEqual(p.returncode, 0, p.stderr)
        overall = p.stdout.split("Overall")[1]
        self.assertTrue(overall.splitlines()[1].strip().startswith("jemalloc"), p.stdout)
        self.assertIn("allocator time (C model) 0.900×", overall)  # C-model time is the allocator's alone
        self.assertIn("LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 PYTHONMALLOC=malloc python3 app.py",
                      p.stdout)  # the gain is on layer=malloc rows, so Python needs PYTHONMALLOC=malloc
        self.assertNotIn("no clear winner", overall)

    def test_tuned_env_goes_into_the_deploy_line(self):
        p = pyalloc("recommend", self.m, "--objective", "retained", "--max-slowdown", "5%")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0 PYTHONMALLOC=malloc python3 app.py", p.stdout)

    def test_constraint_everyone_breaks_is_none_qualifies_exit_1(self):
        p = pyalloc("recommend", self.m, "--max-slowdown=-50%")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("none qualifies", p.stdout.split("Overall")[1])
        self.assertNotIn("Deploy", p.stdout)
        p = pyalloc("recommend", self.m, "--objective", "peak", "--max-memory", "-60")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)

    def test_release_cycle_says_what_to_call(self):
        p = pyalloc("recommend", self.s, "--objective", "retained", "--max-slowdown", "5")
        self.assertEqual(p.returncode, 0, p.stderr)
        deploy = p.stdout.split("Deploy")[1]
        self.assertIn("malloc_trim(0)", deploy)
        self.assertIn("gc.collect()", deploy)
        self.assertNotIn("LD_PRELOAD", deploy.splitlines()[1])  # glibc-trim: nothing to preload

    def test_pymalloc_keeps_small_objects_away(self):
        p = pyalloc("recommend", self.s, "--objective", "time", "--workloads", "small_churn")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("would not benefit from swapping malloc alone", p.stdout)

    def test_overlapping_intervals_are_no_clear_winner(self):
        p = pyalloc("recommend", self.s, "--objective", "peak")  # glibc, glibc-trim and jemalloc at pymalloc tie
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("no clear winner", p.stdout)

    def test_bad_input_exit_2(self):
        for args in (["--max-slowdown", "five"], ["--workloads", "nosuch"], ["--weights", "small_churn=x"],
                     ["--objective", "speed"]):
            p = pyalloc("recommend", self.s, *args)
            self.assertEqual(p.returncode, 2, (args, p.stdout, p.stderr))
            self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        p = pyalloc("recommend", os.path.join(self.tmp.name, "missing"))
        self.assertEqual(p.returncode, 2)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)


if __name__ == "__main__":
    unittest.main()

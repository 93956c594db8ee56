# recommend on `try` runs (synthetic, with known answers): candidates are configuration x layer against glibc with
# pymalloc; a gain measured under PYTHONMALLOC=malloc deploys with it, on the user's own command, with the expected
# change and its interval; when nothing beats today beyond noise the answer is to keep what you have; a release=cycle
# winner says which call goes where the program marked. report and compare read the same runs.
import json
import os
import re
import tempfile
import unittest

import synth
import trytool as tt

COMMAND = ["/usr/bin/python3", "app.py", "--size", "3"]
CMD = "cmd=app.py-0a1b2c3d"


def try_rows(run_id, factors, rounds=5, spread=0.004):
    """factors: {(config, layer): (time, peak, after free)} against glibc+pymalloc = 1; each configuration wobbles
    on its own by up to +-spread per round, every configuration through the same offsets (so none is offset on
    average: a ratio taken round by round sees noise, not an effect)."""
    rows = []
    for rnd in range(1, rounds + 1):
        for k, ((config, layer), (t, peak, free)) in enumerate(factors.items()):
            j = 1.0 + spread * (((rnd + 2 * k) % 5) - 2) / 2
            rows.append(synth.row(run_id, config, "program", f"{CMD};layer={layer}", rnd, 2e9 * t * j,
                                  300 * synth.MIB * peak, 120 * synth.MIB * free * j))
    return rows


def write_try(parent, name, rows, marks):
    d = synth.write_run(parent, name, rows)
    with open(os.path.join(d, "meta.json")) as f:
        meta = json.load(f)
    meta.update(kind="try", program={"argv": COMMAND, "command": " ".join(COMMAND), "cwd": "/srv/app",
                                     "id": CMD[4:], "python": True}, marks=marks)
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f)
    return d


def cases():
    """Every (configuration, layer) the same as today's."""
    return {(c, layer): (1.0, 1.0, 1.0) for c in ("glibc", "jemalloc", "glibc-trim")
            for layer in ("pymalloc", "malloc")}


class RecommendOnTry(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        t = cls.tmp.name
        cls.faster = write_try(t, "faster", try_rows("faster", cases() | {
            ("jemalloc", "malloc"): (0.90, 1.02, 1.05), ("jemalloc", "pymalloc"): (0.99, 1.0, 1.0)}),
            {"after_spike": 1})
        cls.flat = write_try(t, "flat", try_rows("flat", cases(), spread=0.03),
                             {"after_spike": 1})
        cls.trim = write_try(t, "trim", try_rows("trim", cases() | {("glibc-trim", "pymalloc"): (1.01, 1.0, 0.6)}),
                             {"after_spike": 1})

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def recommend(self, run, *args):
        p = tt.pyalloc(["recommend", run, *args])
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def test_malloc_layer_gain_deploys_with_pythonmalloc_on_the_users_command(self):
        out = self.recommend(self.faster, "--objective", "time")
        self.assertIn("Deploy jemalloc + PYTHONMALLOC=malloc", out)
        self.assertIn("LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 PYTHONMALLOC=malloc "
                      "/usr/bin/python3 app.py --size 3", out)
        change = out.split("Expected change")[1]
        time, lo, hi = (float(x) for x in re.search(r"time ([-+.\d]+) % \[([-+.\d]+) % … ([-+.\d]+) %\]",
                                                     change).groups())
        self.assertTrue(lo <= time <= hi < 0, change)
        self.assertAlmostEqual(time, -10, delta=1)  # made 10 % faster, each round wobbling by at most 0.4 %
        self.assertRegex(change, r"retained RSS \+[45]\.\d % \[")
        self.assertNotIn("Keep what you have", out)

    def test_nothing_beyond_noise_is_keep_what_you_have(self):
        out = self.recommend(self.flat, "--objective", "time")
        self.assertIn("Keep what you have: `/usr/bin/python3 app.py --size 3` as it runs today", out)
        self.assertIn("Nothing measured beats it beyond noise", out)
        self.assertNotIn("LD_PRELOAD", out.split("Keep what you have")[1])

    def test_release_cycle_winner_says_the_call_and_where(self):
        out = self.recommend(self.trim, "--objective", "retained")
        deploy = out.split("Deploy")[1]
        self.assertIn("glibc-trim, as measured", deploy)
        self.assertIn("at the point you marked `after_spike`", deploy)
        self.assertIn("malloc_trim(0)", deploy)
        self.assertNotIn("PYTHONMALLOC", deploy.splitlines()[1])  # measured under pymalloc
        self.assertRegex(deploy, r"retained RSS -(39|40|41)\.\d %")

    def test_report_and_compare_read_try_runs(self):
        p = tt.pyalloc(["report", self.faster, "--no-charts"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("jemalloc", p.stdout)
        p = tt.pyalloc(["compare", self.faster, self.trim])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("program", p.stdout)


if __name__ == "__main__":
    unittest.main()

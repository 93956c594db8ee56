# The example programs (bench/programs/*.py) at a small scale: each runs on its own (marks are no-ops there) and under
# `pyalloc try`, where it is seen as Python, reaches its own mark after its spike, and every row is ok and verified.
import glob
import os
import subprocess
import tempfile
import unittest

import trytool as tt

PROGRAMS = sorted(p for p in glob.glob(os.path.join(tt.synth.SOURCE, "bench", "programs", "*.py"))
                  if not os.path.basename(p).startswith("_"))
SCALE = "0.05"


class Programs(unittest.TestCase):
    def test_there_are_at_least_six(self):
        self.assertGreaterEqual(len(PROGRAMS), 6)

    def test_each_runs_alone_and_under_try(self):
        with tempfile.TemporaryDirectory() as out:
            for prog in PROGRAMS:
                with self.subTest(os.path.basename(prog)):
                    alone = subprocess.run([tt.PY, prog, SCALE], capture_output=True, text=True, timeout=60,
                                           env=tt.env())
                    self.assertEqual(alone.returncode, 0, alone.stderr)
                    self.assertIn(os.path.basename(prog)[:-3] + ": ", alone.stdout)
                    _, rows, meta = tt.try_run(out, ["--configs", "glibc", "--layers", "pymalloc", "--rounds", "1"],
                                               [tt.PY, prog, SCALE])
                    self.assertEqual([(r["status"], r["verified"]) for r in rows], [("ok", "1")], rows)
                    self.assertTrue(meta["program"]["python"])
                    self.assertEqual(len(meta["marks"]), 1, meta["marks"])  # one mark, after the spike
                    self.assertEqual(next(iter(meta["marks"].values())), 1)

    def test_scale_must_be_positive(self):
        p = subprocess.run([tt.PY, PROGRAMS[0], "-1"], capture_output=True, text=True, timeout=60, env=tt.env())
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("not a positive number", p.stderr)


if __name__ == "__main__":
    unittest.main()

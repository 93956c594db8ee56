# Runs written by earlier versions (tests/fixtures/, never regenerated) still load in every reader: report, compare
# (old against new), recommend, fidelity; a missing column is "not measured"; a newer or foreign header is refused.
import csv
import os
import shutil
import sys
import tempfile
import unittest

import synth
from repo import pyalloc

sys.path.insert(0, os.path.join(synth.SOURCE, "scripts"))
from pab import schema  # noqa: E402
from pab.errors import UsageError  # noqa: E402

FIXTURES = os.path.join(synth.SOURCE, "tests", "fixtures")


class Compat(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="pab-compat-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def copy(self, name):  # report writes into the run directory: never into the fixture itself
        return shutil.copytree(os.path.join(FIXTURES, name), os.path.join(self.tmp, name.replace("/", "-")))

    def test_schema1_rows_load_with_new_columns_empty(self):
        rows, version = schema.read_rows(os.path.join(FIXTURES, "schema1", "matrix"), with_schema=True)
        self.assertEqual(version, 1)
        self.assertGreater(len(rows), 50)
        self.assertEqual(set(rows[0]), set(schema.COLUMNS))
        for col in schema.COLUMNS[schema.WIDTH[1]:]:
            self.assertTrue(all(r[col] is None or r[col] == "" for r in rows), col)
        self.assertTrue(all(isinstance(r["real_ns"], int) for r in rows if r["status"] == "ok"))

    def test_readers(self):
        old = self.copy("schema1/matrix")
        new = synth.write_run(self.tmp, "new", synth.standard_rows("new"))
        for argv in (["report", old, "--no-charts"], ["compare", old, new], ["compare", new, old],
                     ["recommend", old], ["recommend", old, "--objective", "retained"],
                     ["fidelity", self.copy("schema1/both")]):
            with self.subTest(argv[0]):
                p = pyalloc(*argv)
                self.assertEqual(p.returncode, 0, p.stderr[-600:])
                self.assertNotIn("Traceback", p.stderr)

    def test_same_rows_in_both_schemas_compare_as_no_change(self):
        old = self.copy("schema1/matrix")
        again = synth.write_run(self.tmp, "again", schema.read_rows(old))  # today's writer: schema 2
        p = pyalloc("compare", old, again, "--csv")
        self.assertEqual(p.returncode, 0, p.stderr[-600:])
        cells = [r for r in csv.DictReader(p.stdout.splitlines()) if r["params"] != "geomean"]
        self.assertGreater(len(cells), 40)
        self.assertLessEqual({r["verdict"] for r in cells}, {"too few rounds", "no change"})
        self.assertTrue(all(float(r["change_pct"]) == 0 for r in cells if r["change_pct"]), cells[:3])

    def test_newer_and_foreign_headers(self):
        for header, says in ((schema.COLUMNS + ("from_the_future",), "newer"), (("a", "b"), "not a pyalloc")):
            path = os.path.join(self.tmp, f"{len(header)}.csv")
            with open(path, "w", newline="") as f:
                csv.writer(f).writerow(header)
            with self.assertRaises(UsageError) as e:
                schema.read_rows(path)
            self.assertIn(says, str(e.exception))

    def test_writer_refuses_to_append_to_an_older_schema(self):
        path = os.path.join(self.copy("schema1/matrix"), "results.csv")
        with self.assertRaises(UsageError):
            schema.Writer(path)


if __name__ == "__main__":
    unittest.main()

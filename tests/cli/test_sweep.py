# `--sweep` (docs/design.md §13): configurations derived per value (names, environments composed and merged the way
# each allocator reads options), bad input refused with one line, and a sweep run end to end: rows with their
# knobs read back, a misspelled knob as a failed row, the report's sweep section and recommend's deploy line.
import csv
import json
import os
import sys
import tempfile
import unittest

from tmpfiles import temp_file
from repo import pyalloc

SOURCE = os.path.abspath(os.environ.get("PAB_SOURCE", os.path.join(os.path.dirname(__file__), "..", "..")))
BUILD = os.path.abspath(os.environ.get("PAB_BUILD", os.path.join(SOURCE, "build")))
sys.path.insert(0, os.path.join(SOURCE, "scripts"))
os.environ.setdefault("PAB_BUILD", BUILD)
from pab import configs, sweep  # noqa: E402
from pab.errors import UsageError  # noqa: E402

TINY = ["--preset", "quick", "--workloads", "small_churn", "--param", "live=2K", "--param", "ops=4K",
        "--min-time", "0.01"]


def derive(names, *items):
    table = configs.load()
    return sweep.derive([table[n] for n in names], sweep.parse(list(items)))


class Derive(unittest.TestCase):
    def test_one_config_per_value_named_after_base_and_value(self):
        out, points = derive(["glibc", "jemalloc"], "jemalloc.dirty_decay_ms=0,1000")
        self.assertEqual([c.name for c in out], ["glibc", "jemalloc", "jemalloc@dirty_decay_ms=0",
                                                 "jemalloc@dirty_decay_ms=1000"])
        self.assertEqual(out[3].env, {"MALLOC_CONF": "dirty_decay_ms:1000"})
        self.assertEqual(out[1].env, {})  # the base runs as the reference: the knob unset
        self.assertEqual(points["jemalloc@dirty_decay_ms=0"], {"base": "jemalloc", "values": {"dirty_decay_ms": "0"}})

    def test_malloc_conf_merges_with_the_base(self):
        out, _ = derive(["jemalloc-nodecay"], "jemalloc.dirty_decay_ms=500", "jemalloc.background_thread=true")
        self.assertEqual(out[1].env, {"MALLOC_CONF": "muzzy_decay_ms:0,dirty_decay_ms:500,background_thread:true"})
        self.assertEqual(out[1].name, "jemalloc-nodecay@dirty_decay_ms=500@background_thread=true")

    def test_option_syntaxes_of_each_allocator(self):
        out, _ = derive(["mimalloc", "tcmalloc", "glibc-trimthreshold64k"], "mimalloc.decommit_delay=0",
                        "tcmalloc.release_rate=10", "glibc.arena_max=2")
        self.assertEqual([c.env for c in out[1::2]], [{"MIMALLOC_DECOMMIT_DELAY": "0"}, {"TCMALLOC_RELEASE_RATE": "10"},
                                                      {"MALLOC_TRIM_THRESHOLD_": "65536",
                                                       "GLIBC_TUNABLES": "glibc.malloc.arena_max=2"}])
        self.assertEqual(out[5].name, "glibc-trimthreshold64k@glibc.malloc.arena_max=2")

    def test_environment_variable_applies_to_its_allocator_only(self):
        out, _ = derive(["glibc", "glibc-trim", "jemalloc"], "MALLOC_ARENA_MAX=1,2")
        self.assertEqual([c.name for c in out], ["glibc", "glibc@MALLOC_ARENA_MAX=1", "glibc@MALLOC_ARENA_MAX=2",
                                                 "glibc-trim", "glibc-trim@MALLOC_ARENA_MAX=1",
                                                 "glibc-trim@MALLOC_ARENA_MAX=2", "jemalloc"])
        self.assertEqual(out[5].release, "cycle")

    def test_product_and_cap(self):
        out, points = derive(["glibc"], "MALLOC_ARENA_MAX=1,2", "MALLOC_TRIM_THRESHOLD_=0,65536,1048576")
        self.assertEqual(len(points), 6)
        self.assertIn("glibc@MALLOC_ARENA_MAX=2@MALLOC_TRIM_THRESHOLD_=65536", [c.name for c in out])
        with self.assertRaisesRegex(UsageError, "65 derived configurations, more than 64"):
            derive(["glibc"], "MALLOC_ARENA_MAX=" + ",".join(map(str, range(1, 14))), "MALLOC_TOP_PAD_=1,2,3,4,5")

    def test_bad_input(self):
        for names, item, words in (
                (["glibc"], "jemalloc.dirty_decay_ms=0", "no configuration named is jemalloc"),
                (["glibc"], "MALLOC_ARENA_MAX=", "empty list"),
                (["glibc"], "MALLOC_ARENA_MAX=1,,2", "an empty item"),
                (["glibc"], "MALLOC_ARENA_MAX=2,1,2", "value '2' is repeated"),
                (["glibc"], "MALLOC_ARENA_MAX", "expected KEY=v1,v2"),
                (["glibc"], "MALLOC_CONF=a:1", "sweep one option instead: jemalloc.NAME"),
                (["glibc"], "hoard.x=1", "'hoard' is not an allocator with options"),
                (["glibc"], "glibc.arena_max=1:2", "holds ':'"),
                (["glibc"], "1X=2", "not an environment variable"),
                (["glibc"], "MALLOC_ARENA_MAX=a;b", "holds a space or ';'")):
            with self.subTest(item=item), self.assertRaisesRegex(UsageError, words):
                derive(names, item)
        with self.assertRaisesRegex(UsageError, "swept twice"):
            derive(["jemalloc"], "jemalloc.narenas=1", "jemalloc.narenas=2")


class SweepRun(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.out = tempfile.mkdtemp(prefix="pab-sweep-")
        table = os.path.join(cls.out, "typo.tsv")
        with open(table, "w") as f:
            f.write("name\tallocator\tlibrary\trelease\tenv\tmatrix\tdescription\n"
                    "jemalloc-typo\tjemalloc\t@jemalloc\tnone\tMALLOC_CONF=dirty_decay_msx:0\topt-in\ttypo\n")
        cls.done = pyalloc(["run", "--configs", "glibc,jemalloc,jemalloc-typo", "--configs-file", table, "--sweep",
                           "jemalloc.dirty_decay_ms=0,10000", "--param", "idle_ms=50", "--out", cls.out] + TINY)
        cls.dir = os.path.join(cls.out, "latest")

    @classmethod
    def tearDownClass(cls):
        import shutil
        shutil.rmtree(cls.out, ignore_errors=True)

    def rows(self):
        with open(os.path.join(self.dir, "results.csv"), newline="") as f:
            return {r["config"]: r for r in csv.DictReader(f)}

    def test_rows_carry_the_knobs_read_back(self):
        self.assertEqual(self.done.returncode, 0, self.done.stderr)
        rows = self.rows()
        self.assertEqual(set(rows), {"glibc", "jemalloc", "jemalloc@dirty_decay_ms=0", "jemalloc@dirty_decay_ms=10000",
                                     "jemalloc-typo", "jemalloc-typo@dirty_decay_ms=0",
                                     "jemalloc-typo@dirty_decay_ms=10000"})
        r = rows["jemalloc@dirty_decay_ms=0"]
        self.assertEqual((r["status"], r["env"], r["tuning"]), ("ok", "MALLOC_CONF=dirty_decay_ms:0", "dirty_decay_ms=0"))
        self.assertEqual(rows["glibc"]["tuning"], "")
        self.assertIn("idle_ms=50", r["params"])
        with open(os.path.join(self.dir, "meta.json")) as f:
            meta = json.load(f)
        self.assertEqual(meta["sweeps"]["keys"][0]["values"], ["0", "10000"])

    def test_misspelled_option_is_a_failed_row_naming_it(self):
        r = self.rows()["jemalloc-typo@dirty_decay_ms=0"]
        self.assertEqual(r["status"], "failed")
        self.assertIn("MALLOC_CONF option 'dirty_decay_msx' does not exist", r["error"])

    def test_report_has_the_sweep_section(self):
        p = pyalloc(["report", self.dir])
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(self.dir, "report.md")) as f:
            md = f.read()
        self.assertIn("## Sweep `jemalloc.dirty_decay_ms` = 0, 10000", md)
        self.assertIn("| dirty_decay_ms | rounds | time (ms) [min–max] | peak (MiB) | after free (MiB) | after idle", md)
        self.assertIn("`after free` is read at once and cannot tell delays apart", md)
        self.assertTrue(os.path.exists(os.path.join(self.dir, "charts", "sweep1-small_churn-1.png")))

    def test_recommend_deploys_the_knob_exactly(self):
        p = pyalloc(["recommend", self.dir, "--objective", "retained"])
        self.assertIn(p.returncode, (0, 1), p.stderr)
        deploy = p.stdout.split("Deploy")[1].splitlines()[1].strip()
        winner = p.stdout.split("Overall")[1].splitlines()[1].strip().removeprefix("no clear winner: ").split()[0]
        expect = {"glibc": "python3 app.py", "jemalloc": "libjemalloc.so.2 python3 app.py",
                  "jemalloc@dirty_decay_ms=0": "MALLOC_CONF=dirty_decay_ms:0 python3 app.py",
                  "jemalloc@dirty_decay_ms=10000": "MALLOC_CONF=dirty_decay_ms:10000 python3 app.py"}
        self.assertTrue(deploy.endswith(expect[winner]), f"{winner}: {deploy}")

    def test_bad_sweep_refused_before_anything_runs(self):
        with tempfile.TemporaryDirectory() as d:
            p = pyalloc(["run", "--configs", "glibc", "--sweep", "MALLOC_ARENA_MAX=1,1", "--out", d] + TINY)
            self.assertEqual(p.returncode, 2)
            self.assertEqual(p.stderr.strip().splitlines(), ["pyalloc: error: --sweep MALLOC_ARENA_MAX: value '1' is "
                                                             "repeated"])
            self.assertEqual(os.listdir(d), [])


class Try(unittest.TestCase):
    def test_try_sweeps_and_reads_knobs_back_in_the_program(self):
        typo = temp_file(self, "name\tallocator\tlibrary\trelease\tenv\tmatrix\tdescription\n"
                               "jemalloc-typo\tjemalloc\t@jemalloc\tnone\tMALLOC_CONF=dirty_decay_msx:0\topt-in\tt\n",
                         ".tsv")
        with tempfile.TemporaryDirectory() as d:
            p = pyalloc(["try", "--configs", "glibc,jemalloc,jemalloc-typo", "--configs-file", typo, "--sweep",
                         "jemalloc.dirty_decay_ms=0,1000", "--layers", "malloc", "--rounds", "1", "--out", d, "--",
                         "/usr/bin/python3", "-c", "x = [bytes(1000) for i in range(10000)]"])
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(os.path.join(d, "latest", "results.csv"), newline="") as f:
                rows = {r["config"]: r for r in csv.DictReader(f)}
            with open(os.path.join(d, "latest", "meta.json")) as f:
                meta = json.load(f)
        self.assertEqual((rows["jemalloc@dirty_decay_ms=1000"]["status"], rows["jemalloc@dirty_decay_ms=1000"]["tuning"]),
                         ("ok", "dirty_decay_ms=1000"))
        self.assertEqual(rows["jemalloc"]["tuning"], "")
        bad = rows["jemalloc-typo@dirty_decay_ms=0"]
        self.assertEqual(bad["status"], "failed")
        self.assertIn("tuning: MALLOC_CONF option 'dirty_decay_msx' does not exist", bad["error"])
        self.assertEqual(meta["sweeps"]["configs"]["jemalloc@dirty_decay_ms=0"]["base"], "jemalloc")


class Allocators(unittest.TestCase):
    def test_knob_configs_verified_with_the_value_read_back(self):
        bad = temp_file(self, "name\tallocator\tlibrary\trelease\tenv\tmatrix\tdescription\n"
                              "glibc-typo\tglibc\t-\tnone\tMALLOC_TRIM_THRESHOLD=65536\topt-in\ttypo\n", ".tsv")
        p = pyalloc(["allocators", "--configs-file", bad, "--configs",
                     "glibc-trimthreshold64k,jemalloc-decay1s,mimalloc-nodelay,tcmalloc-release10,glibc-typo"])
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        lines = p.stdout.splitlines()
        rows = {ln.split()[0]: ln for ln in lines[1:] if not ln.startswith(" ")}
        read = {ln.split()[0]: nxt.strip() for ln, nxt in zip(lines, lines[1:]) if nxt.startswith("    read back: ")}
        self.assertRegex(read["glibc-trimthreshold64k"], r"^read back: MALLOC_TRIM_THRESHOLD_=65536 \(probe: a ")
        self.assertEqual(read["jemalloc-decay1s"], "read back: dirty_decay_ms=1000")
        self.assertEqual(read["mimalloc-nodelay"], "read back: MIMALLOC_DECOMMIT_DELAY=0")
        self.assertEqual(read["tcmalloc-release10"], "read back: TCMALLOC_RELEASE_RATE=10")
        for name in read:
            self.assertTrue(rows[name].endswith("yes"), rows[name])
        self.assertIn("no: tuning: MALLOC_TRIM_THRESHOLD is not a variable glibc", rows["glibc-typo"])


if __name__ == "__main__":
    unittest.main()

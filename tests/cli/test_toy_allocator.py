# Adding an allocator is its adapter file and one configurations row: a copy of the tree gets tests/toy/toy_adapter.c
# as allocators/toy.c and nothing else; its libpab.so (CMake's own glob) then proves, releases and deploys the toy
# allocator (tests/toy/toy_alloc.c) in `pyalloc allocators`, in `pyalloc run` (C and CPython) and in the deploy line.
import csv
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import repo

SOURCE = os.path.abspath(os.environ.get("PAB_SOURCE", os.path.join(os.path.dirname(__file__), "..", "..")))
BUILD = os.path.abspath(os.environ.get("PAB_BUILD", os.path.join(SOURCE, "build")))
TOY = os.path.join(SOURCE, "tests", "toy")
PY = "/usr/bin/python3"


def header_of(table):
    with open(table) as f:
        return re.split(r"\t| {2,}", next(ln for ln in f if ln.strip() and not ln.startswith("#")).strip())


class ToyAllocator(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pab-toy-")
        tree, cls.build = os.path.join(cls.tmp, "tree"), os.path.join(cls.tmp, "build")
        for f in repo.files():
            os.makedirs(os.path.dirname(os.path.join(tree, f)), exist_ok=True)
            shutil.copy2(os.path.join(SOURCE, f), os.path.join(tree, f))
        shutil.copy2(os.path.join(TOY, "toy_adapter.c"), os.path.join(tree, "allocators", "toy.c"))  # the one file
        subprocess.run(["cmake", "-S", tree, "-B", cls.build, "-DCMAKE_BUILD_TYPE=Release"], check=True,
                       capture_output=True)
        subprocess.run(["cmake", "--build", cls.build, "--target", "pab", "-j2"], check=True, capture_output=True)
        # the binary of this checkout, pointed at the new libpab.so (its RUNPATH gives way to LD_LIBRARY_PATH)
        os.symlink(os.path.join(BUILD, "bench", "pyalloc-bench"), os.path.join(cls.build, "bench", "pyalloc-bench"))
        cls.so = os.path.join(cls.tmp, "libtoyalloc.so")
        subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", cls.so, os.path.join(TOY, "toy_alloc.c")], check=True)
        cls.table = os.path.join(cls.tmp, "configs.tsv")
        row = {"name": "toy", "allocator": "toy", "library": cls.so, "release": "cycle", "matrix": "default",
               "description": "a toy allocator over glibc's heap"}
        header = header_of(os.path.join(SOURCE, "allocators", "configs.tsv"))
        with open(cls.table, "w") as f:  # the table's own header, and the one row
            f.write("\t".join(header) + "\n" + "\t".join(row.get(k, "-") for k in header) + "\n")
        cls.env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "PYTHONMALLOC", "PAB_CATALOGUE")}
        cls.env.update(PAB_BUILD=cls.build, LD_LIBRARY_PATH=os.path.join(cls.build, "bench"),
                       PYTHONDONTWRITEBYTECODE="1")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def pyalloc(self, *args):
        return subprocess.run([PY, os.path.join(SOURCE, "scripts", "pyalloc")] + list(args), env=self.env,
                              capture_output=True, text=True, timeout=180)

    def test_allocators_verifies_it(self):
        p = self.pyalloc("allocators", "--configs-file", self.table, "--configs", "toy")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        row = p.stdout.strip().splitlines()[1].split()
        self.assertEqual((row[0], row[1], row[-3], row[-2], row[-1]), ("toy", "toy", self.so, "0.1-toy", "yes"))

    def test_run_in_c_and_cpython_verified_and_released(self):
        preset = os.path.join(self.tmp, "toy.preset")
        with open(preset, "w") as f:
            f.write("set rounds=1 timeout=60 cycles=1 warmup=0\ncase list_pop n=200K layer=malloc\n")
        out = os.path.join(self.tmp, "results")
        p = self.pyalloc("run", "--preset", preset, "--configs-file", self.table, "--configs", "toy",
                         "--runtime", "both", "--out", out, "--seed", "1")
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(out, "latest", "results.csv")) as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(len(rows), 2)
        for r in rows:
            with self.subTest(params=r["params"]):
                self.assertEqual((r["status"], r["error"]), ("ok", ""))
                self.assertEqual((r["allocator"], r["verified"], r["allocator_lib"]), ("toy", "1", self.so))
                self.assertEqual(r["allocator_version"], "0.1-toy")
                # release=cycle: the toy's own toy_release() ran at `after free` (an unknown allocator gets none)
                free, base = int(r["rss_after_free_bytes"]), int(r["rss_base_bytes"])
                self.assertLess(free - base, (int(r["rss_peak_bytes"]) - base) / 2)
        self.assertEqual(sorted("runtime=cpython" in r["params"] for r in rows), [False, True])

    def test_deploy_line_names_its_release_call(self):
        code = ("import sys; sys.path.insert(0, sys.argv[1]); from pab import deploy; "
                "print(deploy.release_call({'allocator': 'toy', 'release_policy': 'cycle'}))")
        p = subprocess.run([PY, "-c", code, os.path.join(SOURCE, "scripts")], env=self.env, capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("ctypes.CDLL(None).toy_release()", p.stdout)


if __name__ == "__main__":
    unittest.main()

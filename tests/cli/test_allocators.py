# `pyalloc allocators` and `pyalloc workloads`: every default configuration verified in a child process with
# its library and version; a configuration whose library is another allocator is shown unverified, exit 1.
import os
import tempfile
import unittest
from repo import pyalloc

SOURCE = os.path.abspath(os.environ.get("PAB_SOURCE", os.path.join(os.path.dirname(__file__), "..", "..")))
BUILD = os.path.abspath(os.environ.get("PAB_BUILD", os.path.join(SOURCE, "build")))
DEFAULT = ["glibc", "glibc-trim", "jemalloc", "mimalloc", "tcmalloc", "tbbmalloc"]


class Allocators(unittest.TestCase):
    def table(self, p):
        lines = p.stdout.strip().splitlines()
        self.assertTrue(lines[0].startswith("config"), p.stdout)
        return {ln.split()[0]: ln for ln in lines[1:]}

    def test_default_configs_verified(self):
        p = pyalloc(["allocators", "--configs", "default"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        rows = self.table(p)
        self.assertEqual(list(rows), DEFAULT)
        for name, line in rows.items():
            self.assertTrue(line.rstrip().endswith("yes"), line)
        self.assertIn("libc.so.6", rows["glibc"])
        for name, soname in (("jemalloc", "libjemalloc.so.2"), ("mimalloc", "libmimalloc.so.2"),
                             ("tcmalloc", "libtcmalloc"), ("tbbmalloc", "libtbbmalloc_proxy.so.2")):
            self.assertIn(soname, rows[name])

    def test_all_includes_opt_in(self):
        p = pyalloc(["allocators"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        rows = self.table(p)
        self.assertIn("MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0", rows["jemalloc-nodecay"])
        self.assertGreaterEqual(len(rows), 14)

    def test_wrong_and_missing_library(self):
        with tempfile.NamedTemporaryFile("w", suffix=".tsv") as f:
            f.write("name\tallocator\tlibrary\trelease\tenv\tmatrix\tdescription\n"
                    "jemalloc\tjemalloc\t/usr/lib/x86_64-linux-gnu/libmimalloc.so.2\tnone\t-\tdefault\twrong\n"
                    "gone\tmimalloc\t/nonexistent/libmimalloc.so.2\tnone\t-\tdefault\tmissing\n")
            f.flush()
            p = pyalloc(["allocators", "--configs-file", f.name, "--configs", "glibc,jemalloc,gone"])
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        rows = self.table(p)
        self.assertTrue(rows["glibc"].rstrip().endswith("yes"))
        self.assertRegex(rows["jemalloc"], r"no: allocator mismatch: expected jemalloc.*mimalloc")
        self.assertIn("no: library not found: /nonexistent/libmimalloc.so.2", rows["gone"])

    def test_bad_configs_file(self):
        with tempfile.NamedTemporaryFile("w", suffix=".tsv") as f:
            f.write("name\tallocator\tlibrary\trelease\tenv\tmatrix\tdescription\nx\thoard\t-\tnone\t-\tdefault\td\n")
            f.flush()
            p = pyalloc(["allocators", "--configs-file", f.name])
        self.assertEqual(p.returncode, 2)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        self.assertIn("unknown allocator 'hoard'", p.stderr)


class Workloads(unittest.TestCase):
    def test_lists_small_churn_with_defaults(self):
        p = pyalloc(["workloads"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"(?m)^small_churn: ")
        self.assertRegex(p.stdout, r"(?m)^\s+live\s+size\s+100K\b")
        self.assertRegex(p.stdout, r"(?m)^\s+layer\s+enum\s+\w+\s+malloc\|pymalloc\b")


if __name__ == "__main__":
    unittest.main()

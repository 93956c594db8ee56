# The configuration table (allocators/configs.tsv) and --configs-file: parsing, overriding, selecting,
# library resolution and the child's environment; bad files are one-line UsageErrors.
import os
import sys
import unittest

SOURCE = os.path.abspath(os.environ.get("PAB_SOURCE", os.path.join(os.path.dirname(__file__), "..", "..")))
sys.path.insert(0, os.path.join(SOURCE, "scripts"))
from pab import configs  # noqa: E402
from pab.errors import UsageError  # noqa: E402
from tmpfiles import temp_file  # noqa: E402

HEADER = "name\tallocator\tlibrary\trelease\tenv\tmatrix\tdescription\n"
DEFAULT = ["glibc", "glibc-trim", "jemalloc", "mimalloc", "tcmalloc", "tbbmalloc"]


class Configs(unittest.TestCase):
    def table(self, text):
        return temp_file(self, text, ".tsv")

    def test_shipped_table(self):
        c = configs.load()
        self.assertEqual([x.name for x in configs.select(c, None)], DEFAULT)
        self.assertEqual(c["glibc-trim"].release, "cycle")
        self.assertEqual(c["glibc"].library, "-")
        self.assertEqual(c["jemalloc"].library, "@jemalloc")
        self.assertEqual(c["jemalloc-nodecay"].env, {"MALLOC_CONF": "dirty_decay_ms:0,muzzy_decay_ms:0"})
        self.assertEqual(c["glibc-mmap128k"].env, {"MALLOC_MMAP_THRESHOLD_": "131072"})
        for name in ("glibc-arena2", "tcmalloc-aggressive", "jemalloc-trim", "mimalloc-trim", "tcmalloc-trim",
                     "tbbmalloc-trim"):
            self.assertEqual(c[name].matrix, "opt-in", name)
        self.assertGreater(len(configs.select(c, "all")), len(DEFAULT))

    def test_user_file_adds_and_overrides(self):
        path = self.table("# mine\n" + HEADER +
                          "jemalloc  jemalloc  /opt/je/libjemalloc.so  none  MALLOC_CONF=narenas:1 A=b,c  default  -\n"
                          "mine\tmimalloc\tlib/libmi.so\tcycle\t-\topt-in\tmy build\n")
        c = configs.load(path)
        self.assertEqual(c["jemalloc"].library, "/opt/je/libjemalloc.so")
        self.assertEqual(c["jemalloc"].env, {"MALLOC_CONF": "narenas:1", "A": "b,c"})
        self.assertEqual(c["jemalloc"].env_text, "MALLOC_CONF=narenas:1 A=b,c")
        self.assertEqual(c["mine"].library, os.path.join(os.path.dirname(path), "lib", "libmi.so"))
        self.assertEqual([x.name for x in configs.select(c, "mine,glibc,mine")], ["mine", "glibc"])

    def test_bad_files(self):
        bad = {
            "missing column": HEADER + "x\tglibc\t-\tnone\t-\tdefault\n",
            "unknown allocator": HEADER + "x\thoard\t-\tnone\t-\tdefault\td\n",
            "unknown release": HEADER + "x\tglibc\t-\tsometimes\t-\tdefault\td\n",
            "bad matrix": HEADER + "x\tglibc\t-\tnone\t-\tmaybe\td\n",
            "bad env": HEADER + "x\tglibc\t-\tnone\tNOEQUALS\tdefault\td\n",
            "no header": "x\tglibc\t-\tnone\t-\tdefault\td\n",
            "reserved name": HEADER + "all\tglibc\t-\tnone\t-\tdefault\td\n",
        }
        for why, text in bad.items():
            with self.subTest(why):
                with self.assertRaises(UsageError) as e:
                    configs.load(self.table(text))
                self.assertNotIn("\n", str(e.exception))
        with self.assertRaises(UsageError):
            configs.load("/nonexistent/configs.tsv")

    def test_unknown_name(self):
        with self.assertRaisesRegex(UsageError, "unknown configuration 'nope'"):
            configs.select(configs.load(), "glibc,nope")

    def test_resolve(self):
        c = configs.load()
        self.assertEqual(configs.resolve(c["glibc"]), "")
        old = os.environ.get("PAB_LIB_JEMALLOC")
        try:
            os.environ["PAB_LIB_JEMALLOC"] = "/bin/sh"  # any existing file: the override wins
            self.assertEqual(configs.resolve(c["jemalloc"]), "/bin/sh")
            os.environ["PAB_LIB_JEMALLOC"] = "/nonexistent/libjemalloc.so.2"
            with self.assertRaisesRegex(LookupError, "^library not found: /nonexistent/libjemalloc.so.2$"):
                configs.resolve(c["jemalloc"])
        finally:
            os.environ.pop("PAB_LIB_JEMALLOC", None) if old is None else os.environ.update(PAB_LIB_JEMALLOC=old)

    def test_child_env(self):
        c = configs.load()
        base = {"PATH": "/bin", "LD_PRELOAD": "/x.so", "MALLOC_ARENA_MAX": "8", "MIMALLOC_X": "1", "HOME": "/h"}
        self.assertEqual(configs.child_env(c["glibc"], "", base), {"PATH": "/bin", "HOME": "/h"})
        env = configs.child_env(c["jemalloc-nodecay"], "/lib/je.so", base)
        self.assertEqual(env["LD_PRELOAD"], "/lib/je.so")
        self.assertEqual(env["MALLOC_CONF"], "dirty_decay_ms:0,muzzy_decay_ms:0")
        self.assertNotIn("MALLOC_ARENA_MAX", env)


if __name__ == "__main__":
    unittest.main()

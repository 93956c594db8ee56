# The CPython facts the model follows (docs/cpython-facts.md), re-checked against /usr/bin/python3 itself: object
# sizes, list/bytearray/str growth, GC thresholds, lazy bytes(n) against eager create_string_buffer, pinned arenas.
import os
import subprocess
import tempfile
import textwrap
import unittest

PY = "/usr/bin/python3"
SOURCE = os.path.abspath(os.environ.get("PAB_SOURCE", os.path.join(os.path.dirname(__file__), "..", "..")))


def python(code, env=None):
    """stdout of `code` run by the distribution's interpreter, as one value (repr)."""
    p = subprocess.run([PY, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60, env=env)
    if p.returncode:
        raise AssertionError(p.stderr)
    return eval(p.stdout)


VERSION = python("import sys; print(sys.version_info[:2])")


@unittest.skipUnless(VERSION == (3, 11), f"the numbers below are 3.11's; {PY} is {VERSION}")
class Facts(unittest.TestCase):
    def test_object_sizes(self):  # "Object sizes": bytes the allocator receives (sys.getsizeof counts the GC header)
        got = python("""
            import sys
            N = lambda k: type("N", (), {"__slots__": tuple(f"s{i}" for i in range(k))})()
            print({"int": sys.getsizeof(1), "float": sys.getsizeof(1.5), "str4": sys.getsizeof("abcd"),
                   "bytes0": sys.getsizeof(b""), "tuple3": sys.getsizeof((1, 2, 3)), "list": sys.getsizeof([]),
                   "dict": sys.getsizeof({}), "set": sys.getsizeof(set()), "slots2": sys.getsizeof(N(2)),
                   "dict5": sys.getsizeof({f"k{i}": i for i in range(5)}),
                   "dict10": sys.getsizeof({f"k{i}": i for i in range(10)})})""")
        self.assertEqual(got, {"int": 28, "float": 24, "str4": 53, "bytes0": 33, "tuple3": 64, "list": 56,
                               "dict": 64, "set": 216, "slots2": 48, "dict5": 64 + 120, "dict10": 64 + 208})

    def test_list_growth_and_shrink(self):  # "list"
        caps, shrinks = python("""
            import sys
            cap = lambda a: (sys.getsizeof(a) - 56) // 8
            a, caps = [], []
            for i in range(180):
                a.append(i)
                caps.append(cap(a))
            a = []
            for i in range(1000):
                a.append(i)
            shrinks = []
            while a:
                c = cap(a)
                a.pop()
                if cap(a) != c:
                    shrinks.append((len(a), cap(a)))
            print((sorted(set(caps)), shrinks[:4]))""")
        self.assertEqual(caps, [4, 8, 16, 24, 32, 40, 52, 64, 76, 92, 108, 128, 148, 172, 200])
        self.assertEqual(shrinks, [(549, 620), (309, 352), (175, 200), (99, 116)])

    def test_bytearray_and_str_growth(self):  # "dict, str, bytearray growth"
        grown, exact = python("""
            import sys
            b, grown = bytearray(b"x"), []
            for _ in range(40):
                before = sys.getsizeof(b)
                b.append(1)
                if sys.getsizeof(b) != before:
                    grown.append((len(b), sys.getsizeof(b) - sys.getsizeof(bytearray())))
            s, exact = "x" * 100, True
            for _ in range(50):
                n = sys.getsizeof(s)
                s += "yz"
                exact = exact and sys.getsizeof(s) == n + 2
            print((grown, exact))""")
        for n, alloc in grown:  # size + size/8 + (size < 9 ? 3 : 6)
            self.assertEqual(alloc, n + (n >> 3) + (3 if n < 9 else 6), grown)
        self.assertTrue(exact)

    def test_free_lists_spare_the_allocator(self):  # "Free lists": allocator calls per loop iteration
        with tempfile.TemporaryDirectory() as d:
            so = os.path.join(d, "libtoy.so")  # a malloc that counts its calls (tests/toy/toy_alloc.c)
            subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", so, os.path.join(SOURCE, "tests", "toy",
                                                                                      "toy_alloc.c")], check=True)
            env = dict(os.environ, LD_PRELOAD=so, PYTHONMALLOC="malloc")
            got = python("""
                import ctypes
                calls = ctypes.CDLL(None).toy_alloc_calls
                calls.restype = ctypes.c_ulonglong
                class C:
                    def __init__(self, x):
                        self.x = x
                out = {}
                for stmt in ("pass", "x = i * 1.5", "x = (i, i)", "x = {'a': i}", "x = [i]", "x = C(i)",
                             "x = str(i)", "x = i + 1000"):
                    code = compile(f"for i in range(1000, 21000):\\n    {stmt}\\n", "<loop>", "exec")
                    exec(code, {"C": C})  # the free lists fill
                    c0 = calls()
                    exec(code, {"C": C})
                    out[stmt] = round((calls() - c0) / 20000, 1)
                print({k: v - out["pass"] for k, v in out.items() if k != "pass"})""", env=env)
        self.assertEqual(got, {"x = i * 1.5": 0, "x = (i, i)": 0, "x = {'a': i}": 0, "x = [i]": 1, "x = C(i)": 2,
                               "x = str(i)": 2, "x = i + 1000": 1})  # net of the loop's own new int i

    def test_gc_thresholds(self):  # "Cyclic GC"
        self.assertEqual(python("import gc; print(gc.get_threshold())"), (700, 10, 10))

    def test_bytes_is_lazy_create_string_buffer_is_eager(self):  # "Large buffers"
        lazy, eager, freed = python("""
            import ctypes, os
            rss = lambda: int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") >> 20
            r0 = rss(); a = bytes(64 << 20); r1 = rss(); b = ctypes.create_string_buffer(64 << 20); r2 = rss()
            del a, b
            print((r1 - r0, r2 - r1, rss() - r0))""")
        self.assertLess(lazy, 4)
        self.assertGreaterEqual(eager, 63)
        self.assertLess(freed, 4)

    def test_one_survivor_in_64_pins_pymalloc_arenas(self):  # "pymalloc"
        grown, kept = python("""
            import os
            rss = lambda: int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            r0 = rss()
            objs = [(i, i * 0.5, (i, i)) for i in range(300000)]
            peak = rss()
            kept = [t[2] for t in objs[::64]]
            del objs
            print((peak - r0, rss() - r0))""")
        self.assertGreater(grown, 40 << 20)
        self.assertGreater(kept, 0.8 * grown)


if __name__ == "__main__":
    unittest.main()

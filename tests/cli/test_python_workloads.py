# The CPython twins (bench/python): they run under /usr/bin/python3, report the binary's counters in its JSON, prove
# the allocator from inside the interpreter, call its own release, and reproduce known facts (docs/cpython-facts.md).
import glob
import json
import os
import subprocess
import sys
import tempfile
import unittest

SRC = os.environ.get("PAB_SOURCE") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PY = os.path.join(SRC, "bench", "python")
LIBDIR = "/usr/lib/x86_64-linux-gnu"
LIBS = {"jemalloc": "libjemalloc.so.2", "mimalloc": "libmimalloc.so.2", "tcmalloc": "libtcmalloc_minimal.so.4",
        "tbbmalloc": "libtbbmalloc_proxy.so.2"}
HELD = ("jemalloc", "tcmalloc")  # allocators that keep freed pages until their release call (decay, page heap)
MiB = 1 << 20
sys.path.insert(0, os.path.join(SRC, "scripts"))
from pab.binary import catalogue  # noqa: E402


def env_for(allocator="glibc", layer="pymalloc", **extra):
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "PYTHONMALLOC")}
    if allocator != "glibc":
        env["LD_PRELOAD"] = os.path.join(LIBDIR, LIBS[allocator])
    if layer == "malloc":
        env["PYTHONMALLOC"] = "malloc"
    env.update(extra)
    return env


def run(workload, *params, allocator="glibc", layer="pymalloc", release="none", expect=None, extra=None):
    """(exit status, JSON or None, stderr) of one case: the instrumented cycle, one warm-up, two timed cycles."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "out.json")
        argv = ["/usr/bin/python3", os.path.join(PY, f"{workload}.py"), "--cycles=2", "--warmup=1", "--seed", "3",
                f"--expect={expect or allocator}", f"--release={release}", f"--out={out}"]
        argv += [f"--param={p}" for p in params]
        p = subprocess.run(argv, env=env_for(allocator, layer, **(extra or {})), capture_output=True, text=True,
                           timeout=60)
        doc = None
        if os.path.exists(out):
            with open(out) as f:
                doc = json.load(f)
        return p.returncode, doc, p.stderr


def grown(b, key):
    return b[key] - b["rss_base_bytes"]


class Workloads(unittest.TestCase):
    def case(self, workload, *params, **kw):
        rc, doc, err = run(workload, *params, **kw)
        self.assertEqual(rc, 0, err)
        b = doc["benchmarks"][0]
        self.assertFalse(b.get("error_occurred"), b.get("error_message"))
        return doc["context"], b

    def test_every_workload_reports_the_binarys_counters(self):
        small = {"small_churn": ["live=2K", "ops=2K"], "list_pop": ["n=5K"], "freelist": ["bursts=100"],
                 "large_buffer": ["size=1M"], "medium_buffers": ["max=1M", "count=20", "primer=2M"], "gc_generations": ["objects=2K"],
                 "realloc_growth": ["final=4K", "keys=1K", "count=2"]}
        names = sorted(os.path.basename(f)[:-3] for f in glob.glob(os.path.join(PY, "*.py")))
        counters = [c["name"] for c in catalogue()["counters"]]
        self.assertTrue(set(small) <= set(names), names)
        for w in names:
            if w == "pab_harness":
                continue
            with self.subTest(workload=w):
                ctx, b = self.case(w, *small.get(w, []))
                self.assertEqual(ctx["pab_workload"], w)
                self.assertEqual(b["name"], f"{w}/iterations:3/manual_time")
                self.assertEqual(set(counters) - set(b), {"rss_after_idle_bytes"})  # idle_ms=0: not measured
                self.assertEqual((b["iterations"], b["cycles"]), (3, 2))
                self.assertGreater(b["real_ns"], 0)
                self.assertGreater(b["cold_ns"], 0)
                self.assertGreater(b["rss_base_bytes"], 4 * MiB)  # the interpreter itself
                self.assertGreaterEqual(b["rss_peak_bytes"], b["rss_base_bytes"])
                self.assertGreater(b["ops_per_cycle"], 0)
                keys = [kv.split("=")[0] for kv in ctx["pab_params"].split(";")]
                self.assertEqual(keys, sorted(keys))
                self.assertIn("runtime=cpython", ctx["pab_params"].split(";"))
                self.assertIn("layer=pymalloc", ctx["pab_params"].split(";"))

    def test_glibc_release_is_malloc_trim_and_returns_list_pop_memory(self):
        # PYTHONMALLOC=malloc, no survivors: plain glibc keeps what the list held, malloc_trim(0) gives it back
        ctx, b = self.case("list_pop", "n=200K", "survivors=0", layer="malloc")
        self.assertEqual((ctx["pab_allocator"], ctx["pab_verified"]), ("glibc", "1"))
        self.assertIn("layer=malloc", ctx["pab_params"])
        self.assertGreater(grown(b, "rss_after_free_bytes"), 0.6 * grown(b, "rss_peak_bytes"))
        self.assertLess(grown(b, "rss_after_release_bytes"), 0.25 * grown(b, "rss_after_free_bytes"))

    def test_pymalloc_survivors_pin_arenas(self):
        # default pymalloc, 1 in 64 small objects kept: most of the peak stays, and a release cannot give it back
        ctx, b = self.case("list_pop", "n=200K", "survivors=64", "mix=uniform")  # all small: pymalloc
        self.assertGreater(grown(b, "rss_peak_bytes"), 15 * MiB)
        self.assertGreater(grown(b, "rss_after_release_bytes"), 0.7 * grown(b, "rss_peak_bytes"))

    def test_preloaded_allocator_is_proven_and_released_from_python(self):
        # Debian's python3 is not PIE: malloc resolves to its PLT stub, yet libpab names the preloaded allocator
        for name in LIBS:
            if not os.path.exists(os.path.join(LIBDIR, LIBS[name])):
                continue
            with self.subTest(allocator=name):
                ctx, b = self.case("list_pop", "n=200K", allocator=name, layer="malloc")
                self.assertEqual((ctx["pab_allocator"], ctx["pab_verified"]), (name, "1"))
                self.assertEqual(ctx["pab_allocator_lib"], os.path.join(LIBDIR, LIBS[name]))
                self.assertNotEqual(ctx["pab_allocator_version"], "unknown")
                self.assertLessEqual(b["rss_after_release_bytes"], b["rss_after_free_bytes"])
                if name in HELD:  # what the allocator held after free, its own release call gave back
                    self.assertLess(grown(b, "rss_after_release_bytes"), 0.3 * grown(b, "rss_after_free_bytes"))
                ctx, _ = self.case("small_churn", "live=2K", "ops=2K", allocator=name, layer="malloc",
                                   release="cycle")
                self.assertEqual(ctx["pab_release"], "cycle")

    def test_idle_ms_is_the_harness_s(self):
        ctx, b = self.case("freelist", "bursts=20", "idle_ms=300")  # a cycle of about a millisecond
        self.assertIn("idle_ms=300", ctx["pab_params"].split(";"))
        self.assertIn("rss_after_idle_bytes", b)
        self.assertLess(b["cold_ns"], 300e6)  # the idle is not part of the cold cycle's time

    def test_large_buffer_memset_is_resident_calloc_is_not(self):
        _, eager = self.case("large_buffer", "size=64M", "mode=memset")
        _, lazy = self.case("large_buffer", "size=64M", "mode=calloc")
        _, half = self.case("large_buffer", "size=64M", "mode=calloc", "touch=50")
        self.assertGreater(grown(eager, "rss_peak_bytes"), 60 * MiB)
        self.assertLess(grown(lazy, "rss_peak_bytes"), 8 * MiB)
        self.assertGreater(grown(half, "rss_peak_bytes"), 28 * MiB)
        self.assertLess(grown(half, "rss_peak_bytes"), 40 * MiB)
        self.assertLess(grown(eager, "rss_after_free_bytes"), 4 * MiB)  # freed: munmap, RSS drops at once
        self.assertEqual(eager["live_peak_bytes"], 64 * MiB)

    def test_mismatches_and_usage(self):
        rc, doc, err = run("small_churn", "live=1K", expect="jemalloc")  # no preload: glibc serves malloc
        self.assertEqual(rc, 3)
        self.assertIn("expected jemalloc", err)
        self.assertIsNone(doc)
        rc, _, err = run("small_churn", "live=1K", "layer=malloc")  # PYTHONMALLOC not set: pymalloc runs
        self.assertEqual(rc, 3)
        self.assertIn("layer mismatch", err)
        for bad in ("live=12X", "nosuch=1", "young=101", "mix=zipf"):
            rc, _, err = run("small_churn", bad)
            self.assertEqual(rc, 2, bad)
            self.assertEqual(len(err.strip().splitlines()), 1, err)

    def test_memory_guard_skips(self):
        rc, doc, err = run("large_buffer", "size=1G", extra={"PAB_MEM_AVAILABLE": "512M"})
        self.assertEqual(rc, 0, err)
        b = doc["benchmarks"][0]
        self.assertTrue(b["error_occurred"])
        self.assertTrue(b["error_message"].startswith("skipped: large_buffer"), b["error_message"])


class RunnerHook(unittest.TestCase):
    def test_command_and_expand(self):
        from pab import cpython
        from pab.configs import Config
        from pab.presets import Case
        cases, notes = cpython.expand([Case("small_churn", {"live": "1K"}), Case("list_pop", {"layer": "malloc"}),
                                       Case("no_such_workload", {}), Case("freelist", {"freelist": "off"}),
                                       Case("gc_generations", {"size": "44"})])
        self.assertEqual([(c.workload, c.params["layer"]) for c in cases],
                         [("small_churn", "pymalloc"), ("small_churn", "malloc"), ("list_pop", "malloc")])
        self.assertTrue(all(c.params["runtime"] == "cpython" for c in cases))
        self.assertEqual(len(notes), 3, notes)
        self.assertIn("CPython cannot express it", notes[1])
        cfg = Config("jemalloc", "jemalloc", "@jemalloc", "none")
        protocol = {"cycles": 4, "warmup": 2}
        malloc, pymalloc = cases[1], cases[0]
        argv, env = cpython.command(malloc, cfg, 7, protocol, "/tmp/x.json", {"LD_PRELOAD": "/l.so", "PYTHONMALLOC": "x"})
        self.assertEqual(argv[:2], ["/usr/bin/python3", os.path.join(PY, "small_churn.py")])
        self.assertIn("--expect=jemalloc", argv)
        self.assertIn("--param=layer=malloc", argv)
        self.assertNotIn("--param=runtime=cpython", argv)
        self.assertEqual([a for a in argv if a.startswith(("--cycles", "--warmup"))], ["--cycles=4", "--warmup=2"])
        self.assertEqual((env["LD_PRELOAD"], env["PYTHONMALLOC"]), ("/l.so", "malloc"))
        _, env = cpython.command(pymalloc, cfg, 7, protocol, "/tmp/x.json", {"PYTHONMALLOC": "malloc"})
        self.assertNotIn("PYTHONMALLOC", env)
        self.assertIn("runtime=cpython", cpython.full_params(pymalloc).split(";"))


if __name__ == "__main__":
    unittest.main()

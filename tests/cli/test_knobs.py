# Knob read-back in the benchmark binary (docs/design.md §13): each allocator's knobs read back through its own API
# (glibc's through probes that measure, not echo), a value the allocator changed reported as applied, a knob that
# is misspelled or belongs to another allocator refused, and idle_ms letting a decaying allocator's RSS fall.
import json
import os
import subprocess
import tempfile
import unittest

SOURCE = os.path.abspath(os.environ.get("PAB_SOURCE", os.path.join(os.path.dirname(__file__), "..", "..")))
BUILD = os.path.abspath(os.environ.get("PAB_BUILD", os.path.join(SOURCE, "build")))
BENCH = os.path.join(BUILD, "bench", "pyalloc-bench")
LIBDIR = "/usr/lib/x86_64-linux-gnu"
LIBS = {"jemalloc": "libjemalloc.so.2", "mimalloc": "libmimalloc.so.2", "tcmalloc": "libtcmalloc_minimal.so.4"}
MiB = 1 << 20


def child_env(allocator, env):
    e = {k: v for k, v in os.environ.items() if not k.startswith(("LD_PRELOAD", "MALLOC_", "MIMALLOC_", "TCMALLOC_"))}
    if allocator in LIBS:
        e["LD_PRELOAD"] = os.path.join(LIBDIR, LIBS[allocator])
    return dict(e, **env)


def read_back(allocator, knobs, env=None):
    """(tuning, error, exit status): --pab_identify with knobs asked, under env (the knobs' variables by default)."""
    if env is None:
        env = dict(item.split("=", 1) for item in knobs.split(";"))
    p = subprocess.run([BENCH, "--pab_identify", f"--pab_expect={allocator}", f"--pab_knobs={knobs}"],
                       env=child_env(allocator, env), capture_output=True, text=True, timeout=60)
    info = json.loads(p.stdout.strip().splitlines()[-1])
    err = [ln for ln in p.stderr.splitlines() if ln.startswith("pyalloc-bench:")]
    return info.get("tuning"), (err[-1] if err else ""), p.returncode


class ReadBack(unittest.TestCase):
    def check(self, allocator, knobs, expect, env=None):
        tuning, err, rc = read_back(allocator, knobs, env)
        self.assertEqual(rc, 0, err)
        for item in expect:
            self.assertIn(item, tuning)
        return tuning

    def test_jemalloc_mallctl(self):
        t = self.check("jemalloc", "MALLOC_CONF=dirty_decay_ms:1000,narenas:3,background_thread:true", [])
        self.assertEqual(t, "dirty_decay_ms=1000;narenas=3;background_thread=true")

    def test_mimalloc_option_get(self):
        self.check("mimalloc", "MIMALLOC_DECOMMIT_DELAY=0;MIMALLOC_PAGE_RESET=on",
                   ["MIMALLOC_DECOMMIT_DELAY=0", "MIMALLOC_PAGE_RESET=1"])

    def test_tcmalloc_malloc_extension(self):
        self.check("tcmalloc", "TCMALLOC_RELEASE_RATE=10;TCMALLOC_AGGRESSIVE_DECOMMIT=true",
                   ["TCMALLOC_RELEASE_RATE=10", "TCMALLOC_AGGRESSIVE_DECOMMIT=1"])

    def test_glibc_probes(self):
        t = self.check("glibc", "MALLOC_ARENA_MAX=2;MALLOC_MMAP_THRESHOLD_=262144;MALLOC_TRIM_THRESHOLD_=1048576",
                       ["MALLOC_ARENA_MAX=2 (probe: 2 threads allocating at once used 2 arenas)",
                        "MALLOC_MMAP_THRESHOLD_=262144 (probe: a 262136-byte request was mmapped, 262120 was not)",
                        "MALLOC_TRIM_THRESHOLD_=1048576 (probe: a 1024 KiB top was trimmed, 1008 KiB kept)",
                        "glibc.dynamic_mmap_threshold=off"])
        self.assertNotIn("asked", t)

    def test_glibc_probes_measure_not_echo(self):
        # asked one value, the process runs with another: the probes find the one in force
        self.check("glibc", "MALLOC_ARENA_MAX=2;MALLOC_MMAP_THRESHOLD_=131072",
                   ["MALLOC_ARENA_MAX=at least 3 (asked 2)", "MALLOC_MMAP_THRESHOLD_=524288 (asked 131072)"],
                   env={"MALLOC_ARENA_MAX": "3", "MALLOC_MMAP_THRESHOLD_": "524288"})
        self.check("glibc", "GLIBC_TUNABLES=glibc.malloc.trim_threshold=4194304",
                   ["glibc.malloc.trim_threshold=4194304 (probe: a 4096 KiB top was trimmed"])


class Applied(unittest.TestCase):
    """A value the allocator clamps, rejects or reads its own way is reported as what it applied."""

    def test_jemalloc_clamps_and_rejects(self):
        tuning, _, rc = read_back("jemalloc", "MALLOC_CONF=tcache_max:100000000,dirty_decay_ms:-5")
        self.assertEqual(rc, 0)
        self.assertEqual(tuning, "tcache_max=8388608 (asked 100000000);dirty_decay_ms=10000 (asked -5)")

    def test_mimalloc_reads_letters_its_own_way(self):
        tuning, _, _ = read_back("mimalloc", "MIMALLOC_DECOMMIT_DELAY=N;MIMALLOC_SEGMENT_DECOMMIT_DELAY=10.5")
        # "N" is a substring of "1;TRUE;YES;ON" (src/options.c), "10.5" is not a number it takes: default 500
        self.assertEqual(tuning, "MIMALLOC_DECOMMIT_DELAY=1 (asked N);MIMALLOC_SEGMENT_DECOMMIT_DELAY=500 (asked 10.5)")

    def test_tcmalloc_clamps_and_parses(self):
        tuning, _, _ = read_back("tcmalloc", "TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES=1;TCMALLOC_RELEASE_RATE=fast")
        self.assertEqual(tuning, "TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES=524288 (asked 1);"
                                 "TCMALLOC_RELEASE_RATE=0 (asked fast)")

    def test_glibc_reads_digits_only(self):
        # glibc's tunables read "4M" as 4: the probe finds a top far below 4 MiB trimmed (the pad bounds it)
        tuning, _, _ = read_back("glibc", "MALLOC_TRIM_THRESHOLD_=4M")
        lo, hi = map(int, tuning.split(" ")[0].split("=")[1].split(".."))
        self.assertIn(" (asked 4M) (probe: ", tuning)
        self.assertLess(hi, 1 << 20, tuning)


class Refused(unittest.TestCase):
    def test_misspelled_malloc_conf_option(self):
        tuning, err, rc = read_back("jemalloc", "MALLOC_CONF=dirty_decay_msec:0")
        self.assertEqual(rc, 4)
        self.assertIn("MALLOC_CONF option 'dirty_decay_msec' does not exist in jemalloc 5.3.0", err)

    def test_misspelled_variables(self):
        for allocator, knob, words in (
                ("glibc", "MALLOC_TRIM_THRESHOLD=65536", "MALLOC_TRIM_THRESHOLD is not a variable glibc"),
                ("mimalloc", "MIMALLOC_PURGE_DELAY=0", "mimalloc 2.0 has no option"),
                ("tcmalloc", "TCMALLOC_RELEASE_RAT=1", "TCMALLOC_RELEASE_RAT is not a variable gperftools"),
                ("jemalloc", "MALLOC_ARENA_MAX=2", "MALLOC_ARENA_MAX is read by glibc, not by jemalloc"),
                ("jemalloc", "MALLOC_CONF=dirty_decay_ms=0", "is not name:value")):
            with self.subTest(knob=knob):
                _, err, rc = read_back(allocator, knob)
                self.assertEqual(rc, 4, err)
                self.assertIn(words, err)

    def test_knob_glibc_never_read(self):
        _, err, rc = read_back("glibc", "MALLOC_TRIM_THRESHOLD_=65536", env={})
        self.assertEqual(rc, 4)
        self.assertIn("dynamic mmap threshold is still on", err)


class Twin(unittest.TestCase):
    """The CPython twin asks the same adapter (libpab through ctypes) to read the knobs back, before its base RSS."""

    def twin(self, knobs):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "out.json")
            env = dict(child_env("jemalloc", dict(item.split("=", 1) for item in knobs.split(";"))),
                       PAB_BUILD=BUILD, PYTHONDONTWRITEBYTECODE="1")
            p = subprocess.run(["/usr/bin/python3", os.path.join(SOURCE, "bench", "python", "small_churn.py"),
                                "--param=live=2K", "--param=ops=2K", "--cycles=1", "--warmup=0", "--expect=jemalloc",
                                f"--knobs={knobs}", f"--out={out}"], env=env, capture_output=True, text=True,
                               timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(out) as f:
                data = json.load(f)
        return data["context"]["pab_tuning"], data["benchmarks"][0]

    def test_read_back_and_refusal(self):
        tuning, b = self.twin("MALLOC_CONF=dirty_decay_ms:250")
        self.assertEqual(tuning, "dirty_decay_ms=250")
        self.assertFalse(b.get("error_occurred"), b)
        tuning, b = self.twin("MALLOC_CONF=dirty_decay_msec:0")
        self.assertTrue(b.get("error_occurred"))
        self.assertIn("'dirty_decay_msec' does not exist", b["error_message"])


def case(allocator, env, params):
    """One case of small_churn (a 30 MiB live set) under allocator and env: the counters of its JSON."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "out.json")
        argv = [BENCH, "--pab_workload=small_churn", "--pab_param=live=200K", "--pab_cycles=1", "--pab_warmup=0",
                f"--pab_expect={allocator}", f"--benchmark_out={out}", "--benchmark_out_format=json"]
        argv += [f"--pab_param={p}" for p in params] + [f"--pab_knobs={k}={v}" for k, v in env.items()]
        p = subprocess.run(argv, env=child_env(allocator, env), capture_output=True, text=True, timeout=60)
        if p.returncode:
            raise AssertionError(p.stderr)
        with open(out) as f:
            data = json.load(f)
    b = data["benchmarks"][0]
    if b.get("error_occurred"):
        raise AssertionError(b["error_message"])
    return b, data["context"]


class Idle(unittest.TestCase):
    def test_idle_lets_decay_return_memory(self):
        # jemalloc decays dirty pages over dirty_decay_ms; its background thread does it while the process sleeps
        b, ctx = case("jemalloc", {"MALLOC_CONF": "dirty_decay_ms:100,background_thread:true"}, ["idle_ms=1000"])
        kept, idled = b["rss_after_free_bytes"] - b["rss_base_bytes"], b["rss_after_idle_bytes"] - b["rss_base_bytes"]
        self.assertEqual(ctx["pab_tuning"], "dirty_decay_ms=100;background_thread=true")
        self.assertGreater(kept, 16 * MiB, b)
        self.assertLess(idled, 0.5 * kept, f"after free +{kept / MiB:.1f} MiB, after idle +{idled / MiB:.1f} MiB")

    def test_sleep_without_background_thread_returns_nothing(self):
        # without its thread jemalloc decays only when called: a sleeping idle leaves what after free left
        b, _ = case("jemalloc", {"MALLOC_CONF": "dirty_decay_ms:100"}, ["idle_ms=500"])
        kept, idled = b["rss_after_free_bytes"] - b["rss_base_bytes"], b["rss_after_idle_bytes"] - b["rss_base_bytes"]
        self.assertGreater(idled, 0.9 * kept, f"after free +{kept / MiB:.1f} MiB, after idle +{idled / MiB:.1f} MiB")

    def test_no_idle_no_figure(self):
        b, _ = case("glibc", {}, [])
        self.assertNotIn("rss_after_idle_bytes", b)


if __name__ == "__main__":
    unittest.main()

"""test_physics: what the allocator physics demands of large_buffer, list_pop and medium_buffers on glibc,
measured through the benchmark binary's JSON (bench/CONTRACT.md) at small sizes."""
import json
import os
import subprocess
import tempfile
import unittest

MiB = 1 << 20


def run_case(workload, params, release="none", env_extra=None):
    """One case in a fresh process under glibc; returns benchmarks[0] of its JSON."""
    binary = os.path.join(os.environ.get("PAB_BUILD", "build"), "bench", "pyalloc-bench")
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD" and not k.startswith("MALLOC_")}
    env.update(env_extra or {})
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.json")
        cmd = [binary, f"--pab_workload={workload}", "--pab_expect=glibc", f"--pab_release={release}",
               "--benchmark_min_time=0.01", f"--benchmark_out={out}", "--benchmark_out_format=json"]
        cmd += [f"--pab_param={k}={v}" for k, v in params.items()]
        proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=60)
        if proc.returncode:
            raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.strip()[-300:]}")
        with open(out) as f:
            bench = json.load(f)["benchmarks"][0]
    if bench.get("error_occurred"):
        raise AssertionError(f"{workload} {params}: {bench.get('error_message')}")
    return bench


class LargeBuffer(unittest.TestCase):
    SIZE = 256 * MiB

    def rise(self, mode, touch=0):
        b = run_case("large_buffer", {"size": "256M", "mode": mode, "touch": touch})
        self.assertEqual(b["live_peak_bytes"], self.SIZE)
        return b["rss_peak_bytes"] - b["rss_base_bytes"]

    def test_memset_is_resident_at_once(self):
        rise = self.rise("memset")
        self.assertLess(abs(rise - self.SIZE), 0.01 * self.SIZE, f"peak rose by {rise / MiB:.1f} MiB")

    def test_calloc_untouched_is_not(self):
        rise = self.rise("calloc")
        self.assertLess(rise, 0.05 * self.SIZE, f"peak rose by {rise / MiB:.1f} MiB")

    def test_calloc_touched_half_is_half(self):
        rise = self.rise("calloc", touch=50)
        self.assertLess(abs(rise - self.SIZE / 2), 0.05 * self.SIZE, f"peak rose by {rise / MiB:.1f} MiB")

    def test_freeing_returns_it(self):
        b = run_case("large_buffer", {"size": "256M"})
        self.assertLess(b["rss_after_free_bytes"] - b["rss_base_bytes"], 0.05 * self.SIZE)


class ListPop(unittest.TestCase):
    PARAMS = {"n": "200K", "survivors": 0}

    def test_trim_gives_back_what_pop_keeps(self):
        kept = run_case("list_pop", self.PARAMS)
        trimmed = run_case("list_pop", self.PARAMS, release="cycle")
        grew = kept["rss_peak_bytes"] - kept["rss_base_bytes"]
        self.assertGreater(grew, kept["live_peak_bytes"] // 2)
        # glibc keeps the popped objects' heap (fastbins never coalesce); malloc_trim(0) returns it
        kept_after = kept["rss_after_free_bytes"] - kept["rss_base_bytes"]
        trimmed_after = trimmed["rss_after_free_bytes"] - trimmed["rss_base_bytes"]
        self.assertGreater(kept_after, 0.5 * grew, f"glibc kept {kept_after / MiB:.1f} of {grew / MiB:.1f} MiB")
        self.assertLess(trimmed_after, 0.25 * kept_after, f"trim left {trimmed_after / MiB:.1f} MiB")


class MediumBuffers(unittest.TestCase):
    # docs/cpython-facts.md: free one 8 MiB buffer, allocate many 2 MiB buffers, free all but the last
    PARAMS = {"primer": "8M", "min": "2M", "max": "2M", "live": 40, "count": 40, "keep": 1}

    def test_dynamic_mmap_threshold_keeps_buffers(self):
        dynamic = run_case("medium_buffers", self.PARAMS)
        fixed = run_case("medium_buffers", self.PARAMS, env_extra={"MALLOC_MMAP_THRESHOLD_": "131072"})
        kept = dynamic["rss_after_free_bytes"] - dynamic["rss_base_bytes"]
        kept_fixed = fixed["rss_after_free_bytes"] - fixed["rss_base_bytes"]
        self.assertGreater(kept, 60 * MiB, f"dynamic threshold kept {kept / MiB:.1f} MiB")
        self.assertLess(kept_fixed, 10 * MiB, f"fixed threshold kept {kept_fixed / MiB:.1f} MiB")

    def test_without_primer_the_threshold_stays(self):
        b = run_case("medium_buffers", dict(self.PARAMS, primer=0))
        self.assertLess(b["rss_after_free_bytes"] - b["rss_base_bytes"], 10 * MiB)


if __name__ == "__main__":
    unittest.main()

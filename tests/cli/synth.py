# Synthetic runs with known answers for the report/compare/recommend tests: rows written with pab.schema.Writer
# plus a meta.json, numbers chosen so the right verdict is certain (e.g. jemalloc 10 % faster in every round).
import json
import os
import sys

SOURCE = os.path.abspath(os.environ.get("PAB_SOURCE", os.path.join(os.path.dirname(__file__), "..", "..")))
sys.path.insert(0, os.path.join(SOURCE, "scripts"))
from pab import schema  # noqa: E402

MIB = 1 << 20
MACHINE = {"host": "synth", "cpu_model": "Synthetic CPU", "cores": 2, "mem_total_bytes": 8 << 30,
           "kernel": "6.1.0-synth", "thp": "madvise", "glibc_version": "2.36", "git_rev": "synth"}
CONFIGS = {  # name -> allocator, allocator_lib, allocator_version, release_policy, env
    "glibc": ("glibc", "/lib/x86_64-linux-gnu/libc.so.6", "2.36", "none", ""),
    "glibc-trim": ("glibc", "/lib/x86_64-linux-gnu/libc.so.6", "2.36", "cycle", ""),
    "jemalloc": ("jemalloc", "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2", "5.3.0", "none", ""),
    "mimalloc": ("mimalloc", "/usr/lib/x86_64-linux-gnu/libmimalloc.so.2", "2.0.9", "none", ""),
    "jemalloc-nodecay": ("jemalloc", "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2", "5.3.0", "none",
                         "MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0"),
    "tbbmalloc": ("tbbmalloc", "/usr/lib/x86_64-linux-gnu/libtbbmalloc_proxy.so.2", "2021.8", "none", ""),
}
# (time factor, peak factor, after-free factor) relative to glibc, per configuration and layer
FACTORS = {
    ("glibc", "malloc"): (1.0, 1.0, 1.0), ("glibc", "pymalloc"): (1.0, 1.0, 1.0),
    ("glibc-trim", "malloc"): (1.02, 1.0, 0.5), ("glibc-trim", "pymalloc"): (1.01, 1.0, 0.9),
    ("jemalloc", "malloc"): (0.9, 1.05, 0.8), ("jemalloc", "pymalloc"): (0.995, 1.0, 1.0),
    ("mimalloc", "malloc"): (1.0, 1.3, 1.3), ("mimalloc", "pymalloc"): (1.0, 1.01, 1.01),
}
FAILED_REASON = "ENOMEM: small_churn: the allocator returned NULL for 1.0 GiB (1073741824 bytes)"


def row(run_id, config, workload, params, rnd, time_ns, peak, after_free, after_release=None, status="ok", error=""):
    alloc, lib, version, release, env = CONFIGS[config]
    r = dict(MACHINE, run_id=run_id, round=rnd, seed=7, timestamp="2026-01-01T00:00:00+00:00", preset="quick",
             config=config, allocator=alloc, allocator_lib=lib, allocator_version=version, verified=1,
             release_policy=release, env=env, workload=workload, params=params, status=status, error=error)
    if status == "ok":
        base = 4 * MIB
        after_release = after_release if after_release is not None else min(after_free, base + MIB)
        r.update(threads=1, iterations=100, real_ns=int(time_ns), cpu_ns=int(time_ns), ops_per_s=1e9 / time_ns * 1000,
                 ns_per_op=time_ns / 1000, rss_base_bytes=base, rss_peak_bytes=int(peak),
                 rss_after_free_bytes=int(after_free), rss_after_release_bytes=int(after_release), release_ns=20000,
                 live_peak_bytes=int(peak * 0.7), overhead_ratio=round((peak - base) / (peak * 0.7), 4),
                 minor_faults=100, major_faults=0)
    return r


def jitter(rnd, salt=0):
    """A small deterministic wobble (+-0.4 %) so rounds are not identical."""
    return 1.0 + 0.002 * (((rnd * 7 + salt * 3) % 5) - 2)


def standard_rows(run_id, rounds=5, configs=("glibc", "glibc-trim", "jemalloc", "mimalloc"), failed=True):
    """small_churn at both layers and list_pop (malloc only): jemalloc is 10 % faster on layer=malloc in every round."""
    rows = []
    cases = [("small_churn", "layer=malloc;live=1K", "malloc", 2e6, 40 * MIB, 30 * MIB),
             ("small_churn", "layer=pymalloc;live=1K", "pymalloc", 1.5e6, 36 * MIB, 32 * MIB),
             ("list_pop", "n=1K;shrink=none", "malloc", 5e6, 80 * MIB, 60 * MIB)]
    for rnd in range(1, rounds + 1):
        for salt, (w, p, layer, t, peak, free) in enumerate(cases):
            for c in configs:
                ft, fp, ff = FACTORS.get((c, layer), (1.0, 1.0, 1.0))
                j = jitter(rnd, salt)
                rows.append(row(run_id, c, w, p, rnd, t * ft * j, peak * fp * j, free * ff * j))
        if failed:
            rows.append(row(run_id, "tbbmalloc", "small_churn", "layer=malloc;live=1K", rnd, 0, 0, 0,
                            status="failed", error=FAILED_REASON))
    return rows


def write_run(parent, name, rows, meta=True, timeline=None):
    """Writes parent/name/results.csv (+ meta.json, + timeline.csv when given rows of it); returns the directory."""
    d = os.path.join(parent, name)
    os.makedirs(d, exist_ok=True)
    w = schema.Writer(os.path.join(d, "results.csv"))
    for r in rows:
        w.write(r)
    w.close()
    if meta:
        rounds = max(r["round"] for r in rows)
        with open(os.path.join(d, "meta.json"), "w") as f:
            json.dump({"run_id": name, "complete": True, "preset": {"name": "quick"}, "rounds": rounds, "seed": 7,
                       "machine": MACHINE, "timeline": bool(timeline)}, f)
    if timeline:
        with open(os.path.join(d, "timeline.csv"), "w") as f:
            f.write("run_id,round,config,workload,params,t_ns,rss_bytes,event\n")
            for t in timeline:
                f.write(",".join(str(x) for x in t) + "\n")
    return d


def timeline_rows(run_id, configs=("glibc", "jemalloc")):
    out = []
    for c in configs:
        peak = 40 if c == "glibc" else 44
        for i in range(0, 21):
            mib = 4 + peak * min(i, 10) / 10 if i <= 12 else (30 if c == "glibc" else 20)
            out.append((run_id, 1, c, "small_churn", "layer=malloc;live=1K", i * 5_000_000, int(mib * MIB),
                        "after_free" if i == 13 else ""))
    return out

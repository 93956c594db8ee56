# An example program to record and replay (bench/trace/README.md): a dict of str keys to small lists, 90 % dropped.
# Run directly it prints its own time and RSS after the drop, so replay's ranking can be checked against it.
import gc
import os
import sys
import time


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
rss0, t0 = rss(), time.perf_counter()
d = {f"key-{i:08d}": [i, str(i) * 3, (i, i + 1)] for i in range(n)}
for i in range(n):
    if i % 10:
        del d[f"key-{i:08d}"]
gc.collect()
t1 = time.perf_counter()
print(f"elapsed_ns={int((t1 - t0) * 1e9)} rss_start={rss0} rss_after_free={rss()} kept={len(d)}")

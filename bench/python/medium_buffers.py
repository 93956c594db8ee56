# medium_buffers in real Python (bench/workloads/medium_buffers.c): a `primer` bytearray made and freed first (glibc
# raises its mmap threshold to it), then `count` bytearrays log-uniform in [min, max], `live` at once (FIFO).
import random

import pab_harness as h


class State:
    pass


def setup(c):
    if c.p["min"] > c.p["max"]:
        c.fail(f"min={c.p['min']} is above max={c.p['max']}")
    s, rng, lo, hi = State(), random.Random(c.seed), c.p["min"], c.p["max"]
    s.sizes = [int(lo * (hi / lo) ** rng.random()) for _ in range(c.p["count"])]
    return s


def make(n, tag):
    b = bytearray(n)  # malloc + memset: resident
    b[0] = b[-1] = tag
    return b


def drop(c, ring, k):
    b = ring.pop(k)
    c.check(b[0] == b[-1], "a buffer")


def cycle(c, s):
    if c.p["primer"]:
        b = make(c.p["primer"], 1)
        c.check(b[-1] == 1, "the primer")
        del b
    ring, live, peak, now = [], c.p["live"], 0, 0
    for k, n in enumerate(s.sizes):
        if len(ring) == live:
            now -= len(ring[0])
            drop(c, ring, 0)  # the oldest goes
        ring.append(make(n, k & 0xff))
        now += n
        peak = max(peak, now)
    c.peak(peak)
    while len(ring) > c.p["keep"]:
        drop(c, ring, 0)
    c.ops += 2 * len(s.sizes) + 2 * bool(c.p["primer"])
    c.freed()
    while ring:
        drop(c, ring, 0)


def need(p):
    return p["live"] * p["max"] + p["primer"]


WORKLOAD = h.Workload("medium_buffers", setup, cycle, need)
if __name__ == "__main__":
    h.main(WORKLOAD)

# gc_generations in real Python (bench/workloads/gc_generations.c): container objects in reference cycles, dropped
# and left to CPython's own cyclic GC (thresholds set with gc.set_threshold); 1 in `survivors` pairs lives on.
import gc

import pab_harness as h

P = h.Param
PARAMS = [
    P("objects", "size", "200K", help="container objects created per cycle (in cyclic pairs)", min=2),
    P("survivors", "int", "0", help="keep 1 in k pairs alive until the next cycle (0: none)"),
    P("t0", "int", "700", help="gen0 threshold (gc.set_threshold); 0 disables the GC"),
    P("t1", "int", "10", help="gen1 threshold"),
    P("t2", "int", "10", help="gen2 threshold"),
]


class Node:
    __slots__ = ("peer", "tag")  # 56 -> 64 bytes with the GC header: one allocation per node


class State:
    pass


def setup(c):
    gc.set_threshold(c.p["t0"], c.p["t1"], c.p["t2"])
    s = State()
    s.kept = []
    return s


def pair(i):
    a, b = Node(), Node()
    a.peer, b.peer, a.tag, b.tag = b, a, i, i
    return a


def cycle(c, s):
    """No gc.collect() here: the dead pairs wait for CPython's automatic collections, as in a real program."""
    for a in s.kept:  # last cycle's survivors are checked and dropped (they die in a later collection)
        c.check(a.peer.peer is a and a.tag == a.peer.tag, "a surviving pair")
    s.kept = []
    keep, batch = c.p["survivors"], []
    for i in range(c.p["objects"] // 2):
        a = pair(i)
        batch.append(a)
        if len(batch) == 1000:  # a working set of 1000 pairs, dropped together
            for j, x in enumerate(batch):
                c.check(x.peer.peer is x and x.tag == x.peer.tag, "a pair")
                if keep and (i - 999 + j) % keep == 0:
                    s.kept.append(x)
            batch = []
    for x in batch:
        c.check(x.peer.peer is x, "a pair")
    del batch
    c.peak(64 * c.p["objects"])  # an upper bound: every dead pair uncollected until the cycle ends
    c.ops += 2 * c.p["objects"]
    c.freed()


def teardown(c, s):
    gc.set_threshold(700, 10, 10)


def need(p):
    return p["objects"] * 64 * 2


WORKLOAD = h.Workload("gc_generations", "batch frees and long-lived survivors pinning memory",
                      "pairs of objects in reference cycles, freed only by CPython's cyclic GC",
                      PARAMS, setup, cycle, need, teardown)
if __name__ == "__main__":
    h.main(WORKLOAD)

# gc_generations in real Python (bench/workloads/gc_generations.c): rings of `ring` objects, each a reference cycle
# (or, for 100 - cyclic %, a chain that refcounting frees), dropped young, in gen1 or at the cycle's end, and left to
# CPython's own cyclic GC under gc.set_threshold(t0, t1, t2); `resident` long-lived objects made in setup sit in gen2.
import gc
import random
from array import array

import pab_harness as h

YOUNG, MIDDLE, OLD = range(3)
HEADER = 32  # a __slots__ instance: 16 B GC header + 16 B object header, then 8 B per slot (3.11)


def node_class(size):
    """A class whose instances the allocator sees as exactly `size` bytes: peer, tag and padding slots."""
    pad = (size - HEADER) // 8 - 2
    return type("Node", (), {"__slots__": ("peer", "tag") + tuple(f"pad{i}" for i in range(pad))})


class State:
    pass


def setup(c):
    p, s, rng = c.p, State(), random.Random(c.seed)
    s.Node, s.ring, s.n = node_class(p["size"]), p["ring"], p["objects"]
    s.nrings = (s.n + s.ring - 1) // s.ring
    s0, s1 = p["survive0"], p["survive1"]
    draws = (rng.randrange(10000) for _ in range(s.nrings))
    s.fates = array("B", (YOUNG if x >= s0 * 100 else MIDDLE if x >= s0 * s1 else OLD for x in draws))
    s.cyclic = bytearray(rng.randrange(100) < p["cyclic"] for _ in range(s.nrings))
    s.heads, s.born = [None] * s.nrings, array("Q", bytes(8 * s.nrings))
    s.collections = [0]
    s.counter = lambda phase, info, n=s.collections: n.__setitem__(0, n[0] + (phase == "stop"))
    gc.callbacks.append(s.counter)
    gc.set_threshold(p["t0"], p["t1"], p["t2"])
    s.resident = [s.Node() for _ in range(p["resident"])]  # gen2's long-lived set
    if s.resident:
        gc.collect()
    return s


def build(s, k, tag):
    """Ring k: `ring` nodes (the last ring may be short), each pointing at the next; the last at the first when
    the ring is a cycle."""
    head = prev = s.Node()
    head.tag = tag
    for _ in range(min(s.ring, s.n - k * s.ring) - 1):
        o = s.Node()
        o.tag, prev.peer = tag, o
        prev = o
    prev.peer = head if s.cyclic[k] else None
    return head


def intact(s, k, head, tag):
    o, n = head, min(s.ring, s.n - k * s.ring)
    for _ in range(n):
        if o is None or o.tag != tag:
            return False
        o = o.peer
    return o is (head if s.cyclic[k] else None)


def drop(c, s, k, tag):
    c.check(intact(s, k, s.heads[k], tag), "a ring")
    s.heads[k] = None  # a cycle becomes the GC's garbage; a chain is freed now by refcounting


def cycle(c, s):
    """No gc.collect() here (but with t0=0): dead cycles wait for CPython's automatic collections."""
    if not c.p["t0"]:
        gc.collect()
    heads, fates, born, done = s.heads, s.fates, s.born, s.collections
    mid = 0
    for k in range(s.nrings):
        tag = k & 0xffff
        heads[k] = build(s, k, tag)
        born[k] = done[0]
        if fates[k] == YOUNG:
            drop(c, s, k, tag)
        if k & 63 == 63:  # rings that die in gen1: dropped once a collection has happened since they were built
            while mid < k and (fates[mid] != MIDDLE or heads[mid] is None or born[mid] != done[0]):
                if fates[mid] == MIDDLE and heads[mid] is not None:
                    drop(c, s, mid, mid & 0xffff)
                mid += 1
    c.peak(c.p["size"] * s.n)  # an upper bound: every dead cycle uncollected until the cycle ends
    for k in range(s.nrings):  # the cycle's end: the program drops everything it held
        if heads[k] is not None:
            drop(c, s, k, k & 0xffff)
    c.ops += 2 * s.n
    c.freed()


def teardown(c, s):
    gc.callbacks.remove(s.counter)
    gc.set_threshold(700, 10, 10)
    s.resident = []
    gc.collect()


def need(p):
    return (p["objects"] + p["resident"]) * (2 * p["size"] + 64)


WORKLOAD = h.Workload("gc_generations", setup, cycle, need, teardown, limits={
    "size": h.Limit(lambda n: n >= HEADER + 16 and n % 8 == 0, "a __slots__ object is 32 + 8 B per slot, 2 slots at "
                    "least")})
if __name__ == "__main__":
    h.main(WORKLOAD)

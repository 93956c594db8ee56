# list_pop in real Python (bench/workloads/list_pop.c): append N objects from the size mix to a list, pop them all,
# keeping every k-th popped object alive; shrink=none pops by overwriting slots, so the item array never shrinks.
import random
import sys
from array import array

import pab_harness as h

DRAWS = 1 << 16


class State:
    pass


def setup(c):
    s, k = State(), c.p["survivors"]
    s.sizes = array("H", h.mix_sizes(c.p["mix"], random.Random(c.seed), DRAWS))
    s.kept = [None] * (c.p["n"] // k + 1 if k else 0)  # preallocated: keeping adds no list growth
    return s


def popped(c, s, o, i, keep):
    c.check(h.obj_ok(o, i & 255), f"object {i}")
    if keep and i % keep == 0:
        s.kept[i // keep] = o


def cycle(c, s):
    n, keep, sizes, make, mask = c.p["n"], c.p["survivors"], s.sizes, h.make_obj, DRAWS - 1
    for j in range(len(s.kept)):  # last cycle's survivors die first
        s.kept[j] = None
    a = []
    for i in range(n):
        a.append(make(sizes[i & mask], i & 255))
    c.peak(sum(map(sys.getsizeof, a)) + sys.getsizeof(a))
    if c.p["shrink"] == "cpython":
        for i in range(n - 1, -1, -1):
            popped(c, s, a.pop(), i, keep)
    else:
        for i in range(n - 1, -1, -1):
            popped(c, s, a[i], i, keep)
            a[i] = None
    c.ops += 2 * n
    c.freed()  # the list is still alive here: with shrink=none its array keeps its full capacity
    del a


def need(p):
    return p["n"] * (100 + 16 + 16)


WORKLOAD = h.Workload("list_pop", setup, cycle, need)
if __name__ == "__main__":
    h.main(WORKLOAD)

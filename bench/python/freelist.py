# freelist in real Python (bench/workloads/freelist.c): bursts of floats, 1-4-tuples, 1-item lists and small dicts
# (40/30/15/15 %) created and destroyed LIFO; CPython's own free lists serve what they can.
import random
from array import array

import pab_harness as h

KINDS = (40, 30, 15, 15)  # float, tuple, list, dict: shares of the objects, as the C workload draws them
SIZES = (24, 40 + 8 * 4, 56 + 8, 64 + 120)  # bytes the allocator sees per object when no free list serves it
DRAWS = 1 << 16  # pre-drawn (kind, length) pairs, cycled: the random module stays out of the loop


class State:
    pass


def setup(c):
    s, rng = State(), random.Random(c.seed)
    s.kinds = array("B", rng.choices(range(len(KINDS)), weights=KINDS, k=DRAWS))
    s.lens = array("B", (1 + rng.randrange(4) for _ in range(DRAWS)))
    s.slots, s.j = [None] * c.p["burst"], 0
    return s


def make(kind, n, v):
    if kind == 0:
        return v * 1.5
    if kind == 1:
        return (v,) if n == 1 else (v, v) if n == 2 else (v, v, v) if n == 3 else (v, v, v, v)
    return [v] if kind == 2 else {"a": v}


def value(o):
    return o if type(o) is float else o[0] if type(o) in (tuple, list) else o["a"]


def cycle(c, s):
    slots, kinds, lens, b, mask, j = s.slots, s.kinds, s.lens, c.p["burst"], DRAWS - 1, s.j
    for _ in range(c.p["bursts"]):
        for i in range(b):
            j = (j + 1) & mask
            slots[i] = make(kinds[j], lens[j], i + 0.5)
        for i in range(b - 1, -1, -1):
            x = value(slots[i])
            c.check(x == (i + 0.5) * 1.5 if type(slots[i]) is float else x == i + 0.5, "a burst object")
            slots[i] = None
    s.j = j
    c.peak(b * max(SIZES))
    c.ops += 2 * b * c.p["bursts"]
    c.freed()


WORKLOAD = h.Workload("freelist", setup, cycle,
                      limits={"freelist": h.Limit(("on",), "its free lists are compiled in: off needs the C model")})
if __name__ == "__main__":
    h.main(WORKLOAD)

# small_churn in real Python (bench/workloads/small_churn.c): a live set of objects from the size mix, churned by
# LIFO bursts of temporaries and replacements, then freed but 1 in `survivors`.  Objects: ints and bytes slices.
import random
import sys
from array import array

import pab_harness as h

DRAWS = 1 << 16  # pre-drawn sizes, picks and coin flips, cycled: the random module stays out of the loop


class State:
    pass


def setup(c):
    s, rng, n = State(), random.Random(c.seed), c.p["live"]
    s.sizes = array("H", h.mix_sizes(c.p["mix"], rng, DRAWS))
    s.picks = array("L", (rng.randrange(n) for _ in range(DRAWS)))
    s.coins = bytearray(rng.randrange(100) for _ in range(DRAWS))
    s.depths = bytearray(1 + rng.randrange(8) for _ in range(DRAWS))
    s.live, s.tags, s.temp, s.j = [None] * n, bytearray(n), [None] * 8, 0
    return s


def drop(c, s, i):
    o = s.live[i]
    if o is not None:
        c.check(h.obj_ok(o, s.tags[i]), f"live object {i}")
        s.live[i] = None
        return 1
    return 0


def cycle(c, s):
    live, tags, temp, sizes, make, ok = s.live, s.tags, s.temp, s.sizes, h.make_obj, h.obj_ok
    n, keep, young, mask, j, ops = len(live), c.p["survivors"], c.p["young"], DRAWS - 1, s.j, 0
    for i in range(n):  # last cycle's survivors die first
        ops += drop(c, s, i) + 1
        t = (i + j) & 255
        tags[i] = t
        live[i] = make(sizes[(i + j) & mask], t)
    for k in range(c.p["ops"]):
        j = (j + 1) & mask
        if s.coins[j] < young:
            d = s.depths[j]
            for x in range(d):
                temp[x] = make(sizes[(j + x) & mask], x)
            for x in range(d - 1, -1, -1):
                c.check(ok(temp[x], x), "a temporary")
                temp[x] = None
            ops += 2 * d
        else:
            i = s.picks[j] % n
            ops += drop(c, s, i) + 1
            tags[i] = j & 255
            live[i] = make(sizes[(j + 7) & mask], j & 255)
    c.peak(sum(map(sys.getsizeof, live)))  # the live set at its fullest (temporaries excluded: <= 8 objects)
    for i in range(n):
        if not (keep and i % keep == 0):
            ops += drop(c, s, i)
    s.j = j
    c.ops += ops
    c.freed()


def need(p):
    return p["live"] * (8 + 2 * 200 + 32)


WORKLOAD = h.Workload("small_churn", setup, cycle, need)
if __name__ == "__main__":
    h.main(WORKLOAD)

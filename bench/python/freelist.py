# freelist in real Python (bench/workloads/freelist.c): bursts of floats, 2-tuples, small dicts and 1-item lists
# created and destroyed; CPython's own free lists serve what they can (they cannot be switched off: freelist=on only).
import pab_harness as h

P = h.Param
PARAMS = [
    P("burst", "size", "200", help="objects alive at once in a burst", min=1),
    P("bursts", "size", "500", help="bursts per cycle", min=1),
    P("freelist", "enum", "on", "on", "CPython's free lists are compiled in: off cannot be expressed"),
]
KINDS = 4  # float, tuple, dict, list (its item array is always freed)
SIZES = (24, 56, 64 + 120, 56 + 8)  # bytes per object as the allocator sees them when no free list serves it


class State:
    pass


def setup(c):
    s = State()
    s.slots = [None] * c.p["burst"]
    return s


def cycle(c, s):
    slots, b = s.slots, c.p["burst"]
    for k in range(c.p["bursts"]):
        kind = k % KINDS
        for i in range(b):
            v = i + 0.5
            slots[i] = v if kind == 0 else (i, v) if kind == 1 else {"a": v} if kind == 2 else [v]
        for i in range(b - 1, -1, -1):
            o = slots[i]
            x = o if kind == 0 else o[1] if kind == 1 else o["a"] if kind == 2 else o[0]
            c.check(x == i + 0.5, "a burst object")
            slots[i] = None
    c.peak(b * max(SIZES))
    c.ops += 2 * b * c.p["bursts"]
    c.freed()


WORKLOAD = h.Workload("freelist", "how much of Python's churn never reaches malloc",
                      "bursts of float/tuple/dict/list objects created and destroyed LIFO", PARAMS, setup, cycle)
if __name__ == "__main__":
    h.main(WORKLOAD)

# realloc_growth in real Python (bench/workloads/realloc_growth.c): str += (an exact realloc per append),
# bytearray growth (size + size/8 + 6), dict inserts (keys resized to a power of two >= 3 x used).
import pab_harness as h


def setup(c):
    return None


def grow_str(n, tag, chunk):
    s, piece = "", chr(65 + tag) * chunk
    while len(s) < n:
        s += piece  # refcount 1: CPython reallocs in place to the exact size
    return s


def grow_bytearray(n, tag, chunk):
    b, piece = bytearray(), bytes([tag]) * chunk
    while len(b) < n:
        b += piece
    return b


def grow_dict(n, tag, chunk):
    d = {}
    for i in range(n):
        d[i] = tag
    return d


KINDS = {"str": (grow_str, lambda o, t: o[0] == o[-1] == chr(65 + t)),
         "bytearray": (grow_bytearray, lambda o, t: o[0] == o[-1] == t),
         "dict": (grow_dict, lambda o, t: o[0] == o[len(o) - 1] == t)}


def cycle(c, s):
    kinds = list(KINDS) if c.p["kind"] == "all" else [c.p["kind"]]
    live, peak = [], 0
    for k in kinds:
        grow, ok = KINDS[k]
        n = c.p["keys"] if k == "dict" else c.p["final"]
        for i in range(c.p["count"]):
            live.append((grow(n, i & 15, c.p["chunk"]), i & 15, ok))
            c.ops += n // c.p["chunk"] if k != "dict" else n.bit_length()
        peak += c.p["count"] * (c.p["keys"] * 40 if k == "dict" else c.p["final"] + 64)
    c.peak(peak)
    for o, t, ok in reversed(live):
        c.check(ok(o, t), "a grown object")
    del live, o
    c.freed()


def need(p):
    return 4 * p["count"] * (p["final"] + p["keys"] * 100)


WORKLOAD = h.Workload("realloc_growth", setup, cycle, need)
if __name__ == "__main__":
    h.main(WORKLOAD)

# large_buffer in real Python (bench/workloads/large_buffer.c): mode=memset is ctypes.create_string_buffer(n)
# (malloc + memset: resident at creation), mode=calloc is bytes(n) (calloc: lazy, only touched pages count).
import ctypes

import pab_harness as h

PAGE = 4096
STRIDE = 256  # memset mode: pages stamped for the checksum (every 256th); the memset itself touched all


class State:
    pass


def setup(c):
    return State()


def address(buf):
    if isinstance(buf, bytes):  # bytes(n): its storage, written in place (the object has one reference)
        return ctypes.cast(ctypes.c_char_p(buf), ctypes.c_void_p).value
    return ctypes.addressof(buf)


def stamp_offsets(c, n):
    touched = n * c.p["touch"] // 100 // PAGE * PAGE
    step = PAGE if c.p["mode"] == "calloc" else PAGE * STRIDE
    return list(range(0, max(touched, PAGE if c.p["mode"] == "memset" else 0), step))


def cycle(c, s):
    n = c.p["size"]
    for r in range(c.p["repeats"]):
        buf = ctypes.create_string_buffer(n) if c.p["mode"] == "memset" else bytes(n)
        base, tag = address(buf), (r * 131 + 7) & 0x7f
        offs = stamp_offsets(c, n)
        for off in offs:
            ctypes.memset(base + off, tag, 8)
        c.peak(n)
        c.check(all(ctypes.string_at(base + off, 8) == bytes([tag]) * 8 for off in offs[::64]), "the buffer")
        c.check(n <= 2 * PAGE or ctypes.string_at(base + n - 1, 1) == b"\0", "the buffer's end")
        del buf
    c.ops += 2 * c.p["repeats"]
    c.freed()


def need(p):
    return p["size"] if p["mode"] == "memset" else p["size"] * p["touch"] // 100


WORKLOAD = h.Workload("large_buffer", setup, cycle, need)
if __name__ == "__main__":
    h.main(WORKLOAD)

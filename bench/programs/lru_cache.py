# A read-through cache in front of a slow store: an OrderedDict LRU of varied values (bytes, dicts, tuples) under a
# skewed key stream, evicting as it goes; then the cache is shrunk to a tenth, as a service does under memory
# pressure.  Allocation character: steady churn of mixed sizes, then a mass eviction that leaves holes.
import gc
import random
from collections import OrderedDict

import _kit
import pyalloc_mark


class LRU:
    def __init__(self, capacity):
        self.capacity, self.items, self.hits, self.misses = capacity, OrderedDict(), 0, 0

    def get(self, key, load):
        if key in self.items:
            self.hits += 1
            self.items.move_to_end(key)
            return self.items[key]
        self.misses += 1
        value = self.items[key] = load(key)
        self.resize(self.capacity)
        return value

    def resize(self, capacity):
        self.capacity = capacity
        while len(self.items) > capacity:
            self.items.popitem(last=False)


def load(key):
    kind = key % 3
    if kind == 0:
        return bytes([key % 251]) * (64 + key % 4000)
    if kind == 1:
        return {"id": key, "name": f"item-{key}", "tags": [f"t{key % 17}", f"t{key % 5}"], "score": key / 7}
    return tuple(range(key % 50)), str(key) * 3


def main():
    n = int(600000 * _kit.scale())
    rng, cache, size = random.Random(4), LRU(int(120000 * _kit.scale()) + 10), 0
    for _ in range(n):
        key = int(rng.expovariate(1 / 150000)) % 600000
        v = cache.get(key, load)
        size += len(v) if not isinstance(v, dict) else 1
    kept = cache.capacity // 10
    cache.resize(kept)                                        # memory pressure: keep the hottest tenth
    gc.collect()
    pyalloc_mark.mark("after_evict")
    _kit.report("lru_cache", lookups=n, hits=cache.hits, misses=cache.misses, kept=len(cache.items), checksum=size)


if __name__ == "__main__":
    main()

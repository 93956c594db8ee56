# A pipeline: two producer threads build records (dicts with lists of floats and strings) faster than two consumer
# threads aggregate them, so a backlog piles up in a queue.Queue; blocks are allocated on one thread and freed on
# another.  Allocation character: cross-thread frees, a backlog spike, long-lived aggregates.
import gc
import queue
import random
import threading

import _kit
import pyalloc_mark

DONE = object()


def produce(q, seed, n):
    rng = random.Random(seed)
    for i in range(n):
        q.put({"id": (seed, i), "sensor": f"s{rng.randrange(300)}", "values": [rng.random() for _ in range(24)],
               "labels": [f"l{rng.randrange(50)}" for _ in range(4)], "payload": "p" * rng.randrange(50, 600)})
    q.put(DONE)


def consume(q, totals, lock, producers):
    local, seen_done = {}, 0
    while seen_done < producers:
        rec = q.get()
        if rec is DONE:
            seen_done += 1
            continue
        s = local.setdefault(rec["sensor"], [0, 0.0])
        s[0] += 1
        s[1] += sum(rec["values"]) + len(rec["payload"])
    with lock:
        for k, (n, v) in local.items():
            t = totals.setdefault(k, [0, 0.0])
            t[0] += n
            t[1] += v


def main():
    n = int(60000 * _kit.scale())
    q, totals, lock = queue.Queue(), {}, threading.Lock()
    producers = [threading.Thread(target=produce, args=(q, seed, n)) for seed in (1, 2)]
    for t in producers:                                       # the backlog builds before anyone consumes
        t.start()
    for t in producers:
        t.join()
    backlog = q.qsize() - len(producers)                    # records waiting (each producer also queued DONE)
    # each consumer stops at one DONE per producer; with two consumers, give each its own pair of DONEs
    q.put(DONE)
    q.put(DONE)
    consumers = [threading.Thread(target=consume, args=(q, totals, lock, 2)) for _ in range(2)]
    for t in consumers:
        t.start()
    for t in consumers:
        t.join()
    gc.collect()
    pyalloc_mark.mark("after_drain")
    _kit.report("producer_consumer", records=2 * n, backlog=backlog, sensors=len(totals),
                counted=sum(v[0] for v in totals.values()))


if __name__ == "__main__":
    main()

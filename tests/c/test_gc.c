/* Tests of the GC trigger model against CPython 3.11 (checked with gc.callbacks on /usr/bin/python3 3.11.2):
 * gen0 at the 701st net container allocation, gen1 at every 12th collection, the first gen2 at the 133rd,
 * the long-lived 25 % rule, batch frees of unreachable cycles, promotion of survivors. */
#include <stdlib.h>

#include "check.h"
#include "pab_gc.h"

typedef struct { pab_gc_head h; uint64_t id; } obj;

static uint64_t freed, fulls;
static int free_obj(void *user, void *o) { /* objects live in `heap`, reset per test */
    freed++;
    return 0;
}
static void on_full(void *user) { fulls++; }

static const uint32_t T[3] = {700, 10, 10};

enum { HEAP = 1 << 20 };
static obj *heap;
static size_t used;

static obj *make(pab_gc *g, int *rc) {
    if (used == HEAP) abort();
    obj *o = &heap[used++];
    *rc = pab_gc_link(g);
    pab_gc_track(g, o);
    return o;
}

static uint64_t total(pab_gc_stats s) { return s.collections[0] + s.collections[1] + s.collections[2]; }

/* keep everything alive, as `keep.append([])` does; record each collection's generation */
static void triggers(void) {
    pab_gc *g = pab_gc_new(T, free_obj, NULL);
    int rc;
    for (int i = 0; i < 700; i++) make(g, &rc);
    CHECK(total(pab_gc_stat(g)) == 0 && pab_gc_stat(g).count[0] == 700, "700 allocations: no collection yet");
    make(g, &rc);
    pab_gc_stats s = pab_gc_stat(g);
    CHECK(s.collections[0] == 1 && s.count[0] == 0, "the 701st collects gen0 (count now %u)", s.count[0]);
    CHECK(s.tracked[1] == 700 && s.tracked[0] == 1, "survivors promoted to gen1: %llu", (unsigned long long)s.tracked[1]);
    int first_gen1 = 0, second_gen1 = 0, first_gen2 = 0;
    uint64_t seen = 1;
    while (!first_gen2) {
        make(g, &rc);
        if (pab_gc_collections(g, -1) == seen) continue;
        s = pab_gc_stat(g);
        seen = total(s);
        if (s.collections[1] == 1 && !first_gen1) first_gen1 = (int)seen;
        if (s.collections[1] == 2 && !second_gen1) second_gen1 = (int)seen;
        if (s.collections[2] == 1) first_gen2 = (int)seen;
    }
    CHECK(first_gen1 == 12 && second_gen1 == 24, "gen1 at collections %d, %d (CPython: 12, 24)", first_gen1, second_gen1);
    CHECK(first_gen2 == 133, "first gen2 at collection %d (CPython: 133)", first_gen2);
    CHECK(s.long_lived_pending == 0 && s.long_lived_total == s.tracked[2], "after gen2: total = survivors");
    pab_gc_delete(g);
}

/* net allocations: a container freed by refcounting counts down */
static void net(void) {
    pab_gc *g = pab_gc_new(T, free_obj, NULL);
    obj *v[700];
    int rc;
    for (int i = 0; i < 700; i++) v[i] = make(g, &rc);
    for (int i = 0; i < 100; i++) {
        pab_gc_untrack(g, v[i]);
        pab_gc_unlink(g);
    }
    for (int i = 0; i < 100; i++) make(g, &rc);
    CHECK(total(pab_gc_stat(g)) == 0, "600 + 100: not yet");
    make(g, &rc);
    CHECK(pab_gc_stat(g).collections[0] == 1, "600 + 101 > 700: collect");
    pab_gc_delete(g);
}

/* unreachable cycles are freed in one batch by the next collection of their generation; others move up */
static void batch(void) {
    pab_gc *g = pab_gc_new(T, free_obj, NULL);
    pab_gc_on_full(g, on_full, NULL);
    int rc;
    freed = 0;
    for (int i = 0; i < 700; i++) {
        obj *o = make(g, &rc);
        if (i % 2) pab_gc_unreachable(o);
    }
    CHECK(freed == 0, "nothing freed before the collection");
    make(g, &rc);
    pab_gc_stats s = pab_gc_stat(g);
    CHECK(freed == 350 && s.freed[0] == 350 && s.tracked[1] == 350, "one batch of 350, 350 promoted: %llu",
          (unsigned long long)freed);
    CHECK(rc == 0, "free_fn ok");
    rc = pab_gc_collect(g, 2);
    s = pab_gc_stat(g);
    CHECK(fulls == 1 && s.long_lived_total == 351 && s.tracked[2] == 351, "gen2: free lists cleared, total %llu",
          (unsigned long long)s.long_lived_total);
    pab_gc_delete(g);
}

/* gen2 waits while the objects that reached gen2 since the last full collection are < 25 % of the long-lived */
static void quarter_rule(void) {
    pab_gc *g = pab_gc_new(T, free_obj, NULL);
    int rc;
    for (int i = 0; i < 100000; i++) make(g, &rc);
    pab_gc_collect(g, 2);
    uint64_t base2 = pab_gc_stat(g).collections[2];
    CHECK(pab_gc_stat(g).long_lived_total == 100000, "100000 long-lived");
    for (int i = 0; i < 701 * 12 * 30; i++) pab_gc_unreachable(make(g, &rc)); /* all die young */
    pab_gc_stats s = pab_gc_stat(g);
    CHECK(s.collections[2] == base2 && s.collections[1] >= 25 && s.count[2] > 10,
          "no gen2 while pending %llu < 25000 (gen1 ran %llu times)", (unsigned long long)s.long_lived_pending,
          (unsigned long long)s.collections[1]);
    while (pab_gc_collections(g, 2) == base2) make(g, &rc); /* now survivors pile up in gen2 */
    s = pab_gc_stat(g);
    CHECK(s.long_lived_total > 125000, "gen2 ran once pending passed 25000: total %llu",
          (unsigned long long)s.long_lived_total);
    pab_gc_delete(g);
}

int main(void) {
    heap = malloc(HEAP * sizeof *heap);
    triggers();
    used = 0;
    net();
    used = 0;
    batch();
    used = 0;
    quarter_rule();
    printf("objects in the largest test: %zu\n", used);
    free(heap);
    CHECK_DONE();
}

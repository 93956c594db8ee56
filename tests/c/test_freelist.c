/* Tests of the per-type free lists: CPython's caps (the 101st float, the 2001st 2-tuple, the 81st list ... go to
 * the allocator), no allocator call on reuse, 3.11's never-reused 20-tuples, clearing, and the op counting. */
#include <stdlib.h>

#include "check.h"
#include "pab_freelist.h"

/* Create cap+1 objects, destroy them all, create cap+1 again: the allocator sees exactly the overflow. */
static void cap(pab_fl_kind k, size_t len, size_t want) {
    struct pab_tally t = {0};
    pab_heap *h = pab_heap_new(PAB_LAYER_PYMALLOC, &t);
    pab_freelists *f = pab_fl_new(h, 0);
    size_t n = pab_fl_cap(k, len);
    CHECK(n == want, "kind %d len %zu: cap %zu, want %zu", (int)k, len, n, want);
    void **v = malloc((n + 1) * sizeof *v);
    for (size_t i = 0; i <= n; i++) v[i] = pab_fl_alloc(f, k, len);
    pab_heap_calls c0 = pab_heap_calls_of(h);
    CHECK(c0.layer == n + 1, "the first %zu creates reach the layer: %llu", n + 1, (unsigned long long)c0.layer);
    for (size_t i = 0; i <= n; i++) pab_fl_free(f, k, len, v[i]);
    pab_heap_calls c1 = pab_heap_calls_of(h);
    CHECK(c1.layer - c0.layer == 1, "only destroy #%zu reaches the allocator: %llu", n + 1,
          (unsigned long long)(c1.layer - c0.layer));
    CHECK(pab_fl_stat(f).held == n, "held %zu", pab_fl_stat(f).held);
    for (size_t i = 0; i <= n; i++) v[i] = pab_fl_alloc(f, k, len);
    pab_heap_calls c2 = pab_heap_calls_of(h);
    CHECK(c2.layer - c1.layer == 1, "reuse makes no allocator call: %llu calls for %zu creates",
          (unsigned long long)(c2.layer - c1.layer), n + 1);
    CHECK(t.ops == 3 * (n + 1) && (size_t)t.live == (n + 1) * pab_fl_size(k, len), "ops %llu live %lld",
          (unsigned long long)t.ops, (long long)t.live);
    for (size_t i = 0; i <= n; i++) pab_fl_free(f, k, len, v[i]);
    uint64_t ops = t.ops;
    pab_fl_clear(f);
    CHECK(t.live == 0 && t.ops == ops && pab_fl_stat(f).held == 0, "clear: live %lld", (long long)t.live);
    CHECK(pab_heap_stat(h).blocks == 0, "clear freed every block: %zu", pab_heap_stat(h).blocks);
    free(v);
    pab_fl_delete(f);
    pab_heap_delete(h);
}

static void no_list(void) {
    pab_heap *h = pab_heap_new(PAB_LAYER_MALLOC, NULL);
    pab_freelists *f = pab_fl_new(h, 0);
    size_t lens[] = {0, 21};
    for (int j = 0; j < 2; j++) {
        void *p = pab_fl_alloc(f, PAB_FL_TUPLE, lens[j]);
        pab_fl_free(f, PAB_FL_TUPLE, lens[j], p);
        CHECK(pab_fl_stat(f).held == 0, "a %zu-tuple is never parked", lens[j]);
    }
    pab_fl_delete(f);
    f = pab_fl_new(h, PAB_FL_OFF);
    void *p = pab_fl_alloc(f, PAB_FL_FLOAT, 0);
    pab_fl_free(f, PAB_FL_FLOAT, 0, p);
    p = pab_fl_alloc(f, PAB_FL_FLOAT, 0);
    pab_fl_free(f, PAB_FL_FLOAT, 0, p);
    CHECK(pab_heap_calls_of(h).layer == 8, "freelist off: every create and destroy is a call: %llu",
          (unsigned long long)pab_heap_calls_of(h).layer);
    pab_fl_delete(f);
    pab_heap_delete(h);
}

static void tuple20(void) {
    pab_heap *h = pab_heap_new(PAB_LAYER_MALLOC, NULL);
    pab_freelists *f311 = pab_fl_new(h, PAB_FL_PY311), *f312 = pab_fl_new(h, 0);
    void *a = pab_fl_alloc(f311, PAB_FL_TUPLE, 20), *b = pab_fl_alloc(f312, PAB_FL_TUPLE, 20);
    pab_fl_free(f311, PAB_FL_TUPLE, 20, a);
    pab_fl_free(f312, PAB_FL_TUPLE, 20, b);
    CHECK(pab_fl_stat(f311).held == 1 && pab_fl_stat(f312).held == 1, "20-tuples are parked in both");
    void *a2 = pab_fl_alloc(f311, PAB_FL_TUPLE, 20), *b2 = pab_fl_alloc(f312, PAB_FL_TUPLE, 20);
    CHECK(a2 != a && pab_fl_stat(f311).hits == 0, "3.11 never reuses a 20-tuple");
    CHECK(b2 == b && pab_fl_stat(f312).hits == 1, "3.12 does");
    void *c = pab_fl_alloc(f311, PAB_FL_TUPLE, 19);
    pab_fl_free(f311, PAB_FL_TUPLE, 19, c);
    CHECK(pab_fl_alloc(f311, PAB_FL_TUPLE, 19) == c, "3.11 reuses a 19-tuple");
    pab_fl_free(f311, PAB_FL_TUPLE, 19, c);
    pab_fl_free(f311, PAB_FL_TUPLE, 20, a2);
    pab_fl_free(f312, PAB_FL_TUPLE, 20, b2);
    pab_fl_delete(f311);
    pab_fl_delete(f312);
    pab_heap_delete(h);
}

int main(void) {
    CHECK(pab_fl_size(PAB_FL_FLOAT, 0) == 24 && pab_fl_size(PAB_FL_TUPLE, 2) == 56 &&
              pab_fl_size(PAB_FL_LIST, 0) == 56 && pab_fl_size(PAB_FL_DICT, 0) == 64 &&
              pab_fl_size(PAB_FL_KEYS, 0) == 120, "CPython 3.11 object sizes");
    cap(PAB_FL_FLOAT, 0, 100);
    cap(PAB_FL_TUPLE, 1, 2000);
    cap(PAB_FL_TUPLE, 2, 2000);
    cap(PAB_FL_TUPLE, 20, 2000);
    cap(PAB_FL_LIST, 0, 80);
    cap(PAB_FL_DICT, 0, 80);
    cap(PAB_FL_KEYS, 0, 80);
    no_list();
    tuple20();
    CHECK_DONE();
}

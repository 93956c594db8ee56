/* Tests of the pymalloc model: CPython's geometry (classes, pools, 63-pool arenas), ownership, realloc rule,
 * and the release rules (one live block pins an arena; an empty arena is unmapped unless it sorts last). */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "pab_assert.h"
#include "pab_pymalloc.h"
#include "pab_pyobj.h"

#define POOL_OF(p) ((uintptr_t)(p) & ~(uintptr_t)(PAB_PYM_POOL_SIZE - 1))

static void geometry(void) {
    CHECK(pab_pym_blocks_per_pool(32) == 510, "32 B: %u", pab_pym_blocks_per_pool(32));
    CHECK(pab_pym_blocks_per_pool(64) == 255, "64 B: %u", pab_pym_blocks_per_pool(64));
    CHECK(pab_pym_blocks_per_pool(512) == 31, "512 B: %u", pab_pym_blocks_per_pool(512));
    CHECK(PAB_PYM_POOL_SIZE == 16384 && PAB_PYM_ARENA_SIZE == 1048576, "pool/arena size");
    pab_pym *m = pab_pym_new();
    for (size_t n = 1; n <= 512; n++) { /* class = (n - 1) >> 4 */
        void *p = pab_pym_alloc(m, n);
        CHECK(p && pab_pym_block_size(p) == ((n - 1) / 16 + 1) * 16, "n=%zu", n);
        CHECK(((uintptr_t)p & 15) == 0, "16-byte aligned");
        pab_pym_free(m, p);
    }
    CHECK(!pab_pym_alloc(m, 0) && !pab_pym_alloc(m, 513), "0 and 513 B are not pymalloc's");
    /* a 32-byte pool holds exactly 510 blocks, laid out after the 48-byte header */
    void *first = pab_pym_alloc(m, 32), *p = first;
    CHECK(POOL_OF(first) + 48 == (uintptr_t)first, "first block right after the header");
    for (int i = 1; i < 510; i++) {
        void *q = pab_pym_alloc(m, 32);
        CHECK(POOL_OF(q) == POOL_OF(first) && (char *)q == (char *)p + 32, "block %d in the same pool", i);
        p = q;
    }
    void *next = pab_pym_alloc(m, 32);
    CHECK(POOL_OF(next) != POOL_OF(first), "block 511 opens a new pool");
    CHECK(pab_pym_stat(m).pools_used == 2, "two pools used: %zu", pab_pym_stat(m).pools_used);
    pab_pym_free(m, next);
    CHECK(pab_pym_alloc(m, 32) == next, "LIFO: the block just freed comes back first");
    pab_pym_free(m, p); /* pool 1 was full: it rejoins the used list at the tail, behind pool 2 */
    void *again = pab_pym_alloc(m, 32);
    CHECK(again != p && POOL_OF(again) == POOL_OF(next), "a pool that was full rejoins at the tail");
    pab_pym_delete(m);
}

/* 512-byte blocks fill an arena after ntotalpools * 31 of them; every arena has 63 pools, 64 when aligned. */
static void arenas(void) {
    pab_pym *m = pab_pym_new();
    size_t n = 0, n63 = 0, n64 = 0;
    while (pab_pym_stat(m).arenas < 2) {
        pab_pym_alloc(m, 512);
        n++;
    }
    uintptr_t base;
    int pools = pab_pym_arena(m, 0, &base);
    CHECK(n - 1 == (size_t)pools * 31, "the first arena took %zu blocks for %d pools", n - 1, pools);
    while (pab_pym_stat(m).arenas < 24) pab_pym_alloc(m, 512);
    for (size_t i = 0; i < pab_pym_arena_slots(m); i++) {
        if ((pools = pab_pym_arena(m, i, &base)) < 0) continue;
        CHECK(pools == ((base & (PAB_PYM_POOL_SIZE - 1)) ? 63 : 64), "arena at %#lx: %d pools", (unsigned long)base, pools);
        n63 += pools == 63;
        n64 += pools == 64;
    }
    CHECK(n63 + n64 == 24, "24 arenas: %zu", n63 + n64);
    printf("arenas with 63 usable pools: %zu of %zu (64 when mmap returns a 16 KiB-aligned base)\n", n63, n63 + n64);
    pab_pym_delete(m);
}

static void ownership(void) {
    pab_pym *m = pab_pym_new();
    void *small = malloc(64), *big = malloc(1 << 20), *blocks[1000];
    int stack, owned = 0;
    for (int i = 0; i < 1000; i++) owned += pab_pym_owns(m, blocks[i] = pab_pym_alloc(m, 16 + (i % 30) * 16));
    CHECK(owned == 1000, "every block is owned: %d", owned);
    CHECK(!pab_pym_owns(m, small) && !pab_pym_owns(m, big) && !pab_pym_owns(m, &stack), "malloc/stack not owned");
    pab_pym *other = pab_pym_new();
    CHECK(!pab_pym_owns(other, blocks[0]), "another heap does not own it");
    pab_pym_delete(other);
    for (int i = 0; i < 1000; i++) pab_pym_free(m, blocks[i]);
    free(small);
    free(big);
    pab_pym_delete(m);
}

/* Realloc through the layer: in place iff the new size fits and is > 3/4 of the block; malloc stays malloc. */
static void realloc_rule(void) {
    struct pab_tally t = {0};
    pab_heap *h = pab_heap_new(PAB_LAYER_PYMALLOC, &t);
    char *p = pab_obj_alloc(h, 64);
    memset(p, 7, 64);
    CHECK(pab_obj_realloc(h, p, 64, 49) == p, "64 -> 49 (196 > 192) stays");
    char *q = pab_obj_realloc(h, p, 49, 48);
    CHECK(q != p && q[0] == 7 && q[47] == 7, "64 -> 48 (192 = 192) moves, keeps the data");
    char *r = pab_obj_realloc(h, q, 48, 100);
    CHECK(r != q && r[0] == 7 && r[47] == 7, "48 -> 100 moves");
    char *big = pab_obj_realloc(h, r, 100, 600);
    pab_heap_calls c0 = pab_heap_calls_of(h);
    char *shrunk = pab_obj_realloc(h, big, 600, 100);
    pab_heap_calls c1 = pab_heap_calls_of(h);
    CHECK(shrunk[0] == 7 && c1.malloc == c0.malloc + 1, "a malloc block shrunk to 100 B stays in malloc");
    pab_obj_free(h, shrunk, 100);
    void *z = pab_obj_alloc(h, 0);
    CHECK(z != NULL, "0 bytes gets a (malloc) pointer");
    pab_obj_free(h, z, 0);
    CHECK(t.live == 0 && t.ops == 9, "tally: live %lld ops %llu", (long long)t.live, (unsigned long long)t.ops);
    CHECK(pab_heap_stat(h).blocks == 0, "no block left");
    pab_heap_delete(h);
}

/* Fill arena 0 with 64-byte blocks and put `extra` blocks in arena 1; v receives the blocks of arena 0. */
static int fill_first(pab_pym *m, void **v, int extra) {
    int n = 0;
    while (pab_pym_stat(m).arenas < 2) v[n++] = pab_pym_alloc(m, 64);
    for (int i = 1; i < extra; i++) v[n++] = pab_pym_alloc(m, 64);
    return n;
}

/* One live block keeps its arena mapped; an empty arena is unmapped unless it is the last usable arena. */
static void release(void) {
    pab_pym *m = pab_pym_new();
    void *p = pab_pym_alloc(m, 64);
    pab_pym_free(m, p);
    CHECK(pab_pym_stat(m).arenas == 1, "the only arena, empty, is kept");
    pab_pym_alloc(m, 64);
    CHECK(pab_pym_stat(m).arenas_mapped == 1, "and reused without a new mmap");
    pab_pym_delete(m);

    /* arena 0 full, arena 1 holds one block: arena 1 empties while it is the only usable arena: kept */
    void **v = malloc(2 * 64 * 255 * sizeof *v);
    m = pab_pym_new();
    int n = fill_first(m, v, 1), full = n - 1;
    pab_pym_free(m, v[n - 1]);
    CHECK(pab_pym_stat(m).arenas == 2, "empty but last: kept (%zu arenas)", pab_pym_stat(m).arenas);
    /* now empty arena 0 but one block: pinned; then the last block: unmapped, arena 1 sorts after it */
    for (int i = 1; i < full; i++) pab_pym_free(m, v[i]);
    pab_pym_stats s = pab_pym_stat(m);
    CHECK(s.arenas == 2 && pab_pym_arena(m, 0, NULL) > 0, "one live block pins arena 0");
    CHECK(s.pools_used == 1 && s.blocks == 1, "one pool, one block: %zu %zu", s.pools_used, s.blocks);
    CHECK(s.pools_empty + s.pools_used == (size_t)pab_pym_arena(m, 0, NULL) + 1,
          "every carved pool stays (never decommitted): %zu empty + %zu used", s.pools_empty, s.pools_used);
    pab_pym_free(m, v[0]);
    CHECK(pab_pym_stat(m).arenas == 1 && pab_pym_arena(m, 0, NULL) < 0, "arena 0, empty and not last, is unmapped");
    CHECK(pab_pym_arena(m, 1, NULL) > 0, "arena 1, the last, stays");
    CHECK(pab_pym_stat(m).arenas_unmapped == 1, "one munmap: %zu", pab_pym_stat(m).arenas_unmapped);
    pab_pym_delete(m);
    free(v);
}

/* docs/cpython-facts.md: (int, float, 2-tuple) triples, keep 1 tuple in 64: nearly every arena stays pinned. */
static void survivors(void) {
    enum { T = 200000 };
    pab_pym *m = pab_pym_new();
    void **v = malloc(3 * T * sizeof *v);
    for (int i = 0; i < T; i++) {
        v[3 * i] = pab_pym_alloc(m, 32);
        v[3 * i + 1] = pab_pym_alloc(m, 24);
        v[3 * i + 2] = pab_pym_alloc(m, 56);
    }
    size_t peak = pab_pym_stat(m).arenas;
    for (int i = 0; i < 3 * T; i++)
        if (!(i % 3 == 2 && (i / 3) % 64 == 0)) pab_pym_free(m, v[i]);
    size_t kept = pab_pym_stat(m).arenas;
    printf("1-in-64 survivors: %zu of %zu arenas stay mapped\n", kept, peak);
    CHECK(peak >= 20 && kept * 10 >= peak * 9, "most arenas pinned: %zu of %zu", kept, peak);
    for (int i = 0; i < T; i += 64) pab_pym_free(m, v[3 * i + 2]);
    size_t left = pab_pym_stat(m).arenas; /* 2 only when 63- and 64-pool arenas tie in the sort */
    CHECK(left >= 1 && left <= 2, "all freed: the last arena kept, %zu mapped", left);
    CHECK(pab_pym_stat(m).blocks == 0, "no blocks");
    free(v);
    pab_pym_delete(m);
}

/* Most-full arena first: with two partly used arenas, a new pool comes from the fuller one. */
static void most_full_first(void) {
    pab_pym *m = pab_pym_new();
    enum { PER = 255 };
    int pools0 = 0;
    void **v = malloc(2 * 64 * PER * sizeof *v);
    int n = 0;
    while (pab_pym_stat(m).arenas < 2) v[n++] = pab_pym_alloc(m, 64);
    pools0 = pab_pym_arena(m, 0, NULL);
    /* arena 0 is full; free 10 of its pools entirely: it becomes usable with 10 free pools, arena 1 has ~62 */
    for (int i = 0; i < 10 * PER; i++) pab_pym_free(m, v[i]);
    void *p = pab_pym_alloc(m, 32); /* needs a new pool: from arena 0, the fuller one */
    uintptr_t base0;
    pab_pym_arena(m, 0, &base0);
    CHECK((uintptr_t)p - base0 < PAB_PYM_ARENA_SIZE, "the new pool comes from the most-full arena");
    CHECK(pools0 >= 63, "pools %d", pools0);
    free(v);
    pab_pym_delete(m);
}

/* Debug and sanitizer builds check the model's invariants as it runs (pab_assert.h): a block freed into a heap that
 * does not own it, and a damaged pool header, stop the process; Release builds compile the checks out. */
static int dies(void (*f)(void)) {
    pid_t pid = fork();
    if (pid == 0) {
        freopen("/dev/null", "w", stderr);
        f();
        _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
}

static void foreign_free(void) {
    pab_pym *a = pab_pym_new(), *b = pab_pym_new();
    void *p = pab_pym_alloc(a, 64);
    pab_pym_alloc(b, 64);
    pab_pym_free(b, p);
}

static void damaged_header(void) {
    pab_pym *m = pab_pym_new();
    void *p = pab_pym_alloc(m, 64);
    pab_pym_alloc(m, 64);
    ((uint32_t *)POOL_OF(p))[0] = 0; /* the pool's block count */
    pab_pym_free(m, p);
}

static void invariants(void) {
    bool on = PAB_DEBUG;
    CHECK(dies(foreign_free) == on, "a foreign block %s", on ? "must stop a debug build" : "passes in Release");
    CHECK(dies(damaged_header) == on, "a damaged pool %s", on ? "must stop a debug build" : "passes in Release");
}

int main(void) {
    geometry();
    invariants();
    arenas();
    ownership();
    realloc_rule();
    release();
    survivors();
    most_full_first();
    CHECK_DONE();
}

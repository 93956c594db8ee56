/* pymalloc.c — a faithful model of CPython 3.11/3.12's small-object allocator (Objects/obmalloc.c), one per heap.
 * Written from CPython's rules, no code copied.  The rules, as CPython has them:
 *  - 32 size classes 16 B apart; a pool (16 KiB, 48 B header inside the pool) holds blocks of one class,
 *    (16384 - 48) / size of them, carved lazily (only the blocks handed out are ever touched);
 *  - arenas are 1 MiB anonymous mmaps; pools are aligned to 16 KiB inside, so an arena whose base is not
 *    16 KiB aligned (the usual case) has 63 usable pools, otherwise 64;
 *  - a size class allocates from the head of its used-pool list; a full pool leaves the list, and rejoins at
 *    its tail when one block is freed (insert_to_usedpool: the code says tail, its comment says front);
 *    an empty pool goes to the front of its arena's free-pool list;
 *  - new pools come from the head of `usable_arenas`, kept sorted by ascending free pools (most full first),
 *    cached empty pools first, then never-used ones carved at the arena's high-water mark;
 *  - release rule (insert_to_freepool, bpo-37257): when an arena's last used pool empties, the arena is
 *    unmapped unless it is, at that moment, the last arena of `usable_arenas` (no arena after it); that one is
 *    kept to avoid mmap/munmap thrashing.  So (ties between 63- and 64-pool arenas aside) at most one wholly
 *    empty arena stays mapped, while it sorts last.  Empty pools in a live arena are never decommitted;
 *  - ownership of a pointer (address_in_range) is a radix map of 1 MiB "ideal" arena slots recording where an
 *    arena starts or ends inside each slot, as CPython's arena_map_is_used. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "pab_assert.h"
#include "pab_pymalloc.h"

typedef struct pym_pool pym_pool;
struct pym_pool { /* lives in the first 48 bytes of its pool, like CPython's pool_header */
    uint32_t count, pad_;
    uint8_t *freeblock;
    pym_pool *next, *prev;
    uint32_t arena, szidx, nextoffset, maxnextoffset;
};
_Static_assert(sizeof(pym_pool) == PAB_PYM_POOL_OVERHEAD, "the pool header is 48 bytes");

typedef struct pym_arena pym_arena;
struct pym_arena {
    uintptr_t base;      /* 0: the slot holds no arena (it is on the unused list) */
    uint8_t *carve;      /* the next never-used pool */
    uint32_t nfree;      /* cached empty pools + never-used pools */
    uint32_t ntotal;     /* usable pools: 63 or 64 */
    pym_pool *freepools; /* cached empty pools, singly linked through next */
    pym_arena *next, *prev;
};

#define NO_CLASS 0xffffu
#define MAP_BITS 14
#define MAP_LEN (1u << MAP_BITS)
#define SLOT_BITS 20 /* one map entry per 1 MiB of address space */
#define INITIAL_SLOTS 16

typedef struct { uint32_t lo, hi; } pym_cover; /* lo: an arena covers [0, lo); hi: one covers [hi - 1, 1 MiB) */

struct pab_pym {
    pym_pool used[PAB_PYM_CLASSES]; /* sentinels of the circular used-pool lists (only next/prev matter) */
    pym_arena *arenas;              /* slot vector, doubled when full (no pointer into it exists then) */
    uint32_t nslots;
    pym_arena *unused, *usable;
    pym_arena *last_with[PAB_PYM_MAX_POOLS + 1]; /* rightmost usable arena with that many free pools */
    pab_pym_stats st;
    pym_cover *map[MAP_LEN];
};

static inline pym_pool *pool_of(const void *p) { return (pym_pool *)((uintptr_t)p & ~(uintptr_t)(PAB_PYM_POOL_SIZE - 1)); }
static inline uint32_t class_size(uint32_t c) { return (c + 1) * PAB_PYM_ALIGN; }
static inline uint32_t carved(const pym_arena *a) {
    uintptr_t first = (a->base + PAB_PYM_POOL_SIZE - 1) & ~(uintptr_t)(PAB_PYM_POOL_SIZE - 1);
    return (uint32_t)(((uintptr_t)a->carve - first) / PAB_PYM_POOL_SIZE);
}

pab_pym *pab_pym_new(void) {
    pab_pym *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    for (int c = 0; c < PAB_PYM_CLASSES; c++) m->used[c].next = m->used[c].prev = &m->used[c];
    return m;
}

void pab_pym_delete(pab_pym *m) {
    if (!m) return;
    for (uint32_t i = 0; i < m->nslots; i++)
        if (m->arenas[i].base) munmap((void *)m->arenas[i].base, PAB_PYM_ARENA_SIZE);
    for (uint32_t i = 0; i < MAP_LEN; i++) free(m->map[i]);
    free(m->arenas);
    free(m);
}

/* ---- the arena map (address_in_range) ---- */

static pym_cover *cover_of(const pab_pym *m, uintptr_t a) {
    uintptr_t top = a >> (SLOT_BITS + MAP_BITS);
    if (top >= MAP_LEN || !m->map[top]) return NULL;
    return &m->map[top][(a >> SLOT_BITS) & (MAP_LEN - 1)];
}

static pym_cover *cover_make(pab_pym *m, uintptr_t a) {
    uintptr_t top = a >> (SLOT_BITS + MAP_BITS);
    if (top >= MAP_LEN) return NULL;
    if (!m->map[top] && !(m->map[top] = calloc(MAP_LEN, sizeof(pym_cover)))) return NULL;
    return cover_of(m, a);
}

static bool map_mark(pab_pym *m, uintptr_t base, bool on) {
    uint32_t off = (uint32_t)(base & (PAB_PYM_ARENA_SIZE - 1));
    pym_cover *head = on ? cover_make(m, base) : cover_of(m, base), *tail = NULL;
    if (!head) return false;
    if (off && !(tail = on ? cover_make(m, base + PAB_PYM_ARENA_SIZE) : cover_of(m, base + PAB_PYM_ARENA_SIZE)))
        return false;
    head->hi = on ? off + 1 : 0;
    if (tail) tail->lo = on ? off : 0;
    return true;
}

bool pab_pym_owns(const pab_pym *m, const void *p) {
    const pym_cover *c = cover_of(m, (uintptr_t)p);
    if (!c) return false;
    uint32_t off = (uint32_t)((uintptr_t)p & (PAB_PYM_ARENA_SIZE - 1));
    return off < c->lo || (c->hi && off + 1 >= c->hi);
}

size_t pab_pym_block_size(const void *p) { return class_size(pool_of(p)->szidx); }

/* ---- invariants (debug builds: pab_assert.h) ---- */

#if PAB_DEBUG
/* Every invariant of the model at once, checked at arena events: the usable list is doubly linked, sorted by
 * ascending free pools, with last_with[k] its rightmost arena of k free pools; an arena's free count is its cached
 * plus its never-carved pools, and cached pools are empty; a used list holds pools of its class with a block free
 * and a block handed out; the statistics agree with all of it.  Checked at arena events and when the statistics
 * are read. */
static bool heap_ok(const pab_pym *m) {
    for (const pym_arena *a = m->usable, *prev = NULL; a; prev = a, a = a->next) {
        pab_assert_internal(a->prev == prev && a->base);
        pab_assert_internal(a->nfree >= 1 && a->nfree <= a->ntotal && (!prev || prev->nfree <= a->nfree));
        pab_assert_internal((m->last_with[a->nfree] == a) == (!a->next || a->next->nfree != a->nfree));
    }
    for (uint32_t k = 0; k <= PAB_PYM_MAX_POOLS; k++)
        pab_assert_internal(!m->last_with[k] || (m->last_with[k]->nfree == k && m->last_with[k]->base));
    size_t arenas = 0, total = 0, empty = 0, used = 0, blocks = 0;
    for (uint32_t i = 0; i < m->nslots; i++) {
        const pym_arena *a = &m->arenas[i];
        if (!a->base) continue;
        uint32_t cached = 0, n = carved(a);
        for (const pym_pool *p = a->freepools; p; p = p->next, cached++) pab_assert_internal(!p->count && p->arena == i);
        pab_assert_internal(a->nfree == cached + a->ntotal - n);
        const uint8_t *first = (const uint8_t *)a->carve - (size_t)n * PAB_PYM_POOL_SIZE;
        for (uint32_t k = 0; k < n; k++) blocks += ((const pym_pool *)(first + (size_t)k * PAB_PYM_POOL_SIZE))->count;
        arenas++, total += a->ntotal, empty += cached, used += n - cached;
    }
    for (uint32_t c = 0; c < PAB_PYM_CLASSES; c++)
        for (const pym_pool *head = &m->used[c], *p = head->next; p != head; p = p->next)
            pab_assert_internal(p->next->prev == p && p->szidx == c && p->count >= 1 &&
                                p->count < pab_pym_blocks_per_pool(class_size(c)));
    pab_assert_internal(arenas == m->st.arenas && total == m->st.pools_total && empty == m->st.pools_empty &&
                        used == m->st.pools_used && blocks == m->st.blocks);
    return true;
}
#endif

/* ---- arenas ---- */

static bool grow_slots(pab_pym *m) {
    uint32_t n = m->nslots ? 2 * m->nslots : INITIAL_SLOTS;
    pym_arena *v = realloc(m->arenas, n * sizeof *v);
    if (!v) return false;
    for (uint32_t i = m->nslots; i < n; i++) v[i] = (pym_arena){.next = i + 1 < n ? &v[i + 1] : NULL};
    m->arenas = v;
    m->unused = &v[m->nslots];
    m->nslots = n;
    return true;
}

static pym_arena *new_arena(pab_pym *m) {
    pab_assert_internal(!m->usable && heap_ok(m));
    if (!m->unused && !grow_slots(m)) return NULL;
    void *addr = mmap(NULL, PAB_PYM_ARENA_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (addr == MAP_FAILED) return NULL;
    if (!map_mark(m, (uintptr_t)addr, true)) {
        munmap(addr, PAB_PYM_ARENA_SIZE);
        return NULL;
    }
    pym_arena *a = m->unused;
    m->unused = a->next;
    uint32_t excess = (uint32_t)((uintptr_t)addr & (PAB_PYM_POOL_SIZE - 1));
    *a = (pym_arena){.base = (uintptr_t)addr, .carve = (uint8_t *)addr, .nfree = PAB_PYM_MAX_POOLS};
    if (excess) {
        a->nfree--;
        a->carve += PAB_PYM_POOL_SIZE - excess;
    }
    a->ntotal = a->nfree;
    m->st.arenas++;
    m->st.arenas_mapped++;
    m->st.pools_total += a->ntotal;
    return a;
}

static void unlink_usable(pab_pym *m, pym_arena *a) {
    if (a->prev) a->prev->next = a->next;
    else m->usable = a->next;
    if (a->next) a->next->prev = a->prev;
}

static void drop_arena(pab_pym *m, pym_arena *a) {
    unlink_usable(m, a);
    map_mark(m, a->base, false);
    munmap((void *)a->base, PAB_PYM_ARENA_SIZE);
    uint32_t n = carved(a);
    m->st.pools_empty -= n; /* every carved pool of an empty arena is cached */
    m->st.pools_total -= a->ntotal;
    m->st.arenas--;
    m->st.arenas_unmapped++;
    a->base = 0;
    a->next = m->unused;
    m->unused = a;
    pab_assert_internal(heap_ok(m));
}

/* ---- pools ---- */

static void *first_block(pym_pool *pool, uint32_t c) {
    pool->count = 1;
    if (pool->szidx == c) { /* it held this class before: its free list is intact */
        uint8_t *b = pool->freeblock;
        pool->freeblock = *(uint8_t **)b;
        return b;
    }
    uint32_t size = class_size(c);
    uint8_t *b = (uint8_t *)pool + PAB_PYM_POOL_OVERHEAD;
    pool->szidx = c;
    pool->nextoffset = PAB_PYM_POOL_OVERHEAD + 2 * size;
    pool->maxnextoffset = PAB_PYM_POOL_SIZE - size;
    pool->freeblock = b + size;
    *(uint8_t **)pool->freeblock = NULL;
    return b;
}

static pym_pool *take_pool(pab_pym *m) {
    pym_arena *a = m->usable;
    if (!a) {
        if (!(a = new_arena(m))) return NULL;
        a->next = a->prev = NULL;
        m->usable = a;
        m->last_with[a->nfree] = a;
    }
    pab_assert_internal(!a->prev && a->nfree >= 1 && a->nfree <= a->ntotal);
    /* a has the fewest free pools, so one less keeps the order; only the fingers move */
    if (m->last_with[a->nfree] == a) m->last_with[a->nfree] = NULL;
    if (a->nfree > 1) m->last_with[a->nfree - 1] = a;
    pym_pool *pool = a->freepools;
    if (pool) {
        a->freepools = pool->next;
        m->st.pools_empty--;
    } else {
        pool = (pym_pool *)a->carve;
        pool->arena = (uint32_t)(a - m->arenas);
        pool->szidx = NO_CLASS;
        a->carve += PAB_PYM_POOL_SIZE;
    }
    if (--a->nfree == 0) { /* wholly allocated: leaves the usable list */
        m->usable = a->next;
        if (m->usable) m->usable->prev = NULL;
    }
    m->st.pools_used++;
    return pool;
}

static void *alloc_from_new_pool(pab_pym *m, uint32_t c) {
    pym_pool *pool = take_pool(m);
    if (!pool) return NULL;
    pym_pool *head = &m->used[c];
    pool->next = pool->prev = head; /* the list was empty */
    head->next = head->prev = pool;
    m->st.blocks++;
    return first_block(pool, c);
}

void *pab_pym_alloc(pab_pym *m, size_t n) {
    if (n - 1 >= PAB_PYM_MAX_REQUEST) return NULL; /* 0 wraps around */
    uint32_t c = (uint32_t)(n - 1) >> 4;
    pym_pool *head = &m->used[c], *pool = head->next;
    if (__builtin_expect(pool == head, 0)) return alloc_from_new_pool(m, c);
    pab_assert_internal(pool->szidx == c && pool->count < pab_pym_blocks_per_pool(class_size(c)));
    pool->count++;
    m->st.blocks++;
    uint8_t *b = pool->freeblock;
    if (!(pool->freeblock = *(uint8_t **)b)) {
        if (pool->nextoffset <= pool->maxnextoffset) { /* carve the next virgin block */
            pool->freeblock = (uint8_t *)pool + pool->nextoffset;
            pool->nextoffset += class_size(c);
            *(uint8_t **)pool->freeblock = NULL;
        } else { /* full: leave the used list */
            pool->prev->next = pool->next;
            pool->next->prev = pool->prev;
        }
    }
    return b;
}

static void pool_to_used_tail(pab_pym *m, pym_pool *pool) {
    pym_pool *head = &m->used[pool->szidx], *prev = head->prev;
    pool->next = head;
    pool->prev = prev;
    head->prev = pool;
    prev->next = pool;
}

/* The four cases of CPython's insert_to_freepool: unmap, back on the list, slide right, nothing. */
static void pool_to_free(pab_pym *m, pym_pool *pool) {
    pool->prev->next = pool->next;
    pool->next->prev = pool->prev;
    pym_arena *a = &m->arenas[pool->arena];
    pool->next = a->freepools;
    a->freepools = pool;
    m->st.pools_used--;
    m->st.pools_empty++;
    uint32_t nf = a->nfree;
    pym_arena *last = m->last_with[nf];
    if (last == a) m->last_with[nf] = (a->prev && a->prev->nfree == nf) ? a->prev : NULL;
    a->nfree = ++nf;
    if (nf == a->ntotal && a->next) { /* wholly empty and not the last usable arena */
        drop_arena(m, a);
        return;
    }
    if (nf == 1) { /* it was full: to the head of the usable list */
        a->prev = NULL;
        a->next = m->usable;
        if (m->usable) m->usable->prev = a;
        m->usable = a;
        if (!m->last_with[1]) m->last_with[1] = a;
        return;
    }
    if (!m->last_with[nf]) m->last_with[nf] = a;
    if (a == last) return; /* still in order */
    unlink_usable(m, a);   /* slide right, to just after the last arena with nf - 1 free pools */
    a->prev = last;
    a->next = last->next;
    if (a->next) a->next->prev = a;
    last->next = a;
    pab_assert_internal(a->prev->nfree <= a->nfree && (!a->next || a->nfree <= a->next->nfree));
}

void pab_pym_free(pab_pym *m, void *p) {
    pym_pool *pool = pool_of(p);
    pab_assert_internal(pab_pym_owns(m, p) && pool->count > 0 && pool->arena < m->nslots);
    pab_assert_internal(((uintptr_t)p - (uintptr_t)pool - PAB_PYM_POOL_OVERHEAD) % class_size(pool->szidx) == 0);
    uint8_t *lastfree = pool->freeblock;
    *(uint8_t **)p = lastfree;
    pool->freeblock = p;
    pool->count--;
    m->st.blocks--;
    if (!lastfree) pool_to_used_tail(m, pool); /* it was full */
    else if (!pool->count) pool_to_free(m, pool);
}

pab_pym_stats pab_pym_stat(const pab_pym *m) {
    pab_assert_internal(heap_ok(m)); /* statistics a test reads have been checked against the structure */
    return m->st;
}

size_t pab_pym_arena_slots(const pab_pym *m) { return m->nslots; }

int pab_pym_arena(const pab_pym *m, size_t i, uintptr_t *base) {
    if (i >= m->nslots || !m->arenas[i].base) return -1;
    if (base) *base = m->arenas[i].base;
    return (int)m->arenas[i].ntotal;
}

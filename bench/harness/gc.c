/* The generational GC trigger model of CPython 3.11/3.12 (rules in pab_gc.h): circular lists per generation
 * threaded through each object's pab_gc_head; a collection frees the marked-unreachable in one batch. */
#include <stdlib.h>

#include "pab_gc.h"

#define GENS 3
#define DEAD ((uintptr_t)1)

struct pab_gc {
    pab_gc_head gen[GENS]; /* list sentinels */
    uint32_t threshold[GENS];
    bool collecting;
    pab_gc_free_fn free_fn;
    void *user;
    void (*on_full)(void *user);
    void *full_user;
    pab_gc_stats st;
};

static inline pab_gc_head *prev_of(const pab_gc_head *h) { return (pab_gc_head *)(h->prev & ~DEAD); }
static inline void set_prev(pab_gc_head *h, pab_gc_head *p) { h->prev = (uintptr_t)p | (h->prev & DEAD); }

static void list_init(pab_gc_head *s) {
    s->next = s;
    s->prev = (uintptr_t)s;
}

static void list_append(pab_gc_head *s, pab_gc_head *h) {
    pab_gc_head *last = prev_of(s);
    h->next = s;
    set_prev(h, last);
    last->next = h;
    set_prev(s, h);
}

static void list_remove(pab_gc_head *h) {
    pab_gc_head *p = prev_of(h);
    p->next = h->next;
    set_prev(h->next, p);
}

static void list_merge(pab_gc_head *from, pab_gc_head *to) { /* from's objects to the end of to; from empties */
    if (from->next == from) return;
    pab_gc_head *first = from->next, *last = prev_of(from), *tail = prev_of(to);
    tail->next = first;
    set_prev(first, tail);
    last->next = to;
    set_prev(to, last);
    list_init(from);
}

pab_gc *pab_gc_new(const uint32_t thresholds[3], pab_gc_free_fn free_fn, void *user) {
    pab_gc *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    for (int i = 0; i < GENS; i++) {
        list_init(&g->gen[i]);
        g->threshold[i] = thresholds[i];
    }
    g->free_fn = free_fn;
    g->user = user;
    return g;
}

void pab_gc_on_full(pab_gc *g, void (*fn)(void *user), void *user) {
    g->on_full = fn;
    g->full_user = user;
}

void pab_gc_delete(pab_gc *g) { free(g); }

void pab_gc_track(pab_gc *g, void *obj) {
    pab_gc_head *h = obj;
    h->prev = 0;
    list_append(&g->gen[0], h);
}

void pab_gc_untrack(pab_gc *g, void *obj) {
    list_remove(obj);
}

void pab_gc_unlink(pab_gc *g) {
    if (g->st.count[0]) g->st.count[0]--;
}

void pab_gc_unreachable(void *obj) { ((pab_gc_head *)obj)->prev |= DEAD; }

/* gc_collect_main, reduced to what memory sees */
static int collect(pab_gc *g, int gen) {
    g->collecting = true;
    if (gen + 1 < GENS) g->st.count[gen + 1]++;
    for (int i = 0; i <= gen; i++) g->st.count[i] = 0;
    for (int i = 0; i < gen; i++) list_merge(&g->gen[i], &g->gen[gen]);
    pab_gc_head dead, *young = &g->gen[gen];
    list_init(&dead);
    uint64_t survivors = 0, freed = 0;
    for (pab_gc_head *h = young->next, *next; h != young; h = next) {
        next = h->next;
        if (h->prev & DEAD) {
            list_remove(h);
            list_append(&dead, h);
        } else {
            survivors++;
        }
    }
    if (gen == GENS - 2) g->st.long_lived_pending += survivors;
    if (gen < GENS - 1) list_merge(young, &g->gen[gen + 1]);
    else {
        g->st.long_lived_pending = 0;
        g->st.long_lived_total = survivors;
        if (g->on_full) g->on_full(g->full_user);
    }
    int rc = 0;
    while (dead.next != &dead) { /* the batch: break the cycles, deallocate */
        pab_gc_head *h = dead.next;
        list_remove(h);
        freed++;
        if (g->st.count[0]) g->st.count[0]--;
        int r = g->free_fn(g->user, h); /* all of the batch goes, the first error is kept */
        if (!rc) rc = r;
    }
    g->st.collections[gen]++;
    g->st.freed[gen] += freed;
    g->collecting = false;
    return rc;
}

int pab_gc_link(pab_gc *g) {
    g->st.count[0]++;
    if (g->st.count[0] <= g->threshold[0] || !g->threshold[0] || g->collecting) return 0;
    for (int i = GENS - 1; i >= 0; i--) {
        if (g->st.count[i] <= g->threshold[i]) continue;
        if (i == GENS - 1 && g->st.long_lived_pending < g->st.long_lived_total / 4) continue;
        return collect(g, i);
    }
    return 0;
}

int pab_gc_collect(pab_gc *g, int gen) {
    if (gen < 0 || gen >= GENS || g->collecting) return 0;
    return collect(g, gen);
}

static uint64_t list_len(const pab_gc_head *s) {
    uint64_t n = 0;
    for (const pab_gc_head *h = s->next; h != s; h = h->next) n++;
    return n;
}

pab_gc_stats pab_gc_stat(const pab_gc *g) { /* walks the lists: for tests and reports, not hot loops */
    pab_gc_stats s = g->st;
    for (int i = 0; i < GENS; i++) s.tracked[i] = list_len(&g->gen[i]);
    return s;
}

uint64_t pab_gc_collections(const pab_gc *g, int gen) {
    if (gen >= 0 && gen < GENS) return g->st.collections[gen];
    return g->st.collections[0] + g->st.collections[1] + g->st.collections[2];
}

/* freelist: bursts of short-lived floats, tuples, lists and dicts through CPython's per-type free lists.
 * Shows how much of Python's object churn never reaches the allocator (freelist=on) against all of it (off). */
#include <stdio.h>
#include <stdlib.h>

#include "pab_freelist.h"

/* One Python expression per entry, in the shares of the burst: its objects and their sizes come from the lists. */
enum { E_FLOAT, E_TUPLE, E_LIST, E_DICT, E_KINDS };
static const unsigned share[E_KINDS] = {40, 30, 15, 15}; /* x*1.5, (a, b[, c, d]), [x], {'a': x} */

struct obj { void *p, *extra; uint64_t tag; uint8_t kind, len; };

struct fl {
    pab_heap *heap;
    pab_freelists *fl;
    struct obj *objs;
    uint64_t burst, bursts, serial, cycles;
    pab_rng rng;
    char note[96];
};

static const pab_param params[] = {
    {"freelist", PAB_P_ENUM, "on", "on|off", "CPython's free lists (on) or every object to the allocator (off)", 0, 0},
    {"burst", PAB_P_SIZE, "200", NULL, "objects alive at once: created, then destroyed LIFO", 1, 0},
    {"bursts", PAB_P_SIZE, "500", NULL, "bursts per cycle", 1, 0},
    PAB_PARAM_LAYER,
    {NULL},
};

static int setup(pab_ctx *c, void *state) {
    struct fl *s = state;
    s->burst = pab_size(c, "burst");
    s->bursts = pab_size(c, "bursts");
    s->rng.s = pab_seed(c);
    if (!pab_need(c, s->burst * (sizeof *s->objs + 2 * 184), "one burst")) return -1;
    if (!(s->heap = pab_heap_of_case(c)) ||
        !(s->fl = pab_fl_new(s->heap, pab_choice(c, "freelist") ? PAB_FL_OFF : 0)))
        return pab_fail(c, "freelist: cannot create the object layer");
    if (!(s->objs = pab_scratch(s->burst * sizeof *s->objs))) return pab_enomem(c, s->burst * sizeof *s->objs);
    return 0;
}

static int draw_kind(pab_rng *r) {
    unsigned x = (unsigned)pab_below(r, 100), k = 0;
    while (x >= share[k]) x -= share[k++];
    return (int)k;
}

/* the object and, for a list its item array, for a dict its keys */
static int create(pab_ctx *c, struct fl *s, struct obj *o) {
    o->kind = (uint8_t)draw_kind(&s->rng);
    o->len = o->kind == E_TUPLE ? (uint8_t)(1 + pab_below(&s->rng, 4)) : 0;
    o->tag = pab_mix64(++s->serial);
    o->extra = NULL;
    static const pab_fl_kind fk[E_KINDS] = {PAB_FL_FLOAT, PAB_FL_TUPLE, PAB_FL_LIST, PAB_FL_DICT};
    size_t n = pab_fl_size(fk[o->kind], o->len);
    if (!(o->p = pab_fl_alloc(s->fl, fk[o->kind], o->len))) return pab_enomem(c, n);
    pab_tag(o->p, n, o->tag);
    if (o->kind == E_LIST && !(o->extra = pab_obj_alloc(s->heap, 8))) return pab_enomem(c, 8); /* PyMem_Malloc */
    if (o->kind == E_DICT && !(o->extra = pab_fl_alloc(s->fl, PAB_FL_KEYS, 0))) return pab_enomem(c, 120);
    if (o->extra) pab_tag(o->extra, o->kind == E_LIST ? 8 : 120, o->tag);
    return 0;
}

/* check (teardown after a failure does not) and destroy */
static int destroy(pab_ctx *c, struct fl *s, struct obj *o, bool check) {
    static const pab_fl_kind fk[E_KINDS] = {PAB_FL_FLOAT, PAB_FL_TUPLE, PAB_FL_LIST, PAB_FL_DICT};
    size_t n = pab_fl_size(fk[o->kind], o->len), xn = o->kind == E_LIST ? 8 : 120;
    if (check && (!pab_tag_ok(o->p, n, o->tag) || (o->extra && !pab_tag_ok(o->extra, xn, o->tag))))
        return pab_fail(c, "freelist: checksum mismatch in a %zu-byte object: the memory was overwritten", n);
    if (o->kind == E_LIST) pab_obj_free(s->heap, o->extra, 8); /* the item array is always freed */
    if (o->kind == E_DICT) pab_fl_free(s->fl, PAB_FL_KEYS, 0, o->extra);
    pab_fl_free(s->fl, fk[o->kind], o->len, o->p);
    o->p = NULL;
    return 0;
}

static int cycle(pab_ctx *c, void *state) {
    struct fl *s = state;
    uint64_t ops0 = pab_tally(c)->ops, calls0 = pab_heap_calls_of(s->heap).layer;
    for (uint64_t b = 0; b < s->bursts; b++) {
        for (uint64_t i = 0; i < s->burst; i++)
            if (create(c, s, &s->objs[i])) return -1;
        if (__builtin_expect(pab_test_corrupt, 0)) ((unsigned char *)s->objs[0].p)[1] ^= 0x40;
        for (uint64_t i = s->burst; i-- > 0;)
            if (destroy(c, s, &s->objs[i], true)) return -1;
    }
    pab_freed(c);
    if (!s->cycles++) { /* share of object requests that reached the layer, as a timeline event */
        uint64_t ops = pab_tally(c)->ops - ops0, calls = pab_heap_calls_of(s->heap).layer - calls0;
        snprintf(s->note, sizeof s->note, "alloc_calls=%.1f%%", ops ? 100.0 * (double)calls / (double)ops : 0.0);
        pab_event(c, s->note);
    }
    return 0;
}

static void teardown(pab_ctx *c, void *state) {
    struct fl *s = state;
    for (uint64_t i = 0; s->objs && i < s->burst; i++)
        if (s->objs[i].p) destroy(c, s, &s->objs[i], false);
    pab_scratch_free(s->objs, s->burst * sizeof *s->objs);
    if (s->fl) pab_fl_delete(s->fl);
    if (s->heap) pab_heap_delete(s->heap);
}

PAB_WORKLOAD(freelist,
             .shows = "how much of Python's object churn never reaches the allocator (per-type free lists)",
             .does = "bursts of `burst` floats/tuples/lists/dicts (40/30/15/15 %) created, then destroyed LIFO",
             .params = params, .state_size = sizeof(struct fl),
             .setup = setup, .cycle = cycle, .teardown = teardown);

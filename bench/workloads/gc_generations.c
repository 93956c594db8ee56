/* gc_generations: container objects in reference cycles under CPython's generational GC (pab_gc.h): garbage
 * cycles wait for a collection and go in batches; long-lived survivors reach gen2 and pin memory there. */
#include <stdlib.h>
#include <string.h>

#include "pab_freelist.h"
#include "pab_gc.h"

/* A ring is `ring` objects referring to each other.  Its fate, drawn when it is built: dropped at once
 * (young garbage), dropped once a collection has moved it out of gen0 (dies in gen1), or kept to the cycle's
 * end (long-lived: reaches gen2).  A dropped ring is cyclic garbage for the GC or, with 100 - cyclic %,
 * freed at once by reference counting. */
enum { F_YOUNG, F_MIDDLE, F_OLD };

struct ringref { uint32_t first; uint8_t fate, cyclic; uint64_t born; }; /* born: collections so far */

struct gcw {
    pab_heap *heap;
    pab_gc *gc;
    pab_ctx *c;
    void **objs;            /* the program's references, per object of the cycle */
    void **resident;        /* long-lived objects of the whole process (a cache, modules...) */
    uint64_t nresident;
    struct ringref *rings;  /* per ring of the cycle */
    uint64_t n, ring, size, survive0, survive1, cyclic, serial, nrings, mid_head;
    bool auto_gc;           /* t0 > 0 */
    pab_rng rng;
};

static const pab_param params[] = {
    {"objects", PAB_P_SIZE, "200K", NULL, "container objects created per cycle", 1, 0},
    {"size", PAB_P_SIZE, "64", NULL, "bytes per object, 16-byte GC header included (64: a 2-tuple-sized container)", 40, 4096},
    {"ring", PAB_P_INT, "3", NULL, "objects per reference cycle", 1, 1000},
    {"survive0", PAB_P_INT, "10", NULL, "percent of rings still referenced at their first collection (reach gen1)", 0, 100},
    {"survive1", PAB_P_INT, "30", NULL, "percent of those still referenced at the cycle's end (reach gen2)", 0, 100},
    {"cyclic", PAB_P_INT, "50", NULL, "percent of dropped rings that are cycles (the rest die by refcount)", 0, 100},
    {"resident", PAB_P_SIZE, "0", NULL, "long-lived objects made in setup and kept (gen2's long_lived_total)", 0, 0},
    {"t0", PAB_P_INT, "700", NULL, "gen0 threshold (gc.set_threshold); 0: no automatic GC, a full gc.collect() at each cycle's start", 0, 0},
    {"t1", PAB_P_INT, "10", NULL, "gen1 threshold", 0, 0},
    {"t2", PAB_P_INT, "10", NULL, "gen2 threshold", 0, 0},
    PAB_PARAM_LAYER,
    {NULL},
};

/* self-checking tag: high half the serial, low half its hash; written after the GC header, at both ends */
static inline uint64_t tag_of(uint64_t serial) { return serial << 32 | (uint32_t)pab_mix64(serial); }
static inline void *body(void *o) { return (char *)o + sizeof(pab_gc_head); }

static int check_free(struct gcw *s, void *o) {
    uint64_t t;
    memcpy(&t, body(o), 8);
    if (t != tag_of(t >> 32) || !pab_tag_ok(body(o), s->size - sizeof(pab_gc_head), t))
        return pab_fail(s->c, "gc_generations: checksum mismatch in a %llu-byte object: the memory was overwritten",
                        (unsigned long long)s->size);
    pab_obj_free(s->heap, o, s->size);
    return 0;
}

static int gc_free(void *user, void *o) { return check_free(user, o); }

static int setup(pab_ctx *c, void *state) {
    struct gcw *s = state;
    s->c = c;
    s->n = pab_size(c, "objects");
    s->size = pab_size(c, "size");
    s->ring = (uint64_t)pab_int(c, "ring");
    s->survive0 = (uint64_t)pab_int(c, "survive0");
    s->survive1 = (uint64_t)pab_int(c, "survive1");
    s->cyclic = (uint64_t)pab_int(c, "cyclic");
    s->nrings = (s->n + s->ring - 1) / s->ring;
    s->nresident = pab_size(c, "resident");
    s->rng.s = pab_seed(c);
    uint32_t t[3] = {(uint32_t)pab_int(c, "t0"), (uint32_t)pab_int(c, "t1"), (uint32_t)pab_int(c, "t2")};
    s->auto_gc = t[0] != 0;
    if (s->n >= UINT32_MAX) return pab_fail(c, "gc_generations: objects must be below 4G");
    /* garbage of one cycle can wait for the next: two cycles' objects at most, plus the references */
    if (!pab_need(c, (s->n + s->nresident) * (2 * s->size + 32 + sizeof(void *)) + s->nrings * sizeof *s->rings,
                  "objects")) return -1;
    if (!(s->heap = pab_heap_of_case(c)) ||
        !(s->gc = pab_gc_new(t, gc_free, s)))
        return pab_fail(c, "gc_generations: cannot create the object layer");
    if (!(s->objs = pab_scratch(s->n * sizeof *s->objs)) || !(s->rings = pab_scratch(s->nrings * sizeof *s->rings)) ||
        !(s->resident = pab_scratch((s->nresident + 1) * sizeof *s->resident)))
        return pab_fail(c, "gc_generations: no memory for the bookkeeping of %llu objects", (unsigned long long)s->n);
    for (uint64_t i = 0; i < s->nresident; i++) {
        void *o = pab_obj_alloc(s->heap, s->size);
        if (!o) return pab_enomem(c, s->size);
        pab_tag(body(o), s->size - sizeof(pab_gc_head), tag_of(++s->serial));
        if (pab_gc_link(s->gc)) return -1;
        pab_gc_track(s->gc, o);
        s->resident[i] = o;
    }
    return s->nresident ? pab_gc_collect(s->gc, 2) : 0; /* they are gen2's long-lived set */
}

static uint64_t collections(const struct gcw *s) { return pab_gc_collections(s->gc, -1); }

/* the program lets go of a ring: the GC's garbage if it is a cycle, else freed now */
static int drop(struct gcw *s, struct ringref *r) {
    uint64_t end = r->first + s->ring < s->n ? r->first + s->ring : s->n;
    for (uint64_t i = r->first; i < end; i++) {
        void *o = s->objs[i];
        s->objs[i] = NULL;
        if (r->cyclic) {
            pab_gc_unreachable(o);
            continue;
        }
        pab_gc_untrack(s->gc, o);
        pab_gc_unlink(s->gc);
        if (check_free(s, o)) return -1;
    }
    return 0;
}

static int build(struct gcw *s, uint64_t k) {
    struct ringref *r = &s->rings[k];
    uint64_t x = pab_below(&s->rng, 10000);
    r->first = (uint32_t)(k * s->ring);
    r->fate = x >= s->survive0 * 100 ? F_YOUNG : x >= s->survive0 * s->survive1 ? F_MIDDLE : F_OLD;
    r->cyclic = pab_below(&s->rng, 100) < s->cyclic;
    uint64_t end = r->first + s->ring < s->n ? r->first + s->ring : s->n;
    for (uint64_t i = r->first; i < end; i++) {
        void *o = pab_obj_alloc(s->heap, s->size);
        if (!o) return pab_enomem(s->c, s->size);
        uint64_t t = tag_of(++s->serial);
        pab_tag(body(o), s->size - sizeof(pab_gc_head), t);
        if (pab_gc_link(s->gc)) return -1; /* may collect, before this object is tracked */
        pab_gc_track(s->gc, o);
        s->objs[i] = o;
        if (__builtin_expect(pab_test_corrupt, 0) && i == 0) ((unsigned char *)o)[20] ^= 0x40;
    }
    r->born = collections(s);
    return r->fate == F_YOUNG ? drop(s, r) : 0;
}

/* rings that die in gen1: dropped once a collection has happened since they were built */
static int drop_middle(struct gcw *s, uint64_t upto) {
    uint64_t now = collections(s);
    for (; s->mid_head < upto; s->mid_head++) {
        struct ringref *r = &s->rings[s->mid_head];
        if (r->fate != F_MIDDLE || !s->objs[r->first]) continue;
        if (r->born == now) break;
        if (drop(s, r)) return -1;
    }
    return 0;
}

static int cycle(pab_ctx *c, void *state) {
    struct gcw *s = state;
    if (!s->auto_gc && pab_gc_collect(s->gc, 2)) return -1; /* t0=0: last cycle's garbage goes now, not never */
    s->mid_head = 0;
    for (uint64_t k = 0; k < s->nrings; k++)
        if (build(s, k) || ((k & 63) == 63 && drop_middle(s, k))) return -1;
    for (uint64_t k = 0; k < s->nrings; k++) /* the cycle's end: the program drops everything it held */
        if (s->objs[s->rings[k].first] && drop(s, &s->rings[k])) return -1;
    pab_freed(c); /* cyclic garbage not yet collected is still allocated: that is the point */
    return 0;
}

static void teardown(pab_ctx *c, void *state) {
    struct gcw *s = state;
    for (uint64_t k = 0; s->objs && s->rings && k < s->nrings; k++)
        if (s->objs[s->rings[k].first]) {
            s->rings[k].cyclic = 1;
            drop(s, &s->rings[k]);
        }
    for (uint64_t i = 0; s->resident && i < s->nresident && s->resident[i]; i++) pab_gc_unreachable(s->resident[i]);
    if (s->gc) {
        pab_gc_collect(s->gc, 2); /* everything left is garbage: one full collection frees it */
        pab_gc_delete(s->gc);
    }
    pab_scratch_free(s->objs, s->n * sizeof *s->objs);
    pab_scratch_free(s->rings, s->nrings * sizeof *s->rings);
    pab_scratch_free(s->resident, (s->nresident + 1) * sizeof *s->resident);
    if (s->heap) pab_heap_delete(s->heap);
}

PAB_WORKLOAD(gc_generations,
             .shows = "the cyclic GC's batch frees, and long-lived survivors pinning memory in gen2",
             .does = "build `objects` containers in rings of `ring`; drop them young, in gen1 or at the end; "
                     "CPython's (700, 10, 10) GC frees the cycles",
             .params = params, .state_size = sizeof(struct gcw),
             .setup = setup, .cycle = cycle, .teardown = teardown);

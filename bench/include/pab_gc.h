/* pab_gc.h — CPython 3.11/3.12's cyclic GC trigger model (Modules/gcmodule.c, docs/cpython-facts.md "Cyclic GC"):
 * three generations, thresholds (700, 10, 10), gen0 counter = net container allocations, the gen2 25 % rule.
 *
 * What it models: when collections happen, which generation, what they free (only objects the program marked
 * unreachable: garbage held by its own cycles), in one batch, and that survivors move up a generation.  It does
 * not trace references: the program says which objects are cyclic garbage.  Every tracked object begins with a
 * pab_gc_head (16 bytes, like PyGC_Head), counted in the object's size.
 * The exact rules (3.11 collects inside the allocation; 3.12 at the next eval-breaker check, same counts):
 *  - link (a container is allocated, not from a free list): gen0.count++; if gen0.count > t0 (and t0 != 0,
 *    not already collecting) collect, choosing the oldest generation i with gen[i].count > t[i], except that
 *    gen2 is skipped while long_lived_pending < long_lived_total / 4;
 *  - collecting generation i: gen[i+1].count++, gen[0..i].count = 0; gens 0..i merge; the unreachable are freed;
 *    survivors of a gen1 collection add to long_lived_pending; after a gen2 collection long_lived_total = its
 *    survivors and pending = 0; a gen2 collection also empties the free lists (on_full callback);
 *  - unlink (a container is freed by the allocator, PyObject_GC_Del): gen0.count-- if > 0.
 * So with t = (700, 10, 10): gen0 collects at the 701st net allocation, gen1 at every 11th collection. */
#ifndef PAB_GC_H
#define PAB_GC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pab_gc_head {
    struct pab_gc_head *next;
    uintptr_t prev; /* the previous head; bit 0: unreachable (cyclic garbage) */
} pab_gc_head;

typedef struct pab_gc pab_gc;
/* Frees one collected object (check its checksum, give it back to the layer); non-zero stops and is returned. */
typedef int (*pab_gc_free_fn)(void *user, void *obj);

pab_gc *pab_gc_new(const uint32_t thresholds[3], pab_gc_free_fn free_fn, void *user);
void pab_gc_on_full(pab_gc *g, void (*fn)(void *user), void *user); /* e.g. pab_fl_clear on gen2 */
void pab_gc_delete(pab_gc *g); /* frees no object */

int pab_gc_link(pab_gc *g);               /* _PyObject_GC_Link: count, maybe collect; the free_fn's error */
void pab_gc_track(pab_gc *g, void *obj);  /* PyObject_GC_Track: into gen0 */
void pab_gc_untrack(pab_gc *g, void *obj);/* PyObject_GC_UnTrack: refcount death */
void pab_gc_unlink(pab_gc *g);            /* PyObject_GC_Del: gen0 count down */
void pab_gc_unreachable(void *obj);       /* the program dropped its last outside reference to obj's cycle */
int pab_gc_collect(pab_gc *g, int gen);   /* gc.collect(gen); the free_fn's error */

typedef struct {
    uint64_t collections[3]; /* per generation */
    uint64_t freed[3];       /* objects freed by collections of each generation */
    uint32_t count[3];       /* gen0: net allocations; gen1/gen2: collections of the younger generation */
    uint64_t long_lived_total, long_lived_pending;
    uint64_t tracked[3];     /* objects in each generation now */
} pab_gc_stats;
pab_gc_stats pab_gc_stat(const pab_gc *g);  /* walks the lists for tracked[]: not for hot loops */
uint64_t pab_gc_collections(const pab_gc *g, int gen); /* collections of gen, or of all when gen < 0: cheap */

#endif

/* The Python-object layer: layer=malloc sends every object to malloc (PYTHONMALLOC=malloc);
 * layer=pymalloc sends 1..512-byte requests to the pymalloc model (pymalloc.c) and the rest to malloc. */
#include <stdlib.h>
#include <string.h>

#include "pab_pymalloc.h"
#include "pab_pyobj.h"

struct pab_heap {
    pab_layer layer;
    struct pab_tally *tally;
    struct pab_tally none;
    pab_pym *pym;                    /* NULL for layer=malloc */
    uint64_t calls, malloc_calls;    /* requests that reached the layer / the system malloc */
};

pab_heap *pab_heap_new(pab_layer layer, struct pab_tally *tally) {
    if (layer != PAB_LAYER_MALLOC && layer != PAB_LAYER_PYMALLOC) return NULL;
    pab_heap *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->layer = layer;
    h->tally = tally ? tally : &h->none;
    if (layer == PAB_LAYER_PYMALLOC && !(h->pym = pab_pym_new())) {
        free(h);
        return NULL;
    }
    return h;
}

void pab_heap_delete(pab_heap *h) {
    if (!h) return;
    pab_pym_delete(h->pym);
    free(h);
}

/* PyMem_RawMalloc and friends: a request of 0 bytes asks malloc for 1. */
static void *sys_alloc(pab_heap *h, size_t n) {
    h->malloc_calls++;
    return malloc(n ? n : 1);
}

static void *raw_alloc(pab_heap *h, size_t n) {
    void *p = h->pym ? pab_pym_alloc(h->pym, n) : NULL;
    return p ? p : sys_alloc(h, n);
}

static void raw_free(pab_heap *h, void *p) {
    if (!p) return;
    if (h->pym && pab_pym_owns(h->pym, p)) {
        pab_pym_free(h->pym, p);
        return;
    }
    h->malloc_calls++;
    free(p);
}

void *pab_obj_alloc(pab_heap *h, size_t n) {
    pab_count(h->tally, 1, (int64_t)n);
    h->calls++;
    return raw_alloc(h, n);
}

void pab_obj_free(pab_heap *h, void *p, size_t n) {
    pab_count(h->tally, 1, -(int64_t)n);
    h->calls++;
    raw_free(h, p);
}

/* _PyObject_Realloc: a pymalloc block stays put when the new size fits and is more than 3/4 of the block;
 * otherwise a new request (pymalloc or malloc by size), a copy and a free.  A malloc block stays in malloc. */
void *pab_obj_realloc(pab_heap *h, void *p, size_t old, size_t n) {
    pab_count(h->tally, 1, (int64_t)n - (int64_t)old);
    h->calls++;
    if (!p) return raw_alloc(h, n);
    if (!h->pym || !pab_pym_owns(h->pym, p)) {
        h->malloc_calls++;
        return realloc(p, n ? n : 1);
    }
    size_t block = pab_pym_block_size(p), keep = block;
    if (n <= block) {
        if (4 * n > 3 * block) return p;
        keep = n;
    }
    void *q = raw_alloc(h, n);
    if (q) {
        memcpy(q, p, keep);
        pab_pym_free(h->pym, p);
    }
    return q;
}

pab_heap_stats pab_heap_stat(const pab_heap *h) {
    if (!h->pym) return (pab_heap_stats){0};
    pab_pym_stats s = pab_pym_stat(h->pym);
    return (pab_heap_stats){.arenas = s.arenas, .pools_used = s.pools_used, .pools_empty = s.pools_empty,
                            .blocks = s.blocks};
}

struct pab_tally *pab_heap_tally(pab_heap *h) { return h->tally; }

pab_heap_calls pab_heap_calls_of(const pab_heap *h) {
    return (pab_heap_calls){.layer = h->calls, .malloc = h->malloc_calls};
}

pab_heap *pab_heap_of_case(pab_ctx *c) { return pab_heap_new((pab_layer)pab_choice(c, "layer"), pab_tally(c)); }

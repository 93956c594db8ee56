/* The Python-object layer: layer=malloc sends every object to malloc (PYTHONMALLOC=malloc);
 * layer=pymalloc sends 1..512-byte requests to the pymalloc model (pymalloc.c) and the rest to malloc. */
#include <stdlib.h>

#include "pab_pyobj.h"

struct pab_heap {
    pab_layer layer;
    struct pab_tally *tally;
    struct pab_tally none;
};

pab_heap *pab_heap_new(pab_layer layer, struct pab_tally *tally) {
    if (layer != PAB_LAYER_MALLOC) return NULL; /* the pymalloc model plugs in here */
    pab_heap *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->layer = layer;
    h->tally = tally ? tally : &h->none;
    return h;
}

void pab_heap_delete(pab_heap *h) { free(h); }

void *pab_obj_alloc(pab_heap *h, size_t n) {
    pab_count(h->tally, 1, (int64_t)n);
    return malloc(n);
}

void pab_obj_free(pab_heap *h, void *p, size_t n) {
    pab_count(h->tally, 1, -(int64_t)n);
    free(p);
}

void *pab_obj_realloc(pab_heap *h, void *p, size_t old, size_t n) {
    pab_count(h->tally, 1, (int64_t)n - (int64_t)old);
    return realloc(p, n);
}

pab_heap_stats pab_heap_stat(const pab_heap *h) { return (pab_heap_stats){0}; }

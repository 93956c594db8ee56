/* pab_pyobj.h — the Python-object layer: where a CPython object's bytes come from.
 * layer=malloc is PYTHONMALLOC=malloc; layer=pymalloc models Objects/obmalloc.c (docs/design.md §7, docs/cpython-facts.md). */
#ifndef PAB_PYOBJ_H
#define PAB_PYOBJ_H

#include <stddef.h>
#include <stdint.h>

#include "pab_workload.h"

typedef enum { PAB_LAYER_MALLOC = 0, PAB_LAYER_PYMALLOC = 1 } pab_layer;
#define PAB_LAYER_CHOICES "malloc|pymalloc" /* in pab_layer order: use with pab_choice() */

typedef struct pab_heap pab_heap;

/* One heap per thread that allocates (pymalloc is not thread-safe, as under the GIL).
 * tally may be NULL; otherwise every request counts one op and its requested bytes as live. */
pab_heap *pab_heap_new(pab_layer layer, struct pab_tally *tally);
void pab_heap_delete(pab_heap *h); /* unmaps every arena; objects still live are lost */

void *pab_obj_alloc(pab_heap *h, size_t n);                        /* PyObject_Malloc */
void pab_obj_free(pab_heap *h, void *p, size_t n);                 /* PyObject_Free; n = requested size */
void *pab_obj_realloc(pab_heap *h, void *p, size_t old, size_t n); /* PyObject_Realloc */

/* What the pymalloc model holds right now (all zero for layer=malloc). */
typedef struct {
    size_t arenas;       /* mapped 1 MiB arenas */
    size_t pools_used;   /* pools holding at least one block */
    size_t pools_empty;  /* pools carved from arenas but holding no block (never decommitted) */
    size_t blocks;       /* blocks handed out and not freed */
} pab_heap_stats;
pab_heap_stats pab_heap_stat(const pab_heap *h);

/* Added for the free lists and the `freelist` workload (pymalloc helper). */
struct pab_tally *pab_heap_tally(pab_heap *h); /* the tally given to pab_heap_new (or the heap's own) */
typedef struct {
    uint64_t layer;  /* requests that reached the layer: PyObject_Malloc/Free/Realloc calls */
    uint64_t malloc; /* of those, the ones served by the system malloc/free/realloc */
} pab_heap_calls;
pab_heap_calls pab_heap_calls_of(const pab_heap *h);

/* Object size mixes (data: bench/mixes.tsv): draw the size of the next request. */
typedef struct pab_mix pab_mix;
const pab_mix *pab_mix_find(const char *name); /* "python", "uniform"; NULL if unknown */
size_t pab_mix_draw(const pab_mix *m, pab_rng *r);
double pab_mix_mean(const pab_mix *m); /* mean request size in bytes: for pab_need estimates */
#define PAB_MIX_CHOICES "python|uniform"

/* The two parameters most workloads share, as rows of their parameter tables, and what they select. */
#define PAB_PARAM_LAYER {"layer", PAB_P_ENUM, "malloc", PAB_LAYER_CHOICES, "malloc (PYTHONMALLOC=malloc) or the pymalloc model", 0, 0}
#define PAB_PARAM_MIX {"mix", PAB_P_ENUM, "python", PAB_MIX_CHOICES, "object size mix (bench/mixes.tsv)", 0, 0}
pab_heap *pab_heap_of_case(pab_ctx *c); /* a heap of the case's `layer`, counting into pab_tally(c) */
const pab_mix *pab_mix_of_case(const pab_ctx *c); /* the case's `mix` */

#endif

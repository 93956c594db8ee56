/* pab_pymalloc.h — the pymalloc model's internal interface (bench/harness/pymalloc.c), used by pyobj.c and tests.
 * One pab_pym per heap (per thread): CPython's obmalloc state, geometry of 64-bit CPython 3.11/3.12. */
#ifndef PAB_PYMALLOC_H
#define PAB_PYMALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAB_PYM_ALIGN 16                  /* size classes 16 B apart: class = (n - 1) >> 4 */
#define PAB_PYM_MAX_REQUEST 512           /* SMALL_REQUEST_THRESHOLD: 0 and > 512 B go to malloc */
#define PAB_PYM_CLASSES (PAB_PYM_MAX_REQUEST / PAB_PYM_ALIGN)
#define PAB_PYM_POOL_SIZE (16u << 10)     /* 16 KiB pools (USE_LARGE_POOLS, radix tree) */
#define PAB_PYM_POOL_OVERHEAD 48u         /* the pool header, rounded up to 16 */
#define PAB_PYM_ARENA_SIZE (1u << 20)     /* 1 MiB arenas from anonymous mmap */
#define PAB_PYM_MAX_POOLS (PAB_PYM_ARENA_SIZE / PAB_PYM_POOL_SIZE) /* 64; 63 when mmap is not 16 KiB aligned */

typedef struct pab_pym pab_pym;

pab_pym *pab_pym_new(void);                 /* NULL when out of memory */
void pab_pym_delete(pab_pym *m);            /* unmaps every arena */
void *pab_pym_alloc(pab_pym *m, size_t n);  /* NULL for 0, > 512 B, or no arena could be mapped */
bool pab_pym_owns(const pab_pym *m, const void *p); /* address_in_range */
void pab_pym_free(pab_pym *m, void *p);     /* p must be owned */
size_t pab_pym_block_size(const void *p);   /* the size class of an owned block */

static inline unsigned pab_pym_blocks_per_pool(size_t block) {
    return (unsigned)((PAB_PYM_POOL_SIZE - PAB_PYM_POOL_OVERHEAD) / block);
}

typedef struct {
    size_t arenas;          /* mapped now */
    size_t arenas_mapped;   /* mmap calls so far */
    size_t arenas_unmapped; /* munmap calls so far */
    size_t pools_total;     /* usable pools in the mapped arenas (63 or 64 each) */
    size_t pools_used;      /* carved pools holding at least one block */
    size_t pools_empty;     /* carved pools on an arena's free list (never decommitted) */
    size_t blocks;          /* blocks handed out and not freed */
} pab_pym_stats;
pab_pym_stats pab_pym_stat(const pab_pym *m);

/* The i-th arena slot: its usable pools (ntotalpools) and base address, or -1 when the slot is unused. */
int pab_pym_arena(const pab_pym *m, size_t i, uintptr_t *base);
size_t pab_pym_arena_slots(const pab_pym *m);

#endif

/* pab_freelist.h — CPython 3.11/3.12's per-type free lists over the object layer (docs/cpython-facts.md "Free lists"):
 * a reuse takes a parked object and makes no allocator call; a free parks the object while its list has room.
 *
 * Counting (docs/design.md §5, ops_per_s is object-level): every create and every destroy is one op in the heap's tally,
 * whether the free list or the layer serves it, so layers and freelist=on/off compare per Python request.
 * A parked object is dead (not live bytes).  Allocator calls are what pab_heap_calls_of() counts: a hit adds none.
 * Caps: float 100; tuples of length 1..20, 2000 per length; list headers 80 (the item array is never kept);
 * dicts 80; 8-slot str-key dict keys 80.  Tuples of length 20 follow 3.12.5+ (parked and reused); with
 * PAB_FL_PY311 they are parked but never reused, the 3.11 bug (pop tests size < 20, push size <= 20). */
#ifndef PAB_FREELIST_H
#define PAB_FREELIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pab_pyobj.h"

typedef enum { PAB_FL_FLOAT, PAB_FL_TUPLE, PAB_FL_LIST, PAB_FL_DICT, PAB_FL_KEYS, PAB_FL_KINDS } pab_fl_kind;
#define PAB_FL_TUPLE_MAX 20 /* PyTuple_MAXSAVESIZE */

enum {
    PAB_FL_OFF = 1 << 0,   /* no free lists: every create and destroy reaches the layer */
    PAB_FL_PY311 = 1 << 1, /* 3.11's tuple lists: 20-tuples parked, never reused */
};

typedef struct pab_freelists pab_freelists;
pab_freelists *pab_fl_new(pab_heap *h, unsigned flags); /* NULL when out of memory */
void pab_fl_delete(pab_freelists *f);                   /* clears the lists (frees what they hold) first */

/* Bytes the allocator receives for one object (3.11, 64-bit; GC types include their 16-byte header):
 * float 24; tuple of len 40 + 8 len; list header 56; dict 64; 8-slot str-key dict keys 120. */
size_t pab_fl_size(pab_fl_kind k, size_t len);
/* Create an object of kind k (len: the tuple's length, else ignored): NULL only when the layer fails. */
void *pab_fl_alloc(pab_freelists *f, pab_fl_kind k, size_t len);
/* Destroy it: parked when its list has room, else freed to the layer. */
void pab_fl_free(pab_freelists *f, pab_fl_kind k, size_t len, void *p);
/* Empty every list into the layer (a full collection does this in 3.11/3.12); no object-level ops. */
void pab_fl_clear(pab_freelists *f);

typedef struct {
    uint64_t hits;      /* creates served by a free list */
    uint64_t misses;    /* creates that reached the layer */
    uint64_t parked;    /* destroys kept by a free list */
    uint64_t released;  /* destroys that reached the layer (list full, off, or cleared) */
    size_t held;        /* objects parked now */
} pab_fl_stats;
pab_fl_stats pab_fl_stat(const pab_freelists *f);
size_t pab_fl_cap(pab_fl_kind k, size_t len); /* the list's cap for that kind (0: no list) */

/* Tests only: when non-zero, the freelist and gc_generations workloads flip one byte of one live object per
 * cycle, so their checksums must fail the case.  Never set in production. */
extern int pab_test_corrupt;

#endif

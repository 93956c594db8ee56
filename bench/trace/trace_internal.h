/* trace_internal.h — what the trace loader's files share: growable arrays in anonymous memory, the renaming pass
 * (addresses in global order -> dense block ids, records, marks, live bytes) and the loader's debug checks. */
#ifndef PAB_TRACE_INTERNAL_H
#define PAB_TRACE_INTERNAL_H

#include <stdio.h>
#include <stdlib.h>

#include "trace_format.h"

#include "pab_assert.h" /* the loader's runtime invariants: pab_assert_internal, Debug and sanitizer builds only */

/* A growable array of bytes in its own anonymous mapping (mremap grows it). */
typedef struct { void *p; size_t len, cap; } pab_mvec;
int pab_mvec_reserve(pab_mvec *v, size_t cap);          /* 0, or -1 when the kernel refuses */
void *pab_mvec_push(pab_mvec *v, size_t n);              /* n more bytes at the end (zeroed), NULL on failure */
void pab_mvec_free(pab_mvec *v);
#define PAB_MVEC_AT(v, type, i) (((type *)(v)->p)[i])

/* Where each live block's address maps to its id.  pab_blocks_at: the id slot of addr (0: no block there); with
 * create it makes room, else NULL where there is none.  The pointer is good until the next call. */
typedef struct pab_blocks pab_blocks;
pab_blocks *pab_blocks_new(void);
uint32_t *pab_blocks_at(pab_blocks *b, uint64_t addr, bool create);
void pab_blocks_delete(pab_blocks *b);

/* One call or mark in global order, as the loader decoded it; `stream` is the recording thread (dense, in file
 * order).  op PAB_ITEM_RFREE: the first half of a realloc that moved its block (the old block is given up). */
enum { PAB_ITEM_RFREE = 15 };
typedef struct {
    unsigned op, align_log2, name_len;
    uint32_t stream;
    uint64_t ptr, arg, size, t_ns; /* ptr: the block returned or freed; arg: realloc's old block */
    const char *name;
} pab_item;

typedef struct pab_renamer pab_renamer;
pab_renamer *pab_renamer_new(uint64_t events_hint, pab_trace_counts *count_only); /* count_only: keep no records */
int pab_renamer_add(pab_renamer *r, const pab_item *it);  /* 0, or -1 when out of memory or threads */
/* Moves the records and marks into t (t->h.events, max_id, live and free counts, threads, marks). */
int pab_renamer_finish(pab_renamer *r, pab_trace *t);
void pab_renamer_delete(pab_renamer *r);

/* Replays the live set of t's records; 0, or -1 with one line (used on every version-1 file, and on what the
 * renaming pass made in Debug builds). */
int pab_trace_check_records(const pab_trace *t, char *err, size_t errlen, const char *path);
int pab_trace_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif

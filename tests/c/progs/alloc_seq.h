/* alloc_seq.h — the known allocation sequence of tests/c/progs/alloc_seq.c, shared with the test that records
 * it: each step acts on a slot; the test checks the trace holds exactly these calls, in order. */
#ifndef PAB_ALLOC_SEQ_H
#define PAB_ALLOC_SEQ_H
#include <stddef.h>

#include "trace_format.h"

#define PAB_SEQ_MARK 777777u     /* malloc(MARK) + free: the sequence starts after it */
#define PAB_SEQ_THREAD_SIZE 4242u /* each of PAB_SEQ_THREADS threads mallocs and frees it PAB_SEQ_PER_THREAD times */
#define PAB_SEQ_THREADS 2
#define PAB_SEQ_PER_THREAD 5000
#define PAB_SEQ_CHILD_SIZE 5151u  /* the forked child mallocs and frees it PAB_SEQ_CHILD times */
#define PAB_SEQ_CHILD 10

typedef struct { int op, slot; size_t size, align; } pab_seq_step;

/* size: bytes (calloc: 3 elements of size/3); align: aligned ops. valloc/pvalloc use the page size. */
static const pab_seq_step pab_seq[] = {
    {PAB_OP_MALLOC, 0, 100, 0},         {PAB_OP_CALLOC, 1, 3000, 0},
    {PAB_OP_REALLOC, 0, 5000, 0},       {PAB_OP_POSIX_MEMALIGN, 2, 200, 64},
    {PAB_OP_ALIGNED_ALLOC, 3, 256, 128}, {PAB_OP_MEMALIGN, 4, 100, 32},
    {PAB_OP_VALLOC, 5, 10, 0},          {PAB_OP_PVALLOC, 6, 10, 0},
    {PAB_OP_MALLOC, 7, 1 << 20, 0},     {PAB_OP_FREE, 1, 0, 0},
    {PAB_OP_REALLOC, 7, 1 << 16, 0},    {PAB_OP_MALLOC, 1, 48, 0},
    {PAB_OP_FREE, 0, 0, 0},             {PAB_OP_REALLOC, 8, 64, 0}, /* realloc(NULL, 64) */
    {PAB_OP_FREE, 2, 0, 0},             {PAB_OP_FREE, 3, 0, 0},
    {PAB_OP_MALLOC, 9, 2 << 20, 0},     {PAB_OP_FREE, 9, 0, 0},
    {PAB_OP_FREE, 4, 0, 0},             {PAB_OP_FREE, 6, 0, 0},
    {PAB_OP_FREE, 7, 0, 0},             {PAB_OP_FREE, 8, 0, 0},
    /* slots 1 (48 B) and 5 (valloc 10 B) are never freed */
};
#define PAB_SEQ_KEPT (48u + 10u) /* live bytes the sequence leaves: mark seq_done minus mark seq_start */
#define PAB_SEQ_STEPS (sizeof pab_seq / sizeof pab_seq[0])
#define PAB_SEQ_SLOTS 10

#endif

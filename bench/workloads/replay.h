/* replay.h — what the replay workload's two files share (replay.c: parameters, set-up, one event, the serial
 * cycle; replay_threads.c: each recorded thread on its own thread, with sync points and a barrier at the mark). */
#ifndef PAB_REPLAY_H
#define PAB_REPLAY_H

#include <pthread.h>

#include "pab_pyobj.h"
#include "pab_workload.h"
#include "trace_format.h"

#define REPLAY_OBJ (1ULL << 63) /* in blk.n: the block went through the object layer (pymalloc model) */
#define REPLAY_MAX_THREADS 256

struct blk { void *p; uint64_t n; }; /* n: bytes requested, | REPLAY_OBJ */

/* What replaying one event needs; in thread_mode=recorded every thread has its own (err), sharing the rest. */
struct rx {
    struct blk *b;            /* slot per block id */
    int touch;
    pab_heap *heap;           /* layer=pymalloc on a trace that holds the small objects: 1..512 B go here */
    pthread_mutex_t *gil;     /* held around the object layer when several threads replay (CPython's GIL) */
    char err[256];
};

int replay_event(struct rx *x, const pab_trace_rec *r, struct pab_tally *t); /* 0, or -1 with x->err */
int replay_drop(struct rx *x, uint32_t id, struct pab_tally *t);              /* free a live block (no op counted) */

/* thread_mode=recorded: the plan (per-thread records, sync points) and the threads, made in set-up. */
struct replay_mt;
/* The plan: NULL after pab_fail.  Ids are renamed so a slot is only ever reused by the thread that freed it. */
struct replay_mt *replay_mt_plan(pab_ctx *c, const pab_trace *t, uint64_t mark_at, uint64_t window);
uint64_t replay_mt_max_id(const struct replay_mt *m);             /* the renamed ids are 1 .. this */
int replay_mt_start(pab_ctx *c, struct replay_mt *m, const struct rx *proto); /* the threads; 0 or -1 */
int replay_mt_cycle(pab_ctx *c, struct replay_mt *m, struct pab_tally *t);    /* calls pab_freed at the mark */
void replay_mt_delete(struct replay_mt *m);

#endif

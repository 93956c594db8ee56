/* threaded_churn: T threads each doing small_churn on their own live set through malloc (C-extension threads,
 * free-threaded Python); `cross` percent of replaced objects are handed to the next thread, which frees them. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "pab_churn.h"

#define BATCH 64 /* objects handed over, and drained, per lock */

/* Test hook: called once per cycle by thread 0 with one of its live objects, before the frees. */
void (*pab_hook_threaded_churn)(void *obj, size_t n);

struct inbox { pthread_mutex_t mu; pab_slot *v; size_t n, cap; }; /* filled by the previous thread */

struct worker {
    struct tc *tc;
    int id;
    pthread_t th;
    pab_churn ch;                 /* its own live set and heap (layer=malloc: one per thread) */
    struct pab_tally tally;       /* this cycle's counts, summed into the case's after the join */
    pab_slot out[BATCH];
    size_t nout;
    struct inbox in;
};

struct tc {
    struct worker *w;
    int nthreads;
    uint64_t cross;
    atomic_int producing; /* threads still churning (and so still handing objects over) */
};

static const pab_param params[] = {
    {"threads", PAB_P_INT, "2", NULL, "threads, each with its own live set (capped at the online CPUs)", 1, 1024},
    PAB_CHURN_PARAMS("50K", "100K", "each thread's "),
    {"cross", PAB_P_INT, "25", NULL, "percent of replaced objects freed by the next thread instead of their own", 0, 100},
    {NULL},
};

static int setup(pab_ctx *c, void *state) {
    struct tc *s = state;
    s->nthreads = pab_threads_for(c, pab_int(c, "threads"));
    s->cross = (uint64_t)pab_int(c, "cross");
    pab_churn proto = {0};
    pab_churn_params(&proto, c);
    uint64_t per = pab_churn_need(&proto) + (proto.steps + BATCH) * sizeof(pab_slot);
    if (!pab_need(c, (uint64_t)s->nthreads * per, "live sets of all threads")) return -1;
    if (!(s->w = pab_scratch((size_t)s->nthreads * sizeof *s->w))) return pab_enomem(c, (uint64_t)s->nthreads * sizeof *s->w);
    for (int t = 0; t < s->nthreads; t++) {
        struct worker *w = &s->w[t];
        *w = (struct worker){.tc = s, .id = t, .ch = proto};
        w->ch.rng.s = pab_seed(c) + (uint64_t)t * 0x632be59bd9b4e019ULL;
        w->ch.salt = (uint64_t)t << 56;
        w->in.cap = proto.steps + BATCH;
        pthread_mutex_init(&w->in.mu, NULL);
        if (!(w->ch.heap = pab_heap_new(PAB_LAYER_MALLOC, &w->tally)))
            return pab_fail(c, "threaded_churn: cannot create the object layer");
        if (!(w->ch.live = pab_scratch(proto.n * sizeof *w->ch.live)) || !(w->in.v = pab_scratch(w->in.cap * sizeof *w->in.v)))
            return pab_enomem(c, proto.n * sizeof *w->ch.live);
    }
    return 0;
}

static void hand_over(struct worker *w) {
    struct inbox *in = &w->tc->w[(w->id + 1) % w->tc->nthreads].in;
    pthread_mutex_lock(&in->mu);
    memcpy(in->v + in->n, w->out, w->nout * sizeof *w->out); /* cap >= steps + BATCH: one producer per inbox */
    in->n += w->nout;
    pthread_mutex_unlock(&in->mu);
    w->nout = 0;
}

static int drain(struct worker *w) {
    pab_slot got[BATCH];
    for (;;) {
        pthread_mutex_lock(&w->in.mu);
        size_t k = w->in.n < BATCH ? w->in.n : BATCH;
        w->in.n -= k;
        memcpy(got, w->in.v + w->in.n, k * sizeof *got);
        pthread_mutex_unlock(&w->in.mu);
        if (!k) return 0;
        for (size_t i = 0; i < k; i++)
            if (pab_churn_drop(&w->ch, &got[i])) return -1;
    }
}

/* Replace a live object; with probability `cross` its free goes to the next thread. */
static int replace(void *user, pab_slot *o) {
    struct worker *w = user;
    if (w->tc->nthreads > 1 && pab_below(&w->ch.rng, 100) < w->tc->cross) {
        w->out[w->nout++] = *o;
        o->p = NULL;
        if (w->nout == BATCH) hand_over(w);
    } else if (pab_churn_drop(&w->ch, o)) return -1;
    return pab_churn_put(&w->ch, o);
}

static int churn(struct worker *w) {
    if (pab_churn_refill(&w->ch)) return -1;
    for (uint64_t k = 0; k < w->ch.steps; k++)
        if (pab_churn_step(&w->ch, replace, w) || (k % BATCH == BATCH - 1 && drain(w))) return -1;
    if (w->nout) hand_over(w);
    if (w->id == 0 && pab_hook_threaded_churn) pab_hook_threaded_churn(w->ch.live[0].p, w->ch.live[0].size);
    return 0;
}

static void *run(void *arg) {
    struct worker *w = arg;
    int rc = churn(w);
    atomic_fetch_sub(&w->tc->producing, 1);
    while (!rc && atomic_load(&w->tc->producing) > 0) { /* keep the inbox short while the others finish */
        rc = drain(w);
        sched_yield();
    }
    if (!rc) rc = drain(w); /* every hand-over is done */
    if (!rc) pab_churn_release(&w->ch);
    return NULL;
}

/* After the join: per-thread counts into the case's tally (the peak is the sum of per-thread peaks: a bound). */
static int gather(pab_ctx *c, struct tc *s) {
    struct pab_tally *t = pab_tally(c), sum = {0};
    int rc = 0;
    for (int i = 0; i < s->nthreads; i++) {
        struct worker *w = &s->w[i];
        sum.ops += w->tally.ops;
        sum.live += w->tally.live;
        sum.live_peak += w->tally.live_peak;
        w->tally = (struct pab_tally){0};
        if (w->ch.err && !rc) rc = pab_churn_report(c, &w->ch, "threaded_churn");
        w->ch.err = 0;
    }
    if (t->live + sum.live_peak > t->live_peak) t->live_peak = t->live + sum.live_peak;
    t->ops += sum.ops;
    t->live += sum.live;
    return rc;
}

static int cycle(pab_ctx *c, void *state) {
    struct tc *s = state;
    int started = 0;
    atomic_store(&s->producing, s->nthreads);
    for (; started < s->nthreads; started++)
        if (pthread_create(&s->w[started].th, NULL, run, &s->w[started])) break;
    atomic_fetch_sub(&s->producing, s->nthreads - started); /* threads that never started hand nothing over */
    for (int t = 0; t < started; t++) pthread_join(s->w[t].th, NULL);
    if (started < s->nthreads) return pab_fail(c, "threaded_churn: cannot start thread %d of %d", started + 1, s->nthreads);
    if (gather(c, s)) return -1;
    pab_freed(c);
    return 0;
}

static void teardown(pab_ctx *c, void *state) {
    struct tc *s = state;
    for (int t = 0; s->w && t < s->nthreads; t++) {
        struct worker *w = &s->w[t];
        pab_churn_free(&w->ch);
        pab_scratch_free(w->ch.live, w->ch.n * sizeof *w->ch.live);
        pab_scratch_free(w->in.v, w->in.cap * sizeof *w->in.v);
        pthread_mutex_destroy(&w->in.mu);
        if (w->ch.heap) pab_heap_delete(w->ch.heap);
    }
    pab_scratch_free(s->w, (size_t)s->nthreads * sizeof *s->w);
}

PAB_WORKLOAD(threaded_churn,
             .shows = "free-threaded Python / C-extension threads: malloc under contention and cross-thread frees",
             .does = "`threads` threads churn their own live sets through malloc; `cross` percent of replaced objects are freed by the next thread",
             .params = params, .state_size = sizeof(struct tc),
             .setup = setup, .cycle = cycle, .teardown = teardown);

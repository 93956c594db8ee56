/* threaded_churn: T threads each doing small_churn on their own live set through malloc (C-extension threads,
 * free-threaded Python); `cross` percent of replaced objects are handed to the next thread, which frees them. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

#include "pab_pyobj.h"

#define BATCH 64 /* objects handed over, and drained, per lock */

/* Test hook: called once per cycle by thread 0 with one of its live objects, before the frees. */
void (*pab_hook_threaded_churn)(void *obj, size_t n);

struct slot { void *p; uint64_t tag; size_t size; };
struct inbox { pthread_mutex_t mu; struct slot *v; size_t n, cap; }; /* filled by the previous thread */

struct worker {
    struct tc *tc;
    int id;
    pthread_t th;
    pab_heap *heap;               /* layer=malloc: one per thread, as the object layer wants */
    struct pab_tally tally;       /* this cycle's counts, summed into the case's after the join */
    struct slot *live, temp[8], out[BATCH];
    size_t nout;
    struct inbox in;
    pab_rng rng;
    uint64_t gen;
    int err;                      /* 0, or an errno-like code: ENOMEM / -1 checksum */
    size_t err_size;
};

struct tc {
    struct worker *w;
    int nthreads;
    uint64_t n, steps, young, cross, keep;
    const pab_mix *mix;
    atomic_int producing; /* threads still churning (and so still handing objects over) */
};

static const pab_param params[] = {
    {"threads", PAB_P_INT, "2", NULL, "threads, each with its own live set (capped at the online CPUs)", 1, 1024},
    {"live", PAB_P_SIZE, "50K", NULL, "objects in each thread's live set", 1, 0},
    {"ops", PAB_P_SIZE, "100K", NULL, "churn steps per thread per cycle (a burst of temporaries or a replacement)", 0, 0},
    {"young", PAB_P_INT, "80", NULL, "percent of steps that are short-lived temporaries, freed LIFO", 0, 100},
    {"cross", PAB_P_INT, "25", NULL, "percent of replaced objects freed by the next thread instead of their own", 0, 100},
    {"survivors", PAB_P_INT, "0", NULL, "keep 1 in k objects alive after the cycle (0: none)", 0, 0},
    PAB_PARAM_MIX,
    {NULL},
};

static int setup(pab_ctx *c, void *state) {
    struct tc *s = state;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int64_t want = pab_int(c, "threads");
    s->nthreads = (int)(cpus > 0 && want > cpus ? cpus : want);
    pab_set_threads(c, s->nthreads);
    s->n = pab_size(c, "live");
    s->steps = pab_size(c, "ops");
    s->young = (uint64_t)pab_int(c, "young");
    s->cross = (uint64_t)pab_int(c, "cross");
    s->keep = (uint64_t)pab_int(c, "survivors");
    s->mix = pab_mix_of_case(c);
    uint64_t per = s->n * (sizeof(struct slot) + 2 * (uint64_t)pab_mix_mean(s->mix) + 32) + (s->steps + BATCH) * sizeof(struct slot);
    if (!pab_need(c, (uint64_t)s->nthreads * per, "live sets of all threads")) return -1;
    if (!(s->w = pab_scratch((size_t)s->nthreads * sizeof *s->w))) return pab_enomem(c, (uint64_t)s->nthreads * sizeof *s->w);
    for (int t = 0; t < s->nthreads; t++) {
        struct worker *w = &s->w[t];
        *w = (struct worker){.tc = s, .id = t, .rng = {pab_seed(c) + (uint64_t)t * 0x632be59bd9b4e019ULL}};
        w->in.cap = s->steps + BATCH;
        pthread_mutex_init(&w->in.mu, NULL);
        if (!(w->heap = pab_heap_new(PAB_LAYER_MALLOC, &w->tally))) return pab_fail(c, "threaded_churn: cannot create the object layer");
        if (!(w->live = pab_scratch(s->n * sizeof *w->live)) || !(w->in.v = pab_scratch(w->in.cap * sizeof *w->in.v)))
            return pab_enomem(c, s->n * sizeof *w->live);
    }
    return 0;
}

static int put(struct worker *w, struct slot *o) {
    o->size = pab_mix_draw(w->tc->mix, &w->rng);
    o->tag = pab_mix64(++w->gen ^ ((uint64_t)w->id << 56));
    if (!(o->p = pab_obj_alloc(w->heap, o->size))) { w->err = 1; w->err_size = o->size; return -1; }
    pab_tag(o->p, o->size, o->tag);
    return 0;
}

static int drop(struct worker *w, struct slot *o) {
    if (!o->p) return 0;
    if (!pab_tag_ok(o->p, o->size, o->tag)) { w->err = -1; w->err_size = o->size; return -1; }
    pab_obj_free(w->heap, o->p, o->size);
    o->p = NULL;
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
    struct slot got[BATCH];
    for (;;) {
        pthread_mutex_lock(&w->in.mu);
        size_t k = w->in.n < BATCH ? w->in.n : BATCH;
        w->in.n -= k;
        memcpy(got, w->in.v + w->in.n, k * sizeof *got);
        pthread_mutex_unlock(&w->in.mu);
        if (!k) return 0;
        for (size_t i = 0; i < k; i++)
            if (drop(w, &got[i])) return -1;
    }
}

/* Replace a live object; with probability `cross` its free goes to the next thread. */
static int replace(struct worker *w, struct slot *o) {
    if (w->tc->nthreads > 1 && pab_below(&w->rng, 100) < w->tc->cross) {
        w->out[w->nout++] = *o;
        o->p = NULL;
        if (w->nout == BATCH) hand_over(w);
    } else if (drop(w, o)) return -1;
    return put(w, o);
}

static int churn(struct worker *w) {
    const struct tc *s = w->tc;
    for (uint64_t i = 0; i < s->n; i++) /* last cycle's survivors die first */
        if (drop(w, &w->live[i]) || put(w, &w->live[i])) return -1;
    for (uint64_t k = 0; k < s->steps; k++) {
        if (pab_below(&w->rng, 100) < s->young) {
            int depth = 1 + (int)pab_below(&w->rng, 8);
            for (int d = 0; d < depth; d++)
                if (put(w, &w->temp[d])) return -1;
            for (int d = depth - 1; d >= 0; d--)
                if (drop(w, &w->temp[d])) return -1;
        } else if (replace(w, &w->live[pab_below(&w->rng, s->n)])) return -1;
        if (k % BATCH == BATCH - 1 && drain(w)) return -1;
    }
    if (w->nout) hand_over(w);
    if (w->id == 0 && pab_hook_threaded_churn) pab_hook_threaded_churn(w->live[0].p, w->live[0].size);
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
    for (uint64_t i = 0; !rc && i < w->tc->n; i++)
        if (!(w->tc->keep && i % w->tc->keep == 0)) rc = drop(w, &w->live[i]);
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
        if (w->err && !rc)
            rc = w->err > 0 ? pab_enomem(c, w->err_size)
                            : pab_fail(c, "threaded_churn: checksum mismatch in a %zu-byte object: the memory was overwritten", w->err_size);
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
        for (uint64_t i = 0; w->live && i < s->n; i++) drop(w, &w->live[i]);
        pab_scratch_free(w->live, s->n * sizeof *w->live);
        pab_scratch_free(w->in.v, w->in.cap * sizeof *w->in.v);
        pthread_mutex_destroy(&w->in.mu);
        if (w->heap) pab_heap_delete(w->heap);
    }
    pab_scratch_free(s->w, (size_t)s->nthreads * sizeof *s->w);
}

PAB_WORKLOAD(threaded_churn,
             .shows = "free-threaded Python / C-extension threads: malloc under contention and cross-thread frees",
             .does = "`threads` threads churn their own live sets through malloc; `cross` percent of replaced objects are freed by the next thread",
             .params = params, .state_size = sizeof(struct tc),
             .setup = setup, .cycle = cycle, .teardown = teardown);

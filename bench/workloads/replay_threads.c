/* replay_threads.c — replay's thread_mode=recorded: each recorded thread replays its own records on its own thread
 * (thread 0 on the harness's); a free or realloc of a block another thread made waits for that (sync points, as
 * glibc's trace_run), and every thread stops at the mark while the harness reads "after free". */
#define _GNU_SOURCE
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/mman.h>

#include "replay.h"

/* A spin-wait's pause: the CPU's hint where it has one, nothing elsewhere. */
static inline void pab_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

/* Before record `at` of its thread, a thread waits until thread `thread` has done `need` of its records. */
struct dep { uint64_t at, need; uint32_t thread; };

struct worker {
    struct replay_mt *m;
    pthread_t th;
    struct rx x;
    pab_trace_rec *rec;
    struct dep *dep;
    uint64_t *seen;       /* per thread: the progress this one last read there (a sync point below it costs nothing) */
    uint64_t n, ndep, di, mark_at;
    struct pab_tally tally;
    int rc;
    _Atomic uint64_t done __attribute__((aligned(64))); /* records of this cycle done, published */
    char pad[56];
};

struct replay_mt {
    struct worker *w;
    uint32_t n;
    bool started;
    void *mem;
    size_t mem_len;
    uint64_t max_id, live_peak;
    pthread_mutex_t mu;
    pthread_cond_t go, back;  /* workers wait on go (a new cycle, the mark passed); the harness's thread on back */
    uint64_t gen, released;   /* under mu */
    uint32_t arrived, finished;
    bool quit;
    _Atomic int abort;
};

/* ---- the plan */
/* A per-thread LIFO of free ids, threaded through `next` (grown by mremap): an id freed on a thread is only ever
 * handed out again on that thread, so two threads never race for a slot. */
struct pools { uint32_t *head, *next; size_t cap; uint64_t max; };

static int pool_pop(struct pools *p, uint16_t th, uint32_t *id) {
    if (p->head[th]) {
        *id = p->head[th];
        p->head[th] = p->next[*id];
        return 0;
    }
    if (p->max + 1 >= p->cap) {
        size_t cap = p->cap * 2;
        void *q = mremap(p->next, p->cap * 4, cap * 4, MREMAP_MAYMOVE);
        if (q == MAP_FAILED) return -1;
        p->next = q;
        p->cap = cap;
    }
    *id = (uint32_t)++p->max;
    return 0;
}

static void pool_push(struct pools *p, uint16_t th, uint32_t id) {
    p->next[id] = p->head[th];
    p->head[th] = id;
}

/* Producer of each block: thread << 48 | (its record index + 1); 0 none.  Returns the dependency of record r, if any. */
static bool depends(const uint64_t *prod, const pab_trace_rec *r, struct dep *d) {
    uint32_t x = r->op == PAB_OP_FREE ? r->id : r->op == PAB_OP_REALLOC ? r->old : 0;
    uint64_t p = x ? prod[x] : 0;
    if (!p || (p >> 48) == r->thread) return false;
    *d = (struct dep){0, p & ((1ULL << 48) - 1), (uint32_t)(p >> 48)};
    return true;
}

static void produce(uint64_t *prod, const pab_trace_rec *r, uint64_t local) {
    if (r->op == PAB_OP_FREE) { if (r->id) prod[r->id] = 0; return; }
    if (r->op == PAB_OP_REALLOC && !r->id) { if (r->old && !r->size) prod[r->old] = 0; return; }
    if (r->id) prod[r->id] = (uint64_t)r->thread << 48 | (local + 1);
}

/* Renames r's ids for thread th (new ids from th's pool, a freed id back to it). */
static int rename_rec(struct pools *p, uint32_t *map, pab_trace_rec *r) {
    uint16_t th = r->thread;
    if (r->op == PAB_OP_FREE) {
        if (r->id) pool_push(p, th, r->id = map[r->id]);
        return 0;
    }
    if (r->op == PAB_OP_REALLOC && r->old) {
        r->old = map[r->old];
        if (r->id) r->id = r->old;
        else if (!r->size) pool_push(p, th, r->old);
        return 0;
    }
    if (!r->id) return 0;
    uint32_t n;
    if (pool_pop(p, th, &n)) return -1;
    map[r->id] = n;
    r->id = n;
    return 0;
}

/* One pass over the records in global order, twice: first counting records and sync points per thread, then
 * (fill) writing them.  Sync points: a free or realloc of another thread's block waits for it; and at every
 * multiple of `window` calls, each thread waits until every other has done what it did before the previous
 * multiple, so no thread runs more than about two windows ahead of the recorded interleaving. */
struct scan {
    uint64_t *prod, *nrec, *ndep, *mark, *snap, *prev; /* prod per id; the rest per thread */
    uint32_t *map;
    struct pools p;
};

static void add_dep(struct replay_mt *m, struct scan *s, bool fill, uint32_t th, struct dep d) {
    if (!fill) { s->ndep[th]++; return; }
    struct worker *w = &m->w[th];
    d.at = s->nrec[th];
    w->dep[w->ndep++] = d;
}

static int scan(const pab_trace *t, struct replay_mt *m, struct scan *s, bool fill, uint64_t window, uint64_t mark_at) {
    uint32_t nt = t->h.threads;
    memset(s->prod, 0, (t->h.max_id + 1) * 8);
    memset(s->nrec, 0, nt * 8);
    memset(s->snap, 0, nt * 8);
    memset(s->prev, 0, nt * 8);
    struct dep d;
    for (uint64_t i = 0; i <= t->h.events; i++) {
        if (i == mark_at) memcpy(s->mark, s->nrec, nt * 8);
        if (i == t->h.events) break;
        if (window && i && i % window == 0) {
            for (uint32_t u = 0; u < nt; u++)
                if (s->snap[u] > s->prev[u]) /* u moved on in the window before last: the others wait for that */
                    for (uint32_t th = 0; th < nt; th++)
                        if (th != u) add_dep(m, s, fill, th, (struct dep){0, s->snap[u], u});
            memcpy(s->prev, s->snap, nt * 8);
            memcpy(s->snap, s->nrec, nt * 8);
        }
        pab_trace_rec r = t->rec[i];
        if (depends(s->prod, &r, &d)) add_dep(m, s, fill, r.thread, d);
        produce(s->prod, &r, s->nrec[r.thread]);
        if (fill) {
            if (rename_rec(&s->p, s->map, &r)) return -1;
            m->w[r.thread].rec[m->w[r.thread].n++] = r;
        }
        s->nrec[r.thread]++;
    }
    return 0;
}

static void scan_free(struct scan *s, const pab_trace *t) {
    size_t ids = t->h.max_id + 1, nt = t->h.threads;
    pab_scratch_free(s->prod, ids * 8);
    pab_scratch_free(s->map, ids * 4);
    pab_scratch_free(s->p.next, s->p.cap * 4);
    pab_scratch_free(s->p.head, nt * 4);
    pab_scratch_free(s->nrec, nt * 5 * 8); /* nrec, ndep, mark, snap, prev: one block */
}

struct replay_mt *replay_mt_plan(pab_ctx *c, const pab_trace *t, uint64_t mark_at, uint64_t window) {
    uint32_t nt = t->h.threads;
    size_t ids = t->h.max_id + 1;
    struct scan s = {.prod = pab_scratch(ids * 8), .nrec = pab_scratch(nt * 5 * 8), .map = pab_scratch(ids * 4),
                     .p = {pab_scratch(nt * 4), pab_scratch(ids * 8), ids * 2, 0}};
    struct replay_mt *m = pab_scratch(sizeof *m);
    if (!m || !s.prod || !s.nrec || !s.map || !s.p.head || !s.p.next) {
        scan_free(&s, t);
        pab_enomem(c, ids * 24);
        return NULL;
    }
    s.ndep = s.nrec + nt;
    s.mark = s.ndep + nt;
    s.snap = s.mark + nt;
    s.prev = s.snap + nt;
    scan(t, m, &s, false, window, mark_at);
    uint64_t deps = 0;
    for (uint32_t th = 0; th < nt; th++) deps += s.ndep[th];
    m->mem_len = nt * sizeof(struct worker) + (size_t)nt * nt * 8 + t->h.events * sizeof(pab_trace_rec) +
                 deps * sizeof(struct dep);
    if (!(m->mem = pab_scratch(m->mem_len))) {
        scan_free(&s, t);
        pab_enomem(c, m->mem_len);
        return NULL;
    }
    m->w = m->mem;
    m->n = nt;
    char *at = (char *)(m->w + nt);
    for (uint32_t th = 0; th < nt; th++) {
        m->w[th] = (struct worker){.m = m, .seen = (uint64_t *)at};
        at += nt * 8;
    }
    for (uint32_t th = 0; th < nt; th++) {
        m->w[th].rec = (pab_trace_rec *)at;
        at += s.nrec[th] * sizeof(pab_trace_rec);
    }
    for (uint32_t th = 0; th < nt; th++) {
        m->w[th].dep = (struct dep *)at;
        at += s.ndep[th] * sizeof(struct dep);
    }
    int rc = scan(t, m, &s, true, window, mark_at);
    for (uint32_t th = 0; th < nt; th++) m->w[th].mark_at = s.mark[th];
    m->max_id = s.p.max;
    m->live_peak = t->h.live_peak_bytes;
    scan_free(&s, t);
    if (rc) {
        pab_enomem(c, ids * 8);
        replay_mt_delete(m);
        return NULL;
    }
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->go, NULL);
    pthread_cond_init(&m->back, NULL);
    return m;
}

uint64_t replay_mt_max_id(const struct replay_mt *m) { return m->max_id; }

/* ---- running: records [from, to) of one thread, waiting at its sync points.  The other thread's progress is read
 * (its cache line pulled over) only when what this thread last saw there is not enough. */
static int wait_for(struct worker *w, uint32_t th, uint64_t want) {
    if (w->seen[th] >= want) return 0;
    struct replay_mt *m = w->m;
    for (unsigned k = 0; (w->seen[th] = atomic_load_explicit(&m->w[th].done, memory_order_acquire)) < want; k++) {
        if (atomic_load_explicit(&m->abort, memory_order_relaxed)) return -2;
        if (k < 64) pab_cpu_relax();
        else sched_yield();
    }
    return 0;
}

static int run(struct worker *w, uint64_t from, uint64_t to) {
    struct replay_mt *m = w->m;
    for (uint64_t i = from; i < to; i++) {
        for (; w->di < w->ndep && w->dep[w->di].at == i; w->di++)
            if (wait_for(w, w->dep[w->di].thread, w->dep[w->di].need)) return -2;
        if (replay_event(&w->x, &w->rec[i], &w->tally)) {
            atomic_store(&m->abort, 1);
            return -1;
        }
        atomic_store_explicit(&w->done, i + 1, memory_order_release);
    }
    return 0;
}

static void *worker_main(void *arg) {
    struct worker *w = arg;
    struct replay_mt *m = w->m;
    uint64_t seen = 0;
    for (;;) {
        pthread_mutex_lock(&m->mu);
        while (m->gen == seen && !m->quit) pthread_cond_wait(&m->go, &m->mu);
        seen = m->gen;
        bool quit = m->quit;
        pthread_mutex_unlock(&m->mu);
        if (quit) return NULL;
        int rc = run(w, 0, w->mark_at);
        pthread_mutex_lock(&m->mu);
        m->arrived++;
        pthread_cond_signal(&m->back);
        while (!rc && m->released != seen && !atomic_load(&m->abort)) pthread_cond_wait(&m->go, &m->mu);
        pthread_mutex_unlock(&m->mu);
        if (!rc) rc = atomic_load(&m->abort) ? -2 : run(w, w->mark_at, w->n);
        w->rc = rc;
        pthread_mutex_lock(&m->mu);
        m->finished++;
        pthread_cond_signal(&m->back);
        pthread_mutex_unlock(&m->mu);
    }
}

int replay_mt_start(pab_ctx *c, struct replay_mt *m, const struct rx *proto) {
    for (uint32_t th = 0; th < m->n; th++) m->w[th].x = *proto;
    m->started = true;
    for (uint32_t th = 1; th < m->n; th++)
        if (pthread_create(&m->w[th].th, NULL, worker_main, &m->w[th])) {
            m->w[th].th = 0;
            replay_mt_delete(m);
            return pab_fail(c, "replay: cannot start thread %u of %u", th, m->n);
        }
    return 0;
}

static void wait_back(struct replay_mt *m, uint32_t *count, uint32_t want) {
    pthread_mutex_lock(&m->mu);
    while (*count < want) pthread_cond_wait(&m->back, &m->mu);
    pthread_mutex_unlock(&m->mu);
}

int replay_mt_cycle(pab_ctx *c, struct replay_mt *m, struct pab_tally *t) {
    for (uint32_t th = 0; th < m->n; th++) {
        struct worker *w = &m->w[th];
        w->di = 0;
        w->rc = 0;
        memset(w->seen, 0, m->n * 8);
        w->tally = (struct pab_tally){0};
        atomic_store(&w->done, 0);
    }
    atomic_store(&m->abort, 0);
    pthread_mutex_lock(&m->mu);
    m->arrived = m->finished = 0;
    m->gen++;
    pthread_cond_broadcast(&m->go);
    pthread_mutex_unlock(&m->mu);
    struct worker *w0 = &m->w[0];
    int rc = run(w0, 0, w0->mark_at);
    wait_back(m, &m->arrived, m->n - 1);
    if (!rc && !atomic_load(&m->abort)) pab_freed(c); /* every thread stands at the mark */
    pthread_mutex_lock(&m->mu);
    m->released = m->gen;
    pthread_cond_broadcast(&m->go);
    pthread_mutex_unlock(&m->mu);
    if (!rc) rc = atomic_load(&m->abort) ? -2 : run(w0, w0->mark_at, w0->n);
    w0->rc = rc;
    wait_back(m, &m->finished, m->n - 1);
    for (uint32_t th = 0; th < m->n; th++) { /* the first real failure explains; -2 is a thread that stopped for it */
        struct worker *w = &m->w[th];
        if (w->rc == -1) return pab_fail(c, "%s", w->x.err);
        t->ops += w->tally.ops;
        t->live += w->tally.live;
    }
    for (uint32_t th = 0; th < m->n; th++)
        if (m->w[th].rc) return pab_fail(c, "replay: a thread stopped");
    if ((int64_t)m->live_peak > t->live_peak) t->live_peak = (int64_t)m->live_peak; /* the recorded interleaving's */
    return 0;
}

void replay_mt_delete(struct replay_mt *m) {
    if (!m) return;
    if (m->started) {
        pthread_mutex_lock(&m->mu);
        m->quit = true;
        pthread_cond_broadcast(&m->go);
        pthread_mutex_unlock(&m->mu);
        for (uint32_t th = 1; th < m->n; th++)
            if (m->w[th].th) pthread_join(m->w[th].th, NULL);
    }
    pab_scratch_free(m->mem, m->mem_len);
    pab_scratch_free(m, sizeof *m);
}

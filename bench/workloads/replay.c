/* replay: a trace recorded from a real process (`pyalloc record`) replayed call by call, each recorded thread on
 * its own thread (or all in recorded order on one), "after free" at a mark, through either Python layer. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "replay.h"

enum { TOUCH_FULL, TOUCH_FIRST, TOUCH_NONE };
enum { LAYER_RECORDED, LAYER_MALLOC, LAYER_PYMALLOC };
enum { MODE_RECORDED, MODE_SERIAL };

struct replay {
    pab_trace t;
    struct rx x;
    size_t b_bytes;
    uint64_t max_id, mark_at;  /* slots 1 .. max_id; "after free" before record mark_at */
    pthread_mutex_t gil;
    struct replay_mt *mt;      /* thread_mode=recorded on a trace of several threads */
};

static const pab_param params[] = {
    {"trace", PAB_P_STR, "", NULL, "the trace file, made by `pyalloc record` (required)", 0, 0},
    {"touch", PAB_P_ENUM, "full", "full|first|none", "write every page of each block, its first bytes, or nothing", 0, 0},
    {"mark", PAB_P_STR, "exit", NULL,
     "where `after free` is read: the last mark of that name (`pyalloc trace-info` lists them); `exit` is the end "
     "of a trace without one; `end`: the end of the trace", 0, 0},
    {"layer", PAB_P_ENUM, "recorded", "recorded|" PAB_LAYER_CHOICES,
     "recorded: the layer the trace was recorded with; malloc: every request to malloc; pymalloc: 1-512 B requests "
     "through the pymalloc model (a trace recorded under PYTHONMALLOC=malloc)", 0, 0},
    {"thread_mode", PAB_P_ENUM, "recorded", "recorded|serial",
     "recorded: each recorded thread on its own thread, cross-thread frees in order; serial: all on one thread", 0, 0},
    {"window", PAB_P_INT, "4096", NULL,
     "thread_mode=recorded: how many calls a thread may run ahead of the recorded interleaving (about two windows); "
     "0: no bound, only cross-thread frees wait (glibc's trace_run)", 0, 1u << 30},
    {NULL},
};

/* ---- touch: what is written into a block, and checked before it is freed.  Under 16 bytes our own small tag
 * (pab_tag's last byte overwrites its first word when n <= 8; pab_stamp's two words overlap under 16). */
static void mark_small(void *p, size_t n, uint64_t tag) {
    memcpy(p, &tag, n < 8 ? n : 8);
    if (n > 8) ((unsigned char *)p)[n - 1] = (unsigned char)tag;
}
static bool ok_small(const void *p, size_t n, uint64_t tag) {
    return !memcmp(p, &tag, n < 8 ? n : 8) && (n <= 8 || ((const unsigned char *)p)[n - 1] == (unsigned char)tag);
}
static void mark_full(void *p, size_t n, uint64_t tag) { n < 16 ? mark_small(p, n, tag) : pab_stamp(p, n, tag); }
static bool ok_full(const void *p, size_t n, uint64_t tag) { return n < 16 ? ok_small(p, n, tag) : pab_pages_ok(p, n, tag); }
static void mark_first(void *p, size_t n, uint64_t tag) { n < 16 ? mark_small(p, n, tag) : pab_tag(p, 16, tag); }
static bool ok_first(const void *p, size_t n, uint64_t tag) { return n < 16 ? ok_small(p, n, tag) : pab_tag_ok(p, 16, tag); }
static void mark_none(void *p, size_t n, uint64_t tag) {}
static bool ok_none(const void *p, size_t n, uint64_t tag) { return true; }

static const struct { void (*mark)(void *, size_t, uint64_t); bool (*ok)(const void *, size_t, uint64_t); } touch[] = {
    [TOUCH_FULL] = {mark_full, ok_full}, [TOUCH_FIRST] = {mark_first, ok_first}, [TOUCH_NONE] = {mark_none, ok_none},
};

static uint64_t tag_of(uint32_t id) { return pab_mix64(id); }
static uint64_t size_of(const struct blk *b) { return b->n & ~REPLAY_OBJ; }

static int failed(struct rx *x, const char *fmt, uint32_t id, uint64_t n) {
    snprintf(x->err, sizeof x->err, fmt, id, (unsigned long long)n);
    return -1;
}

static int check(struct rx *x, uint32_t id) {
    const struct blk *b = &x->b[id];
    if (!b->p || touch[x->touch].ok(b->p, size_of(b), tag_of(id))) return 0;
    return failed(x, "replay: checksum mismatch in block %u (%llu bytes): the memory was overwritten", id, size_of(b));
}

/* ---- the object layer: with a pymalloc heap, requests of 1..512 B (and reallocs of such blocks) go through it,
 * under the GIL when threads share it; everything else, and every request without a heap, goes to malloc. */
static bool small(size_t n) { return n >= 1 && n <= 512; }

static void *obj_alloc(struct rx *x, size_t n, bool zero) {
    if (x->gil) pthread_mutex_lock(x->gil);
    void *p = pab_obj_alloc(x->heap, n);
    if (x->gil) pthread_mutex_unlock(x->gil);
    return p && zero ? memset(p, 0, n) : p;
}

int replay_drop(struct rx *x, uint32_t id, struct pab_tally *t) {
    struct blk *b = &x->b[id];
    if (check(x, id)) return -1;
    if (!(b->n & REPLAY_OBJ)) free(b->p);
    else {
        if (x->gil) pthread_mutex_lock(x->gil);
        pab_obj_free(x->heap, b->p, size_of(b));
        if (x->gil) pthread_mutex_unlock(x->gil);
    }
    pab_count(t, 0, -(int64_t)size_of(b));
    *b = (struct blk){NULL, 0};
    return 0;
}

static int place(struct rx *x, const pab_trace_rec *r, void *p, bool obj, int64_t was, struct pab_tally *t) {
    if (!p && r->size) return failed(x, "ENOMEM: replay: the allocator returned NULL for block %u (%llu bytes)", r->id, r->size);
    x->b[r->id] = (struct blk){p, r->size | (obj ? REPLAY_OBJ : 0)};
    if (p) touch[x->touch].mark(p, r->size, tag_of(r->id));
    pab_count(t, 1, (int64_t)r->size - was);
    return 0;
}

/* ---- one handler per operation; an event with no block (a NULL result, a block from before the recording)
 * is counted and not replayed.  Aligned requests all replay as posix_memalign (every allocator has it). */
typedef int (*op_fn)(struct rx *x, const pab_trace_rec *r, struct pab_tally *t);

static int op_malloc(struct rx *x, const pab_trace_rec *r, struct pab_tally *t) {
    bool obj = x->heap && small(r->size);
    return place(x, r, obj ? obj_alloc(x, r->size, false) : malloc(r->size), obj, 0, t);
}

static int op_calloc(struct rx *x, const pab_trace_rec *r, struct pab_tally *t) {
    bool obj = x->heap && small(r->size);
    return place(x, r, obj ? obj_alloc(x, r->size, true) : calloc(1, r->size), obj, 0, t);
}

static int op_aligned(struct rx *x, const pab_trace_rec *r, struct pab_tally *t) {
    size_t align = (size_t)1 << r->align_log2, n = r->size;
    if (align < sizeof(void *)) align = sizeof(void *);
    if (r->op == PAB_OP_PVALLOC) n = (n + align - 1) & ~(align - 1);
    void *p = NULL;
    if (posix_memalign(&p, align, n ? n : 1)) p = NULL;
    return place(x, r, p, false, 0, t);
}

static int op_free(struct rx *x, const pab_trace_rec *r, struct pab_tally *t) {
    pab_count(t, 1, 0);
    return replay_drop(x, r->id, t);
}

static int op_realloc(struct rx *x, const pab_trace_rec *r, struct pab_tally *t) {
    struct blk o = x->b[r->old];
    if (r->old && check(x, r->old)) return -1;
    if (!r->id) {
        pab_count(t, 1, 0);
        return r->old && !r->size ? replay_drop(x, r->old, t) : 0;
    }
    bool obj = x->heap && (o.p ? (o.n & REPLAY_OBJ) != 0 : small(r->size)); /* a malloc block stays in malloc */
    void *q;
    if (!obj) q = realloc(o.p, r->size);
    else {
        if (x->gil) pthread_mutex_lock(x->gil);
        q = pab_obj_realloc(x->heap, o.p, size_of(&o), r->size);
        if (x->gil) pthread_mutex_unlock(x->gil);
    }
    uint64_t tag = tag_of(r->id);
    if (q && r->old && o.p && size_of(&o) >= 16 && r->size >= 8 && x->touch != TOUCH_NONE && memcmp(q, &tag, 8))
        return failed(x, "replay: realloc of block %u did not keep its contents (%llu bytes)", r->id, r->size);
    return place(x, r, q, obj, (int64_t)size_of(&o), t);
}

static const op_fn ops[PAB_OP_COUNT] = {
    [PAB_OP_MALLOC] = op_malloc, [PAB_OP_CALLOC] = op_calloc, [PAB_OP_REALLOC] = op_realloc, [PAB_OP_FREE] = op_free,
    [PAB_OP_POSIX_MEMALIGN] = op_aligned, [PAB_OP_ALIGNED_ALLOC] = op_aligned, [PAB_OP_MEMALIGN] = op_aligned,
    [PAB_OP_VALLOC] = op_aligned, [PAB_OP_PVALLOC] = op_aligned,
};

int replay_event(struct rx *x, const pab_trace_rec *r, struct pab_tally *t) {
    if (!r->id && !r->old) { pab_count(t, 1, 0); return 0; }
    return ops[r->op](x, r, t);
}

/* ---- set-up: the trace, where "after free" is, the layer, the threads */
static int find_mark(pab_ctx *c, struct replay *s, const char *path) {
    const char *want = pab_str(c, "mark");
    const pab_trace_mark *m = strcmp(want, "end") ? pab_trace_find_mark(&s->t, want) : NULL;
    if (!m && strcmp(want, "end") && strcmp(want, "exit")) {
        char names[1024];
        pab_trace_mark_names(&s->t, names, sizeof names);
        return pab_fail(c, "replay: %s holds no mark `%s`; its marks: %s (or mark=end)", path, want,
                        names[0] ? names : "none");
    }
    s->mark_at = m ? m->at : s->t.h.events;
    pab_set_mark(c, m ? m->name : "end");
    return 0;
}

/* The layer the trace was recorded with, and what each request of the replay goes through. */
static int choose_layer(pab_ctx *c, struct replay *s, const char *path) {
    int want = pab_choice(c, "layer");
    pab_rec_layer rec = s->t.h.layer;
    if (rec == PAB_REC_PYMALLOC && want == LAYER_MALLOC)
        return pab_fail(c, "replay: %s was recorded under pymalloc (PYTHONMALLOC unset): its 1-512 B object requests "
                        "never reached malloc, so it cannot replay layer=malloc; record under PYTHONMALLOC=malloc", path);
    if (rec == PAB_REC_PYMALLOC) {
        fprintf(stderr, "replay: note: %s was recorded under pymalloc: objects of 1-512 B are not in it; every request "
                "replays through malloc, as recorded\n", path);
        return 0;
    }
    bool pym = want == LAYER_PYMALLOC; /* `recorded` on a PYTHONMALLOC=malloc or non-Python trace is malloc */
    if (pym && !(s->x.heap = pab_heap_new(PAB_LAYER_PYMALLOC, NULL))) return pab_fail(c, "replay: cannot create the pymalloc model");
    return 0;
}

static int setup(pab_ctx *c, void *state) {
    struct replay *s = state;
    const char *path = pab_str(c, "trace");
    char err[512];
    if (!path || !*path) return pab_fail(c, "replay: give the trace file with --param trace=FILE (made by `pyalloc record`)");
    if (pab_trace_peek(path, &s->t, err, sizeof err)) return pab_fail(c, "replay: %s", err);
    uint64_t records = s->t.h.events * sizeof(pab_trace_rec) * (pab_choice(c, "thread_mode") == MODE_RECORDED ? 2 : 1);
    pab_trace_unload(&s->t);
    if (!pab_need(c, records, "the trace's records")) return -1; /* the thread plan copies them once */
    if (pab_trace_load(path, &s->t, err, sizeof err)) return pab_fail(c, "replay: %s", err);
    s->x.touch = pab_choice(c, "touch");
    if (find_mark(c, s, path) || choose_layer(c, s, path)) return -1;
    s->max_id = s->t.h.max_id;
    if (pab_choice(c, "thread_mode") == MODE_RECORDED && s->t.h.threads > 1) {
        if (s->t.h.threads > REPLAY_MAX_THREADS)
            return pab_fail(c, "replay: %s has %u threads; thread_mode=recorded replays at most %d (use thread_mode=serial)",
                            path, s->t.h.threads, REPLAY_MAX_THREADS);
        if (!(s->mt = replay_mt_plan(c, &s->t, s->mark_at, (uint64_t)pab_int(c, "window")))) return -1;
        s->max_id = replay_mt_max_id(s->mt);
        munmap(s->t.rec_map, s->t.rec_len); /* the plan holds its own copy of the records, thread by thread */
        s->t.rec_map = NULL;
        s->t.rec = NULL;
        if (s->x.heap) pthread_mutex_init(&s->gil, NULL), s->x.gil = &s->gil;
    }
    s->b_bytes = (s->max_id + 1) * sizeof *s->x.b;
    if (!pab_need(c, s->t.h.live_peak_bytes + s->b_bytes, "the trace's live peak")) return -1;
    if (!(s->x.b = pab_scratch(s->b_bytes))) return pab_enomem(c, s->b_bytes);
    memset(s->x.b, 0, s->b_bytes); /* resident before the base RSS is taken */
    pab_set_threads(c, s->mt ? (int)s->t.h.threads : 1);
    if (s->mt && replay_mt_start(c, s->mt, &s->x)) return s->mt = NULL, -1;
    return 0;
}

/* What the program never freed, from the last cycle. */
static int drop_survivors(pab_ctx *c, struct replay *s, struct pab_tally *t) {
    for (uint64_t id = 1; id <= s->max_id; id++)
        if (s->x.b[id].p && replay_drop(&s->x, (uint32_t)id, t)) return pab_fail(c, "%s", s->x.err);
    return 0;
}

static int cycle(pab_ctx *c, void *state) {
    struct replay *s = state;
    struct pab_tally *t = pab_tally(c);
    if (drop_survivors(c, s, t)) return -1;
    if (s->mt) return replay_mt_cycle(c, s->mt, t);
    const pab_trace_rec *r = s->t.rec, *mark = r + s->mark_at, *end = r + s->t.h.events;
    for (;; r++) {
        if (r == mark) pab_freed(c);
        if (r == end) return 0;
        if (replay_event(&s->x, r, t)) return pab_fail(c, "%s", s->x.err);
    }
}

static void teardown(pab_ctx *c, void *state) {
    struct replay *s = state;
    replay_mt_delete(s->mt);
    for (uint64_t id = 1; s->x.b && id <= s->max_id; id++)
        if (s->x.b[id].p) replay_drop(&s->x, (uint32_t)id, &(struct pab_tally){0});
    if (s->x.b) pab_scratch_free(s->x.b, s->b_bytes);
    pab_heap_delete(s->x.heap);
    pab_trace_unload(&s->t);
}

PAB_WORKLOAD(replay,
             .shows = "your own program's allocation stream (`pyalloc record`) on every configuration",
             .does = "replay the trace's calls, each recorded thread on its own thread (cross-thread frees wait for "
                     "their allocation), `after free` at the mark; blocks the program never freed stay live until "
                     "the next cycle",
             .params = params, .state_size = sizeof(struct replay),
             .setup = setup, .cycle = cycle, .teardown = teardown);

/* replay: a trace recorded from a real process (`pyalloc record`) replayed call by call, in recorded order.
 * Blocks carry the trace's dense ids, so a slot array replaces any lookup; blocks never freed stay live. */
#include <stdlib.h>
#include <sys/mman.h>

#include "pab_workload.h"
#include "trace_format.h"

enum { TOUCH_FULL, TOUCH_FIRST, TOUCH_NONE };

struct blk { void *p; uint64_t n; };

struct replay {
    pab_trace t;
    struct blk *b;    /* slot per block id, 0 .. max_id */
    size_t b_bytes;
    int touch;
};

static const pab_param params[] = {
    {"trace", PAB_P_STR, "", NULL, "the trace file, made by `pyalloc record` (required)", 0, 0},
    {"touch", PAB_P_ENUM, "full", "full|first|none", "write every page of each block, its first bytes, or nothing", 0, 0},
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

static int check(pab_ctx *c, const struct replay *s, uint32_t id) {
    const struct blk *b = &s->b[id];
    if (!b->p || touch[s->touch].ok(b->p, b->n, tag_of(id))) return 0;
    return pab_fail(c, "replay: checksum mismatch in block %u (%llu bytes): the memory was overwritten", id,
                    (unsigned long long)b->n);
}

static int drop(pab_ctx *c, struct replay *s, uint32_t id, struct pab_tally *t, uint64_t ops) {
    if (check(c, s, id)) return -1;
    free(s->b[id].p);
    pab_count(t, ops, -(int64_t)s->b[id].n);
    s->b[id] = (struct blk){NULL, 0};
    return 0;
}

static int place(pab_ctx *c, struct replay *s, const pab_trace_rec *r, void *p, int64_t was, struct pab_tally *t) {
    if (!p && r->size) return pab_enomem(c, r->size);
    s->b[r->id] = (struct blk){p, r->size};
    if (p) touch[s->touch].mark(p, r->size, tag_of(r->id));
    pab_count(t, 1, (int64_t)r->size - was);
    return 0;
}

/* ---- one handler per operation; an event with no block (a NULL result, a block from before the recording)
 * is counted and not replayed.  Aligned requests all replay as posix_memalign (every allocator has it). */
typedef int (*op_fn)(pab_ctx *c, struct replay *s, const pab_trace_rec *r, struct pab_tally *t);

static int op_malloc(pab_ctx *c, struct replay *s, const pab_trace_rec *r, struct pab_tally *t) {
    return place(c, s, r, malloc(r->size), 0, t);
}

static int op_calloc(pab_ctx *c, struct replay *s, const pab_trace_rec *r, struct pab_tally *t) {
    return place(c, s, r, calloc(1, r->size), 0, t);
}

static int op_aligned(pab_ctx *c, struct replay *s, const pab_trace_rec *r, struct pab_tally *t) {
    size_t align = (size_t)1 << r->align_log2, n = r->size;
    if (align < sizeof(void *)) align = sizeof(void *);
    if (r->op == PAB_OP_PVALLOC) n = (n + align - 1) & ~(align - 1);
    void *p = NULL;
    if (posix_memalign(&p, align, n ? n : 1)) p = NULL;
    return place(c, s, r, p, 0, t);
}

static int op_free(pab_ctx *c, struct replay *s, const pab_trace_rec *r, struct pab_tally *t) {
    return drop(c, s, r->id, t, 1);
}

static int op_realloc(pab_ctx *c, struct replay *s, const pab_trace_rec *r, struct pab_tally *t) {
    struct blk o = s->b[r->old];
    if (r->old && check(c, s, r->old)) return -1;
    if (!r->id) return r->old && !r->size ? drop(c, s, r->old, t, 1) : (pab_count(t, 1, 0), 0);
    void *q = realloc(o.p, r->size);
    uint64_t tag = tag_of(r->id);
    if (q && r->old && o.p && o.n >= 16 && r->size >= 8 && s->touch != TOUCH_NONE && memcmp(q, &tag, 8))
        return pab_fail(c, "replay: realloc of block %u did not keep its contents", r->id);
    return place(c, s, r, q, (int64_t)o.n, t);
}

static const op_fn ops[PAB_OP_COUNT] = {
    [PAB_OP_MALLOC] = op_malloc, [PAB_OP_CALLOC] = op_calloc, [PAB_OP_REALLOC] = op_realloc, [PAB_OP_FREE] = op_free,
    [PAB_OP_POSIX_MEMALIGN] = op_aligned, [PAB_OP_ALIGNED_ALLOC] = op_aligned, [PAB_OP_MEMALIGN] = op_aligned,
    [PAB_OP_VALLOC] = op_aligned, [PAB_OP_PVALLOC] = op_aligned,
};

static int skip(pab_ctx *c, struct replay *s, const pab_trace_rec *r, struct pab_tally *t) {
    pab_count(t, 1, 0);
    return 0;
}

/* ---- the workload */
static int setup(pab_ctx *c, void *state) {
    struct replay *s = state;
    const char *path = pab_str(c, "trace");
    char err[512];
    if (!path || !*path) return pab_fail(c, "replay: give the trace file with --param trace=FILE (made by `pyalloc record`)");
    if (pab_trace_load(path, &s->t, err, sizeof err)) return pab_fail(c, "replay: %s", err);
    s->touch = pab_choice(c, "touch");
    s->b_bytes = (s->t.h.max_id + 1) * sizeof *s->b;
    if (!pab_need(c, s->t.h.live_peak_bytes + s->b_bytes, "the trace's live peak")) return -1;
    s->b = mmap(NULL, s->b_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (s->b == MAP_FAILED) { s->b = NULL; return pab_enomem(c, s->b_bytes); }
    memset(s->b, 0, s->b_bytes); /* resident before the base RSS is taken */
    pab_set_threads(c, 1);
    return 0;
}

static int cycle(pab_ctx *c, void *state) {
    struct replay *s = state;
    struct pab_tally *t = pab_tally(c);
    for (uint64_t id = 1; id <= s->t.h.max_id; id++) /* what the program never freed, from the last cycle */
        if (s->b[id].p && drop(c, s, (uint32_t)id, t, 0)) return -1;
    const pab_trace_rec *r = s->t.rec, *end = r + s->t.h.events;
    for (; r < end; r++)
        if ((r->id || r->old ? ops[r->op] : skip)(c, s, r, t)) return -1;
    pab_freed(c);
    return 0;
}

static void teardown(pab_ctx *c, void *state) {
    struct replay *s = state;
    for (uint64_t id = 1; s->b && id <= s->t.h.max_id; id++)
        if (s->b[id].p) free(s->b[id].p);
    if (s->b) munmap(s->b, s->b_bytes);
    pab_trace_unload(&s->t);
}

PAB_WORKLOAD(replay,
             .shows = "your own program's allocation stream (`pyalloc record`) on every configuration",
             .does = "replay the trace's calls in recorded order on one thread (a multi-threaded trace is serialised); "
                     "blocks the program never freed stay live until the next cycle",
             .params = params, .state_size = sizeof(struct replay),
             .setup = setup, .cycle = cycle, .teardown = teardown);

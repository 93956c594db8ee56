/* medium_buffers: churn of 64 KiB–32 MiB buffers (bytes/bytearray-like: malloc + write) with `live` alive at once,
 * after a `primer` buffer is freed — glibc's dynamic mmap threshold then keeps the later ones in the heap. */
#include <math.h>
#include <stdlib.h>

#include "pab_workload.h"

/* Test hook: called once per cycle with the youngest buffer, before the frees. */
void (*pab_hook_medium_buffers)(void *buf, size_t n);

struct buf { char *p; uint64_t tag, size; };

struct mb {
    struct buf *slot, primer;
    uint64_t min, max, live, count, keep, gen;
    double span;
    pab_rng rng;
};

static const pab_param params[] = {
    {"min", PAB_P_SIZE, "64K", NULL, "smallest buffer (sizes are log-uniform in [min, max])", 16, 0},
    {"max", PAB_P_SIZE, "32M", NULL, "largest buffer", 16, 0},
    {"live", PAB_P_INT, "16", NULL, "buffers alive at once (a new one replaces the oldest)", 1, 0},
    {"count", PAB_P_INT, "64", NULL, "buffers made per cycle", 1, 0},
    {"primer", PAB_P_SIZE, "8M", NULL, "a buffer made and freed first: glibc raises its mmap threshold to it (0: none)", 0, 0},
    {"keep", PAB_P_INT, "1", NULL, "youngest buffers still alive at `after free` (the last one pins the heap below it)", 0, 0},
    {NULL},
};

static int setup(pab_ctx *c, void *state) {
    struct mb *s = state;
    s->min = pab_size(c, "min");
    s->max = pab_size(c, "max");
    s->live = (uint64_t)pab_int(c, "live");
    s->count = (uint64_t)pab_int(c, "count");
    s->keep = (uint64_t)pab_int(c, "keep");
    s->primer.size = pab_size(c, "primer");
    s->rng.s = pab_seed(c);
    if (s->max < s->min) return pab_fail(c, "medium_buffers: max (%llu) is below min (%llu)",
                                         (unsigned long long)s->max, (unsigned long long)s->min);
    s->span = log((double)s->max / (double)s->min);
    if (!pab_need(c, s->primer.size + s->live * s->max, "live buffers")) return -1;
    if (!(s->slot = pab_scratch(s->live * sizeof *s->slot))) return pab_enomem(c, s->live * sizeof *s->slot);
    return 0;
}

static int make(pab_ctx *c, struct mb *s, struct buf *b, uint64_t size) {
    b->size = size;
    b->tag = pab_mix64(++s->gen);
    if (!(b->p = malloc(size))) return pab_enomem(c, size);
    pab_count(pab_tally(c), 1, (int64_t)size);
    pab_fill(b->p, size, b->tag);
    return 0;
}

static int drop(pab_ctx *c, struct buf *b) {
    if (!b->p) return 0;
    if (!pab_pages_ok(b->p, b->size, b->tag))
        return pab_fail(c, "medium_buffers: checksum mismatch in a %llu-byte buffer: the memory was overwritten",
                        (unsigned long long)b->size);
    free(b->p);
    b->p = NULL;
    pab_count(pab_tally(c), 1, -(int64_t)b->size);
    return 0;
}

static uint64_t draw(struct mb *s) {
    double u = (double)(pab_next(&s->rng) >> 11) * 0x1p-53;
    uint64_t n = (uint64_t)((double)s->min * exp(u * s->span));
    return n < s->min ? s->min : n > s->max ? s->max : n;
}

static int cycle(pab_ctx *c, void *state) {
    struct mb *s = state;
    for (uint64_t i = 0; i < s->live; i++) /* last cycle's survivors */
        if (drop(c, &s->slot[i])) return -1;
    if (s->primer.size && (make(c, s, &s->primer, s->primer.size) || drop(c, &s->primer))) return -1;
    for (uint64_t i = 0; i < s->count; i++) {
        struct buf *b = &s->slot[i % s->live];
        if (drop(c, b) || make(c, s, b, draw(s))) return -1;
    }
    struct buf *young = &s->slot[(s->count - 1) % s->live];
    if (pab_hook_medium_buffers) pab_hook_medium_buffers(young->p, young->size);
    for (uint64_t i = s->count > s->live ? s->count - s->live : 0; i + s->keep < s->count; i++) /* oldest first */
        if (drop(c, &s->slot[i % s->live])) return -1;
    pab_freed(c);
    return 0;
}

static void teardown(pab_ctx *c, void *state) {
    struct mb *s = state;
    for (uint64_t i = 0; s->slot && i < s->live; i++) drop(c, &s->slot[i]);
    pab_scratch_free(s->slot, s->live * sizeof *s->slot);
}

PAB_WORKLOAD(medium_buffers,
             .shows = "glibc's dynamic mmap threshold: after one 8 MiB free, later 2 MiB buffers stay resident",
             .does = "make and free a `primer` buffer, then `count` buffers of min..max with `live` alive, free all but `keep`",
             .params = params, .state_size = sizeof(struct mb),
             .setup = setup, .cycle = cycle, .teardown = teardown);

/* large_buffer: one huge buffer per repeat, made as ctypes.create_string_buffer does (malloc + memset: eager)
 * or as bytes(n) does (calloc: lazy), `touch` percent of its pages written, checked, then freed. */
#include <stdlib.h>

#include "pab_workload.h"

#define PAGE 4096

/* Test hook: called once per buffer after it is written, before it is checked. */
void (*pab_hook_large_buffer)(void *buf, size_t n);

struct lb { uint64_t size, touched, repeats, gen; bool lazy; };

static const pab_param params[] = {
    {"size", PAB_P_SIZE, "256M", NULL, "bytes per buffer (the seed's 25G at preset full)", 8, 0},
    {"mode", PAB_P_ENUM, "memset", "memset|calloc", "memset: malloc + memset, create_string_buffer (eager); calloc: bytes(n) (lazy)", 0, 0},
    {"touch", PAB_P_INT, "0", NULL, "percent of the buffer (from its start, one word per page) written after creation", 0, 100},
    {"repeats", PAB_P_INT, "1", NULL, "buffers made and freed one after another per cycle", 1, 0},
    {NULL},
};

static int setup(pab_ctx *c, void *state) {
    struct lb *s = state;
    s->size = pab_size(c, "size");
    s->touched = s->size * (uint64_t)pab_int(c, "touch") / 100;
    s->repeats = (uint64_t)pab_int(c, "repeats");
    s->lazy = pab_choice(c, "mode") == 1;
    /* calloc is lazy under glibc and jemalloc, but mimalloc, tcmalloc and tbbmalloc (Debian 12) write every page
     * of a fresh huge calloc: the guard counts the whole buffer in both modes */
    return pab_need(c, s->size + (2u << 20), s->lazy ? "calloc buffer: eager under some allocators" : "memset buffer") ? 0 : -1;
}

/* calloc: the untouched rest must read as zeros (its first and last word; reading maps no memory). */
static bool zero_rest(const struct lb *s, const char *p) {
    uint64_t from = (s->touched + PAGE - 1) / PAGE * PAGE, w = 0;
    if (from + 8 > s->size) return true;
    memcpy(&w, p + from, 8);
    if (w) return false;
    memcpy(&w, p + s->size - 8, 8);
    return !w;
}

static int one(pab_ctx *c, struct lb *s) {
    uint64_t tag = pab_mix64(++s->gen);
    char *p = s->lazy ? calloc(1, s->size) : malloc(s->size);
    if (!p) return pab_enomem(c, s->size);
    pab_count(pab_tally(c), 1, (int64_t)s->size);
    if (!s->lazy) pab_fill(p, s->size, tag);
    if (s->touched) pab_stamp(p, s->touched, tag);
    if (pab_hook_large_buffer) pab_hook_large_buffer(p, s->size);
    bool ok = s->lazy ? (!s->touched || pab_pages_ok(p, s->touched, tag)) && zero_rest(s, p)
                      : pab_pages_ok(p, s->size, tag);
    if (!ok) return pab_fail(c, "large_buffer: checksum mismatch in the %llu-byte buffer: the memory was overwritten",
                             (unsigned long long)s->size);
    free(p);
    pab_count(pab_tally(c), 1, -(int64_t)s->size);
    return 0;
}

static int cycle(pab_ctx *c, void *state) {
    struct lb *s = state;
    for (uint64_t r = 0; r < s->repeats; r++)
        if (one(c, s)) return -1;
    pab_freed(c);
    return 0;
}

PAB_WORKLOAD(large_buffer,
             .shows = "cost of a huge buffer, and whether freeing it returns RSS",
             .does = "malloc+memset (eager) or calloc (lazy) a `size` buffer, write `touch` percent of its pages, check, free",
             .params = params, .state_size = sizeof(struct lb),
             .setup = setup, .cycle = cycle);

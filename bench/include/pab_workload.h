/* pab_workload.h — what a workload file sees: named parameters, one cycle, phase marks, live bytes,
 * checksums, the memory guard.  The harness (bench/harness/case.c) owns everything else.
 *
 * A complete workload, bench/workloads/blocks.c (tests/cli/test_docs.py compiles this text):
 *
 *     // blocks: `count` blocks of `size` bytes made, checked and freed, LIFO, in every cycle.
 *     #include <stdlib.h>
 *
 *     #include "pab_workload.h"
 *
 *     static const pab_param params[] = {  // name, type, default, choices, help, min, max (0: none)
 *         {"count", PAB_P_SIZE, "10K", NULL, "blocks per cycle", 1, 0},
 *         {"size", PAB_P_SIZE, "64", NULL, "bytes per block", 1, 1 << 20},
 *         {NULL},
 *     };
 *
 *     struct blocks { void **b; uint64_t count, size; };  // the workload's state, zeroed by the harness
 *
 *     static int setup(pab_ctx *c, void *state) {
 *         struct blocks *s = state;
 *         s->count = pab_size(c, "count");
 *         s->size = pab_size(c, "size");
 *         if (!pab_need(c, s->count * (s->size + 16), "its blocks")) return -1;  // too big: a `skipped` row
 *         s->b = pab_scratch(s->count * sizeof *s->b);  // bookkeeping comes from mmap, never the allocator
 *         return s->b ? 0 : pab_fail(c, "blocks: no memory for %llu pointers", (unsigned long long)s->count);
 *     }
 *
 *     static int cycle(pab_ctx *c, void *state) {  // once instrumented, then warm-up and timed cycles
 *         struct blocks *s = state;
 *         struct pab_tally *t = pab_tally(c);
 *         for (uint64_t i = 0; i < s->count; i++) {
 *             if (!(s->b[i] = malloc(s->size))) return pab_enomem(c, s->size);  // NULL: a `failed` ENOMEM row
 *             pab_tag(s->b[i], s->size, pab_mix64(i));  // written, so -O2 cannot delete the work
 *             pab_count(t, 1, (int64_t)s->size);        // one request; size more bytes live
 *         }
 *         for (uint64_t i = s->count; i-- > 0;) {
 *             if (!pab_tag_ok(s->b[i], s->size, pab_mix64(i)))
 *                 return pab_fail(c, "blocks: checksum mismatch in block %llu", (unsigned long long)i);
 *             free(s->b[i]);
 *             pab_count(t, 1, -(int64_t)s->size);
 *         }
 *         pab_freed(c);  // `after free`: RSS is taken here (and release=cycle configurations release)
 *         return 0;
 *     }
 *
 *     static void teardown(pab_ctx *c, void *state) {
 *         struct blocks *s = state;
 *         pab_scratch_free(s->b, s->count * sizeof *s->b);
 *     }
 *
 *     PAB_WORKLOAD(blocks, .shows = "what `count` blocks of `size` bytes cost", .does = "make, check, free LIFO",
 *                  .params = params, .state_size = sizeof(struct blocks),
 *                  .setup = setup, .cycle = cycle, .teardown = teardown);
 *
 * Dropped into bench/workloads/ it is built (CMake globs the folder), listed by `pyalloc workloads` and run by
 * `pyalloc run --workloads blocks --param size=1K`; the harness takes every measurement (docs/design.md §5, §7).
 * Its CPython twin would be bench/python/blocks.py, declaring only what Python cannot express. */
#ifndef PAB_WORKLOAD_H
#define PAB_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct pab_ctx pab_ctx;

typedef enum { PAB_P_INT, PAB_P_SIZE, PAB_P_ENUM, PAB_P_STR } pab_ptype;

/* One named parameter.  Defaults are text, parsed like the command line: sizes take K/M/G (1024). */
typedef struct pab_param {
    const char *name;
    pab_ptype type;
    const char *def;
    const char *choices; /* PAB_P_ENUM only: "malloc|pymalloc" */
    const char *help;
    uint64_t min, max; /* PAB_P_INT/SIZE bounds, checked before the case runs; max 0 = no bound */
} pab_param;

/* A workload: setup once per process, then the harness runs one instrumented cycle and the timed cycles.
 * setup reads parameters, calls pab_need and makes bookkeeping (pab_scratch); objects are made by the cycle.
 * A cycle allocates, checks and frees, and calls pab_freed() once, when it has freed what it frees.
 * Survivors a cycle keeps are freed by the next cycle or by teardown. */
typedef struct pab_workload {
    const char *name;
    const char *shows;        /* what it shows, one line */
    const char *does;         /* what one cycle does, one line */
    const pab_param *params;  /* ends with an entry whose name is NULL */
    size_t state_size;        /* zeroed state the harness allocates for the workload */
    int (*setup)(pab_ctx *c, void *state);    /* 0 ok; -1 after pab_fail() or a refused pab_need() */
    int (*cycle)(pab_ctx *c, void *state);    /* 0 ok; -1 after pab_fail() */
    void (*teardown)(pab_ctx *c, void *state);
    struct pab_workload *next;
} pab_workload;

void pab_workload_add(pab_workload *w);
const pab_workload *pab_workload_find(const char *name);
const pab_workload *pab_workload_first(void);

/* A workload file ends with:  PAB_WORKLOAD(small_churn, .shows = "...", .params = P, .setup = ..., ...); */
#define PAB_WORKLOAD(wname, ...)                                                   \
    static pab_workload pab_wl_##wname = {.name = #wname, __VA_ARGS__};            \
    __attribute__((constructor)) static void pab_wl_register_##wname(void) {       \
        pab_workload_add(&pab_wl_##wname);                                         \
    }

/* Parameters of the case, already validated against the table. */
uint64_t pab_size(const pab_ctx *c, const char *name);   /* PAB_P_SIZE and PAB_P_INT */
int64_t pab_int(const pab_ctx *c, const char *name);
int pab_choice(const pab_ctx *c, const char *name);      /* index into choices */
const char *pab_str(const pab_ctx *c, const char *name);
uint64_t pab_seed(const pab_ctx *c);                     /* the case's seed, for pab_rng */
void pab_set_threads(pab_ctx *c, int threads);           /* the `threads` column; default 1 */
void pab_set_mark(pab_ctx *c, const char *mark);         /* the `mark` column: where `after free` was taken */
/* Threads a case runs: `want`, capped at the cores (online, or --pab_cores); sets the `threads` column.
 * `pyalloc plan` shows both what a case asks for and what it gets. */
int pab_threads_for(pab_ctx *c, int64_t want);

/* The memory guard: call once in setup, before allocating, with the bytes the case will touch at most.
 * Returns false (the case becomes a `skipped` row saying why) when that exceeds the safe share.
 * Under --pab_need it records the bytes and returns false, so `pyalloc plan` learns them without running the case. */
bool pab_need(pab_ctx *c, uint64_t bytes, const char *what);

/* Bookkeeping memory (slot arrays, queues): zeroed anonymous mmap, never from the allocator under test, so
 * it does not depend on the configuration.  Touched pages count in RSS alike for every allocator. */
void *pab_scratch(size_t bytes);              /* NULL if the kernel refuses */
void pab_scratch_free(void *p, size_t bytes);

/* Failures: one line, the case becomes a `failed` row.  pab_enomem for a NULL from the allocator. */
int pab_fail(pab_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int pab_enomem(pab_ctx *c, uint64_t bytes);

/* Phase marks.  pab_freed: everything but the survivors is freed (RSS "after free"; release=cycle
 * configurations release here).  pab_event: a named point on the timeline (optional). */
void pab_freed(pab_ctx *c);
void pab_event(pab_ctx *c, const char *name);

/* Accounting: requests at the object level and bytes requested and live.  Inline: they sit in hot loops.
 * The harness reads them; workloads with threads sum per-thread counts and add them once. */
struct pab_tally { uint64_t ops; int64_t live, live_peak; };
struct pab_tally *pab_tally(pab_ctx *c);
static inline void pab_count(struct pab_tally *t, uint64_t ops, int64_t live_delta) {
    t->ops += ops;
    t->live += live_delta;
    if (t->live > t->live_peak) t->live_peak = t->live;
}

/* Checksums: every object carries a tag at both ends; every buffer a pattern on every page.
 * A mismatch before free is an allocator or workload bug and fails the case. */
static inline uint64_t pab_mix64(uint64_t x) {
    x ^= x >> 30; x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27; x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}
static inline void pab_tag(void *p, size_t n, uint64_t tag) { /* first word and last word (or byte) */
    if (n >= 16) { memcpy(p, &tag, 8); memcpy((char *)p + n - 8, &tag, 8); }
    else if (n > 8) { memcpy(p, &tag, 8); ((unsigned char *)p)[n - 1] = (unsigned char)(tag >> 56); }
    else memcpy(p, &tag, n);
}
static inline bool pab_tag_ok(const void *p, size_t n, uint64_t tag) {
    uint64_t a = 0, b = 0;
    if (n >= 16) { memcpy(&a, p, 8); memcpy(&b, (const char *)p + n - 8, 8); return a == tag && b == tag; }
    if (n > 8) return !memcmp(p, &tag, 8) && ((const unsigned char *)p)[n - 1] == (unsigned char)(tag >> 56);
    return !memcmp(p, &tag, n);
}
/* Buffers: pab_fill writes every byte (eager, as memset); pab_stamp only one word per page (touch).
 * pab_pages_ok checks one word per page over [0, n). */
void pab_fill(void *p, size_t n, uint64_t tag);
void pab_stamp(void *p, size_t n, uint64_t tag);
bool pab_pages_ok(const void *p, size_t n, uint64_t tag);

/* A small fast deterministic generator (splitmix64). */
typedef struct { uint64_t s; } pab_rng;
static inline uint64_t pab_next(pab_rng *r) { return pab_mix64(r->s += 0x9e3779b97f4a7c15ULL); }
static inline uint64_t pab_below(pab_rng *r, uint64_t n) { return (uint64_t)(((__uint128_t)pab_next(r) * n) >> 64); }

#endif

/* test_wl_checksum: list_pop, large_buffer, medium_buffers, realloc_growth and threaded_churn run clean cycles
 * (object-level op counts and live bytes as CPython's rules predict), and each fails when one byte is flipped. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "pab_internal.h"
#include "pab_pylist.h"
#include "pab_pyobj.h"

typedef void (*pab_hook)(void *p, size_t n);
extern pab_hook pab_hook_list_pop, pab_hook_large_buffer, pab_hook_medium_buffers, pab_hook_realloc_growth,
    pab_hook_threaded_churn;

static void flip(void *p, size_t n) { ((unsigned char *)p)[0] ^= 0x40; }

/* A case as the harness makes it, without libbenchmark: setup, `cycles` cycles, teardown. */
struct run { pab_ctx c; int rc; };

static struct run run(const char *workload, const char *const *kv, int cycles) {
    static struct run r;
    memset(&r, 0, sizeof r);
    char err[256], *args[16];
    int n = 0;
    for (; kv[n]; n++) args[n] = (char *)kv[n];
    const pab_workload *w = pab_workload_find(workload);
    CHECK(w != NULL, "workload %s is registered", workload);
    if (!w) { r.rc = -1; return r; }
    CHECK(!pab_values_parse(&r.c.v, w, n, args, err, sizeof err), "%s params: %s", workload, err);
    r.c.seed = 42;
    r.c.threads = 1;
    r.c.state = calloc(1, w->state_size);
    r.rc = w->setup ? w->setup(&r.c, r.c.state) : 0;
    CHECK(!r.rc, "%s setup: %s", workload, r.c.error);
    for (int i = 0; !r.rc && i < cycles; i++) {
        r.c.freed = false;
        r.c.instrumented = true;
        r.rc = w->cycle(&r.c, r.c.state);
        if (!r.rc) CHECK(r.c.freed, "%s cycle %d marked after-free", workload, i);
    }
    return r;
}

static void finish(struct run *r) {
    if (r->c.v.w->teardown) r->c.v.w->teardown(&r->c, r->c.state);
    free(r->c.state);
}

/* A clean run passes; the same run with the hook flipping a byte fails with a checksum message. */
static struct run clean_then_flipped(const char *workload, const char *const *kv, pab_hook *hook) {
    struct run r = run(workload, kv, 2);
    CHECK(!r.rc && !r.c.failed, "%s clean: %s", workload, r.c.error);
    struct run saved = r;
    *hook = flip;
    struct run bad = run(workload, kv, 1);
    *hook = NULL;
    CHECK(bad.rc == -1 && strstr(bad.c.error, "checksum mismatch"), "%s flipped byte: rc %d, '%s'", workload, bad.rc,
          bad.c.error);
    finish(&bad);
    return saved;
}

static uint64_t list_reallocs(size_t n, bool shrink) {
    uint64_t k = 0;
    size_t cap = 0;
    for (size_t len = 1; len <= n; len++) {
        size_t next = pab_list_resize(cap, len - 1, len);
        k += next != cap;
        cap = next;
    }
    for (size_t len = n; shrink && len-- > 0;) {
        size_t next = pab_list_resize(cap, len + 1, len);
        k += next != cap;
        cap = next;
    }
    return k;
}

static void list_pop(const char *layer) {
    char lay[32];
    snprintf(lay, sizeof lay, "layer=%s", layer);
    const char *cpy[] = {"n=1000", "shrink=cpython", lay, NULL}, *none[] = {"n=1000", "shrink=none", lay, NULL};
    struct run r = clean_then_flipped("list_pop", cpy, &pab_hook_list_pop);
    /* per cycle: header, 1000 appends, 1000 pops, the array's growths and shrinks (its free at len 0 included);
     * the second cycle also frees the last cycle's header */
    CHECK(r.c.tally.ops == 2 * (1 + 2000 + list_reallocs(1000, true)) + 1, "list_pop %s ops %llu", layer,
          (unsigned long long)r.c.tally.ops);
    CHECK(r.c.tally.live == PAB_LIST_HEADER, "list_pop: only the empty list is live: %lld", (long long)r.c.tally.live);
    finish(&r);
    r = run("list_pop", none, 2);
    CHECK(!r.rc && r.c.tally.ops == 2 * (1 + 2000 + list_reallocs(1000, false)) + 2, "list_pop shrink=none ops %llu",
          (unsigned long long)r.c.tally.ops);
    CHECK(r.c.tally.live == PAB_LIST_HEADER + 8 * 1100, "shrink=none keeps the 1100-slot array: %lld",
          (long long)r.c.tally.live);
    finish(&r);
    const char *keep[] = {"n=1000", "survivors=10", lay, NULL};
    r = run("list_pop", keep, 1);
    CHECK(!r.rc && r.c.tally.live > PAB_LIST_HEADER + 100 * 16, "survivors=10 keeps 100 objects: %lld",
          (long long)r.c.tally.live);
    finish(&r);
}

static void large_buffer(void) {
    const char *eager[] = {"size=1M", NULL}, *lazy[] = {"size=1M", "mode=calloc", NULL},
               *half[] = {"size=1M", "mode=calloc", "touch=50", "repeats=3", NULL};
    struct run r = clean_then_flipped("large_buffer", eager, &pab_hook_large_buffer);
    CHECK(r.c.tally.ops == 4 && r.c.tally.live_peak == 1 << 20 && !r.c.tally.live, "large_buffer ops %llu",
          (unsigned long long)r.c.tally.ops);
    finish(&r);
    r = clean_then_flipped("large_buffer", lazy, &pab_hook_large_buffer);
    finish(&r);
    r = clean_then_flipped("large_buffer", half, &pab_hook_large_buffer);
    CHECK(r.c.tally.ops == 12, "3 repeats, 2 cycles: %llu ops", (unsigned long long)r.c.tally.ops);
    finish(&r);
}

static void medium_buffers(void) {
    const char *none[] = {"min=64K", "max=1M", "live=4", "count=10", "primer=256K", "keep=0", NULL},
               *keep[] = {"min=64K", "max=64K", "live=4", "count=10", "primer=0", "keep=2", NULL};
    struct run r = clean_then_flipped("medium_buffers", none, &pab_hook_medium_buffers);
    CHECK(r.c.tally.ops == 2 * 2 * 11 && !r.c.tally.live, "medium_buffers ops %llu live %lld",
          (unsigned long long)r.c.tally.ops, (long long)r.c.tally.live);
    CHECK(r.c.tally.live_peak >= 4 * 64 * 1024, "live peak %lld", (long long)r.c.tally.live_peak);
    finish(&r);
    r = run("medium_buffers", keep, 2);
    CHECK(!r.rc && r.c.tally.live == 2 * 64 * 1024 && r.c.tally.live_peak == 4 * 64 * 1024,
          "keep=2: live %lld peak %lld", (long long)r.c.tally.live, (long long)r.c.tally.live_peak);
    finish(&r);
    /* 860169 = 210 pages + 9 bytes: the buffer's last word overlaps its last page's word */
    const char *odd[] = {"min=860169", "max=860169", "live=1", "count=3", "primer=0", NULL};
    r = run("medium_buffers", odd, 1);
    CHECK(!r.rc, "a buffer of 210 pages + 9 bytes: %s", r.c.error);
    finish(&r);
}

static void realloc_growth(const char *layer) {
    char lay[32];
    snprintf(lay, sizeof lay, "layer=%s", layer);
    const char *all[] = {"count=3", "final=4K", "keys=1000", lay, NULL},
               *str[] = {"kind=str", "count=3", "final=1024", "chunk=16", lay, NULL},
               *dict[] = {"kind=dict", "count=2", "keys=1000", lay, NULL};
    struct run r = clean_then_flipped("realloc_growth", all, &pab_hook_realloc_growth);
    CHECK(!r.c.tally.live, "realloc_growth frees all: %lld", (long long)r.c.tally.live);
    finish(&r);
    r = run("realloc_growth", str, 1); /* 64 appends: 1 alloc + 63 exact reallocs, then 1 free */
    CHECK(!r.rc && r.c.tally.ops == 3 * 65 && r.c.tally.live_peak == 3 * (49 + 1024), "str: ops %llu peak %lld",
          (unsigned long long)r.c.tally.ops, (long long)r.c.tally.live_peak);
    finish(&r);
    r = run("realloc_growth", dict, 1); /* tables of 8..2048 slots: 9 allocs and 9 frees, + the dict itself */
    CHECK(!r.rc && r.c.tally.ops == 2 * 20, "dict: ops %llu", (unsigned long long)r.c.tally.ops);
    finish(&r);
}

static void threaded_churn(void) {
    const char *kv[] = {"threads=4", "live=2000", "ops=20000", "cross=50", NULL},
               *keep[] = {"threads=2", "live=1000", "ops=1000", "cross=100", "survivors=10", NULL};
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    struct run r = clean_then_flipped("threaded_churn", kv, &pab_hook_threaded_churn);
    CHECK(r.c.threads == (cpus < 4 ? cpus : 4), "threads capped at %ld CPUs: %d", cpus, r.c.threads);
    CHECK(!r.c.tally.live && r.c.tally.ops > 2 * 2 * 2000, "every object freed once: live %lld, ops %llu",
          (long long)r.c.tally.live, (unsigned long long)r.c.tally.ops);
    finish(&r);
    r = run("threaded_churn", keep, 3);
    CHECK(!r.rc && r.c.tally.live > 0, "survivors stay live: %lld", (long long)r.c.tally.live);
    finish(&r);
}

int main(void) {
    list_pop("malloc");
    realloc_growth("malloc");
    pab_heap *h = pab_heap_new(PAB_LAYER_PYMALLOC, NULL);
    if (h) {
        pab_heap_delete(h);
        list_pop("pymalloc");
        realloc_growth("pymalloc");
    } else printf("layer=pymalloc not available yet: skipped\n");
    large_buffer();
    medium_buffers();
    threaded_churn();
    CHECK_DONE();
}

/* test_trace_v1.c — a version-1 trace written by the first recorder (tests/fixtures/trace-v1/small.pabt, made from
 * small.c) still loads: its header, its 13 events with their dense ids and threads, its cross-thread free. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "trace_format.h"

typedef struct { uint64_t size; uint32_t id, old; uint16_t thread; uint8_t op, align_log2; } want;

static const want events[] = {
    {1111, 1, 0, 0, PAB_OP_MALLOC, 0},          {2220, 2, 0, 0, PAB_OP_CALLOC, 0},
    {11111, 1, 1, 0, PAB_OP_REALLOC, 0},        {2222, 3, 0, 0, PAB_OP_POSIX_MEMALIGN, 8},
    {4444, 4, 0, 0, PAB_OP_MALLOC, 0},          {288, 5, 0, 0, PAB_OP_CALLOC, 0}, /* pthread_create's own */
    {4444, 4, 0, 1, PAB_OP_FREE, 0},            {3333, 4, 0, 1, PAB_OP_MALLOC, 0},
    {3333, 4, 0, 1, PAB_OP_FREE, 0},            {2220, 2, 0, 0, PAB_OP_FREE, 0},
    {2222, 3, 0, 0, PAB_OP_FREE, 0},            {5555, 3, 0, 0, PAB_OP_MALLOC, 0},
    {11111, 1, 0, 0, PAB_OP_FREE, 0},
};

int main(void) {
    const char *src = getenv("PAB_SOURCE");
    if (!src) { fprintf(stderr, "needs PAB_SOURCE (run through ctest)\n"); return 2; }
    char path[1024], err[512] = "";
    snprintf(path, sizeof path, "%s/tests/fixtures/trace-v1/small.pabt", src);
    pab_trace t;
    int rc = pab_trace_load(path, &t, err, sizeof err);
    CHECK(rc == 0, "load: %s", err);
    if (rc) CHECK_DONE();
    size_t n = sizeof events / sizeof *events;
    CHECK(t.h.version == 1 && t.h.events == n && t.h.threads == 2 && t.h.max_id == 5, "version %u events %llu threads %u",
          t.h.version, (unsigned long long)t.h.events, t.h.threads);
    CHECK(t.h.live_peak_bytes == 20285 && t.h.end_live_bytes == 5555 + 288, "live peak %llu end %llu",
          (unsigned long long)t.h.live_peak_bytes, (unsigned long long)t.h.end_live_bytes);
    CHECK(t.h.pid == 23688 && t.h.ppid == 23687 && t.h.page_size == 4096, "pid %u", t.h.pid);
    CHECK(t.h.cmdline_len == 15 && !strcmp(t.cmdline, "/tmp/pab-small"), "cmdline");
    for (size_t i = 0; i < n && i < t.h.events; i++) {
        const pab_trace_rec *r = &t.rec[i];
        const want *w = &events[i];
        CHECK(r->size == w->size && r->id == w->id && r->old == w->old && r->thread == w->thread && r->op == w->op &&
                  r->align_log2 == w->align_log2,
              "event %zu: size %llu id %u old %u thread %u op %u align 2^%u", i, (unsigned long long)r->size, r->id,
              r->old, r->thread, r->op, r->align_log2);
    }
    pab_trace_unload(&t);
    CHECK_DONE();
}

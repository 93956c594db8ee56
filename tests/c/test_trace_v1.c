/* test_trace_v1.c — a version-1 trace written by the first recorder (tests/fixtures/trace-v1/small.pabt, made from
 * small.c) still loads: its header, its 13 events with their dense ids and threads, its cross-thread free; the
 * same file damaged is refused in one line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static char fixture[1024];

/* The fixture changed by `edit`, saved to a temporary file: the loader refuses it with a message holding `what`. */
static void expect_refused(const char *what, void (*edit)(char *buf, size_t *len)) {
    static char buf[1 << 16];
    FILE *f = fopen(fixture, "rb");
    size_t len = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f) fclose(f);
    edit(buf, &len);
    char bad[] = "/tmp/pab-trace-v1-XXXXXX";
    int fd = mkstemp(bad);
    FILE *o = fdopen(fd, "wb");
    fwrite(buf, 1, len, o);
    fclose(o);
    pab_trace t;
    char err[512] = "";
    int rc = pab_trace_load(bad, &t, err, sizeof err);
    CHECK(rc == -1 && strstr(err, what) && !strchr(err, '\n'), "%s: rc %d, message '%s'", what, rc, err);
    unlink(bad);
}

static pab_trace_rec *recs(char *b) { return (pab_trace_rec *)(b + ((pab_trace1_header *)b)->header_size); }
static void cut_end(char *b, size_t *n) { *n -= 5; }
static void cut_header(char *b, size_t *n) { *n = 50; }
static void double_free(char *b, size_t *n) { recs(b)[0].id = 2; } /* block 2 made twice */
static void bad_peak(char *b, size_t *n) { ((pab_trace1_header *)b)->live_peak_bytes++; }
static void bad_op(char *b, size_t *n) { recs(b)[0].op = 77; }
static void bad_thread(char *b, size_t *n) { recs(b)[3].thread = 2; }
static void trailing(char *b, size_t *n) { memset(b + *n, 0, 3); *n += 3; }

int main(void) {
    const char *src = getenv("PAB_SOURCE");
    if (!src) { fprintf(stderr, "needs PAB_SOURCE (run through ctest)\n"); return 2; }
    char err[512] = "";
    snprintf(fixture, sizeof fixture, "%s/tests/fixtures/trace-v1/small.pabt", src);
    pab_trace t;
    int rc = pab_trace_load(fixture, &t, err, sizeof err);
    CHECK(rc == 0, "load: %s", err);
    if (rc) CHECK_DONE();
    size_t n = sizeof events / sizeof *events;
    CHECK(t.h.version == 1 && t.h.events == n && t.h.threads == 2 && t.h.max_id == 5, "version %u events %llu threads %u",
          t.h.version, (unsigned long long)t.h.events, t.h.threads);
    CHECK(t.h.live_peak_bytes == 20285 && t.h.end_live_bytes == 5555 + 288, "live peak %llu end %llu",
          (unsigned long long)t.h.live_peak_bytes, (unsigned long long)t.h.end_live_bytes);
    CHECK(t.h.pid == 23688 && t.h.ppid == 23687 && t.h.page_size == 4096, "pid %u", t.h.pid);
    CHECK(t.h.cmdline_len == 15 && !strcmp(t.h.cmdline, "/tmp/pab-small"), "cmdline");
    for (size_t i = 0; i < n && i < t.h.events; i++) {
        const pab_trace_rec *r = &t.rec[i];
        const want *w = &events[i];
        CHECK(r->size == w->size && r->id == w->id && r->old == w->old && r->thread == w->thread && r->op == w->op &&
                  r->align_log2 == w->align_log2,
              "event %zu: size %llu id %u old %u thread %u op %u align 2^%u", i, (unsigned long long)r->size, r->id,
              r->old, r->thread, r->op, r->align_log2);
    }
    CHECK(t.h.complete && t.h.layer == PAB_REC_UNKNOWN && t.h.marks == 0 && t.h.lost_events == 0, "v1 facts");
    pab_trace_unload(&t);

    expect_refused("truncated: the header promises 13 events, the file holds 12", cut_end);
    expect_refused("truncated trace header", cut_header);
    expect_refused("damaged: event 1", double_free);
    expect_refused("do not add up", bad_peak);
    expect_refused("damaged: event 0", bad_op);
    expect_refused("damaged: event 3", bad_thread);
    expect_refused("after the last event", trailing);
    CHECK_DONE();
}

/* test_trace_format.c — the trace format: a hand-made raw file (two threads, chunks out of order, address
 * reuse, a moved realloc, unknown and lost frees) finalises to the expected ids; damaged files are refused. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "trace_format.h"

static char dir[] = "/tmp/pab-trace-fmt-XXXXXX";
static char raw[256], fin[256], bad[256];

typedef struct { uint64_t seq; unsigned op; uint64_t ptr, arg, size; } ev;

static void put_chunk(FILE *f, uint32_t tid, const ev *e, uint32_t n) {
    pab_raw_chunk c = {PAB_TRACE_CHUNK_MAGIC, tid, n, 0};
    fwrite(&c, sizeof c, 1, f);
    for (uint32_t i = 0; i < n; i++) {
        pab_raw_rec r = {e[i].seq << 8 | e[i].op, 1000 + 10 * e[i].seq, e[i].ptr, e[i].arg, e[i].size};
        fwrite(&r, sizeof r, 1, f);
    }
}

static void write_raw(const char *path) {
    static const ev a[] = {{0, PAB_OP_MALLOC, 0x1000, 0, 10}, {2, PAB_OP_FREE, 0x1000, 0, 0},
                           {3, PAB_OP_MALLOC, 0x1000, 0, 20}, {5, PAB_OP_RAW_RFREE, 0x1000, 0, 0},
                           {7, PAB_OP_REALLOC, 0x3000, 0x1000, 40}};
    static const ev b[] = {{1, PAB_OP_MALLOC, 0x2000, 0, 100}, {4, PAB_OP_FREE, 0x9999, 0, 0},
                           {6, PAB_OP_MALLOC, 0x1000, 0, 8}, {8, PAB_OP_POSIX_MEMALIGN, 0x2000, 64, 50},
                           {9, PAB_OP_RAW_RFREE, 0x2000, 0, 0}, {10, PAB_OP_REALLOC, 0, 0x2000, 0}};
    FILE *f = fopen(path, "wb");
    pab_raw_header h = {.version = PAB_TRACE_VERSION, .page_size = 4096, .pid = 42, .ppid = 1, .cmdline_len = 8};
    memcpy(h.magic, PAB_TRACE_RAW_MAGIC, 8);
    fwrite(&h, sizeof h, 1, f);
    fwrite("prog\0-x\0", 1, 8, f);
    put_chunk(f, 200, b, 6); /* thread B's chunk lands first: seq must restore the order */
    put_chunk(f, 100, a, 5);
    fclose(f);
}

typedef struct { unsigned op; uint32_t id, old; uint64_t size; uint16_t thread; } want;

static void check_final(const pab_trace *t) {
    static const want w[] = {
        {PAB_OP_MALLOC, 1, 0, 10, 0},  {PAB_OP_MALLOC, 2, 0, 100, 1}, {PAB_OP_FREE, 1, 0, 10, 0},
        {PAB_OP_MALLOC, 1, 0, 20, 0},  {PAB_OP_FREE, 0, 0, 0, 1},     {PAB_OP_MALLOC, 3, 0, 8, 1},
        {PAB_OP_REALLOC, 1, 1, 40, 0}, {PAB_OP_FREE, 2, 0, 100, 1} /* lost */, {PAB_OP_POSIX_MEMALIGN, 2, 0, 50, 1}, {PAB_OP_REALLOC, 0, 2, 0, 1},
    };
    size_t n = sizeof w / sizeof w[0];
    CHECK(t->h.events == n, "events %llu", (unsigned long long)t->h.events);
    CHECK(t->h.threads == 2 && t->h.max_id == 3 && t->h.pid == 42, "threads %u max_id %llu", t->h.threads,
          (unsigned long long)t->h.max_id);
    CHECK(t->h.live_peak_bytes == 148, "peak %llu", (unsigned long long)t->h.live_peak_bytes);
    CHECK(t->h.end_live_bytes == 48, "end live %llu", (unsigned long long)t->h.end_live_bytes);
    CHECK(t->h.unknown_frees == 1 && t->h.lost_frees == 1, "unknown %llu lost %llu",
          (unsigned long long)t->h.unknown_frees, (unsigned long long)t->h.lost_frees);
    CHECK(t->h.duration_ns == 100 && t->h.cmdline_len == 8 && !memcmp(t->cmdline, "prog\0-x\0", 8), "cmdline/duration");
    for (size_t i = 0; i < n && i < t->h.events; i++) {
        const pab_trace_rec *r = &t->rec[i];
        CHECK(r->op == w[i].op && r->id == w[i].id && r->old == w[i].old && r->size == w[i].size &&
                  r->thread == w[i].thread,
              "event %zu: op %u id %u old %u size %llu thread %u", i, r->op, r->id, r->old,
              (unsigned long long)r->size, r->thread);
    }
    CHECK(t->rec[8].align_log2 == 6, "posix_memalign alignment log2 %u", t->rec[7].align_log2);
    CHECK(t->rec[1].dt_ns == 10, "dt %u", t->rec[1].dt_ns);
}

/* Copies fin to bad, changed by `edit`, and expects the loader to refuse it with a message containing `what`. */
static void expect_refused(const char *what, void (*edit)(char *buf, size_t *len)) {
    static char buf[1 << 16];
    FILE *f = fopen(fin, "rb");
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    edit(buf, &len);
    f = fopen(bad, "wb");
    fwrite(buf, 1, len, f);
    fclose(f);
    pab_trace t;
    char err[512] = "";
    int rc = pab_trace_load(bad, &t, err, sizeof err);
    CHECK(rc == -1 && strstr(err, what) && !strchr(err, '\n'), "%s: rc %d, message '%s'", what, rc, err);
}

static void cut_end(char *b, size_t *n) { *n -= 5; }
static void cut_header(char *b, size_t *n) { *n = 50; }
static void foreign(char *b, size_t *n) { *n = (size_t)sprintf(b, "#!/bin/sh\necho this is not a trace\n"); }
static void tiny(char *b, size_t *n) { *n = 3; }
static void double_free(char *b, size_t *n) { /* event 4 frees block 3 before it exists */
    pab_trace_rec *r = (pab_trace_rec *)(b + ((pab_trace_header *)b)->header_size);
    r[4].id = 3;
}
static void bad_peak(char *b, size_t *n) { ((pab_trace_header *)b)->live_peak_bytes++; }
static void bad_op(char *b, size_t *n) { ((pab_trace_rec *)(b + ((pab_trace_header *)b)->header_size))[0].op = 77; }
static void new_version(char *b, size_t *n) { ((pab_trace_header *)b)->version = 9; }
static void trailing(char *b, size_t *n) { memset(b + *n, 0, 3); *n += 3; }

int main(void) {
    if (!mkdtemp(dir)) return 2;
    snprintf(raw, sizeof raw, "%s/raw", dir);
    snprintf(fin, sizeof fin, "%s/final.pabt", dir);
    snprintf(bad, sizeof bad, "%s/bad.pabt", dir);
    write_raw(raw);
    char err[512] = "";
    CHECK(pab_trace_finalize(raw, fin, err, sizeof err) == 0, "finalize: %s", err);
    pab_trace t;
    CHECK(pab_trace_load(fin, &t, err, sizeof err) == 0, "load: %s", err);
    if (t.rec) check_final(&t);
    pab_trace_unload(&t);

    expect_refused("truncated: the header promises 10 events, the file holds 9", cut_end);
    expect_refused("truncated trace header", cut_header);
    expect_refused("not a pyalloc trace", foreign);
    expect_refused("not a pyalloc trace", tiny);
    expect_refused("damaged: event 4", double_free);
    expect_refused("do not add up", bad_peak);
    expect_refused("damaged: event 0", bad_op);
    expect_refused("trace version 9", new_version);
    expect_refused("after the last event", trailing);

    CHECK(pab_trace_load(raw, &t, err, sizeof err) == -1 && strstr(err, "raw recorder file"), "raw as final: %s", err);
    CHECK(pab_trace_finalize(fin, bad, err, sizeof err) == -1 && strstr(err, "already a finalized"), "final as raw: %s", err);
    CHECK(pab_trace_finalize("/nonexistent/raw", bad, err, sizeof err) == -1 && strstr(err, "No such file"), "missing: %s", err);

    /* a raw file cut inside its last chunk (the program was killed) keeps the whole records */
    FILE *f = fopen(raw, "r+b");
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    CHECK(ftruncate(fileno(f), len - 60) == 0, "truncate");
    fclose(f);
    CHECK(pab_trace_finalize(raw, fin, err, sizeof err) == 0, "finalize torn raw: %s", err);
    CHECK(pab_trace_load(fin, &t, err, sizeof err) == 0 && t.h.events == 10 && t.h.lost_frees == 2, "torn raw: %s, %llu events", err,
          (unsigned long long)t.h.events); /* A loses its rfree and realloc; B's malloc at 0x1000 and 0x2000 then show two lost frees */
    pab_trace_unload(&t);

    unlink(raw); unlink(fin); unlink(bad); rmdir(dir);
    CHECK_DONE();
}

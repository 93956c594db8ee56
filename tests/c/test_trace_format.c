/* test_trace_format.c — version 2 by hand (bench/trace/trace_codec.h): two threads with chunks out of order, a
 * chunk written alone, address reuse, a moved realloc, unknown and lost frees, marks, a lost event, a note; the
 * loader's records and marks; an interrupted file loads, cut or damaged files are refused in one line. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "trace_codec.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers" /* the event tables below leave fields out */

static char dir[] = "/tmp/pab-trace-fmt-XXXXXX";
static char path[256], bad[256];
static uint8_t file[1 << 16];
static size_t flen, cut_at; /* cut_at: where the END chunk starts */

static void put(const void *p, size_t n) { memcpy(file + flen, p, n); flen += n; }

static void header(uint64_t seq0) {
    static const char cmd[] = "prog\0-x", exe[] = "/bin/prog", pm[] = "malloc";
    pab_trace2_header h = {.version = 2, .page_size = 4096, .pid = 42, .ppid = 1, .t0_ns = 1000, .seq0 = seq0,
                           .flags = PAB_T2_PYTHON | PAB_T2_PYTHONMALLOC_SET, .cmdline_len = sizeof cmd,
                           .exe_len = sizeof exe - 1, .pythonmalloc_len = sizeof pm - 1, .python_len = 4};
    memcpy(h.magic, PAB_TRACE_MAGIC, 8);
    h.header_size = (uint32_t)((sizeof h + sizeof cmd + sizeof exe - 1 + sizeof pm - 1 + 4 + 7) & ~7u);
    flen = 0;
    memset(file, 0, sizeof file);
    put(&h, sizeof h);
    put(cmd, sizeof cmd);
    put(exe, sizeof exe - 1);
    put(pm, sizeof pm - 1);
    put("3.11", 4);
    flen = h.header_size;
}

static void chunk(uint32_t magic, uint32_t tid, uint32_t flags, const uint8_t *p, size_t n, uint32_t events) {
    pab_trace2_chunk c = {magic, tid, (uint32_t)n, events, flags, 0, 5000};
    put(&c, sizeof c);
    put(p, n);
}

typedef struct { unsigned op; uint64_t seq, seq2, ptr, old, size; unsigned al; const char *name; } ev;

/* Encodes evs as one chunk with the thread's codec state. */
static void data(uint32_t tid, uint32_t flags, pab_codec *s, const ev *e, size_t n) {
    uint8_t buf[4096], *w = buf;
    if (flags & PAB_CHUNK_FIRST) *s = (pab_codec){0, 0};
    for (size_t i = 0; i < n; i++) {
        if (e[i].op == PAB_OP_FREE) w = pab_enc_free(w, s, e[i].seq, e[i].ptr);
        else if (e[i].op == PAB_OP_REALLOC) w = pab_enc_realloc(w, s, e[i].seq, e[i].seq2, e[i].old, e[i].ptr, e[i].size);
        else if (e[i].op == PAB_OP_MARK) w = pab_enc_mark(w, s, e[i].seq, e[i].name, (unsigned)strlen(e[i].name), 77);
        else w = pab_enc_alloc(w, s, e[i].op, e[i].seq, e[i].ptr, e[i].size, e[i].al);
    }
    chunk(PAB_CHUNK_DATA, tid, flags, buf, (size_t)(w - buf), (uint32_t)n);
}

/* Thread A (tid 100) and B (tid 200); sequence number 12 never reaches the file (a lost event). */
static void write_good(void) {
    static const ev a1[] = {{PAB_OP_MALLOC, 1, 0, 0x1000, 0, 10}, {PAB_OP_FREE, 3, 0, 0x1000}, {PAB_OP_MALLOC, 4, 0, 0x1000, 0, 20}};
    static const ev a2[] = {{PAB_OP_REALLOC, 6, 8, 0x3000, 0x1000, 40}, {PAB_OP_MARK, 13, .name = "exit"},
                            {PAB_OP_MARK, 14, .name = "spike"}};
    static const ev b1[] = {{PAB_OP_MALLOC, 2, 0, 0x2000, 0, 100}, {PAB_OP_FREE, 5, 0, 0x9999},
                            {PAB_OP_MALLOC, 7, 0, 0x1000, 0, 8}, {PAB_OP_MARK, 9, .name = "spike"}};
    static const ev b2[] = {{PAB_OP_POSIX_MEMALIGN, 10, 0, 0x2000, 0, 50, 6}};
    static const ev b3[] = {{PAB_OP_REALLOC, 11, 0, 0, 0x2000, 0}};
    pab_codec a = {0}, b = {0};
    header(1);
    data(200, PAB_CHUNK_FIRST | PAB_CHUNK_NEW_THREAD, &b, b1, 4); /* B's chunk lands first: seq restores the order */
    data(100, PAB_CHUNK_FIRST | PAB_CHUNK_NEW_THREAD, &a, a1, 3);
    data(100, 0, &a, a2, 3);
    data(200, PAB_CHUNK_FIRST, &b, b2, 1);                         /* written alone (the thread was exiting) */
    data(200, 0, &b, b3, 1);
    cut_at = flen;
    pab_trace2_end e = {12, 15, 5, 2, 3};
    chunk(PAB_CHUNK_END, 100, 0, (const uint8_t *)&e, sizeof e, 0);
    const char note[] = "{\"overhead\": 1.2}";
    chunk(PAB_CHUNK_NOTE, 0, 0, (const uint8_t *)note, sizeof note - 1, 0);
}

static void save(const char *p, size_t n) {
    FILE *f = fopen(p, "wb");
    fwrite(file, 1, n, f);
    fclose(f);
}

typedef struct { unsigned op; uint32_t id, old; uint64_t size; uint16_t thread; } want;

static void check_good(const pab_trace *t) {
    static const want w[] = {
        {PAB_OP_MALLOC, 1, 0, 10, 0},  {PAB_OP_MALLOC, 2, 0, 100, 1}, {PAB_OP_FREE, 1, 0, 10, 0},
        {PAB_OP_MALLOC, 1, 0, 20, 0},  {PAB_OP_FREE, 0, 0, 0, 1},     {PAB_OP_MALLOC, 3, 0, 8, 1},
        {PAB_OP_REALLOC, 1, 1, 40, 0}, {PAB_OP_FREE, 2, 0, 100, 1} /* lost */, {PAB_OP_POSIX_MEMALIGN, 2, 0, 50, 1},
        {PAB_OP_REALLOC, 0, 2, 0, 1},
    };
    size_t n = sizeof w / sizeof w[0];
    const pab_trace_info *h = &t->h;
    CHECK(h->version == 2 && h->complete && h->events == n, "version %u complete %d events %llu", h->version, h->complete,
          (unsigned long long)h->events);
    CHECK(h->threads == 2 && h->max_id == 3 && h->pid == 42 && h->ppid == 1, "threads %u max_id %llu", h->threads,
          (unsigned long long)h->max_id);
    CHECK(h->live_peak_bytes == 148 && h->end_live_bytes == 48, "peak %llu end %llu", (unsigned long long)h->live_peak_bytes,
          (unsigned long long)h->end_live_bytes);
    CHECK(h->unknown_frees == 1 && h->lost_frees == 1 && h->lost_events == 1, "unknown %llu lost frees %llu events %llu",
          (unsigned long long)h->unknown_frees, (unsigned long long)h->lost_frees, (unsigned long long)h->lost_events);
    CHECK(h->cmdline_len == 8 && !memcmp(h->cmdline, "prog\0-x", 8) && !strcmp(h->exe, "/bin/prog") &&
              !strcmp(h->pythonmalloc, "malloc") && !strcmp(h->python, "3.11") && h->layer == PAB_REC_MALLOC,
          "strings: exe '%s' pythonmalloc '%s' layer %d", h->exe, h->pythonmalloc, h->layer);
    CHECK(!strcmp(h->note, "{\"overhead\": 1.2}") && h->duration_ns == 4000, "note '%s' duration %llu", h->note,
          (unsigned long long)h->duration_ns);
    for (size_t i = 0; i < n && i < h->events; i++) {
        const pab_trace_rec *r = &t->rec[i];
        CHECK(r->op == w[i].op && r->id == w[i].id && r->old == w[i].old && r->size == w[i].size && r->thread == w[i].thread,
              "event %zu: op %u id %u old %u size %llu thread %u", i, r->op, r->id, r->old, (unsigned long long)r->size,
              r->thread);
    }
    CHECK(h->events > 8 && t->rec[8].align_log2 == 6, "posix_memalign alignment");
    CHECK(h->marks == 3, "marks %u", h->marks);
    if (h->marks == 3) {
        const pab_trace_mark *m = t->mark;
        CHECK(!strcmp(m[0].name, "spike") && m[0].at == 7 && m[0].live_bytes == 148 && m[0].live_blocks == 3 &&
                  m[0].thread == 1 && m[0].t_ns == 77,
              "first spike: at %llu live %llu blocks %llu", (unsigned long long)m[0].at,
              (unsigned long long)m[0].live_bytes, (unsigned long long)m[0].live_blocks);
        CHECK(!strcmp(m[1].name, "exit") && m[1].at == 10 && m[1].live_bytes == 48 && m[1].thread == 0, "exit mark");
        CHECK(pab_trace_find_mark(t, "spike") == &m[2] && !pab_trace_find_mark(t, "nope"), "the last spike is found");
        char names[64];
        pab_trace_mark_names(t, names, sizeof names);
        CHECK(!strcmp(names, "spike, exit"), "mark names '%s'", names);
    }
}

/* Saves file[0..n) with `edit` applied and expects the loader to refuse it with a message containing `what`. */
static void expect_refused(const char *what, size_t n, void (*edit)(uint8_t *f)) {
    static uint8_t keep[sizeof file];
    memcpy(keep, file, sizeof file);
    if (edit) edit(file);
    save(bad, n);
    memcpy(file, keep, sizeof file);
    pab_trace t;
    char err[512] = "";
    int rc = pab_trace_load(bad, &t, err, sizeof err);
    CHECK(rc == -1 && strstr(err, what) && !strchr(err, '\n'), "%s: rc %d, message '%s'", what, rc, err);
}

static pab_trace2_chunk *chunk_at(uint8_t *f, size_t off) { return (pab_trace2_chunk *)(f + off); }
static size_t first_chunk(void) { return ((pab_trace2_header *)file)->header_size; }
static void foreign(uint8_t *f) { memcpy(f, "#!/bin/sh\necho this is not a trace\n", 36); }
static void new_version(uint8_t *f) { ((pab_trace2_header *)f)->version = 9; }
static void end_totals(uint8_t *f) { /* chunks are not aligned in the file */
    pab_trace2_end e;
    memcpy(&e, f + cut_at + sizeof(pab_trace2_chunk), sizeof e);
    e.events++;
    memcpy(f + cut_at + sizeof(pab_trace2_chunk), &e, sizeof e);
}
static void bad_op(uint8_t *f) { f[first_chunk() + sizeof(pab_trace2_chunk)] = 12; }
static void no_start(uint8_t *f) { chunk_at(f, first_chunk())->flags = 0; }
static void bad_magic(uint8_t *f) { chunk_at(f, first_chunk())->magic = 0x41414141; }
static void no_seq0(uint8_t *f) { ((pab_trace2_header *)f)->seq0 = 0; }

int main(void) {
    if (!mkdtemp(dir)) return 2;
    snprintf(path, sizeof path, "%s/good.pabt", dir);
    snprintf(bad, sizeof bad, "%s/bad.pabt", dir);
    write_good();
    save(path, flen);
    char err[512] = "";
    pab_trace t;
    CHECK(pab_trace_load(path, &t, err, sizeof err) == 0, "load: %s", err);
    if (t.rec) check_good(&t);
    pab_trace_unload(&t);

    /* a recording killed between chunks: no END, every whole chunk kept, the gaps counted as lost */
    save(bad, cut_at);
    CHECK(pab_trace_load(bad, &t, err, sizeof err) == 0 && !t.h.complete && t.h.events == 10 && t.h.marks == 3 &&
              t.h.lost_events == 1 && !t.h.note[0],
          "interrupted: %s, complete %d, %llu events, lost %llu", err, t.h.complete, (unsigned long long)t.h.events,
          (unsigned long long)t.h.lost_events);
    pab_trace_unload(&t);

    expect_refused("cut in the middle of a chunk", cut_at - 3, NULL);
    expect_refused("cut in the middle of a chunk", first_chunk() + 10, NULL);
    expect_refused("truncated trace header", 40, NULL);
    expect_refused("not a pyalloc trace", flen, foreign);
    expect_refused("not a pyalloc trace", 3, NULL);
    expect_refused("trace version 9", flen, new_version);
    expect_refused("END totals", flen, end_totals);
    expect_refused("do not decode", flen, bad_op);
    expect_refused("never began", flen, no_start);
    expect_refused("no valid chunk", flen, bad_magic);
    expect_refused("damaged trace header", flen, no_seq0);

    /* a data chunk after END; a sequence number used by two threads */
    size_t end = flen;
    memcpy(file + end, file + first_chunk(), cut_at - first_chunk());
    expect_refused("no valid chunk", end + cut_at - first_chunk(), NULL);
    static const ev x[] = {{PAB_OP_MALLOC, 1, 0, 0x1000, 0, 10}}, y[] = {{PAB_OP_MALLOC, 1, 0, 0x2000, 0, 10}};
    pab_codec a = {0}, b = {0};
    header(1);
    data(1, PAB_CHUNK_FIRST | PAB_CHUNK_NEW_THREAD, &a, x, 1);
    data(2, PAB_CHUNK_FIRST | PAB_CHUNK_NEW_THREAD, &b, y, 1);
    expect_refused("sequence number 1 is used twice", flen, NULL);

    CHECK(pab_trace_load("/nonexistent/t.pabt", &t, err, sizeof err) == -1 && strstr(err, "No such file"), "missing: %s", err);
    unlink(path); unlink(bad); rmdir(dir);
    CHECK_DONE();
}

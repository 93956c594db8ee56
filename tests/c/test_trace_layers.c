/* test_trace_layers.c — replay's layers and marks on synthetic version-2 traces (written with trace_codec.h):
 * 1 M objects of 64 B recorded under PYTHONMALLOC=malloc, a mark `full` when all are live, then all freed.
 * layer=pymalloc keeps them in the model's arenas (RSS ~ the pools they fill), layer=malloc in malloc's chunks
 * (no arenas: more RSS under glibc); `after free` at the mark holds the live set, at the end nothing; an unknown
 * mark is one line naming the marks; a trace recorded under pymalloc refuses layer=malloc. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "pab_internal.h"
#include "pab_pymalloc.h"
#include "trace_codec.h"

#define N 1000000u
#define SIZE 64u
#if defined(__SANITIZE_ADDRESS__)
#define SLACK 1.20 /* ASan's shadow of what is touched */
#else
#define SLACK 1.06
#endif

static char dir[] = "/tmp/pab-trace-layers-XXXXXX";

static void put_chunk(FILE *f, uint32_t magic, uint32_t flags, const void *p, size_t n, uint32_t events) {
    pab_trace2_chunk c = {magic, 7, (uint32_t)n, events, flags, 0, 0};
    fwrite(&c, sizeof c, 1, f);
    fwrite(p, 1, n, f);
}

/* The synthetic program: N mallocs of SIZE at distinct addresses, the mark `full`, N frees, END. */
static void write_trace(const char *path, const char *pythonmalloc) {
    FILE *f = fopen(path, "wb");
    size_t pm = pythonmalloc ? strlen(pythonmalloc) : 0;
    pab_trace2_header h = {.version = 2, .page_size = 4096, .pid = 9, .ppid = 1, .seq0 = 1, .python_len = 4,
                           .flags = PAB_T2_PYTHON | (pythonmalloc ? PAB_T2_PYTHONMALLOC_SET : 0),
                           .pythonmalloc_len = (uint16_t)pm};
    memcpy(h.magic, PAB_TRACE_MAGIC, 8);
    h.header_size = (uint32_t)((sizeof h + pm + 4 + 7) & ~7u);
    char head[256] = {0};
    memcpy(head, &h, sizeof h);
    memcpy(head + sizeof h, pythonmalloc ? pythonmalloc : "", pm);
    memcpy(head + sizeof h + pm, "3.11", 4);
    fwrite(head, 1, h.header_size, f);
    static uint8_t buf[1 << 16];
    uint8_t *w = buf;
    pab_codec s = {0};
    uint64_t seq = 1, chunks = 0, events = 0;
    uint32_t in = 0, flags = PAB_CHUNK_FIRST | PAB_CHUNK_NEW_THREAD;
    for (uint64_t i = 0; i < 2 * N + 1; i++) {
        uint64_t addr = 0x10000000ull + (i % (N + 1)) * 80;
        if (i < N) w = pab_enc_alloc(w, &s, PAB_OP_MALLOC, seq++, addr, SIZE, 0);
        else if (i == N) w = pab_enc_mark(w, &s, seq++, "full", 4, 1);
        else w = pab_enc_free(w, &s, seq++, 0x10000000ull + (i - N - 1) * 80);
        in++;
        if (w - buf > (long)sizeof buf - PAB_EV_MAX || i == 2 * N) {
            put_chunk(f, PAB_CHUNK_DATA, flags, buf, (size_t)(w - buf), in);
            flags = 0;
            chunks++;
            events += in;
            in = 0;
            w = buf;
        }
    }
    pab_trace2_end e = {events, seq, chunks, 1, 1};
    put_chunk(f, PAB_CHUNK_END, 0, &e, sizeof e, 0);
    fclose(f);
}

/* One instrumented cycle of replay, as the harness runs it: RSS growth at `after free`, or -1 with the error. */
static int64_t measure(const char *trace, const char *layer, const char *mark, char *err, size_t errlen) {
    static pab_ctx c;
    memset(&c, 0, sizeof c);
    char kv[3][600], *args[4];
    snprintf(kv[0], sizeof kv[0], "trace=%s", trace);
    snprintf(kv[1], sizeof kv[1], "layer=%s", layer);
    snprintf(kv[2], sizeof kv[2], "mark=%s", mark);
    for (int i = 0; i < 3; i++) args[i] = kv[i];
    args[3] = "touch=first";
    const pab_workload *w = pab_workload_find("replay");
    if (pab_values_parse(&c.v, w, 4, args, err, errlen)) return -1;
    c.state = calloc(1, w->state_size);
    int64_t out = -1;
    if (!w->setup(&c, c.state)) {
        uint64_t base = pab_rss_bytes();
        c.instrumented = true;
        if (!w->cycle(&c, c.state) && c.freed) out = (int64_t)c.m.rss_after_free - (int64_t)base;
        w->teardown(&c, c.state);
    }
    snprintf(err, errlen, "%s", c.error);
    free(c.state);
    return out;
}

/* measure() in a child process of its own, so no replay inherits the heap another one left. */
static int64_t growth(const char *trace, const char *layer, const char *mark, char *err, size_t errlen) {
    struct { int64_t v; char err[512]; } r = {-1, "no answer from the child"};
    int fd[2];
    if (pipe(fd)) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        r.v = measure(trace, layer, mark, r.err, sizeof r.err);
        _exit(write(fd[1], &r, sizeof r) == (ssize_t)sizeof r ? 0 : 1);
    }
    close(fd[1]);
    if (read(fd[0], &r, sizeof r) != (ssize_t)sizeof r) r.v = -1;
    close(fd[0]);
    waitpid(pid, NULL, 0);
    snprintf(err, errlen, "%s", r.err);
    return r.v;
}

int main(void) {
    if (!mkdtemp(dir)) return 2;
    char path[256], pym[256], err[512];
    snprintf(path, sizeof path, "%s/malloc.pabt", dir);
    snprintf(pym, sizeof pym, "%s/pymalloc.pabt", dir);
    write_trace(path, "malloc");
    write_trace(pym, NULL);

    /* pymalloc: 64-byte blocks fill (16 KiB - 48 B) / 64 = 255 per pool; the pools' pages are the RSS */
    double pools = (double)((N + 254) / 255) * PAB_PYM_POOL_SIZE, mib = 1 << 20;
    int64_t py = growth(path, "pymalloc", "full", err, sizeof err);
    CHECK(py > 0.97 * pools && py < SLACK * pools, "layer=pymalloc at `full`: %.1f MiB, the pools hold %.1f MiB (%s)",
          py / mib, pools / mib, err);
    int64_t ma = growth(path, "malloc", "full", err, sizeof err);
    CHECK(ma > 0.97 * N * SIZE && ma > 1.10 * py, "layer=malloc at `full`: %.1f MiB (pymalloc %.1f MiB; %s)", ma / mib,
          py / mib, err);
    int64_t rec = growth(path, "recorded", "full", err, sizeof err);
    CHECK(rec > 0.9 * ma && rec < 1.1 * ma, "layer=recorded is malloc for a PYTHONMALLOC=malloc trace: %.1f MiB", rec / mib);
    int64_t end = growth(path, "pymalloc", "end", err, sizeof err);
    CHECK(end >= 0 && end < 0.1 * pools, "layer=pymalloc at the end: %.1f MiB (the arenas are given back)", end / mib);
    int64_t dflt = growth(path, "pymalloc", "exit", err, sizeof err);
    CHECK(dflt >= 0 && dflt < 0.1 * pools, "mark=exit on a trace without it is the end: %.1f MiB", dflt / mib);

    CHECK(growth(path, "pymalloc", "spike", err, sizeof err) == -1 && strstr(err, "no mark `spike`; its marks: full") &&
              !strchr(err, '\n'),
          "unknown mark: '%s'", err);
    CHECK(growth(pym, "malloc", "full", err, sizeof err) == -1 && strstr(err, "recorded under pymalloc"),
          "layer=malloc on a pymalloc trace: '%s'", err);
    CHECK(growth(pym, "recorded", "full", err, sizeof err) > 0, "a pymalloc trace replays as recorded: %s", err);
    unlink(path); unlink(pym); rmdir(dir);
    CHECK_DONE();
}

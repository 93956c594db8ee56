/* test_trace_record.c — records tests/c/progs/alloc_seq.c with libpab-record.so above a counting interposer:
 * the trace holds exactly the program's sequence, its marks, its threads and its forked child, and no call of the
 * recorder's own; it says how it was recorded, and it is compact. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "shell.h"
#include "progs/alloc_seq.h"
#include "trace_format.h"

static char dir[] = "/tmp/pab-trace-rec-XXXXXX";

static int load(const char *path, pab_trace *t) {
    char err[512] = "";
    int rc = pab_trace_load(path, t, err, sizeof err);
    CHECK(rc == 0, "%s", err);
    return rc;
}

/* The sequence after the marker: ops, sizes, alignments, block identity (slot <-> id) and live bytes. */
static void check_sequence(const pab_trace *t) {
    uint64_t i = 0, page = (uint64_t)sysconf(_SC_PAGESIZE);
    while (i + 1 < t->h.events && !(t->rec[i].op == PAB_OP_MALLOC && t->rec[i].size == PAB_SEQ_MARK)) i++;
    CHECK(i + 1 < t->h.events && t->rec[i + 1].op == PAB_OP_FREE && t->rec[i + 1].id == t->rec[i].id, "marker");
    i += 2;
    uint32_t id[PAB_SEQ_SLOTS] = {0};
    for (size_t s = 0; s < PAB_SEQ_STEPS && i < t->h.events; s++, i++) {
        const pab_seq_step *w = &pab_seq[s];
        const pab_trace_rec *r = &t->rec[i];
        size_t align = w->op == PAB_OP_VALLOC || w->op == PAB_OP_PVALLOC ? page : w->align;
        CHECK(r->op == w->op && r->size == (w->op == PAB_OP_FREE ? r->size : w->size) &&
                  (!align || (1ull << r->align_log2) == align) && r->thread == t->rec[0].thread,
              "step %zu: op %u size %llu align 2^%u, want op %d size %zu align %zu", s, r->op,
              (unsigned long long)r->size, r->align_log2, w->op, w->size, align);
        if (w->op == PAB_OP_FREE || w->op == PAB_OP_REALLOC)
            CHECK(r->id == id[w->slot] || (w->op == PAB_OP_REALLOC && !id[w->slot] && r->old == 0),
                  "step %zu: block %u, want %u", s, r->id, id[w->slot]);
        if (w->op == PAB_OP_FREE) id[w->slot] = 0;
        else { CHECK(r->id != 0, "step %zu: no block", s); id[w->slot] = r->id; }
    }
}

/* The two marks around the sequence: the records between them are the marker and the sequence, and the live bytes
 * grew by what the sequence keeps. */
static void check_marks(const pab_trace *t) {
    const pab_trace_mark *a = pab_trace_find_mark(t, "seq_start"), *b = pab_trace_find_mark(t, "seq_done");
    CHECK(t->h.marks == 2 && a && b, "marks %u", t->h.marks);
    if (!a || !b) return;
    CHECK(b->at - a->at == 2 + PAB_SEQ_STEPS, "records between the marks %llu", (unsigned long long)(b->at - a->at));
    CHECK(b->live_bytes - a->live_bytes == PAB_SEQ_KEPT, "live bytes kept %llu", (unsigned long long)(b->live_bytes - a->live_bytes));
    CHECK(t->rec[a->at].op == PAB_OP_MALLOC && t->rec[a->at].size == PAB_SEQ_MARK, "seq_start is before the marker");
    CHECK(b->thread == t->rec[a->at].thread && b->t_ns >= a->t_ns && b->t_ns < t->h.duration_ns + 1, "mark thread and time");
}

/* How it was recorded: a program (not Python), whole; and at most 8 bytes per call on disk. */
static void check_header(const pab_trace *t) {
    CHECK(t->h.version == PAB_TRACE_VERSION && t->h.complete && t->h.layer == PAB_REC_PROGRAM && t->h.lost_events == 0,
          "version %u complete %d layer %d lost %llu", t->h.version, t->h.complete, t->h.layer,
          (unsigned long long)t->h.lost_events);
    CHECK(strstr(t->h.exe, "alloc_seq") && strstr(t->h.cmdline, "alloc_seq") && t->h.page_size == (uint32_t)sysconf(_SC_PAGESIZE),
          "exe '%s' cmdline '%s'", t->h.exe, t->h.cmdline);
    CHECK(t->h.t0_realtime_ns > 1600000000ull * 1000000000ull, "start time %llu", (unsigned long long)t->h.t0_realtime_ns);
    double per = (double)t->h.file_bytes / (double)t->h.events;
    CHECK(per <= 8.0, "%.2f bytes per event (%llu bytes, %llu events)", per, (unsigned long long)t->h.file_bytes,
          (unsigned long long)t->h.events);
}

static void check_threads(const pab_trace *t) {
    uint64_t n = 0, f = 0;
    uint32_t seen = 0;
    for (uint64_t i = 0; i < t->h.events; i++) {
        const pab_trace_rec *r = &t->rec[i];
        if (r->op == PAB_OP_MALLOC && r->size == PAB_SEQ_THREAD_SIZE) { n++; seen |= 1u << (r->thread & 31); }
        if (r->op == PAB_OP_FREE && r->size == PAB_SEQ_THREAD_SIZE) f++;
    }
    CHECK(n == PAB_SEQ_THREADS * PAB_SEQ_PER_THREAD && f == n, "thread mallocs %llu frees %llu", (unsigned long long)n,
          (unsigned long long)f);
    CHECK(t->h.threads == 1 + PAB_SEQ_THREADS && __builtin_popcount(seen) == PAB_SEQ_THREADS, "threads %u", t->h.threads);
}

/* The counting interposer below the recorder saw exactly the calls the trace holds, op by op. */
static void check_counts(const pab_trace *t) {
    char path[512], name[64];
    unsigned long n;
    uint64_t have[PAB_OP_COUNT] = {0};
    for (uint64_t i = 0; i < t->h.events; i++) have[t->rec[i].op]++;
    snprintf(path, sizeof path, "%s/count.%u", dir, t->h.pid);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL, "no counts at %s", path);
    int lines = 0;
    while (f && fscanf(f, "%63s %lu", name, &n) == 2) {
        for (int op = 1; op < PAB_OP_COUNT; op++)
            if (!strcmp(name, pab_trace_op_names[op]))
                CHECK(have[op] == n, "%s: the allocator below saw %lu calls, the trace holds %llu", name, n,
                      (unsigned long long)have[op]);
        lines++;
    }
    CHECK(lines == PAB_OP_COUNT - 1, "count lines %d", lines);
    if (f) fclose(f);
}

static void check_child(const pab_trace *parent) {
    DIR *d = opendir(dir);
    struct dirent *e;
    char raw[512] = "";
    while (d && (e = readdir(d)))
        if (!strncmp(e->d_name, "trace.", 6)) snprintf(raw, sizeof raw, "%s/%s", dir, e->d_name);
    if (d) closedir(d);
    CHECK(raw[0], "the forked child wrote no trace of its own");
    pab_trace t;
    if (!raw[0] || load(raw, &t)) return;
    uint64_t n = 0;
    for (uint64_t i = 0; i < t.h.events; i++) n += t.rec[i].size == PAB_SEQ_CHILD_SIZE;
    CHECK(n == 2 * PAB_SEQ_CHILD, "child events of its own %llu", (unsigned long long)n);
    CHECK(t.h.ppid == parent->h.pid && t.h.pid != parent->h.pid, "child pid %u ppid %u", t.h.pid, t.h.ppid);
    for (uint64_t i = 0; i < parent->h.events; i++)
        CHECK(parent->rec[i].size != PAB_SEQ_CHILD_SIZE, "the child's event %llu is in the parent's trace", (unsigned long long)i);
    pab_trace_unload(&t);
}

int main(void) {
    const char *build = getenv("PAB_BUILD"), *src = getenv("PAB_SOURCE");
    if (!build || !src || !mkdtemp(dir)) { fprintf(stderr, "needs PAB_BUILD and PAB_SOURCE (run through ctest)\n"); return 2; }
    int rc = sh("cc -O0 -pthread -I%s/bench/trace -I%s/tests/c -o %s/alloc_seq %s/tests/c/progs/alloc_seq.c && "
                "cc -O2 -shared -fPIC -o %s/libcount.so %s/tests/c/progs/count_malloc.c -ldl",
                src, src, dir, src, dir, src);
    CHECK(rc == 0, "building the test programs failed");
    rc = sh("PAB_TRACE_OUT=%s/trace PAB_COUNT_OUT=%s/count LD_PRELOAD=%s/bench/libpab-record.so:%s/libcount.so %s/alloc_seq",
            dir, dir, build, dir, dir);
    CHECK(rc == 0, "the recorded program failed: %d", rc);
    char path[512];
    snprintf(path, sizeof path, "%s/trace", dir);
    pab_trace t;
    if (!rc && !load(path, &t)) {
        check_header(&t);
        check_marks(&t);
        check_sequence(&t);
        check_threads(&t);
        check_counts(&t);
        check_child(&t);
        pab_trace_unload(&t);
    }
    sh("rm -rf %s", dir);
    CHECK_DONE();
}

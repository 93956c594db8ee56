/* test_trace_threads.c — multi-threaded replay: tests/c/progs/prodcons.c (one thread allocates, the other frees) is
 * recorded, then its replay is itself recorded: with thread_mode=recorded every handed-over block is freed on
 * another thread than the one that made it, after it was made; with thread_mode=serial on the same one. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "shell.h"
#include "progs/prodcons.h"
#include "trace_format.h"

static char dir[] = "/tmp/pab-trace-mt-XXXXXX";

/* Blocks of PAB_PC_SIZE: how many were freed, and how many of those on another thread than their malloc. */
typedef struct { uint64_t mallocs, frees, cross, unmatched; uint16_t maker, freer; } handoff;

static handoff handoffs(const pab_trace *t) {
    handoff h = {0};
    uint16_t *made = mmap(NULL, (t->h.max_id + 1) * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (uint64_t i = 0; i < t->h.events; i++) {
        const pab_trace_rec *r = &t->rec[i];
        if (r->size != PAB_PC_SIZE) continue;
        if (r->op == PAB_OP_MALLOC && r->id) { made[r->id] = r->thread; h.mallocs++; h.maker = r->thread; }
        if (r->op == PAB_OP_FREE) {
            h.frees++;
            h.unmatched += !r->id;
            h.cross += r->id && made[r->id] != r->thread;
            h.freer = r->thread;
        }
    }
    munmap(made, (t->h.max_id + 1) * 2);
    return h;
}

static int load(const char *name, pab_trace *t) {
    char path[512], err[512] = "";
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int rc = pab_trace_load(path, t, err, sizeof err);
    CHECK(rc == 0, "%s: %s", name, err);
    return rc;
}

/* An ASan build of pyalloc-bench cannot be recorded (ASan must come first and serves malloc itself): there the
 * replays run unrecorded, for the sanitizer's sake, and the checks of their traces are skipped. */
#if defined(__SANITIZE_ADDRESS__)
#define RECORDED 0
#else
#define RECORDED 1
#endif

/* Replays the program's trace with pyalloc-bench under the recorder; the replay's own trace is `name`. */
static void replay(const char *build, const char *mode, const char *window, const char *name) {
    char rec[1024] = "";
    if (RECORDED) snprintf(rec, sizeof rec, "PAB_TRACE_OUT=%s/%s LD_PRELOAD=%s/bench/libpab-record.so", dir, name, build);
    int rc = sh("cd %s && %s %s/bench/pyalloc-bench "
                "--pab_workload=replay --pab_param=trace=%s/prog.pabt --pab_param=thread_mode=%s --pab_param=mark=done "
                "--pab_param=window=%s --pab_cycles=1 --pab_warmup=0 --benchmark_format=json > %s/%s.json 2>&1",
                dir, rec, build, dir, mode, window, dir, name);
    CHECK(rc == 0, "replay thread_mode=%s failed: %d", mode, rc);
    char json[512];
    snprintf(json, sizeof json, "grep -q '\"threads\": %s' %s/%s.json", strcmp(mode, "serial") ? "3" : "1", dir, name);
    CHECK(system(json) == 0, "the threads column of thread_mode=%s", mode);
}

int main(void) {
    const char *build = getenv("PAB_BUILD"), *src = getenv("PAB_SOURCE");
    if (!build || !src || !mkdtemp(dir)) { fprintf(stderr, "needs PAB_BUILD and PAB_SOURCE (run through ctest)\n"); return 2; }
    int rc = sh("cc -O0 -pthread -I%s/tests/c -o %s/prodcons %s/tests/c/progs/prodcons.c", src, dir, src);
    CHECK(rc == 0, "building prodcons failed");
    rc = sh("PAB_TRACE_OUT=%s/prog.pabt LD_PRELOAD=%s/bench/libpab-record.so %s/prodcons", dir, build, dir);
    CHECK(rc == 0, "the recorded program failed: %d", rc);
    pab_trace t;
    if (rc || load("prog.pabt", &t)) CHECK_DONE();
    handoff h = handoffs(&t);
    CHECK(h.mallocs == PAB_PC_BLOCKS && h.frees == PAB_PC_BLOCKS && h.cross == PAB_PC_BLOCKS && !h.unmatched,
          "the program: %llu mallocs, %llu frees, %llu on another thread", (unsigned long long)h.mallocs,
          (unsigned long long)h.frees, (unsigned long long)h.cross);
    pab_trace_unload(&t);

    /* Each cycle (the instrumented one and one timed) replays every block: twice as many in the replay's trace.
     * Window 0 is glibc trace_run's rule alone; 64 also holds each thread near the recorded interleaving. */
    static const char *const windows[] = {"64", "0"};
    for (int k = 0; k < 2; k++) {
        replay(build, "recorded", windows[k], "mt.pabt");
        if (RECORDED && !load("mt.pabt", &t)) {
            h = handoffs(&t);
            CHECK(h.mallocs == 2 * PAB_PC_BLOCKS && h.frees == 2 * PAB_PC_BLOCKS && h.cross == h.frees && !h.unmatched &&
                      t.h.lost_frees == 0 && h.maker != h.freer,
                  "thread_mode=recorded window=%s: %llu mallocs, %llu frees, %llu on another thread, %llu unmatched",
                  windows[k], (unsigned long long)h.mallocs, (unsigned long long)h.frees, (unsigned long long)h.cross,
                  (unsigned long long)h.unmatched);
            pab_trace_unload(&t);
        }
        sh("rm -f %s/mt.pabt", dir);
    }
    replay(build, "serial", "4096", "serial.pabt");
    if (RECORDED && !load("serial.pabt", &t)) {
        h = handoffs(&t);
        CHECK(h.frees == 2 * PAB_PC_BLOCKS && h.cross == 0, "thread_mode=serial: %llu frees, %llu on another thread",
              (unsigned long long)h.frees, (unsigned long long)h.cross);
        pab_trace_unload(&t);
    }
    sh("rm -rf %s", dir);
    CHECK_DONE();
}

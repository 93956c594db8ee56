/* Tests of the freelist and gc_generations workloads run in-process: a clean cycle passes its checksums, one
 * flipped byte in a live object fails the case with "checksum mismatch", and the free lists spare allocator calls. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "pab_freelist.h"
#include "pab_internal.h"

/* setup, `cycles` cycles, teardown; returns 0 or -1 with the case's error in err */
static int run(const char *name, int n, char **kv, int cycles, char *err, size_t len) {
    const pab_workload *w = pab_workload_find(name);
    if (!w) return snprintf(err, len, "no workload %s", name), -1;
    pab_ctx *c = calloc(1, sizeof *c);
    c->seed = 1;
    c->threads = 1;
    int rc = pab_values_parse(&c->v, w, n, kv, err, len);
    if (!rc && w->state_size) c->state = calloc(1, w->state_size);
    if (!rc && w->setup) rc = w->setup(c, c->state);
    c->set_up = !rc;
    for (int i = 0; !rc && i < cycles; i++) rc = w->cycle(c, c->state);
    if (!rc && (c->tally.ops == 0 || c->tally.live_peak <= 0)) rc = -1, snprintf(c->error, sizeof c->error, "no ops counted");
    if (rc && c->error[0]) snprintf(err, len, "%s", c->error);
    pab_case_teardown(c);
    free(c);
    return rc;
}

static void clean_and_corrupt(const char *name, int n, char **kv) {
    char err[600] = "";
    int rc = run(name, n, kv, 2, err, sizeof err);
    CHECK(rc == 0, "%s: a clean run passes: %s", name, err);
    pab_test_corrupt = 1;
    err[0] = 0;
    rc = run(name, n, kv, 1, err, sizeof err);
    pab_test_corrupt = 0;
    CHECK(rc != 0 && strstr(err, "checksum mismatch"), "%s: a flipped byte fails the case: rc %d, '%s'", name, rc, err);
}

int main(void) {
    char *fl[] = {"burst=300", "bursts=20", "layer=pymalloc"};
    clean_and_corrupt("freelist", 3, fl);
    char *fl_off[] = {"burst=300", "bursts=20", "layer=pymalloc", "freelist=off"};
    clean_and_corrupt("freelist", 4, fl_off);
    char *gc[] = {"objects=30000", "layer=pymalloc"};
    clean_and_corrupt("gc_generations", 2, gc);
    char *gc_acyclic[] = {"objects=5000", "layer=pymalloc", "cyclic=0", "ring=1"};
    clean_and_corrupt("gc_generations", 4, gc_acyclic);
    CHECK_DONE();
}

/* --pab_need: every workload's setup stops at its memory guard and reports the very bytes the guard is given in a
 * real run (which, with nothing available, skips the case); replay without a trace fails before; threads are capped. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "pab_internal.h"

static char out[4096];

/* A fresh context of the workload with its defaults and extra "key=value" parameters. */
static pab_ctx *fresh(const pab_workload *w, const char *extra) {
    static pab_ctx c;
    memset(&c, 0, sizeof c);
    char err[256], *kv[1] = {(char *)extra};
    CHECK(!pab_values_parse(&c.v, w, extra ? 1 : 0, kv, err, sizeof err), "%s params: %s", w->name, err);
    c.seed = 42;
    c.threads = 1;
    return &c;
}

/* need mode, then a real setup refused by the guard: the same bytes reach the guard, and nothing was set up. */
static void same_need(const pab_workload *w) {
    pab_ctx *c = fresh(w, NULL);
    int rc = pab_case_need(c, out, sizeof out);
    CHECK(rc == 0 && c->need > 0 && !c->set_up, "%s: need mode rc %d need %llu: %s", w->name, rc,
          (unsigned long long)c->need, c->error);
    CHECK(strstr(out, "\"need_bytes\": ") && strstr(out, c->need_who), "%s: JSON %s", w->name, out);
    uint64_t need = c->need;
    free(c->state);
    c = fresh(w, NULL);
    c->state = calloc(1, w->state_size ? w->state_size : 1);
    rc = w->setup(c, c->state);
    CHECK(rc == -1 && strstr(c->error, "skipped: ") == c->error, "%s: with nothing available: rc %d, %s", w->name, rc,
          c->error);
    CHECK(c->need == need, "%s: the guard was given %llu, need mode said %llu", w->name, (unsigned long long)c->need,
          (unsigned long long)need);
    free(c->state);
}

int main(void) {
    setenv("PAB_MEM_AVAILABLE", "1", 1); /* nothing fits: a real setup stops at its guard too */
    int n = 0;
    for (const pab_workload *w = pab_workload_first(); w; w = w->next, n++)
        if (strcmp(w->name, "replay")) same_need(w);
    CHECK(n >= 9, "%d workloads registered", n);

    pab_ctx *c = fresh(pab_workload_find("replay"), NULL);
    CHECK(pab_case_need(c, out, sizeof out) == 2 && strstr(c->error, "trace"), "replay without a trace: %s", c->error);
    free(c->state);
    c = fresh(pab_workload_find("replay"), "trace=/nonexistent/trace.pabt");
    CHECK(pab_case_need(c, out, sizeof out) == 2 && strstr(c->error, "/nonexistent/trace.pabt"), "missing: %s",
          c->error);
    free(c->state);

    c = fresh(pab_workload_find("threaded_churn"), "threads=16");
    c->cores = 3;
    CHECK(pab_case_need(c, out, sizeof out) == 0 && strstr(out, "\"threads\": 3, \"threads_asked\": 16"), "cap: %s", out);
    uint64_t three = c->need;
    free(c->state);
    c = fresh(pab_workload_find("threaded_churn"), "threads=16");
    c->cores = 6;
    CHECK(pab_case_need(c, out, sizeof out) == 0 && c->need > three, "6 cores need more than 3: %llu vs %llu",
          (unsigned long long)c->need, (unsigned long long)three);
    free(c->state);
    CHECK(pab_threads_for(c, 2) == 2 && c->threads == 2, "below the cap: as asked");
    CHECK_DONE();
}

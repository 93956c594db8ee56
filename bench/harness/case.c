/* One case as one benchmark: setup, one instrumented cycle with timers off (the memory phases of DESIGN §5),
 * then libbenchmark's timed cycles.  Everything workloads have in common lives here. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pab_internal.h"

/* --- what workloads call --------------------------------------------------------------------------- */

static int param_index(const pab_ctx *c, const char *name, pab_ptype want) {
    for (int i = 0; i < c->v.n; i++)
        if (!strcmp(c->v.w->params[i].name, name)) {
            pab_ptype t = c->v.w->params[i].type;
            if (t == want || (want == PAB_P_SIZE && t == PAB_P_INT) || (want == PAB_P_INT && t == PAB_P_SIZE)) return i;
        }
    fprintf(stderr, "pyalloc-bench: workload %s reads parameter %s it does not declare with that type\n",
            c->v.w->name, name);
    abort(); /* a workload bug, found by any test run */
}

uint64_t pab_size(const pab_ctx *c, const char *name) { return c->v.num[param_index(c, name, PAB_P_SIZE)]; }
int64_t pab_int(const pab_ctx *c, const char *name) { return (int64_t)c->v.num[param_index(c, name, PAB_P_INT)]; }
int pab_choice(const pab_ctx *c, const char *name) { return c->v.choice[param_index(c, name, PAB_P_ENUM)]; }
const char *pab_str(const pab_ctx *c, const char *name) { return c->v.text[param_index(c, name, PAB_P_STR)]; }
uint64_t pab_seed(const pab_ctx *c) { return c->seed; }
void pab_set_threads(pab_ctx *c, int threads) { c->threads = threads; }
struct pab_tally *pab_tally(pab_ctx *c) { return &c->tally; }

int pab_fail(pab_ctx *c, const char *fmt, ...) {
    if (c->failed) return -1; /* the first failure is the one that explains */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->error, sizeof c->error, fmt, ap);
    va_end(ap);
    for (char *p = c->error; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    c->failed = true;
    return -1;
}

int pab_enomem(pab_ctx *c, uint64_t bytes) {
    char b[32];
    pab_format_bytes(bytes, b, sizeof b);
    return pab_fail(c, "ENOMEM: %s: the allocator returned NULL for %s (%llu bytes)", c->v.w->name, b,
                    (unsigned long long)bytes);
}

bool pab_need(pab_ctx *c, uint64_t bytes, const char *what) {
    char who[128];
    snprintf(who, sizeof who, "%s (%s)", c->v.w->name, what ? what : "its data");
    if (!pab_guard(bytes, pab_mem_available(), who, c->error, sizeof c->error)) return true;
    c->failed = true;
    return false;
}

void pab_freed(pab_ctx *c) {
    if (c->release_cycle) c->alloc->release();
    if (!c->instrumented) return;
    c->freed = true;
    c->m.rss_after_free = pab_rss_bytes();
    pab_timeline_event("after_free");
}

void pab_event(pab_ctx *c, const char *name) {
    if (c->instrumented) pab_timeline_event(name);
}

/* --- the instrumented cycle -------------------------------------------------------------------------- */

static void measure_once(pab_ctx *c) {
    const pab_workload *w = c->v.w;
    c->measured = true;
    if (w->state_size && !(c->state = calloc(1, w->state_size))) {
        pab_fail(c, "harness: no memory for the workload's state");
        return;
    }
    if (w->setup && w->setup(c, c->state)) {
        if (!c->failed) pab_fail(c, "%s: setup failed", w->name);
        return;
    }
    c->set_up = true;
    c->tally = (struct pab_tally){0};
    if (!pab_hwm_reset()) { /* else the peak would silently include setup */
        pab_fail(c, "harness: cannot reset the peak RSS (writing 5 to /proc/self/clear_refs failed)");
        return;
    }
    if (c->timeline && pab_timeline_start(c->timeline, c->timeline_ms))
        fprintf(stderr, "pyalloc-bench: cannot write the timeline to %s\n", c->timeline);
    c->m.rss_base = pab_rss_bytes();
    pab_hwm_reset();
    uint64_t minor0, major0, minor1, major1;
    pab_faults(&minor0, &major0);

    c->instrumented = true;
    int rc = w->cycle(c, c->state);
    c->instrumented = false;

    c->m.rss_peak = pab_hwm_bytes();
    pab_faults(&minor1, &major1);
    c->m.minor = minor1 - minor0;
    c->m.major = major1 - major0;
    c->m.live_peak = c->tally.live_peak > 0 ? (uint64_t)c->tally.live_peak : 0;
    if (!rc && !c->freed) rc = pab_fail(c, "%s: the cycle never marked `after free` (pab_freed)", w->name);

    uint64_t t = pab_now_ns();
    c->alloc->release();
    c->m.release_ns = pab_now_ns() - t;
    c->m.rss_after_release = pab_rss_bytes();
    pab_timeline_event("release");
    pab_timeline_stop();
    if (rc && !c->failed) pab_fail(c, "%s: the cycle failed", w->name);
}

/* --- the benchmark function: libbenchmark calls it once per run (its estimation runs included) ------------ */

void pab_case_bench(pab_state *st, void *ctx) {
    pab_ctx *c = ctx;
    if (!c->measured) measure_once(c);
    if (c->failed) {
        pab_skip_with_error(st, c->error);
        return;
    }
    uint64_t ops0 = c->tally.ops, n;
    while (pab_keep_running_batch(st, &n))
        for (uint64_t i = 0; i < n; i++)
            if (c->v.w->cycle(c, c->state)) {
                pab_skip_with_error(st, c->error);
                return;
            }
    int64_t iters = pab_iterations_done(st);
    uint64_t ops = c->tally.ops - ops0;
    pab_items_processed(st, (int64_t)ops);
    pab_counter(st, "ops_per_cycle", iters ? (double)ops / (double)iters : 0, PAB_COUNTER_DEFAULT);
    pab_counter(st, "threads", c->threads, PAB_COUNTER_DEFAULT);
    pab_counter(st, "rss_base_bytes", (double)c->m.rss_base, PAB_COUNTER_DEFAULT);
    pab_counter(st, "rss_peak_bytes", (double)c->m.rss_peak, PAB_COUNTER_DEFAULT);
    pab_counter(st, "rss_after_free_bytes", (double)c->m.rss_after_free, PAB_COUNTER_DEFAULT);
    pab_counter(st, "rss_after_release_bytes", (double)c->m.rss_after_release, PAB_COUNTER_DEFAULT);
    pab_counter(st, "release_ns", (double)c->m.release_ns, PAB_COUNTER_DEFAULT);
    pab_counter(st, "live_peak_bytes", (double)c->m.live_peak, PAB_COUNTER_DEFAULT);
    pab_counter(st, "minor_faults", (double)c->m.minor, PAB_COUNTER_DEFAULT);
    pab_counter(st, "major_faults", (double)c->m.major, PAB_COUNTER_DEFAULT);
}

void pab_case_teardown(pab_ctx *c) {
    if (c->set_up && c->v.w->teardown) c->v.w->teardown(c, c->state);
    free(c->state);
    c->state = NULL;
}

/* One case as one benchmark: setup, one instrumented cycle with its own clock (the memory phases and cold_ns of
 * docs/design.md §5), then the timing protocol: `warmup` cycles, then `cycles` timed cycles whose median is the
 * case's time.  Everything workloads have in common lives here. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pab_internal.h"

/* --- what workloads call --------------------------------------------------------------------------- */

static int param_index(const pab_ctx *c, const char *name, pab_ptype want) {
    for (int i = 0; i < c->v.n; i++)
        if (!strcmp(c->v.p[i]->name, name)) {
            pab_ptype t = c->v.p[i]->type;
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
void pab_set_mark(pab_ctx *c, const char *mark) { snprintf(c->mark, sizeof c->mark, "%s", mark ? mark : ""); }
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

int pab_threads_for(pab_ctx *c, int64_t want) {
    long cores = c->cores > 0 ? c->cores : sysconf(_SC_NPROCESSORS_ONLN);
    c->threads_asked = (int)want;
    c->threads = (int)(cores > 0 && want > cores ? cores : want);
    return c->threads;
}

bool pab_need(pab_ctx *c, uint64_t bytes, const char *what) {
    c->need = bytes;
    snprintf(c->need_who, sizeof c->need_who, "%s (%s)", c->v.w->name, what ? what : "its data");
    if (c->need_only) return false; /* --pab_need: what the case would ask for is known; stop before it allocates */
    if (!pab_guard(bytes, pab_mem_available(), c->need_who, c->error, sizeof c->error)) return true;
    c->failed = true;
    return false;
}

/* The service after its spike (docs/design.md §13): idle_mode=sleep sleeps, touching nothing; trickle wakes every
 * ms for one 64 KiB request (written, read, freed): allocator activity, which jemalloc's decay needs unless its
 * background_thread runs.  Neither counts in the tally or in cold_ns. */
static volatile unsigned char idle_sink; /* the trickle's data is read, so no compiler drops its malloc */
static void idle(pab_ctx *c) {
    uint64_t ms = pab_size(c, "idle_ms"), t = pab_now_ns(), end = t + ms * 1000000ull;
    if (!ms) return;
    if (pab_choice(c, "idle_mode") == 1) {
        for (uint64_t i = 0; pab_now_ns() < end; i++) {
            struct timespec d = {0, 1000000L};
            nanosleep(&d, NULL);
            unsigned char *b = malloc(64 << 10);
            if (b) b[0] = (unsigned char)i, b[(64 << 10) - 1] = 1, idle_sink = b[0] + b[(64 << 10) - 1];
            free(b);
        }
    } else {
        struct timespec d = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
        while (nanosleep(&d, &d)) {}
    }
    c->m.rss_after_idle = pab_rss_bytes();
    c->idle_ns = pab_now_ns() - t;
    pab_timeline_event("after_idle");
}

void pab_freed(pab_ctx *c) {
    if (c->release_cycle) c->alloc->release();
    if (!c->instrumented) return;
    c->freed = true;
    c->m.rss_after_free = pab_rss_bytes();
    pab_timeline_event("after_free");
    idle(c);
}

void pab_event(pab_ctx *c, const char *name) {
    if (c->instrumented) pab_timeline_event(name);
}

/* --- what a case reports: libbenchmark counters, each a CSV column of the same name (docs/design.md §6) --- */

#define PAB_NOT_MEASURED UINT64_MAX
typedef struct { const char *name, *unit, *help; size_t off; } pab_counter_def;
#define M(field) offsetof(pab_ctx, m.field)
static const pab_counter_def counters[] = {
    {"rss_base_bytes", "bytes", "RSS before the instrumented cycle's first allocation", M(rss_base)},
    {"rss_peak_bytes", "bytes", "VmHWM over the instrumented cycle", M(rss_peak)},
    {"rss_after_free_bytes", "bytes", "RSS once the cycle freed what it frees (survivors excepted)", M(rss_after_free)},
    {"rss_after_idle_bytes", "bytes", "RSS after idling idle_ms past `after free` (only with idle_ms > 0)", M(rss_after_idle)},
    {"rss_after_release_bytes", "bytes", "RSS after the allocator's release call at the end", M(rss_after_release)},
    {"release_ns", "ns", "how long that release call took", M(release_ns)},
    {"live_peak_bytes", "bytes", "bytes requested and live at the peak", M(live_peak)},
    {"minor_faults", "count", "minor page faults during the instrumented cycle", M(minor)},
    {"major_faults", "count", "major page faults during the instrumented cycle", M(major)},
    {"cold_ns", "ns", "the instrumented (first, cold) cycle's wall time, idle excluded", M(cold_ns)},
    {"real_ns", "ns", "median wall time of the timed cycles", M(real_ns)},
    {"cpu_ns", "ns", "median CPU time of the timed cycles, every thread", M(cpu_ns)},
    {"cycles", "count", "timed cycles (after the warm-up ones)", M(cycles)},
    {"threads", "count", "threads the workload ran", M(threads)},
    {"ops_per_cycle", "count", "object-level requests per timed cycle", M(ops_per_cycle)},
};
#undef M

void pab_counters_json(pab_json *j) {
    pab_json_raw(j, "[");
    for (size_t i = 0; i < sizeof counters / sizeof *counters; i++) {
        pab_json_raw(j, i ? ",\n  {" : "\n  {");
        pab_json_kv(j, "name", counters[i].name, false);
        pab_json_kv(j, "unit", counters[i].unit, false);
        pab_json_kv(j, "help", counters[i].help, true);
        pab_json_raw(j, "}");
    }
    pab_json_raw(j, "]");
}

static void report_counters(pab_state *st, const pab_ctx *c) {
    for (size_t i = 0; i < sizeof counters / sizeof *counters; i++) {
        uint64_t v = *(const uint64_t *)((const char *)c + counters[i].off);
        if (v != PAB_NOT_MEASURED) pab_counter(st, counters[i].name, (double)v, PAB_COUNTER_DEFAULT);
    }
}

/* --- the instrumented cycle -------------------------------------------------------------------------- */

static void measure_once(pab_ctx *c) {
    const pab_workload *w = c->v.w;
    c->measured = true;
    c->m.rss_after_idle = PAB_NOT_MEASURED;
    if (c->failed) return; /* a knob not in force (main.c read_knobs): the case ends before it touches memory */
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
    if (c->timeline && pab_timeline_start(c->timeline, c->timeline_ms, "cycle_start"))
        fprintf(stderr, "pyalloc-bench: cannot write the timeline to %s\n", c->timeline);
    c->m.rss_base = pab_rss_bytes();
    pab_hwm_reset();
    uint64_t minor0, major0, minor1, major1;
    pab_faults(&minor0, &major0);

    c->instrumented = true;
    uint64_t t0 = pab_now_ns();
    int rc = w->cycle(c, c->state);
    c->m.cold_ns = pab_now_ns() - t0 - c->idle_ns;
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

/* --- the timing protocol: libbenchmark runs exactly warmup + cycles iterations (no estimation runs, so the count
 * never depends on how long the first one took); each is one cycle timed by the harness; the median of the last
 * `cycles` is real_ns (and of their CPU time, cpu_ns). ---------------------------------------------------------- */

static int by_value(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static uint64_t median(uint64_t *v, size_t n) {
    qsort(v, n, sizeof *v, by_value);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* --pab_cycle_times=FILE: every cycle's wall and CPU time, the cold one first, for studying the protocol. */
static void write_cycle_times(const pab_ctx *c, const uint64_t *wall, const uint64_t *cpu, uint64_t n) {
    FILE *f = fopen(c->cycle_times, "w");
    if (!f) {
        fprintf(stderr, "pyalloc-bench: cannot write the cycle times to %s\n", c->cycle_times);
        return;
    }
    fprintf(f, "cycle,kind,wall_ns,cpu_ns\n0,cold,%llu,\n", (unsigned long long)c->m.cold_ns);
    for (uint64_t i = 0; i < n; i++)
        fprintf(f, "%llu,%s,%llu,%llu\n", (unsigned long long)i + 1, i < c->warmup ? "warmup" : "timed",
                (unsigned long long)wall[i], (unsigned long long)cpu[i]);
    fclose(f);
}

void pab_case_bench(pab_state *st, void *ctx) {
    pab_ctx *c = ctx;
    enum { MAX = PAB_MAX_CYCLES + PAB_MAX_WARMUP };
    static uint64_t wall[MAX], cpu[MAX]; /* static: out of the heap under test */
    if (!c->measured) measure_once(c);
    if (c->failed) {
        pab_skip_with_error(st, c->error);
        return;
    }
    uint64_t ops0 = c->tally.ops, n = 0;
    while (pab_keep_running(st)) {
        uint64_t t0 = pab_now_ns(), c0 = pab_cpu_ns();
        if (c->v.w->cycle(c, c->state)) {
            pab_skip_with_error(st, c->error);
            return;
        }
        uint64_t dt = pab_now_ns() - t0, dc = pab_cpu_ns() - c0;
        pab_set_iteration_time(st, (double)dt / 1e9);
        if (n < MAX) wall[n] = dt, cpu[n] = dc, n++;
    }
    uint64_t timed = n > c->warmup ? n - c->warmup : 0;
    c->m.cycles = timed;
    if (c->cycle_times) write_cycle_times(c, wall, cpu, n); /* in cycle order, before the medians sort them */
    c->m.real_ns = timed ? median(wall + c->warmup, timed) : 0;
    c->m.cpu_ns = timed ? median(cpu + c->warmup, timed) : 0;
    c->m.threads = (uint64_t)c->threads;
    c->m.ops_per_cycle = n ? (c->tally.ops - ops0) / n : 0;
    pab_items_processed(st, (int64_t)(c->tally.ops - ops0));
    if (c->mark[0]) pab_label(st, c->mark); /* the `mark` column: set by the workload during setup */
    report_counters(st, c);
}

void pab_case_teardown(pab_ctx *c) {
    if (c->set_up && c->v.w->teardown) c->v.w->teardown(c, c->state);
    free(c->state);
    c->state = NULL;
}

/* test_protocol: the timing protocol of bench/harness/case.c through libbenchmark, with a test-only workload that
 * sleeps known times: cold_ns is the instrumented cycle's own duration (idle excluded), and the number of timed
 * cycles is what was asked whatever the first cycles took (a slow first cycle cannot turn 5 cycles into 1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "pab_internal.h"

#define MS 1000000ull

/* --- the test workload: sleeps cold_ms in its first (instrumented) cycle, first_ms in the one after, cycle_ms in
 * every other; it writes and checks a little data like every workload, and records its own view of cycle 0. */
struct sleepy { int cycles; uint64_t inner0; char *data; };

static void sleep_ms(uint64_t ms) {
    struct timespec d = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&d, &d)) {}
}

static int sleepy_cycle(pab_ctx *c, void *state) {
    struct sleepy *s = state;
    uint64_t t0 = pab_now_ns();
    int n = s->cycles++;
    sleep_ms(pab_size(c, n == 0 ? "cold_ms" : n == 1 ? "first_ms" : "cycle_ms"));
    s->data = malloc(4096);
    if (!s->data) return pab_enomem(c, 4096);
    memset(s->data, n & 0xff, 4096);
    int bad = s->data[4095] != (char)(n & 0xff);
    free(s->data);
    pab_freed(c); /* with idle_ms > 0 the harness idles here: part of this cycle, not of cold_ns */
    if (n == 0) s->inner0 = pab_now_ns() - t0;
    return bad ? pab_fail(c, "sleepy: checksum mismatch") : 0;
}

static const pab_param sleepy_params[] = {
    {"cold_ms", PAB_P_INT, "0", NULL, "sleep in the instrumented cycle", 0, 0},
    {"first_ms", PAB_P_INT, "0", NULL, "sleep in the first cycle after it", 0, 0},
    {"cycle_ms", PAB_P_INT, "1", NULL, "sleep in every later cycle", 0, 0},
    {NULL, PAB_P_INT, NULL, NULL, NULL, 0, 0},
};
PAB_WORKLOAD(sleepy, .shows = "test only", .does = "sleeps", .params = sleepy_params,
             .state_size = sizeof(struct sleepy), .cycle = sleepy_cycle);

/* --- a case as main.c makes one; several per process, each under its own benchmark name */
struct tcase { const char *name; const char *kv[4]; unsigned cycles, warmup; };

static struct tcase cases[] = {
    {"cold", {"cold_ms=150", "cycle_ms=2"}, 5, 1},
    {"cold_idle", {"cold_ms=120", "cycle_ms=2", "idle_ms=100"}, 3, 1},
    {"slow_first", {"first_ms=400", "cycle_ms=2"}, 5, 0}, /* the first timed cycle outlasts min_time */
    {"quick_first", {"cycle_ms=2"}, 5, 0},
    {"warm_first", {"first_ms=400", "cycle_ms=2"}, 4, 2},
};
#define NCASES (sizeof cases / sizeof *cases)
static pab_ctx ctx[NCASES];

/* The number after "key": in the JSON object of benchmark `name` (libbenchmark writes one object per benchmark). */
static double field(const char *json, const char *name, const char *key) {
    char pat[128];
    snprintf(pat, sizeof pat, "\"name\": \"%s/", name);
    const char *b = strstr(json, pat), *end = b ? strstr(b, "\n    }") : NULL;
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *k = b ? strstr(b, pat) : NULL;
    return k && (!end || k < end) ? atof(k + strlen(pat)) : -1;
}

int main(void) {
    char *argv[5];
    check_bench_argv("test_protocol", "0.05", argv);
    const char *out = check_json_path;
    int argc = 4;
    pab_initialize(&argc, argv);
    const pab_workload *w = pab_workload_find("sleepy");
    CHECK(w != NULL, "the test workload is registered");
    if (!w) CHECK_DONE();
    for (size_t i = 0; i < NCASES; i++) {
        struct tcase *t = &cases[i];
        pab_ctx *c = &ctx[i];
        char err[256], *kv[4];
        int n = 0;
        for (; n < 4 && t->kv[n]; n++) kv[n] = (char *)t->kv[n];
        CHECK(!pab_values_parse(&c->v, w, n, kv, err, sizeof err), "%s: %s", t->name, err);
        c->alloc = pab_alloc_find("glibc");
        c->threads = 1;
        c->cycles = t->cycles;
        c->warmup = t->warmup;
        pab_unit_ns(pab_use_manual_time(pab_iterations(pab_register(t->name, pab_case_bench, c),
                                                       (int64_t)t->warmup + t->cycles)));
    }
    CHECK(pab_run_specified() == (int)NCASES, "every case ran");
    const char *json = check_slurp(out);
    for (size_t i = 0; i < NCASES; i++) {
        struct tcase *t = &cases[i];
        pab_ctx *c = &ctx[i];
        struct sleepy *s = c->state;
        CHECK(!c->failed, "%s: %s", t->name, c->error);
        /* the protocol: exactly warmup + cycles iterations, `cycles` of them timed, whatever the first ones took */
        CHECK(field(json, t->name, "cycles") == t->cycles, "%s: %g timed cycles, asked %u", t->name,
              field(json, t->name, "cycles"), t->cycles);
        CHECK(field(json, t->name, "iterations") == t->warmup + t->cycles, "%s: %g iterations", t->name,
              field(json, t->name, "iterations"));
        CHECK(s && s->cycles == (int)(1 + t->warmup + t->cycles), "%s: the workload ran %d cycles", t->name,
              s ? s->cycles : -1);
        /* cold_ns is the instrumented cycle as the harness timed it: at least what the workload measured inside
         * it, less the idle, and no more than that plus start-up slack; never the timed cycles' figure */
        double cold = field(json, t->name, "cold_ns"), inner = s ? (double)s->inner0 : 0, idle = (double)c->idle_ns;
        CHECK(cold >= inner - idle && cold < inner - idle + 1e9, "%s: cold_ns %.0f vs the cycle's own %.0f - idle %.0f",
              t->name, cold, inner, idle);
        CHECK(cold >= (double)pab_size(c, "cold_ms") * MS, "%s: cold_ns %.0f is shorter than its sleep", t->name,
              cold);
    }
    CHECK(ctx[1].idle_ns >= 100 * MS, "the idle was timed apart: idle_ns %llu",
          (unsigned long long)ctx[1].idle_ns);
    /* a slow first timed cycle is one of five: the median ignores it (the old protocol could report it alone) */
    double slow = field(json, "slow_first", "real_ns"), warm = field(json, "warm_first", "real_ns");
    CHECK(slow >= 2 * MS && slow < 400 * MS, "slow_first real_ns %.0f", slow);
    CHECK(warm >= 2 * MS && warm < 400 * MS, "warm_first real_ns %.0f (the slow cycle was a warm-up one)", warm);
    for (size_t i = 0; i < NCASES; i++) pab_case_teardown(&ctx[i]);
    pab_shutdown();
    unlink(out);
    CHECK_DONE();
}

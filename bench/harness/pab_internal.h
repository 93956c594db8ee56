/* pab_internal.h — the harness's one internal header: probes, parameters, guard, timeline, the case context.
 * Workload files never include it; tests may. */
#ifndef PAB_INTERNAL_H
#define PAB_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "pab.h"
#include "pab_alloc.h"
#include "pab_sys.h"
#include "pab_workload.h"

#define PAB_MAX_PARAMS 24

/* Parameters (params.c). */
typedef struct {
    const pab_workload *w;
    int n;
    const pab_param *p[PAB_MAX_PARAMS];  /* the workload's parameters, then pab_common_params */
    const char *text[PAB_MAX_PARAMS];
    uint64_t num[PAB_MAX_PARAMS];
    int choice[PAB_MAX_PARAMS];
} pab_values;
extern const pab_param pab_common_params[];
int pab_params_of(const pab_workload *w, const pab_param **out, int max); /* the workload's, then the common ones */
bool pab_param_common(const pab_param *p);
/* Fill v from the workload's defaults and "key=value" overrides; 0 ok, else -1 with one line in err. */
int pab_values_parse(pab_values *v, const pab_workload *w, int n, char **kv, char *err, size_t errlen);
void pab_values_format(const pab_values *v, char *out, size_t len); /* key=value;... sorted by key */

/* A case: the workload, its values, the timing protocol, and what the instrumented cycle measured. */
#define PAB_MAX_CYCLES 100000
#define PAB_MAX_WARMUP 1000
struct pab_ctx {
    struct pab_tally tally;
    pab_values v;
    void *state;
    const pab_allocator *alloc;
    uint64_t seed;
    int threads, threads_asked, cores; /* cores: what pab_threads_for caps at (0: those online) */
    unsigned cycles, warmup; /* the timing protocol: warm-up cycles, then timed cycles */
    bool release_cycle, instrumented, freed, set_up, measured, failed;
    bool need_only;      /* --pab_need: pab_need records and stops setup there (need.c) */
    uint64_t need;       /* what setup asked the guard for (pab_need), and for what */
    char need_who[128];
    const char *timeline, *cycle_times;
    unsigned timeline_ms;
    uint64_t idle_ns; /* spent idling inside the instrumented cycle: not part of cold_ns */
    struct { /* every field is a counter of the same name (case.c's table); UINT64_MAX: not measured */
        uint64_t rss_base, rss_peak, rss_after_free, rss_after_idle, rss_after_release, release_ns, live_peak, minor,
            major, cold_ns, real_ns, cpu_ns, cycles, threads, ops_per_cycle;
    } m;
    char mark[64];     /* where `after free` was taken, when the workload says (replay: a trace's mark) */
    char tuning[1024]; /* knob values read back from the allocator before the base RSS */
    char error[512];
};
void pab_case_bench(pab_state *st, void *ctx); /* the benchmark function of every workload */
void pab_case_teardown(pab_ctx *c);
void pab_counters_json(pab_json *j);           /* the counter table, for --pab_list */
int pab_case_need(pab_ctx *c, char *out, size_t len); /* --pab_need (need.c): 0 and JSON in out, or 2 and why */

#endif

/* pab_internal.h — the harness's one internal header: probes, parameters, guard, timeline, the case context.
 * Workload files never include it; tests may. */
#ifndef PAB_INTERNAL_H
#define PAB_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "pab.h"
#include "pab_alloc.h"
#include "pab_workload.h"

#define PAB_MAX_PARAMS 24

/* Memory probes (probe.c): no malloc, only open/read of /proc. */
uint64_t pab_rss_bytes(void);             /* resident pages, /proc/self/statm */
uint64_t pab_hwm_bytes(void);             /* VmHWM, /proc/self/status */
bool pab_hwm_reset(void);                 /* write 5 to /proc/self/clear_refs */
void pab_faults(uint64_t *minor, uint64_t *major);
uint64_t pab_now_ns(void);
uint64_t pab_mem_available(void);         /* MemAvailable, or PAB_MEM_AVAILABLE (bytes) when set: tests */
uint64_t pab_proc_field(const char *path, const char *key); /* "Key:  123 kB" -> bytes; 0 if absent */

/* Parameters (params.c). */
int pab_parse_size(const char *s, uint64_t *out);  /* digits with an optional K/M/G/T suffix (1024) */
typedef struct {
    const pab_workload *w;
    int n;
    const char *text[PAB_MAX_PARAMS];
    uint64_t num[PAB_MAX_PARAMS];
    int choice[PAB_MAX_PARAMS];
} pab_values;
/* Fill v from the workload's defaults and "key=value" overrides; 0 ok, else -1 with one line in err. */
int pab_values_parse(pab_values *v, const pab_workload *w, int n, char **kv, char *err, size_t errlen);
void pab_values_format(const pab_values *v, char *out, size_t len); /* key=value;... sorted by key */

/* The memory guard (guard.c): 0 if need fits the safe share of avail, else -1 and a message. */
#define PAB_GUARD_SHARE 0.80
#define PAB_GUARD_RESERVE (256ULL << 20)
int pab_guard(uint64_t need, uint64_t avail, const char *who, char *msg, size_t len);
void pab_format_bytes(uint64_t n, char *out, size_t len);

/* The timeline (timeline.c): a sampler thread, buffers from mmap. */
int pab_timeline_start(const char *path, unsigned ms);
void pab_timeline_event(const char *name);
void pab_timeline_stop(void);

/* A case: the workload, its values, and what the instrumented cycle measured. */
struct pab_ctx {
    struct pab_tally tally;
    pab_values v;
    void *state;
    const pab_allocator *alloc;
    uint64_t seed;
    int threads;
    bool release_cycle, instrumented, freed, set_up, measured, failed;
    const char *timeline;
    unsigned timeline_ms;
    struct {
        uint64_t rss_base, rss_peak, rss_after_free, rss_after_release, release_ns, live_peak, minor, major;
    } m;
    char error[512];
};
void pab_case_bench(pab_state *st, void *ctx); /* the benchmark function of every workload */
void pab_case_teardown(pab_ctx *c);

#endif

/* pab.h — the C benchmark API of pyalloc-bench: libbenchmark's loop, counters and flags from C11.
 * Implemented by exactly one C++ file (bench/harness/pab_shim.cc); read it like Google Benchmark's header. */
#ifndef PAB_H
#define PAB_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pab_state pab_state;  /* one benchmark run: the timed loop and its counters */
typedef struct pab_bench pab_bench;  /* one registered benchmark: its arguments and options */
typedef void (*pab_fn)(pab_state *st, void *user);

/* Registration reads like a sentence:
 *   pab_args(pab_arg_names(pab_register("alloc", bm_alloc, NULL), 2, names), 2, values); */
pab_bench *pab_register(const char *name, pab_fn fn, void *user);
pab_bench *pab_arg_names(pab_bench *b, int n, const char *const *names);
pab_bench *pab_args(pab_bench *b, int n, const int64_t *values); /* one argument set per call */
pab_bench *pab_min_time(pab_bench *b, double seconds);
pab_bench *pab_iterations(pab_bench *b, int64_t n);
pab_bench *pab_use_real_time(pab_bench *b);
pab_bench *pab_use_manual_time(pab_bench *b); /* the function times each iteration itself: pab_set_iteration_time */
pab_bench *pab_unit_ns(pab_bench *b);

/* The timed loop.  Batch form (costs nothing per iteration, like native C++):
 *   uint64_t n; while (pab_keep_running_batch(st, &n)) for (uint64_t i = 0; i < n; i++) body();
 * Per-iteration form (about 1 ns of overhead each):  while (pab_keep_running(st)) body(); */
bool pab_keep_running_batch(pab_state *st, uint64_t *n);
bool pab_keep_running(pab_state *st);
void pab_set_iteration_time(pab_state *st, double seconds); /* with pab_use_manual_time, once per iteration */
void pab_pause(pab_state *st);
void pab_resume(pab_state *st);

int64_t pab_range(const pab_state *st, int i);       /* the i-th registered argument */
int64_t pab_iterations_done(const pab_state *st);

/* Counters: the flags mirror benchmark::Counter::Flags (static_assert'ed in the shim). */
enum {
    PAB_COUNTER_DEFAULT = 0,
    PAB_COUNTER_RATE = 1 << 0,               /* divided by the run's time */
    PAB_COUNTER_AVG_THREADS = 1 << 1,
    PAB_COUNTER_ITERATION_INVARIANT = 1 << 2, /* multiplied by the iterations */
    PAB_COUNTER_AVG_ITERATIONS = 1 << 3,      /* divided by the iterations */
};
void pab_counter(pab_state *st, const char *name, double value, int flags);
void pab_items_processed(pab_state *st, int64_t items);
void pab_label(pab_state *st, const char *label);
void pab_skip_with_error(pab_state *st, const char *msg); /* the loop then does not run */
bool pab_error_occurred(const pab_state *st);

/* Run-wide context, written into the JSON output's "context" object. */
void pab_context(const char *key, const char *value);

/* The driver: parses and removes the --benchmark_* flags, runs what was registered. */
void pab_initialize(int *argc, char **argv);
bool pab_report_unrecognized(int argc, char **argv); /* true when an unknown flag remains */
int pab_run_specified(void);                         /* number of benchmarks run */
void pab_shutdown(void);

#ifdef __cplusplus
}
#endif
#endif

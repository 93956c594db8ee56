/* pab_shim.cc — the one C++ file: pab.h's C API over Google Benchmark 1.7.1.
 * Nothing here measures anything of its own; it forwards to libbenchmark so all its flags keep working. */
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "pab.h"

struct pab_state {
    benchmark::State *st;
    bool started;
};

static_assert(int(PAB_COUNTER_DEFAULT) == int(benchmark::Counter::kDefaults), "counter flags mirror libbenchmark");
static_assert(int(PAB_COUNTER_RATE) == int(benchmark::Counter::kIsRate), "counter flags mirror libbenchmark");
static_assert(int(PAB_COUNTER_AVG_THREADS) == int(benchmark::Counter::kAvgThreads), "counter flags mirror libbenchmark");
static_assert(int(PAB_COUNTER_ITERATION_INVARIANT) == int(benchmark::Counter::kIsIterationInvariant),
              "counter flags mirror libbenchmark");
static_assert(int(PAB_COUNTER_AVG_ITERATIONS) == int(benchmark::Counter::kAvgIterations), "counter flags mirror libbenchmark");

static benchmark::internal::Benchmark *B(pab_bench *b) { return reinterpret_cast<benchmark::internal::Benchmark *>(b); }
static pab_bench *P(benchmark::internal::Benchmark *b) { return reinterpret_cast<pab_bench *>(b); }

extern "C" {

pab_bench *pab_register(const char *name, pab_fn fn, void *user) {
    return P(benchmark::RegisterBenchmark(name, [fn, user](benchmark::State &st) {
        pab_state s{&st, false};
        fn(&s, user);
    }));
}

pab_bench *pab_arg_names(pab_bench *b, int n, const char *const *names) {
    return P(B(b)->ArgNames(std::vector<std::string>(names, names + n)));
}
pab_bench *pab_args(pab_bench *b, int n, const int64_t *values) {
    return P(B(b)->Args(std::vector<int64_t>(values, values + n)));
}
pab_bench *pab_min_time(pab_bench *b, double seconds) { return P(B(b)->MinTime(seconds)); }
pab_bench *pab_iterations(pab_bench *b, int64_t n) { return P(B(b)->Iterations(n)); }
pab_bench *pab_use_real_time(pab_bench *b) { return P(B(b)->UseRealTime()); }
pab_bench *pab_use_manual_time(pab_bench *b) { return P(B(b)->UseManualTime()); }
pab_bench *pab_unit_ns(pab_bench *b) { return P(B(b)->Unit(benchmark::kNanosecond)); }

/* One batch of all the iterations libbenchmark asked for, then a call that ends the loop. */
bool pab_keep_running_batch(pab_state *s, uint64_t *n) {
    if (!s->started) {
        s->started = true;
        *n = static_cast<uint64_t>(s->st->max_iterations);
        return s->st->KeepRunningBatch(s->st->max_iterations);
    }
    *n = 0;
    return s->st->KeepRunningBatch(1);
}
bool pab_keep_running(pab_state *s) { return s->st->KeepRunning(); }
void pab_set_iteration_time(pab_state *s, double seconds) { s->st->SetIterationTime(seconds); }
void pab_pause(pab_state *s) { s->st->PauseTiming(); }
void pab_resume(pab_state *s) { s->st->ResumeTiming(); }
int64_t pab_range(const pab_state *s, int i) { return s->st->range(i); }
int64_t pab_iterations_done(const pab_state *s) { return s->st->iterations(); }

void pab_counter(pab_state *s, const char *name, double value, int flags) {
    s->st->counters[name] = benchmark::Counter(value, static_cast<benchmark::Counter::Flags>(flags));
}
void pab_items_processed(pab_state *s, int64_t items) { s->st->SetItemsProcessed(items); }
void pab_label(pab_state *s, const char *label) { s->st->SetLabel(label); }
void pab_skip_with_error(pab_state *s, const char *msg) { s->st->SkipWithError(msg); }
bool pab_error_occurred(const pab_state *s) { return s->st->error_occurred(); }

void pab_context(const char *key, const char *value) { benchmark::AddCustomContext(key, value); }
void pab_initialize(int *argc, char **argv) { benchmark::Initialize(argc, argv); }
bool pab_report_unrecognized(int argc, char **argv) { return benchmark::ReportUnrecognizedArguments(argc, argv); }
int pab_run_specified(void) { return static_cast<int>(benchmark::RunSpecifiedBenchmarks()); }
void pab_shutdown(void) { benchmark::Shutdown(); }
}

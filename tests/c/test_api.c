/* The C benchmark API over libbenchmark: the batch loop runs exactly the iterations libbenchmark counts,
 * arguments arrive by name, counters, items, skip-with-error and context reach the JSON output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "pab.h"

static long mismatches, batch_calls, loop_calls, args_seen[2];

static void bm_batch(pab_state *st, void *user) {
    uint64_t n, body = 0;
    while (pab_keep_running_batch(st, &n))
        for (uint64_t i = 0; i < n; i++) body++;
    if ((int64_t)body != pab_iterations_done(st)) mismatches++;
    batch_calls++;
    pab_counter(st, "answer", 42, PAB_COUNTER_DEFAULT);
    pab_items_processed(st, (int64_t)body * 3);
}

static void bm_loop(pab_state *st, void *user) {
    int64_t body = 0;
    while (pab_keep_running(st))
        if (body++ == 0) { /* pause and resume inside the loop, as libbenchmark requires */
            pab_pause(st);
            pab_resume(st);
        }
    if (body != pab_iterations_done(st)) mismatches++;
    loop_calls++;
    args_seen[0] = pab_range(st, 0);
    args_seen[1] = pab_range(st, 1);
}

static void bm_skip(pab_state *st, void *user) {
    pab_skip_with_error(st, "skipped: not enough memory for this test");
    CHECK(pab_error_occurred(st), "error flag");
}

int main(void) {
    char *argv[5];
    check_bench_argv("test_api", "0.01", argv);
    const char *out = check_json_path;
    int argc = 4;
    pab_initialize(&argc, argv);
    CHECK(argc == 1 && !pab_report_unrecognized(argc, argv), "libbenchmark took its flags (argc %d)", argc);

    static const char *const names[] = {"n", "k"};
    static const int64_t values[] = {3, 7};
    pab_register("batch", bm_batch, NULL);
    pab_args(pab_arg_names(pab_register("loop", bm_loop, NULL), 2, names), 2, values);
    pab_iterations(pab_register("skip", bm_skip, NULL), 5);
    pab_context("pab_test", "context-value");
    CHECK(pab_run_specified() == 3, "three benchmarks run");
    pab_shutdown();

    CHECK(mismatches == 0, "%ld runs where the body count differed from libbenchmark's iterations", mismatches);
    CHECK(batch_calls >= 1 && loop_calls >= 1, "calls %ld %ld", batch_calls, loop_calls);
    CHECK(args_seen[0] == 3 && args_seen[1] == 7, "args %ld %ld", args_seen[0], args_seen[1]);
    char *json = check_slurp(out);
    CHECK(strstr(json, "\"pab_test\": \"context-value\""), "context in JSON");
    CHECK(strstr(json, "\"name\": \"loop/n:3/k:7\""), "named arguments in the name");
    CHECK(strstr(json, "\"answer\": 4.2"), "counter in JSON");
    CHECK(strstr(json, "\"items_per_second\""), "items processed");
    CHECK(strstr(json, "\"error_message\": \"skipped: not enough memory for this test\""), "skip-with-error");
    unlink(out);
    CHECK_DONE();
}

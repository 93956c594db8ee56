/* check.h — the tiny assertion kit of the C tests: CHECK keeps going and counts, CHECK_DONE ends main.
 * A test binary prints each failure with its line and exits non-zero if any check failed. */
#ifndef PAB_CHECK_H
#define PAB_CHECK_H
#include <stdio.h>

static int pab_check_failures, pab_check_count;

#define CHECK(cond, ...)                                                         \
    do {                                                                         \
        pab_check_count++;                                                       \
        if (!(cond)) {                                                           \
            pab_check_failures++;                                                \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                        \
            fputc('\n', stderr);                                                 \
        }                                                                        \
    } while (0)

#define CHECK_DONE()                                                             \
    do {                                                                         \
        printf("%d checks, %d failed\n", pab_check_count, pab_check_failures);   \
        return pab_check_failures ? 1 : 0;                                       \
    } while (0)

/* For tests that run libbenchmark in-process: a per-process JSON output file for `test`, libbenchmark's flags for it
 * (argv[0..3], NULL-terminated; argc 4), and the whole file read back afterwards. */
#include <unistd.h>
static char check_json_path[64], check_json_flag[96];
static inline void check_bench_argv(const char *test, const char *min_time, char **argv) {
    static char min_flag[64];
    snprintf(check_json_path, sizeof check_json_path, "/tmp/pab-%s-%d.json", test, (int)getpid());
    snprintf(check_json_flag, sizeof check_json_flag, "--benchmark_out=%s", check_json_path);
    snprintf(min_flag, sizeof min_flag, "--benchmark_min_time=%s", min_time);
    argv[0] = (char *)test, argv[1] = check_json_flag, argv[2] = "--benchmark_out_format=json", argv[3] = min_flag;
    argv[4] = NULL;
}

static inline char *check_slurp(const char *path) {
    static char buf[1 << 17];
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    buf[n] = 0;
    if (f) fclose(f);
    return buf;
}

#endif

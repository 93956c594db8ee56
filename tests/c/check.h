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

#endif

/* pab_assert.h — internal invariant checks, as mimalloc's mi_assert_internal: compiled in when PAB_DEBUG is set
 * (Debug and sanitizer builds, CMakeLists.txt), compiled out in Release, where they cost nothing.
 * A failed check is a bug in the harness, never bad input: it names the expression and aborts. */
#ifndef PAB_ASSERT_H
#define PAB_ASSERT_H

#ifndef PAB_DEBUG
#define PAB_DEBUG 0
#endif

#if PAB_DEBUG
#include <stdio.h>
#include <stdlib.h>

__attribute__((noreturn, cold)) static inline void pab_assert_fail(const char *expr, const char *file, int line,
                                                                   const char *func) {
    fprintf(stderr, "pyalloc-bench: internal check failed: %s (%s:%d, %s)\n", expr, file, line, func);
    abort();
}
#define pab_assert_internal(expr) ((expr) ? (void)0 : pab_assert_fail(#expr, __FILE__, __LINE__, __func__))
#else
#define pab_assert_internal(expr) ((void)0)
#endif

#endif

/* toy_alloc.c — a correct allocator for the tests: a thin layer over glibc's own heap (__libc_malloc and co., so no
 * dlsym bootstrapping) with symbols of its own: toy_alloc_calls (unique), toy_release, toy_version.  The test that
 * adds an allocator builds it and preloads it (tests/cli/test_toy_allocator.py). */
#include <malloc.h>
#include <stddef.h>

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

static unsigned long long calls;

void *malloc(size_t n) {
    __atomic_fetch_add(&calls, 1, __ATOMIC_RELAXED);
    return __libc_malloc(n);
}
void *calloc(size_t n, size_t size) {
    __atomic_fetch_add(&calls, 1, __ATOMIC_RELAXED);
    return __libc_calloc(n, size);
}
void *realloc(void *p, size_t n) {
    __atomic_fetch_add(&calls, 1, __ATOMIC_RELAXED);
    return __libc_realloc(p, n);
}
void free(void *p) { __libc_free(p); }

unsigned long long toy_alloc_calls(void) { return __atomic_load_n(&calls, __ATOMIC_RELAXED); }
int toy_release(void) { return malloc_trim(0); } /* the heap is glibc's: giving back its free pages is the release */
const char *toy_version(void) { return "0.1-toy"; }

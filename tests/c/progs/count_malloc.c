/* count_malloc.c — a preloaded malloc-family interposer that only counts calls (outermost only) and forwards
 * them; loaded below the recorder it proves the recorder forwards each call once and makes none of its own. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { C_MALLOC, C_CALLOC, C_REALLOC, C_FREE, C_POSIX_MEMALIGN, C_ALIGNED_ALLOC, C_MEMALIGN, C_VALLOC, C_PVALLOC, C_N };
static const char *const names[C_N] = {"malloc", "calloc", "realloc", "free", "posix_memalign", "aligned_alloc",
                                       "memalign", "valloc", "pvalloc"};
static _Atomic unsigned long counts[C_N];
static __thread int depth;
static char boot[1 << 16];
static size_t boot_used;

#define REAL(name) static __typeof__(name) *r_##name; if (!r_##name) r_##name = dlsym(RTLD_NEXT, #name)
#define ENTER(k) if (!depth) counts[k]++; depth++
#define LEAVE depth--

static int in_boot(void *p) { return (char *)p >= boot && (char *)p < boot + sizeof boot; }

void *malloc(size_t n) {
    ENTER(C_MALLOC); REAL(malloc); void *p = r_malloc(n); LEAVE; return p;
}
void *calloc(size_t k, size_t n) {
    static int resolving;
    if (resolving) { void *p = boot + boot_used; boot_used += (k * n + 15) & ~15ul; return p; }
    ENTER(C_CALLOC);
    static void *(*r_calloc)(size_t, size_t);
    if (!r_calloc) { resolving = 1; r_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc"); resolving = 0; }
    void *p = r_calloc(k, n); LEAVE; return p;
}
void *realloc(void *q, size_t n) { ENTER(C_REALLOC); REAL(realloc); void *p = r_realloc(q, n); LEAVE; return p; }
void free(void *q) {
    if (!q || in_boot(q)) return;
    ENTER(C_FREE); REAL(free); r_free(q); LEAVE;
}
int posix_memalign(void **o, size_t a, size_t n) {
    ENTER(C_POSIX_MEMALIGN); REAL(posix_memalign); int r = r_posix_memalign(o, a, n); LEAVE; return r;
}
void *aligned_alloc(size_t a, size_t n) { ENTER(C_ALIGNED_ALLOC); REAL(aligned_alloc); void *p = r_aligned_alloc(a, n); LEAVE; return p; }
void *memalign(size_t a, size_t n) { ENTER(C_MEMALIGN); REAL(memalign); void *p = r_memalign(a, n); LEAVE; return p; }
void *valloc(size_t n) { ENTER(C_VALLOC); REAL(valloc); void *p = r_valloc(n); LEAVE; return p; }
void *pvalloc(size_t n) { ENTER(C_PVALLOC); REAL(pvalloc); void *p = r_pvalloc(n); LEAVE; return p; }

__attribute__((destructor)) static void report(void) {
    const char *out = getenv("PAB_COUNT_OUT");
    if (!out) return;
    char path[4096], line[4096];
    snprintf(path, sizeof path, "%s.%d", out, (int)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644), n = 0;
    for (int i = 0; i < C_N; i++) n += snprintf(line + n, sizeof line - n, "%s %lu\n", names[i], counts[i]);
    if (fd >= 0 && write(fd, line, (size_t)n) != n) n = -1;
    if (fd >= 0) close(fd);
}

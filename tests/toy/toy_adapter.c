/* Adapter: toy (tests/toy/toy_alloc.c).  The toy-allocator test copies this file into a copy of the tree as
 * allocators/toy.c: with one row of a configurations table, it is all that adding an allocator takes. */
#include <stdio.h>

#include "pab_alloc.h"

static void release(void) {
    int (*rel)(void) = (int (*)(void))pab_alloc_sym("toy_release");
    if (rel) rel();
}

static void version(char *out, size_t len) {
    const char *(*ver)(void) = (const char *(*)(void))pab_alloc_sym("toy_version");
    snprintf(out, len, "%s", ver ? ver() : "unknown");
}

PAB_ALLOCATOR(toy, .unique = "toy_alloc_calls", .soname = "libtoyalloc.so", .release = release, .version = version,
              .release_text = "toy_release()", .release_py = "ctypes.CDLL(None).toy_release()");

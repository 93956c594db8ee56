/* Adapter: mimalloc.  Release = mi_collect(true) (force: frees and decommits what it can).
 * Version from mi_version(): 209 -> 2.0.9. */
#include <stdbool.h>
#include <stdio.h>

#include "pab_alloc.h"

static void release(void) {
    void (*collect)(bool) = (void (*)(bool))pab_alloc_sym("mi_collect");
    if (collect) collect(true);
}

static void version(char *out, size_t len) {
    int (*ver)(void) = (int (*)(void))pab_alloc_sym("mi_version");
    int v = ver ? ver() : 0;
    if (v) snprintf(out, len, "%d.%d.%d", v / 100, v / 10 % 10, v % 10);
    else snprintf(out, len, "unknown");
}

const pab_allocator pab_alloc_mimalloc = {"mimalloc", "mi_version", release, version};

/* Adapter: gperftools tcmalloc.  Release = mark this thread idle (returns its cache), then release free memory.
 * Version from tc_version(): "gperftools 2.10". */
#include <stdio.h>

#include "pab_alloc.h"

static void release(void) {
    void (*idle)(void) = (void (*)(void))pab_alloc_sym("MallocExtension_MarkThreadIdle");
    void (*rel)(void) = (void (*)(void))pab_alloc_sym("MallocExtension_ReleaseFreeMemory");
    if (idle) idle();
    if (rel) rel();
}

static void version(char *out, size_t len) {
    const char *(*ver)(int *, int *, const char **) =
        (const char *(*)(int *, int *, const char **))pab_alloc_sym("tc_version");
    int major, minor;
    const char *patch;
    snprintf(out, len, "%s", ver ? ver(&major, &minor, &patch) : "unknown");
}

const pab_allocator pab_alloc_tcmalloc = {"tcmalloc", "MallocExtension_ReleaseFreeMemory", release, version};

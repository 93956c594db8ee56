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

PAB_ALLOCATOR(tcmalloc, .unique = "MallocExtension_ReleaseFreeMemory", .soname = "libtcmalloc_minimal.so.4",
              .release = release, .version = version,
              .release_text = "MallocExtension_MarkThreadIdle() then MallocExtension_ReleaseFreeMemory()",
              .release_py = "t = ctypes.CDLL(None); t.MallocExtension_MarkThreadIdle(); "
                            "t.MallocExtension_ReleaseFreeMemory()");

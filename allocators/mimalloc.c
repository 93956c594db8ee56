/* Adapter: mimalloc.  Release = mi_collect(true) (force: frees and decommits what it can; it acts on the calling
 * thread's heap and the abandoned segments).  Version from mi_version(): 209 -> 2.0.9. */
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

PAB_ALLOCATOR(mimalloc, .unique = "mi_version", .soname = "libmimalloc.so.2", .release = release, .version = version,
              .release_text = "mi_collect(true)", .release_py = "ctypes.CDLL(None).mi_collect(True)");

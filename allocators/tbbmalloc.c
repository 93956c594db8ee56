/* Adapter: oneTBB's tbbmalloc through its proxy (libtbbmalloc_proxy replaces malloc).
 * Release = scalable_allocation_command(TBBMALLOC_CLEAN_ALL_BUFFERS); version from the library file name. */
#include <stddef.h>

#include "pab_alloc.h"

enum { PAB_TBBMALLOC_CLEAN_ALL_BUFFERS = 0 }; /* ScalableAllocationCmd in oneapi/tbb/scalable_allocator.h */

static void release(void) {
    int (*cmd)(int, void *) = (int (*)(int, void *))pab_alloc_sym("scalable_allocation_command");
    if (cmd) cmd(PAB_TBBMALLOC_CLEAN_ALL_BUFFERS, NULL);
}

static void version(char *out, size_t len) { pab_alloc_version_from_path("scalable_malloc", out, len); }

PAB_ALLOCATOR(tbbmalloc, .unique = "__TBB_malloc_proxy", .soname = "libtbbmalloc_proxy.so.2", .release = release,
              .version = version, .release_text = "scalable_allocation_command(TBBMALLOC_CLEAN_ALL_BUFFERS)",
              .release_py = "ctypes.CDLL(None).scalable_allocation_command(0, None)  # 0: TBBMALLOC_CLEAN_ALL_BUFFERS",
              .knob_env = "TBB_MALLOC_", .option = {"TBB_MALLOC_", NULL, NULL, NULL});

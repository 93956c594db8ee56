/* Adapter: glibc's ptmalloc.  Release = malloc_trim(0): frees the heap top and madvises free pages in all arenas.
 * Under a preloaded allocator this call would only trim glibc's unused heap: it is used for glibc alone.
 * Knobs: MALLOC_* variables and GLIBC_TUNABLES, proven by the probes of glibc_probe.c. */
#include <gnu/libc-version.h>
#include <stdio.h>

#include "pab_alloc.h"

static void release(void) {
    int (*trim)(size_t) = (int (*)(size_t))pab_alloc_sym("malloc_trim");
    if (trim) trim(0);
}

static void version(char *out, size_t len) { snprintf(out, len, "%s", gnu_get_libc_version()); }

int pab_glibc_tuning(const char *knobs, char *out, size_t len); /* glibc_probe.c */

PAB_ALLOCATOR(glibc, .unique = "gnu_get_libc_version", .release = release, .version = version,
              .release_text = "malloc_trim(0)", .release_py = "ctypes.CDLL(\"libc.so.6\").malloc_trim(0)",
              .tuning = pab_glibc_tuning, .knob_env = "MALLOC_ GLIBC_TUNABLES",
              .option = {"GLIBC_TUNABLES", "glibc.malloc.", "=", ":"});

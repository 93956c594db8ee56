/* Adapter: jemalloc.  Release = flush this thread's tcache, then purge every arena (arena.4096 = all).
 * Version from mallctl("version"). */
#include <stdio.h>

#include "pab_alloc.h"

typedef int (*mallctl_fn)(const char *, void *, size_t *, void *, size_t);

static void release(void) {
    mallctl_fn ctl = (mallctl_fn)pab_alloc_sym("mallctl");
    if (!ctl) return;
    ctl("thread.tcache.flush", NULL, NULL, NULL, 0);
    ctl("arena.4096.purge", NULL, NULL, NULL, 0);
}

static void version(char *out, size_t len) {
    mallctl_fn ctl = (mallctl_fn)pab_alloc_sym("mallctl");
    const char *v = NULL;
    size_t sz = sizeof v;
    snprintf(out, len, "%s", ctl && !ctl("version", &v, &sz, NULL, 0) && v ? v : "unknown");
}

PAB_ALLOCATOR(jemalloc, .unique = "mallctl", .soname = "libjemalloc.so.2", .release = release, .version = version,
              .release_text = "mallctl(\"thread.tcache.flush\") then mallctl(\"arena.4096.purge\")",
              .release_py = "j = ctypes.CDLL(None); j.mallctl(b\"thread.tcache.flush\", None, None, None, 0); "
                            "j.mallctl(b\"arena.4096.purge\", None, None, None, 0)");

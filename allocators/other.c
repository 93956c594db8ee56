/* Adapter: `other` — any malloc-replacing library we have no adapter for (a user's allocator, a test wrapper).
 * It is accepted when malloc is served by an object that is none of the known ones; release is a no-op. */
#include <stdio.h>

#include "pab_alloc.h"

static void release(void) {}

static void version(char *out, size_t len) { snprintf(out, len, "unknown"); }

PAB_ALLOCATOR(other, .release = release, .version = version, .release_text = "nothing (no adapter knows its call)",
              .release_py = "pass  # no adapter knows this allocator's release call");

/* Adapter: `other` — any malloc-replacing library we have no adapter for (a user's allocator, a test wrapper).
 * It is accepted when malloc is served by an object that is none of the five known ones; release is a no-op. */
#include <stdio.h>

#include "pab_alloc.h"

static void release(void) {}

static void version(char *out, size_t len) { snprintf(out, len, "unknown"); }

const pab_allocator pab_alloc_other = {"other", NULL, release, version};

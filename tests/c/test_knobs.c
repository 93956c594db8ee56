/* Knob helpers (allocators/knobs.c): items of a knob text and of a list variable, who owns a variable, asked vs
 * applied, the `tuning` text, and the read-back's refusal of another allocator's knob.  No allocator is probed. */
#include <string.h>

#include "check.h"
#include "pab_internal.h"

static const char *owner(const char *key) {
    const pab_allocator *a = pab_knob_owner(key, strlen(key));
    return a ? a->name : "nobody";
}

int main(void) {
    pab_knob k;
    const char *p = "MALLOC_CONF=dirty_decay_ms:0,bin_shards:1-160:16;;MALLOC_ARENA_MAX=2;BARE";
    CHECK(pab_knob_next(&p, ";", "=", &k) && k.klen == 11 && !strncmp(k.val, "dirty_decay_ms:0,", 17),
          "first item %.*s", k.klen, k.key);
    char conf[64];
    snprintf(conf, sizeof conf, "%.*s", k.vlen, k.val);
    const char *q = conf;
    CHECK(pab_knob_next(&q, ",", ":", &k) && k.vlen == 1 && k.val[0] == '0', "dirty_decay_ms:0 -> %.*s", k.vlen, k.val);
    CHECK(pab_knob_next(&q, ",", ":", &k) && k.klen == 10 && k.vlen == 8 && !strncmp(k.val, "1-160:16", 8),
          "a value keeps its own ':' (%.*s)", k.vlen, k.val);
    CHECK(!pab_knob_next(&q, ",", ":", &k), "end of MALLOC_CONF");
    CHECK(pab_knob_next(&p, ";", "=", &k) && k.klen == 16 && k.vlen == 1, "empty items are skipped");
    CHECK(pab_knob_next(&p, ";", "=", &k) && k.klen == 4 && k.vlen == -1, "an item without '=' has vlen -1");
    CHECK(!pab_knob_next(&p, ";", "=", &k), "end");

    CHECK(!strcmp(owner("MALLOC_CONF"), "jemalloc"), "MALLOC_CONF: %s", owner("MALLOC_CONF"));
    CHECK(!strcmp(owner("MALLOC_ARENA_MAX"), "glibc"), "MALLOC_ARENA_MAX: %s", owner("MALLOC_ARENA_MAX"));
    CHECK(!strcmp(owner("MALLOC_CONFX"), "glibc"), "MALLOC_CONFX is glibc's prefix: %s", owner("MALLOC_CONFX"));
    CHECK(!strcmp(owner("GLIBC_TUNABLES"), "glibc"), "GLIBC_TUNABLES: %s", owner("GLIBC_TUNABLES"));
    CHECK(!strcmp(owner("MIMALLOC_DECOMMIT_DELAY"), "mimalloc"), "%s", owner("MIMALLOC_DECOMMIT_DELAY"));
    CHECK(!strcmp(owner("TCMALLOC_RELEASE_RATE"), "tcmalloc"), "%s", owner("TCMALLOC_RELEASE_RATE"));
    CHECK(!strcmp(owner("PYTHONMALLOC"), "nobody"), "PYTHONMALLOC: %s", owner("PYTHONMALLOC"));

    CHECK(pab_knob_same("1000", 4, "1000") && pab_knob_same("1e3", 3, "1000") && pab_knob_same("true", 4, "1") &&
              pab_knob_same("ON", 2, "true") && pab_knob_same("0", 1, "false"), "same values");
    CHECK(!pab_knob_same("-5", 2, "10000") && !pab_knob_same("abc", 3, "25") && !pab_knob_same("N", 1, "1") &&
              !pab_knob_same("", 0, "0"), "different values");

    char out[256];
    pab_tuning_out t = {out, sizeof out, 0};
    pab_knob asked = {"dirty_decay_ms", "-5", 14, 2}, same = {"narenas", "3", 7, 1};
    pab_tuning_put(&t, asked.key, asked.klen, "10000", &asked, NULL);
    pab_tuning_put(&t, same.key, same.klen, "3", &same, "probe: x");
    CHECK(!strcmp(out, "dirty_decay_ms=10000 (asked -5);narenas=3 (probe: x)"), "tuning text: %s", out);

    const pab_allocator *je = pab_alloc_find("jemalloc"), *tbb = pab_alloc_find("tbbmalloc");
    CHECK(pab_alloc_tuning(je, "MALLOC_ARENA_MAX=2", out, sizeof out) == -1 &&
              strstr(out, "MALLOC_ARENA_MAX is read by glibc, not by jemalloc"), "another's knob: %s", out);
    CHECK(pab_alloc_tuning(je, "OMP_NUM_THREADS=2", out, sizeof out) == -1 && strstr(out, "no allocator's knob"),
          "nobody's knob: %s", out);
    CHECK(pab_alloc_tuning(je, "MALLOC_CONF", out, sizeof out) == -1 && strstr(out, "not KEY=VALUE"), "%s", out);
    CHECK(pab_alloc_tuning(tbb, "TBB_MALLOC_USE_HUGE_PAGES=1", out, sizeof out) == 0 &&
              !strcmp(out, "TBB_MALLOC_USE_HUGE_PAGES=1 (not read back: tbbmalloc has no read-back)"),
          "no read-back: %s", out);
    CHECK_DONE();
}

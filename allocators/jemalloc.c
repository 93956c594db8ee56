/* Adapter: jemalloc.  Release = flush this thread's tcache, then purge every arena (arena.4096 = all).
 * Version from mallctl("version").  Knobs: MALLOC_CONF's options, read back with mallctl("opt.NAME"). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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

/* From jemalloc 5.3.0's src/jemalloc.c (its MALLOC_CONF parser) and src/ctl.c (the opt.* mallctls): options the
 * parser accepts that have no opt.* to read back, and the opt.* values of 8 bytes that are strings or signed. */
static const char *const unreadable[] = {"bin_shards", "slab_sizes", "narenas_ratio", "san_guard_small",
                                         "san_guard_large", NULL};
static const char *const strings[] = {"dss", "percpu_arena", "metadata_thp", "thp", "junk", "stats_print_opts",
                                      "stats_interval_opts", "prof_prefix", "zero_realloc", NULL};
static const char *const signed8[] = {"dirty_decay_ms", "muzzy_decay_ms", "lg_tcache_nslots_mul", "lg_prof_interval",
                                      "mutex_max_spin", "stats_interval", NULL};

static bool listed(const char *const *list, const char *name) {
    for (; *list; list++)
        if (!strcmp(*list, name)) return true;
    return false;
}

/* The value in force of option `name` as text: 0, or mallctl's error (ENOENT: jemalloc has no such option).
 * background_thread is read as the state in force (jemalloc may fail to start its threads), not as the option. */
static int read_opt(mallctl_fn ctl, const char *name, char *out, size_t len) {
    char path[128];
    snprintf(path, sizeof path, strcmp(name, "background_thread") ? "opt.%s" : "%s", name);
    bool b;
    unsigned u;
    uint64_t q;
    size_t sz = sizeof b;
    int rc = ctl(path, &b, &sz, NULL, 0); /* a value of another size answers EINVAL */
    if (!rc) return snprintf(out, len, "%s", b ? "true" : "false"), 0;
    sz = sizeof u;
    if (rc == EINVAL && !(rc = ctl(path, &u, &sz, NULL, 0))) return snprintf(out, len, "%u", u), 0;
    sz = sizeof q;
    if (rc == EINVAL && !(rc = ctl(path, &q, &sz, NULL, 0))) {
        const char *s;
        memcpy(&s, &q, sizeof s);
        if (listed(strings, name)) snprintf(out, len, "%s", s ? s : "");
        else if (listed(signed8, name)) snprintf(out, len, "%lld", (long long)(int64_t)q);
        else snprintf(out, len, "%llu", (unsigned long long)q);
    }
    return rc;
}

static int tuning(const char *knobs, char *out, size_t len) {
    pab_tuning_out t = {out, len, 0};
    mallctl_fn ctl = (mallctl_fn)pab_alloc_sym("mallctl");
    char conf[1024], name[96], val[256], ver[64];
    pab_knob k, o;
    if (!ctl) return pab_tuning_fail(&t, "jemalloc: no mallctl in this process");
    version(ver, sizeof ver);
    for (const char *p = knobs; pab_knob_next(&p, ";", "=", &k);) { /* knob_env: MALLOC_CONF only */
        snprintf(conf, sizeof conf, "%.*s", k.vlen, k.val);
        for (const char *q = conf; pab_knob_next(&q, ",", ":", &o);) {
            if (o.vlen < 0 || !o.klen)
                return pab_tuning_fail(&t, "MALLOC_CONF item '%.*s' is not name:value (jemalloc stops reading "
                                           "MALLOC_CONF there)", o.klen, o.key);
            snprintf(name, sizeof name, "%.*s", o.klen, o.key);
            int rc = read_opt(ctl, name, val, sizeof val);
            if (!rc) {
                pab_tuning_put(&t, o.key, o.klen, val, &o, NULL);
            } else if (!strcmp(name, "lg_tcache_max") && !read_opt(ctl, "tcache_max", val, sizeof val)) {
                pab_tuning_put(&t, "tcache_max", 10, val, NULL, "set as lg_tcache_max");
            } else if (listed(unreadable, name)) {
                pab_tuning_unread(&t, &o, "not read back: jemalloc has no opt.* for it");
            } else {
                return pab_tuning_fail(&t, "MALLOC_CONF option '%s' does not exist in jemalloc %.*s (jemalloc "
                                           "ignored it: \"Invalid conf pair\")", name, (int)strcspn(ver, "-"), ver);
            }
        }
    }
    return 0;
}

PAB_ALLOCATOR(jemalloc, .unique = "mallctl", .soname = "libjemalloc.so.2", .release = release, .version = version,
              .release_text = "mallctl(\"thread.tcache.flush\") then mallctl(\"arena.4096.purge\")",
              .release_py = "j = ctypes.CDLL(None); j.mallctl(b\"thread.tcache.flush\", None, None, None, 0); "
                            "j.mallctl(b\"arena.4096.purge\", None, None, None, 0)",
              .tuning = tuning, .knob_env = "MALLOC_CONF", .option = {"MALLOC_CONF", "", ":", ","});

/* Adapter: mimalloc.  Release = mi_collect(true) (force: frees and decommits what it can; it acts on the calling
 * thread's heap and the abandoned segments).  Version from mi_version(): 209 -> 2.0.9.
 * Knobs: MIMALLOC_<OPTION> variables, read back with mi_option_get. */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

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

/* mi_option_t of mimalloc 2.0.x, in enum order (include/mimalloc.h), with the v1 names its src/options.c still
 * reads (MI_OPTION_LEGACY): the variable is MIMALLOC_ + the name, in any case. */
static const struct { const char *name, *legacy; } options[] = {
    {"show_errors", NULL}, {"show_stats", NULL}, {"verbose", NULL}, {"eager_commit", NULL},
    {"deprecated_eager_region_commit", NULL}, {"deprecated_reset_decommits", NULL}, {"large_os_pages", NULL},
    {"reserve_huge_os_pages", NULL}, {"reserve_huge_os_pages_at", NULL}, {"reserve_os_memory", NULL},
    {"deprecated_segment_cache", NULL}, {"page_reset", NULL}, {"abandoned_page_decommit", "abandoned_page_reset"},
    {"deprecated_segment_reset", NULL}, {"eager_commit_delay", NULL}, {"decommit_delay", "reset_delay"},
    {"use_numa_nodes", NULL}, {"limit_os_alloc", NULL}, {"os_tag", NULL}, {"max_errors", NULL},
    {"max_warnings", NULL}, {"max_segment_reclaim", NULL}, {"allow_decommit", NULL},
    {"segment_decommit_delay", NULL}, {"decommit_extend_delay", NULL}, {"destroy_on_exit", NULL},
};
enum { PREFIX = 9 }; /* strlen("MIMALLOC_") */

static int option_index(const char *name, int len) {
    for (int i = 0; i < (int)(sizeof options / sizeof *options); i++)
        if ((int)strlen(options[i].name) == len && !strncasecmp(options[i].name, name, (size_t)len)) return i;
        else if (options[i].legacy && (int)strlen(options[i].legacy) == len &&
                 !strncasecmp(options[i].legacy, name, (size_t)len)) return i;
    return -1;
}

static int tuning(const char *knobs, char *out, size_t len) {
    pab_tuning_out t = {out, len, 0};
    long (*get)(int) = (long (*)(int))pab_alloc_sym("mi_option_get");
    int (*ver)(void) = (int (*)(void))pab_alloc_sym("mi_version");
    char val[32];
    pab_knob k;
    if (!get || !ver) return pab_tuning_fail(&t, "mimalloc: no mi_option_get in this process");
    if (ver() / 10 != 20) /* the option table moves between minor versions (2.1 renamed the delays to purge_*) */
        return pab_tuning_fail(&t, "mimalloc %d: knob read-back knows the option table of mimalloc 2.0", ver());
    for (const char *p = knobs; pab_knob_next(&p, ";", "=", &k);) {
        int i = option_index(k.key + PREFIX, k.klen - PREFIX);
        if (i < 0)
            return pab_tuning_fail(&t, "%.*s: mimalloc 2.0 has no option %.*s (it ignores unknown variables)", k.klen,
                                   k.key, k.klen - PREFIX, k.key + PREFIX);
        snprintf(val, sizeof val, "%ld", get(i));
        pab_tuning_put(&t, k.key, k.klen, val, &k, NULL);
    }
    return 0;
}

PAB_ALLOCATOR(mimalloc, .unique = "mi_version", .soname = "libmimalloc.so.2", .release = release, .version = version,
              .release_text = "mi_collect(true)", .release_py = "ctypes.CDLL(None).mi_collect(True)",
              .tuning = tuning, .knob_env = "MIMALLOC_", .option = {"MIMALLOC_", NULL, NULL, NULL});

/* Adapter: gperftools tcmalloc.  Release = mark this thread idle (returns its cache), then release free memory.
 * Version from tc_version(): "gperftools 2.10".  Knobs: TCMALLOC_* variables, read back through MallocExtension. */
#include <stdio.h>
#include <string.h>

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

/* The variables gperftools 2.10 reads (its src/ files: EnvToX, TCMallocGetenvSafe) and how each is read back: a
 * MallocExtension numeric property, the release rate (below), or nothing (NULL). */
static const struct { const char *env, *property; } knobs_table[] = {
    {"TCMALLOC_RELEASE_RATE", "release rate"},
    {"TCMALLOC_AGGRESSIVE_DECOMMIT", "tcmalloc.aggressive_memory_decommit"},
    {"TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES", "tcmalloc.max_total_thread_cache_bytes"},
    {"TCMALLOC_HEAP_LIMIT_MB", "tcmalloc.heap_limit_mb"},
    {"TCMALLOC_TRANSFER_NUM_OBJ", NULL}, {"TCMALLOC_SKIP_SBRK", NULL}, {"TCMALLOC_SKIP_MMAP", NULL},
    {"TCMALLOC_DISABLE_MEMORY_RELEASE", NULL}, {"TCMALLOC_LARGE_ALLOC_REPORT_THRESHOLD", NULL},
    {"TCMALLOC_SAMPLE_PARAMETER", NULL}, {"TCMALLOC_DEVMEM_START", NULL}, {"TCMALLOC_DEVMEM_LIMIT", NULL},
    {"TCMALLOC_MEMFS_MALLOC_PATH", NULL}, {"TCMALLOC_MEMFS_LIMIT_MB", NULL}, {"TCMALLOC_MEMFS_ABORT_ON_FAIL", NULL},
    {"TCMALLOC_MEMFS_MAP_PRIVATE", NULL}, {"TCMALLOC_MEMFS_IGNORE_MMAP_FAIL", NULL},
    {"TCMALLOC_MEMFS_DISABLE_FALLBACK", NULL}, {"TCMALLOC_ENABLE_SIZED_DELETE", NULL},
};

/* MallocExtension::GetMemoryReleaseRate() has no C wrapper: the member function of the instance, called with the
 * Itanium C++ ABI (the object as first argument). */
static int release_rate(char *out, size_t len) {
    void *(*instance)(void) = (void *(*)(void))pab_alloc_sym("_ZN15MallocExtension8instanceEv");
    double (*get)(void *) = (double (*)(void *))pab_alloc_sym("_ZN22TCMallocImplementation20GetMemoryReleaseRateEv");
    if (!instance || !get) return -1;
    snprintf(out, len, "%g", get(instance()));
    return 0;
}

static int tuning(const char *knobs, char *out, size_t len) {
    pab_tuning_out t = {out, len, 0};
    int (*prop)(const char *, size_t *) = (int (*)(const char *, size_t *))pab_alloc_sym(
        "MallocExtension_GetNumericProperty");
    char val[64];
    pab_knob k;
    for (const char *p = knobs; pab_knob_next(&p, ";", "=", &k);) {
        size_t i = 0, n = sizeof knobs_table / sizeof *knobs_table, v;
        while (i < n && !((int)strlen(knobs_table[i].env) == k.klen && !strncmp(knobs_table[i].env, k.key, k.klen))) i++;
        if (i == n)
            return pab_tuning_fail(&t, "%.*s is not a variable gperftools 2.10 reads (it ignores unknown ones)",
                                   k.klen, k.key);
        const char *how = knobs_table[i].property;
        int read = -1;
        if (how && !strcmp(how, "release rate")) read = release_rate(val, sizeof val);
        else if (how && prop && prop(how, &v)) read = 0, snprintf(val, sizeof val, "%zu", v);
        if (!read) {
            pab_tuning_put(&t, k.key, k.klen, val, &k, NULL);
        } else {
            pab_tuning_unread(&t, &k, "not read back: no MallocExtension property for it");
        }
    }
    return 0;
}

PAB_ALLOCATOR(tcmalloc, .unique = "MallocExtension_ReleaseFreeMemory", .soname = "libtcmalloc_minimal.so.4",
              .release = release, .version = version,
              .release_text = "MallocExtension_MarkThreadIdle() then MallocExtension_ReleaseFreeMemory()",
              .release_py = "t = ctypes.CDLL(None); t.MallocExtension_MarkThreadIdle(); "
                            "t.MallocExtension_ReleaseFreeMemory()",
              .tuning = tuning, .knob_env = "TCMALLOC_", .option = {"TCMALLOC_", NULL, NULL, NULL});

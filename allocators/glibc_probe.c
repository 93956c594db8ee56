/* glibc's malloc knobs, proven by probes: glibc 2.36 has no call that reads its thresholds back, so each knob is
 * shown by what malloc does (public mallinfo2/malloc_info counters): mmapped or not, trimmed or not, arenas used. */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pab_alloc.h"

/* malloc/malloc.c of glibc 2.36 (64-bit): the smallest chunk, the size from which a free checks the top for trimming,
 * the default top pad (sysdeps/generic/malloc-machine.h), the largest threshold the dynamic rule ever sets. */
enum { MINSIZE = 32, PAGE = 4096, CONSOLIDATE = 65536, TOP_PAD = 131072 };
#define DYN_MAX (32u << 20)
#define CAP (32u << 20) /* probes stop at this size: a knob above it is shown as "above" */

enum probe { NONE, ARENAS, MMAP, TRIM, PAD };
/* The env aliases and tunables of glibc 2.36's elf/dl-tunables.list; dyn: setting it turns off the dynamic mmap
 * threshold (malloc.c do_set_*: no_dyn_threshold = 1). */
static const struct knob {
    const char *env, *tunable;
    enum probe probe;
    bool dyn;
} table[] = {
    {"MALLOC_ARENA_MAX", "glibc.malloc.arena_max", ARENAS, false},
    {"MALLOC_MMAP_THRESHOLD_", "glibc.malloc.mmap_threshold", MMAP, true},
    {"MALLOC_TRIM_THRESHOLD_", "glibc.malloc.trim_threshold", TRIM, true},
    {"MALLOC_TOP_PAD_", "glibc.malloc.top_pad", PAD, true},
    {"MALLOC_MMAP_MAX_", "glibc.malloc.mmap_max", NONE, true},
    {"MALLOC_ARENA_TEST", "glibc.malloc.arena_test", NONE, false},
    {"MALLOC_CHECK_", "glibc.malloc.check", NONE, false},
    {"MALLOC_PERTURB_", "glibc.malloc.perturb", NONE, false},
    {NULL, "glibc.malloc.tcache_max", NONE, false},
    {NULL, "glibc.malloc.tcache_count", NONE, false},
    {NULL, "glibc.malloc.tcache_unsorted_limit", NONE, false},
    {NULL, "glibc.malloc.mxfast", NONE, false},
    {NULL, "glibc.malloc.hugetlb", NONE, false},
    {"MALLOC_TRACE", NULL, NONE, false}, /* mtrace's log file (libc_malloc_debug.so) */
};

static void *volatile sink; /* what a probe allocates escapes here, so the compiler keeps every malloc */
static void *blocks[CAP / 16384 + 16]; /* static: the probe's bookkeeping stays out of the heap it probes */

static size_t top(void) { return mallinfo2().keepcost; } /* the main arena's top chunk */
static size_t heap(void) { return mallinfo2().arena; }   /* bytes the arenas hold from sbrk and their heaps */
static size_t mmaps(void) { return mallinfo2().hblks; }  /* chunks mmapped on their own */

/* Allocates the main arena's top chunk (up to 4 fillers), so the next request must extend the heap or be mmapped. */
static int take_top(void **fill) {
    int n = 0;
    for (size_t t; n < 4 && (t = top()) > 256; n++) sink = fill[n] = malloc(t - 64);
    return n;
}
static void give_back(void **fill, int n) {
    while (n-- > 0) free(fill[n]);
}

static int mmapped(size_t request) {
    void *fill[4];
    int nf = take_top(fill);
    size_t before = mmaps();
    char *p = malloc(request);
    int m = p ? mmaps() > before : -1;
    if (p) p[0] = 1, sink = p;
    free(p);
    give_back(fill, nf);
    return m;
}

/* The smallest chunk size (request + 8, a multiple of 16) that is mmapped, by bisection; 0: none up to CAP.
 * Only run with the dynamic threshold off, since freeing an mmapped chunk would otherwise move the threshold. */
static size_t mmap_probe(void) {
    size_t lo = 32, hi = CAP; /* chunk sizes: lo is not mmapped (or is the smallest), hi is */
    if (mmapped(hi - 8) != 1) return 0;
    if (mmapped(lo - 8) == 1) return lo;
    while (hi - lo > 16) {
        size_t mid = (lo + hi) / 2 & ~(size_t)15;
        if (mmapped(mid - 8) == 1) hi = mid;
        else lo = mid;
    }
    return hi;
}

/* The dynamic threshold: a freed mmapped chunk raises the threshold to its size, so the same request then comes
 * from the heap.  1 on, 0 off, -1 cannot tell (the block is not mmapped, or above what the rule ever sets). */
static int dynamic_probe(size_t threshold, size_t *size) {
    *size = 2 * (threshold > 131072 ? threshold : 131072);
    if (*size > DYN_MAX / 2 || mmapped(*size) != 1) return -1;
    return mmapped(*size) == 0;
}

/* The top left after a 4 KiB request had to extend the heap: sysmalloc asks sbrk for the request + top_pad +
 * MINSIZE, page-rounded, so top_pad lies in [top - MINSIZE - PAGE + 1, top - MINSIZE].  0: the heap did not grow. */
static size_t pad_probe(void) {
    void *fill[4];
    int nf = take_top(fill);
    size_t n = 0, t = 0, h0 = heap();
    while (n < 64 && heap() == h0) { /* free chunks in the bins serve the first requests: take them too */
        sink = blocks[n++] = malloc(PAGE - 8);
        t = top();
    }
    bool grown = heap() > h0;
    while (n-- > 0) free(blocks[n]);
    give_back(fill, nf);
    return grown ? t : 0;
}

/* Frees 16 KiB blocks back into the top, one at a time, until a free trims the heap: *kept = the largest top a
 * checking free left alone, *trimmed = the top that was trimmed (0: none up to `cap`). */
static void trim_probe(size_t cap, size_t *kept, size_t *trimmed) {
    void *fill[4];
    int nf = take_top(fill);
    size_t n = 0;
    while (n * 16384 < cap + 4 * 16384 && n < sizeof blocks / sizeof *blocks) sink = blocks[n++] = malloc(16384 - 8);
    *kept = *trimmed = 0;
    while (n-- > 0) {
        size_t t0 = top(), h0 = heap();
        free(blocks[n]);
        if (!*trimmed && heap() < h0) *trimmed = t0 + 16384;
        else if (!*trimmed && top() >= CONSOLIDATE) *kept = top();
    }
    give_back(fill, nf);
}

/* Arenas in use once `n` threads allocate at the same time: the <heap nr=...> elements of malloc_info. */
struct arena_run {
    pthread_barrier_t allocated, done;
    int state, count; /* a match of "<heap nr=" across malloc_info's writes */
};
static void *arena_thread(void *arg) {
    struct arena_run *r = arg;
    void *p = malloc(64);
    sink = p;
    pthread_barrier_wait(&r->allocated);
    pthread_barrier_wait(&r->done);
    free(p);
    return NULL;
}
static ssize_t count_heaps(void *arg, const char *buf, size_t len) {
    static const char pat[] = "<heap nr=";
    struct arena_run *r = arg;
    for (size_t i = 0; i < len; i++) {
        r->state = buf[i] == pat[r->state] ? r->state + 1 : buf[i] == pat[0];
        if (!pat[r->state]) r->count++, r->state = 0;
    }
    return (ssize_t)len;
}
static int arena_probe(int n) {
    static pthread_t th[64];
    struct arena_run r = {.state = 0};
    int made = 0;
    pthread_barrier_init(&r.allocated, NULL, (unsigned)n + 1);
    pthread_barrier_init(&r.done, NULL, (unsigned)n + 1);
    while (made < n && !pthread_create(&th[made], NULL, arena_thread, &r)) made++;
    if (made < n) return -1; /* a barrier would never open: give up (the created threads stay blocked) */
    pthread_barrier_wait(&r.allocated);
    FILE *f = fopencookie(&r, "w", (cookie_io_functions_t){.write = count_heaps});
    if (f) malloc_info(0, f), fclose(f);
    pthread_barrier_wait(&r.done);
    for (int i = 0; i < made; i++) pthread_join(th[i], NULL);
    pthread_barrier_destroy(&r.allocated);
    pthread_barrier_destroy(&r.done);
    return f ? r.count : -1;
}

/* --- the read-back --------------------------------------------------------------------------------------- */

struct ask {
    pab_knob k;
    const struct knob *def;
    size_t value; /* the asked value as glibc's numbers are written (digits), when `number` */
    bool number;
};

static const struct knob *find(const char *key, int len, bool tunable) {
    for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
        const char *name = tunable ? table[i].tunable : table[i].env;
        if (name && (int)strlen(name) == len && !strncmp(name, key, (size_t)len)) return &table[i];
    }
    return NULL;
}

static void kib(char *out, size_t len, size_t bytes) {
    if (bytes < 16384) snprintf(out, len, "%zu-byte", bytes);
    else snprintf(out, len, "%zu KiB", bytes >> 10);
}

static int probe_knobs(const char *knobs, char *out, size_t len) {
    pab_tuning_out t = {out, len, 0};
    static char tunables[1024];
    struct ask asks[32];
    int n = 0;
    bool want[5] = {false}, dyn = false;
    pab_knob k, o;
    for (const char *p = knobs; pab_knob_next(&p, ";", "=", &k) && n < 32;) {
        if (k.klen == 14 && !strncmp(k.key, "GLIBC_TUNABLES", 14)) {
            snprintf(tunables, sizeof tunables, "%.*s", k.vlen, k.val);
            for (const char *q = tunables; pab_knob_next(&q, ":", "=", &o) && n < 32;) {
                if (o.vlen < 0) return pab_tuning_fail(&t, "GLIBC_TUNABLES item '%.*s' is not name=value", o.klen, o.key);
                asks[n++] = (struct ask){.k = o, .def = find(o.key, o.klen, true)};
            }
        } else {
            asks[n++] = (struct ask){.k = k, .def = find(k.key, k.klen, false)};
            if (!asks[n - 1].def)
                return pab_tuning_fail(&t, "%.*s is not a variable glibc 2.36's malloc reads (it ignores it; a "
                                           "missing trailing '_'?)", k.klen, k.key);
        }
    }
    for (int i = 0; i < n; i++) {
        struct ask *a = &asks[i];
        char *end, digits[32];
        snprintf(digits, sizeof digits, "%.*s", a->k.vlen, a->k.val);
        a->value = strtoull(digits, &end, 10);
        a->number = a->k.vlen > 0 && !*end;
        if (a->def) want[a->def->probe] = true, dyn |= a->def->dyn;
    }
    /* the probes, each once, in the order their results are needed */
    size_t pad_top = want[PAD] || want[TRIM] ? pad_probe() : 0;
    size_t pad_hi = pad_top ? pad_top - MINSIZE : TOP_PAD;
    size_t mmap_chunk = 0, threshold = 131072, dyn_size = 0, kept = 0, trimmed = 0, trim_cap = CAP;
    int dynamic = -1, arenas = -1, threads = 63;
    for (int i = 0; i < n; i++) { /* the probes' sizes follow what was asked (the hypothesis they test) */
        const struct ask *a = &asks[i];
        if (!a->def || !a->number) continue;
        if (a->def->probe == MMAP && a->value > threshold) threshold = a->value;
        if (a->def->probe == TRIM && a->value < CAP)
            trim_cap = a->value > pad_hi + PAGE + MINSIZE ? a->value : pad_hi + PAGE + MINSIZE;
        if (a->def->probe == ARENAS && a->value >= 1 && a->value < 64) threads = (int)a->value;
    }
    if (dyn) {
        dynamic = dynamic_probe(threshold, &dyn_size);
        if (dynamic == 1)
            return pab_tuning_fail(&t, "glibc's dynamic mmap threshold is still on: glibc never read the knobs "
                                       "asked (%s)", knobs);
    }
    if (want[MMAP]) mmap_chunk = mmap_probe();
    if (want[TRIM] && (!want[MMAP] || !mmap_chunk || mmap_chunk > 16384)) trim_probe(trim_cap, &kept, &trimmed);
    if (want[ARENAS]) arenas = arena_probe(threads);
    if (want[PAD] || want[TRIM] || want[MMAP]) malloc_trim(0); /* the probes leave no heap behind them */

    for (int i = 0; i < n; i++) {
        struct ask *a = &asks[i];
        size_t v = a->value;
        char val[64], note[192], x[32], y[32];
        bool ok = false;
        snprintf(val, sizeof val, "%.*s", a->k.vlen, a->k.val);
        switch (a->def ? a->def->probe : NONE) {
        case ARENAS:
            if (arenas < 0) { snprintf(note, sizeof note, "not proven: the arena probe could not start its threads"); ok = true; break; }
            ok = a->number && (arenas <= threads ? (size_t)arenas == v : v > (size_t)threads);
            snprintf(note, sizeof note, "probe: %d thread%s allocating at once used %d arena%s", threads,
                     threads == 1 ? "" : "s", arenas, arenas == 1 ? "" : "s");
            if (!ok) snprintf(val, sizeof val, arenas <= threads ? "%d" : "at least %d", arenas);
            break;
        case MMAP:
            ok = a->number && (mmap_chunk ? v > mmap_chunk - 16 && v <= mmap_chunk : v > CAP);
            if (mmap_chunk) snprintf(note, sizeof note, "probe: a %zu-byte request was mmapped, %zu was not%s",
                                     mmap_chunk - 8, mmap_chunk - 24, mmap_chunk <= 1040 ? "; glibc's caches serve "
                                     "smaller requests first, so a lower threshold looks like this too" : "");
            else kib(x, sizeof x, CAP), snprintf(note, sizeof note, "probe: no request up to %s was mmapped", x);
            if (!ok) snprintf(val, sizeof val, mmap_chunk ? "%zu" : "above %zu", mmap_chunk ? mmap_chunk : (size_t)CAP);
            break;
        case TRIM:
            if (want[MMAP] && mmap_chunk && mmap_chunk <= 16384) {
                snprintf(note, sizeof note, "not proven: the mmap threshold is below the probe's 16 KiB blocks");
                ok = true;
                break;
            }
            /* a free trims when the top is >= the threshold and leaves more than top_pad + a page to release */
            ok = a->number && (trimmed ? v <= trimmed && (kept < v || kept < pad_hi + PAGE + MINSIZE + 1)
                                       : v > kept);
            kib(x, sizeof x, trimmed), kib(y, sizeof y, kept);
            if (trimmed) snprintf(note, sizeof note, "probe: a %s top was trimmed, %s kept%s", x, y,
                                  v < pad_hi + PAGE + MINSIZE ? "; values below top_pad + 4 KiB act alike" : "");
            else snprintf(note, sizeof note, "probe: no trim up to a %s top", y);
            if (!ok) snprintf(val, sizeof val, trimmed ? "%zu..%zu" : "above %zu", kept + 1, trimmed);
            break;
        case PAD:
            ok = a->number && pad_top && v + MINSIZE + PAGE > pad_top && v + MINSIZE <= pad_top;
            kib(x, sizeof x, pad_top);
            snprintf(note, sizeof note, pad_top ? "probe: extending the heap left a %s top" : "not proven: the heap "
                     "did not grow for a 4 KiB request", x);
            if (!ok && pad_top) snprintf(val, sizeof val, "%zu..%zu", pad_top - MINSIZE - PAGE + 1, pad_top - MINSIZE);
            ok |= !pad_top;
            break;
        case NONE:
            snprintf(note, sizeof note, a->def ? "not read back: glibc has no call or probe for it"
                                               : "not read back: not a malloc tunable of glibc 2.36");
            ok = true;
            break;
        }
        pab_tuning_put(&t, a->k.key, a->k.klen, val, ok ? NULL : &a->k, note);
    }
    if (dynamic == 0)
        pab_tuning_put(&t, "glibc.dynamic_mmap_threshold", 28, "off", NULL,
                       "probe: a freed mmapped block did not raise it");
    return 0;
}

/* The probes grow and trim heaps and start threads whose arenas glibc never frees: they run in a forked child (same
 * glibc, same knobs, the same heap as a copy), so the process that is then measured starts from the heap plain
 * glibc would have.  The child writes its verdict and text through a pipe. */
int pab_glibc_tuning(const char *knobs, char *out, size_t len) {
    int fd[2];
    if (len < 2 || pipe(fd)) return probe_knobs(knobs, out, len);
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]), close(fd[1]);
        return probe_knobs(knobs, out, len);
    }
    if (pid == 0) {
        close(fd[0]);
        char rc = probe_knobs(knobs, out, len) ? 1 : 0;
        ssize_t w = write(fd[1], &rc, 1) + write(fd[1], out, strlen(out));
        _exit(w > 0 ? 0 : 1);
    }
    close(fd[1]);
    char rc = 1;
    size_t got = 0;
    ssize_t n = read(fd[0], &rc, 1);
    while (n > 0 && got < len - 1 && (n = read(fd[0], out + got, len - 1 - got)) > 0) got += (size_t)n;
    out[got] = 0;
    close(fd[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (!got && rc) snprintf(out, len, "the glibc knob probe ended without an answer");
    return rc ? -1 : 0;
}

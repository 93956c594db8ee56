/* faulty_alloc.c — a test allocator: LD_PRELOADed, it wraps glibc's malloc and misbehaves on request, so the
 * tests can prove that crashes, hangs, kills and corrupt memory each end as the right row (tests/cli/test_faults.py).
 *
 * PAB_FAULT=abort|segv|hang|kill|null|overlap|count|slow   what to do once armed (unset: pass through)
 * PAB_FAULT_AFTER=N   arm after N calls of malloc/calloc/realloc (default 0), so start-up and the
 *                     allocator identification run untouched and the fault lands inside the workload
 *   abort   abort()                               -> SIGABRT
 *   segv    write through a NULL pointer          -> SIGSEGV
 *   hang    sleep forever                         -> the per-case timeout
 *   kill    SIGKILL itself, as the OOM killer does
 *   null    malloc returns NULL once              -> the workload's ENOMEM path
 *   overlap hand out the previous, still live block a second time (when it is big enough); a second free of
 *           it is absorbed, so only the workload's checksum can notice
 *   count   never misbehave; print `pab-faulty: N calls` on stderr at exit (to choose PAB_FAULT_AFTER)
 *   slow    a known delay: every malloc/calloc/realloc first spins a register-only loop calibrated at start-up to
 *           take PAB_FAULT_NS nanoseconds (default 100, fractions allowed; the fastest of a few timed runs), touching no memory and
 *           reading no clock, so it adds that much per call and disturbs nothing else (the timing tests' known
 *           effect); with PAB_FAULT_EVERY=K only every K-th call waits, K * PAB_FAULT_NS (so a delay of a few ns per call
 *           stays exact: the fences cost ~10 ns); prints `pab-faulty: N calls, D ns each (K iterations)` at exit */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef void *(*pab_malloc_fn)(size_t);
typedef void *(*pab_calloc_fn)(size_t, size_t);
typedef void *(*pab_realloc_fn)(void *, size_t);
typedef void (*pab_free_fn)(void *);

static pab_malloc_fn real_malloc;
static pab_calloc_fn real_calloc;
static pab_realloc_fn real_realloc;
static pab_free_fn real_free;

enum fault { F_NONE, F_ABORT, F_SEGV, F_HANG, F_KILL, F_NULL, F_OVERLAP, F_COUNT, F_SLOW };
static const char *const fault_names[] = {"", "abort", "segv", "hang", "kill", "null", "overlap", "count", "slow"};

static enum fault mode;
static unsigned long long after, calls, spins, every = 1;
static double delay_ns;
static int fired;         /* the one-shot faults (null, overlap) fire once */
static void *last_block;  /* overlap: the most recent block handed out and not yet freed */
static void *dup_block;   /* overlap: the block handed out twice; its first free is absorbed */

/* dlsym may allocate before the real functions are known: serve that from a static buffer, never freed. */
static char boot[4096] __attribute__((aligned(16)));
static size_t boot_used;
static int resolving;

static void *boot_alloc(size_t n) {
    size_t at = (boot_used + 15) & ~(size_t)15;
    if (at + n > sizeof boot) return NULL;
    boot_used = at + n;
    return boot + at;
}

static int in_boot(const void *p) { return (const char *)p >= boot && (const char *)p < boot + sizeof boot; }

static void say(const char *msg) {
    ssize_t r = write(2, msg, strlen(msg));
    (void)r;
}

static void resolve(void) {
    if (real_malloc || resolving) return;
    resolving = 1;
    real_calloc = (pab_calloc_fn)dlsym(RTLD_NEXT, "calloc");
    real_realloc = (pab_realloc_fn)dlsym(RTLD_NEXT, "realloc");
    real_free = (pab_free_fn)dlsym(RTLD_NEXT, "free");
    pab_malloc_fn m = (pab_malloc_fn)dlsym(RTLD_NEXT, "malloc");
    resolving = 0;
    if (!m || !real_calloc || !real_realloc || !real_free) {
        say("pab-faulty: cannot find the real malloc\n");
        _exit(127);
    }
    real_malloc = m;
}

static void report_count(void) {
    char buf[96];
    if (mode == F_SLOW)
        snprintf(buf, sizeof buf, "pab-faulty: %llu calls, %g ns each (%llu iterations every %llu calls)\n", calls,
                 delay_ns / (double)every, spins, every);
    else
        snprintf(buf, sizeof buf, "pab-faulty: %llu calls\n", calls);
    say(buf);
}

static unsigned long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (unsigned long long)t.tv_sec * 1000000000ull + (unsigned long long)t.tv_nsec;
}

/* A chain of dependent multiply-adds: bound by their latency, not by instruction fetch, so a busy sibling
 * hyperthread slows it little (a bare counting loop runs at half speed next to one); fenced on x86 so that the
 * allocator's own work cannot overlap it out of order (the delay adds in full). */
static void fence(void) {
#if defined(__x86_64__) || defined(__i386__)
    __asm__ volatile("lfence" ::: "memory");
#endif
}

static unsigned long long spin(unsigned long long n) {
    unsigned long long x = n;
    fence();
    for (unsigned long long i = 0; i < n; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        __asm__ volatile("" : "+r"(x));
    }
    fence();
    return x;
}

/* The fastest of 7 timed runs of `calls` calls of spin(n), per call, in ns (the machine at its own speed). */
static double per_call(unsigned long long calls, unsigned long long n) {
    unsigned long long best = ~0ull;
    for (int i = 0; i < 7; i++) {
        unsigned long long t0 = now_ns();
        for (unsigned long long c = 0; c < calls; c++) spin(n);
        unsigned long long dt = now_ns() - t0;
        if (dt < best) best = dt;
    }
    return (double)best / (double)calls;
}

/* Iterations of spin() whose call takes delay_ns, fences included: cost(n) = fences + n * step, both timed.  A
 * delay below the fences' own cost cannot be made: it is said at start-up and the call costs the fences. */
static void calibrate_spin(void) {
    double fences = per_call(4096, 0), step = (per_call(64, 1 << 14) - fences) / (1 << 14);
    spins = step > 0 && delay_ns > fences ? (unsigned long long)((delay_ns - fences) / step + 0.5) : 0;
    if (delay_ns > 0 && delay_ns < fences) {
        char buf[128];
        snprintf(buf, sizeof buf, "pab-faulty: PAB_FAULT_NS=%g is below the fences' own %.1f ns\n", delay_ns, fences);
        say(buf);
    }
}

__attribute__((constructor)) static void pab_faulty_init(void) {
    resolve();
    const char *f = getenv("PAB_FAULT"), *n = getenv("PAB_FAULT_AFTER");
    for (int i = 1; f && i < (int)(sizeof fault_names / sizeof *fault_names); i++)
        if (!strcmp(f, fault_names[i])) mode = (enum fault)i;
    if (f && *f && mode == F_NONE) say("pab-faulty: unknown PAB_FAULT, passing through\n");
    after = n ? strtoull(n, NULL, 10) : 0;
    const char *d = getenv("PAB_FAULT_NS");
    delay_ns = d ? strtod(d, NULL) : 100; /* may be fractional: 2.5 */
    const char *e = getenv("PAB_FAULT_EVERY");
    every = e && strtoull(e, NULL, 10) > 0 ? strtoull(e, NULL, 10) : 1;
    delay_ns *= (double)every; /* one wait per `every` calls, as long as theirs together */
    if (mode == F_SLOW) calibrate_spin();
    if (mode == F_COUNT || mode == F_SLOW) atexit(report_count);
}

/* The crashing faults: they never return. */
static void crash(void) {
    switch (mode) {
    case F_ABORT: abort();
    case F_SEGV: *(volatile int *)(uintptr_t)0 = 1; break;
    case F_HANG: for (;;) pause();
    case F_KILL: kill(getpid(), SIGKILL); break;
    default: return;
    }
    for (;;) pause();
}

/* Counts the call (slow: and spins); returns 1 when a one-shot fault (null, overlap) should act on this call. */
static int armed(void) {
    unsigned long long c = __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
    if (mode == F_SLOW && c > after) {
        if (delay_ns > 0 && c % every == 0) spin(spins);
        return 0;
    }
    if (mode == F_NONE || mode == F_COUNT || c <= after) return 0;
    crash();
    return !__atomic_load_n(&fired, __ATOMIC_RELAXED);
}

static void *overlap(size_t n) {
    void *prev = __atomic_load_n(&last_block, __ATOMIC_RELAXED);
    if (!prev || malloc_usable_size(prev) < n) return NULL;  /* wait for a block that can hold it */
    if (__atomic_exchange_n(&fired, 1, __ATOMIC_RELAXED)) return NULL;
    dup_block = prev;
    return prev;
}

void *malloc(size_t n) {
    if (!real_malloc) {
        if (resolving) return boot_alloc(n);
        resolve();
    }
    if (armed()) {
        if (mode == F_NULL && !__atomic_exchange_n(&fired, 1, __ATOMIC_RELAXED)) return NULL;
        void *d = mode == F_OVERLAP ? overlap(n) : NULL;
        if (d) return d;
    }
    void *p = real_malloc(n);
    if (mode == F_OVERLAP) __atomic_store_n(&last_block, p, __ATOMIC_RELAXED);
    return p;
}

void *calloc(size_t k, size_t n) {
    if (!real_calloc) {
        if (resolving) {
            void *p = (n && k > SIZE_MAX / n) ? NULL : boot_alloc(k * n);
            return p ? memset(p, 0, k * n) : NULL;  /* the buffer may have been used: zero it */
        }
        resolve();
    }
    armed();
    return real_calloc(k, n);
}

void *realloc(void *p, size_t n) {
    if (!real_realloc) resolve();
    if (in_boot(p)) {
        void *q = malloc(n);
        size_t room = (size_t)(boot + sizeof boot - (char *)p);  /* never read past the static buffer */
        if (q) memcpy(q, p, n < room ? n : room);
        return q;
    }
    armed();
    if (p && p == __atomic_load_n(&last_block, __ATOMIC_RELAXED)) __atomic_store_n(&last_block, NULL, __ATOMIC_RELAXED);
    return real_realloc(p, n);
}

void free(void *p) {
    if (!p || in_boot(p)) return;
    if (p == __atomic_load_n(&last_block, __ATOMIC_RELAXED)) __atomic_store_n(&last_block, NULL, __ATOMIC_RELAXED);
    if (p == dup_block && __atomic_exchange_n(&dup_block, NULL, __ATOMIC_RELAXED) == p) return;  /* absorbed */
    if (!real_free) resolve();
    real_free(p);
}

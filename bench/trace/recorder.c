/* recorder.c — libpab-record.so: preloaded, it logs every malloc-family call of a process to the raw trace
 * file named by PAB_TRACE_OUT (per-thread mmap buffers, write(2), a global sequence number) and forwards it. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* The finalising pass, for `pyalloc record` to call through ctypes (never inside a recorded process).
 * System headers come first, above: under the pragma they would hide malloc itself. */
#pragma GCC visibility push(hidden)
#include "trace_format.c"
#pragma GCC visibility pop

__attribute__((visibility("default"))) int pab_record_finalize(const char *raw, const char *out, char *err, size_t n) {
    return pab_trace_finalize(raw, out, err, n);
}

#define BUF_BYTES (1u << 20)
#define BUF_RECS ((BUF_BYTES - sizeof(pab_raw_chunk)) / sizeof(pab_raw_rec))
#define BOOT_BYTES (64u << 10)
#define TLS __thread __attribute__((tls_model("initial-exec")))

typedef struct tbuf {
    pab_raw_chunk *chunk;      /* the mapping: chunk header, then records */
    _Atomic uint32_t count;    /* records published (written by the owner only) */
    atomic_flag flushing;      /* held while the buffer is written out */
    struct tbuf *next;         /* every buffer ever made, in one list */
    bool in_use;
} tbuf;

enum { ST_UNINIT, ST_INIT, ST_ON, ST_OFF };

static struct {
    void *(*malloc)(size_t);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    void (*free)(void *);
    int (*posix_memalign)(void **, size_t, size_t);
    void *(*aligned_alloc)(size_t, size_t);
    void *(*memalign)(size_t, size_t);
    void *(*valloc)(size_t);
    void *(*pvalloc)(size_t);
} real;

static _Atomic int g_state = ST_UNINIT;
static _Atomic int g_closing;               /* set by the final flush: from then on every record is written at once */
static _Atomic uint64_t g_seq;
static int g_fd = -1;
static atomic_flag g_list_lock = ATOMIC_FLAG_INIT;
static tbuf *g_bufs;
static pthread_key_t g_key;
static char g_base[PAB_TRACE_CMDLINE_MAX];  /* PAB_TRACE_OUT */
static char g_boot[BOOT_BYTES] __attribute__((aligned(64)));
static _Atomic size_t g_boot_used;

static TLS tbuf *t_buf;
static TLS int t_busy;     /* inside the recorder, or inside the real allocator: forward, do not record */
static TLS int t_gone;     /* the thread's buffer was returned at thread exit */
static TLS uint32_t t_tid;

/* ---- tiny helpers that never allocate */
static void lock(atomic_flag *f) { while (atomic_flag_test_and_set_explicit(f, memory_order_acquire)) sched_yield(); }
static void unlock(atomic_flag *f) { atomic_flag_clear_explicit(f, memory_order_release); }
static uint64_t now_ns(void) { struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec; }
static uint32_t my_tid(void) { return t_tid ? t_tid : (t_tid = (uint32_t)syscall(SYS_gettid)); }

static void say(const char *msg) {
    ssize_t r = write(2, msg, strlen(msg));
    (void)r;
}

static int write_all(const void *p, size_t n) {
    for (const char *c = p; n;) {
        ssize_t k = write(g_fd, c, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        c += k; n -= (size_t)k;
    }
    return 0;
}

static void write_failed(void) {
    int expect = ST_ON;
    if (atomic_compare_exchange_strong(&g_state, &expect, ST_OFF)) say("pab-record: cannot write the trace; recording stopped\n");
}

/* ---- the bootstrap heap: dlsym() may allocate before the real functions are known */
static void *boot_alloc(size_t n, size_t align) {
    if (align < 16) align = 16;
    size_t need = ((n + 15) & ~(size_t)15) + align, at = atomic_fetch_add(&g_boot_used, need);
    if (at + need > BOOT_BYTES) return NULL;
    uintptr_t p = ((uintptr_t)g_boot + at + 16 + align - 1) & ~(uintptr_t)(align - 1);
    ((size_t *)p)[-1] = n;
    return (void *)p;
}
static bool is_boot(const void *p) { return (const char *)p >= g_boot && (const char *)p < g_boot + BOOT_BYTES; }

/* ---- output */
static void path_with_pid(char *dst, size_t cap, const char *base, uint32_t pid) {
    char digits[16];
    int k = 0;
    do digits[k++] = (char)('0' + pid % 10); while ((pid /= 10) && k < 15);
    size_t n = strlen(base); /* init() keeps it 32 bytes short of cap */
    memcpy(dst, base, n);
    dst[n++] = '.';
    while (k) dst[n++] = digits[--k];
    dst[n] = 0;
}

static uint32_t read_cmdline(char *buf, size_t cap) {
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, cap);
    close(fd);
    return n > 0 ? (uint32_t)n : 0;
}

/* The first process to record writes PAB_TRACE_OUT; any other (exec'd or forked child) PAB_TRACE_OUT.<pid>. */
static int open_output(bool child) {
    static char path[PAB_TRACE_CMDLINE_MAX + 32];
    static char head[sizeof(pab_raw_header) + PAB_TRACE_CMDLINE_MAX + 8];
    int flags = O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC;
    g_fd = child ? -1 : open(g_base, flags, 0644);
    if (g_fd < 0) {
        path_with_pid(path, sizeof path, g_base, (uint32_t)getpid());
        g_fd = open(path, flags, 0644);
    }
    if (g_fd < 0) { say("pab-record: cannot create the trace file (PAB_TRACE_OUT); not recording\n"); return -1; }
    pab_raw_header h = {.version = PAB_TRACE_VERSION, .page_size = (uint32_t)sysconf(_SC_PAGESIZE),
                        .pid = (uint32_t)getpid(), .ppid = (uint32_t)getppid(), .t0_ns = now_ns()};
    memcpy(h.magic, PAB_TRACE_RAW_MAGIC, 8);
    memset(head, 0, sizeof head);
    h.cmdline_len = read_cmdline(head + sizeof h, PAB_TRACE_CMDLINE_MAX);
    memcpy(head, &h, sizeof h);
    if (write_all(head, sizeof h + pad8(h.cmdline_len))) { close(g_fd); g_fd = -1; return -1; }
    return 0;
}

/* ---- buffers */
static void flush(tbuf *b) {
    lock(&b->flushing);
    uint32_t n = atomic_load_explicit(&b->count, memory_order_acquire);
    if (n && g_fd >= 0) {
        b->chunk->count = n;
        if (write_all(b->chunk, sizeof(pab_raw_chunk) + n * sizeof(pab_raw_rec))) write_failed();
    }
    atomic_store_explicit(&b->count, 0, memory_order_release);
    unlock(&b->flushing);
}

static void thread_done(void *p) {
    tbuf *b = p;
    flush(b);
    t_buf = NULL;
    t_gone = 1;
    lock(&g_list_lock);
    b->in_use = false;
    unlock(&g_list_lock);
}

static tbuf *attach(void) {
    tbuf *b;
    lock(&g_list_lock);
    for (b = g_bufs; b && b->in_use; b = b->next) {}
    if (!b) {
        void *m = mmap(NULL, BUF_BYTES + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) { unlock(&g_list_lock); return NULL; }
        b = (tbuf *)((char *)m + BUF_BYTES);
        b->chunk = m;
        b->next = g_bufs;
        g_bufs = b;
    }
    b->in_use = true;
    unlock(&g_list_lock);
    b->chunk->magic = PAB_TRACE_CHUNK_MAGIC;
    b->chunk->tid = my_tid();
    pthread_setspecific(g_key, b);
    return t_buf = b;
}

/* One record, from the thread that made the call.  Without a buffer (thread exiting) or after the final flush,
 * the record goes out at once as a chunk of one. */
static void log_call(unsigned op, uint64_t seq, const void *ptr, uint64_t arg, uint64_t size) {
    pab_raw_rec r = {seq << 8 | op, now_ns(), (uintptr_t)ptr, arg, size};
    tbuf *b = t_buf;
    if (!b && !t_gone) { t_busy++; b = attach(); t_busy--; }
    if (!b) {
        struct { pab_raw_chunk c; pab_raw_rec r; } one = {{PAB_TRACE_CHUNK_MAGIC, my_tid(), 1, 0}, r};
        if (g_fd >= 0 && write_all(&one, sizeof one)) write_failed();
        return;
    }
    uint32_t n = atomic_load_explicit(&b->count, memory_order_relaxed);
    ((pab_raw_rec *)(b->chunk + 1))[n] = r;
    atomic_store_explicit(&b->count, n + 1, memory_order_release);
    if (n + 1 == BUF_RECS || atomic_load_explicit(&g_closing, memory_order_relaxed)) flush(b);
}

/* ---- set-up, fork, exit */
static void fork_prepare(void) { lock(&g_list_lock); }
static void fork_parent(void) { unlock(&g_list_lock); }
static void fork_child(void) {
    /* What the buffers hold belongs to the parent, which writes it; only this thread lives on. */
    for (tbuf *b = g_bufs; b; b = b->next) {
        atomic_store(&b->count, 0);
        atomic_flag_clear(&b->flushing);
        b->in_use = b == t_buf;
    }
    t_tid = 0;
    if (t_buf) t_buf->chunk->tid = my_tid();
    unlock(&g_list_lock);
    if (g_fd >= 0) close(g_fd);
    g_fd = -1;
    if (atomic_load(&g_state) == ST_ON && open_output(true)) atomic_store(&g_state, ST_OFF);
}

static void resolve(void) {
    real.malloc = dlsym(RTLD_NEXT, "malloc");
    real.calloc = dlsym(RTLD_NEXT, "calloc");
    real.realloc = dlsym(RTLD_NEXT, "realloc");
    real.free = dlsym(RTLD_NEXT, "free");
    real.posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
    real.aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
    real.memalign = dlsym(RTLD_NEXT, "memalign");
    real.valloc = dlsym(RTLD_NEXT, "valloc");
    real.pvalloc = dlsym(RTLD_NEXT, "pvalloc");
}

static void init(void) {
    int expect = ST_UNINIT;
    if (!atomic_compare_exchange_strong(&g_state, &expect, ST_INIT)) return;
    t_busy++;
    resolve();
    const char *out = getenv("PAB_TRACE_OUT");
    int st = ST_OFF;
    if (out && *out && strlen(out) < sizeof g_base - 32 && real.malloc && real.free) {
        memcpy(g_base, out, strlen(out) + 1);
        if (!pthread_key_create(&g_key, thread_done) && !pthread_atfork(fork_prepare, fork_parent, fork_child) &&
            !open_output(false))
            st = ST_ON;
    }
    atomic_store(&g_state, st);
    t_busy--;
}

__attribute__((constructor)) static void pab_record_start(void) { init(); }

__attribute__((destructor)) static void pab_record_stop(void) {
    if (atomic_load(&g_state) != ST_ON) return;
    t_busy++;
    atomic_store(&g_closing, 1);
    lock(&g_list_lock);
    for (tbuf *b = g_bufs; b; b = b->next) flush(b);
    unlock(&g_list_lock);
    t_busy--;
}

/* ---- the hooks.  BEGIN decides whether to record; the sequence number of a call that gives a block up is
 * taken before the real call, of one that gets a block after it, so seq order never shows a block in two hands. */
static inline bool recording(void) {
    if (__builtin_expect(atomic_load_explicit(&g_state, memory_order_relaxed) == ST_UNINIT, 0)) init();
    return !t_busy && atomic_load_explicit(&g_state, memory_order_relaxed) == ST_ON;
}
static inline uint64_t next_seq(void) { return atomic_fetch_add_explicit(&g_seq, 1, memory_order_relaxed); }

#define FORWARD(expr) (t_busy++, __extension__({ __typeof__(expr) r_ = (expr); t_busy--; r_; }))

void *malloc(size_t n) {
    if (__builtin_expect(!real.malloc, 0)) { init(); if (!real.malloc) return boot_alloc(n, 16); }
    if (!recording()) return real.malloc(n);
    void *p = FORWARD(real.malloc(n));
    log_call(PAB_OP_MALLOC, next_seq(), p, 0, n);
    return p;
}

void *calloc(size_t k, size_t n) {
    size_t total;
    if (__builtin_mul_overflow(k, n, &total)) total = SIZE_MAX;
    if (__builtin_expect(!real.calloc, 0)) {
        init();
        if (!real.calloc) { void *p = total == SIZE_MAX ? NULL : boot_alloc(total, 16); return p ? memset(p, 0, total) : p; }
    }
    if (!recording()) return real.calloc(k, n);
    void *p = FORWARD(real.calloc(k, n));
    log_call(PAB_OP_CALLOC, next_seq(), p, 0, total);
    return p;
}

void free(void *p) {
    if (!p || is_boot(p)) return;
    if (!recording()) { real.free(p); return; }
    log_call(PAB_OP_FREE, next_seq(), p, 0, 0);
    t_busy++;
    real.free(p);
    t_busy--;
}

static void *boot_realloc(void *p, size_t n) {
    void *q = malloc(n);
    size_t old = ((size_t *)p)[-1];
    if (q) memcpy(q, p, old < n ? old : n);
    return q;
}

void *realloc(void *p, size_t n) {
    if (p && is_boot(p)) return boot_realloc(p, n);
    if (__builtin_expect(!real.realloc, 0)) { init(); if (!real.realloc) return p ? NULL : boot_alloc(n, 16); }
    if (!recording()) return real.realloc(p, n);
    uint64_t before = next_seq();
    void *q = FORWARD(real.realloc(p, n));
    if (p && q != p && (q || !n)) log_call(PAB_OP_RAW_RFREE, before, p, 0, 0); /* p was given up: a free at `before` */
    log_call(PAB_OP_REALLOC, next_seq(), q, (uintptr_t)p, n);
    return q;
}

void *reallocarray(void *p, size_t k, size_t n) {
    size_t total;
    if (__builtin_mul_overflow(k, n, &total)) { errno = ENOMEM; return NULL; }
    return realloc(p, total);
}

static void *aligned(unsigned op, size_t align, size_t n, void *(*fn)(size_t, size_t), void *(*fn1)(size_t)) {
    if (__builtin_expect(!real.malloc, 0)) { init(); if (!real.malloc) return boot_alloc(n, align); }
    bool rec = recording();
    void *p;
    t_busy++;
    p = fn1 ? fn1(n) : fn ? fn(align, n) : real.memalign(align, n);
    t_busy--;
    if (rec) log_call(op, next_seq(), p, align, n);
    return p;
}

void *aligned_alloc(size_t align, size_t n) { return aligned(PAB_OP_ALIGNED_ALLOC, align, n, real.aligned_alloc, NULL); }
void *memalign(size_t align, size_t n) { return aligned(PAB_OP_MEMALIGN, align, n, real.memalign, NULL); }
void *valloc(size_t n) { return aligned(PAB_OP_VALLOC, (size_t)sysconf(_SC_PAGESIZE), n, NULL, real.valloc); }
void *pvalloc(size_t n) { return aligned(PAB_OP_PVALLOC, (size_t)sysconf(_SC_PAGESIZE), n, NULL, real.pvalloc); }

int posix_memalign(void **out, size_t align, size_t n) {
    if (__builtin_expect(!real.posix_memalign, 0)) {
        init();
        if (!real.posix_memalign) return (*out = boot_alloc(n, align)) ? 0 : ENOMEM;
    }
    bool rec = recording();
    t_busy++;
    int rc = real.posix_memalign(out, align, n);
    t_busy--;
    if (rec) log_call(PAB_OP_POSIX_MEMALIGN, next_seq(), rc ? NULL : *out, align, n);
    return rc;
}

/* recorder.c — libpab-record.so: preloaded, it streams every malloc-family call of a process, and its marks, into
 * the version-2 trace named by PAB_TRACE_OUT (per-thread buffers of varint deltas, whole chunks by writev) and forwards it. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "trace_codec.h"

#define CHUNK_BYTES (256u << 10) /* payload per thread buffer: a killed process loses at most this per thread */
#define CHUNK_LIMIT (CHUNK_BYTES - PAB_EV_MAX)
#define BOOT_BYTES (64u << 10)
#define TLS __thread __attribute__((tls_model("initial-exec")))
#define unlikely(x) __builtin_expect(!!(x), 0)

/* One thread's buffer.  The owner appends without a lock and publishes (events << 32 | bytes); anyone flushing
 * holds `lock` and writes what was published past `done_*`; only the owner starts the buffer over. */
typedef struct tbuf {
    uint8_t *data;
    _Atomic uint64_t pub;           /* events << 32 | bytes in the buffer, written by the owner only */
    uint32_t done_bytes, done_events;
    pab_codec codec;                /* the owner's encoder state */
    uint32_t tid, flags;            /* flags for the next chunk written: PAB_CHUNK_FIRST, PAB_CHUNK_NEW_THREAD */
    atomic_flag lock;
    bool in_use;
    struct tbuf *next;              /* every buffer ever made, in one list */
} tbuf;

enum { ST_UNINIT, ST_INIT, ST_ON, ST_OFF };
enum { ATTN_SIGNAL = 1 };           /* g_attn: a mark signal arrived; the next event writes the mark */

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
    int (*pthread_create)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
} real;

static _Atomic int g_state = ST_UNINIT;
static _Atomic unsigned g_attn;
static _Atomic uint64_t g_seq = 1;
static _Atomic int g_multi;                 /* a second thread may exist: sequence numbers by atomic add */
static uint64_t g_t0, g_t0_real, g_seq0;
static int g_fd = -1;
static bool g_lazy;                         /* a forked child: the file is made at the first write */
static atomic_flag g_list_lock = ATOMIC_FLAG_INIT, g_io_lock = ATOMIC_FLAG_INIT;
static tbuf *g_bufs;
static pthread_key_t g_key;
static int g_mark_signal;
static struct { uint64_t events, chunks, off; uint32_t threads, marks; } g_out; /* under g_io_lock */
static char g_base[PAB_TRACE_CMDLINE_MAX];  /* PAB_TRACE_OUT */
static char g_boot[BOOT_BYTES] __attribute__((aligned(64)));
static _Atomic size_t g_boot_used;

static TLS tbuf *t_buf;
static TLS int t_busy;     /* inside the recorder, or inside the real allocator: forward, do not record */
static TLS int t_gone;     /* the thread's buffer was returned at thread exit */
static TLS uint8_t t_one[PAB_EV_MAX]; /* an event written alone (no stack frame for it on the fast path) */

/* ---- tiny helpers that never allocate */
static void lock(atomic_flag *f) { while (atomic_flag_test_and_set_explicit(f, memory_order_acquire)) sched_yield(); }
static void unlock(atomic_flag *f) { atomic_flag_clear_explicit(f, memory_order_release); }
static uint64_t clock_ns(clockid_t id) { struct timespec ts; clock_gettime(id, &ts); return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec; }
static uint64_t now_ns(void) { return clock_ns(CLOCK_MONOTONIC); }
static uint32_t gettid_(void) { return (uint32_t)syscall(SYS_gettid); }
static void say(const char *msg) { ssize_t r = write(2, msg, strlen(msg)); (void)r; }

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

/* ---- output: whole chunks, one writev each, under g_io_lock with signals blocked, so SIGTERM or SIGINT never
 * cuts one; a write that fails is taken back (the file ends at its last whole chunk) and recording stops. */
static int write_all(const struct iovec *iov, int n) {
    size_t want = 0;
    for (int i = 0; i < n; i++) want += iov[i].iov_len;
    ssize_t k;
    do k = writev(g_fd, iov, n); while (k < 0 && errno == EINTR);
    if (k == (ssize_t)want) { g_out.off += want; return 0; }
    if (ftruncate(g_fd, (off_t)g_out.off)) {}
    return -1;
}

static int open_output(bool child);

static void write_chunk(uint32_t magic, uint32_t tid, uint32_t flags, const void *p, uint32_t bytes, uint32_t events) {
    pab_trace2_chunk h = {magic, tid, bytes, events, flags, 0, now_ns()};
    struct iovec iov[2] = {{&h, sizeof h}, {(void *)p, bytes}};
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    lock(&g_io_lock);
    if (g_fd < 0 && g_lazy) {
        g_lazy = false;
        if (open_output(true)) atomic_store(&g_state, ST_OFF);
    }
    if (g_fd >= 0) {
        if (write_all(iov, 2)) {
            close(g_fd);
            g_fd = -1;
            atomic_store(&g_state, ST_OFF);
            say("pab-record: cannot write the trace (disk full?); recording stopped, the file ends at its last whole chunk\n");
        } else if (magic == PAB_CHUNK_DATA) {
            g_out.events += events;
            g_out.chunks++;
            g_out.threads += (flags & PAB_CHUNK_NEW_THREAD) != 0;
        }
    }
    unlock(&g_io_lock);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void path_with_pid(char *dst, const char *base, uint32_t pid) {
    char digits[16];
    int k = 0;
    do digits[k++] = (char)('0' + pid % 10); while ((pid /= 10) && k < 15);
    size_t n = strlen(base); /* init() keeps it 32 bytes short of the buffer */
    memcpy(dst, base, n);
    dst[n++] = '.';
    while (k) dst[n++] = digits[--k];
    dst[n] = 0;
}

static uint16_t read_file(const char *path, char *buf, size_t cap) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, cap);
    close(fd);
    return n > 0 ? (uint16_t)n : 0;
}

static int libpython_loaded(struct dl_phdr_info *info, size_t size, void *arg) {
    return info->dlpi_name && strstr(info->dlpi_name, "libpython") != NULL;
}

/* A Python interpreter: a python* executable or libpython loaded.  Only then is Py_GetVersion looked up, so a
 * failed dlsym never leaves an error string for the next dl call to free (through an interposer below us). */
static const char *python_version(const char *exe, size_t n) {
    const char *base = exe;
    for (size_t i = 0; i < n; i++)
        if (exe[i] == '/') base = exe + i + 1;
    if ((size_t)(exe + n - base) < 6 || strncmp(base, "python", 6)) {
        if (!dl_iterate_phdr(libpython_loaded, NULL)) return NULL;
    }
    const char *(*version)(void) = (const char *(*)(void))dlsym(RTLD_DEFAULT, "Py_GetVersion");
    return version ? version() : NULL;
}

/* How this process runs: a Python interpreter (its version), PYTHONMALLOC, the executable. */
static void describe(pab_trace2_header *h, char *s) {
    const char *pm = getenv("PYTHONMALLOC");
    char *at = s;
    at += h->cmdline_len = read_file("/proc/self/cmdline", at, PAB_TRACE_CMDLINE_MAX);
    ssize_t n = readlink("/proc/self/exe", at, PAB_TRACE_CMDLINE_MAX);
    at += h->exe_len = n > 0 ? (uint16_t)n : 0;
    const char *v = python_version(at - h->exe_len, h->exe_len);
    if (pm) {
        h->flags |= PAB_T2_PYTHONMALLOC_SET;
        memcpy(at, pm, h->pythonmalloc_len = (uint16_t)strnlen(pm, 64));
        at += h->pythonmalloc_len;
    }
    if (v) {
        h->flags |= PAB_T2_PYTHON;
        memcpy(at, v, h->python_len = (uint16_t)strnlen(v, 200));
    }
}

/* Creates path; where it exists and was written by this very process (an image that exec'd into this one), that
 * trace moves aside to path.exec-N and this image takes the name: the name follows the process through exec. */
static int claim(char *path) {
    static char aside[PAB_TRACE_CMDLINE_MAX + 64];
    int flags = O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC;
    int fd = open(path, flags, 0644);
    if (fd >= 0 || errno != EEXIST) return fd;
    pab_trace2_header h;
    int old = open(path, O_RDONLY | O_CLOEXEC);
    bool ours = old >= 0 && pread(old, &h, sizeof h, 0) == (ssize_t)sizeof h && !memcmp(h.magic, PAB_TRACE_MAGIC, 8) &&
                h.version == PAB_TRACE_VERSION && h.pid == (uint32_t)getpid();
    if (old >= 0) close(old);
    for (unsigned k = 1; ours && k < 100; k++) {
        size_t n = strlen(path);
        memcpy(aside, path, n);
        memcpy(aside + n, ".exec-", 6);
        aside[n + 6] = (char)('0' + k / 10);
        aside[n + 7] = (char)('0' + k % 10);
        aside[n + 8] = 0;
        if (!link(path, aside) && !unlink(path)) return open(path, flags, 0644);
    }
    return -1;
}

/* The first process to record writes PAB_TRACE_OUT; any other (exec'd or forked child) PAB_TRACE_OUT.<pid>.  A forked
 * child opens its file at its first write (g_lazy), so a child that only execs leaves none behind. */
static int open_output(bool child) {
    static char path[PAB_TRACE_CMDLINE_MAX + 32];
    static char head[sizeof(pab_trace2_header) + 2 * PAB_TRACE_CMDLINE_MAX + 512];
    memcpy(path, g_base, strlen(g_base) + 1);
    g_fd = child ? -1 : claim(path);
    if (g_fd < 0) {
        path_with_pid(path, g_base, (uint32_t)getpid());
        g_fd = claim(path);
    }
    if (g_fd < 0) { say("pab-record: cannot create the trace file (PAB_TRACE_OUT); not recording\n"); return -1; }
    pab_trace2_header h = {.version = PAB_TRACE_VERSION, .page_size = (uint32_t)sysconf(_SC_PAGESIZE),
                           .pid = (uint32_t)getpid(), .ppid = (uint32_t)getppid(), .t0_ns = g_t0,
                           .t0_realtime_ns = g_t0_real, .seq0 = g_seq0, .chunk_bytes = CHUNK_BYTES};
    memcpy(h.magic, PAB_TRACE_MAGIC, 8);
    memset(head, 0, sizeof head);
    describe(&h, head + sizeof h);
    size_t strings = (size_t)h.cmdline_len + h.exe_len + h.pythonmalloc_len + h.python_len;
    h.header_size = (uint32_t)((sizeof h + strings + 7) & ~(size_t)7);
    memcpy(head, &h, sizeof h);
    g_out.off = 0;
    struct iovec iov = {head, h.header_size};
    if (write_all(&iov, 1)) { close(g_fd); g_fd = -1; return -1; }
    return 0;
}

/* Where this process's recording starts: its first sequence number and its clocks. */
static void start_here(void) {
    g_t0 = now_ns();
    g_t0_real = clock_ns(CLOCK_REALTIME);
    g_seq0 = atomic_load(&g_seq);
}

/* ---- buffers */
static void flush_locked(tbuf *b, bool own) {
    uint64_t pub = atomic_load_explicit(&b->pub, memory_order_acquire);
    uint32_t bytes = (uint32_t)pub - b->done_bytes, events = (uint32_t)(pub >> 32) - b->done_events;
    if (bytes) {
        write_chunk(PAB_CHUNK_DATA, b->tid, b->flags, b->data + b->done_bytes, bytes, events);
        b->flags = 0;
    }
    if (own) { /* the owner starts over; its encoder state carries on into the next chunk */
        b->done_bytes = b->done_events = 0;
        atomic_store_explicit(&b->pub, 0, memory_order_release);
    } else {
        b->done_bytes = (uint32_t)pub;
        b->done_events = (uint32_t)(pub >> 32);
    }
}

static void flush_own(tbuf *b) {
    lock(&b->lock);
    flush_locked(b, true);
    unlock(&b->lock);
}

static void flush_all(void) {
    lock(&g_list_lock);
    for (tbuf *b = g_bufs; b; b = b->next)
        if (b->in_use) {
            lock(&b->lock);
            flush_locked(b, b == t_buf);
            unlock(&b->lock);
        }
    unlock(&g_list_lock);
}

static void thread_done(void *p) {
    tbuf *b = p;
    flush_own(b);
    t_buf = NULL;
    t_gone = 1;
    lock(&g_list_lock);
    b->in_use = false;
    unlock(&g_list_lock);
}

/* A buffer as a new thread starts it: nothing written, a fresh codec, this thread's id, a first chunk. */
static void fresh(tbuf *b) {
    b->done_bytes = b->done_events = 0;
    atomic_store(&b->pub, 0);
    b->codec = (pab_codec){0, 0};
    b->tid = gettid_();
    b->flags = PAB_CHUNK_FIRST | PAB_CHUNK_NEW_THREAD;
}

static tbuf *attach(void) {
    tbuf *b;
    lock(&g_list_lock);
    for (b = g_bufs; b && b->in_use; b = b->next) {}
    if (!b) {
        void *m = mmap(NULL, CHUNK_BYTES + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) { unlock(&g_list_lock); return NULL; }
        b = (tbuf *)((char *)m + CHUNK_BYTES);
        b->data = m;
        b->next = g_bufs;
        g_bufs = b;
    }
    if (b != g_bufs || b->next) atomic_store(&g_multi, 1); /* a thread pthread_create did not make (raw clone) */
    b->in_use = true;
    fresh(b);
    unlock(&g_list_lock);
    pthread_setspecific(g_key, b);
    return t_buf = b;
}

/* The thread's buffer, made at its first event; NULL once the thread's exit returned it (or no memory). */
static __attribute__((noinline)) tbuf *slow_buf(void) {
    if (t_gone || atomic_load_explicit(&g_state, memory_order_relaxed) != ST_ON) return NULL;
    t_busy++;
    tbuf *b = attach();
    t_busy--;
    return b;
}

/* An event without a buffer (the thread is exiting): a chunk of its own, decoded from a fresh state. */
static __attribute__((noinline)) void write_alone(const uint8_t *p, const uint8_t *end) {
    t_busy++;
    write_chunk(PAB_CHUNK_DATA, gettid_(), PAB_CHUNK_FIRST, p, (uint32_t)(end - p), 1);
    t_busy--;
}

static __attribute__((noinline)) void attention(tbuf *b);

static inline uint32_t pos_of(const tbuf *b) { return (uint32_t)atomic_load_explicit(&b->pub, memory_order_relaxed); }

static inline void commit(tbuf *b, uint8_t *w) {
    uint32_t pos = (uint32_t)(w - b->data);
    uint64_t events = (atomic_load_explicit(&b->pub, memory_order_relaxed) >> 32) + 1;
    atomic_store_explicit(&b->pub, events << 32 | pos, memory_order_release);
    if (unlikely(pos > CHUNK_LIMIT || atomic_load_explicit(&g_attn, memory_order_relaxed))) attention(b);
}

/* ENCODE(b, codec, w, expr): runs expr writing at w with the thread's codec, into its buffer or a chunk alone. */
#define ENCODE(expr)                                                          \
    do {                                                                      \
        tbuf *b_ = t_buf;                                                     \
        if (unlikely(!b_)) b_ = slow_buf();                                   \
        if (__builtin_expect(b_ != NULL, 1)) {                                \
            pab_codec *codec = &b_->codec;                                    \
            uint8_t *w = b_->data + pos_of(b_);                               \
            commit(b_, (expr));                                               \
        } else {                                                              \
            uint8_t *w = t_one;                                               \
            pab_codec c_ = {0, 0}, *codec = &c_;                              \
            write_alone(t_one, (expr));                                       \
        }                                                                     \
    } while (0)

/* While the process has one thread, a plain add (the atomic one costs as much as the rest of a call); from the
 * moment it starts a second thread (pthread_create below, still alone), an atomic one. */
static inline uint64_t next_seq(void) {
    if (__builtin_expect(!atomic_load_explicit(&g_multi, memory_order_relaxed), 1)) {
        uint64_t s = atomic_load_explicit(&g_seq, memory_order_relaxed);
        atomic_store_explicit(&g_seq, s + 1, memory_order_relaxed);
        return s;
    }
    return atomic_fetch_add_explicit(&g_seq, 1, memory_order_relaxed);
}

static void put_mark(const char *name, unsigned len) {
    uint64_t seq = next_seq(), t = now_ns() - g_t0;
    ENCODE(pab_enc_mark(w, codec, seq, name, len, t));
    lock(&g_io_lock);
    g_out.marks++;
    unlock(&g_io_lock);
    flush_all(); /* a mark is on disk, with everything before it, before the program goes on */
}

static void attention(tbuf *b) {
    if (pos_of(b) > CHUNK_LIMIT) { t_busy++; flush_own(b); t_busy--; }
    if ((atomic_load(&g_attn) & ATTN_SIGNAL) && (atomic_fetch_and(&g_attn, ~ATTN_SIGNAL) & ATTN_SIGNAL)) {
        t_busy++;
        put_mark("signal", 6);
        t_busy--;
    }
}

/* ---- marks: pab_mark(name) from the program (Python: bench/pysite/pyalloc_mark.py); a signal (PAB_MARK_SIGNAL)
 * sets a flag that the next event of any thread turns into the mark `signal`. */
static unsigned mark_len(const char *name) {
    unsigned n = 0;
    for (; name && name[n]; n++) {
        char c = name[n];
        if (n == PAB_TRACE_MARK_MAX || !pab_trace_mark_char(c)) return 0;
    }
    return n;
}

static inline bool recording(void);

__attribute__((visibility("default"))) void pab_mark(const char *name) {
    unsigned n = mark_len(name);
    if (!n) { say("pab-record: a mark name is 1-47 letters, digits, '_', '-' or '.'; mark ignored\n"); return; }
    if (!recording()) return;
    t_busy++;
    put_mark(name, n);
    t_busy--;
}

static void on_mark_signal(int sig) { atomic_fetch_or(&g_attn, ATTN_SIGNAL); }

static void install_mark_signal(void) {
    const char *s = getenv("PAB_MARK_SIGNAL");
    if (!s || !*s) return;
    if (!strncmp(s, "SIG", 3)) s += 3;
    for (int sig = 1; sig < NSIG && !g_mark_signal; sig++) {
        const char *abbrev = sigabbrev_np(sig);
        if (abbrev && !strcmp(abbrev, s)) g_mark_signal = sig;
    }
    struct sigaction old, sa = {.sa_handler = on_mark_signal, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    if (!g_mark_signal || sigaction(g_mark_signal, NULL, &old) || old.sa_handler != SIG_DFL ||
        sigaction(g_mark_signal, &sa, NULL))
        say("pab-record: PAB_MARK_SIGNAL names no signal the recorder can take (or the program has its own handler)\n");
}

/* ---- set-up, fork, exit */
static void fork_prepare(void) { lock(&g_list_lock); lock(&g_io_lock); }
static void fork_parent(void) { unlock(&g_io_lock); unlock(&g_list_lock); }
static void fork_child(void) {
    /* What the buffers hold belongs to the parent, which writes it; only this thread lives on. */
    for (tbuf *b = g_bufs; b; b = b->next) { /* a buffer not in use is never flushed, and attach makes it fresh */
        atomic_flag_clear(&b->lock);
        b->in_use = b == t_buf;
    }
    if (t_buf) fresh(t_buf);
    g_out = (__typeof__(g_out)){0};
    atomic_store(&g_multi, 0); /* only this thread lives on */
    if (g_fd >= 0) close(g_fd);
    g_fd = -1;
    g_lazy = atomic_load(&g_state) == ST_ON;
    start_here();
    unlock(&g_io_lock);
    unlock(&g_list_lock);
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
    real.pthread_create = dlsym(RTLD_NEXT, "pthread_create");
}

/* More than one thread now?  (Threads made before the recorder started: other libraries' constructors.) */
static bool threads_running(void) {
    static char status[4096];
    uint16_t n = read_file("/proc/self/status", status, sizeof status - 1);
    status[n] = 0;
    const char *t = strstr(status, "\nThreads:");
    return !t || atoi(t + 9) != 1;
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
        start_here();
        atomic_store(&g_multi, threads_running());
        if (!pthread_key_create(&g_key, thread_done) && !pthread_atfork(fork_prepare, fork_parent, fork_child) &&
            !open_output(false)) {
            st = ST_ON;
            install_mark_signal();
        }
    }
    atomic_store(&g_state, st);
    t_busy--;
}

__attribute__((constructor)) static void pab_record_start(void) { init(); }

/* Everything buffered, then END with the totals; calls after this (later destructors) are not recorded. */
__attribute__((destructor)) static void pab_record_stop(void) {
    int expect = ST_ON;
    if (!atomic_compare_exchange_strong(&g_state, &expect, ST_OFF)) return;
    t_busy++;
    flush_all();
    lock(&g_io_lock);
    pab_trace2_end e = {g_out.events, atomic_load(&g_seq), g_out.chunks, g_out.threads, g_out.marks};
    unlock(&g_io_lock);
    write_chunk(PAB_CHUNK_END, gettid_(), 0, &e, sizeof e, 0);
    t_busy--;
}

/* The one place a second thread comes from: the process is still single-threaded here, so the switch to atomic
 * sequence numbers races with no one. */
int pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg) {
    if (unlikely(!real.pthread_create)) { init(); if (!real.pthread_create) return EAGAIN; }
    atomic_store(&g_multi, 1);
    return real.pthread_create(t, a, fn, arg);
}

/* ---- the hooks.  The sequence number of a call that gives a block up is taken before the real call, of one
 * that gets a block after it, so seq order never shows a block in two hands. */
static inline bool recording(void) {
    int st = atomic_load_explicit(&g_state, memory_order_relaxed);
    if (__builtin_expect(st == ST_ON, 1)) return !t_busy;
    if (st == ST_UNINIT) init();
    return !t_busy && atomic_load_explicit(&g_state, memory_order_relaxed) == ST_ON;
}

#define FORWARD(expr) (t_busy++, __extension__({ __typeof__(expr) r_ = (expr); t_busy--; r_; }))

static inline __attribute__((always_inline)) void log_alloc(unsigned op, const void *p, uint64_t size, unsigned align_log2) {
    uint64_t seq = next_seq();
    ENCODE(pab_enc_alloc(w, codec, op, seq, (uintptr_t)p, size, align_log2));
}

void *malloc(size_t n) {
    if (unlikely(!real.malloc)) { init(); if (!real.malloc) return boot_alloc(n, 16); }
    if (!recording()) return real.malloc(n);
    void *p = FORWARD(real.malloc(n));
    log_alloc(PAB_OP_MALLOC, p, n, 0);
    return p;
}

void *calloc(size_t k, size_t n) {
    size_t total;
    if (__builtin_mul_overflow(k, n, &total)) total = SIZE_MAX;
    if (unlikely(!real.calloc)) {
        init();
        if (!real.calloc) { void *p = total == SIZE_MAX ? NULL : boot_alloc(total, 16); return p ? memset(p, 0, total) : p; }
    }
    if (!recording()) return real.calloc(k, n);
    void *p = FORWARD(real.calloc(k, n));
    log_alloc(PAB_OP_CALLOC, p, total, 0);
    return p;
}

void free(void *p) {
    if (!p || is_boot(p)) return;
    if (!recording()) { real.free(p); return; }
    uint64_t seq = next_seq();
    ENCODE(pab_enc_free(w, codec, seq, (uintptr_t)p));
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
    if (unlikely(!real.realloc)) { init(); if (!real.realloc) return p ? NULL : boot_alloc(n, 16); }
    if (!recording()) return real.realloc(p, n);
    uint64_t before = next_seq();
    void *q = FORWARD(real.realloc(p, n));
    uint64_t after = q && q != p ? next_seq() : 0;
    ENCODE(pab_enc_realloc(w, codec, before, after, (uintptr_t)p, (uintptr_t)q, n));
    return q;
}

void *reallocarray(void *p, size_t k, size_t n) {
    size_t total;
    if (__builtin_mul_overflow(k, n, &total)) { errno = ENOMEM; return NULL; }
    return realloc(p, total);
}

static unsigned log2_of(size_t align) {
    unsigned l = 0;
    while (l < 63 && ((size_t)1 << l) < align) l++;
    return l;
}

static void *aligned(unsigned op, size_t align, size_t n, void *(*fn)(size_t, size_t), void *(*fn1)(size_t)) {
    if (unlikely(!real.malloc)) { init(); if (!real.malloc) return boot_alloc(n, align); }
    bool rec = recording();
    void *p = FORWARD(fn1 ? fn1(n) : fn ? fn(align, n) : real.memalign(align, n));
    if (rec) log_alloc(op, p, n, log2_of(align));
    return p;
}

void *aligned_alloc(size_t align, size_t n) { return aligned(PAB_OP_ALIGNED_ALLOC, align, n, real.aligned_alloc, NULL); }
void *memalign(size_t align, size_t n) { return aligned(PAB_OP_MEMALIGN, align, n, real.memalign, NULL); }
void *valloc(size_t n) { return aligned(PAB_OP_VALLOC, (size_t)sysconf(_SC_PAGESIZE), n, NULL, real.valloc); }
void *pvalloc(size_t n) { return aligned(PAB_OP_PVALLOC, (size_t)sysconf(_SC_PAGESIZE), n, NULL, real.pvalloc); }

int posix_memalign(void **out, size_t align, size_t n) {
    if (unlikely(!real.posix_memalign)) {
        init();
        if (!real.posix_memalign) return (*out = boot_alloc(n, align)) ? 0 : ENOMEM;
    }
    bool rec = recording();
    int rc = FORWARD(real.posix_memalign(out, align, n));
    if (rec) log_alloc(PAB_OP_POSIX_MEMALIGN, rc ? NULL : *out, n, log2_of(align));
    return rc;
}

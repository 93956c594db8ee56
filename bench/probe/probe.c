/* probe.c — libpab-probe.so, preloaded by `pyalloc try` after the allocator under test (docs/try.md): it proves who
 * serves malloc, takes the program's memory figures at its measuring point and exports pab_mark.  It never mallocs.
 *
 * Environment (set by `pyalloc try`; without PAB_PROBE_OUT and PAB_PROBE_PID the probe does nothing):
 *   PAB_PROBE_OUT=FILE       the result JSON, written at start-up and again at the end
 *   PAB_PROBE_PID=0000000000 claimed by the first process (its pid is written into the string in place, so that
 *                            children inherit it); a later image with another pid is a descendant and stays passive
 *   PAB_PROBE_EXPECT=NAME    the allocator that must serve malloc (a mismatch ends the process at once, status 125)
 *   PAB_PROBE_RELEASE=cycle  release at every mark the program makes (release=cycle configurations)
 *   PAB_PROBE_MARK=NAME, PAB_PROBE_AT=K   the measuring point: occurrence K of mark NAME (K = 0: count marks only)
 *   PAB_PROBE_TIMELINE=FILE  sample RSS every 5 ms into FILE (the sampler thread exists only then)
 *   PAB_PROBE_SIGNAL=N       signal N is the mark `signal` (a thread acts on it, outside the handler; in Python the
 *                            sitecustomize's handler, on the main thread, replaces ours)
 *   PAB_PROBE_KNOBS=TEXT     the configuration's knobs (as --pab_knobs, bench/CONTRACT.md), read back before the
 *                            program starts into the identity's "tuning"; a knob refused ends the process (status
 *                            125, one line).  glibc's knob probes do malloc: they test malloc itself, before the base */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "pab_alloc.h"
#include "pab_sys.h"
#include "trace_format.h"

#define MARKS_MAX 64
#define NAME_LEN (PAB_TRACE_MARK_MAX + 1)
#define PATH_LEN 4096
#define EXIT_MISMATCH 125

extern char **environ;

typedef struct { char name[NAME_LEN]; unsigned count; } mark_count;

static struct {
    pid_t pid;                  /* the measured process; 0: passive */
    bool python, cycle;
    char out[PATH_LEN], tmp[PATH_LEN + 8], timeline[PATH_LEN], expect[64], target[NAME_LEN];
    unsigned at;
    uint64_t rss_base, rss_peak, minor0, major0, minor, major;
    pab_identity id;
    mark_count marks[MARKS_MAX];
    unsigned nmarks, dropped, cycle_releases, measured_at;
    char measured[NAME_LEN];    /* the mark at which after_free was taken; "" until then */
    uint64_t after_free, after_release, release_ns;
    int efd;                    /* the signal handler's eventfd, read by the signal thread; -1: none */
    pthread_t signal_thread;
} g = {.efd = -1};
static atomic_flag g_lock = ATOMIC_FLAG_INIT;
static atomic_bool g_stop;
static char g_json[1 << 16], g_identity[8192], g_knobs[1024], g_tuning[1024];

static void lock(void) { while (atomic_flag_test_and_set_explicit(&g_lock, memory_order_acquire)) sched_yield(); }
static void unlock(void) { atomic_flag_clear_explicit(&g_lock, memory_order_release); }
static bool active(void) { return g.pid && getpid() == g.pid; } /* a forked child shares g but not the pid */

static void say(const char *a, const char *b) {
    ssize_t r = write(2, a, strlen(a));
    r = write(2, b, strlen(b));
    (void)r;
}

static void copy_env(char *dst, size_t len, const char *name) {
    const char *v = getenv(name);
    size_t n = v ? strnlen(v, len - 1) : 0;
    memcpy(dst, v ? v : "", n);
    dst[n] = 0;
}

/* The process `try` started claims PAB_PROBE_PID by writing its pid over the zeros (same length, in the environ
 * string itself: no allocation), so its children and their exec'd images inherit the claim. */
static bool claim(void) {
    char *v = NULL;
    for (char **e = environ; e && *e && !v; e++)
        if (!strncmp(*e, "PAB_PROBE_PID=", 14)) v = *e + 14;
    const char *out = getenv("PAB_PROBE_OUT");
    if (!v || !out || !*out) return false;
    size_t n = strlen(v);
    pid_t me = getpid();
    if (n >= 10 && strspn(v, "0") == n) {
        for (unsigned long p = (unsigned long)me; p && n; p /= 10) v[--n] = (char)('0' + p % 10);
        return true;
    }
    return strtol(v, NULL, 10) == me; /* our own exec: this image is the one measured */
}

/* Mark names as pyalloc_mark documents them: letters, digits, `_`, `-`, `.`; anything else becomes `_`. */
static void clean(const char *raw, char *name) {
    size_t i = 0;
    for (; raw && raw[i] && i < NAME_LEN - 1; i++) {
        name[i] = pab_trace_mark_char(raw[i]) ? raw[i] : '_';
    }
    if (!i) name[i++] = '_';
    name[i] = 0;
}

static mark_count *counter(const char *name) {
    for (unsigned i = 0; i < g.nmarks; i++)
        if (!strcmp(g.marks[i].name, name)) return &g.marks[i];
    if (g.nmarks == MARKS_MAX) return NULL;
    mark_count *m = &g.marks[g.nmarks++];
    memcpy(m->name, name, strlen(name) + 1);
    return m;
}

/* The measuring point: RSS as the program left it, then the allocator's own release call, timed, and RSS again. */
static void measure(const char *name, unsigned occurrence) {
    g.after_free = pab_rss_bytes();
    uint64_t t = pab_now_ns();
    g.id.a->release();
    g.release_ns = pab_now_ns() - t;
    g.after_release = pab_rss_bytes();
    memcpy(g.measured, name, strlen(name) + 1);
    g.measured_at = occurrence;
    pab_timeline_event("release");
}

/* `exit` (the sitecustomize's atexit), `end` (ours) and `signal` are the probe's own marks: release=cycle does not
 * release at them; a mark the program makes is any other name. */
static bool automatic(const char *name) {
    return !strcmp(name, "exit") || !strcmp(name, "end") || !strcmp(name, "signal");
}

static void mark_locked(const char *raw) {
    char name[NAME_LEN];
    clean(raw, name);
    mark_count *m = counter(name);
    unsigned n = m ? ++m->count : 0;
    if (!m) g.dropped++;
    if (strcmp(name, "end")) pab_timeline_event(name); /* `end`: the timeline's own last event */
    if (g.cycle && !automatic(name)) { /* before after_free, as pab_freed does in the benchmark harness */
        g.id.a->release();
        g.cycle_releases++;
        pab_timeline_event("cycle_release");
    }
    if (!g.measured[0] && g.at && n == g.at && !strcmp(name, g.target)) measure(name, n);
}

__attribute__((visibility("default"))) void pab_mark(const char *name) {
    if (!active()) return;
    lock();
    if (active()) mark_locked(name); /* again under the lock: the end may have come meanwhile */
    unlock();
}

static void write_result(const char *stage) {
    pab_json j = {g_json, sizeof g_json, 0};
    pab_json_raw(&j, "{");
    pab_json_kv(&j, "stage", stage, false);
    pab_json_ku(&j, "pid", (uint64_t)g.pid, false);
    pab_json_raw(&j, g.python ? "\"python\": true, \"identity\": " : "\"python\": false, \"identity\": ");
    pab_json_raw(&j, pab_identity_json(&g.id, g.expect, g_identity, sizeof g_identity) ? "{}" : g_identity);
    pab_json_raw(&j, ", ");
    pab_json_ku(&j, "rss_base_bytes", g.rss_base, false);
    pab_json_ku(&j, "rss_peak_bytes", g.rss_peak, false);
    pab_json_ku(&j, "minor_faults", g.minor, false);
    pab_json_ku(&j, "major_faults", g.major, false);
    pab_json_ku(&j, "cycle_releases", g.cycle_releases, false);
    pab_json_ku(&j, "dropped_marks", g.dropped, false);
    pab_json_raw(&j, "\"marks\": {");
    for (unsigned i = 0; i < g.nmarks; i++) {
        if (i) pab_json_raw(&j, ", ");
        pab_json_ku(&j, g.marks[i].name, g.marks[i].count, true);
    }
    pab_json_raw(&j, "}, \"measured\": ");
    if (g.measured[0]) {
        pab_json_raw(&j, "{");
        pab_json_kv(&j, "mark", g.measured, false);
        pab_json_ku(&j, "occurrence", g.measured_at, false);
        pab_json_ku(&j, "rss_after_free_bytes", g.after_free, false);
        pab_json_ku(&j, "rss_after_release_bytes", g.after_release, false);
        pab_json_ku(&j, "release_ns", g.release_ns, true);
        pab_json_raw(&j, "}}\n");
    } else {
        pab_json_raw(&j, "null}\n");
    }
    int fd = open(g.tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    bool ok = fd >= 0 && pab_json_ok(&j) && write(fd, g_json, j.used) == (ssize_t)j.used;
    if (fd >= 0) close(fd);
    if (!ok || rename(g.tmp, g.out)) say("pab-probe: cannot write the result file ", g.out);
}

/* --- --mark-signal outside Python: the handler only flags (an eventfd write is async-signal-safe); this thread
 * makes the mark, and so the release, outside the handler. */
static void on_signal(int s) {
    uint64_t one = 1;
    int saved = errno;
    ssize_t r = write(g.efd, &one, sizeof one);
    (void)r, (void)s;
    errno = saved;
}

static void *signal_loop(void *arg) {
    uint64_t n;
    while (!atomic_load(&g_stop)) {
        if (read(g.efd, &n, sizeof n) != sizeof n || atomic_load(&g_stop)) continue;
        while (n--) pab_mark("signal");
    }
    return arg;
}

static void signal_start(int signum) {
    g.efd = eventfd(0, EFD_CLOEXEC);
    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    if (g.efd < 0 || sigaction(signum, &sa, NULL)) {
        say("pab-probe: cannot catch the mark signal", "\n");
        return;
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old); /* the thread takes no signal itself: the program's threads do */
    if (!g.python && pthread_create(&g.signal_thread, NULL, signal_loop, NULL))
        say("pab-probe: cannot start the signal thread", "\n");
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void signal_stop(void) {
    if (!g.signal_thread) return;
    uint64_t one = 1;
    atomic_store(&g_stop, true);
    ssize_t r = write(g.efd, &one, sizeof one);
    (void)r;
    pthread_join(g.signal_thread, NULL);
    g.signal_thread = 0;
}

/* --- start and end */

static void probe_end(void) {
    if (!active()) return;
    signal_stop();
    lock();
    mark_locked("end");
    g.rss_peak = pab_hwm_bytes(); /* VmHWM of the whole run: this image's mm, from its exec */
    pab_faults(&g.minor, &g.major);
    g.minor -= g.minor0;
    g.major -= g.major0;
    if (g.timeline[0]) pab_timeline_stop();
    write_result("end");
    g.pid = 0; /* later marks (other atexit handlers, destructors) change nothing */
    unlock();
}

__attribute__((constructor)) static void probe_start(void) {
    if (!claim()) return;
    char at[16], release[16], sig[16];
    copy_env(g.out, sizeof g.out, "PAB_PROBE_OUT");
    copy_env(g.expect, sizeof g.expect, "PAB_PROBE_EXPECT");
    copy_env(g.target, sizeof g.target, "PAB_PROBE_MARK");
    copy_env(g.timeline, sizeof g.timeline, "PAB_PROBE_TIMELINE");
    copy_env(at, sizeof at, "PAB_PROBE_AT");
    copy_env(release, sizeof release, "PAB_PROBE_RELEASE");
    copy_env(sig, sizeof sig, "PAB_PROBE_SIGNAL");
    memcpy(g.tmp, g.out, strlen(g.out));
    memcpy(g.tmp + strlen(g.out), ".tmp", 5);
    g.at = (unsigned)strtoul(at, NULL, 10);
    g.cycle = !strcmp(release, "cycle");
    pab_identify_process(g.expect, &g.id);
    copy_env(g_knobs, sizeof g_knobs, "PAB_PROBE_KNOBS");
    int refused = g_knobs[0] && pab_alloc_tuning(g.id.a, g_knobs, g_tuning, sizeof g_tuning);
    if (g_knobs[0] && !refused) g.id.tuning = g_tuning;
    g.rss_base = pab_rss_bytes();
    pab_faults(&g.minor0, &g.major0);
    g.python = pab_alloc_sym("Py_IsInitialized") != NULL; /* the interpreter's own API: this image is a Python */
    g.pid = getpid();
    atexit(probe_end); /* registered before the program's own: runs after them, the last of exit's handlers */
    write_result("start");
    if (g.expect[0] && strcmp(g.expect, g.id.a->name)) {
        say("pab-probe: allocator mismatch: malloc is not served by ", g.expect);
        say(" but by ", g.id.lib);
        say("", "\n");
        _exit(EXIT_MISMATCH);
    }
    if (refused) {
        say("pab-probe: tuning: ", g_tuning);
        say("", "\n");
        _exit(EXIT_MISMATCH);
    }
    if (g.timeline[0] && pab_timeline_start(g.timeline, 5, "start")) say("pab-probe: cannot write ", g.timeline);
    if (sig[0]) signal_start(atoi(sig));
}

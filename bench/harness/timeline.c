/* The opt-in timeline: a sampler thread records RSS every N ms (over the instrumented cycle, or a whole program under
 * the probe) plus events into an mmap'd buffer (never malloc: the allocator under test must not see it). */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "pab_sys.h"
#include "trace_format.h"

#define PAB_TL_MAX (1u << 20)

struct sample { uint64_t t, rss; char event[PAB_TRACE_MARK_MAX + 1]; }; /* a mark name fits */

static struct sample *buf;
static atomic_uint used;
static atomic_bool running;
static uint64_t t0;
static unsigned period_ms;
static int fd = -1;
static pthread_t sampler;

static void add(const char *event) {
    unsigned i = atomic_fetch_add(&used, 1);
    if (i >= PAB_TL_MAX) return;
    buf[i].t = pab_now_ns() - t0;
    buf[i].rss = pab_rss_bytes();
    snprintf(buf[i].event, sizeof buf[i].event, "%s", event ? event : "");
}

static void *sample_loop(void *arg) {
    struct timespec d = {period_ms / 1000, (long)(period_ms % 1000) * 1000000L};
    while (atomic_load(&running)) {
        add(NULL);
        nanosleep(&d, NULL);
    }
    return arg;
}

int pab_timeline_start(const char *path, unsigned ms, const char *first) {
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    buf = mmap(NULL, PAB_TL_MAX * sizeof *buf, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (fd < 0 || buf == MAP_FAILED) return -1;
    period_ms = ms ? ms : 5;
    t0 = pab_now_ns();
    atomic_store(&running, true);
    add(first);
    return pthread_create(&sampler, NULL, sample_loop, NULL) ? -1 : 0;
}

void pab_timeline_event(const char *name) {
    if (atomic_load(&running)) add(name);
}

void pab_timeline_stop(void) {
    if (!atomic_load(&running)) return;
    add("end");
    atomic_store(&running, false);
    pthread_join(sampler, NULL);
    char line[96];
    unsigned n = atomic_load(&used) < PAB_TL_MAX ? atomic_load(&used) : PAB_TL_MAX;
    dprintf(fd, "t_ns,rss_bytes,event\n");
    for (unsigned i = 0; i < n; i++) {
        int len = snprintf(line, sizeof line, "%llu,%llu,%s\n", (unsigned long long)buf[i].t,
                           (unsigned long long)buf[i].rss, buf[i].event);
        if (write(fd, line, (size_t)len) != len) break;
    }
    close(fd);
    munmap(buf, PAB_TL_MAX * sizeof *buf);
}

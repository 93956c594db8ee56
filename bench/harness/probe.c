/* Memory probes: RSS, peak RSS with reset, page faults, MemAvailable — read from /proc without malloc,
 * so measuring never disturbs the allocator under test. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "pab_sys.h"

static ssize_t slurp(const char *path, char *buf, size_t len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, len - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    return n;
}

uint64_t pab_rss_bytes(void) {
    char buf[128];
    unsigned long size, resident;
    if (slurp("/proc/self/statm", buf, sizeof buf) <= 0) return 0;
    char *p = buf;
    size = strtoul(p, &p, 10);
    resident = strtoul(p, &p, 10);
    (void)size;
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

uint64_t pab_proc_field(const char *path, const char *key) {
    char buf[8192];
    if (slurp(path, buf, sizeof buf) <= 0) return 0;
    size_t klen = strlen(key);
    for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (!strncmp(line, key, klen) && line[klen] == ':') return strtoull(line + klen + 1, NULL, 10) * 1024;
    return 0;
}

uint64_t pab_hwm_bytes(void) { return pab_proc_field("/proc/self/status", "VmHWM"); }

bool pab_hwm_reset(void) {
    int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    bool ok = write(fd, "5", 1) == 1;
    close(fd);
    return ok;
}

void pab_faults(uint64_t *minor, uint64_t *major) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *minor = (uint64_t)ru.ru_minflt;
    *major = (uint64_t)ru.ru_majflt;
}

uint64_t pab_now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

uint64_t pab_cpu_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

uint64_t pab_mem_available(void) {
    const char *fake = getenv("PAB_MEM_AVAILABLE");
    uint64_t v;
    if (fake && !pab_parse_size(fake, &v)) return v;
    return pab_proc_field("/proc/meminfo", "MemAvailable");
}

/* Memory probes: touching 64 MiB moves RSS and the peak by that much (within 2 %); the peak resets;
 * page faults are counted.  docs/design.md §5. */
#include <string.h>
#include <sys/mman.h>

#include "check.h"
#include "pab_internal.h"

#define MIB (1ULL << 20)

int main(void) {
    const size_t n = 64 * MIB;
    uint64_t minor0, major0, minor1, major1;
    CHECK(pab_hwm_reset(), "writing 5 to /proc/self/clear_refs failed");
    uint64_t rss0 = pab_rss_bytes(), hwm0 = pab_hwm_bytes();
    CHECK(rss0 > 0 && hwm0 > 0, "rss %llu hwm %llu", (unsigned long long)rss0, (unsigned long long)hwm0);

    char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED, "mmap");
    madvise(p, n, MADV_NOHUGEPAGE);
    pab_faults(&minor0, &major0);
    memset(p, 1, n);
    pab_faults(&minor1, &major1);
    uint64_t rss1 = pab_rss_bytes(), hwm1 = pab_hwm_bytes();
    double drss = (double)(rss1 - rss0), dhwm = (double)(hwm1 - hwm0);
    CHECK(drss > 0.98 * n && drss < 1.02 * n, "RSS moved by %.1f MiB, expected 64", drss / MIB);
    CHECK(dhwm > 0.98 * n && dhwm < 1.02 * n, "peak moved by %.1f MiB, expected 64", dhwm / MIB);
    CHECK(minor1 - minor0 >= n / 4096 / 2, "only %llu minor faults for 16384 pages",
          (unsigned long long)(minor1 - minor0));

    munmap(p, n);
    uint64_t rss2 = pab_rss_bytes();
    CHECK(rss2 < rss1 - n * 98 / 100, "RSS after munmap %llu", (unsigned long long)rss2);
    CHECK(pab_hwm_bytes() >= hwm1 - n / 50, "the peak must remember the 64 MiB until reset (per-CPU RSS counters "
          "make VmHWM approximate by a few pages; 2 %% of 64 MiB is allowed)");
    CHECK(pab_hwm_reset(), "reset");
    uint64_t hwm3 = pab_hwm_bytes();
    CHECK(hwm3 < hwm1 - n * 98 / 100, "peak after reset %.1f MiB, before %.1f MiB", (double)hwm3 / MIB,
          (double)hwm1 / MIB);
    CHECK(pab_mem_available() > 0, "MemAvailable");
    CHECK_DONE();
}

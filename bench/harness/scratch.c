/* Scratch memory for workload bookkeeping: anonymous mmap, so slot arrays and queues never come from the
 * allocator under test (which would put them in rss_base under one allocator and not under another). */
#include <sys/mman.h>

#include "pab_workload.h"

void *pab_scratch(size_t bytes) {
    void *p = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void pab_scratch_free(void *p, size_t bytes) {
    if (p) munmap(p, bytes ? bytes : 1);
}

/* Buffer patterns for the checksums: pab_fill writes every byte (as memset does), pab_stamp one word per page,
 * pab_pages_ok checks those words.  Each word depends on its offset, so overlapping buffers are caught. */
#include <string.h>

#include "pab_workload.h"

#define PAB_PAGE 4096

static inline uint64_t word_at(uint64_t tag, size_t off) { return tag ^ (off * 0x9e3779b97f4a7c15ULL); }

void pab_stamp(void *p, size_t n, uint64_t tag) {
    if (n < 16) { pab_tag(p, n, tag); return; } /* words at both ends would overlap */
    for (size_t off = 0; off + 16 <= n; off += PAB_PAGE) { /* stops short of the last word */
        uint64_t w = word_at(tag, off);
        memcpy((char *)p + off, &w, 8);
    }
    uint64_t last = word_at(tag, n - 8);
    memcpy((char *)p + n - 8, &last, 8);
}

void pab_fill(void *p, size_t n, uint64_t tag) {
    memset(p, (int)(tag & 0xff) | 1, n);
    pab_stamp(p, n, tag);
}

bool pab_pages_ok(const void *p, size_t n, uint64_t tag) {
    if (n < 16) return pab_tag_ok(p, n, tag);
    uint64_t w;
    for (size_t off = 0; off + 16 <= n; off += PAB_PAGE) { /* stops short of the last word */
        memcpy(&w, (const char *)p + off, 8);
        if (w != word_at(tag, off)) return false;
    }
    memcpy(&w, (const char *)p + n - 8, 8);
    return w == word_at(tag, n - 8);
}

/* Checksums: for every size from 0 to 64 bytes (and a few pages), a tag or page pattern reads back intact,
 * and flipping any single byte it covers is caught. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "pab_workload.h"

int main(void) {
    static unsigned char buf[3 * 4096 + 40];
    for (size_t n = 1; n <= 64; n++) {
        uint64_t tag = pab_mix64(n);
        memset(buf, 0, sizeof buf);
        pab_tag(buf, n, tag);
        CHECK(pab_tag_ok(buf, n, tag), "tag of %zu bytes does not read back", n);
        for (size_t i = 0; i < n; i++) {
            unsigned char before[64];
            memcpy(before, buf, n);
            pab_tag(buf, n, tag);
            memcpy(before, buf, n);
            buf[i] ^= 0x40;
            bool covered = memcmp(before, buf, n) != 0 && (i < 8 || i >= (n >= 16 ? n - 8 : n - 1));
            if (covered) CHECK(!pab_tag_ok(buf, n, tag), "a flipped byte %zu of %zu went unnoticed", i, n);
            buf[i] ^= 0x40;
        }
        pab_stamp(buf, n, tag);
        CHECK(pab_pages_ok(buf, n, tag), "stamp of %zu bytes does not read back", n);
    }
    static const size_t sizes[] = {4096, 4097, 4096 + 12, 8200, 2 * 4096 + 9, 3 * 4096 + 40};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        size_t n = sizes[k];
        pab_fill(buf, n, 77);
        CHECK(pab_pages_ok(buf, n, 77), "fill of %zu bytes", n);
        size_t at = n >= 4096 + 16 ? 4096 : n - 4; /* the second page's word, or the last word */
        buf[at] ^= 1;
        CHECK(!pab_pages_ok(buf, n, 77), "a flipped byte at %zu of %zu bytes went unnoticed", at, n);
        CHECK(!pab_pages_ok(buf, n, 78), "another buffer's pattern matched");
    }
    CHECK_DONE();
}

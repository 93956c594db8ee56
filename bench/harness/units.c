/* Sizes on the command line and in messages: digits with an optional K/M/G/T suffix (powers of 1024), and bytes
 * as people read them.  The Python side's twin of parse is scripts/pab/units.py (the CLI's own language). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pab_sys.h"

int pab_parse_size(const char *s, uint64_t *out) {
    static const char suffix[] = "KMGT";
    if (!s || !isdigit((unsigned char)*s)) return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno) return -1;
    int shift = 0;
    if (*end) {
        const char *k = strchr(suffix, toupper((unsigned char)*end));
        if (!k || end[1]) return -1;
        shift = 10 * (int)(k - suffix + 1);
    }
    if (v > (UINT64_MAX >> 2) >> shift) return -1; /* beyond any machine: 2^62 bytes */
    *out = (uint64_t)v << shift;
    return 0;
}

void pab_format_bytes(uint64_t n, char *out, size_t len) {
    if (n >= (1ULL << 30)) snprintf(out, len, "%.1f GiB", (double)n / (1ULL << 30));
    else if (n >= (1ULL << 20)) snprintf(out, len, "%.1f MiB", (double)n / (1ULL << 20));
    else if (n >= 1024) snprintf(out, len, "%.1f KiB", (double)n / 1024);
    else snprintf(out, len, "%llu B", (unsigned long long)n);
}

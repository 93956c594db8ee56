/* The memory guard: a case may touch at most a safe share of MemAvailable, so the OOM killer is never reached.
 * Beyond it the case is skipped with a message that says what it needs, what there is, and what to do. */
#include <stdio.h>

#include "pab_sys.h"

uint64_t pab_guard_wants(uint64_t need) { return (uint64_t)((double)need / PAB_GUARD_SHARE) + PAB_GUARD_RESERVE; }

int pab_guard(uint64_t need, uint64_t avail, const char *who, char *msg, size_t len) {
    uint64_t safe = avail > PAB_GUARD_RESERVE ? (uint64_t)((double)(avail - PAB_GUARD_RESERVE) * PAB_GUARD_SHARE) : 0;
    if (need <= safe) return 0;
    char n[32], a[32], s[32], want[32];
    pab_format_bytes(need, n, sizeof n);
    pab_format_bytes(avail, a, sizeof a);
    pab_format_bytes(safe, s, sizeof s);
    pab_format_bytes(pab_guard_wants(need), want, sizeof want);
    snprintf(msg, len,
             "skipped: %s needs %s but MemAvailable is %s (safe share %s); run it where %s is available, "
             "or lower its size with --param",
             who, n, a, s, want);
    return -1;
}

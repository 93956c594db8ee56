/* The memory guard's arithmetic on faked MemAvailable values: a case fits in 80 % of what is available
 * after a 256 MiB reserve, and a refusal says what it needs and what there is. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "pab_internal.h"

#define GIB (1ULL << 30)
#define MIB (1ULL << 20)

int main(void) {
    char msg[512];
    CHECK(!pab_guard(1 * GIB, 24 * GIB, "w", msg, sizeof msg), "1 GiB of 24 fits");
    CHECK(!pab_guard(18 * GIB, 24 * GIB, "w", msg, sizeof msg), "18 GiB of 24 fits (safe 19 GiB)");
    CHECK(pab_guard(25 * GIB, 24 * GIB, "large_buffer", msg, sizeof msg), "25 GiB of 24 must not fit");
    CHECK(strstr(msg, "skipped:") == msg, "prefix: %s", msg);
    CHECK(strstr(msg, "25.0 GiB") && strstr(msg, "24.0 GiB") && strstr(msg, "large_buffer"), "says why: %s", msg);
    CHECK(pab_guard(1, 100 * MIB, "w", msg, sizeof msg), "less than the reserve: nothing fits");
    uint64_t safe = (uint64_t)((double)(10 * GIB - PAB_GUARD_RESERVE) * PAB_GUARD_SHARE);
    CHECK(!pab_guard(safe, 10 * GIB, "w", msg, sizeof msg), "exactly the safe share fits");
    CHECK(pab_guard(safe + 1, 10 * GIB, "w", msg, sizeof msg), "one byte more does not");

    setenv("PAB_MEM_AVAILABLE", "3G", 1);
    CHECK(pab_mem_available() == 3 * GIB, "faked MemAvailable");
    unsetenv("PAB_MEM_AVAILABLE");
    CHECK(pab_mem_available() > 64 * MIB, "the real MemAvailable");
    CHECK_DONE();
}

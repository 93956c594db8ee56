/* Allocator adapters under each preload: the in-process proof names the allocator that was preloaded, and its
 * release call gives back most of a fully freed 256 MiB heap.  The test re-runs itself once per allocator. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "pab_internal.h"

#define MIB (1ULL << 20)
#define HEAP (256 * MIB)
#define BLOCK 1024

static int child(const char *expect) {
    char lib[4096], ver[128];
    const pab_allocator *a = pab_alloc_identify(lib, sizeof lib);
    CHECK(a && !strcmp(a->name, expect), "expected %s, identified %s (%s)", expect, a ? a->name : "none", lib);
    if (!a) CHECK_DONE();
    a->version(ver, sizeof ver);
    CHECK(strcmp(ver, "unknown") != 0, "%s: no version", expect);

    size_t n = HEAP / BLOCK;
    char **blocks = mmap(NULL, n * sizeof *blocks, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint64_t rss0 = pab_rss_bytes();
    for (size_t i = 0; i < n; i++) {
        blocks[i] = malloc(BLOCK);
        memset(blocks[i], (int)i | 1, BLOCK);
    }
    uint64_t full = pab_rss_bytes();
    for (size_t i = 0; i < n; i++) free(blocks[i]);
    uint64_t freed = pab_rss_bytes();
    a->release();
    uint64_t released = pab_rss_bytes();
    double kept_free = (double)((int64_t)freed - (int64_t)rss0) / MIB;
    double kept_rel = (double)((int64_t)released - (int64_t)rss0) / MIB;
    printf("%-9s %s %s: heap +%.0f MiB, after free +%.1f MiB, after release +%.1f MiB\n", expect, lib, ver,
           (double)(full - rss0) / MIB, kept_free, kept_rel);
    CHECK(full - rss0 >= HEAP * 95 / 100, "%s: the heap did not become resident", expect);
    CHECK(kept_rel < 0.25 * HEAP / MIB, "%s: release kept %.1f MiB of a freed 256 MiB heap", expect, kept_rel);
    CHECK_DONE();
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--child")) return child(argv[2]);
    int known = 0;
    for (const pab_allocator *a = pab_alloc_first(); a; a = a->next) {
        if (!a->unique) continue; /* `other` has nothing to identify */
        char lib[4096] = "";
        known++;
        if (a->soname) CHECK(!pab_alloc_library(a->name, lib, sizeof lib), "%s: %s", a->name, lib);
        pid_t pid = fork();
        if (pid == 0) {
            if (lib[0]) setenv("LD_PRELOAD", lib, 1);
            execl("/proc/self/exe", argv[0], "--child", a->name, (char *)NULL);
            _exit(127);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: child status %#x", a->name, st);
    }
    CHECK(known >= 5, "only %d adapters registered", known);
    CHECK_DONE();
}

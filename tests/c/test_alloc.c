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

static const char *lib_path(const char *name, char *out, size_t len) {
    char path[4096], line[4096];
    snprintf(path, sizeof path, "%s/allocators.paths", getenv("PAB_BUILD") ? getenv("PAB_BUILD") : "build");
    FILE *f = fopen(path, "r");
    out[0] = 0;
    while (f && fgets(line, sizeof line, f)) {
        char *tab = strchr(line, '\t');
        if (line[0] != '#' && tab && !strncmp(line, name, (size_t)(tab - line)) && strlen(name) == (size_t)(tab - line))
            snprintf(out, len, "%.*s", (int)strcspn(tab + 1, "\n"), tab + 1);
    }
    if (f) fclose(f);
    return out;
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--child")) return child(argv[2]);
    static const char *const names[] = {"glibc", "jemalloc", "mimalloc", "tcmalloc", "tbbmalloc"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char lib[4096] = "";
        if (i) CHECK(lib_path(names[i], lib, sizeof lib)[0], "%s: no library in allocators.paths", names[i]);
        pid_t pid = fork();
        if (pid == 0) {
            if (lib[0]) setenv("LD_PRELOAD", lib, 1);
            execl("/proc/self/exe", argv[0], "--child", names[i], (char *)NULL);
            _exit(127);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: child status %#x", names[i], st);
    }
    CHECK_DONE();
}

/* glibc's knob read-back probes what malloc does in a forked child: the process that is then measured keeps the heap
 * and the arenas it had (the probes grow and trim heaps and start threads whose arenas glibc never frees). */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "pab_internal.h"

static int arenas(void) { /* <heap nr="N"> elements of malloc_info: one per arena */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    malloc_info(0, f);
    fclose(f);
    int n = 0;
    for (const char *p = buf; (p = strstr(p, "<heap nr=")); p++) n++;
    free(buf);
    return n;
}

static int child(void) {
    char out[2048];
    int before = arenas();
    size_t heap = mallinfo2().arena;
    int rc = pab_alloc_tuning(pab_alloc_find("glibc"), "MALLOC_ARENA_MAX=4;MALLOC_TRIM_THRESHOLD_=65536", out,
                              sizeof out);
    CHECK(rc == 0, "read-back failed: %s", out);
    CHECK(strstr(out, "MALLOC_ARENA_MAX=4") && strstr(out, "probe: 4 threads allocating at once used 4 arenas"),
          "the arena probe ran and proved the knob: %s", out);
    CHECK(strstr(out, "MALLOC_TRIM_THRESHOLD_=65536") && strstr(out, "probe:"), "the trim probe ran: %s", out);
    CHECK(arenas() == before, "the probes left %d arenas behind (had %d)", arenas(), before);
    CHECK(mallinfo2().arena == heap, "the main heap changed from %zu to %zu bytes", heap, mallinfo2().arena);
    CHECK_DONE();
}

int main(int argc, char **argv) {
    if (argc == 2 && !strcmp(argv[1], "--child")) return child();
    pid_t pid = fork();
    if (pid == 0) { /* glibc reads its knobs at start-up: a fresh image with them in the environment */
        setenv("MALLOC_ARENA_MAX", "4", 1);
        setenv("MALLOC_TRIM_THRESHOLD_", "65536", 1);
        execl("/proc/self/exe", argv[0], "--child", (char *)NULL);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
    CHECK_DONE();
}

/* A C program for the `pyalloc try` tests: 60 MiB allocated and touched, 40 MiB freed, the mark `after_spike` when
 * a probe exports pab_mark (weak: absent otherwise); `cprog wait DIR` then waits for DIR/<pid>.sent (--mark-signal). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void pab_mark(const char *name) __attribute__((weak));

int main(int argc, char **argv) {
    enum { N = 60, FREE = 40, MIB = 1 << 20 };
    char *blocks[N];
    for (int i = 0; i < N; i++) {
        if (!(blocks[i] = malloc(MIB))) return 1;
        memset(blocks[i], i + 1, MIB);
    }
    for (int i = 0; i < FREE; i++) free(blocks[i]);
    if (pab_mark) pab_mark("after_spike");
    if (argc > 2 && !strcmp(argv[1], "wait")) {
        char ready[4096], sent[4096];
        snprintf(ready, sizeof ready, "%s/%d.ready", argv[2], (int)getpid());
        snprintf(sent, sizeof sent, "%s/%d.sent", argv[2], (int)getpid());
        fclose(fopen(ready, "w"));
        struct timespec d = {0, 10 * 1000 * 1000};
        for (int i = 0; i < 2000 && access(sent, F_OK); i++) nanosleep(&d, NULL);
        nanosleep(&d, NULL);
    }
    long sum = 0;
    for (int i = FREE; i < N; i++) sum += blocks[i][MIB - 1];
    for (int i = FREE; i < N; i++) free(blocks[i]);
    printf("%ld\n", sum);
    return 0;
}

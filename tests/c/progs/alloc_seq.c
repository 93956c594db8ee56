/* alloc_seq.c — a program with a known allocation sequence (alloc_seq.h) between two marks, two threads and a
 * forked child, recorded by tests/c/test_trace_record.c and tests/cli/test_record.py.  Built -O0 so no call is elided. */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc_seq.h"

static void *slot[PAB_SEQ_SLOTS];

void pab_mark(const char *name) __attribute__((weak)); /* the recorder's, when it is preloaded */
static void mark(const char *name) { if (pab_mark) pab_mark(name); }

static void step(const pab_seq_step *s) {
    void **p = &slot[s->slot];
    switch (s->op) {
    case PAB_OP_MALLOC: *p = malloc(s->size); break;
    case PAB_OP_CALLOC: *p = calloc(3, s->size / 3); break;
    case PAB_OP_REALLOC: *p = realloc(*p, s->size); break;
    case PAB_OP_FREE: free(*p); *p = NULL; return;
    case PAB_OP_POSIX_MEMALIGN: if (posix_memalign(p, s->align, s->size)) *p = NULL; break;
    case PAB_OP_ALIGNED_ALLOC: *p = aligned_alloc(s->align, s->size); break;
    case PAB_OP_MEMALIGN: *p = memalign(s->align, s->size); break;
    case PAB_OP_VALLOC: *p = valloc(s->size); break;
    case PAB_OP_PVALLOC: *p = pvalloc(s->size); break;
    }
    if (!*p) _exit(3);
    memset(*p, 1, s->size);
}

static void *worker(void *arg) {
    for (int i = 0; i < PAB_SEQ_PER_THREAD; i++) {
        char *p = malloc(PAB_SEQ_THREAD_SIZE);
        p[0] = (char)i;
        free(p);
    }
    return arg;
}

int main(void) {
    mark("seq_start");
    free(malloc(PAB_SEQ_MARK));
    for (size_t i = 0; i < PAB_SEQ_STEPS; i++) step(&pab_seq[i]);
    mark("seq_done");
    pthread_t t[PAB_SEQ_THREADS];
    for (int i = 0; i < PAB_SEQ_THREADS; i++) pthread_create(&t[i], NULL, worker, NULL);
    for (int i = 0; i < PAB_SEQ_THREADS; i++) pthread_join(t[i], NULL);
    pid_t child = fork();
    if (child == 0) {
        for (int i = 0; i < PAB_SEQ_CHILD; i++) free(malloc(PAB_SEQ_CHILD_SIZE));
        exit(0);
    }
    int st = 0;
    waitpid(child, &st, 0);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 4;
}

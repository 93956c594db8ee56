/* prodcons.c — a producer/consumer pair: one thread mallocs PAB_PC_BLOCKS blocks of PAB_PC_SIZE bytes and hands
 * them over, the other checks and frees each (every free a cross-thread free); marks `start` and `done` around it.
 * With argument `forever` it repeats until killed (tests kill it); `signal` raises PAB_MARK_SIGNAL's SIGUSR2 first. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prodcons.h"

void pab_mark(const char *name) __attribute__((weak)); /* the recorder's, when it is preloaded */
static void mark(const char *name) { if (pab_mark) pab_mark(name); }

static char *ring[PAB_PC_RING];
static size_t head, tail;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int forever;

static void *produce(void *arg) {
    for (long i = 0; forever || i < PAB_PC_BLOCKS; i++) {
        char *p = malloc(PAB_PC_SIZE);
        if (!p) _exit(3);
        memset(p, (int)(i & 0x7f), PAB_PC_SIZE);
        pthread_mutex_lock(&mu);
        while (head - tail == PAB_PC_RING) pthread_cond_wait(&changed, &mu);
        ring[head++ % PAB_PC_RING] = p;
        pthread_cond_signal(&changed);
        pthread_mutex_unlock(&mu);
    }
    return arg;
}

static void *consume(void *arg) {
    for (long i = 0; forever || i < PAB_PC_BLOCKS; i++) {
        pthread_mutex_lock(&mu);
        while (head == tail) pthread_cond_wait(&changed, &mu);
        char *p = ring[tail++ % PAB_PC_RING];
        pthread_cond_signal(&changed);
        pthread_mutex_unlock(&mu);
        if (p[PAB_PC_SIZE - 1] != (char)(i & 0x7f)) _exit(4);
        free(p);
    }
    return arg;
}

int main(int argc, char **argv) {
    forever = argc > 1 && !strcmp(argv[1], "forever");
    if (argc > 1 && !strcmp(argv[1], "signal")) {
        raise(SIGUSR2);
        free(malloc(16)); /* the recorder writes the signal's mark at the next call */
    }
    mark("start");
    pthread_t a, b;
    pthread_create(&a, NULL, produce, NULL);
    pthread_create(&b, NULL, consume, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    mark("done");
    return 0;
}

/* prodcons.h — the shape of tests/c/progs/prodcons.c, shared with the tests that record and replay it. */
#ifndef PAB_PRODCONS_H
#define PAB_PRODCONS_H

#define PAB_PC_SIZE 7777u   /* the size of every handed-over block */
#define PAB_PC_BLOCKS 2000  /* blocks made by the producer and freed by the consumer */
#define PAB_PC_RING 64

#endif

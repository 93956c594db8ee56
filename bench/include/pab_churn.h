/* pab_churn.h — the small-object churn that small_churn and threaded_churn share: a live set drawn from the size mix,
 * bursts of short-lived temporaries freed LIFO, replacements of live objects, and survivors.  One instance per thread. */
#ifndef PAB_CHURN_H
#define PAB_CHURN_H

#include "pab_pyobj.h"

typedef struct { void *p; uint64_t tag; size_t size; } pab_slot;

typedef struct pab_churn {
    pab_heap *heap;
    const pab_mix *mix;
    pab_slot *live, temp[8];
    uint64_t n, steps, young, keep, gen, salt; /* salt: told apart per thread in the tags */
    pab_rng rng;
    int err;          /* after a -1: PAB_CHURN_CHECKSUM or PAB_CHURN_ENOMEM */
    size_t err_size;  /* the size of the object concerned */
} pab_churn;

enum { PAB_CHURN_CHECKSUM = 1, PAB_CHURN_ENOMEM = 2 };

/* The churn parameters every churn workload has (rows of its parameter table); read them with pab_churn_params. */
#define PAB_CHURN_PARAMS(live_default, ops_default, what)                                                          \
    {"live", PAB_P_SIZE, live_default, NULL, "objects in " what "live set", 1, 0},                                   \
    {"ops", PAB_P_SIZE, ops_default, NULL, "churn steps per cycle (a burst of temporaries or a replacement)", 0, 0}, \
    {"young", PAB_P_INT, "80", NULL, "percent of steps that are short-lived temporaries, freed LIFO", 0, 100},      \
    {"survivors", PAB_P_INT, "0", NULL, "keep 1 in k objects alive after the cycle (0: none)", 0, 0},               \
    PAB_PARAM_MIX
void pab_churn_params(pab_churn *ch, const pab_ctx *c);            /* n, steps, young, keep, mix, rng from the case */
uint64_t pab_churn_need(const pab_churn *ch);                      /* bytes the live set may touch: for pab_need */

int pab_churn_put(pab_churn *ch, pab_slot *o);                     /* allocate from the mix and tag */
int pab_churn_drop(pab_churn *ch, pab_slot *o);                    /* check the tag and free (empty slot: nothing) */
int pab_churn_refill(pab_churn *ch);                               /* last cycle's survivors die, the live set is new */
/* One step: a burst of temporaries, or a live object replaced by replace (NULL: drop it here, then put). */
int pab_churn_step(pab_churn *ch, int (*replace)(void *user, pab_slot *o), void *user);
int pab_churn_release(pab_churn *ch);                              /* free all but 1 in `keep` */
void pab_churn_free(pab_churn *ch);                                /* teardown: free every live object */
int pab_churn_report(pab_ctx *c, const pab_churn *ch, const char *who); /* err -> pab_fail / pab_enomem; -1 */

#endif

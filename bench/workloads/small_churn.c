/* small_churn: CPython's small-object traffic.  A cycle builds a live set from the size mix, churns it
 * (short-lived temporaries freed LIFO, and replacements of live objects), then frees all but the survivors. */
#include "pab_churn.h"

static const pab_param params[] = {
    PAB_CHURN_PARAMS("100K", "200K", "the "),
    PAB_PARAM_LAYER,
    {NULL},
};

static int setup(pab_ctx *c, void *state) {
    pab_churn *s = state;
    pab_churn_params(s, c);
    if (!pab_need(c, pab_churn_need(s), "live set")) return -1;
    if (!(s->heap = pab_heap_of_case(c))) return pab_fail(c, "small_churn: cannot create the object layer");
    if (!(s->live = pab_scratch(s->n * sizeof *s->live))) return pab_enomem(c, s->n * sizeof *s->live);
    return 0;
}

static int cycle(pab_ctx *c, void *state) {
    pab_churn *s = state;
    if (pab_churn_refill(s)) return pab_churn_report(c, s, "small_churn");
    for (uint64_t k = 0; k < s->steps; k++)
        if (pab_churn_step(s, NULL, NULL)) return pab_churn_report(c, s, "small_churn");
    if (pab_churn_release(s)) return pab_churn_report(c, s, "small_churn");
    pab_freed(c);
    return 0;
}

static void teardown(pab_ctx *c, void *state) {
    pab_churn *s = state;
    pab_churn_free(s);
    pab_scratch_free(s->live, s->n * sizeof *s->live);
    if (s->heap) pab_heap_delete(s->heap);
}

PAB_WORKLOAD(small_churn,
             .shows = "speed and memory overhead of small-object traffic",
             .does = "build a live set from the size mix, churn it, free all but 1 in `survivors`",
             .params = params, .state_size = sizeof(pab_churn),
             .setup = setup, .cycle = cycle, .teardown = teardown);

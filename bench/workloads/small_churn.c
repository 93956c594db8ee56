/* small_churn: CPython's small-object traffic.  A cycle builds a live set from the size mix, churns it
 * (short-lived temporaries freed LIFO, and replacements of live objects), then frees all but the survivors. */
#include "pab_pyobj.h"

struct slot { void *p; uint64_t tag; size_t size; };

struct churn {
    pab_heap *heap;
    const pab_mix *mix;
    struct slot *live, temp[8];
    uint64_t n, steps, young, keep, gen;
    pab_rng rng;
};

static const pab_param params[] = {
    {"live", PAB_P_SIZE, "100K", NULL, "objects in the live set", 1, 0},
    {"ops", PAB_P_SIZE, "200K", NULL, "churn steps per cycle (a burst of temporaries or a replacement)", 0, 0},
    {"young", PAB_P_INT, "80", NULL, "percent of steps that are short-lived temporaries, freed LIFO", 0, 100},
    {"survivors", PAB_P_INT, "0", NULL, "keep 1 in k objects alive after the cycle (0: none)", 0, 0},
    PAB_PARAM_LAYER,
    PAB_PARAM_MIX,
    {NULL},
};

static int setup(pab_ctx *c, void *state) {
    struct churn *s = state;
    s->n = pab_size(c, "live");
    s->steps = pab_size(c, "ops");
    s->young = (uint64_t)pab_int(c, "young");
    s->keep = pab_size(c, "survivors");
    s->mix = pab_mix_of_case(c);
    s->rng.s = pab_seed(c);
    if (!pab_need(c, s->n * (sizeof *s->live + 2 * (uint64_t)pab_mix_mean(s->mix) + 32), "live set")) return -1;
    if (!(s->heap = pab_heap_of_case(c)))
        return pab_fail(c, "small_churn: cannot create the object layer");
    if (!(s->live = pab_scratch(s->n * sizeof *s->live))) return pab_enomem(c, s->n * sizeof *s->live);
    return 0;
}

static int put(pab_ctx *c, struct churn *s, struct slot *o) {
    o->size = pab_mix_draw(s->mix, &s->rng);
    o->tag = pab_mix64(++s->gen);
    if (!(o->p = pab_obj_alloc(s->heap, o->size))) return pab_enomem(c, o->size);
    pab_tag(o->p, o->size, o->tag);
    return 0;
}

static int drop(pab_ctx *c, struct churn *s, struct slot *o) {
    if (!o->p) return 0;
    if (!pab_tag_ok(o->p, o->size, o->tag))
        return pab_fail(c, "small_churn: checksum mismatch in a %zu-byte object: the memory was overwritten", o->size);
    pab_obj_free(s->heap, o->p, o->size);
    o->p = NULL;
    return 0;
}

static int cycle(pab_ctx *c, void *state) {
    struct churn *s = state;
    for (uint64_t i = 0; i < s->n; i++) /* last cycle's survivors die first */
        if (drop(c, s, &s->live[i]) || put(c, s, &s->live[i])) return -1;
    for (uint64_t k = 0; k < s->steps; k++) {
        if (pab_below(&s->rng, 100) < s->young) {
            int depth = 1 + (int)pab_below(&s->rng, 8);
            for (int d = 0; d < depth; d++)
                if (put(c, s, &s->temp[d])) return -1;
            for (int d = depth - 1; d >= 0; d--)
                if (drop(c, s, &s->temp[d])) return -1;
        } else {
            struct slot *o = &s->live[pab_below(&s->rng, s->n)];
            if (drop(c, s, o) || put(c, s, o)) return -1;
        }
    }
    for (uint64_t i = 0; i < s->n; i++)
        if (!(s->keep && i % s->keep == 0) && drop(c, s, &s->live[i])) return -1;
    pab_freed(c);
    return 0;
}

static void teardown(pab_ctx *c, void *state) {
    struct churn *s = state;
    for (uint64_t i = 0; s->live && i < s->n; i++) drop(c, s, &s->live[i]);
    pab_scratch_free(s->live, s->n * sizeof *s->live);
    if (s->heap) pab_heap_delete(s->heap);
}

PAB_WORKLOAD(small_churn,
             .shows = "speed and memory overhead of small-object traffic",
             .does = "build a live set from the size mix, churn it, free all but 1 in `survivors`",
             .params = params, .state_size = sizeof(struct churn),
             .setup = setup, .cycle = cycle, .teardown = teardown);

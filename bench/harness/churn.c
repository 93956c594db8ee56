/* The shared small-object churn (pab_churn.h): what small_churn runs on one thread and threaded_churn on each.
 * Errors are recorded in the instance, not reported, so worker threads never touch the case context. */
#include "pab_churn.h"

void pab_churn_params(pab_churn *ch, const pab_ctx *c) {
    ch->n = pab_size(c, "live");
    ch->steps = pab_size(c, "ops");
    ch->young = (uint64_t)pab_int(c, "young");
    ch->keep = (uint64_t)pab_int(c, "survivors");
    ch->mix = pab_mix_of_case(c);
    ch->rng.s = pab_seed(c);
}

uint64_t pab_churn_need(const pab_churn *ch) {
    return ch->n * (sizeof(pab_slot) + 2 * (uint64_t)pab_mix_mean(ch->mix) + 32);
}

static int failed(pab_churn *ch, int err, size_t size) {
    ch->err = err;
    ch->err_size = size;
    return -1;
}

int pab_churn_put(pab_churn *ch, pab_slot *o) {
    o->size = pab_mix_draw(ch->mix, &ch->rng);
    o->tag = pab_mix64(++ch->gen ^ ch->salt);
    if (!(o->p = pab_obj_alloc(ch->heap, o->size))) return failed(ch, PAB_CHURN_ENOMEM, o->size);
    pab_tag(o->p, o->size, o->tag);
    return 0;
}

int pab_churn_drop(pab_churn *ch, pab_slot *o) {
    if (!o->p) return 0;
    if (!pab_tag_ok(o->p, o->size, o->tag)) return failed(ch, PAB_CHURN_CHECKSUM, o->size);
    pab_obj_free(ch->heap, o->p, o->size);
    o->p = NULL;
    return 0;
}

int pab_churn_refill(pab_churn *ch) {
    for (uint64_t i = 0; i < ch->n; i++)
        if (pab_churn_drop(ch, &ch->live[i]) || pab_churn_put(ch, &ch->live[i])) return -1;
    return 0;
}

int pab_churn_step(pab_churn *ch, int (*replace)(void *user, pab_slot *o), void *user) {
    if (pab_below(&ch->rng, 100) < ch->young) {
        int depth = 1 + (int)pab_below(&ch->rng, 8);
        for (int d = 0; d < depth; d++)
            if (pab_churn_put(ch, &ch->temp[d])) return -1;
        for (int d = depth - 1; d >= 0; d--)
            if (pab_churn_drop(ch, &ch->temp[d])) return -1;
        return 0;
    }
    pab_slot *o = &ch->live[pab_below(&ch->rng, ch->n)];
    if (replace) return replace(user, o);
    return pab_churn_drop(ch, o) || pab_churn_put(ch, o) ? -1 : 0;
}

int pab_churn_release(pab_churn *ch) {
    for (uint64_t i = 0; i < ch->n; i++)
        if (!(ch->keep && i % ch->keep == 0) && pab_churn_drop(ch, &ch->live[i])) return -1;
    return 0;
}

void pab_churn_free(pab_churn *ch) {
    for (uint64_t i = 0; ch->live && i < ch->n; i++) pab_churn_drop(ch, &ch->live[i]);
}

int pab_churn_report(pab_ctx *c, const pab_churn *ch, const char *who) {
    if (ch->err == PAB_CHURN_ENOMEM) return pab_enomem(c, ch->err_size);
    return pab_fail(c, "%s: checksum mismatch in a %zu-byte object: the memory was overwritten", who, ch->err_size);
}

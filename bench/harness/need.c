/* --pab_need: a case's setup run only as far as its memory guard, which records the bytes the case will touch and
 * stops setup there, before the allocator is asked for anything: what `pyalloc plan` shows, by the workload's own sums. */
#include <stdio.h>
#include <stdlib.h>

#include "pab_internal.h"

int pab_case_need(pab_ctx *c, char *out, size_t len) {
    const pab_workload *w = c->v.w;
    c->need_only = true;
    if (w->state_size && !(c->state = calloc(1, w->state_size)))
        return fprintf(stderr, "pyalloc-bench: harness: no memory for the workload's state\n"), 1;
    if (w->setup) w->setup(c, c->state); /* returns at pab_need */
    if (!c->need_who[0]) { /* setup failed before its guard (a missing trace, contradictory parameters), or has none */
        fprintf(stderr, "pyalloc-bench: %s\n", c->failed ? c->error : "setup never asked the memory guard (pab_need)");
        return 2;
    }
    char params[2048];
    pab_values_format(&c->v, params, sizeof params);
    pab_json j = {out, len, 0};
    pab_json_raw(&j, "{");
    pab_json_kv(&j, "workload", w->name, false);
    pab_json_kv(&j, "params", params, false);
    pab_json_ku(&j, "need_bytes", c->need, false);
    pab_json_kv(&j, "who", c->need_who, false);
    pab_json_ku(&j, "threads", (uint64_t)c->threads, false);
    pab_json_ku(&j, "threads_asked", (uint64_t)(c->threads_asked ? c->threads_asked : c->threads), true);
    pab_json_raw(&j, "}\n");
    return pab_json_ok(&j) ? 0 : 1;
}

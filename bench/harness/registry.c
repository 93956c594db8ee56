/* The workload registry: every file in bench/workloads/ registers itself at load (PAB_WORKLOAD's constructor).
 * Kept sorted by name so listings are stable. */
#include <string.h>

#include "pab_workload.h"

static pab_workload *head;

void pab_workload_add(pab_workload *w) {
    pab_workload **p = &head;
    while (*p && strcmp((*p)->name, w->name) < 0) p = &(*p)->next;
    w->next = *p;
    *p = w;
}

const pab_workload *pab_workload_find(const char *name) {
    for (const pab_workload *w = head; w; w = w->next)
        if (!strcmp(w->name, name)) return w;
    return NULL;
}

const pab_workload *pab_workload_first(void) { return head; }

/* Per-type free lists of CPython 3.11/3.12 over the object layer: parked objects are linked through their
 * first word (as CPython links them through ob_type or ob_item[0]); caps and counting as in pab_freelist.h. */
#include <stdlib.h>

#include "pab_freelist.h"

int pab_test_corrupt;

#define LISTS (PAB_FL_KINDS - 1 + PAB_FL_TUPLE_MAX) /* one list per kind, tuples one per length */

struct pab_freelists {
    pab_heap *heap;
    struct pab_tally *tally;
    unsigned flags;
    void *head[LISTS];
    uint32_t count[LISTS];
    pab_fl_stats st;
};

static const size_t base_size[PAB_FL_KINDS] = {24, 40, 56, 64, 120};
static const uint32_t kind_cap[PAB_FL_KINDS] = {100, 2000, 80, 80, 80};

size_t pab_fl_size(pab_fl_kind k, size_t len) { return base_size[k] + (k == PAB_FL_TUPLE ? 8 * len : 0); }

size_t pab_fl_cap(pab_fl_kind k, size_t len) {
    if (k == PAB_FL_TUPLE && (len < 1 || len > PAB_FL_TUPLE_MAX)) return 0;
    return kind_cap[k];
}

/* the list of (k, len), or -1: tuples of length 0 or > 20 have none */
static int list_of(pab_fl_kind k, size_t len) {
    if (k != PAB_FL_TUPLE) return k < PAB_FL_TUPLE ? (int)k : (int)k - 1;
    return len >= 1 && len <= PAB_FL_TUPLE_MAX ? PAB_FL_KINDS - 1 + (int)len - 1 : -1;
}

pab_freelists *pab_fl_new(pab_heap *h, unsigned flags) {
    pab_freelists *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->heap = h;
    f->tally = pab_heap_tally(h);
    f->flags = flags;
    return f;
}

void *pab_fl_alloc(pab_freelists *f, pab_fl_kind k, size_t len) {
    size_t n = pab_fl_size(k, len);
    int i = f->flags & PAB_FL_OFF ? -1 : list_of(k, len);
    bool reusable = !(k == PAB_FL_TUPLE && len == PAB_FL_TUPLE_MAX && (f->flags & PAB_FL_PY311));
    if (i >= 0 && reusable && f->head[i]) {
        void *p = f->head[i];
        f->head[i] = *(void **)p;
        f->count[i]--;
        f->st.hits++;
        f->st.held--;
        pab_count(f->tally, 1, (int64_t)n);
        return p;
    }
    f->st.misses++;
    return pab_obj_alloc(f->heap, n);
}

void pab_fl_free(pab_freelists *f, pab_fl_kind k, size_t len, void *p) {
    size_t n = pab_fl_size(k, len);
    int i = f->flags & PAB_FL_OFF ? -1 : list_of(k, len);
    if (i >= 0 && f->count[i] < kind_cap[k]) {
        *(void **)p = f->head[i];
        f->head[i] = p;
        f->count[i]++;
        f->st.parked++;
        f->st.held++;
        pab_count(f->tally, 1, -(int64_t)n);
        return;
    }
    f->st.released++;
    pab_obj_free(f->heap, p, n);
}

static size_t list_size(int i) {
    return i < PAB_FL_KINDS - 1 ? pab_fl_size(i < PAB_FL_TUPLE ? (pab_fl_kind)i : (pab_fl_kind)(i + 1), 0)
                                : pab_fl_size(PAB_FL_TUPLE, (size_t)(i - (PAB_FL_KINDS - 1) + 1));
}

void pab_fl_clear(pab_freelists *f) {
    for (int i = 0; i < LISTS; i++) {
        size_t n = list_size(i);
        while (f->head[i]) {
            void *p = f->head[i];
            f->head[i] = *(void **)p;
            pab_obj_free(f->heap, p, n);
            pab_count(f->tally, (uint64_t)-1, (int64_t)n); /* the interpreter's free, not the program's */
            f->st.released++;
        }
        f->count[i] = 0;
    }
    f->st.held = 0;
}

void pab_fl_delete(pab_freelists *f) {
    if (!f) return;
    pab_fl_clear(f);
    free(f);
}

pab_fl_stats pab_fl_stat(const pab_freelists *f) { return f->st; }

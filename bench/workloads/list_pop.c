/* list_pop: a Python list filled by append() and emptied by pop(), its item array grown and shrunk by realloc
 * as CPython does (or never shrunk: the seed's case); 1 in `survivors` popped objects stays alive. */
#include "pab_pylist.h"
#include "pab_pyobj.h"

/* Test hook: called once per cycle, at the peak, with one live object (tests flip a byte there). */
void (*pab_hook_list_pop)(void *obj, size_t n);

struct kept { void *p; uint64_t tag; size_t size; };

struct lp {
    pab_heap *heap;
    const pab_mix *mix;
    void *header;                 /* the list object */
    void **items;                 /* its item array, from the object layer: <= 64 slots is pymalloc's */
    size_t len, cap;
    struct kept *kept;            /* survivors of the last cycle (bookkeeping: pab_scratch) */
    size_t nkept, kept_bytes;
    uint64_t n, every, base;
    bool shrink;
    pab_rng rng;
};

static const pab_param params[] = {
    {"n", PAB_P_SIZE, "1M", NULL, "objects appended, then popped, per cycle", 1, 0},
    {"survivors", PAB_P_INT, "0", NULL, "keep every k-th popped object alive until the next cycle (0: none)", 0, 0},
    {"shrink", PAB_P_ENUM, "cpython", "cpython|none", "cpython: pop() shrinks the array below half full; none: never (the seed's case)", 0, 0},
    PAB_PARAM_LAYER,
    PAB_PARAM_MIX,
    {NULL},
};

/* Object i of this cycle: its tag and size follow from (cycle, i), so pop() can check it without a side table. */
static size_t shape(const struct lp *s, uint64_t i, uint64_t *tag) {
    pab_rng r = {s->base ^ pab_mix64(i)};
    *tag = pab_next(&r);
    return pab_mix_draw(s->mix, &r);
}

static int setup(pab_ctx *c, void *state) {
    struct lp *s = state;
    s->n = pab_size(c, "n");
    s->every = (uint64_t)pab_int(c, "survivors");
    s->shrink = pab_choice(c, "shrink") == 0;
    s->mix = pab_mix_of_case(c);
    s->rng.s = pab_seed(c);
    uint64_t slots = s->n + s->n / 8 + 8, nkept = s->every ? s->n / s->every + 1 : 0;
    if (!pab_need(c, s->n * (uint64_t)(pab_mix_mean(s->mix) + 16) + 2 * 8 * slots + nkept * sizeof *s->kept, "list and objects"))
        return -1;
    if (!(s->heap = pab_heap_of_case(c)))
        return pab_fail(c, "list_pop: cannot create the object layer");
    s->kept_bytes = nkept * sizeof *s->kept;
    if (nkept && !(s->kept = pab_scratch(s->kept_bytes))) return pab_enomem(c, s->kept_bytes);
    return 0;
}

/* list_resize(): realloc of the item array to CPython's capacity for the new length. */
static int resize(pab_ctx *c, struct lp *s, size_t len) {
    size_t cap = (s->shrink || len > s->cap) ? pab_list_resize(s->cap, s->len, len) : s->cap;
    if (cap != s->cap) {
        void **items;
        if (!cap) { pab_obj_free(s->heap, s->items, 8 * s->cap); items = NULL; }
        else if (!s->cap) items = pab_obj_alloc(s->heap, 8 * cap);
        else items = pab_obj_realloc(s->heap, s->items, 8 * s->cap, 8 * cap);
        if (cap && !items) return pab_enomem(c, 8 * cap);
        s->items = items;
        s->cap = cap;
    }
    s->len = len;
    return 0;
}

static int append(pab_ctx *c, struct lp *s, uint64_t i) {
    uint64_t tag;
    size_t size = shape(s, i, &tag);
    void *p = pab_obj_alloc(s->heap, size);
    if (!p) return pab_enomem(c, size);
    pab_tag(p, size, tag);
    if (resize(c, s, s->len + 1)) return -1;
    s->items[s->len - 1] = p;
    return 0;
}

static int drop(pab_ctx *c, struct lp *s, void *p, size_t size, uint64_t tag) {
    if (!pab_tag_ok(p, size, tag))
        return pab_fail(c, "list_pop: checksum mismatch in a %zu-byte object: the memory was overwritten", size);
    pab_obj_free(s->heap, p, size);
    return 0;
}

static int pop(pab_ctx *c, struct lp *s) {
    uint64_t i = s->len - 1, tag;
    void *p = s->items[i];
    size_t size = shape(s, i, &tag);
    if (resize(c, s, s->len - 1)) return -1;
    if (s->every && i % s->every == 0) {
        if (!pab_tag_ok(p, size, tag)) return drop(c, s, p, size, tag);
        s->kept[s->nkept++] = (struct kept){p, tag, size};
        return 0;
    }
    return drop(c, s, p, size, tag);
}

/* What the last cycle left: its survivors and the (empty) list itself. */
static int release_last(pab_ctx *c, struct lp *s) {
    int rc = 0;
    for (size_t k = 0; k < s->nkept; k++)
        if (drop(c, s, s->kept[k].p, s->kept[k].size, s->kept[k].tag)) rc = -1;
    s->nkept = 0;
    if (s->cap) pab_obj_free(s->heap, s->items, 8 * s->cap);
    s->items = NULL;
    s->cap = s->len = 0;
    if (s->header) {
        if (!pab_tag_ok(s->header, PAB_LIST_HEADER, s->base)) rc = pab_fail(c, "list_pop: the list header was overwritten");
        pab_obj_free(s->heap, s->header, PAB_LIST_HEADER);
        s->header = NULL;
    }
    return rc;
}

static int cycle(pab_ctx *c, void *state) {
    struct lp *s = state;
    if (release_last(c, s)) return -1;
    s->base = pab_next(&s->rng);
    if (!(s->header = pab_obj_alloc(s->heap, PAB_LIST_HEADER))) return pab_enomem(c, PAB_LIST_HEADER);
    pab_tag(s->header, PAB_LIST_HEADER, s->base);
    for (uint64_t i = 0; i < s->n; i++)
        if (append(c, s, i)) return -1;
    pab_event(c, "appended");
    if (pab_hook_list_pop) pab_hook_list_pop(s->items[s->len / 2], shape(s, s->len / 2, &(uint64_t){0}));
    while (s->len)
        if (pop(c, s)) return -1;
    pab_freed(c);
    return 0;
}

static void teardown(pab_ctx *c, void *state) {
    struct lp *s = state;
    while (s->len && !pop(c, s)) {}
    release_last(c, s);
    pab_scratch_free(s->kept, s->kept_bytes);
    if (s->heap) pab_heap_delete(s->heap);
}

PAB_WORKLOAD(list_pop,
             .shows = "memory kept after pop(), and what trim gives back",
             .does = "append n objects (CPython list growth), pop them all (shrink rule per `shrink`), keep 1 in `survivors`",
             .params = params, .state_size = sizeof(struct lp),
             .setup = setup, .cycle = cycle, .teardown = teardown);

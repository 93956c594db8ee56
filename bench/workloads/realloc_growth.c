/* realloc_growth: CPython's growing containers — str `+=` (an exact realloc per append), bytearray `+=`
 * (over-allocating realloc), dict inserts (keys table replaced at the next power of two >= 3 x used). */
#include "pab_pylist.h"
#include "pab_pyobj.h"

/* Test hook: called once per cycle with the last object grown, before the frees. */
void (*pab_hook_realloc_growth)(void *obj, size_t n);

enum { STR, BYTEARRAY, DICT, KINDS };

struct obj { char *p, *body; uint64_t tag; size_t size, body_size; }; /* body: bytearray buffer, dict keys */

struct rg {
    pab_heap *heap;
    struct obj *objs;
    uint64_t count, final, chunk, keys, nobj, gen;
    int kinds[KINDS], nkinds;
};

static const pab_param params[] = {
    {"kind", PAB_P_ENUM, "all", "all|str|bytearray|dict", "which container grows (all: the three in turn)", 0, 0},
    {"count", PAB_P_INT, "16", NULL, "objects of each kind grown per cycle (all stay alive until the cycle ends)", 1, 0},
    {"final", PAB_P_SIZE, "64K", NULL, "final length in bytes of each str and bytearray", 1, 0},
    {"chunk", PAB_P_SIZE, "16", NULL, "bytes appended per `+=`", 1, 0},
    {"keys", PAB_P_SIZE, "10K", NULL, "keys inserted into each dict (keys and values themselves are not modelled)", 1, 0},
    PAB_PARAM_LAYER,
    {NULL},
};

static int setup(pab_ctx *c, void *state) {
    struct rg *s = state;
    int kind = pab_choice(c, "kind");
    for (int k = 0; k < KINDS; k++)
        if (!kind || kind == k + 1) s->kinds[s->nkinds++] = k;
    s->count = (uint64_t)pab_int(c, "count");
    s->final = pab_size(c, "final");
    s->chunk = pab_size(c, "chunk");
    s->keys = pab_size(c, "keys");
    s->nobj = s->count * (uint64_t)s->nkinds;
    s->gen = pab_seed(c);
    uint64_t dict = pab_dict_keys_bytes(pab_dict_slots_after_insert(8, s->keys + 5)); /* a bound */
    if (!pab_need(c, s->count * (3 * (s->final + s->final / 8 + 64) + 2 * dict), "growing containers")) return -1;
    if (!(s->heap = pab_heap_of_case(c)))
        return pab_fail(c, "realloc_growth: cannot create the object layer");
    if (!(s->objs = pab_scratch(s->nobj * sizeof *s->objs))) return pab_enomem(c, s->nobj * sizeof *s->objs);
    return 0;
}

static int bad(pab_ctx *c, const char *what, size_t n) {
    return pab_fail(c, "realloc_growth: checksum mismatch in a %zu-byte %s: the memory was overwritten", n, what);
}

/* Realloc `*p` from `old` to `n` bytes (alloc when old is 0) and check that the old bytes' tags came along. */
static int regrow(pab_ctx *c, struct rg *s, char **p, size_t old, size_t n, uint64_t tag, const char *what) {
    char *q = old ? pab_obj_realloc(s->heap, *p, old, n) : pab_obj_alloc(s->heap, n);
    if (!q) return pab_enomem(c, n);
    *p = q;
    if (old && !pab_tag_ok(q, old, tag)) return bad(c, what, old);
    return 0;
}

/* s = ''; s += 'x' * chunk until final: the first += makes a new str, each later one reallocs it exactly. */
static int grow_str(pab_ctx *c, struct rg *s, struct obj *o) {
    for (uint64_t len = s->chunk; len <= s->final; len += s->chunk) {
        size_t n = PAB_STR_BYTES(len);
        if (regrow(c, s, &o->p, o->size, n, o->tag, "str")) return -1;
        o->size = n;
        pab_tag(o->p, n, o->tag);
    }
    return 0;
}

/* The object header of a bytearray or dict, whose growing buffer is allocated separately. */
static int new_header(pab_ctx *c, struct rg *s, struct obj *o, size_t size) {
    if (!(o->p = pab_obj_alloc(s->heap, size))) return pab_enomem(c, size);
    o->size = size;
    pab_tag(o->p, size, o->tag);
    return 0;
}

/* b = bytearray(); b += chunk until final: the buffer follows bytearray_resize(). */
static int grow_bytearray(pab_ctx *c, struct rg *s, struct obj *o) {
    if (new_header(c, s, o, PAB_BYTEARRAY_HEADER)) return -1;
    for (uint64_t len = s->chunk; len <= s->final; len += s->chunk) {
        size_t next = pab_bytearray_resize(o->body_size, len);
        if (next == o->body_size) continue; /* fits: no allocator call */
        if (regrow(c, s, &o->body, o->body_size, next, o->tag, "bytearray buffer")) return -1;
        o->body_size = next;
        pab_tag(o->body, next, o->tag);
    }
    return 0;
}

/* d = {}; d[k] = v for `keys` keys: a full keys table is replaced by one of the next power of two >= 3 x used. */
static int grow_dict(pab_ctx *c, struct rg *s, struct obj *o) {
    if (new_header(c, s, o, PAB_DICT_HEADER)) return -1;
    size_t slots = 0;
    for (uint64_t used = 0; used < s->keys; used++) {
        size_t next = pab_dict_slots_after_insert(slots, used);
        if (next == slots) continue;
        size_t n = pab_dict_keys_bytes(next);
        char *keys = pab_obj_alloc(s->heap, n);
        if (!keys) return pab_enomem(c, n);
        pab_tag(keys, n, o->tag);
        if (o->body) {
            if (!pab_tag_ok(o->body, o->body_size, o->tag)) return bad(c, "dict keys table", o->body_size);
            pab_obj_free(s->heap, o->body, o->body_size);
        }
        o->body = keys;
        o->body_size = n;
        slots = next;
    }
    return 0;
}

static int (*const grow[KINDS])(pab_ctx *, struct rg *, struct obj *) = {grow_str, grow_bytearray, grow_dict};
static const char *const kind_name[KINDS] = {"str", "bytearray", "dict"};

static int drop(pab_ctx *c, struct rg *s, struct obj *o, int kind) {
    if (o->p && !pab_tag_ok(o->p, o->size, o->tag)) return bad(c, kind_name[kind], o->size);
    if (o->body && !pab_tag_ok(o->body, o->body_size, o->tag)) return bad(c, kind_name[kind], o->body_size);
    if (o->body) pab_obj_free(s->heap, o->body, o->body_size);
    if (o->p) pab_obj_free(s->heap, o->p, o->size);
    *o = (struct obj){0};
    return 0;
}

static int cycle(pab_ctx *c, void *state) {
    struct rg *s = state;
    for (uint64_t i = 0; i < s->nobj; i++) {
        s->objs[i].tag = pab_mix64(++s->gen);
        if (grow[s->kinds[i % s->nkinds]](c, s, &s->objs[i])) return -1;
    }
    struct obj *last = &s->objs[s->nobj - 1];
    if (pab_hook_realloc_growth) pab_hook_realloc_growth(last->body ? last->body : last->p, last->body ? last->body_size : last->size);
    for (uint64_t i = 0; i < s->nobj; i++)
        if (drop(c, s, &s->objs[i], s->kinds[i % s->nkinds])) return -1;
    pab_freed(c);
    return 0;
}

static void teardown(pab_ctx *c, void *state) {
    struct rg *s = state;
    for (uint64_t i = 0; s->objs && i < s->nobj; i++) drop(c, s, &s->objs[i], s->kinds[i % s->nkinds]);
    pab_scratch_free(s->objs, s->nobj * sizeof *s->objs);
    if (s->heap) pab_heap_delete(s->heap);
}

PAB_WORKLOAD(realloc_growth,
             .shows = "realloc-heavy patterns: str +=, bytearray +=, dict growth",
             .does = "grow `count` str/bytearray to `final` bytes by `chunk`-byte appends and dicts to `keys` keys, then free them",
             .params = params, .state_size = sizeof(struct rg),
             .setup = setup, .cycle = cycle, .teardown = teardown);

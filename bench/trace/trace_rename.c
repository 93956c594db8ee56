/* trace_rename.c — the renaming pass of the trace loader: calls in global order, with their addresses, become
 * records with dense block ids (an id is reused LIFO once freed), plus marks with the live bytes there. */
#include <string.h>
#include <sys/mman.h>

#include "trace_internal.h"

/* ---- the pass */
typedef struct { uint32_t id; uint64_t size; bool valid; } pending; /* a moved realloc's old block, between halves */

struct pab_renamer {
    pab_blocks *blocks;
    pab_mvec sizes, free_ids, recs, marks, streams; /* u64 per id; u32 ids; pab_trace_rec; pab_trace_mark; stream_state */
    pab_trace_counts *counts;              /* count the records instead of keeping them */
    uint64_t nrecs;
    uint32_t max_id, nthreads;
    int64_t live, peak;
    uint64_t live_blocks, unknown_frees, lost_frees;
};
typedef struct { pending pend; int32_t thread; } stream_state;

pab_renamer *pab_renamer_new(uint64_t events_hint, pab_trace_counts *count_only) {
    pab_mvec self = {0};
    if (pab_mvec_reserve(&self, sizeof(pab_renamer))) return NULL;
    pab_renamer *r = self.p;
    memset(r, 0, sizeof *r);
    r->counts = count_only;
    if (!(r->blocks = pab_blocks_new()) || !pab_mvec_push(&r->sizes, sizeof(uint64_t)) /* id 0 */ ||
        (!count_only && pab_mvec_reserve(&r->recs, (events_hint + 1024) * sizeof(pab_trace_rec)))) {
        pab_renamer_delete(r);
        return NULL;
    }
    return r;
}

void pab_renamer_delete(pab_renamer *r) {
    if (!r) return;
    pab_blocks_delete(r->blocks);
    pab_mvec_free(&r->sizes);
    pab_mvec_free(&r->free_ids);
    pab_mvec_free(&r->recs);
    pab_mvec_free(&r->marks);
    pab_mvec_free(&r->streams);
    munmap(r, (sizeof *r + 4095) & ~(size_t)4095);
}

static uint64_t *size_of(pab_renamer *r, uint32_t id) { return &PAB_MVEC_AT(&r->sizes, uint64_t, id); }

static uint32_t new_id(pab_renamer *r) {
    size_t n = r->free_ids.len / sizeof(uint32_t);
    if (!n) return pab_mvec_push(&r->sizes, sizeof(uint64_t)) ? ++r->max_id : 0;
    r->free_ids.len -= sizeof(uint32_t);
    return PAB_MVEC_AT(&r->free_ids, uint32_t, n - 1);
}

static int drop_id(pab_renamer *r, uint32_t id) {
    uint32_t *slot = pab_mvec_push(&r->free_ids, sizeof *slot);
    if (!slot) return -1;
    *slot = id;
    return 0;
}

static void live_add(pab_renamer *r, int64_t d, int64_t blocks) {
    r->live += d;
    r->live_blocks += (uint64_t)blocks;
    pab_assert_internal(r->live >= 0);
    if (r->live > r->peak) r->peak = r->live;
}

static stream_state *stream_of(pab_renamer *r, uint32_t s, uint16_t *thread) {
    size_t have = r->streams.len / sizeof(stream_state);
    if (s >= have) {
        stream_state *add = pab_mvec_push(&r->streams, (s + 1 - have) * sizeof(stream_state));
        if (!add) return NULL;
        for (size_t i = 0; i < s + 1 - have; i++) add[i].thread = -1;
    }
    stream_state *st = &PAB_MVEC_AT(&r->streams, stream_state, s);
    if (st->thread < 0) {
        if (r->nthreads >= 65535) return NULL;
        st->thread = (int32_t)r->nthreads++;
    }
    *thread = (uint16_t)st->thread;
    return st;
}

static int emit(pab_renamer *r, unsigned op, uint16_t th, uint32_t id, uint32_t old, uint64_t size, unsigned al) {
    pab_trace_rec rec = {size, id, old, 0, th, (uint8_t)op, (uint8_t)al}, *o;
    r->nrecs++;
    if (r->counts) pab_trace_counts_add(r->counts, &rec);
    else if ((o = pab_mvec_push(&r->recs, sizeof *o))) *o = rec;
    else return -1;
    return 0;
}

/* A block handed out while the map still holds it: the program freed it where the recorder could not see
 * (a thread's buffer lost to a kill).  The trace gets that free, so it stays consistent.  Returns the id. */
static int64_t take_address(pab_renamer *r, const pab_item *it, uint16_t th, uint32_t id) {
    uint32_t *at = pab_blocks_at(r->blocks, it->ptr, true);
    if (!at) return -1;
    if (*at) {
        uint32_t lost = *at;
        uint64_t size = *size_of(r, lost);
        r->lost_frees++;
        live_add(r, -(int64_t)size, -1);
        if (drop_id(r, lost) || emit(r, PAB_OP_FREE, th, lost, 0, size, 0)) return -1;
    }
    if (!id && !(id = new_id(r))) return -1;
    live_add(r, (int64_t)it->size, 1);
    *size_of(r, id) = it->size;
    *at = id;
    return id;
}

/* The block at addr leaves the map: its id (0 when the map never had it). */
static uint32_t take_block(pab_renamer *r, uint64_t addr, bool remove) {
    uint32_t *at = addr ? pab_blocks_at(r->blocks, addr, false) : NULL, id = at ? *at : 0;
    if (id && remove) *at = 0;
    return id;
}

static int do_alloc(pab_renamer *r, const pab_item *it, uint16_t th, stream_state *st) {
    if (!it->ptr) return emit(r, it->op, th, 0, 0, it->size, it->align_log2);
    int64_t id = take_address(r, it, th, 0);
    return id < 0 || emit(r, it->op, th, (uint32_t)id, 0, it->size, it->align_log2);
}

static int do_free(pab_renamer *r, const pab_item *it, uint16_t th, stream_state *st) {
    uint32_t id = take_block(r, it->ptr, true);
    if (!id) {
        r->unknown_frees += it->ptr != 0;
        return emit(r, PAB_OP_FREE, th, 0, 0, 0, 0);
    }
    uint64_t size = *size_of(r, id);
    live_add(r, -(int64_t)size, -1);
    return drop_id(r, id) || emit(r, PAB_OP_FREE, th, id, 0, size, 0);
}

static int do_rfree(pab_renamer *r, const pab_item *it, uint16_t th, stream_state *st) {
    uint32_t id = take_block(r, it->arg, true);
    st->pend = (pending){id, id ? *size_of(r, id) : 0, true};
    r->unknown_frees += !id && it->arg;
    return 0;
}

static int do_realloc(pab_renamer *r, const pab_item *it, uint16_t th, stream_state *st) {
    uint32_t oid = 0;
    uint64_t osize = 0;
    bool failed = !it->ptr && it->size;
    if (st->pend.valid) {            /* the old block was given up at the first half (it moved) */
        oid = st->pend.id; osize = st->pend.size;
        st->pend.valid = false;
    } else if (it->arg) {
        oid = take_block(r, it->arg, !failed);
        osize = oid ? *size_of(r, oid) : 0;
        r->unknown_frees += !oid;
    }
    if (failed) return emit(r, PAB_OP_REALLOC, th, 0, oid, it->size, 0);
    if (oid) live_add(r, -(int64_t)osize, -1);
    if (!it->ptr) return (oid && drop_id(r, oid)) || emit(r, PAB_OP_REALLOC, th, 0, oid, 0, 0); /* realloc(p, 0) freed p */
    int64_t id = take_address(r, it, th, oid);
    return id < 0 || emit(r, PAB_OP_REALLOC, th, (uint32_t)id, oid, it->size, 0);
}

static int do_mark(pab_renamer *r, const pab_item *it, uint16_t th, stream_state *st) {
    pab_trace_mark *m = pab_mvec_push(&r->marks, sizeof *m);
    if (!m) return -1;
    memcpy(m->name, it->name, it->name_len);
    m->name[it->name_len] = 0;
    m->at = r->nrecs;
    m->live_bytes = (uint64_t)r->live;
    m->live_blocks = r->live_blocks;
    m->t_ns = it->t_ns;
    m->thread = th;
    return 0;
}

typedef int (*item_fn)(pab_renamer *r, const pab_item *it, uint16_t th, stream_state *st);
static const item_fn item_fns[16] = {
    [PAB_OP_MALLOC] = do_alloc, [PAB_OP_CALLOC] = do_alloc, [PAB_OP_REALLOC] = do_realloc,
    [PAB_OP_FREE] = do_free, [PAB_OP_POSIX_MEMALIGN] = do_alloc, [PAB_OP_ALIGNED_ALLOC] = do_alloc,
    [PAB_OP_MEMALIGN] = do_alloc, [PAB_OP_VALLOC] = do_alloc, [PAB_OP_PVALLOC] = do_alloc,
    [PAB_OP_MARK] = do_mark, [PAB_ITEM_RFREE] = do_rfree,
};

int pab_renamer_add(pab_renamer *r, const pab_item *it) {
    uint16_t th;
    stream_state *st = stream_of(r, it->stream, &th);
    pab_assert_internal(it->op < 16 && item_fns[it->op]);
    return st ? item_fns[it->op](r, it, th, st) : -1;
}

int pab_renamer_finish(pab_renamer *r, pab_trace *t) {
    t->h.events = r->nrecs;
    t->h.max_id = r->max_id;
    t->h.threads = r->nthreads;
    t->h.live_peak_bytes = (uint64_t)r->peak;
    t->h.end_live_bytes = (uint64_t)r->live;
    t->h.unknown_frees = r->unknown_frees;
    t->h.lost_frees = r->lost_frees;
    t->h.marks = (uint32_t)(r->marks.len / sizeof(pab_trace_mark));
    t->rec = r->counts ? NULL : r->recs.p;
    t->rec_map = r->recs.p;
    t->rec_len = r->recs.cap;
    r->recs = (pab_mvec){0};
    t->mark = r->marks.p;
    t->mark_map = r->marks.p;
    t->mark_len = r->marks.cap;
    r->marks = (pab_mvec){0};
    return 0;
}

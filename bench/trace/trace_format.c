/* trace_format.c — loads a trace file of either version into records in global order: version 1 as stored (and
 * validated), version 2 decoded chunk by chunk, its threads merged by sequence number and renamed; one line per refusal. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trace_codec.h"
#include "trace_internal.h"

const char *const pab_trace_op_names[PAB_OP_COUNT] = {
    NULL, "malloc", "calloc", "realloc", "free", "posix_memalign", "aligned_alloc", "memalign", "valloc", "pvalloc",
};
const char *const pab_rec_layer_names[4] = {"unknown", "program", "malloc", "pymalloc"};

#define PAB_LIVE_BIT (1ULL << 63)

int pab_trace_fail(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen) vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}
#define fail pab_trace_fail

static size_t pad8(size_t n) { return (n + 7) & ~(size_t)7; }

/* ---- strings: cmdline, exe, PYTHONMALLOC, python version, note, each NUL-terminated, in one mapping */
enum { S_CMDLINE, S_EXE, S_PYTHONMALLOC, S_PYTHON, S_NOTE, S_COUNT };

static int set_strings(pab_trace *t, const char *const s[S_COUNT], const size_t n[S_COUNT]) {
    size_t total = 0;
    for (int i = 0; i < S_COUNT; i++) total += n[i] + 1;
    t->aux_len = total;
    t->aux_map = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (t->aux_map == MAP_FAILED) { t->aux_map = NULL; return -1; }
    char *at = t->aux_map;
    const char **out[S_COUNT] = {&t->h.cmdline, &t->h.exe, &t->h.pythonmalloc, &t->h.python, &t->h.note};
    for (int i = 0; i < S_COUNT; i++) {
        if (n[i]) memcpy(at, s[i], n[i]);
        *out[i] = at;
        at += n[i] + 1; /* the mapping is zeroed: each ends with a NUL */
    }
    t->h.cmdline_len = (uint32_t)n[S_CMDLINE];
    return 0;
}

/* ---- checking records: the live set, replayed with a size per id (top bit: live), against the header */
int pab_trace_check_records(const pab_trace *t, char *err, size_t errlen, const char *path) {
    const pab_trace_info *h = &t->h;
    uint64_t *sz = mmap(NULL, (h->max_id + 1) * 8, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (sz == MAP_FAILED) return fail(err, errlen, "%s: out of memory", path);
    int64_t live = 0, peak = 0;
    uint64_t i;
    for (i = 0; i < h->events; i++) {
        const pab_trace_rec *r = &t->rec[i];
        unsigned op = r->op;
        bool bad = !op || op >= PAB_OP_COUNT || r->id > h->max_id || r->old > h->max_id || r->thread >= h->threads;
        if (bad) break;
        if (op == PAB_OP_FREE) {
            if (r->id && !(sz[r->id] & PAB_LIVE_BIT)) break;
            if (r->id) { live -= (int64_t)(sz[r->id] & ~PAB_LIVE_BIT); sz[r->id] = 0; }
        } else if (op == PAB_OP_REALLOC) {
            if (r->old && !(sz[r->old] & PAB_LIVE_BIT)) break;
            if (!r->id && r->size) continue;                       /* failed: the old block stays */
            if (r->old) { live -= (int64_t)(sz[r->old] & ~PAB_LIVE_BIT); sz[r->old] = 0; }
            if (r->id && ((r->old && r->id != r->old) || (sz[r->id] & PAB_LIVE_BIT))) break;
            if (r->id) { sz[r->id] = r->size | PAB_LIVE_BIT; live += (int64_t)r->size; }
        } else if (r->id) {
            if ((sz[r->id] & PAB_LIVE_BIT) || (r->size & PAB_LIVE_BIT)) break;
            sz[r->id] = r->size | PAB_LIVE_BIT;
            live += (int64_t)r->size;
        }
        if (live > peak) peak = live;
    }
    munmap(sz, (h->max_id + 1) * 8);
    if (i < h->events) return fail(err, errlen, "%s: damaged: event %llu (%s of block %u) contradicts the events before it", path,
                                   (unsigned long long)i, t->rec[i].op && t->rec[i].op < PAB_OP_COUNT ? pab_trace_op_names[t->rec[i].op] : "unknown op", t->rec[i].id);
    if ((uint64_t)peak != h->live_peak_bytes || (uint64_t)live != h->end_live_bytes)
        return fail(err, errlen, "%s: damaged: the events do not add up to the header's live bytes", path);
    return 0;
}

void pab_trace_counts_add(pab_trace_counts *c, const pab_trace_rec *r) {
    c->ops[r->op < PAB_OP_COUNT ? r->op : 0]++;
    if (r->op == PAB_OP_FREE || (r->op == PAB_OP_REALLOC && !r->size)) return;
    size_t b = 0, n = c->nlimits < 64 ? c->nlimits : 64;
    while (b < n && r->size > c->limits[b]) b++;
    c->sizes[b]++;
}

/* ---- version 1: a header and fixed records, as replay keeps them */
static int load_v1(const char *base, size_t len, pab_trace *t, pab_trace_counts *count, char *err, size_t errlen,
                   const char *path) {
    pab_trace1_header h;
    if (len < sizeof h) return fail(err, errlen, "%s: truncated trace header", path);
    memcpy(&h, base, sizeof h);
    if (h.rec_size != sizeof(pab_trace_rec) || h.cmdline_len > PAB_TRACE_CMDLINE_MAX ||
        h.header_size != sizeof h + pad8(h.cmdline_len) || h.max_id > UINT32_MAX || h.threads > 65535 ||
        h.events > (UINT64_MAX - h.header_size) / sizeof(pab_trace_rec))
        return fail(err, errlen, "%s: damaged trace header", path);
    uint64_t want = h.header_size + h.events * sizeof(pab_trace_rec);
    if (len < want)
        return fail(err, errlen, "%s: truncated: the header promises %llu events, the file holds %llu", path,
                    (unsigned long long)h.events,
                    (unsigned long long)(len < h.header_size ? 0 : (len - h.header_size) / sizeof(pab_trace_rec)));
    if (len > want) return fail(err, errlen, "%s: damaged: %llu bytes after the last event", path, (unsigned long long)(len - want));
    pab_trace_info *i = &t->h;
    *i = (pab_trace_info){.version = 1, .page_size = h.page_size, .pid = h.pid, .ppid = h.ppid, .threads = h.threads,
                          .events = h.events, .max_id = h.max_id, .live_peak_bytes = h.live_peak_bytes,
                          .end_live_bytes = h.end_live_bytes, .duration_ns = h.duration_ns,
                          .unknown_frees = h.unknown_frees, .lost_frees = h.lost_frees, .complete = true,
                          .layer = PAB_REC_UNKNOWN};
    const char *s[S_COUNT] = {base + sizeof h};
    size_t n[S_COUNT] = {h.cmdline_len};
    t->rec_len = h.events * sizeof(pab_trace_rec) + 1;
    t->rec_map = mmap(NULL, t->rec_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (t->rec_map == MAP_FAILED) { t->rec_map = NULL; return fail(err, errlen, "%s: cannot map %zu bytes", path, t->rec_len); }
    memcpy(t->rec_map, base + h.header_size, h.events * sizeof(pab_trace_rec));
    t->rec = t->rec_map;
    if (set_strings(t, s, n)) return fail(err, errlen, "%s: out of memory", path);
    int rc = pab_trace_check_records(t, err, errlen, path);
    for (uint64_t i = 0; !rc && count && i < h.events; i++) pab_trace_counts_add(count, &t->rec[i]);
    if (count) t->rec = NULL;
    return rc;
}

/* ---- version 2: index the chunks, group them by thread, merge the threads by sequence number */
typedef struct { size_t off; uint32_t bytes, events, flags; int32_t next; } chunk_ref;
typedef struct { int32_t first, last; uint32_t tid; } stream_ref;

typedef struct {
    const char *base, *path;
    size_t len;
    char *err;
    size_t errlen;
    pab_trace2_header h;
    pab_trace2_end end;
    bool has_end;
    const char *note;
    size_t note_len;
    uint64_t last_t_ns, chunk_events, new_threads;
    pab_mvec chunks, streams, tids; /* chunk_ref; stream_ref; open-addressing tid+1 -> stream (u64: key<<32|stream) */
    size_t tid_cap;
} v2;

static int64_t *tid_slot(v2 *f, uint32_t tid) {
    uint64_t *e = f->tids.p;
    for (size_t i = (tid * 0x9e3779b1u) & (f->tid_cap - 1);; i = (i + 1) & (f->tid_cap - 1))
        if (!e[i] || (uint32_t)(e[i] >> 32) == tid + 1) return (int64_t *)&e[i];
}

/* The stream a data chunk belongs to: a new one where the chunk says a thread begins (or for a thread never seen). */
static int32_t stream_for(v2 *f, uint32_t tid, uint32_t flags) {
    size_t nstreams = f->streams.len / sizeof(stream_ref);
    if (2 * (nstreams + 1) > f->tid_cap) { /* rebuild the tid table larger: each tid's latest stream wins */
        pab_mvec_free(&f->tids);
        f->tid_cap = f->tid_cap ? f->tid_cap * 2 : 256;
        if (pab_mvec_reserve(&f->tids, f->tid_cap * 8)) return -2;
        for (size_t s = 0; s < nstreams; s++) {
            uint32_t t = PAB_MVEC_AT(&f->streams, stream_ref, s).tid;
            *tid_slot(f, t) = (int64_t)((uint64_t)(t + 1) << 32 | s);
        }
    }
    int64_t *slot = tid_slot(f, tid);
    if (*slot && !(flags & PAB_CHUNK_NEW_THREAD)) return (int32_t)(uint32_t)*slot;
    if (!*slot && !(flags & PAB_CHUNK_FIRST)) return -1; /* continues a thread that never began */
    stream_ref *s = pab_mvec_push(&f->streams, sizeof *s);
    if (!s) return -2;
    *s = (stream_ref){-1, -1, tid};
    *slot = (int64_t)((uint64_t)(tid + 1) << 32 | nstreams);
    return (int32_t)nstreams;
}

static int v2_header(v2 *f) {
    pab_trace2_header *h = &f->h;
    if (f->len < sizeof *h) return fail(f->err, f->errlen, "%s: truncated trace header", f->path);
    memcpy(h, f->base, sizeof *h);
    size_t strings = (size_t)h->cmdline_len + h->exe_len + h->pythonmalloc_len + h->python_len;
    if (h->header_size != pad8(sizeof *h + strings) || h->cmdline_len > PAB_TRACE_CMDLINE_MAX ||
        h->exe_len > PAB_TRACE_CMDLINE_MAX || h->pythonmalloc_len > 64 || h->python_len > 256 || !h->seq0)
        return fail(f->err, f->errlen, "%s: damaged trace header", f->path);
    if (f->len < h->header_size) return fail(f->err, f->errlen, "%s: truncated trace header", f->path);
    return 0;
}

static int v2_index(v2 *f) {
    size_t off = f->h.header_size;
    while (off < f->len) {
        pab_trace2_chunk c;
        if (f->len - off < sizeof c || (memcpy(&c, f->base + off, sizeof c), f->len - off - sizeof c < c.bytes))
            return fail(f->err, f->errlen, "%s: cut in the middle of a chunk at byte %zu (%zu bytes of it are there): "
                        "not a whole trace", f->path, off, f->len - off);
        if (c.magic == PAB_CHUNK_NOTE && f->has_end) {
            f->note = f->base + off + sizeof c;
            f->note_len = c.bytes;
        } else if (c.magic == PAB_CHUNK_END && !f->has_end && c.bytes == sizeof f->end) {
            memcpy(&f->end, f->base + off + sizeof c, sizeof f->end);
            f->has_end = true;
            f->last_t_ns = c.t_ns;
        } else if (c.magic == PAB_CHUNK_DATA && !f->has_end && c.bytes && c.events) {
            int32_t s = stream_for(f, c.tid, c.flags);
            if (s == -2) return fail(f->err, f->errlen, "%s: out of memory", f->path);
            if (s < 0) return fail(f->err, f->errlen, "%s: damaged: the chunk at byte %zu continues a thread that never began", f->path, off);
            chunk_ref *r = pab_mvec_push(&f->chunks, sizeof *r);
            if (!r) return fail(f->err, f->errlen, "%s: out of memory", f->path);
            int32_t me = (int32_t)(f->chunks.len / sizeof *r - 1);
            *r = (chunk_ref){off + sizeof c, c.bytes, c.events, c.flags, -1};
            stream_ref *st = &PAB_MVEC_AT(&f->streams, stream_ref, s);
            if (st->last >= 0) PAB_MVEC_AT(&f->chunks, chunk_ref, st->last).next = me;
            else st->first = me;
            st->last = me;
            f->chunk_events += c.events;
            f->new_threads += (c.flags & PAB_CHUNK_NEW_THREAD) != 0;
            f->last_t_ns = c.t_ns;
        } else {
            return fail(f->err, f->errlen, "%s: damaged: no valid chunk at byte %zu", f->path, off);
        }
        off += sizeof c + c.bytes;
    }
    return 0;
}

/* One thread's events, decoded as the merge asks for them. */
typedef struct {
    int32_t chunk;
    const uint8_t *p, *end;
    uint32_t left;
    pab_codec codec;
    pab_trace_event ev;
    bool half;            /* ev is a realloc that moved; its first half (the old block given up) went out */
    uint64_t last_seq;
} cursor;

static uint64_t key(const cursor *c) { return c->half ? c->ev.seq2 : c->ev.seq; }

/* 1: c->ev holds the thread's next event; 0: the thread is done; -1: damaged. */
static int advance(v2 *f, cursor *c) {
    const chunk_ref *ch = &PAB_MVEC_AT(&f->chunks, chunk_ref, c->chunk);
    while (!c->left) {
        if (c->p != c->end) return -1;
        if (ch->next < 0) return 0;
        c->chunk = ch->next;
        ch = &PAB_MVEC_AT(&f->chunks, chunk_ref, c->chunk);
        c->p = (const uint8_t *)f->base + ch->off;
        c->end = c->p + ch->bytes;
        c->left = ch->events;
        if (ch->flags & PAB_CHUNK_FIRST) c->codec = (pab_codec){0, 0};
    }
    if (pab_dec_event(&c->p, c->end, &c->codec, &c->ev) || c->ev.seq <= c->last_seq) return -1;
    c->left--;
    c->last_seq = c->ev.seq2 ? c->ev.seq2 : c->ev.seq;
    c->half = false;
    return 1;
}

static int cursor_start(v2 *f, cursor *c, const stream_ref *s) {
    const chunk_ref *ch = &PAB_MVEC_AT(&f->chunks, chunk_ref, s->first);
    *c = (cursor){.chunk = s->first, .p = (const uint8_t *)f->base + ch->off, .left = ch->events};
    c->end = c->p + ch->bytes;
    return advance(f, c);
}

/* A binary min-heap of cursor indices by key. */
static void sift_down(const cursor *cs, uint32_t *h, size_t n, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && key(&cs[h[l]]) < key(&cs[h[m]])) m = l;
        if (l + 1 < n && key(&cs[h[l + 1]]) < key(&cs[h[m]])) m = l + 1;
        if (m == i) return;
        uint32_t x = h[i]; h[i] = h[m]; h[m] = x;
        i = m;
    }
}

static int emit_event(pab_renamer *r, const cursor *c, uint32_t stream) {
    const pab_trace_event *e = &c->ev;
    pab_item it = {.op = e->op, .align_log2 = e->align_log2, .stream = stream, .ptr = e->addr, .arg = e->old,
                   .size = e->size, .t_ns = e->t_ns, .name = e->name, .name_len = e->name_len};
    if (e->seq2 && !c->half) it = (pab_item){.op = PAB_ITEM_RFREE, .stream = stream, .arg = e->old};
    return pab_renamer_add(r, &it);
}

static int v2_merge(v2 *f, pab_renamer *r, uint64_t *seen, uint64_t *first_seq, uint64_t *last_seq) {
    size_t n = f->streams.len / sizeof(stream_ref), live = 0;
    pab_mvec mem = {0};
    if (pab_mvec_reserve(&mem, n * (sizeof(cursor) + sizeof(uint32_t)) + 64)) return fail(f->err, f->errlen, "%s: out of memory", f->path);
    cursor *cs = mem.p;
    uint32_t *heap = (uint32_t *)(cs + n);
    int rc = 0;
    for (size_t s = 0; s < n && !rc; s++) {
        int a = cursor_start(f, &cs[s], &PAB_MVEC_AT(&f->streams, stream_ref, s));
        if (a < 0) rc = fail(f->err, f->errlen, "%s: damaged: the events of thread %u do not decode", f->path, PAB_MVEC_AT(&f->streams, stream_ref, s).tid);
        else if (a) heap[live++] = (uint32_t)s;
    }
    for (size_t i = live / 2; i-- > 0;) sift_down(cs, heap, live, i);
    uint64_t prev = 0;
    *seen = 0;
    while (live && !rc) {
        uint32_t s = heap[0];
        cursor *c = &cs[s];
        uint64_t k = key(c);
        if (k <= prev) { rc = fail(f->err, f->errlen, "%s: damaged: sequence number %llu is used twice", f->path, (unsigned long long)k); break; }
        if (!*seen) *first_seq = k;
        prev = *last_seq = k;
        ++*seen;
        if (emit_event(r, c, s)) { rc = fail(f->err, f->errlen, "%s: out of memory (or more than 65535 threads)", f->path); break; }
        int a = 1;
        if (c->ev.seq2 && !c->half) c->half = true;
        else a = advance(f, c);
        if (a < 0) { rc = fail(f->err, f->errlen, "%s: damaged: the events of thread %u do not decode", f->path, PAB_MVEC_AT(&f->streams, stream_ref, s).tid); break; }
        if (!a) heap[0] = heap[--live];
        sift_down(cs, heap, live, 0);
    }
    pab_mvec_free(&mem);
    return rc;
}

static pab_rec_layer layer_of(const pab_trace2_header *h, const char *pythonmalloc) {
    if (!(h->flags & PAB_T2_PYTHON)) return PAB_REC_PROGRAM;
    bool malloc_ = (h->flags & PAB_T2_PYTHONMALLOC_SET) && h->pythonmalloc_len >= 6 && !strncmp(pythonmalloc, "malloc", 6) &&
                   (h->pythonmalloc_len == 6 || (h->pythonmalloc_len == 12 && !strncmp(pythonmalloc + 6, "_debug", 6)));
    return malloc_ ? PAB_REC_MALLOC : PAB_REC_PYMALLOC;
}

static int v2_finish(v2 *f, pab_trace *t, uint64_t seen, uint64_t first_seq, uint64_t last_seq) {
    pab_trace_info *i = &t->h;
    const pab_trace2_header *h = &f->h;
    uint64_t events = f->chunk_events; /* calls and marks, as the chunks count them */
    i->version = 2;
    i->page_size = h->page_size;
    i->pid = h->pid;
    i->ppid = h->ppid;
    i->flags = h->flags;
    i->t0_realtime_ns = h->t0_realtime_ns;
    i->complete = f->has_end;
    i->duration_ns = f->last_t_ns > h->t0_ns ? f->last_t_ns - h->t0_ns : 0;
    if (f->has_end) {
        const pab_trace2_end *e = &f->end;
        if (e->events != events || e->chunks != f->chunks.len / sizeof(chunk_ref) || e->threads != f->new_threads ||
            e->marks != i->marks || e->seq_end < h->seq0 || e->seq_end - h->seq0 < seen || (seen && last_seq >= e->seq_end))
            return fail(f->err, f->errlen, "%s: damaged: the END totals do not match the chunks", f->path);
        i->lost_events = e->seq_end - h->seq0 - seen;
    } else {
        i->lost_events = seen ? last_seq + 1 - h->seq0 - seen : 0;
    }
    if (seen && first_seq < h->seq0) return fail(f->err, f->errlen, "%s: damaged: a sequence number before the first", f->path);
    const char *str = f->base + sizeof *h;
    const char *s[S_COUNT] = {str, str + h->cmdline_len, str + h->cmdline_len + h->exe_len,
                              str + h->cmdline_len + h->exe_len + h->pythonmalloc_len, f->note};
    size_t n[S_COUNT] = {h->cmdline_len, h->exe_len, h->pythonmalloc_len, h->python_len, f->note_len};
    i->layer = layer_of(h, s[S_PYTHONMALLOC]);
    if (set_strings(t, s, n)) return fail(f->err, f->errlen, "%s: out of memory", f->path);
    return 0;
}

static void v2_free(v2 *f) {
    pab_mvec_free(&f->chunks);
    pab_mvec_free(&f->streams);
    pab_mvec_free(&f->tids);
}

static int load_v2(const char *base, size_t len, pab_trace *t, bool decode, pab_trace_counts *count, char *err,
                   size_t errlen, const char *path) {
    v2 f = {.base = base, .path = path, .len = len, .err = err, .errlen = errlen};
    int rc = v2_header(&f);
    if (!rc) rc = v2_index(&f);
    pab_renamer *r = NULL;
    uint64_t seen = 0, first = 0, last = 0;
    if (!rc && !decode) { /* a peek: what the header, the chunk headers and END say, nothing decoded */
        t->h.events = f.chunk_events;
        t->h.marks = f.has_end ? f.end.marks : 0;
        t->h.threads = (uint32_t)f.new_threads;
        rc = v2_finish(&f, t, 0, 0, 0);
        t->h.lost_events = 0; /* not known without decoding */
        v2_free(&f);
        return rc;
    }
    if (!rc && !(r = pab_renamer_new(f.chunk_events, count))) rc = fail(err, errlen, "%s: out of memory", path);
    if (!rc) rc = v2_merge(&f, r, &seen, &first, &last);
    if (!rc) rc = pab_renamer_finish(r, t);
    if (!rc) rc = v2_finish(&f, t, seen, first, last);
    pab_renamer_delete(r);
    v2_free(&f);
#if PAB_DEBUG
    if (!rc && t->rec) pab_assert_internal(pab_trace_check_records(t, err, errlen, path) == 0);
#endif
    return rc;
}

static int open_trace(const char *path, pab_trace *t, bool decode, pab_trace_counts *count, char *err, size_t errlen) {
    memset(t, 0, sizeof *t);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail(err, errlen, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st)) { close(fd); return fail(err, errlen, "%s: %s", path, strerror(errno)); }
    size_t len = (size_t)st.st_size;
    const char *base = len ? mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    close(fd);
    if (base == MAP_FAILED) return fail(err, errlen, "%s: cannot map the file", path);
    if (base && decode) madvise((void *)base, len, MADV_SEQUENTIAL);
    uint32_t version = 0;
    int rc;
    if (len < 12 || memcmp(base, PAB_TRACE_MAGIC, 8)) rc = fail(err, errlen, "%s: not a pyalloc trace (bad magic)", path);
    else if (memcpy(&version, base + 8, 4), version == 1) rc = load_v1(base, len, t, count, err, errlen, path);
    else if (version == 2) rc = load_v2(base, len, t, decode, count, err, errlen, path);
    else rc = fail(err, errlen, "%s: trace version %u, this build reads 1 and 2", path, version);
    if (base) munmap((void *)base, len);
    t->h.file_bytes = len;
    if (rc) pab_trace_unload(t);
    return rc;
}

int pab_trace_load(const char *path, pab_trace *t, char *err, size_t errlen) {
    return open_trace(path, t, true, NULL, err, errlen);
}
int pab_trace_peek(const char *path, pab_trace *t, char *err, size_t errlen) {
    return open_trace(path, t, false, NULL, err, errlen);
}
int pab_trace_count(const char *path, pab_trace *t, pab_trace_counts *c, char *err, size_t errlen) {
    return open_trace(path, t, true, c, err, errlen);
}

void pab_trace_unload(pab_trace *t) {
    if (t->rec_map) munmap(t->rec_map, t->rec_len);
    if (t->mark_map) munmap(t->mark_map, t->mark_len);
    if (t->aux_map) munmap(t->aux_map, t->aux_len);
    memset(t, 0, sizeof *t);
}

const pab_trace_mark *pab_trace_find_mark(const pab_trace *t, const char *name) {
    for (uint32_t i = t->h.marks; i-- > 0;)
        if (!strcmp(t->mark[i].name, name)) return &t->mark[i];
    return NULL;
}

void pab_trace_mark_names(const pab_trace *t, char *out, size_t len) {
    size_t used = 0;
    if (len) out[0] = 0;
    for (uint32_t i = 0; i < t->h.marks; i++) {
        bool again = false;
        for (uint32_t j = 0; j < i && !again; j++) again = !strcmp(t->mark[i].name, t->mark[j].name);
        if (!again && used < len) used += (size_t)snprintf(out + used, len - used, "%s%s", used ? ", " : "", t->mark[i].name);
    }
}

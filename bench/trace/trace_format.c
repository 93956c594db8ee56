/* trace_format.c — turns the recorder's raw file into a final trace (global order, dense block ids) and
 * loads a final trace for replay, validating it; every failure is one line in the caller's buffer. */
#define _GNU_SOURCE
#include "trace_format.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const pab_trace_op_names[PAB_OP_COUNT] = {
    NULL, "malloc", "calloc", "realloc", "free", "posix_memalign", "aligned_alloc", "memalign", "valloc", "pvalloc",
};

#define PAB_LIVE_BIT (1ULL << 63)

static int fail(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen) vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static size_t pad8(size_t n) { return (n + 7) & ~(size_t)7; }

/* ---- an open-addressing map from a nonzero u64 key to (id, size); backward-shift deletion */
typedef struct { uint64_t key, size; uint32_t id; } map_ent;
typedef struct { map_ent *e; size_t cap, n; } map;

static size_t map_slot(const map *m, uint64_t k) {
    k ^= k >> 33; k *= 0xff51afd7ed558ccdULL; k ^= k >> 33;
    return (size_t)k & (m->cap - 1);
}

static map_ent *map_get(const map *m, uint64_t k) {
    if (!m->cap) return NULL;
    for (size_t i = map_slot(m, k);; i = (i + 1) & (m->cap - 1)) {
        if (m->e[i].key == k) return &m->e[i];
        if (!m->e[i].key) return NULL;
    }
}

static int map_put(map *m, uint64_t k, uint32_t id, uint64_t size);

static int map_grow(map *m) {
    map old = *m;
    m->cap = old.cap ? old.cap * 2 : 1024;
    m->n = 0;
    if (!(m->e = calloc(m->cap, sizeof *m->e))) return -1;
    for (size_t i = 0; i < old.cap; i++)
        if (old.e[i].key) map_put(m, old.e[i].key, old.e[i].id, old.e[i].size);
    free(old.e);
    return 0;
}

static int map_put(map *m, uint64_t k, uint32_t id, uint64_t size) {
    if (2 * (m->n + 1) > m->cap && map_grow(m)) return -1;
    size_t i = map_slot(m, k);
    while (m->e[i].key && m->e[i].key != k) i = (i + 1) & (m->cap - 1);
    if (!m->e[i].key) m->n++;
    m->e[i] = (map_ent){k, size, id};
    return 0;
}

static void map_del(map *m, map_ent *at) {
    size_t i = (size_t)(at - m->e), j = i;
    for (;;) {
        j = (j + 1) & (m->cap - 1);
        if (!m->e[j].key) break;
        size_t h = map_slot(m, m->e[j].key);
        /* move e[j] into the hole at i unless its home lies cyclically in (i, j] */
        if ((j > i && (h <= i || h > j)) || (j < i && (h <= i && h > j))) { m->e[i] = m->e[j]; i = j; }
    }
    m->e[i].key = 0;
    m->n--;
}

/* ---- finalising: state of the renaming pass */
typedef struct { const pab_raw_rec *r; uint64_t seq; uint32_t tid; } ent;
typedef struct { uint32_t id; uint64_t size; bool valid; } pending;

typedef struct {
    map blocks, threads;
    uint32_t *free_ids; size_t nfree, free_cap;
    pending *pend; size_t pend_cap;
    uint32_t max_id, nthreads;
    int64_t live, peak;
    uint64_t prev_t, first_t, events, unknown_frees, lost_frees;
    FILE *out;
} fin;

static int cmp_ent(const void *a, const void *b) {
    uint64_t x = ((const ent *)a)->seq, y = ((const ent *)b)->seq;
    return (x > y) - (x < y);
}

static uint32_t new_id(fin *f) { return f->nfree ? f->free_ids[--f->nfree] : ++f->max_id; }

static int drop_id(fin *f, uint32_t id) {
    if (f->nfree == f->free_cap) {
        size_t cap = f->free_cap ? 2 * f->free_cap : 1024;
        uint32_t *p = realloc(f->free_ids, cap * sizeof *p);
        if (!p) return -1;
        f->free_ids = p; f->free_cap = cap;
    }
    f->free_ids[f->nfree++] = id;
    return 0;
}

static int thread_index(fin *f, uint32_t tid, uint32_t *out) {
    map_ent *e = map_get(&f->threads, (uint64_t)tid + 1);
    if (e) { *out = e->id; return 0; }
    if (f->nthreads >= 65535 || map_put(&f->threads, (uint64_t)tid + 1, f->nthreads, 0)) return -1;
    if (f->nthreads >= f->pend_cap) {
        size_t cap = f->pend_cap ? 2 * f->pend_cap : 64;
        pending *p = realloc(f->pend, cap * sizeof *p);
        if (!p) return -1;
        memset(p + f->pend_cap, 0, (cap - f->pend_cap) * sizeof *p);
        f->pend = p; f->pend_cap = cap;
    }
    *out = f->nthreads++;
    return 0;
}

static void live_add(fin *f, int64_t d) {
    f->live += d;
    if (f->live > f->peak) f->peak = f->live;
}

static int emit(fin *f, const pab_raw_rec *r, unsigned op, uint32_t thread, uint32_t id, uint32_t old, uint64_t size) {
    uint64_t dt = r->t_ns > f->prev_t ? r->t_ns - f->prev_t : 0;
    if (!f->events) { dt = 0; f->first_t = r->t_ns; }
    if (r->t_ns > f->prev_t) f->prev_t = r->t_ns;
    unsigned al = 0;
    if (op >= PAB_OP_POSIX_MEMALIGN && r->arg) while ((1ULL << al) < r->arg && al < 63) al++;
    pab_trace_rec o = {size, id, old, dt > UINT32_MAX ? UINT32_MAX : (uint32_t)dt, (uint16_t)thread, (uint8_t)op,
                       (uint8_t)al};
    f->events++;
    return fwrite(&o, sizeof o, 1, f->out) == 1 ? 0 : -1;
}

/* A block handed out while the map still holds it: the program freed it where the recorder could not see
 * (a free before an exit race, a torn file).  The trace gets that free, so it stays consistent. */
static int take_address(fin *f, const pab_raw_rec *r, uint32_t th, uint32_t id) {
    map_ent *e = map_get(&f->blocks, r->ptr);
    if (e) {
        uint32_t lost = e->id;
        uint64_t size = e->size;
        f->lost_frees++;
        live_add(f, -(int64_t)size);
        map_del(&f->blocks, e);
        if (drop_id(f, lost) || emit(f, r, PAB_OP_FREE, th, lost, 0, size)) return -1;
    }
    if (!id) id = new_id(f);
    live_add(f, (int64_t)r->size);
    if (map_put(&f->blocks, r->ptr, id, r->size)) return -1;
    return (int)id;
}

static int do_alloc(fin *f, const pab_raw_rec *r, unsigned op, uint32_t th) {
    if (!r->ptr) return emit(f, r, op, th, 0, 0, r->size);
    int id = take_address(f, r, th, 0);
    return id < 0 || emit(f, r, op, th, (uint32_t)id, 0, r->size);
}

static int do_free(fin *f, const pab_raw_rec *r, unsigned op, uint32_t th) {
    map_ent *e = r->ptr ? map_get(&f->blocks, r->ptr) : NULL;
    if (!e) {
        f->unknown_frees += r->ptr != 0;
        return emit(f, r, op, th, 0, 0, 0);
    }
    uint32_t id = e->id;
    uint64_t size = e->size;
    map_del(&f->blocks, e);
    live_add(f, -(int64_t)size);
    return drop_id(f, id) || emit(f, r, op, th, id, 0, size);
}

static int do_rfree(fin *f, const pab_raw_rec *r, unsigned op, uint32_t th) {
    map_ent *e = map_get(&f->blocks, r->ptr);
    f->pend[th] = (pending){e ? e->id : 0, e ? e->size : 0, true};
    if (e) map_del(&f->blocks, e);
    else f->unknown_frees++;
    return 0;
}

static int do_realloc(fin *f, const pab_raw_rec *r, unsigned op, uint32_t th) {
    uint32_t oid = 0;
    uint64_t osize = 0;
    bool failed = !r->ptr && r->size;
    if (f->pend[th].valid) {            /* the old block was given up before the call (it moved) */
        oid = f->pend[th].id; osize = f->pend[th].size;
        f->pend[th].valid = false;
    } else if (r->arg) {
        map_ent *e = map_get(&f->blocks, r->arg);
        if (!e) f->unknown_frees++;
        else { oid = e->id; osize = e->size; if (!failed) map_del(&f->blocks, e); }
    }
    if (failed) return emit(f, r, op, th, 0, oid, r->size);
    live_add(f, -(int64_t)osize);
    if (!r->ptr) return (oid && drop_id(f, oid)) || emit(f, r, op, th, 0, oid, 0); /* realloc(p, 0) freed p */
    int id = take_address(f, r, th, oid);
    return id < 0 || emit(f, r, op, th, (uint32_t)id, oid, r->size);
}

typedef int (*fin_op)(fin *f, const pab_raw_rec *r, unsigned op, uint32_t th);
static const fin_op fin_ops[16] = {
    [PAB_OP_MALLOC] = do_alloc, [PAB_OP_CALLOC] = do_alloc, [PAB_OP_REALLOC] = do_realloc,
    [PAB_OP_FREE] = do_free, [PAB_OP_POSIX_MEMALIGN] = do_alloc, [PAB_OP_ALIGNED_ALLOC] = do_alloc,
    [PAB_OP_MEMALIGN] = do_alloc, [PAB_OP_VALLOC] = do_alloc, [PAB_OP_PVALLOC] = do_alloc,
    [PAB_OP_RAW_RFREE] = do_rfree,
};

/* Index every complete record of every chunk; a torn last chunk (the program was killed) keeps what is whole. */
static int index_chunks(const char *base, size_t len, size_t off, ent **out, size_t *n, char *err, size_t errlen,
                        const char *path) {
    size_t cap = 1024, k = 0;
    ent *v = malloc(cap * sizeof *v);
    if (!v) return fail(err, errlen, "%s: out of memory", path);
    while (off + sizeof(pab_raw_chunk) <= len) {
        pab_raw_chunk c;
        memcpy(&c, base + off, sizeof c);
        if (c.magic != PAB_TRACE_CHUNK_MAGIC) { free(v); return fail(err, errlen, "%s: damaged raw trace (bad chunk at byte %zu)", path, off); }
        off += sizeof c;
        size_t have = (len - off) / sizeof(pab_raw_rec);
        size_t cnt = c.count < have ? c.count : have;
        for (size_t i = 0; i < cnt; i++, off += sizeof(pab_raw_rec)) {
            if (k == cap) {
                ent *w = realloc(v, (cap *= 2) * sizeof *v);
                if (!w) { free(v); return fail(err, errlen, "%s: out of memory", path); }
                v = w;
            }
            const pab_raw_rec *r = (const pab_raw_rec *)(base + off);
            v[k++] = (ent){r, r->seq_op >> 8, c.tid};
        }
        if (cnt < c.count) break;
    }
    *out = v; *n = k;
    return 0;
}

static int check_raw_header(const char *base, size_t len, pab_raw_header *h, char *err, size_t errlen, const char *path) {
    if (len >= 8 && !memcmp(base, PAB_TRACE_MAGIC, 8)) return fail(err, errlen, "%s: already a finalized trace", path);
    if (len < 8 || memcmp(base, PAB_TRACE_RAW_MAGIC, 8)) return fail(err, errlen, "%s: not a raw pyalloc trace (bad magic)", path);
    if (len < sizeof *h) return fail(err, errlen, "%s: truncated raw trace header", path);
    memcpy(h, base, sizeof *h);
    if (h->version != PAB_TRACE_VERSION) return fail(err, errlen, "%s: raw trace version %u, this build reads %u", path, h->version, PAB_TRACE_VERSION);
    if (h->cmdline_len > PAB_TRACE_CMDLINE_MAX || sizeof *h + pad8(h->cmdline_len) > len)
        return fail(err, errlen, "%s: truncated raw trace header", path);
    return 0;
}

static int write_header(fin *f, const pab_raw_header *rh, const char *cmdline) {
    static const char zeros[8];
    pab_trace_header h = {.version = PAB_TRACE_VERSION, .page_size = rh->page_size, .pid = rh->pid, .ppid = rh->ppid,
                          .threads = f->nthreads, .events = f->events, .max_id = f->max_id,
                          .live_peak_bytes = (uint64_t)f->peak, .end_live_bytes = (uint64_t)f->live,
                          .duration_ns = f->events ? f->prev_t - f->first_t : 0, .unknown_frees = f->unknown_frees,
                          .lost_frees = f->lost_frees, .cmdline_len = rh->cmdline_len, .rec_size = sizeof(pab_trace_rec)};
    memcpy(h.magic, PAB_TRACE_MAGIC, 8);
    h.header_size = (uint32_t)(sizeof h + pad8(h.cmdline_len));
    return fseek(f->out, 0, SEEK_SET) || fwrite(&h, sizeof h, 1, f->out) != 1 ||
           fwrite(cmdline, 1, h.cmdline_len, f->out) != h.cmdline_len ||
           fwrite(zeros, 1, pad8(h.cmdline_len) - h.cmdline_len, f->out) != pad8(h.cmdline_len) - h.cmdline_len;
}

static int rename_all(fin *f, ent *v, size_t n, const pab_raw_header *rh, const char *cmdline) {
    if (write_header(f, rh, cmdline)) return -1;
    for (size_t i = 0; i < n; i++) {
        if (i && v[i].seq == v[i - 1].seq) continue; /* flushed twice in an exit race */
        unsigned op = v[i].r->seq_op & 0xff;
        uint32_t th;
        if (op >= 16 || !fin_ops[op]) return -2;
        if (thread_index(f, v[i].tid, &th) || fin_ops[op](f, v[i].r, op, th)) return -1;
    }
    return write_header(f, rh, cmdline);
}

static void fin_free(fin *f) {
    free(f->blocks.e); free(f->threads.e); free(f->free_ids); free(f->pend);
}

int pab_trace_finalize(const char *raw_path, const char *out_path, char *err, size_t errlen) {
    int fd = open(raw_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail(err, errlen, "%s: %s", raw_path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st)) { close(fd); return fail(err, errlen, "%s: %s", raw_path, strerror(errno)); }
    size_t len = (size_t)st.st_size;
    const char *base = len ? mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
    close(fd);
    if (base == MAP_FAILED) return fail(err, errlen, "%s: empty or unreadable raw trace", raw_path);
    pab_raw_header rh;
    ent *v = NULL;
    size_t n = 0;
    int rc = check_raw_header(base, len, &rh, err, errlen, raw_path);
    if (!rc) rc = index_chunks(base, len, sizeof rh + pad8(rh.cmdline_len), &v, &n, err, errlen, raw_path);
    if (!rc) {
        bool sorted = true;
        for (size_t i = 1; i < n && sorted; i++) sorted = v[i - 1].seq <= v[i].seq;
        if (!sorted) qsort(v, n, sizeof *v, cmp_ent);
        fin f = {0};
        f.out = fopen(out_path, "wb");
        if (!f.out) rc = fail(err, errlen, "%s: %s", out_path, strerror(errno));
        else {
            int r = rename_all(&f, v, n, &rh, base + sizeof rh);
            if (fclose(f.out) || r == -1) rc = fail(err, errlen, "%s: write failed or out of memory", out_path);
            else if (r == -2) rc = fail(err, errlen, "%s: damaged raw trace (unknown operation)", raw_path);
            if (rc) unlink(out_path);
        }
        fin_free(&f);
    }
    free(v);
    munmap((void *)base, len);
    return rc;
}

/* ---- loading a final trace */
static int check_header(const pab_trace_header *h, uint64_t len, char *err, size_t errlen, const char *path) {
    if (h->version != PAB_TRACE_VERSION) return fail(err, errlen, "%s: trace version %u, this build reads %u", path, h->version, PAB_TRACE_VERSION);
    if (h->rec_size != sizeof(pab_trace_rec) || h->cmdline_len > PAB_TRACE_CMDLINE_MAX ||
        h->header_size != sizeof *h + pad8(h->cmdline_len) || h->max_id > UINT32_MAX || h->threads > 65535)
        return fail(err, errlen, "%s: damaged trace header", path);
    if (h->events > (UINT64_MAX - h->header_size) / sizeof(pab_trace_rec)) return fail(err, errlen, "%s: damaged trace header", path);
    uint64_t want = h->header_size + h->events * sizeof(pab_trace_rec);
    if (len < want)
        return fail(err, errlen, "%s: truncated: the header promises %llu events, the file holds %llu", path,
                    (unsigned long long)h->events,
                    (unsigned long long)(len < h->header_size ? 0 : (len - h->header_size) / sizeof(pab_trace_rec)));
    if (len > want) return fail(err, errlen, "%s: damaged: %llu bytes after the last event", path, (unsigned long long)(len - want));
    return 0;
}

/* Replays the live set with a size per id (top bit: live) and checks the stream against the header. */
static int check_records(const pab_trace *t, char *err, size_t errlen, const char *path) {
    const pab_trace_header *h = &t->h;
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

static int read_all(int fd, char *p, size_t len) {
    for (size_t off = 0; off < len;) {
        ssize_t k = pread(fd, p + off, len - off, (off_t)off);
        if (k <= 0) { if (k < 0 && errno == EINTR) continue; return -1; }
        off += (size_t)k;
    }
    return 0;
}

int pab_trace_load(const char *path, pab_trace *t, char *err, size_t errlen) {
    memset(t, 0, sizeof *t);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail(err, errlen, "%s: %s", path, strerror(errno));
    struct stat st;
    char magic[8] = {0};
    ssize_t got = fstat(fd, &st) ? -1 : pread(fd, magic, 8, 0);
    int rc = 0;
    if (got == 8 && !memcmp(magic, PAB_TRACE_RAW_MAGIC, 8))
        rc = fail(err, errlen, "%s: a raw recorder file, not a finalized trace (record with `pyalloc record`)", path);
    else if (got != 8 || memcmp(magic, PAB_TRACE_MAGIC, 8)) rc = fail(err, errlen, "%s: not a pyalloc trace (bad magic)", path);
    else if ((uint64_t)st.st_size < sizeof t->h) rc = fail(err, errlen, "%s: truncated trace header", path);
    else if (pread(fd, &t->h, sizeof t->h, 0) != (ssize_t)sizeof t->h) rc = fail(err, errlen, "%s: %s", path, strerror(errno));
    else rc = check_header(&t->h, (uint64_t)st.st_size, err, errlen, path);
    if (!rc) {
        t->map_len = (size_t)st.st_size;
        t->map = mmap(NULL, t->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (t->map == MAP_FAILED) { t->map = NULL; rc = fail(err, errlen, "%s: cannot map %zu bytes", path, t->map_len); }
        else if (read_all(fd, t->map, t->map_len)) rc = fail(err, errlen, "%s: read failed", path);
    }
    close(fd);
    if (!rc) {
        t->cmdline = (const char *)t->map + sizeof t->h;
        t->rec = (const pab_trace_rec *)((const char *)t->map + t->h.header_size);
        rc = check_records(t, err, errlen, path);
    }
    if (rc) pab_trace_unload(t);
    return rc;
}

void pab_trace_unload(pab_trace *t) {
    if (t->map) munmap(t->map, t->map_len);
    memset(t, 0, sizeof *t);
}

/* trace_codec.h — the bytes of one version-2 event (bench/trace/README.md), written by the recorder and read by the
 * loader: an op byte, a sequence delta, block addresses as zigzag deltas in 8-byte units, sizes; every number a
 * prefix varint (its length in the first byte's trailing ones), written without a data-dependent branch. */
#ifndef PAB_TRACE_CODEC_H
#define PAB_TRACE_CODEC_H

#include <stdint.h>
#include <string.h>

#include "trace_format.h"

#define PAB_EV_SEQ 0x10u   /* a sequence delta follows (else the delta is 1) */
#define PAB_EV_RAW1 0x20u  /* the (first) address is not a multiple of 8: its delta is in bytes */
#define PAB_EV_RAW2 0x40u  /* realloc: the result is not a multiple of 8 */
#define PAB_EV_NEW 0x80u   /* realloc: the block given is NULL (no first address; the result is against the last) */
#define PAB_EV_MAX 80u     /* the most bytes one event writes, 8 past its end included (a mark of 47 bytes) */

/* The encoders sit on the recorder's hot path: always inlined. */
#define PAB_ENC static inline __attribute__((always_inline))

/* Per thread, carried from chunk to chunk (reset where a chunk says PAB_CHUNK_FIRST). */
typedef struct { uint64_t seq, addr; } pab_codec;

/* A number of 7*n bits in n bytes (n = 1..8): n-1 one bits, a zero, the value, little-endian; 0xff + 8 bytes above.
 * Always stores 8 bytes (the writer leaves that much room past an event). */
PAB_ENC uint8_t *pab_put_uv(uint8_t *w, uint64_t v) {
    if (__builtin_expect(v >> 56 != 0, 0)) {
        *w = 0xff;
        memcpy(w + 1, &v, 8);
        return w + 9;
    }
    static const uint8_t bytes[64] = {1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4,
                                      4, 4, 5, 5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 8, 8, 8,
                                      8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8}; /* by the top bit's index */
    unsigned n = bytes[63 - __builtin_clzll(v | 1)];
    uint64_t x = v << n | ((1ULL << (n - 1)) - 1);
    memcpy(w, &x, 8);
    return w + n;
}
PAB_ENC uint64_t pab_zz(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static inline int64_t pab_unzz(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

/* An address against the previous one: 8-byte units when aligned (every allocator's common case), else bytes. */
PAB_ENC uint8_t *pab_put_addr(uint8_t *w, uint8_t *op, unsigned raw_flag, uint64_t prev, uint64_t a) {
    if (a & 7) { *op |= (uint8_t)raw_flag; return pab_put_uv(w, pab_zz((int64_t)(a - prev))); }
    return pab_put_uv(w, pab_zz((int64_t)((a >> 3) - (prev >> 3))));
}

PAB_ENC uint8_t *pab_put_head(uint8_t *w, pab_codec *s, unsigned op, uint64_t seq) {
    uint64_t d = seq - s->seq;
    s->seq = seq;
    *w = (uint8_t)op;
    if (d == 1) return w + 1;
    *w |= PAB_EV_SEQ;
    return pab_put_uv(w + 1, d);
}

/* Each returns the end of what it wrote (at most PAB_EV_MAX bytes). */
PAB_ENC uint8_t *pab_enc_alloc(uint8_t *w, pab_codec *s, unsigned op, uint64_t seq, uint64_t addr,
                                     uint64_t size, unsigned align_log2) {
    uint8_t *op_byte = w;
    w = pab_put_head(w, s, op, seq);
    w = pab_put_addr(w, op_byte, PAB_EV_RAW1, s->addr, addr);
    s->addr = addr;
    w = pab_put_uv(w, size);
    if (op >= PAB_OP_POSIX_MEMALIGN) *w++ = (uint8_t)align_log2;
    return w;
}

PAB_ENC uint8_t *pab_enc_free(uint8_t *w, pab_codec *s, uint64_t seq, uint64_t addr) {
    uint8_t *op_byte = w;
    w = pab_put_head(w, s, PAB_OP_FREE, seq);
    w = pab_put_addr(w, op_byte, PAB_EV_RAW1, s->addr, addr);
    s->addr = addr;
    return w;
}

/* seq: taken before the call (the old block is given up there); seq2: after it, only when the result is a new
 * block (q != 0, q != old), which is when another thread could have been handed `old` in between. */
PAB_ENC uint8_t *pab_enc_realloc(uint8_t *w, pab_codec *s, uint64_t seq, uint64_t seq2, uint64_t old,
                                       uint64_t q, uint64_t size) {
    uint8_t *op_byte = w;
    w = pab_put_head(w, s, PAB_OP_REALLOC, seq);
    if (old) w = pab_put_addr(w, op_byte, PAB_EV_RAW1, s->addr, old);
    else *op_byte |= PAB_EV_NEW;
    w = pab_put_addr(w, op_byte, PAB_EV_RAW2, old ? old : s->addr, q);
    w = pab_put_uv(w, size);
    if (q && q != old) {
        w = pab_put_uv(w, seq2 - seq);
        s->seq = seq2;
    }
    s->addr = q ? q : old;
    return w;
}

PAB_ENC uint8_t *pab_enc_mark(uint8_t *w, pab_codec *s, uint64_t seq, const char *name, unsigned len,
                                    uint64_t t_ns) {
    w = pab_put_head(w, s, PAB_OP_MARK, seq);
    *w++ = (uint8_t)len;
    memcpy(w, name, len);
    return pab_put_uv(w + len, t_ns);
}

/* ---- decoding: every read is bounded by `end`; -1 means the payload is damaged. */
typedef struct {
    unsigned op, align_log2, name_len;
    uint64_t seq, seq2, addr, old, size, t_ns;
    const char *name;
} pab_trace_event;

static inline int pab_get_uv(const uint8_t **pp, const uint8_t *end, uint64_t *v) {
    const uint8_t *p = *pp;
    if (p >= end) return -1;
    if (*p == 0xff) {
        if (end - p < 9) return -1;
        memcpy(v, p + 1, 8);
        *pp = p + 9;
        return 0;
    }
    unsigned n = (unsigned)__builtin_ctz(~(unsigned)*p) + 1;
    if (end - p < (long)n) return -1;
    uint64_t x = 0;
    memcpy(&x, p, end - p >= 8 ? 8 : n);
    if (n < 8) x &= (1ULL << (8 * n)) - 1;
    *v = x >> n;
    *pp = p + n;
    return 0;
}

static inline int pab_get_addr(const uint8_t **pp, const uint8_t *end, bool raw, uint64_t prev, uint64_t *a) {
    uint64_t v;
    if (pab_get_uv(pp, end, &v)) return -1;
    *a = raw ? prev + (uint64_t)pab_unzz(v) : (uint64_t)((prev >> 3) + (uint64_t)pab_unzz(v)) << 3;
    return 0;
}

static inline int pab_dec_event(const uint8_t **pp, const uint8_t *end, pab_codec *s, pab_trace_event *e) {
    const uint8_t *p = *pp;
    if (p >= end) return -1;
    unsigned b = *p++, op = b & 0xf;
    uint64_t d = 1;
    if (((b & PAB_EV_NEW) && op != PAB_OP_REALLOC) || (b & PAB_EV_SEQ && pab_get_uv(&p, end, &d)) || !d) return -1;
    e->op = op;
    e->seq = s->seq += d;
    e->seq2 = 0;
    e->old = 0;
    e->size = 0;
    e->align_log2 = 0;
    if (op == PAB_OP_MARK) {
        if (p >= end || !*p || *p > PAB_TRACE_MARK_MAX || end - p < 1 + *p) return -1;
        e->name_len = *p;
        e->name = (const char *)p + 1;
        p += 1 + *p;
        if (pab_get_uv(&p, end, &e->t_ns)) return -1;
    } else if (op == PAB_OP_FREE) {
        if (pab_get_addr(&p, end, b & PAB_EV_RAW1, s->addr, &e->addr)) return -1;
        s->addr = e->addr;
    } else if (op == PAB_OP_REALLOC) {
        if ((!(b & PAB_EV_NEW) && (pab_get_addr(&p, end, b & PAB_EV_RAW1, s->addr, &e->old) || !e->old)) ||
            pab_get_addr(&p, end, b & PAB_EV_RAW2, e->old ? e->old : s->addr, &e->addr) || pab_get_uv(&p, end, &e->size))
            return -1;
        if (e->addr && e->addr != e->old) {
            if (pab_get_uv(&p, end, &d) || !d) return -1;
            e->seq2 = s->seq += d;
        }
        s->addr = e->addr ? e->addr : e->old;
    } else if (op && op < PAB_OP_COUNT) {
        if (pab_get_addr(&p, end, b & PAB_EV_RAW1, s->addr, &e->addr) || pab_get_uv(&p, end, &e->size)) return -1;
        s->addr = e->addr;
        if (op >= PAB_OP_POSIX_MEMALIGN) {
            if (p >= end || *p > 63) return -1;
            e->align_log2 = *p++;
        }
    } else {
        return -1;
    }
    *pp = p;
    return 0;
}

#endif

/* trace_blocks.c — the trace loader's memory: growable arrays in anonymous mappings, and the map from a live block's
 * address to its id (a table per 4 KiB page, found through a small hash of pages: nearby blocks share cache lines). */
#define _GNU_SOURCE
#include <string.h>
#include <sys/mman.h>

#include "trace_internal.h"

/* ---- growable arrays in anonymous memory */
int pab_mvec_reserve(pab_mvec *v, size_t cap) {
    if (cap <= v->cap) return 0;
    cap = (cap + 4095) & ~(size_t)4095;
    void *p = v->p ? mremap(v->p, v->cap, cap, MREMAP_MAYMOVE)
                   : mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return -1;
    v->p = p;
    v->cap = cap;
    return 0;
}

void *pab_mvec_push(pab_mvec *v, size_t n) {
    if (v->len + n > v->cap && pab_mvec_reserve(v, v->cap * 2 > v->len + n ? v->cap * 2 : v->len + n + 4096))
        return NULL;
    void *at = (char *)v->p + v->len;
    v->len += n;
    return at;
}

void pab_mvec_free(pab_mvec *v) {
    if (v->p) munmap(v->p, v->cap);
    *v = (pab_mvec){0};
}

/* ---- addresses -> ids.  An 8-byte-aligned address has a slot in its page's table (512 slots of 8 bytes); any
 * other address (no allocator we know hands one out) gets a table of its own, keyed apart from the pages. */
#define PAGE_SLOTS 512
#define ODD_KEY (1ULL << 63)

typedef struct { uint64_t key; uint32_t leaf; } page_ent; /* key: page + 1, or address | ODD_KEY */

struct pab_blocks {
    pab_mvec pages, leaves; /* page_ent[cap]; uint32_t[PAGE_SLOTS] per leaf */
    size_t cap, n;
    uint64_t last_key;      /* the last page looked up, and its leaf */
    uint32_t last_leaf;
};

pab_blocks *pab_blocks_new(void) {
    pab_mvec self = {0};
    if (pab_mvec_reserve(&self, sizeof(pab_blocks))) return NULL;
    pab_blocks *b = self.p;
    memset(b, 0, sizeof *b);
    return b;
}

void pab_blocks_delete(pab_blocks *b) {
    if (!b) return;
    pab_mvec_free(&b->pages);
    pab_mvec_free(&b->leaves);
    munmap(b, (sizeof *b + 4095) & ~(size_t)4095);
}

static size_t slot_of(const pab_blocks *b, uint64_t k) {
    k ^= k >> 33; k *= 0xff51afd7ed558ccdULL; k ^= k >> 33; k *= 0xc4ceb9fe1a85ec53ULL; k ^= k >> 33;
    return (size_t)k & (b->cap - 1);
}

static page_ent *find(const pab_blocks *b, uint64_t key) {
    page_ent *e = b->pages.p;
    for (size_t i = slot_of(b, key);; i = (i + 1) & (b->cap - 1))
        if (e[i].key == key || !e[i].key) return &e[i];
}

static int grow(pab_blocks *b) {
    pab_mvec old = b->pages;
    size_t cap = b->cap;
    b->cap = cap ? cap * 2 : 256;
    b->pages = (pab_mvec){0};
    if (pab_mvec_reserve(&b->pages, b->cap * sizeof(page_ent))) { b->pages = old; b->cap = cap; return -1; }
    for (size_t i = 0; i < cap; i++)
        if (((page_ent *)old.p)[i].key) *find(b, ((page_ent *)old.p)[i].key) = ((page_ent *)old.p)[i];
    pab_mvec_free(&old);
    return 0;
}

uint32_t *pab_blocks_at(pab_blocks *b, uint64_t addr, bool create) {
    uint64_t key = addr & 7 ? addr | ODD_KEY : (addr >> 12) + 1;
    uint32_t leaf;
    if (key == b->last_key) leaf = b->last_leaf;
    else {
        page_ent *e = b->cap ? find(b, key) : NULL;
        if (!e || !e->key) {
            if (!create) return NULL;
            if (2 * (b->n + 1) > b->cap && grow(b)) return NULL;
            e = find(b, key);
            size_t nleaves = b->leaves.len / (PAGE_SLOTS * sizeof(uint32_t));
            if (!pab_mvec_push(&b->leaves, PAGE_SLOTS * sizeof(uint32_t))) return NULL;
            *e = (page_ent){key, (uint32_t)nleaves};
            b->n++;
        }
        leaf = e->leaf;
        b->last_key = key;
        b->last_leaf = leaf;
    }
    uint32_t *slots = (uint32_t *)b->leaves.p + (size_t)leaf * PAGE_SLOTS;
    return addr & 7 ? slots : &slots[(addr >> 3) & (PAGE_SLOTS - 1)];
}

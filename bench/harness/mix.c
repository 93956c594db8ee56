/* Object size mixes: bench/mixes.tsv, embedded into the binary at build time and parsed once.
 * A draw picks a band by its share, then a size in the band in 16-byte steps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pab_pyobj.h"

__asm__(".section .rodata\n.global pab_mixes_tsv\npab_mixes_tsv:\n.incbin \"" PAB_MIXES_TSV "\"\n.byte 0\n.previous\n");
extern const char pab_mixes_tsv[];

#define PAB_MIX_MAX 4
#define PAB_BAND_MAX 16

struct pab_mix {
    char name[16];
    int bands;
    uint64_t cut[PAB_BAND_MAX]; /* cumulative share, scaled to 2^32 */
    uint32_t min[PAB_BAND_MAX], steps[PAB_BAND_MAX];
};

static struct pab_mix mixes[PAB_MIX_MAX];
static int nmixes = -1;

static void load(void) {
    double pct[PAB_MIX_MAX][PAB_BAND_MAX], total[PAB_MIX_MAX] = {0};
    nmixes = 0;
    for (const char *line = pab_mixes_tsv; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char buf[128], name[16];
        double p;
        unsigned lo, hi;
        snprintf(buf, sizeof buf, "%.*s", (int)(len < 127 ? len : 127), line);
        if (buf[0] != '#' && sscanf(buf, "%15s %lf %u %u", name, &p, &lo, &hi) == 4) {
            int i = 0;
            while (i < nmixes && strcmp(mixes[i].name, name)) i++;
            if (i == nmixes && nmixes < PAB_MIX_MAX) snprintf(mixes[nmixes++].name, 16, "%s", name);
            struct pab_mix *m = &mixes[i];
            if (i < PAB_MIX_MAX && m->bands < PAB_BAND_MAX) {
                pct[i][m->bands] = p;
                total[i] += p;
                m->min[m->bands] = lo;
                m->steps[m->bands++] = (hi - lo) / 16 + 1;
            }
        }
        line += len + (end != NULL);
    }
    for (int i = 0; i < nmixes; i++) { /* shares need not add up to 100: they are normalised */
        double acc = 0;
        for (int b = 0; b < mixes[i].bands; b++) {
            acc += pct[i][b] / total[i];
            mixes[i].cut[b] = (uint64_t)(acc * 4294967296.0);
        }
        mixes[i].cut[mixes[i].bands - 1] = 1ULL << 32;
    }
}

const pab_mix *pab_mix_find(const char *name) {
    if (nmixes < 0) load();
    for (int i = 0; i < nmixes; i++)
        if (!strcmp(mixes[i].name, name)) return &mixes[i];
    return NULL;
}

size_t pab_mix_draw(const pab_mix *m, pab_rng *r) {
    uint64_t x = pab_next(r), u = x >> 32;
    int b = 0;
    while (u >= m->cut[b]) b++;
    uint32_t k = m->steps[b] > 1 ? (uint32_t)(((x & 0xffffffffu) * m->steps[b]) >> 32) : 0;
    return m->min[b] + 16 * (size_t)k;
}

double pab_mix_mean(const pab_mix *m) {
    double mean = 0, prev = 0;
    for (int b = 0; b < m->bands; b++) {
        double share = ((double)m->cut[b] - prev) / 4294967296.0;
        prev = (double)m->cut[b];
        mean += share * (m->min[b] + 8.0 * (m->steps[b] - 1));
    }
    return mean;
}

const pab_mix *pab_mix_of_case(const pab_ctx *c) {
    static const char *const names[] = {"python", "uniform"}; /* PAB_MIX_CHOICES order */
    return pab_mix_find(names[pab_choice(c, "mix")]);
}

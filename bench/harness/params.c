/* Workload parameters: defaults from the workload's table, KEY=VALUE overrides, validation to one line,
 * and the canonical `key=value;...` text (sorted by key) that goes into the CSV. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pab_internal.h"

int pab_parse_size(const char *s, uint64_t *out) {
    static const char suffix[] = "KMGT";
    if (!s || !isdigit((unsigned char)*s)) return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno) return -1;
    int shift = 0;
    if (*end) {
        const char *k = strchr(suffix, toupper((unsigned char)*end));
        if (!k || end[1]) return -1;
        shift = 10 * (int)(k - suffix + 1);
    }
    if (v > (UINT64_MAX >> 2) >> shift) return -1; /* beyond any machine: 2^62 bytes */
    *out = (uint64_t)v << shift;
    return 0;
}

static int index_of(const pab_workload *w, const char *key, size_t len) {
    for (int i = 0; w->params && w->params[i].name; i++)
        if (strlen(w->params[i].name) == len && !strncmp(w->params[i].name, key, len)) return i;
    return -1;
}

static int choice_of(const char *choices, const char *val) {
    int i = 0;
    size_t n = strlen(val);
    for (const char *p = choices; p; p = strchr(p, '|') ? strchr(p, '|') + 1 : NULL, i++)
        if (!strncmp(p, val, n) && (p[n] == '|' || !p[n])) return i;
    return -1;
}

static int set_value(pab_values *v, int i, const char *val, char *err, size_t len) {
    const pab_param *p = &v->w->params[i];
    v->text[i] = val;
    switch (p->type) {
    case PAB_P_ENUM:
        if ((v->choice[i] = choice_of(p->choices, val)) < 0)
            return snprintf(err, len, "%s: %s=%s: not one of %s", v->w->name, p->name, val, p->choices), -1;
        return 0;
    case PAB_P_STR:
        return 0;
    default:
        if (pab_parse_size(val, &v->num[i]))
            return snprintf(err, len, "%s: %s=%s: not a %s (digits with an optional K, M, G or T suffix, powers of 1024)",
                            v->w->name, p->name, val, p->type == PAB_P_SIZE ? "size" : "count"), -1;
        if (v->num[i] < p->min || (p->max && v->num[i] > p->max)) {
            char lo[32], hi[32];
            snprintf(lo, sizeof lo, "%llu", (unsigned long long)p->min);
            snprintf(hi, sizeof hi, "%llu", (unsigned long long)p->max);
            return snprintf(err, len, "%s: %s=%s: out of range [%s, %s]", v->w->name, p->name, val, lo,
                            p->max ? hi : "no limit"), -1;
        }
        return 0;
    }
}

int pab_values_parse(pab_values *v, const pab_workload *w, int n, char **kv, char *err, size_t len) {
    memset(v, 0, sizeof *v);
    v->w = w;
    while (w->params && w->params[v->n].name) v->n++;
    for (int i = 0; i < v->n; i++)
        if (set_value(v, i, w->params[i].def, err, len)) return -1;
    for (int k = 0; k < n; k++) {
        const char *eq = strchr(kv[k], '=');
        int i = eq ? index_of(w, kv[k], (size_t)(eq - kv[k])) : -1;
        if (!eq) return snprintf(err, len, "parameter %s: expected KEY=VALUE", kv[k]), -1;
        if (i < 0) return snprintf(err, len, "%s has no parameter %.*s", w->name, (int)(eq - kv[k]), kv[k]), -1;
        if (set_value(v, i, eq + 1, err, len)) return -1;
    }
    return 0;
}

static int by_name(const void *a, const void *b) {
    return strcmp((*(const pab_param *const *)a)->name, (*(const pab_param *const *)b)->name);
}

void pab_values_format(const pab_values *v, char *out, size_t len) {
    const pab_param *sorted[PAB_MAX_PARAMS];
    for (int i = 0; i < v->n; i++) sorted[i] = &v->w->params[i];
    qsort(sorted, (size_t)v->n, sizeof *sorted, by_name);
    size_t used = 0;
    out[0] = 0;
    for (int i = 0; i < v->n && used < len; i++)
        used += (size_t)snprintf(out + used, len - used, "%s%s=%s", i ? ";" : "", sorted[i]->name,
                                 v->text[sorted[i] - v->w->params]);
}

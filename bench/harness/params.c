/* Workload parameters: defaults from the workload's table, KEY=VALUE overrides, validation to one line,
 * and the canonical `key=value;...` text (sorted by key) that goes into the CSV. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pab_internal.h"

/* Every case has these besides its workload's own (the harness acts on them, docs/design.md §5). */
const pab_param pab_common_params[] = {
    {"idle_ms", PAB_P_INT, "0", NULL,
     "after `after free` the process idles this long (ms), as a service after its spike; then rss_after_idle_bytes",
     0, 3600000},
    {"idle_mode", PAB_P_ENUM, "sleep", "sleep|trickle",
     "sleep: the idle touches nothing (only an allocator's own threads act); trickle: one 64 KiB malloc+free per ms "
     "(a request buffer: activity-driven release such as jemalloc's decay runs)", 0, 0},
    {NULL},
};

int pab_params_of(const pab_workload *w, const pab_param **out, int max) {
    int n = 0;
    for (int i = 0; w->params && w->params[i].name && n < max; i++) out[n++] = &w->params[i];
    for (int i = 0; pab_common_params[i].name && n < max; i++) out[n++] = &pab_common_params[i];
    return n;
}

static int index_of(const pab_values *v, const char *key, size_t len) {
    for (int i = 0; i < v->n; i++)
        if (strlen(v->p[i]->name) == len && !strncmp(v->p[i]->name, key, len)) return i;
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
    const pab_param *p = v->p[i];
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
    v->n = pab_params_of(w, v->p, PAB_MAX_PARAMS);
    for (int i = 0; i < v->n; i++)
        if (set_value(v, i, v->p[i]->def, err, len)) return -1;
    for (int k = 0; k < n; k++) {
        const char *eq = strchr(kv[k], '=');
        int i = eq ? index_of(v, kv[k], (size_t)(eq - kv[k])) : -1;
        if (!eq) return snprintf(err, len, "parameter %s: expected KEY=VALUE", kv[k]), -1;
        if (i < 0) return snprintf(err, len, "%s has no parameter %.*s", w->name, (int)(eq - kv[k]), kv[k]), -1;
        if (set_value(v, i, eq + 1, err, len)) return -1;
    }
    return 0;
}

static int by_name(const void *a, const void *b) {
    return strcmp((*(const pab_param *const *)a)->name, (*(const pab_param *const *)b)->name);
}

static int position(const pab_values *v, const pab_param *p) {
    for (int i = 0; i < v->n; i++)
        if (v->p[i] == p) return i;
    return -1;
}

bool pab_param_common(const pab_param *p) {
    return p >= pab_common_params && p < pab_common_params + sizeof pab_common_params / sizeof *pab_common_params;
}

/* Every parameter of the workload, defaults included; a common one only when it is not at its default, so a case
 * reads the same as in runs made before that parameter existed. */
void pab_values_format(const pab_values *v, char *out, size_t len) {
    const pab_param *sorted[PAB_MAX_PARAMS];
    memcpy(sorted, v->p, (size_t)v->n * sizeof *sorted);
    qsort(sorted, (size_t)v->n, sizeof *sorted, by_name);
    size_t used = 0;
    out[0] = 0;
    for (int i = 0; i < v->n && used < len; i++) {
        const char *text = v->text[position(v, sorted[i])];
        if (pab_param_common(sorted[i]) && !strcmp(text, sorted[i]->def)) continue;
        used += (size_t)snprintf(out + used, len - used, "%s%s=%s", used ? ";" : "", sorted[i]->name, text);
    }
}

/* Knob read-back shared by the adapters (docs/design.md §13): who owns an environment variable, the items of a
 * knob text, the comparison of what was asked with what the allocator applied, and the `tuning` text. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pab_alloc.h"

int pab_knob_next(const char **p, const char *sep, const char *kv, pab_knob *k) {
    const char *s = *p;
    while (*s && strchr(sep, *s)) s++;
    if (!*s) return *p = s, 0;
    const char *end = s + strcspn(s, sep);
    const char *eq = memchr(s, *kv, (size_t)(end - s));
    k->key = s;
    k->klen = (int)((eq ? eq : end) - s);
    k->val = eq ? eq + 1 : end;
    k->vlen = eq ? (int)(end - eq - 1) : -1;
    *p = end;
    return 1;
}

/* Length of the match of `word` (an exact name, or a prefix ending in '_') against key, 0 if none. */
static size_t match(const char *word, size_t wlen, const char *key, size_t len) {
    if (word[wlen - 1] == '_') return len >= wlen && !strncmp(word, key, wlen) ? wlen : 0;
    return len == wlen && !strncmp(word, key, wlen) ? wlen : 0;
}

const pab_allocator *pab_knob_owner(const char *key, size_t len) {
    const pab_allocator *best = NULL;
    size_t best_len = 0;
    for (const pab_allocator *a = pab_alloc_first(); a; a = a->next) {
        for (const char *w = a->knob_env; w && *w;) {
            size_t wlen = strcspn(w, " ");
            size_t m = wlen ? match(w, wlen, key, len) : 0;
            if (m > best_len) best = a, best_len = m;
            w += wlen + (w[wlen] == ' ');
        }
    }
    return best;
}

static int boolean(const char *s, size_t len) {
    static const char *const yes[] = {"1", "true", "yes", "on"}, *const no[] = {"0", "false", "no", "off"};
    for (int i = 0; i < 4; i++) {
        if (strlen(yes[i]) == len && !strncasecmp(s, yes[i], len)) return 1;
        if (strlen(no[i]) == len && !strncasecmp(s, no[i], len)) return 0;
    }
    return -1;
}

bool pab_knob_same(const char *asked, size_t len, const char *applied) {
    char a[128];
    if (len >= sizeof a) return false;
    memcpy(a, asked, len);
    a[len] = 0;
    if (!strcmp(a, applied)) return true;
    char *end1, *end2;
    double x = strtod(a, &end1), y = strtod(applied, &end2);
    if (len && !*end1 && *applied && !*end2) return x == y;
    int b1 = boolean(a, len), b2 = boolean(applied, strlen(applied));
    return b1 >= 0 && b1 == b2;
}

static void append(pab_tuning_out *t, const char *fmt, ...) {
    if (t->used >= t->len) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->out + t->used, t->len - t->used, fmt, ap);
    va_end(ap);
    t->used = n < 0 ? t->len : t->used + (size_t)n;
}

void pab_tuning_put(pab_tuning_out *t, const char *key, int klen, const char *applied, const pab_knob *asked,
                    const char *note) {
    append(t, "%s%.*s=%s", t->used ? ";" : "", klen, key, applied);
    if (asked && !pab_knob_same(asked->val, (size_t)(asked->vlen > 0 ? asked->vlen : 0), applied))
        append(t, " (asked %.*s)", asked->vlen > 0 ? asked->vlen : 0, asked->val);
    if (note) append(t, " (%s)", note);
}

void pab_tuning_unread(pab_tuning_out *t, const pab_knob *k, const char *note) {
    int vlen = k->vlen > 0 ? k->vlen : 0;
    append(t, "%s%.*s=%.*s (%s)", t->used ? ";" : "", k->klen, k->key, vlen, k->val, note);
}

int pab_tuning_fail(pab_tuning_out *t, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->out, t->len, fmt, ap);
    va_end(ap);
    t->used = strlen(t->out);
    return -1;
}

int pab_alloc_tuning(const pab_allocator *a, const char *knobs, char *out, size_t len) {
    pab_tuning_out t = {out, len, 0};
    pab_knob k;
    out[0] = 0;
    for (const char *p = knobs; pab_knob_next(&p, ";", "=", &k);) {
        const pab_allocator *owner = pab_knob_owner(k.key, (size_t)k.klen);
        if (k.vlen < 0) return pab_tuning_fail(&t, "knob '%.*s' is not KEY=VALUE", k.klen, k.key);
        if (!owner) return pab_tuning_fail(&t, "%.*s is no allocator's knob", k.klen, k.key);
        if (owner != a)
            return pab_tuning_fail(&t, "%.*s is read by %s, not by %s (the allocator serving malloc)", k.klen, k.key,
                                   owner->name, a->name);
    }
    if (a->tuning) return a->tuning(knobs, out, len);
    char note[96];
    snprintf(note, sizeof note, "not read back: %s has no read-back", a->name);
    for (const char *p = knobs; pab_knob_next(&p, ";", "=", &k);) pab_tuning_unread(&t, &k, note);
    return 0;
}

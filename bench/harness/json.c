/* A JSON writer into a caller's fixed buffer: what --pab_list, --pab_identify and the probe print, without malloc
 * (the probe writes from inside a program whose allocator is under test). */
#include <stdio.h>
#include <string.h>

#include "pab_sys.h"

static void put(pab_json *j, const char *s, size_t n) {
    if (j->used + n >= j->len) { j->used = j->len; return; } /* full: nothing more fits */
    memcpy(j->buf + j->used, s, n);
    j->used += n;
    j->buf[j->used] = 0;
}

void pab_json_raw(pab_json *j, const char *text) { put(j, text, strlen(text)); }

void pab_json_str(pab_json *j, const char *s) {
    put(j, "\"", 1);
    for (; s && *s; s++) {
        char esc[8];
        if (*s == '"' || *s == '\\') put(j, (char[]){'\\', *s}, 2);
        else if ((unsigned char)*s < 0x20) put(j, esc, (size_t)snprintf(esc, sizeof esc, "\\u%04x", *s));
        else put(j, s, 1);
    }
    put(j, "\"", 1);
}

void pab_json_kv(pab_json *j, const char *key, const char *val, bool last) {
    pab_json_str(j, key);
    put(j, ": ", 2);
    pab_json_str(j, val);
    if (!last) put(j, ", ", 2);
}

void pab_json_ku(pab_json *j, const char *key, uint64_t val, bool last) {
    char n[32];
    pab_json_str(j, key);
    put(j, ": ", 2);
    put(j, n, (size_t)snprintf(n, sizeof n, "%llu", (unsigned long long)val));
    if (!last) put(j, ", ", 2);
}

bool pab_json_ok(const pab_json *j) { return j->used < j->len; }

/* The flat functions the Python side calls through ctypes (scripts/pab/native.py), and the identity JSON the
 * benchmark binary and the probe print: strings in, JSON out, so Python declares no allocator fact of its own. */
#include <stdio.h>
#include <string.h>

#include "pab_alloc.h"
#include "pab_sys.h"

/* [{"name", "unique", "soname", "release_text", "release_py", "knob_env", "option": {"var", "prefix", "kv",
 * "sep"}}, ...] in registry order ("" for what an adapter leaves out). 0, or -1 if out is short. */
int pab_ffi_allocators(char *out, size_t len) {
    pab_json j = {out, len, 0};
    pab_json_raw(&j, "[");
    for (const pab_allocator *a = pab_alloc_first(); a; a = a->next) {
        pab_json_raw(&j, a == pab_alloc_first() ? "{" : ", {");
        pab_json_kv(&j, "name", a->name, false);
        pab_json_kv(&j, "unique", a->unique ? a->unique : "", false);
        pab_json_kv(&j, "soname", a->soname ? a->soname : "", false);
        pab_json_kv(&j, "release_text", a->release_text ? a->release_text : "", false);
        pab_json_kv(&j, "release_py", a->release_py ? a->release_py : "", false);
        pab_json_kv(&j, "knob_env", a->knob_env ? a->knob_env : "", false);
        pab_json_raw(&j, "\"option\": {");
        pab_json_kv(&j, "var", a->option.var ? a->option.var : "", false);
        pab_json_kv(&j, "prefix", a->option.prefix ? a->option.prefix : "", false);
        pab_json_kv(&j, "kv", a->option.kv ? a->option.kv : "", false);
        pab_json_kv(&j, "sep", a->option.sep ? a->option.sep : "", true);
        pab_json_raw(&j, "}}");
    }
    pab_json_raw(&j, "]");
    return pab_json_ok(&j) ? 0 : -1;
}

void pab_identify_process(const char *expect, pab_identity *id) {
    snprintf(id->version, sizeof id->version, "unknown");
    id->a = pab_alloc_identify(id->lib, sizeof id->lib);
    id->tuning = NULL;
    id->a->version(id->version, sizeof id->version);
    id->verified = (!expect || !*expect || !strcmp(expect, id->a->name)) && id->a != pab_alloc_other();
}

int pab_identity_json(const pab_identity *id, const char *expect, char *out, size_t len) {
    pab_json j = {out, len, 0};
    pab_json_raw(&j, "{");
    pab_json_kv(&j, "allocator", id->a->name, false);
    pab_json_kv(&j, "lib", id->lib, false);
    pab_json_kv(&j, "version", id->version, false);
    pab_json_kv(&j, "expect", expect ? expect : "", false);
    if (id->tuning) pab_json_kv(&j, "tuning", id->tuning, false);
    pab_json_raw(&j, id->verified ? "\"verified\": true}" : "\"verified\": false}");
    return pab_json_ok(&j) ? 0 : -1;
}

int pab_ffi_identify(const char *expect, char *out, size_t len) {
    static pab_identity id; /* static: 4 KiB off a caller's small stack, never the allocator under test */
    pab_identify_process(expect, &id);
    return pab_identity_json(&id, expect, out, len);
}

/* The allocator's own release call; -1 for an unknown name. */
int pab_ffi_release(const char *name) {
    const pab_allocator *a = pab_alloc_find(name);
    if (!a) return -1;
    a->release();
    return 0;
}

int pab_ffi_library(const char *name, char *out, size_t len) { return pab_alloc_library(name, out, len); }

/* The adapter that reads environment variable `name` ("" when none does). */
const char *pab_ffi_knob_owner(const char *name) {
    const pab_allocator *a = pab_knob_owner(name, strlen(name));
    return a ? a->name : "";
}

/* Knob read-back (pab_alloc_tuning): 0 and "KEY=APPLIED;..." in out, or -1 and one line. */
int pab_ffi_tuning(const char *name, const char *knobs, char *out, size_t len) {
    const pab_allocator *a = pab_alloc_find(name);
    if (!a) return snprintf(out, len, "no allocator adapter named %s", name), -1;
    return pab_alloc_tuning(a, knobs, out, len);
}

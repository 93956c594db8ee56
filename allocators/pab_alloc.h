/* pab_alloc.h — the allocator adapters: which allocator serves malloc in this process, its version, its release
 * call, and how a user makes that call.  Built into libpab.so, which the benchmark binary links, the probe loads
 * and the Python side opens with ctypes: every allocator fact lives in one adapter file, allocators/<name>.c.
 *
 * Everything is looked up with dlsym at run time: linking an allocator would replace malloc.
 *
 * Adding an allocator is one file and one row of allocators/configs.tsv:
 *
 *   // allocators/snmalloc.c
 *   static void release(void) { ... dlsym'd call ... }
 *   static void version(char *out, size_t len) { snprintf(out, len, "0.6"); }
 *   PAB_ALLOCATOR(snmalloc, .unique = "sn_rust_alloc", .soname = "libsnmallocshim.so",
 *                 .release = release, .version = version,
 *                 .release_text = "nothing (snmalloc returns memory itself)", .release_py = "pass");
 */
#ifndef PAB_ALLOC_H
#define PAB_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

typedef struct pab_allocator pab_allocator;
struct pab_allocator {
    const char *name;         /* what configs.tsv's allocator column and --pab_expect call it */
    const char *unique;       /* a symbol only this allocator's library defines (NULL: `other`, matched last) */
    const char *soname;       /* the library `@name` preloads, found where the dynamic linker looks (NULL: none) */
    const char *release_text; /* the release call as a reader knows it, for messages: "malloc_trim(0)" */
    const char *release_py;   /* the same call made from Python through ctypes: what a deploy line tells users */
    void (*release)(void);                   /* give free memory back to the OS, this thread's caches too */
    void (*version)(char *out, size_t len);  /* the version of the library actually loaded */
    /* Knob read-back (allocators/knobs.c): for each requested knob in `knobs` ("KEY=VALUE;...": the configuration's
     * environment items this adapter owns), read the value in force through the allocator's own API into out
     * ("KEY=APPLIED;...", see pab_tuning_put).  0, or -1 with one line in out naming the knob that is not in force.
     * NULL: the allocator has no read-back (its knobs are reported as not read back). */
    int (*tuning)(const char *knobs, char *out, size_t len);
    /* The environment variables this allocator reads: exact names, or prefixes ending in '_', separated by spaces
     * ("MALLOC_ GLIBC_TUNABLES").  The longest match over all adapters owns a variable (MALLOC_CONF: jemalloc). */
    const char *knob_env;
    /* How `--sweep ALLOCATOR.OPTION=...` sets one option: a list variable (var "MALLOC_CONF", items
     * prefix+OPTION+kv+VALUE joined by sep), or, when sep is NULL, one variable per option: var + OPTION in upper
     * case ("MIMALLOC_" + "DECOMMIT_DELAY").  var NULL: no options. */
    struct { const char *var, *prefix, *kv, *sep; } option;
    const pab_allocator *next; /* the registry, kept by pab_alloc_add */
};

void pab_alloc_add(pab_allocator *a);
#define PAB_ALLOCATOR(aname, ...)                                                  \
    static pab_allocator pab_adapter_##aname = {.name = #aname, __VA_ARGS__};        \
    __attribute__((constructor)) static void pab_adapter_register_##aname(void) {    \
        pab_alloc_add(&pab_adapter_##aname);                                         \
    }

const pab_allocator *pab_alloc_first(void);            /* by name, `other` last */
const pab_allocator *pab_alloc_find(const char *name); /* NULL if unknown */
const pab_allocator *pab_alloc_other(void);            /* the adapter of libraries we have no adapter for */
void pab_alloc_names(char *out, size_t len);           /* "glibc, jemalloc, ..., other": for messages */

/* Which allocator serves malloc in this process: the one whose unique symbol lives in the loaded object that
 * defines the malloc every call binds to.  lib gets that object's path.  Returns pab_alloc_other() when no
 * adapter matches.  Works in programs whose executable holds only a PLT stub for malloc (non-PIE python3). */
const pab_allocator *pab_alloc_identify(char *lib, size_t len);

/* The file `@name` preloads: $PAB_LIB_<NAME> when set, else the adapter's soname in the library directories.
 * 0, or -1 with one line in out. */
int pab_alloc_library(const char *name, char *out, size_t len);

/* This process's identity (ffi.c): who serves malloc, from which file, its version; verified when that is the
 * allocator `expect` names (NULL or "": any allocator with an adapter).  As JSON {"allocator", "lib", "version",
 * "expect", "verified"} for --pab_identify, the probe and Python. */
typedef struct {
    const pab_allocator *a;
    char lib[4096], version[128];
    bool verified;
    const char *tuning; /* the knob read-back, printed as "tuning" when not NULL (pab_identify_process: NULL) */
} pab_identity;
void pab_identify_process(const char *expect, pab_identity *id);
int pab_identity_json(const pab_identity *id, const char *expect, char *out, size_t len);

/* Knobs (allocators/knobs.c).  A knob text is "KEY=VALUE;KEY=VALUE" (values never hold ';'). */
typedef struct {
    const char *key, *val;
    int klen, vlen;
} pab_knob;
/* The next item of *p split at `sep`, then at the first `kv` (a knob text: ";" and "="; MALLOC_CONF: "," and ":").
 * 1 and the item (vlen -1 when it has no kv), 0 at the end. */
int pab_knob_next(const char **p, const char *sep, const char *kv, pab_knob *k);
const pab_allocator *pab_knob_owner(const char *key, size_t len); /* who reads this variable; NULL: nobody */
bool pab_knob_same(const char *asked, size_t len, const char *applied); /* as text, as numbers, or as booleans */
/* What an adapter's .tuning writes into out: one "KEY=APPLIED" per knob, then " (asked VALUE)" when the allocator
 * applied something else, then " (NOTE)" when note is not NULL (how it was proven, or why it cannot be). */
typedef struct {
    char *out;
    size_t len, used;
} pab_tuning_out;
void pab_tuning_put(pab_tuning_out *t, const char *key, int klen, const char *applied, const pab_knob *asked,
                    const char *note);
/* A knob the allocator cannot report: "KEY=ASKED (NOTE)", the value as asked. */
void pab_tuning_unread(pab_tuning_out *t, const pab_knob *k, const char *note);
int pab_tuning_fail(pab_tuning_out *t, const char *fmt, ...) __attribute__((format(printf, 2, 3))); /* -1 */
/* The read-back of `a` for a knob text: every key must be a variable `a` reads (else -1 naming its owner), then
 * a->tuning; an adapter without one reports each knob as not read back.  0, or -1 with one line in out. */
int pab_alloc_tuning(const pab_allocator *a, const char *knobs, char *out, size_t len);

void *pab_alloc_sym(const char *name); /* dlsym(RTLD_DEFAULT, name) */
void pab_alloc_version_from_path(const char *sym, char *out, size_t len); /* "so.2.8" from the file name */

#endif

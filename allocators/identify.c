/* The in-process proof of which malloc ran: dladdr() on the malloc that the dynamic linker resolves,
 * matched against each allocator's unique symbol.  DESIGN §3. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pab_alloc.h"

static const pab_allocator *const all[] = {
    &pab_alloc_glibc, &pab_alloc_jemalloc, &pab_alloc_mimalloc, &pab_alloc_tcmalloc, &pab_alloc_tbbmalloc,
    &pab_alloc_other,
};
#define NALL (sizeof all / sizeof *all)

void *pab_alloc_sym(const char *name) { return dlsym(RTLD_DEFAULT, name); }

const pab_allocator *pab_alloc_find(const char *name) {
    for (size_t i = 0; i < NALL; i++)
        if (!strcmp(all[i]->name, name)) return all[i];
    return NULL;
}

const pab_allocator *pab_alloc_identify(char *lib, size_t len) {
    Dl_info m, u;
    void *mal = pab_alloc_sym("malloc");
    if (!mal || !dladdr(mal, &m)) {
        snprintf(lib, len, "?");
        return &pab_alloc_other;
    }
    snprintf(lib, len, "%s", m.dli_fname);
    for (size_t i = 0; i < NALL; i++) {
        void *s = all[i]->unique ? pab_alloc_sym(all[i]->unique) : NULL;
        if (s && dladdr(s, &u) && u.dli_fbase == m.dli_fbase) return all[i];
    }
    return &pab_alloc_other;
}

void pab_alloc_version_from_path(const char *sym, char *out, size_t len) {
    Dl_info d;
    char real[PATH_MAX];
    void *s = pab_alloc_sym(sym);
    if (!s || !dladdr(s, &d) || !realpath(d.dli_fname, real)) {
        snprintf(out, len, "unknown");
        return;
    }
    const char *so = strstr(real, ".so.");
    snprintf(out, len, "%s", so ? so + 1 : "unknown");
}

/* The adapter registry and the in-process proof of which malloc serves this process: the loaded object whose
 * definition of malloc every call binds to, matched against each adapter's unique symbol (docs/design.md §3). */
#define _GNU_SOURCE
#include <ctype.h>
#include <dlfcn.h>
#include <elf.h>
#include <limits.h>
#include <stdbool.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pab_alloc.h"

static const pab_allocator *head;

/* By name, adapters without a unique symbol (`other`) last: identification tries them in this order. */
static bool sorts_before(const pab_allocator *a, const pab_allocator *b) {
    if (!a->unique != !b->unique) return a->unique != NULL;
    return strcmp(a->name, b->name) < 0;
}

void pab_alloc_add(pab_allocator *a) {
    const pab_allocator **p = &head;
    while (*p && sorts_before(*p, a)) p = (const pab_allocator **)&(*p)->next;
    a->next = *p;
    *p = a;
}

const pab_allocator *pab_alloc_first(void) { return head; }

const pab_allocator *pab_alloc_find(const char *name) {
    for (const pab_allocator *a = head; a && name; a = a->next)
        if (!strcmp(a->name, name)) return a;
    return NULL;
}

const pab_allocator *pab_alloc_other(void) { return pab_alloc_find("other"); }

void pab_alloc_names(char *out, size_t len) {
    size_t used = 0;
    out[0] = 0;
    for (const pab_allocator *a = head; a && used < len; a = a->next)
        used += (size_t)snprintf(out + used, len - used, "%s%s", a == head ? "" : ", ", a->name);
}

void *pab_alloc_sym(const char *name) { return dlsym(RTLD_DEFAULT, name); }

/* The object that defines `name` where the caller's references bind: dladdr1 on the address dlsym gives, unless
 * that is an executable's PLT stub (an undefined symbol with a canonical address: non-PIE programs such as Debian's
 * python3), in which case the first object after it in the search order that defines the symbol itself. */
static int definer(const char *name, Dl_info *out) {
    void *p = pab_alloc_sym(name);
    const ElfW(Sym) *s = NULL;
    if (!p || !dladdr1(p, out, (void **)&s, RTLD_DL_SYMENT)) return -1;
    if (!s || s->st_shndx != SHN_UNDEF) return 0;
    struct link_map *lm = NULL;
    void *self = dlopen(NULL, RTLD_LAZY | RTLD_NOLOAD);
    if (!self || dlinfo(self, RTLD_DI_LINKMAP, &lm) || !lm) return -1;
    for (lm = lm->l_next; lm; lm = lm->l_next) {
        void *h = lm->l_name && lm->l_name[0] ? dlopen(lm->l_name, RTLD_LAZY | RTLD_NOLOAD) : NULL;
        void *q = h ? dlsym(h, name) : NULL;
        const ElfW(Sym) *t = NULL;
        bool found = q && dladdr1(q, out, (void **)&t, RTLD_DL_SYMENT) && t && t->st_shndx != SHN_UNDEF &&
                     out->dli_fname && !strcmp(out->dli_fname, lm->l_name); /* its own, not a dependency's */
        if (h) dlclose(h);
        if (found) return 0;
    }
    return -1;
}

const pab_allocator *pab_alloc_identify(char *lib, size_t len) {
    Dl_info m, u;
    if (definer("malloc", &m)) {
        snprintf(lib, len, "?");
        return pab_alloc_other();
    }
    snprintf(lib, len, "%s", m.dli_fname);
    for (const pab_allocator *a = head; a; a = a->next)
        if (a->unique && !definer(a->unique, &u) && u.dli_fbase == m.dli_fbase) return a;
    return pab_alloc_other();
}

void pab_alloc_version_from_path(const char *sym, char *out, size_t len) {
    Dl_info d;
    char real[PATH_MAX];
    if (definer(sym, &d) || !realpath(d.dli_fname, real)) {
        snprintf(out, len, "unknown");
        return;
    }
    const char *so = strstr(real, ".so.");
    snprintf(out, len, "%s", so ? so + 1 : "unknown");
}

/* Where the dynamic linker finds system libraries on Debian and most distributions (multiarch first). */
static const char *const lib_dirs[] = {
    "/usr/local/lib/" PAB_MULTIARCH, "/usr/lib/" PAB_MULTIARCH, "/lib/" PAB_MULTIARCH,
    "/usr/local/lib", "/lib64", "/usr/lib64", "/lib", "/usr/lib",
};

int pab_alloc_library(const char *name, char *out, size_t len) {
    const pab_allocator *a = pab_alloc_find(name);
    char var[64];
    int n = snprintf(var, sizeof var, "PAB_LIB_");
    for (const char *c = name; *c && n < (int)sizeof var - 1; c++) var[n++] = (char)toupper((unsigned char)*c);
    var[n] = 0;
    const char *env = getenv(var);
    if (env && *env) return snprintf(out, len, "%s", env), 0;
    if (!a) return snprintf(out, len, "no allocator adapter named %s", name), -1;
    if (!a->soname) return snprintf(out, len, "%s: nothing to preload (its library is the C library)", name), -1;
    for (size_t i = 0; i < sizeof lib_dirs / sizeof *lib_dirs; i++) {
        snprintf(out, len, "%s/%s", lib_dirs[i], a->soname);
        if (!access(out, R_OK)) return 0;
    }
    snprintf(out, len, "%s not found in the library directories (install it, or set %s)", a->soname, var);
    return -1;
}

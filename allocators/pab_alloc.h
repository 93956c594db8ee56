/* pab_alloc.h — run-time adapters of the allocators: which one serves malloc, its version, its release call.
 * Everything is looked up with dlsym at run time: linking an allocator would replace malloc. */
#ifndef PAB_ALLOC_H
#define PAB_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

typedef struct pab_allocator {
    const char *name;    /* glibc, jemalloc, mimalloc, tcmalloc, tbbmalloc, other */
    const char *unique;  /* a symbol only this allocator's library defines (NULL: other) */
    void (*release)(void);                   /* give free memory back to the OS, all threads' caches too */
    void (*version)(char *out, size_t len);  /* the version of the library actually loaded */
} pab_allocator;

extern const pab_allocator pab_alloc_glibc, pab_alloc_jemalloc, pab_alloc_mimalloc, pab_alloc_tcmalloc,
    pab_alloc_tbbmalloc, pab_alloc_other;

const pab_allocator *pab_alloc_find(const char *name); /* NULL if unknown */

/* Which allocator serves malloc in this process: the one whose unique symbol lives in the same loaded
 * object as the `malloc` that dlsym(RTLD_DEFAULT) resolves to.  lib gets that object's path.
 * Returns &pab_alloc_other when no known adapter matches (an allocator we have no adapter for). */
const pab_allocator *pab_alloc_identify(char *lib, size_t len);

void *pab_alloc_sym(const char *name); /* dlsym(RTLD_DEFAULT, name) */
void pab_alloc_version_from_path(const char *sym, char *out, size_t len); /* "so.2.8" from the file name */

#endif

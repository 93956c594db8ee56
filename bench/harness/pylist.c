/* CPython's container growth rules as pure arithmetic: list_resize, bytearray_resize, dict insertion resize.
 * Source: Objects/listobject.c, Objects/bytearrayobject.c, Objects/dictobject.c of 3.11/3.12 (docs/cpython-facts.md). */
#include "pab_pylist.h"

size_t pab_list_resize(size_t cap, size_t old_len, size_t len) {
    if (cap >= len && len >= (cap >> 1)) return cap;
    if (len == 0) return 0;
    size_t grown = (len + (len >> 3) + 6) & ~(size_t)3;
    if (len > old_len && len - old_len > grown - len) grown = (len + 3) & ~(size_t)3;
    return grown;
}

size_t pab_bytearray_resize(size_t alloc, size_t size) {
    if (size + 1 <= alloc) return size < alloc / 2 ? size + 1 : alloc; /* major downsize: exact */
    if (size <= alloc + (alloc >> 3)) return size + (size >> 3) + (size < 9 ? 3 : 6);
    return size + 1; /* a larger jump allocates exactly */
}

size_t pab_dict_slots_after_insert(size_t slots, size_t used) {
    if (!slots) return 8;                    /* the first insert leaves the shared empty keys */
    if (used < slots * 2 / 3) return slots;  /* USABLE_FRACTION still has room */
    size_t want = 3 * used, s = 8;
    while (s < want) s <<= 1;
    return s;
}

size_t pab_dict_keys_bytes(size_t slots) {
    size_t ix = slots <= 128 ? 1 : slots <= 32768 ? 2 : slots <= (1ULL << 31) ? 4 : 8;
    return 32 + slots * ix + slots * 2 / 3 * 16;
}

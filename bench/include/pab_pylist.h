/* pab_pylist.h — CPython's container growth arithmetic (3.11/3.12): list, bytearray, dict keys, str.
 * Pure functions, shared by the workloads and pinned by tests/c/test_list.c against docs/cpython-facts.md. */
#ifndef PAB_PYLIST_H
#define PAB_PYLIST_H

#include <stddef.h>

/* list_resize(): the capacity a list of capacity `cap` has after its length becomes `len`
 * (appends: len grows by one; pop: len shrinks by one; extend: larger jumps).  Unchanged when
 * cap/2 <= len <= cap; else (len + len/8 + 6) & ~3, or (len + 3) & ~3 for a jump beyond that headroom. */
size_t pab_list_resize(size_t cap, size_t old_len, size_t len);
#define PAB_LIST_HEADER 56 /* the list object with its GC header (item array separate, 8 B a slot) */

/* bytearray_resize(): bytes allocated for a bytearray of `alloc` bytes whose size becomes `size`. */
size_t pab_bytearray_resize(size_t alloc, size_t size);
#define PAB_BYTEARRAY_HEADER 56

/* dict: the keys table of a dict holding `used` keys after inserting one more (power of two >= 8),
 * and the bytes of a str-keyed keys block of that many slots (header 32 + indices + 2/3 entries of 16 B). */
size_t pab_dict_slots_after_insert(size_t slots, size_t used);
size_t pab_dict_keys_bytes(size_t slots);
#define PAB_DICT_HEADER 64 /* 48 + the 16 B GC header */

/* str: an ASCII str of n characters is one block of 49 + n bytes in 3.11 (41 + n in 3.12). */
#define PAB_STR_BYTES(n) (49 + (size_t)(n))

#endif

/* test_list: CPython's growth arithmetic (list append/pop, bytearray +=, dict inserts) against the numbers
 * measured on CPython 3.11 (docs/cpython-facts.md "list", "dict, str, bytearray growth"). */
#include "check.h"
#include "pab_pylist.h"

static void list_append(void) {
    static const size_t want[] = {0, 4, 8, 16, 24, 32, 40, 52, 64, 76, 92, 108, 128, 148, 172, 200};
    size_t cap = 0, k = 0;
    for (size_t len = 1; len <= 200; len++) {
        size_t next = pab_list_resize(cap, len - 1, len);
        if (next != cap) {
            k++;
            CHECK(k < sizeof want / sizeof *want && next == want[k], "append to len %zu: cap %zu", len, next);
            cap = next;
        }
    }
    CHECK(k == sizeof want / sizeof *want - 1, "%zu growths, want %zu", k, sizeof want / sizeof *want - 1);
}

static void list_pop(void) {
    static const size_t want[][2] = {{549, 620}, {309, 352}, {175, 200}, {99, 116}, {57, 68}, {33, 40},
                                     {19, 24},   {11, 16},   {7, 12},    {5, 8},    {1, 4},   {0, 0}};
    size_t cap = 0, k = 0;
    for (size_t len = 1; len <= 1000; len++) cap = pab_list_resize(cap, len - 1, len);
    CHECK(cap == 1100, "1000 appends: cap %zu, want 1100", cap);
    for (size_t len = 999; len + 1 > 0; len--) {
        size_t next = pab_list_resize(cap, len + 1, len);
        if (next != cap) {
            CHECK(k < 12 && len == want[k][0] && next == want[k][1], "pop to len %zu: cap %zu", len, next);
            k++;
            cap = next;
        }
    }
    CHECK(k == 12, "%zu shrinks, want 12", k);
    CHECK(pab_list_resize(0, 0, 10) == 12, "extend [] by 10: %zu", pab_list_resize(0, 0, 10));
    CHECK(pab_list_resize(4, 1, 40) == 40, "extend by a large jump is exact-ish: %zu", pab_list_resize(4, 1, 40));
}

static void bytearray_growth(size_t step, const size_t (*want)[2], size_t n) {
    size_t alloc = 0, k = 0;
    for (size_t size = step; k < n; size += step) {
        size_t next = pab_bytearray_resize(alloc, size);
        if (next != alloc) {
            CHECK(size == want[k][0] && next == want[k][1], "step %zu: size %zu alloc %zu, want %zu -> %zu", step,
                  size, next, want[k][0], want[k][1]);
            k++;
            alloc = next;
        }
    }
    CHECK(pab_bytearray_resize(1000, 100) == 101, "major downsize is exact");
    CHECK(pab_bytearray_resize(1000, 600) == 1000, "minor downsize keeps the block");
}

static void bytearray(void) {
    static const size_t ones[][2] = {{1, 2},     {2, 5},     {5, 8},     {8, 12},    {12, 19},
                                     {19, 27},   {27, 36},   {36, 46},   {46, 57},   {57, 70},
                                     {70, 84},   {84, 100},  {100, 118}, {118, 138}, {138, 161},
                                     {161, 187}, {187, 216}, {216, 249}, {249, 286}, {286, 327}};
    static const size_t sixteens[][2] = {{16, 17},   {32, 33},   {48, 49},   {64, 65},   {80, 81},
                                         {96, 97},   {112, 113}, {128, 129}, {144, 168}, {176, 204},
                                         {208, 240}, {240, 276}, {288, 330}, {336, 384}, {384, 438},
                                         {448, 510}, {512, 582}, {592, 672}, {672, 762}, {768, 870}};
    bytearray_growth(1, ones, 20);
    bytearray_growth(16, sixteens, 20);
}

static void dict(void) {
    /* (keys after the insert that resized, dict size as sys.getsizeof reports it: 64 + keys block) */
    static const size_t want[][2] = {{1, 184},    {6, 272},    {11, 464},    {22, 832},     {43, 1584},
                                     {86, 3328},  {171, 6576}, {342, 13056}, {683, 26032}, {1366, 51968}};
    size_t slots = 0, k = 0;
    for (size_t used = 0; used < 2000; used++) {
        size_t next = pab_dict_slots_after_insert(slots, used);
        if (next != slots) {
            size_t bytes = PAB_DICT_HEADER + pab_dict_keys_bytes(next);
            CHECK(k < 10 && used + 1 == want[k][0] && bytes == want[k][1], "insert #%zu: %zu slots, %zu bytes",
                  used + 1, next, bytes);
            k++;
            slots = next;
        }
    }
    CHECK(k == 10, "%zu resizes, want 10", k);
    CHECK(pab_dict_keys_bytes(8) == 120 && pab_dict_keys_bytes(64) == 768, "keys blocks 120 and 768 B");
}

int main(void) {
    list_append();
    list_pop();
    bytearray();
    dict();
    CHECK_DONE();
}

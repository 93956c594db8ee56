/* Parameter parsing: sizes with K/M/G/T, bounds, enums, unknown keys, and the canonical sorted text.
 * Every malformed value gets one line naming the workload, the key and the value. */
#include <string.h>

#include "check.h"
#include "pab_internal.h"

static const pab_param params[] = {
    {"size", PAB_P_SIZE, "1M", NULL, "bytes", 1, 0},
    {"count", PAB_P_INT, "10", NULL, "things", 0, 1000},
    {"mode", PAB_P_ENUM, "memset", "memset|calloc", "how", 0, 0},
    {"file", PAB_P_STR, "", NULL, "a path", 0, 0},
    {NULL},
};
static pab_workload w = {.name = "demo", .params = params};

static int parse1(const char *kv, pab_values *v, char *err) {
    char *a[1] = {(char *)kv};
    return pab_values_parse(v, &w, 1, a, err, 256);
}

int main(void) {
    uint64_t x;
    CHECK(!pab_parse_size("25G", &x) && x == 25ULL << 30, "25G");
    CHECK(!pab_parse_size("8k", &x) && x == 8192, "8k");
    CHECK(!pab_parse_size("0", &x) && x == 0, "0");
    static const char *bad[] = {"25X", "-1", "", "1e30", "18446744073709551616", "1.5G", "G", "12 ", "9999999999T"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) CHECK(pab_parse_size(bad[i], &x), "accepted %s", bad[i]);

    pab_values v;
    char err[256], text[256];
    CHECK(!parse1("size=8G", &v, err) && v.num[0] == 8ULL << 30, "size=8G: %s", err);
    CHECK(v.num[1] == 10 && v.choice[2] == 0, "defaults");
    CHECK(!parse1("mode=calloc", &v, err) && v.choice[2] == 1, "mode=calloc");
    CHECK(parse1("size=25X", &v, err) && strstr(err, "size=25X"), "25X: %s", err);
    CHECK(parse1("size=0", &v, err) && strstr(err, "out of range"), "size=0 is below min: %s", err);
    CHECK(parse1("count=1001", &v, err) && strstr(err, "out of range"), "count above max: %s", err);
    CHECK(parse1("mode=lazy", &v, err) && strstr(err, "memset|calloc"), "bad enum: %s", err);
    CHECK(parse1("nosuch=1", &v, err) && strstr(err, "no parameter nosuch"), "unknown key: %s", err);
    CHECK(parse1("size", &v, err) && strstr(err, "KEY=VALUE"), "no '=': %s", err);
    CHECK(!strchr(err, '\n'), "one line");

    CHECK(!parse1("file=/tmp/t", &v, err), "str");
    pab_values_format(&v, text, sizeof text);
    CHECK(!strcmp(text, "count=10;file=/tmp/t;mode=memset;size=1M"), "canonical text: %s", text);
    CHECK_DONE();
}

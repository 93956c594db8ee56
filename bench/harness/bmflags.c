/* libbenchmark 1.7.1's own flags, checked before it sees them: given a bad value it prints its usage and exits 0
 * (format, out_format, time_unit) or silently takes a default (booleans), so a bad value would look like a run.
 * Each flag's kind is data; a bad value is one line and exit status 2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pab_internal.h"

typedef enum { BOOL, INT, DOUBLE, CHOICE, TEXT, PAIRS } kind;
static const struct { const char *name; kind k; const char *choices; } flags[] = {
    {"benchmark_list_tests", BOOL, NULL},          {"benchmark_filter", TEXT, NULL},
    {"benchmark_min_time", DOUBLE, NULL},          {"benchmark_min_warmup_time", DOUBLE, NULL},
    {"benchmark_repetitions", INT, NULL},          {"benchmark_enable_random_interleaving", BOOL, NULL},
    {"benchmark_report_aggregates_only", BOOL, NULL}, {"benchmark_display_aggregates_only", BOOL, NULL},
    {"benchmark_format", CHOICE, "console|json|csv"}, {"benchmark_out", TEXT, NULL},
    {"benchmark_out_format", CHOICE, "console|json|csv"}, {"benchmark_color", CHOICE, "auto|true|false|yes|no|1|0"},
    {"benchmark_counters_tabular", BOOL, NULL},    {"benchmark_context", PAIRS, NULL},
    {"benchmark_time_unit", CHOICE, "ns|us|ms|s"}, {"benchmark_perf_counters", TEXT, NULL},
    {"v", INT, NULL},
};

static bool one_of(const char *choices, const char *v) {
    size_t n = strlen(v);
    for (const char *p = choices; p; p = strchr(p, '|') ? strchr(p, '|') + 1 : NULL)
        if (!strncasecmp(p, v, n) && (p[n] == '|' || !p[n])) return true;
    return false;
}

static bool valid(kind k, const char *choices, const char *v) {
    char *end;
    switch (k) {
    case BOOL: return one_of("true|false|yes|no|on|off|1|0|t|f|y|n", v);
    case INT: return *v && (strtol(v, &end, 10), !*end);
    case DOUBLE: return *v && (strtod(v, &end), !*end);
    case CHOICE: return one_of(choices, v);
    case PAIRS: /* key=value[,key=value...] */
        for (const char *p = v; *p;) {
            const char *comma = strchr(p, ','), *eq = strchr(p, '=');
            if (!eq || eq == p || (comma && eq > comma)) return false;
            p = comma ? comma + 1 : p + strlen(p);
        }
        return *v != 0;
    default: return true;
    }
}

int pab_check_benchmark_flags(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) || (strncmp(a + 2, "benchmark_", 10) && strncmp(a + 2, "v=", 2))) continue;
        const char *eq = strchr(a, '=');
        size_t n = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        for (size_t f = 0; f < sizeof flags / sizeof *flags; f++) {
            if (strlen(flags[f].name) != n || strncmp(flags[f].name, a + 2, n)) continue;
            if (!eq && flags[f].k == BOOL) break; /* a bare boolean flag means true */
            if (!eq || !valid(flags[f].k, flags[f].choices, eq + 1)) {
                char why[160] = "";
                if (flags[f].choices) snprintf(why, sizeof why, " (one of %s)", flags[f].choices);
                fprintf(stderr, "pyalloc-bench: bad value for --%s: '%s'%s\n", flags[f].name, eq ? eq + 1 : "", why);
                return 2;
            }
            break;
        }
    }
    return 0;
}

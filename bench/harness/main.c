/* pyalloc-bench: one case per process (bench/CONTRACT.md).  Proves which malloc serves the process before
 * anything is measured, then runs the workload through libbenchmark; every --benchmark_* flag works. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pab_internal.h"

static const char *const type_names[] = {"int", "size", "enum", "str"};

static void json_str(const char *s) {
    putchar('"');
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\') printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20) printf("\\u%04x", *s);
        else putchar(*s);
    }
    putchar('"');
}

static void json_kv(const char *key, const char *val, const char *sep) {
    json_str(key);
    putchar(':');
    json_str(val);
    fputs(sep, stdout);
}

static int list_workloads(void) {
    printf("{\"workloads\": [");
    for (const pab_workload *w = pab_workload_first(); w; w = w->next) {
        printf("%s\n {", w == pab_workload_first() ? "" : ",");
        json_kv("name", w->name, ", ");
        json_kv("shows", w->shows, ", ");
        json_kv("does", w->does, ", \"params\": [");
        for (int i = 0; w->params && w->params[i].name; i++) {
            const pab_param *p = &w->params[i];
            printf("%s\n  {", i ? "," : "");
            json_kv("name", p->name, ", ");
            json_kv("type", type_names[p->type], ", ");
            json_kv("default", p->def, ", ");
            json_kv("help", p->help, "");
            if (p->type == PAB_P_ENUM) {
                printf(", \"choices\": [");
                for (const char *c = p->choices; c; c = strchr(c, '|') ? strchr(c, '|') + 1 : NULL) {
                    const char *e = strchr(c, '|');
                    printf("%s\"%.*s\"", c == p->choices ? "" : ", ", (int)(e ? e - c : (long)strlen(c)), c);
                }
                putchar(']');
            }
            if ((p->type == PAB_P_INT || p->type == PAB_P_SIZE) && (p->min || p->max))
                printf(", \"min\": %llu, \"max\": %llu", (unsigned long long)p->min, (unsigned long long)p->max);
            putchar('}');
        }
        printf("]}");
    }
    printf("\n]}\n");
    return 0;
}

struct opts {
    const char *workload, *expect, *release, *timeline;
    char *params[PAB_MAX_PARAMS * 2];
    int nparams;
    unsigned long long seed;
    unsigned timeline_ms;
    int list, identify, validate;
};

static int usage(const char *msg, const char *arg) {
    fprintf(stderr, "pyalloc-bench: %s%s\n", msg, arg ? arg : "");
    return 2;
}

/* Takes the --pab_* flags out of argv; libbenchmark has already taken its own. */
static int parse(int *argc, char **argv, struct opts *o) {
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        char *a = argv[i];
        const char *v = strchr(a, '=') ? strchr(a, '=') + 1 : NULL;
        if (!strncmp(a, "--pab_workload=", 15)) o->workload = v;
        else if (!strncmp(a, "--pab_param=", 12)) {
            if (o->nparams == PAB_MAX_PARAMS * 2) return usage("too many --pab_param flags", NULL);
            o->params[o->nparams++] = (char *)v;
        } else if (!strncmp(a, "--pab_expect=", 13)) o->expect = v;
        else if (!strncmp(a, "--pab_release=", 14)) o->release = v;
        else if (!strncmp(a, "--pab_seed=", 11)) {
            uint64_t s;
            if (pab_parse_size(v, &s)) return usage("--pab_seed takes a non-negative integer, not ", v);
            o->seed = s;
        } else if (!strncmp(a, "--pab_timeline=", 15)) o->timeline = v;
        else if (!strncmp(a, "--pab_timeline_ms=", 18)) {
            uint64_t ms;
            if (pab_parse_size(v, &ms) || ms < 1 || ms > 60000)
                return usage("--pab_timeline_ms takes 1 to 60000 milliseconds, not ", v);
            o->timeline_ms = (unsigned)ms;
        }
        else if (!strcmp(a, "--pab_list")) o->list = 1;
        else if (!strcmp(a, "--pab_identify")) o->identify = 1;
        else if (!strcmp(a, "--pab_validate")) o->validate = 1;
        else if (!strncmp(a, "--pab", 5)) return usage("unknown flag ", a);
        else argv[out++] = a;
    }
    *argc = out;
    return 0;
}

/* Which malloc serves this process; prints JSON with --pab_identify; 3 on a mismatch with --pab_expect. */
static int identify(const struct opts *o, const pab_allocator **found) {
    char lib[4096], ver[128] = "unknown";
    const pab_allocator *a = pab_alloc_identify(lib, sizeof lib);
    a->version(ver, sizeof ver);
    const char *name = a->name;
    int ok = !o->expect || !strcmp(o->expect, a->name);
    pab_context("pab_allocator", name);
    pab_context("pab_allocator_lib", lib);
    pab_context("pab_allocator_version", ver);
    pab_context("pab_verified", ok && a != &pab_alloc_other ? "1" : "0");
    if (o->identify) {
        printf("{");
        json_kv("allocator", name, ", ");
        json_kv("lib", lib, ", ");
        json_kv("version", ver, ", ");
        json_kv("expect", o->expect ? o->expect : "", ", ");
        printf("\"verified\": %s}\n", ok && a != &pab_alloc_other ? "true" : "false");
    }
    if (!ok)
        fprintf(stderr, "pyalloc-bench: allocator mismatch: expected %s, but malloc is served by %s (%s)\n", o->expect,
                name, lib);
    *found = a;
    return ok ? 0 : 3;
}

int main(int argc, char **argv) {
    struct opts o = {.release = "none"};
    pab_initialize(&argc, argv);
    int rc = parse(&argc, argv, &o);
    if (rc) return rc;
    if (pab_report_unrecognized(argc, argv)) return 2;
    if (o.list) return list_workloads();
    if (o.expect && !pab_alloc_find(o.expect))
        return usage("--pab_expect: unknown allocator (glibc, jemalloc, mimalloc, tcmalloc, tbbmalloc or other): ",
                     o.expect);
    if (strcmp(o.release, "none") && strcmp(o.release, "cycle"))
        return usage("--pab_release takes none or cycle, not ", o.release);

    static pab_ctx c; /* static: the harness's own footprint stays out of the heap under test */
    if ((rc = identify(&o, &c.alloc)) || o.identify) return rc;
    if (!o.workload) return usage("--pab_workload=NAME is required (see --pab_list)", NULL);
    const pab_workload *w = pab_workload_find(o.workload);
    if (!w) {
        char known[1024] = "";
        for (const pab_workload *k = pab_workload_first(); k; k = k->next)
            snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", k == pab_workload_first() ? "" : ", ",
                     k->name);
        fprintf(stderr, "pyalloc-bench: unknown workload '%s' (known: %s)\n", o.workload, known);
        return 2;
    }
    char err[512], params[2048];
    if (pab_values_parse(&c.v, w, o.nparams, o.params, err, sizeof err)) return usage(err, NULL);
    if (o.validate) return 0;

    c.seed = o.seed;
    c.threads = 1;
    c.release_cycle = !strcmp(o.release, "cycle");
    c.timeline = o.timeline;
    c.timeline_ms = o.timeline_ms;
    pab_values_format(&c.v, params, sizeof params);
    pab_context("pab_workload", w->name);
    pab_context("pab_params", params);
    pab_context("pab_release", o.release);
    pab_unit_ns(pab_use_real_time(pab_register(w->name, pab_case_bench, &c)));
    pab_run_specified();
    pab_case_teardown(&c);
    pab_shutdown();
    return 0;
}

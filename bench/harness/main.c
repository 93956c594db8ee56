/* pyalloc-bench: one case per process (bench/CONTRACT.md).  Proves which malloc serves the process and reads its
 * knobs back before anything is measured, then runs the workload's timing protocol through libbenchmark. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pab_internal.h"

int pab_ffi_allocators(char *out, size_t len); /* allocators/ffi.c */
int pab_check_benchmark_flags(int argc, char **argv); /* bmflags.c */

static const char *const type_names[] = {"int", "size", "enum", "str"};
static char out_buf[1 << 18]; /* static: never the allocator under test */

static void param_json(pab_json *j, const pab_param *p) {
    pab_json_raw(j, "{");
    pab_json_kv(j, "name", p->name, false);
    pab_json_kv(j, "type", type_names[p->type], false);
    pab_json_kv(j, "default", p->def, false);
    if (pab_param_common(p)) pab_json_raw(j, "\"common\": true, ");
    pab_json_kv(j, "help", p->help, p->type != PAB_P_ENUM && !((p->type == PAB_P_INT || p->type == PAB_P_SIZE) &&
                                                              (p->min || p->max)));
    if (p->type == PAB_P_ENUM) {
        pab_json_raw(j, "\"choices\": [");
        for (const char *c = p->choices; c; c = strchr(c, '|') ? strchr(c, '|') + 1 : NULL) {
            char one[64];
            const char *e = strchr(c, '|');
            snprintf(one, sizeof one, "%.*s", (int)(e ? e - c : (long)strlen(c)), c);
            if (c != p->choices) pab_json_raw(j, ", ");
            pab_json_str(j, one);
        }
        pab_json_raw(j, "]");
    } else if (p->min || p->max) {
        pab_json_ku(j, "min", p->min, false);
        pab_json_ku(j, "max", p->max, true);
    }
    pab_json_raw(j, "}");
}

/* The catalogue: workloads and their parameters (the common ones included), the protocol's bounds, the counters,
 * the allocators. */
static int list_catalogue(void) {
    pab_json j = {out_buf, sizeof out_buf, 0};
    pab_json_raw(&j, "{\"workloads\": [");
    for (const pab_workload *w = pab_workload_first(); w; w = w->next) {
        const pab_param *ps[PAB_MAX_PARAMS];
        int n = pab_params_of(w, ps, PAB_MAX_PARAMS);
        pab_json_raw(&j, w == pab_workload_first() ? "\n {" : ",\n {");
        pab_json_kv(&j, "name", w->name, false);
        pab_json_kv(&j, "shows", w->shows, false);
        pab_json_kv(&j, "does", w->does, false);
        pab_json_raw(&j, "\"params\": [");
        for (int i = 0; i < n; i++) {
            pab_json_raw(&j, i ? ",\n  " : "\n  ");
            param_json(&j, ps[i]);
        }
        pab_json_raw(&j, "]}");
    }
    pab_json_raw(&j, "\n],\n\"protocol\": {");  /* the bounds of --pab_cycles and --pab_warmup, for the twins */
    pab_json_ku(&j, "max_cycles", PAB_MAX_CYCLES, false);
    pab_json_ku(&j, "max_warmup", PAB_MAX_WARMUP, true);
    pab_json_raw(&j, "},\n\"counters\": ");
    pab_counters_json(&j);
    pab_json_raw(&j, ",\n\"allocators\": ");
    if (j.used < j.len) pab_ffi_allocators(j.buf + j.used, j.len - j.used), j.used += strlen(j.buf + j.used);
    pab_json_raw(&j, "}\n");
    if (!pab_json_ok(&j)) return fprintf(stderr, "pyalloc-bench: the catalogue does not fit its buffer\n"), 1;
    fputs(out_buf, stdout);
    return 0;
}

struct opts {
    const char *workload, *expect, *release, *timeline, *knobs, *cycle_times;
    char *params[PAB_MAX_PARAMS * 2];
    int nparams;
    unsigned long long seed;
    unsigned timeline_ms, cycles, warmup, cores;
    int list, identify, validate, need;
};

static int usage(const char *msg, const char *arg) {
    fprintf(stderr, "pyalloc-bench: %s%s\n", msg, arg ? arg : "");
    return 2;
}

static int number(const char *flag, const char *v, uint64_t lo, uint64_t hi, unsigned *out) {
    uint64_t n;
    char msg[160];
    if (!pab_parse_size(v, &n) && n >= lo && n <= hi) return *out = (unsigned)n, 0;
    snprintf(msg, sizeof msg, "%s takes %llu to %llu, not ", flag, (unsigned long long)lo, (unsigned long long)hi);
    return usage(msg, v);
}

/* Takes the --pab_* flags out of argv; libbenchmark has already taken its own. */
static int parse(int *argc, char **argv, struct opts *o) {
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        char *a = argv[i];
        const char *v = strchr(a, '=') ? strchr(a, '=') + 1 : NULL;
        int rc = 0;
        if (!strncmp(a, "--pab_workload=", 15)) o->workload = v;
        else if (!strncmp(a, "--pab_param=", 12)) {
            if (o->nparams == PAB_MAX_PARAMS * 2) return usage("too many --pab_param flags", NULL);
            o->params[o->nparams++] = (char *)v;
        } else if (!strncmp(a, "--pab_expect=", 13)) o->expect = v;
        else if (!strncmp(a, "--pab_release=", 14)) o->release = v;
        else if (!strncmp(a, "--pab_knobs=", 12)) o->knobs = v;
        else if (!strncmp(a, "--pab_seed=", 11)) {
            uint64_t s;
            if (pab_parse_size(v, &s)) return usage("--pab_seed takes a non-negative integer, not ", v);
            o->seed = s;
        } else if (!strncmp(a, "--pab_timeline=", 15)) o->timeline = v;
        else if (!strncmp(a, "--pab_timeline_ms=", 18)) rc = number("--pab_timeline_ms", v, 1, 60000, &o->timeline_ms);
        else if (!strncmp(a, "--pab_cycles=", 13)) rc = number("--pab_cycles", v, 1, PAB_MAX_CYCLES, &o->cycles);
        else if (!strncmp(a, "--pab_warmup=", 13)) rc = number("--pab_warmup", v, 0, PAB_MAX_WARMUP, &o->warmup);
        else if (!strncmp(a, "--pab_cycle_times=", 18)) o->cycle_times = v;
        else if (!strncmp(a, "--pab_cores=", 12)) rc = number("--pab_cores", v, 1, 65536, &o->cores);
        else if (!strcmp(a, "--pab_list")) o->list = 1;
        else if (!strcmp(a, "--pab_identify")) o->identify = 1;
        else if (!strcmp(a, "--pab_validate")) o->validate = 1;
        else if (!strcmp(a, "--pab_need")) o->need = 1;
        else if (!strncmp(a, "--pab", 5)) return usage("unknown flag ", a);
        else argv[out++] = a;
        if (rc) return rc;
    }
    *argc = out;
    return 0;
}

static pab_identity id; /* static: out of the heap under test */

/* Which malloc serves this process; 3 on a mismatch with --pab_expect. */
static int identify(const struct opts *o, const pab_allocator **found) {
    pab_identify_process(o->expect, &id);
    pab_context("pab_allocator", id.a->name);
    pab_context("pab_allocator_lib", id.lib);
    pab_context("pab_allocator_version", id.version);
    pab_context("pab_verified", id.verified ? "1" : "0");
    *found = id.a;
    if (o->expect && strcmp(o->expect, id.a->name)) {
        fprintf(stderr, "pyalloc-bench: allocator mismatch: expected %s, but malloc is served by %s (%s)\n", o->expect,
                id.a->name, id.lib);
        return 3;
    }
    return 0;
}

/* The knobs the configuration asked for, read back through the allocator's own API before the base RSS.
 * With --pab_identify: the identity JSON gets "tuning", and a knob not in force exits 4 with one line. */
static int read_knobs(pab_ctx *c, const struct opts *o) {
    int rc = 0;
    if (o->knobs && *o->knobs && pab_alloc_tuning(c->alloc, o->knobs, c->tuning, sizeof c->tuning)) {
        pab_fail(c, "tuning: %.480s", c->tuning);
        if (o->identify) fprintf(stderr, "pyalloc-bench: tuning: %s\n", c->tuning), rc = 4;
        c->tuning[0] = 0;
    }
    if (o->identify) id.tuning = o->knobs && *o->knobs ? c->tuning : NULL;
    return rc;
}

int main(int argc, char **argv) {
    struct opts o = {.release = "none", .cycles = 5, .warmup = 1};
    int rc = pab_check_benchmark_flags(argc, argv);
    if (rc) return rc;
    pab_initialize(&argc, argv);
    if ((rc = parse(&argc, argv, &o))) return rc;
    if (pab_report_unrecognized(argc, argv)) return 2;
    if (o.list) return list_catalogue();
    char names[256], msg[512];
    pab_alloc_names(names, sizeof names);
    if (o.expect && !pab_alloc_find(o.expect)) {
        snprintf(msg, sizeof msg, "--pab_expect: unknown allocator (%s): ", names);
        return usage(msg, o.expect);
    }
    if (strcmp(o.release, "none") && strcmp(o.release, "cycle"))
        return usage("--pab_release takes none or cycle, not ", o.release);

    static pab_ctx c; /* static: the harness's own footprint stays out of the heap under test */
    rc = identify(&o, &c.alloc);
    if (o.identify) { /* the identity JSON, mismatched or not, with the knobs read back when it matched */
        if (!rc) rc = read_knobs(&c, &o);
        if (!pab_identity_json(&id, o.expect, out_buf, sizeof out_buf)) puts(out_buf);
        return rc;
    }
    if (rc) return rc;
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
    c.cycles = o.cycles;
    c.warmup = o.warmup;
    c.release_cycle = !strcmp(o.release, "cycle");
    c.timeline = o.timeline;
    c.timeline_ms = o.timeline_ms;
    c.cycle_times = o.cycle_times;
    c.cores = (int)o.cores;
    if (o.need) { /* what the case will ask the guard for, and its threads, without running it (need.c) */
        if ((rc = pab_case_need(&c, out_buf, sizeof out_buf))) return rc;
        return fputs(out_buf, stdout), 0;
    }
    read_knobs(&c, &o);
    pab_values_format(&c.v, params, sizeof params);
    pab_context("pab_workload", w->name);
    pab_context("pab_params", params);
    pab_context("pab_release", o.release);
    pab_context("pab_tuning", c.tuning);
    pab_bench *b = pab_register(w->name, pab_case_bench, &c);
    pab_unit_ns(pab_use_manual_time(pab_iterations(b, (int64_t)o.warmup + o.cycles)));
    pab_run_specified();
    pab_case_teardown(&c);
    pab_shutdown();
    return 0;
}

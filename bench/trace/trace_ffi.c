/* trace_ffi.c — the trace loader's flat functions for the CLI (libpab.so through ctypes): a trace file as JSON (how it
 * was recorded, events per op, request sizes per band, marks with the live bytes there) and the note `record` appends.
 * Python never reads the format. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pab_sys.h"
#include "trace_internal.h"

static void kv_bool(pab_json *j, const char *key, bool v) {
    pab_json_str(j, key);
    pab_json_raw(j, v ? ": true, " : ": false, ");
}

static void cmdline(pab_json *j, const pab_trace_info *h) {
    pab_json_raw(j, "\"cmdline\": [");
    for (uint32_t at = 0, first = 1; at < h->cmdline_len; at += (uint32_t)strlen(h->cmdline + at) + 1) {
        if (!h->cmdline[at]) continue;
        if (!first) pab_json_raw(j, ", ");
        pab_json_str(j, h->cmdline + at);
        first = 0;
    }
    pab_json_raw(j, "], ");
}

static void marks(pab_json *j, const pab_trace *t) {
    pab_json_raw(j, "\"marks\": [");
    for (uint32_t i = 0; i < t->h.marks; i++) {
        const pab_trace_mark *m = &t->mark[i];
        pab_json_raw(j, i ? ", {" : "{");
        pab_json_kv(j, "name", m->name, false);
        pab_json_ku(j, "at", m->at, false);
        pab_json_ku(j, "live_bytes", m->live_bytes, false);
        pab_json_ku(j, "live_blocks", m->live_blocks, false);
        pab_json_ku(j, "t_ns", m->t_ns, false);
        pab_json_ku(j, "thread", m->thread, true);
        pab_json_raw(j, "}");
    }
    pab_json_raw(j, "], ");
}

static void counts(pab_json *j, const pab_trace_counts *c) {
    pab_json_raw(j, "\"ops\": {");
    for (int op = 1, first = 1; op < PAB_OP_COUNT; op++)
        if (c->ops[op]) {
            if (!first) pab_json_raw(j, ", ");
            pab_json_ku(j, pab_trace_op_names[op], c->ops[op], true);
            first = 0;
        }
    pab_json_raw(j, "}, \"sizes\": [");
    for (size_t b = 0; b <= c->nlimits; b++) {
        char n[24];
        snprintf(n, sizeof n, "%s%llu", b ? ", " : "", (unsigned long long)c->sizes[b]);
        pab_json_raw(j, n);
    }
    pab_json_raw(j, "], ");
}

int pab_trace_summary_json(const char *path, bool peek, const uint64_t *limits, size_t nlimits, char *buf,
                           size_t len, size_t *need) {
    pab_trace t;
    char err[512];
    pab_trace_counts c = {.limits = limits, .nlimits = nlimits < 64 ? nlimits : 64};
    if (peek ? pab_trace_peek(path, &t, err, sizeof err) : pab_trace_count(path, &t, &c, err, sizeof err)) {
        snprintf(buf, len, "%s", err);
        return -1;
    }
    const pab_trace_info *h = &t.h;
    pab_json j = {buf, len, 0};
    pab_json_raw(&j, "{");
    pab_json_ku(&j, "version", h->version, false);
    kv_bool(&j, "complete", h->complete);
    pab_json_kv(&j, "layer", pab_rec_layer_names[h->layer], false);
    kv_bool(&j, "python", h->flags & PAB_T2_PYTHON);
    pab_json_kv(&j, "python_version", h->python, false);
    pab_json_str(&j, "pythonmalloc");
    pab_json_raw(&j, ": ");
    if (h->flags & PAB_T2_PYTHONMALLOC_SET) pab_json_str(&j, h->pythonmalloc);
    else pab_json_raw(&j, "null");
    pab_json_raw(&j, ", ");
    pab_json_kv(&j, "exe", h->exe, false);
    cmdline(&j, h);
    static const struct { const char *name; size_t off; } nums[] = {
#define N(f) {#f, offsetof(pab_trace_info, f)}
        N(file_bytes), N(max_id), N(live_peak_bytes), N(end_live_bytes), N(duration_ns), N(unknown_frees),
        N(lost_frees), N(lost_events), N(t0_realtime_ns),
#undef N
    };
    for (size_t i = 0; i < sizeof nums / sizeof *nums; i++)
        pab_json_ku(&j, nums[i].name, *(const uint64_t *)((const char *)h + nums[i].off), false);
    pab_json_ku(&j, "pid", h->pid, false);
    pab_json_ku(&j, "ppid", h->ppid, false);
    pab_json_ku(&j, "page_size", h->page_size, false);
    pab_json_ku(&j, "threads", h->threads, false);
    pab_json_ku(&j, "mark_count", h->marks, false);
    pab_json_ku(&j, peek ? "calls" : "events", h->events, false); /* a peek counts marks with the calls */
    if (!peek) {
        marks(&j, &t);
        counts(&j, &c);
    }
    pab_json_raw(&j, "\"note\": ");
    pab_json_raw(&j, h->note[0] == '{' ? h->note : "null"); /* written by `pyalloc record` as one JSON object */
    pab_json_raw(&j, "}");
    size_t marks_bytes = (size_t)h->marks * 160;
    pab_trace_unload(&t);
    if (pab_json_ok(&j)) return 0;
    if (need) *need = 2 * len + marks_bytes;
    return -2;
}

int pab_trace_append_note(const char *path, const char *json, char *err, size_t errlen) {
    pab_trace t;
    if (pab_trace_peek(path, &t, err, errlen)) return -1;
    bool whole = t.h.version == 2 && t.h.complete;
    pab_trace_unload(&t);
    if (!whole) return pab_trace_fail(err, errlen, "%s: no note on a trace that did not end whole", path);
    size_t n = strlen(json);
    pab_trace2_chunk c = {PAB_CHUNK_NOTE, 0, (uint32_t)n, 0, 0, 0, pab_now_ns()};
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0) return pab_trace_fail(err, errlen, "%s: %s", path, strerror(errno));
    off_t was = lseek(fd, 0, SEEK_END);
    bool ok = write(fd, &c, sizeof c) == (ssize_t)sizeof c && write(fd, json, n) == (ssize_t)n;
    if (!ok && ftruncate(fd, was)) {}
    close(fd);
    return ok ? 0 : pab_trace_fail(err, errlen, "%s: cannot append the note", path);
}

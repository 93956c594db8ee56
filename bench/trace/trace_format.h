/* trace_format.h — the malloc trace files (bench/trace/README.md): version 2, streamed by the recorder in per-thread
 * chunks of varint deltas, and version 1 (fixed 24-byte records); the loader that turns either into records. */
#ifndef PAB_TRACE_FORMAT_H
#define PAB_TRACE_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAB_TRACE_MAGIC "PABTRACE" /* both versions, 8 bytes, no NUL; the version field follows */
#define PAB_TRACE_VERSION 2        /* what the recorder writes */
#define PAB_TRACE_CMDLINE_MAX 4096
#define PAB_TRACE_MARK_MAX 47      /* mark names: [A-Za-z0-9_.-], 1..47 bytes */

/* A character a mark name may hold (pyalloc_mark documents the rule; the recorder, the probe and replay keep it). */
static inline bool pab_trace_mark_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.';
}

/* Operations, as the program called them.  Values are part of both versions of the format. */
enum pab_trace_op {
    PAB_OP_MALLOC = 1, PAB_OP_CALLOC, PAB_OP_REALLOC, PAB_OP_FREE, PAB_OP_POSIX_MEMALIGN,
    PAB_OP_ALIGNED_ALLOC, PAB_OP_MEMALIGN, PAB_OP_VALLOC, PAB_OP_PVALLOC,
    PAB_OP_COUNT,          /* records hold ops 1 .. PAB_OP_COUNT-1 */
    PAB_OP_MARK = 10,      /* version 2 only: a named point (pab_mark), not a record */
};
extern const char *const pab_trace_op_names[PAB_OP_COUNT]; /* [0] is NULL */

/* Is this op an allocation (not realloc, not free)? */
static inline int pab_trace_op_allocates(unsigned op) {
    return op == PAB_OP_MALLOC || op == PAB_OP_CALLOC || (op >= PAB_OP_POSIX_MEMALIGN && op < PAB_OP_COUNT);
}

/* ---- version 2 on disk: file header + strings, then chunks (header + payload), ended by an END chunk. */
enum { PAB_T2_PYTHON = 1, PAB_T2_PYTHONMALLOC_SET = 2 };  /* header flags */

typedef struct pab_trace2_header {
    char magic[8];
    uint32_t version, header_size;       /* header_size: this struct, the strings, zero padding to 8 */
    uint32_t page_size, pid, ppid, flags;
    uint64_t t0_realtime_ns, t0_ns;      /* CLOCK_REALTIME and CLOCK_MONOTONIC when the process started recording */
    uint64_t seq0;                       /* the first sequence number this process hands out */
    uint16_t cmdline_len, exe_len, pythonmalloc_len, python_len; /* the strings, in this order, no NULs added */
    uint32_t chunk_bytes, reserved;      /* the recorder's buffer size (a torn-off thread loses at most this) */
} pab_trace2_header;

#define PAB_CHUNK_DATA 0x32434250u /* "PBC2" */
#define PAB_CHUNK_END 0x32454250u  /* "PBE2": totals; the recorder's last chunk */
#define PAB_CHUNK_NOTE 0x324e4250u /* "PBN2": text (JSON) that `pyalloc record` appends after END */
enum { PAB_CHUNK_FIRST = 1, PAB_CHUNK_NEW_THREAD = 2 }; /* FIRST: decoder state starts at zero */

typedef struct pab_trace2_chunk {
    uint32_t magic, tid;
    uint32_t bytes, events; /* payload bytes that follow; events (marks included) they encode */
    uint32_t flags, reserved;
    uint64_t t_ns;          /* CLOCK_MONOTONIC when the chunk was written */
} pab_trace2_chunk;

typedef struct pab_trace2_end { /* the payload of the END chunk */
    uint64_t events;     /* every event written, marks included */
    uint64_t seq_end;    /* the next sequence number at the end: seq0 .. seq_end-1 were handed out */
    uint64_t chunks;     /* data chunks written */
    uint32_t threads;    /* threads that recorded */
    uint32_t marks;
} pab_trace2_end;

/* ---- version 1 on disk: header, cmdline (padded to 8), `events` records of 24 bytes (the record layout below). */
typedef struct pab_trace1_header {
    char magic[8];
    uint32_t version, header_size;
    uint32_t page_size, pid, ppid, threads;
    uint64_t events, max_id, live_peak_bytes, end_live_bytes, duration_ns, unknown_frees, lost_frees;
    uint32_t cmdline_len, rec_size;
} pab_trace1_header;

/* ---- what the loader gives: one record per call, in global order, blocks renamed to dense ids (1 .. max_id,
 * reused LIFO once freed, so max_id is the peak of live blocks; 0 = a NULL result or a block from before the
 * recording).  Version 1 stores exactly these records. */
typedef struct pab_trace_rec {
    uint64_t size;       /* bytes requested (calloc n*m); free: the size of the block freed */
    uint32_t id;         /* the block allocated, reallocated or freed */
    uint32_t old;        /* realloc: the block given (its id is kept by the result); else 0 */
    uint32_t dt_ns;      /* version 1: since the previous event, saturating; version 2: 0 (no per-event time) */
    uint16_t thread;     /* dense thread index, 0 .. threads-1, in order of first event */
    uint8_t op;          /* enum pab_trace_op */
    uint8_t align_log2;  /* aligned ops: log2 of the alignment; else 0 */
} pab_trace_rec;

_Static_assert(sizeof(pab_trace2_header) == 72, "v2 header layout");
_Static_assert(sizeof(pab_trace2_chunk) == 32, "v2 chunk layout");
_Static_assert(sizeof(pab_trace2_end) == 32, "v2 end layout");
_Static_assert(sizeof(pab_trace1_header) == 96, "v1 header layout");
_Static_assert(sizeof(pab_trace_rec) == 24, "record layout");

/* How the process was recorded, from the header: what replay's layer=recorded resolves to. */
typedef enum {
    PAB_REC_UNKNOWN,   /* version 1: not recorded */
    PAB_REC_PROGRAM,   /* not a Python interpreter: every request is the program's own */
    PAB_REC_MALLOC,    /* Python under PYTHONMALLOC=malloc (or malloc_debug): every object request is here */
    PAB_REC_PYMALLOC,  /* Python under pymalloc: requests of 1..512 B never reached malloc */
} pab_rec_layer;
extern const char *const pab_rec_layer_names[4]; /* "unknown", "program", "malloc", "pymalloc" */

typedef struct pab_trace_mark {
    char name[PAB_TRACE_MARK_MAX + 1];
    uint64_t at;          /* records before it: the mark lies between rec[at-1] and rec[at] */
    uint64_t live_bytes;  /* bytes requested and live at the mark */
    uint64_t live_blocks;
    uint64_t t_ns;        /* since the recording started */
    uint16_t thread;
} pab_trace_mark;

/* A loaded trace: the header's facts, and what the loader counted.  Records, marks and strings live in anonymous
 * mappings (the allocator under test never holds them). */
typedef struct pab_trace_info {
    uint32_t version, page_size, pid, ppid, threads, flags;
    uint64_t events;           /* records (marks are not records) */
    uint64_t max_id;           /* replay needs max_id + 1 slots */
    uint64_t live_peak_bytes;  /* peak of bytes requested and not yet freed */
    uint64_t end_live_bytes;   /* bytes the program never freed */
    uint64_t duration_ns;
    uint64_t unknown_frees;    /* frees/reallocs of blocks from before the recording (id 0) */
    uint64_t lost_frees;       /* blocks handed out again while live: a free the recorder did not see */
    uint64_t lost_events;      /* calls that took a sequence number and never reached the file (a killed process) */
    uint64_t file_bytes, t0_realtime_ns;
    uint32_t marks, cmdline_len;
    bool complete;             /* the recorder wrote its END (version 1: always) */
    pab_rec_layer layer;
    const char *cmdline, *exe, *pythonmalloc, *python, *note; /* NUL-terminated ("" when absent); cmdline is
                                                                 NUL-separated, cmdline_len bytes */
} pab_trace_info;

typedef struct pab_trace {
    pab_trace_info h;
    const pab_trace_rec *rec;   /* h.events records */
    const pab_trace_mark *mark; /* h.marks marks, in order */
    void *rec_map, *mark_map, *aux_map;
    size_t rec_len, mark_len, aux_len;
} pab_trace;

/* 0, or -1 with one line in err (a foreign, damaged or cut file; a file cut inside a chunk is refused, a recording
 * that ended without its END chunk loads up to its last whole chunk, with h.complete false). */
int pab_trace_load(const char *path, pab_trace *t, char *err, size_t errlen);
/* The same checks of the file's header and chunk headers, nothing decoded (fast: `pyalloc record` prints it):
 * t->h holds the header's facts, events = calls and marks as the chunks count them, threads, marks (from END),
 * no records. */
int pab_trace_peek(const char *path, pab_trace *t, char *err, size_t errlen);
void pab_trace_unload(pab_trace *t);
/* What a counting load gathers instead of keeping the records: calls per op, requests per size band (frees and
 * realloc(p, 0) are not requests). */
typedef struct pab_trace_counts {
    const uint64_t *limits;   /* band upper bounds, ascending (at most 64); a request of s bytes is in the first
                                 band with s <= limit, or in one more band above the last */
    size_t nlimits;
    uint64_t ops[PAB_OP_COUNT], sizes[65];
} pab_trace_counts;
void pab_trace_counts_add(pab_trace_counts *c, const pab_trace_rec *r);
/* pab_trace_load that counts the records into c instead of keeping them (t->rec is NULL): what `trace-info` needs,
 * in the memory of the live blocks only. */
int pab_trace_count(const char *path, pab_trace *t, pab_trace_counts *c, char *err, size_t errlen);

/* The last mark named `name`, or NULL. */
const pab_trace_mark *pab_trace_find_mark(const pab_trace *t, const char *name);
/* The names of the trace's marks, ", "-separated, each once ("" when none). */
void pab_trace_mark_names(const pab_trace *t, char *out, size_t len);

/* For ctypes (libpab.so, trace_ffi.c).  A JSON summary of a trace file: header facts, marks with live bytes,
 * events per op, requests per size band (band upper bounds `limits`, ascending; one more band above the last);
 * with peek, only what pab_trace_peek knows.  0, or -1 with one line in buf; when buf is too small, -2 and a
 * length to retry with in *need. */
int pab_trace_summary_json(const char *path, bool peek, const uint64_t *limits, size_t nlimits, char *buf,
                           size_t len, size_t *need);
/* Appends a note (one JSON object) to a whole version-2 trace, after its END: what `pyalloc record` measured.
 * 0, or -1 with one line in err. */
int pab_trace_append_note(const char *path, const char *json, char *err, size_t errlen);

#endif

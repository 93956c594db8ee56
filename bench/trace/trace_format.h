/* trace_format.h — the malloc trace files: the raw file the recorder writes, the final file replay reads
 * (dense block ids, records in global order), the finalising pass between them and a validating loader. */
#ifndef PAB_TRACE_FORMAT_H
#define PAB_TRACE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define PAB_TRACE_MAGIC "PABTRACE"   /* final file, 8 bytes, no NUL */
#define PAB_TRACE_RAW_MAGIC "PABTRAW1" /* raw file, 8 bytes, no NUL */
#define PAB_TRACE_VERSION 1
#define PAB_TRACE_CHUNK_MAGIC 0x4b4e4843u /* "CHNK" */
#define PAB_TRACE_CMDLINE_MAX 4096

/* Operations, as the program called them.  Values are part of the file format. */
enum pab_trace_op {
    PAB_OP_MALLOC = 1, PAB_OP_CALLOC, PAB_OP_REALLOC, PAB_OP_FREE, PAB_OP_POSIX_MEMALIGN,
    PAB_OP_ALIGNED_ALLOC, PAB_OP_MEMALIGN, PAB_OP_VALLOC, PAB_OP_PVALLOC,
    PAB_OP_COUNT,          /* final files hold ops 1 .. PAB_OP_COUNT-1 */
    PAB_OP_RAW_RFREE = 15, /* raw only: the first half of a realloc (old block given up), before the call */
};
extern const char *const pab_trace_op_names[PAB_OP_COUNT]; /* [0] is NULL */

/* ---- raw file: header, cmdline (padded to 8), then chunks of records, each chunk from one thread.
 * Records of one thread are in order; seq (a global counter) gives the order across threads. */
typedef struct pab_raw_header {
    char magic[8];
    uint32_t version, page_size, pid, ppid;
    uint64_t t0_ns;          /* CLOCK_MONOTONIC when recording started */
    uint32_t cmdline_len;    /* bytes of the NUL-separated command line that follow */
    uint32_t reserved;
} pab_raw_header;

typedef struct pab_raw_chunk {
    uint32_t magic, tid, count, reserved;
} pab_raw_chunk;

typedef struct pab_raw_rec {
    uint64_t seq_op; /* seq << 8 | op */
    uint64_t t_ns;   /* CLOCK_MONOTONIC */
    uint64_t ptr;    /* block returned (alloc ops, realloc) or freed (free, rfree) */
    uint64_t arg;    /* realloc: the old block; aligned ops: the alignment */
    uint64_t size;   /* bytes requested (calloc: n * m) */
} pab_raw_rec;

/* ---- final file: header, cmdline (padded to 8), `events` records of 24 bytes. */
typedef struct pab_trace_header {
    char magic[8];
    uint32_t version, header_size; /* header_size: bytes before the first record */
    uint32_t page_size, pid, ppid, threads;
    uint64_t events;
    uint64_t max_id;           /* block ids are 1 .. max_id; replay needs max_id + 1 slots */
    uint64_t live_peak_bytes;  /* peak of bytes requested and not yet freed */
    uint64_t end_live_bytes;   /* bytes the program never freed */
    uint64_t duration_ns;      /* first to last event */
    uint64_t unknown_frees;    /* frees/reallocs of blocks allocated before recording (id 0) */
    uint64_t lost_frees;       /* blocks returned again while live: a free the recorder did not see */
    uint32_t cmdline_len, rec_size;
} pab_trace_header;

typedef struct pab_trace_rec {
    uint64_t size;       /* bytes requested; free: the size of the block freed */
    uint32_t id;         /* the block allocated, reallocated or freed; 0: NULL result, or a block not in the trace */
    uint32_t old;        /* realloc: the block given (its id is kept by the result); else 0 */
    uint32_t dt_ns;      /* since the previous event, saturating at 2^32-1 */
    uint16_t thread;     /* dense thread index, 0 .. threads-1, in order of first event */
    uint8_t op;          /* enum pab_trace_op */
    uint8_t align_log2;  /* aligned ops: log2 of the alignment; else 0 */
} pab_trace_rec;

_Static_assert(sizeof(pab_raw_header) == 40, "raw header layout");
_Static_assert(sizeof(pab_raw_rec) == 40, "raw record layout");
_Static_assert(sizeof(pab_trace_header) == 96, "trace header layout");
_Static_assert(sizeof(pab_trace_rec) == 24, "trace record layout");

/* A loaded final trace.  Records and cmdline live in one anonymous mapping (the allocator under test never
 * holds them).  Loading validates everything replay relies on: a block is allocated only when free and freed
 * only when live, ids and threads in range, sizes match the file. */
typedef struct pab_trace {
    pab_trace_header h;
    const char *cmdline;        /* NUL-separated, h.cmdline_len bytes */
    const pab_trace_rec *rec;   /* h.events records */
    void *map;
    size_t map_len;
} pab_trace;

int pab_trace_load(const char *path, pab_trace *t, char *err, size_t errlen);  /* 0, or -1 with one line */
void pab_trace_unload(pab_trace *t);

/* raw -> final: orders records by seq, renames blocks to dense ids (an id is reused LIFO once its block is
 * freed, so max_id is the live-block peak), pairs realloc halves.  0, or -1 with one line in err. */
int pab_trace_finalize(const char *raw_path, const char *out_path, char *err, size_t errlen);

/* Is this op an allocation (not realloc, not free)? */
static inline int pab_trace_op_allocates(unsigned op) {
    return op == PAB_OP_MALLOC || op == PAB_OP_CALLOC || (op >= PAB_OP_POSIX_MEMALIGN && op < PAB_OP_COUNT);
}

#endif

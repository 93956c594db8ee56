/* pab_sys.h — what libpab.so offers besides the allocator adapters: memory probes from /proc (no malloc), the
 * memory guard, sizes, and a small JSON writer into a caller's buffer.  The benchmark binary, the probe preloaded
 * into users' programs and the Python side (through ctypes, scripts/pab/native.py) all use this one copy. */
#ifndef PAB_SYS_H
#define PAB_SYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Memory probes (probe.c): no malloc, only open/read of /proc. */
uint64_t pab_rss_bytes(void);             /* resident pages, /proc/self/statm */
uint64_t pab_hwm_bytes(void);             /* VmHWM, /proc/self/status */
bool pab_hwm_reset(void);                 /* write 5 to /proc/self/clear_refs */
void pab_faults(uint64_t *minor, uint64_t *major);
uint64_t pab_now_ns(void);                /* CLOCK_MONOTONIC */
uint64_t pab_cpu_ns(void);                /* CLOCK_PROCESS_CPUTIME_ID: every thread of the process */
uint64_t pab_mem_available(void);         /* MemAvailable, or PAB_MEM_AVAILABLE (bytes) when set: tests */
uint64_t pab_proc_field(const char *path, const char *key); /* "Key:  123 kB" -> bytes; 0 if absent */

/* Sizes (units.c). */
int pab_parse_size(const char *s, uint64_t *out);  /* digits with an optional K/M/G/T suffix (1024); 0 or -1 */
void pab_format_bytes(uint64_t n, char *out, size_t len); /* "1.5 GiB" */

/* The memory guard (guard.c): 0 if need fits the safe share of avail, else -1 and a message starting "skipped:". */
#define PAB_GUARD_SHARE 0.80
#define PAB_GUARD_RESERVE (256ULL << 20)
int pab_guard(uint64_t need, uint64_t avail, const char *who, char *msg, size_t len);
uint64_t pab_guard_wants(uint64_t need); /* the MemAvailable at which need fits */

/* The timeline (timeline.c): a sampler thread records RSS every ms milliseconds (0: 5) from now, with events, into
 * mmap'd buffers; stop writes path as CSV t_ns,rss_bytes,event (t_ns from start; the first event is `first`). */
int pab_timeline_start(const char *path, unsigned ms, const char *first);
void pab_timeline_event(const char *name);
void pab_timeline_stop(void);

/* JSON into a fixed buffer (json.c): never allocates.  Writes stop, silently, at the buffer's end; pab_json_ok
 * tells whether everything fitted. */
typedef struct { char *buf; size_t len, used; } pab_json;
void pab_json_raw(pab_json *j, const char *text);
void pab_json_str(pab_json *j, const char *s);                 /* a quoted, escaped string */
void pab_json_kv(pab_json *j, const char *key, const char *val, bool last); /* "key": "val", */
void pab_json_ku(pab_json *j, const char *key, uint64_t val, bool last);     /* "key": 123, */
bool pab_json_ok(const pab_json *j);

#endif

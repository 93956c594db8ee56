# The exact way to deploy a configuration in a Python service: the LD_PRELOAD line (with the configuration's
# environment and PYTHONMALLOC=malloc where the gain needs it) and, for release=cycle, the call to make after gc.collect().
import shlex

# Called from Python after gc.collect(); each is the allocator's own release (DESIGN §3). Under a preloaded
# allocator glibc's malloc_trim only trims glibc's unused heap, so it must not be offered for the others.
RELEASE = {
    "glibc": 'ctypes.CDLL("libc.so.6").malloc_trim(0)',
    "jemalloc": 'j = ctypes.CDLL(None); j.mallctl(b"thread.tcache.flush", None, None, None, 0); '
                'j.mallctl(b"arena.4096.purge", None, None, None, 0)',
    "mimalloc": 'ctypes.CDLL(None).mi_collect(True)',
    "tcmalloc": 't = ctypes.CDLL(None); t.MallocExtension_MarkThreadIdle(); t.MallocExtension_ReleaseFreeMemory()',
    "tbbmalloc": 'ctypes.CDLL(None).scalable_allocation_command(0, None)  # 0 = TBBMALLOC_CLEAN_ALL_BUFFERS',
}


def line(row, pymalloc_off=False, program="python3 app.py"):
    """row: any row of the configuration (allocator, allocator_lib, env). glibc needs no preload."""
    words = []
    if row.get("allocator") not in ("glibc", "", None) and row.get("allocator_lib"):
        words.append("LD_PRELOAD=" + shlex.quote(row["allocator_lib"]))
    for item in (row.get("env") or "").split(" "):
        if "=" in item:
            k, v = item.split("=", 1)
            words.append(f"{k}={shlex.quote(v)}")
    if pymalloc_off:
        words.append("PYTHONMALLOC=malloc")
    return " ".join(words + [program])


def release_call(row):
    """What the application must call, for release_policy=cycle configurations; None otherwise."""
    if row.get("release_policy") != "cycle":
        return None
    call = RELEASE.get(row.get("allocator"))
    if not call:
        return f"call {row.get('allocator')}'s own release function after each batch of work (no adapter known)"
    return f"after each batch of work: `import ctypes, gc; gc.collect(); {call}`"

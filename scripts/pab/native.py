# libpab.so through ctypes: the allocator adapters (identify, version, release, library, knob read-back), the
# memory probes and the guard, in C once (allocators/, bench/harness/pab_sys.h), for the CLI and the CPython twins.
import ctypes
import functools
import json
import os

from .binary import build_dir
from .errors import UsageError

_BUF = 1 << 16


def path():
    return os.path.join(build_dir(), "bench", "libpab.so")


@functools.lru_cache(maxsize=None)
def lib():
    p = path()
    if not os.path.exists(p):
        raise UsageError(f"libpab.so is not built ({p} is missing): run `make build` first")
    try:
        lp = ctypes.CDLL(p)
    except OSError as e:  # damaged, another architecture, a missing dependency: one line, as every bad library
        raise UsageError(f"{p} will not load ({e}): rebuild with `make build`")
    sig = {  # name: (restype, argtypes)
        "pab_ffi_allocators": (ctypes.c_int, (ctypes.c_char_p, ctypes.c_size_t)),
        "pab_ffi_identify": (ctypes.c_int, (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t)),
        "pab_ffi_release": (ctypes.c_int, (ctypes.c_char_p,)),
        "pab_ffi_library": (ctypes.c_int, (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t)),
        "pab_ffi_tuning": (ctypes.c_int, (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t)),
        "pab_ffi_knob_owner": (ctypes.c_char_p, (ctypes.c_char_p,)),
        "pab_rss_bytes": (ctypes.c_uint64, ()),
        "pab_hwm_bytes": (ctypes.c_uint64, ()),
        "pab_hwm_reset": (ctypes.c_bool, ()),
        "pab_faults": (None, (ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(ctypes.c_uint64))),
        "pab_mem_available": (ctypes.c_uint64, ()),
        "pab_guard": (ctypes.c_int, (ctypes.c_uint64, ctypes.c_uint64, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t)),
        "pab_guard_wants": (ctypes.c_uint64, (ctypes.c_uint64,)),
        "pab_trace_summary_json": (ctypes.c_int, (ctypes.c_char_p, ctypes.c_bool, ctypes.POINTER(ctypes.c_uint64),
                                                  ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t,
                                                  ctypes.POINTER(ctypes.c_size_t))),
        "pab_trace_append_note": (ctypes.c_int, (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t)),
    }
    for name, (res, args) in sig.items():
        f = getattr(lp, name)
        f.restype, f.argtypes = res, args
    return lp


def _text(fn, *args):
    buf = ctypes.create_string_buffer(_BUF)
    rc = fn(*args, buf, len(buf))
    return rc, buf.value.decode(errors="replace")


@functools.lru_cache(maxsize=None)
def allocators():
    """[{"name", "unique", "soname", "release_text", "release_py", "knob_env", "option"}] in registry order (`other`
    last); option = {"var", "prefix", "kv", "sep"}: how `--sweep ALLOCATOR.OPTION` sets an option (allocators/)."""
    rc, text = _text(lib().pab_ffi_allocators)
    if rc:
        raise UsageError("libpab.so's allocator list does not fit its buffer")
    return json.loads(text)


def allocator(name):
    return next((a for a in allocators() if a["name"] == name), None)


def names():
    return tuple(a["name"] for a in allocators())


def identify(expect=""):
    """{"allocator", "lib", "version", "expect", "verified"} of this process."""
    return json.loads(_text(lib().pab_ffi_identify, (expect or "").encode())[1])


def release(name):
    if lib().pab_ffi_release(name.encode()):
        raise UsageError(f"no allocator adapter named {name!r}")


def library(name):
    """The file `@name` preloads; LookupError('library not found: ...') when there is none."""
    rc, text = _text(lib().pab_ffi_library, name.encode())
    if rc:
        raise LookupError(f"library not found: @{name}: {text}")
    return text


def tuning(name, knobs):
    """(status, text): 0 and the knob values read back in this process ("KEY=APPLIED;..."), or -1 and why."""
    return _text(lib().pab_ffi_tuning, name.encode(), knobs.encode())


def knob_owner(name):
    """The allocator that reads environment variable `name` (allocators/<name>.c's knob_env), or None."""
    return lib().pab_ffi_knob_owner(name.encode()).decode() or None


def rss_bytes():
    return lib().pab_rss_bytes()


def hwm_bytes():
    return lib().pab_hwm_bytes()


def hwm_reset():
    return lib().pab_hwm_reset()


def faults():
    mi, ma = ctypes.c_uint64(), ctypes.c_uint64()
    lib().pab_faults(ctypes.byref(mi), ctypes.byref(ma))
    return mi.value, ma.value


def mem_available():
    return lib().pab_mem_available()


def guard(need, who, avail=None):
    """None when `need` bytes fit the safe share of MemAvailable (or of `avail`), else the guard's `skipped: ...`."""
    buf = ctypes.create_string_buffer(1024)
    if lib().pab_guard(need, lib().pab_mem_available() if avail is None else avail, who.encode(), buf, len(buf)):
        return buf.value.decode()
    return None


def guard_wants(need):
    """The MemAvailable at which `need` bytes pass the guard."""
    return lib().pab_guard_wants(need)


def trace_summary(path, limits=(), peek=False):
    """A trace file as a dict (bench/trace/trace_ffi.c): peek reads only its headers; otherwise it is decoded, with
    requests counted per size band (upper bounds `limits`). UsageError with the loader's one line if refused."""
    bounds = (ctypes.c_uint64 * max(len(limits), 1))(*limits)
    size = _BUF
    while True:
        buf, need = ctypes.create_string_buffer(size), ctypes.c_size_t(0)
        rc = lib().pab_trace_summary_json(os.fsencode(path), peek, bounds, len(limits), buf, size, ctypes.byref(need))
        if rc != -2:
            break
        size = max(need.value, 2 * size)
    text = buf.value.decode(errors="replace")
    if rc:
        raise UsageError(text)
    return json.loads(text)


def trace_append_note(path, note):
    """Appends `note` (a dict, stored as JSON) to a whole version-2 trace."""
    rc, text = _text(lib().pab_trace_append_note, os.fsencode(path), json.dumps(note).encode())
    if rc:
        raise UsageError(text)

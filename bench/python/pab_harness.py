# The C harness (bench/harness/case.c, probe.c, guard.c, allocators/*.c) in Python: parameters, allocator proof and
# release through ctypes, one instrumented cycle measured from /proc, timed cycles, and the C binary's JSON.
#
# A workload file declares its parameters and functions and ends with `pab_harness.main(Workload(...))`.
# Run:  /usr/bin/python3 bench/python/W.py --param k=v ... --expect ALLOC --release none|cycle --seed N --out F.json
# Exit: 0 ran (the JSON may say it failed), 2 usage, 3 the allocator or the layer is not the expected one.
import argparse
import ctypes
import datetime
import gc
import json
import os
import resource
import socket
import sys
import time
from collections import namedtuple

Param = namedtuple("Param", "name type default choices help min max", defaults=(None, "", 0, 0))
SIZE_SUFFIX = {"": 0, "K": 10, "M": 20, "G": 30, "T": 40}
GUARD_SHARE, GUARD_RESERVE = 0.80, 256 << 20  # bench/harness/pab_internal.h
LAYER = Param("layer", "enum", None, "malloc|pymalloc", "PYTHONMALLOC=malloc or CPython's default pymalloc")
KNOWN = ("glibc", "jemalloc", "mimalloc", "tcmalloc", "tbbmalloc")


class Workload:
    """name, shows, does, params (list of Param), need(p) -> bytes touched at most, setup(ctx) -> state,
    cycle(ctx, state) (calls ctx.freed() once), live_peak(ctx, state) -> bytes, or None when unknowable."""

    def __init__(self, name, shows, does, params, setup, cycle, need=lambda p: 0, teardown=None):
        self.name, self.shows, self.does, self.params = name, shows, does, list(params) + [LAYER]
        self.setup, self.cycle, self.need, self.teardown = setup, cycle, need, teardown


class Failed(Exception):
    """A failed case: one line; `skipped:` for the memory guard, `ENOMEM:` for a MemoryError."""


class Usage(Exception):
    pass


# --- parameters (bench/harness/params.c) -------------------------------------------------------------------

def parse_size(text):
    t = str(text)
    digits = t.rstrip("KMGTkmgt")
    if not digits.isdigit() or len(t) - len(digits) > 1:
        raise ValueError(text)
    return int(digits) << SIZE_SUFFIX[t[len(digits):].upper()]


def parse_params(w, pairs):
    """{name: value} (numbers parsed, enums as text) and {name: text} for pab_params; Usage on bad input."""
    text = {p.name: p.default for p in w.params}
    for kv in pairs:
        k, eq, v = kv.partition("=")
        if not eq:
            raise Usage(f"parameter {kv}: expected KEY=VALUE")
        if k not in text:
            raise Usage(f"{w.name} has no parameter {k}")
        text[k] = v
    values = {}
    for p in w.params:
        v = text[p.name]
        if v is None:
            values[p.name] = None
        elif p.type == "enum":
            if v not in p.choices.split("|"):
                raise Usage(f"{w.name}: {p.name}={v}: not one of {p.choices}")
            values[p.name] = v
        elif p.type == "str":
            values[p.name] = v
        else:
            try:
                values[p.name] = parse_size(v)
            except ValueError:
                raise Usage(f"{w.name}: {p.name}={v}: not a {'size' if p.type == 'size' else 'count'} "
                            "(digits with an optional K, M, G or T suffix, powers of 1024)")
            if values[p.name] < p.min or (p.max and values[p.name] > p.max):
                raise Usage(f"{w.name}: {p.name}={v}: out of range [{p.min}, {p.max or 'no limit'}]")
    return values, text


# --- the allocator serving malloc, through ctypes (allocators/identify.c and the adapters) ---------------------

class _DlInfo(ctypes.Structure):
    _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]


_DEFAULT = ctypes.CDLL(None)  # dlopen(NULL): the global scope, LD_PRELOADed libraries first, as RTLD_DEFAULT
_dladdr = _DEFAULT.dladdr
_dladdr.argtypes = (ctypes.c_void_p, ctypes.POINTER(_DlInfo))
UNIQUE = {"glibc": "gnu_get_libc_version", "jemalloc": "mallctl", "mimalloc": "mi_version",
          "tcmalloc": "MallocExtension_ReleaseFreeMemory", "tbbmalloc": "__TBB_malloc_proxy"}


def sym(name, restype=None, argtypes=()):
    """The function dlsym(RTLD_DEFAULT, name) gives, typed, or None."""
    try:
        f = _DEFAULT[name]  # a fresh function object: types set here do not leak to other callers
    except AttributeError:
        return None
    f.restype, f.argtypes = restype, argtypes
    return f


class _LinkMap(ctypes.Structure):
    pass


_LinkMap._fields_ = [("l_addr", ctypes.c_void_p), ("l_name", ctypes.c_char_p), ("l_ld", ctypes.c_void_p),
                     ("l_next", ctypes.POINTER(_LinkMap)), ("l_prev", ctypes.POINTER(_LinkMap))]
_dlinfo = _DEFAULT.dlinfo
_dlinfo.argtypes = (ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p)
RTLD_DI_LINKMAP, RTLD_NOLOAD = 2, 4


def _search_order():
    """Paths of the loaded shared objects in the global search order (LD_PRELOAD first), the executable left out:
    Debian's python3 is not PIE, so dlsym(RTLD_DEFAULT, "malloc") gives its PLT stub, not the malloc that runs."""
    lm = ctypes.POINTER(_LinkMap)()
    if _dlinfo(_DEFAULT._handle, RTLD_DI_LINKMAP, ctypes.byref(lm)) or not lm:
        return []
    out, node = [], lm.contents.l_next
    while node:
        if node.contents.l_name:
            out.append(node.contents.l_name)
        node = node.contents.l_next
    return out


def _object_of(name):
    """(base, path) of the first shared object in the search order that defines `name` itself: the definition
    every reference binds to (allocators/identify.c's dladdr on dlsym(RTLD_DEFAULT), without the PLT stub)."""
    info = _DlInfo()
    for path in _search_order():
        try:
            lib = ctypes.CDLL(os.fsdecode(path), mode=RTLD_NOLOAD | os.RTLD_LAZY)
            f = lib[name]
        except (OSError, AttributeError):
            continue
        if _dladdr(ctypes.cast(f, ctypes.c_void_p), ctypes.byref(info)) and info.dli_fname == path:
            return info.dli_fbase, os.fsdecode(info.dli_fname)
    return None, "?"


def identify():
    """(allocator name or None, path of the object that serves malloc)."""
    base, lib = _object_of("malloc")
    if base is None:
        return "other", lib
    for name in KNOWN:
        if _object_of(UNIQUE[name])[0] == base:
            return name, lib
    return "other", lib


def _version_from_path(symbol):
    base, lib = _object_of(symbol)
    real = os.path.realpath(lib) if base else ""
    i = real.find(".so.")
    return real[i + 1:] if i >= 0 else "unknown"


def _jemalloc_version():
    ctl = sym("mallctl", ctypes.c_int, (ctypes.c_char_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t),
                                        ctypes.c_void_p, ctypes.c_size_t))
    v, n = ctypes.c_char_p(), ctypes.c_size_t(ctypes.sizeof(ctypes.c_char_p))
    return v.value.decode() if ctl and not ctl(b"version", ctypes.byref(v), ctypes.byref(n), None, 0) else "unknown"


def _mimalloc_version():
    v = sym("mi_version", ctypes.c_int)()
    return f"{v // 100}.{v // 10 % 10}.{v % 10}" if v else "unknown"


def _tcmalloc_version():
    f = sym("tc_version", ctypes.c_char_p, (ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p))
    return f(None, None, None).decode() if f else "unknown"


VERSION = {"glibc": lambda: sym("gnu_get_libc_version", ctypes.c_char_p)().decode(),
           "jemalloc": _jemalloc_version, "mimalloc": _mimalloc_version, "tcmalloc": _tcmalloc_version,
           "tbbmalloc": lambda: _version_from_path("scalable_malloc"), "other": lambda: "unknown"}

_SZ = ctypes.c_size_t
_MALLCTL = (ctypes.c_int, (ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, _SZ))
# DESIGN §3: (symbol, restype, argtypes, args) called in order; never glibc's malloc_trim under another allocator.
RELEASE = {
    "glibc": [("malloc_trim", ctypes.c_int, (_SZ,), (0,))],
    "jemalloc": [("mallctl", *_MALLCTL, (b"thread.tcache.flush", None, None, None, 0)),
                 ("mallctl", *_MALLCTL, (b"arena.4096.purge", None, None, None, 0))],
    "mimalloc": [("mi_collect", None, (ctypes.c_bool,), (True,))],
    "tcmalloc": [("MallocExtension_MarkThreadIdle", None, (), ()),
                 ("MallocExtension_ReleaseFreeMemory", None, (), ())],
    "tbbmalloc": [("scalable_allocation_command", ctypes.c_int, (ctypes.c_int, ctypes.c_void_p), (0, None))],
    "other": [],  # a library we have no adapter for: nothing to call (never glibc's malloc_trim in its place)
}


class Release:
    """The release calls of one allocator, resolved once; .calls says what the last release called and got."""

    def __init__(self, allocator):
        self.steps = []
        for name, restype, argtypes, args in RELEASE[allocator]:
            f = sym(name, restype, argtypes)
            if f is not None:
                label = args[0].decode() if args and isinstance(args[0], bytes) else ",".join(map(str, args))
                self.steps.append((f, args, f"{name}({label})"))
        self.calls = ""

    def __call__(self):
        out = []
        for f, args, label in self.steps:
            r = f(*args)
            out.append(label if r is None else f"{label}={r}")
        self.calls = ";".join(out)


# --- probes (bench/harness/probe.c) ------------------------------------------------------------------------

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes():
    with open("/proc/self/statm", "rb") as f:
        return int(f.read().split()[1]) * PAGE


def proc_field(path, key):
    with open(path, "rb") as f:
        for line in f:
            if line.startswith(key.encode() + b":"):
                return int(line.split()[1]) * 1024
    return 0


def hwm_reset():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def faults():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_minflt, r.ru_majflt


def mem_available():
    fake = os.environ.get("PAB_MEM_AVAILABLE")
    if fake:
        try:
            return parse_size(fake)
        except ValueError:
            pass
    return proc_field("/proc/meminfo", "MemAvailable")


def format_bytes(n):
    return f"{n / (1 << 30):.1f} GiB" if n >= 1 << 30 else f"{n / (1 << 20):.1f} MiB"


def guard(need, who):
    """bench/harness/guard.c: raise Failed('skipped: ...') beyond 80 % of (MemAvailable - 256 MiB)."""
    avail = mem_available()
    safe = int((avail - GUARD_RESERVE) * GUARD_SHARE) if avail > GUARD_RESERVE else 0
    if need <= safe:
        return
    want = int(need / GUARD_SHARE) + GUARD_RESERVE
    raise Failed(f"skipped: {who} needs {format_bytes(need)} but MemAvailable is {format_bytes(avail)} "
                 f"(safe share {format_bytes(safe)}); run it where {format_bytes(want)} is available, "
                 "or lower its size with --param")


# --- the case ------------------------------------------------------------------------------------------------

class Ctx:
    """What a workload sees: p (parameter values), seed, instrumented, freed(), ops (object-level requests,
    counted by the workload), live_peak (bytes, set by the workload during the instrumented cycle), fail()."""

    def __init__(self, w, p, seed, release, release_cycle):
        self.w, self.p, self.seed, self.release, self.release_cycle = w, p, seed, release, release_cycle
        self.instrumented = self.was_freed = False
        self.ops = self.live_peak = 0
        self.threads = 1
        self.rss_after_free = 0

    def fail(self, msg):
        raise Failed(f"{self.w.name}: {msg}")

    def check(self, ok, what):
        if not ok:
            self.fail(f"checksum mismatch in {what}: the memory was overwritten")

    def peak(self, nbytes):
        if self.instrumented and nbytes > self.live_peak:
            self.live_peak = nbytes

    def freed(self):
        if self.release_cycle:
            self.release()
        if self.instrumented:
            self.was_freed = True
            self.rss_after_free = rss_bytes()


def measure_once(c, state, m):
    """The instrumented cycle (case.c measure_once).  gc.collect() once before the base, so the setup's garbage
    is not collected inside the cycle; from there on only CPython's own automatic collections run."""
    gc.collect()
    c.ops = 0
    m["rss_base_bytes"] = rss_bytes()
    hwm_reset()
    f0 = faults()
    c.instrumented = True
    c.w.cycle(c, state)
    c.instrumented = False
    m["rss_peak_bytes"] = proc_field("/proc/self/status", "VmHWM")
    f1 = faults()
    m["minor_faults"], m["major_faults"] = f1[0] - f0[0], f1[1] - f0[1]
    if not c.was_freed:
        c.fail("the cycle never marked `after free` (ctx.freed)")
    m["rss_after_free_bytes"] = c.rss_after_free
    t = time.perf_counter_ns()
    c.release()
    m["release_ns"] = time.perf_counter_ns() - t
    m["rss_after_release_bytes"] = rss_bytes()
    m["live_peak_bytes"] = c.live_peak
    m["pab_release_call"] = c.release.calls


def timed(c, state, min_time):
    """libbenchmark 1.7.1's iteration growth: run n cycles, grow n by min_time*1.4/elapsed (x10 when under 10 %
    of min_time), report the first run that lasts min_time.  Returns (iterations, real ns, cpu ns, ops)."""
    n = 1
    while True:
        ops0, t0, c0 = c.ops, time.perf_counter_ns(), time.thread_time_ns()
        for _ in range(n):
            c.w.cycle(c, state)
        real, cpu = time.perf_counter_ns() - t0, time.thread_time_ns() - c0
        secs = real / 1e9
        if secs >= min_time or n >= 1_000_000_000:
            return n, real, cpu, c.ops - ops0
        mult = min_time * 1.4 / max(secs, 1e-9) if secs / min_time > 0.1 else 10.0
        n = int(min(max(mult * n, n + 1), 1_000_000_000))


def run_case(c, min_time):
    """The benchmark entry of the JSON: counters, or error_occurred with a one-line message."""
    m = {}
    entry = {"name": f"{c.w.name}/real_time", "family_index": 0, "per_family_instance_index": 0,
             "run_name": f"{c.w.name}/real_time", "run_type": "iteration", "repetitions": 1,
             "repetition_index": 0, "threads": 1}
    state = None
    try:
        c.w.need and guard(c.w.need(c.p), f"{c.w.name} ({'its data'})")
        state = c.w.setup(c)
        measure_once(c, state, m)
        iters, real, cpu, ops = timed(c, state, min_time)
    except (Failed, MemoryError) as e:
        msg = str(e) if isinstance(e, Failed) else f"ENOMEM: {c.w.name}: MemoryError from the allocator"
        entry.update(error_occurred=True, error_message=" ".join(msg.split()), iterations=0, real_time=0.0,
                     cpu_time=0.0, time_unit="ns")
        return entry, m.get("pab_release_call", "")
    finally:
        if state is not None and c.w.teardown:
            c.w.teardown(c, state)
    entry.update(iterations=iters, real_time=real / iters, cpu_time=cpu / iters, time_unit="ns",
                 items_per_second=ops / (real / 1e9) if real else 0.0)
    counters = dict(m, ops_per_cycle=ops / iters, threads=c.threads)
    call = counters.pop("pab_release_call")
    entry.update({k: float(counters[k]) for k in sorted(counters)})
    return entry, call


def actual_layer():
    """malloc when PYTHONMALLOC=malloc is in force (pymalloc then counts no blocks), else pymalloc."""
    probe = [object() for _ in range(64)]
    layer = "pymalloc" if sys.getallocatedblocks() > 0 else "malloc"
    del probe
    return layer


def build_parser():
    a = argparse.ArgumentParser(description="A pyalloc-bench workload under the real CPython interpreter.")
    a.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    a.add_argument("--expect", choices=KNOWN + ("other",))
    a.add_argument("--release", default="none")
    a.add_argument("--seed", default="0")
    a.add_argument("--out", "--benchmark_out", dest="out")
    a.add_argument("--min-time", "--benchmark_min_time", dest="min_time", default="0.5")
    a.add_argument("--list", action="store_true", help="print the workload and its parameters as JSON")
    a.add_argument("--identify", action="store_true", help="print which allocator serves malloc as JSON")
    a.add_argument("--validate", action="store_true", help="check the parameters and exit")
    return a


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise Usage(message)


def describe(w):
    ps = [dict(name=p.name, type=p.type, default=p.default or "", help=p.help,
               **({"choices": p.choices.split("|")} if p.type == "enum" else {})) for p in w.params]
    return {"name": w.name, "shows": w.shows, "does": w.does, "params": ps}


def context(w, allocator, lib, version, verified, params, release, call):
    now = datetime.datetime.now(datetime.timezone.utc).astimezone().isoformat(timespec="seconds")
    return {"date": now, "host_name": socket.gethostname(), "executable": sys.executable + " " + sys.argv[0],
            "num_cpus": os.cpu_count(), "library_build_type": "release", "python_version": sys.version.split()[0],
            "pab_allocator": allocator or "unknown", "pab_allocator_lib": lib, "pab_allocator_version": version,
            "pab_verified": verified, "pab_workload": w.name, "pab_params": params, "pab_release": release,
            "pab_release_call": call}


def _main(w, argv):
    parser = build_parser()
    parser.__class__ = _Parser
    o = parser.parse_args(argv)
    if o.list:
        print(json.dumps({"workloads": [describe(w)]}))
        return 0
    if o.release not in ("none", "cycle"):
        raise Usage(f"--release takes none or cycle, not {o.release}")
    try:
        seed, min_time = parse_size(o.seed), float(o.min_time.rstrip("s"))
    except ValueError:
        raise Usage(f"--seed takes a non-negative integer and --min-time seconds, not {o.seed} / {o.min_time}")
    allocator, lib = identify()
    version = VERSION[allocator]()
    verified = allocator != "other" and (not o.expect or o.expect == allocator)
    if o.identify:
        print(json.dumps({"allocator": allocator, "lib": lib, "version": version,
                          "expect": o.expect or "", "verified": verified, "layer": actual_layer()}))
    if o.expect and o.expect != allocator:
        print(f"pyalloc-bench: allocator mismatch: expected {o.expect}, but malloc is served by "
              f"{allocator} ({lib})", file=sys.stderr)
        return 3
    if o.identify:
        return 0
    values, text = parse_params(w, o.param)
    layer = actual_layer()
    if values["layer"] not in (None, layer):
        print(f"pyalloc-bench: layer mismatch: expected {values['layer']}, but this interpreter runs {layer} "
              "(set PYTHONMALLOC=malloc for layer=malloc, leave it unset for pymalloc)", file=sys.stderr)
        return 3
    values["layer"] = text["layer"] = layer
    if o.validate:
        return 0
    text["runtime"] = "cpython"
    params = ";".join(f"{k}={text[k]}" for k in sorted(text))
    c = Ctx(w, values, seed, Release(allocator), o.release == "cycle")
    entry, call = run_case(c, min_time)
    doc = {"context": context(w, allocator, lib, version, "1" if verified else "0", params, o.release, call),
           "benchmarks": [entry]}
    if o.out:
        with open(o.out, "w") as f:
            json.dump(doc, f, indent=2)
    else:
        json.dump(doc, sys.stdout, indent=2)
    return 0


def main(w, argv=None):
    try:
        sys.exit(_main(w, sys.argv[1:] if argv is None else argv))
    except Usage as e:
        print(f"pyalloc-bench: {e}", file=sys.stderr)
        sys.exit(2)


# --- shared by the workloads ------------------------------------------------------------------------------------

MIXES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "mixes.tsv")


def mix_sizes(name, rng, k):
    """k request sizes drawn from bench/mixes.tsv's mix `name` (a band by share, then 16-byte steps)."""
    bands = []
    with open(MIXES) as f:
        for line in f:
            cells = line.split()
            if cells and not cells[0].startswith("#") and cells[0] == name:
                bands.append((float(cells[1]), int(cells[2]), int(cells[3])))
    picks = rng.choices(range(len(bands)), weights=[b[0] for b in bands], k=k)
    return [bands[b][1] + 16 * rng.randrange((bands[b][2] - bands[b][1]) // 16 + 1) for b in picks]


PATTERN = bytes(range(256)) * 18  # 4608 bytes: slices of it are the objects of the size mix


def make_obj(size, t):
    """A Python object for which the allocator receives about `size` bytes, carrying tag t (0..255):
    an int of 28 B (no int free list in 3.11) for sizes <= 32, else bytes of length size-33 (33 + n B, exact)."""
    if size <= 32:
        return 100000 + t
    return PATTERN[t:t + size - 33]


def obj_ok(o, t):
    return o - 100000 == t if type(o) is int else o[0] == t and o[-1] == (t + len(o) - 1) & 255

# The case harness for the CPython twins: bench/harness/case.c's protocol in the real interpreter.  Its facts live
# elsewhere: parameters and counters in the binary's catalogue, allocator proof, release and probes in libpab.so.
#
# A twin names its workload and gives its functions; it declares only what differs from the C workload (values
# Python cannot express):  WORKLOAD = pab_harness.Workload("list_pop", setup, cycle, need)
# Run: /usr/bin/python3 bench/python/W.py --param k=v ... --expect ALLOC --release none|cycle --seed N
#      --cycles K --warmup W --out F.json        (docs/design.md §5, §12; the JSON is the binary's, bench/CONTRACT.md)
# Exit: 0 ran (the JSON may say it failed), 2 usage, 3 the allocator or the layer is not the expected one.
import argparse
import datetime
import gc
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                "scripts"))
from pab import binary, native, paramspec, units  # noqa: E402  (after the path to scripts/)
from pab.errors import UsageError  # noqa: E402

RUNTIME = "cpython"
LAYER = {"name": "layer", "type": "enum", "default": "pymalloc", "choices": ["malloc", "pymalloc"],
         "help": "PYTHONMALLOC=malloc, or CPython's default pymalloc (for the interpreter's own objects too)"}


class Failed(Exception):
    """A failed case: one line; `skipped:` for the memory guard, `ENOMEM:` for a MemoryError."""


class Limit:
    """The values of a catalogue parameter that Python can express: a tuple of them or ok(value) -> bool (numbers
    parsed), and why the others cannot."""

    def __init__(self, ok, why):
        self.ok, self.why = (ok if callable(ok) else lambda v, allowed=tuple(ok): v in allowed), why


class Workload:
    """name (a workload of the catalogue), setup(ctx) -> state, cycle(ctx, state) (calls ctx.freed() once),
    need(values) -> bytes touched at most, teardown(ctx, state); limits {param: Limit}."""

    def __init__(self, name, setup, cycle, need=None, teardown=None, limits=None):
        self.name, self.setup, self.cycle, self.need, self.teardown = name, setup, cycle, need, teardown
        self.limits = limits or {}

    def spec(self):
        """The catalogue's entry, plus a `layer` where the C workload has none: a twin runs under both."""
        entry = binary.workloads()[self.name]
        has_layer = any(p["name"] == "layer" for p in entry["params"])
        return dict(entry, params=entry["params"] + ([] if has_layer else [LAYER]))

    def parse(self, given):
        """(values, texts) of the case, as paramspec.parse, and UsageError for a value Python cannot express."""
        values, texts = paramspec.parse(self.spec(), given)
        for name, limit in self.limits.items():
            if not limit.ok(values[name]):
                raise UsageError(f"{self.name}: {name}={texts[name]}: CPython cannot express it ({limit.why})")
        return values, texts


class Ctx:
    """What a cycle sees: p (values), seed, instrumented, ops (object-level requests, counted by the workload),
    peak(bytes) (live bytes, the instrumented cycle's maximum), freed(), fail(), check()."""

    def __init__(self, w, p, seed, allocator, release_cycle):
        self.w, self.p, self.seed, self.allocator, self.release_cycle = w, p, seed, allocator, release_cycle
        self.instrumented = self.was_freed = False
        self.ops = self.live_peak = self.idle_ns = 0
        self.m = {}

    def fail(self, msg):
        raise Failed(f"{self.w.name}: {msg}")

    def check(self, ok, what):
        if not ok:
            self.fail(f"checksum mismatch in {what}: the memory was overwritten")

    def peak(self, nbytes):
        if self.instrumented and nbytes > self.live_peak:
            self.live_peak = nbytes

    def freed(self):
        """`after free`: release=cycle releases here; the instrumented cycle takes RSS, then idles idle_ms."""
        if self.release_cycle:
            native.release(self.allocator)
        if not self.instrumented:
            return
        self.was_freed = True
        self.m["rss_after_free_bytes"] = native.rss_bytes()
        if self.p["idle_ms"]:
            t = time.monotonic_ns()
            idle(self.p["idle_ms"], self.p["idle_mode"])
            self.m["rss_after_idle_bytes"] = native.rss_bytes()
            self.idle_ns = time.monotonic_ns() - t


def idle(ms, mode):
    """case.c's idle: `sleep` touches nothing; `trickle` wakes every ms for one 64 KiB request buffer (malloc +
    memset + free: bytearray's), the activity that drives an allocator's own time-based release."""
    if mode != "trickle":
        time.sleep(ms / 1000)
        return
    end = time.monotonic() + ms / 1000
    while time.monotonic() < end:
        buf = bytearray(64 << 10)
        buf[-1] = 1
        del buf
        time.sleep(0.001)


def measure_once(c, state):
    """The instrumented cycle (case.c measure_once), timed by its own clock.  gc.collect() once before the base, so
    the setup's garbage is not collected inside the cycle; from there on only CPython's own collections run."""
    gc.collect()
    if not native.hwm_reset():
        c.fail("cannot reset the peak RSS (writing 5 to /proc/self/clear_refs failed)")
    m, c.ops = c.m, 0
    m["rss_base_bytes"] = native.rss_bytes()
    minor0, major0 = native.faults()
    c.instrumented = True
    t0 = time.monotonic_ns()
    c.w.cycle(c, state)
    m["cold_ns"] = time.monotonic_ns() - t0 - c.idle_ns
    c.instrumented = False
    m["rss_peak_bytes"] = native.hwm_bytes()
    minor1, major1 = native.faults()
    m["minor_faults"], m["major_faults"] = minor1 - minor0, major1 - major0
    m["live_peak_bytes"] = c.live_peak
    if not c.was_freed:
        c.fail("the cycle never marked `after free` (ctx.freed)")
    t = time.monotonic_ns()
    native.release(c.allocator)
    m["release_ns"] = time.monotonic_ns() - t
    m["rss_after_release_bytes"] = native.rss_bytes()


def median(v):
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) // 2


def timed(c, state, cycles, warmup):
    """warmup untimed cycles, then `cycles` timed ones: their medians are real_ns and cpu_ns (case.c)."""
    wall, cpu, ops0 = [], [], c.ops
    for _ in range(warmup + cycles):
        t0, c0 = time.monotonic_ns(), time.process_time_ns()
        c.w.cycle(c, state)
        wall.append(time.monotonic_ns() - t0)
        cpu.append(time.process_time_ns() - c0)
    n = warmup + cycles
    c.m.update(real_ns=median(wall[warmup:]), cpu_ns=median(cpu[warmup:]), cycles=cycles, threads=1,
               ops_per_cycle=(c.ops - ops0) // n)
    return n, sum(wall), sum(cpu), c.ops - ops0


def entry_of(c, cycles, warmup):
    name = f"{c.w.name}/iterations:{warmup + cycles}/manual_time"
    return {"name": name, "family_index": 0, "per_family_instance_index": 0, "run_name": name,
            "run_type": "iteration", "repetitions": 1, "repetition_index": 0, "threads": 1}


def failed_entry(c, msg, cycles, warmup):
    return dict(entry_of(c, cycles, warmup), error_occurred=True, error_message=" ".join(msg.split()), iterations=0,
                real_time=0.0, cpu_time=0.0, time_unit="ns")


def run_case(c, cycles, warmup):
    """The benchmark entry of the binary's JSON: its counters (the catalogue's names), or error_occurred."""
    entry = entry_of(c, cycles, warmup)
    state = None
    try:
        why = native.guard(c.w.need(c.p), f"{c.w.name} (its data)") if c.w.need else None
        if why:
            raise Failed(why)
        state = c.w.setup(c)
        measure_once(c, state)
        n, wall, cpu, ops = timed(c, state, cycles, warmup)
    except (Failed, MemoryError) as e:
        msg = str(e) if isinstance(e, Failed) else f"ENOMEM: {c.w.name}: MemoryError from the allocator"
        return failed_entry(c, msg, cycles, warmup)
    finally:
        if state is not None and c.w.teardown:
            c.w.teardown(c, state)
    entry.update(iterations=n, real_time=wall / n, cpu_time=cpu / n, time_unit="ns",
                 items_per_second=ops * 1e9 / wall if wall else 0.0)
    entry.update({k: float(c.m[k]) for k in binary.counters() if k in c.m})
    return entry


def actual_layer():
    """malloc when PYTHONMALLOC=malloc is in force (pymalloc then counts no blocks), else pymalloc."""
    probe = [object() for _ in range(64)]
    layer = "pymalloc" if sys.getallocatedblocks() > 0 else "malloc"
    del probe
    return layer


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def build_parser(name):
    a = _Parser(prog=f"{name}.py", description=f"The workload {name} under the real CPython interpreter.")
    a.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    a.add_argument("--expect", metavar="ALLOCATOR", help="the allocator that must serve malloc (exit 3 otherwise)")
    a.add_argument("--release", default="none", choices=("none", "cycle"))
    a.add_argument("--seed", default="0")
    a.add_argument("--cycles", default="5", help="timed cycles (their median is the time)")
    a.add_argument("--warmup", default="1", help="untimed cycles before the timed ones")
    a.add_argument("--knobs", default="", help="the knobs asked for (KEY=VALUE;...), read back from the allocator")
    a.add_argument("--out", "--benchmark_out", dest="out")
    a.add_argument("--identify", action="store_true", help="print which allocator serves malloc as JSON")
    a.add_argument("--validate", action="store_true", help="check the parameters and exit")
    return a


def count(flag, text, lo, hi):
    """A number flag, refused in one line as the binary refuses its --pab_ flags; hi 0: no bound."""
    try:
        n = units.parse_size(text)
    except UsageError:
        n = -1
    if n < lo or (hi and n > hi):
        raise UsageError(f"{flag} takes {lo} to {hi or 'any'}, not {text}")
    return n


def context(w, ident, params, release, tuning):
    now = datetime.datetime.now(datetime.timezone.utc).astimezone().isoformat(timespec="seconds")
    return {"date": now, "host_name": socket.gethostname(), "executable": sys.executable + " " + sys.argv[0],
            "num_cpus": os.cpu_count(), "python_version": sys.version.split()[0],
            "pab_allocator": ident["allocator"], "pab_allocator_lib": ident["lib"],
            "pab_allocator_version": ident["version"], "pab_verified": "1" if ident["verified"] else "0",
            "pab_workload": w.name, "pab_params": params, "pab_release": release, "pab_tuning": tuning}


def _main(w, argv):
    o = build_parser(w.name).parse_args(argv)
    bounds = binary.catalogue()["protocol"]  # the binary's --pab_cycles / --pab_warmup bounds
    seed, cycles, warmup = count("--seed", o.seed, 0, 0), count("--cycles", o.cycles, 1, bounds["max_cycles"]), \
        count("--warmup", o.warmup, 0, bounds["max_warmup"])
    if o.expect and not native.allocator(o.expect):
        raise UsageError(f"--expect: unknown allocator ({', '.join(native.names())}): {o.expect}")
    ident = native.identify(o.expect or "")
    layer = actual_layer()
    if o.identify:
        print(json.dumps(dict(ident, layer=layer)))
    if o.expect and o.expect != ident["allocator"]:
        print(f"pyalloc-bench: allocator mismatch: expected {o.expect}, but malloc is served by "
              f"{ident['allocator']} ({ident['lib']})", file=sys.stderr)
        return 3
    if o.identify:
        return 0
    given = paramspec.pairs(o.param)
    values, texts = w.parse(dict(given, layer=given.get("layer", layer)))
    if values["layer"] != layer:
        print(f"pyalloc-bench: layer mismatch: expected {values['layer']}, but this interpreter runs {layer} "
              "(set PYTHONMALLOC=malloc for layer=malloc, leave it unset for pymalloc)", file=sys.stderr)
        return 3
    if o.validate:
        return 0
    params = paramspec.cell(w.spec()["params"], dict(texts, runtime=RUNTIME))
    c = Ctx(w, values, seed, ident["allocator"], o.release == "cycle")
    status, tuning = native.tuning(ident["allocator"], o.knobs) if o.knobs else (0, "")
    if status:  # the adapter's read-back (allocators/<name>.c), before the base RSS, as the binary does
        entry, tuning = failed_entry(c, f"tuning: {tuning}", cycles, warmup), ""
    else:
        entry = run_case(c, cycles, warmup)
    doc = {"context": context(w, ident, params, o.release, tuning), "benchmarks": [entry]}
    if o.out:
        with open(o.out, "w") as f:
            json.dump(doc, f, indent=2)
    else:
        json.dump(doc, sys.stdout, indent=2)
    return 0


def main(w, argv=None):
    try:
        sys.exit(_main(w, sys.argv[1:] if argv is None else argv))
    except UsageError as e:
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

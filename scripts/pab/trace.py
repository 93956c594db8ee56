# Malloc traces (bench/trace/README.md) as the CLI sees them: where the recorder and the Python marks live, what
# a trace holds (read by the C loader in libpab.so, never here), and what each way of recording means for replay.
import os

from . import binary, native
from .errors import UsageError

# What replay can do with a trace, by how it was recorded (the loader's `layer`).
LAYER_TEXT = {
    "malloc": "Python under PYTHONMALLOC=malloc: every object request is in the trace; replay it with "
              "layer=pymalloc (keep pymalloc) or layer=malloc (switch to PYTHONMALLOC=malloc)",
    "pymalloc": "Python under pymalloc: objects of 1-512 B never reached malloc and are NOT in the trace; it replays "
                "as recorded only (record under PYTHONMALLOC=malloc to compare both layers)",
    "program": "not a Python interpreter: every request is the program's own",
    "unknown": "a version-1 trace: how it was recorded is not known",
}


def recorder_path():
    lib = os.path.join(binary.build_dir(), "bench", "libpab-record.so")
    if not os.path.exists(lib):
        raise UsageError(f"the recorder is not built ({lib} is missing): run `make build` first")
    return lib


def mix_bands(mixes_tsv, mix="python"):
    """[(lo, hi, percent)] of a size mix, bands merged by their upper bound: a request of s bytes falls in the
    first band with s <= hi (CPython rounds requests up to 16-byte classes)."""
    bands = []
    with open(mixes_tsv) as f:
        for line in f:
            cells = line.split()
            if len(cells) == 4 and cells[0] == mix:
                bands.append((int(cells[2]), int(cells[3]), float(cells[1])))
    out, lo = [], 0
    for _, hi, pct in sorted(bands, key=lambda b: b[1]):
        out.append((lo + 1, hi, pct))
        lo = hi
    return out


def info(path, bands=(), peek=False):
    """The loader's summary of a trace (a dict: native.trace_summary); bands from mix_bands() size its histogram."""
    if not os.path.isfile(path):
        raise UsageError(f"{path}: no such trace file")
    return native.trace_summary(path, [hi for _, hi, _ in bands], peek)


def bytes_per_event(t):
    n = t.get("events", t.get("calls", 0))
    return t["file_bytes"] / n if n else 0.0


def resolve_layer(workload, params):
    """replay's layer=recorded (its default) as the layer the trace was recorded with, so a run's params cell names
    the layer that ran; other workloads, an explicit layer or a trace that does not load are left as they are."""
    if workload != "replay" or params.get("layer", "recorded") != "recorded" or not params.get("trace"):
        return params
    try:
        layer = info(params["trace"], peek=True)["layer"]
    except UsageError:
        return params
    return dict(params, layer="pymalloc" if layer == "pymalloc" else "malloc")

# What a run's figures are evidence of, in words, for report and recommend (docs/design.md §11): a replay case names
# its trace (how it was recorded, its size), layer and mark, and its time is the allocator's; C-model time is too.
import functools
import os
import shlex

from . import runs, trace
from .errors import UsageError

REPLAY = "replay"
REPORT_NOTE = ("Replay times the allocator's calls alone, not the program: its time ratios are allocator time. "
               "`pyalloc recommend RUN --program TRY_RUN` projects the program's time from a `try` run of the recorded "
               "command (docs/design.md §11); `pyalloc fidelity --try TRY_RUN RUN` sets replay beside the program.")


def runtime_of(params):
    """c (the C model) or cpython (a `run --runtime both` twin in real Python)."""
    return runs.parse_params(params).get("runtime", "c")


def has_cpython(run, workloads):
    return bool(twins(run, workloads))


def twins(run, workloads):
    """The workloads that have CPython rows in this run (the others are C-model only)."""
    return [w for w in workloads if any(runtime_of(p) == "cpython" for p in run.params_of(w))]


def of_runtime(run, runtime):
    """The rows of one runtime as a run of their own."""
    return run.where(lambda r: runtime_of(r["params"]) == runtime)


def _count(n):
    for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if n >= div:
            return f"{n / div:.0f} {unit}" if n >= 10 * div else f"{n / div:.1f} {unit}"
    return str(n)


def recorded_text(info):
    """How a trace was recorded, as the loader's summary (trace.info) says."""
    if info["layer"] == "unknown":
        return "a version-1 trace: how it was recorded is not known"
    if not info.get("python"):
        return "not a Python program"
    pm = info.get("pythonmalloc")
    return f"recorded under PYTHONMALLOC={pm}" if pm else "recorded under CPython's pymalloc (objects of 1-512 B missing)"


def trace_info(params):
    """The trace's summary (headers only), or None when the file is not readable here (a run moved elsewhere).
    Read once per file and version: recommend and report ask for it per case and per question."""
    path = runs.parse_params(params).get("trace")
    try:
        st = os.stat(path) if path else None
    except OSError:
        return None
    return _peek(path, st.st_mtime_ns, st.st_size) if st else None


@functools.lru_cache(maxsize=None)
def _peek(path, _mtime_ns, _size):  # keyed by the file's version too: `record` appends a note to a trace
    try:
        return trace.info(path, peek=True)
    except UsageError:
        return None


def replay_line(run, config, params):
    """`replay of app.pabt (recorded under PYTHONMALLOC=malloc, 85 M events), layer pymalloc, after free at mark
    `after_spike`` for one replay case (the `mark` column of its rows names the mark replay used)."""
    p = runs.parse_params(params)
    info = trace_info(params)
    name = os.path.basename(p.get("trace") or "?")
    if info is None:
        how = "the trace is not readable here, so how it was recorded is not known"
    else:
        how = f"{recorded_text(info)}, {_count(info.get('calls') or 0)} events"
    marks = sorted({r["mark"] for r in run.cases.get((config, REPLAY, params), []) if r.get("mark")})
    mark = ", ".join(f"`{m}`" for m in marks) or f"`{p.get('mark', 'exit')}`"
    where = "at the end of the trace" if marks == ["end"] else f"at mark {mark}"
    return f"replay of {name} ({how}), layer {p.get('layer', 'recorded')}, after free {where}"


def replay_lines(run, workloads):
    """One line per replay case of the selected workloads, in the run's order."""
    if REPLAY not in workloads:
        return []
    out = []
    for params in run.params_of(REPLAY):
        config = next((c for c in run.configs if (c, REPLAY, params) in run.cases), run.configs[0])
        out.append(replay_line(run, config, params))
    return out


def command(run, workloads, program_run=None):
    """The user's command for a deploy line: the try run's (meta.json), else the recorded trace's command line."""
    if program_run is not None and (program_run.meta.get("program") or {}).get("command"):
        return program_run.meta["program"]["command"]
    if REPLAY in workloads:
        for params in run.params_of(REPLAY):
            info = trace_info(params)
            if info and info.get("cmdline"):
                return shlex.join(info["cmdline"])
    return None


def release_point(run, workloads):
    """Where a release=cycle winner's call goes when replay is the evidence: at the mark replay measured (its rows'
    `mark` column; not the program's end, `exit` or `end`, which is no point to release at), else None."""
    if REPLAY not in workloads:
        return None
    marks = sorted({r["mark"] for (_, w, _), rows in run.cases.items() if w == REPLAY for r in rows
                    if r.get("mark") not in (None, "", "exit", "end")})
    return f"in your program at the point marked `{marks[0]}` (where replay measured)" if len(marks) == 1 else None


def replay_is_python(run):
    """True when the replayed traces are a Python interpreter's (so a layer=malloc winner needs PYTHONMALLOC=malloc);
    a trace that is not readable here counts as Python when its rows name a layer."""
    for params in run.params_of(REPLAY):
        info = trace_info(params)
        if info is not None:
            return bool(info.get("python"))
    return True

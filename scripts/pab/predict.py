# What recommend may say about a program's time (docs/design.md §11): replay rows time the allocator's calls alone,
# so without the program's own time (--program TRY_RUN) no program-level time change is printed; with it, time is
# the program's time projected by projection.py.  Also: the evidence lines and the command of the deploy line.
from . import deploy, evidence, projection, runs, schema, stats
from .errors import UsageError

PROGRAM_TIME = "program time (projected)"
REPLAY_TIME = "allocator time (replay)"
C_TIME = "allocator time (C model)"
MEMORY = ("rss_peak_bytes", "rss_after_free_bytes", "rss_after_idle_bytes", "rss_after_release_bytes")
PAGE = 4096  # a memory figure is kept positive (a ratio needs it): growth below a page counts as a page


def load(paths):
    """recommend's RUN arguments as one run: one run, or several replay runs (of one trace, e.g. one per layer)."""
    loaded = [runs.Run(p) for p in paths or [runs.default_run()]]
    if len(loaded) > 1 and any(r.workloads != [evidence.REPLAY] for r in loaded):
        raise UsageError("several RUNs are joined only when each holds replay rows alone (e.g. one run per layer of "
                         "one trace); give one run otherwise")
    return loaded[0].joined(loaded[1:]) if len(loaded) > 1 else loaded[0]


def traces(run):
    return list(dict.fromkeys(runs.parse_params(p).get("trace") for p in run.params_of(evidence.REPLAY)))


def recorded_layer(run):
    """The try layer whose time the projection starts from: malloc for a Python trace (recorded under
    PYTHONMALLOC=malloc, replayed as layer=malloc), none for another program."""
    return "malloc" if evidence.replay_is_python(run) else None


def setup(run, workloads, program_path, max_slowdown):
    """The projection for recommend (None without --program), after checking the options make sense here."""
    replay = evidence.REPLAY in workloads
    if program_path is None:
        if replay and max_slowdown is not None:
            raise UsageError("--max-slowdown on replay rows needs the program's own time (replay times the allocator "
                             "alone): give --program TRY_RUN, a `pyalloc try --configs glibc -- CMD` run of the "
                             "recorded command")
        return None
    if workloads != [evidence.REPLAY]:
        raise UsageError("--program projects replay rows: select them alone (--workloads replay)")
    n = len(traces(run))
    if n != 1:
        raise UsageError(f"--program: the replay rows hold {n} traces; the projection is for one "
                         f"program (select one trace's runs)")
    return projection_of(run, runs.Run(program_path), "--program")


def projection_of(run, try_run, who):
    """The projection of replay rows (run) onto the program measured by try_run; `who` names the caller in errors."""
    rec_layer = recorded_layer(run)
    rec = replay_params(run, "malloc")
    if rec is None:
        raise UsageError(f"{who}: the projection needs glibc replayed at layer=malloc, the layer the trace was "
                         "recorded with (`pyalloc run --workloads replay --param trace=... --param layer=malloc`)")
    def glibc_ns_at(layer):
        params = replay_params(run, layer)
        return params and stats.median(run.values(runs.BASELINE, evidence.REPLAY, params, projection.COLUMN))
    # keyed by try's layers: a non-Python program's try rows have none, its replay is the malloc layer
    glibc_ns = {layer: glibc_ns_at(layer) for layer in schema.LAYERS} if rec_layer else {None: glibc_ns_at("malloc")}
    glibc_ns = {layer: a for layer, a in glibc_ns.items() if a}
    if rec_layer not in glibc_ns:
        raise UsageError(f"{who}: glibc's replay rows have no {projection.COLUMN} to project from")
    base_layer = "pymalloc" if "pymalloc" in glibc_ns else rec_layer
    times = projection.program_times(try_run, rec_layer, glibc_ns)
    program = times[rec_layer]
    memory = {}
    for col in MEMORY:
        m, g = program.median(col), median_growth(run, rec, col)
        if m is not None and g is not None:
            memory[col] = m - g
    p = projection.Projection(times, glibc_ns, base_layer, rec_layer, memory=memory)
    p.base_label = deploy.with_layer(runs.BASELINE, base_layer)
    return p


def growth(row, col):
    return row[col] - row["rss_base_bytes"] if row.get(col) is not None and row.get("rss_base_bytes") is not None \
        else None


def median_growth(run, params, col="rss_after_free_bytes", config=runs.BASELINE, workload=evidence.REPLAY):
    """The median over a case's ok rows of a memory column's growth above rss_base (None without values)."""
    return stats.median([g for r in run.cases.get((config, workload, params), []) for g in [growth(r, col)]
                         if g is not None])


def replay_memory(rows, col, project=None):
    """A replay's memory figures as the program's: its base holds the trace's records (hundreds of MB), so what counts
    is the growth above it; with the program's own run (project), the program's figure under the recorded
    configuration plus replay's difference from it: M(c) = M(rec) + G(c) - G(rec), as for time."""
    if col not in MEMORY:
        return rows
    offset = project.memory.get(col, 0) if project is not None else 0
    return [dict(r, **{col: max(growth(r, col) + offset, PAGE)}) for r in rows if growth(r, col) is not None]


def replay_params(run, layer):
    ps = [p for p in run.params_of(evidence.REPLAY) if runs.layer_of(p) == layer
          and run.values(runs.BASELINE, evidence.REPLAY, p, projection.COLUMN)]
    return ps[0] if ps else None


def time_name(run, workloads, project):
    """What the time figures of these rows are: the program's projected time, a replay's allocator time, the C
    model's allocator time, or (CPython twins, try) plain time."""
    if project is not None:
        return PROGRAM_TIME
    if evidence.REPLAY in workloads:
        return REPLAY_TIME
    if run.meta.get("kind") == "try" or evidence.has_cpython(run, workloads):
        return "time"
    return C_TIME


def header_lines(run, workloads, project):
    """Evidence and what time means here, printed before the decision."""
    out = [f"Evidence: {line}" for line in evidence.replay_lines(run, workloads)]
    if project is None:
        if evidence.REPLAY in workloads:
            out.append("Memory is the growth above the replay's base (which holds the trace's records).")
            out.append("Time is the allocator's alone (replay's calls), not the program's; the program's change "
                       "needs its own time: `pyalloc try --configs glibc -- CMD` (the recorded configuration, on each "
                       "layer), then `pyalloc recommend RUN --program TRY_RUN`.")
        return out
    p = project
    out += [f"Program time: {t.describe()}." for t in p.times.values()]
    unmeasured = [layer for layer in p.glibc_ns if not p.measured(layer)]
    out.append(f"Projected: P(c) = T(L) + {p.k:g} × (A(c) − A(glibc, L)) on the candidate's layer L, T(L) the "
               f"program's time under glibc on L, A = replay's {projection.COLUMN} (docs/design.md §11)"
               + (f"; layer {', '.join(unmeasured)} has no measured time and starts from "
                  f"{deploy.with_layer(runs.BASELINE, p.program.layer)}'s (a layer switch does more to the interpreter "
                  f"than replay sees: measure it with `pyalloc try --configs glibc -- CMD`)" if unmeasured else "")
               + f". The allocator's calls as replayed take {100 * p.recorded_share():.0f} % of the recorded "
               f"configuration's measured time and {_pct(p.share, p.share_lo, p.share_hi)} of {p.base_label}'s "
               f"{p.base_time() / 1e9:.3f} s; every time ratio below is the program's projected time.")
    out.append("Memory: the program's, projected the same way: the try run's figure under the recorded configuration "
               "plus replay's difference in growth from it.")
    return out


def _pct(u, lo, hi):
    return f"{100 * u:.0f} %" + (f" [{100 * lo:.0f}–{100 * hi:.0f} %]" if lo is not None else "")


def replay_pymalloc_off(run, layer):
    """A replay winner needs PYTHONMALLOC=malloc when its rows are the malloc layer of a Python trace."""
    return layer == "malloc" and evidence.replay_is_python(run)


def runtime_lines(c_model, everything, decided):
    """With CPython twins in the run: which rows decide, and what the C model's figures are."""
    if c_model is None:
        return []
    out = ["CPython twins decide (runtime=cpython rows: real Python under each configuration); the C model's figure "
           "beside each is the allocator's alone (its time leaves out everything a program does besides allocating)."]
    alone = [w for w in everything if w not in decided]
    if alone:
        out.append(f"{', '.join(alone)}: no CPython twin, decided on the C model alone and left out of the overall.")
    return out


def c_model_line(c_model, cand, workload, objective, show):
    """The C model's figure for the CPython winner, labelled as the allocator's alone."""
    fig = c_model.evidence(cand, [workload], {}, objective, ci=True)
    return f"    C model, the allocator alone: {c_model.names[objective]} " + (show(fig) if fig else "n/a")

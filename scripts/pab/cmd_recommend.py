# `pyalloc recommend [RUN]`: the allocator decision. Per workload and overall (weighted geometric mean), the
# configuration that best meets the objective under the constraints, its evidence, and the exact line to deploy it.
import re
from collections import OrderedDict

from . import deploy, evidence, paired, predict, runs, schema, stats, tryresults
from .errors import UsageError
from .units import split_list

OBJECTIVES = OrderedDict([("time", "time"), ("peak", "peak"), ("retained", "after_free"),
                          ("idle", "after_idle")])  # -> stats.METRICS key; idle: a run with idle_ms > 0
NAMES = {"time": "time", "peak": "peak RSS", "after_free": "retained RSS (after free)",
         "after_idle": "RSS after idle"}
PYMALLOC_FLAT = 0.05  # under pymalloc, configurations within 5 % of glibc "differ little"


def register(sub):
    p = sub.add_parser("recommend", help="the allocator decision: objective, constraints, deploy line",
                       description="Which configuration best meets the objective (relative to glibc) under the "
                                   "constraints, per workload and overall, and how to deploy it. Exit 1 when no "
                                   "configuration meets the constraints.")
    p.add_argument("run", nargs="*", metavar="RUN", help="a run directory (default: <repo>/results/latest); several "
                                                         "replay runs of one trace (one per layer) are joined")
    p.add_argument("--program", metavar="TRY_RUN",
                   help="replay rows: a `pyalloc try` run of the recorded command under glibc with the recorded "
                        "layer (the program's own time), from which each candidate's program time is projected")
    p.add_argument("--host", help="the host whose rows decide, in a run of several (merged) hosts")
    p.add_argument("--objective", choices=list(OBJECTIVES), default="time",
                   help="minimise time per cycle, peak RSS, retained RSS after free, or RSS after idle (a run "
                        "with --param idle_ms=...; default: time)")
    p.add_argument("--max-slowdown", type=pct, metavar="PCT",
                   help="at most PCT %% slower than glibc (5%% or 5; a negative limit, written --max-slowdown=-5%%, "
                        "demands that much faster)")
    p.add_argument("--max-memory", type=pct, metavar="PCT",
                   help="neither peak nor retained RSS more than PCT %% above glibc's (negative: --max-memory=-20%%)")
    p.add_argument("--workloads", action="append", metavar="W[,W...]", help="only these workloads (default: all)")
    p.add_argument("--weights", metavar="W=X[,W=X...]", help="weights of workloads in the overall geometric mean "
                                                                 "(default 1 each)")
    p.set_defaults(func=main)


def pct(text):
    m = re.fullmatch(r"\s*([+-]?\d+(?:\.\d+)?)\s*%?\s*", text)
    if not m:
        raise UsageError(f"{text!r} is not a percentage (write 5% or 5)")
    return float(m.group(1))


def parse_weights(text, known):
    out = {}
    for item in split_list(text, "--weights") if text is not None else []:
        w, _, x = item.partition("=")
        if w not in known:
            raise UsageError(f"--weights: unknown workload {w!r} (this run has {', '.join(known)})")
        try:
            out[w] = float(x)
        except ValueError:
            raise UsageError(f"--weights: {item!r} is not WORKLOAD=NUMBER")
        if out[w] < 0:
            raise UsageError(f"--weights: {item!r}: a weight cannot be negative")
    return out


# --- the model: candidates are (configuration, Python allocator mode) against glibc under CPython's default

class Model:
    def __init__(self, run, workloads):
        self.run = run
        # workload -> {params without layer -> {layer: params}}
        self.pairs = OrderedDict((w, run.by_layer(w)) for w in workloads if run.params_of(w))
        layered = any(k is not None for w in self.pairs.values() for ls in w.values() for k in ls)
        self.modes = schema.LAYERS if layered else schema.LAYERS[:1]
        self.candidates = [(c, m) for m in self.modes for c in run.configs]
        self.names = dict(NAMES, time=predict.time_name(run, workloads, None))  # what each figure measures
        self.project = None  # projection.Projection: replay rows' time becomes the program's projected time
        self.command = "python3 app.py"  # the deploy line's command: the user's own where known

    def params_for(self, layers, mode):
        """A case measured at one layer only is the evidence for both modes; with both, each mode has its own."""
        if len(layers) == 1:
            return next(iter(layers.values()))
        return layers.get(mode)

    def rounds(self, config, workload, params, col):
        """{round: value} of a case (paired.by_round); a replay's memory as the program's (predict.replay_memory)."""
        rows = self.run.cases.get((config, workload, params), [])
        if workload == evidence.REPLAY:
            rows = predict.replay_memory(rows, col, self.project)
        return paired.by_round(rows, col)

    def same_layer_pairs(self, config, workloads, col, layer):
        """[(config's rounds, glibc's rounds)] on the cases of one layer, those that share rounds."""
        pairs = [(self.rounds(config, w, ls[layer], col), self.rounds(runs.BASELINE, w, ls[layer], col))
                 for w in workloads for ls in self.pairs[w].values() if layer in ls]
        return [(x, b) for x, b in pairs if paired.log_ratios(x, b)]

    def layer_gain(self, config, workloads, objective):
        """Geometric mean ratio to glibc on the same rows, separately over layer=malloc and layer=pymalloc cases."""
        col, out = stats.METRICS[objective][0], {}
        for layer in schema.LAYERS:
            pairs = self.same_layer_pairs(config, workloads, col, layer)
            out[layer] = paired.ratio(pairs, ci=False)[0] if pairs else None
        return out

    def needs_pymalloc_off(self, cand, workloads, objective):
        """True when the candidate's gain comes from layer=malloc rows: a Python process gets it only with
        PYTHONMALLOC=malloc. Returns (bool, explanation)."""
        if workloads == [evidence.REPLAY]:  # a replay's rows are the layer the winner runs at
            layers = [runs.layer_of(self.params_for(ls, cand[1])) for ls in self.pairs[evidence.REPLAY].values()]
            if predict.replay_pymalloc_off(self.run, layers[0]):
                return True, "the evidence is the replay's layer=malloc rows"
            return False, None
        if not self.same_rows((cand[0], "malloc"), workloads):  # both layers on the same cases: the ranking decided
            return (True, "it ranks best with PYTHONMALLOC=malloc (layer=malloc rows against glibc under pymalloc)") \
                if cand[1] == "malloc" else (False, None)
        g = self.layer_gain(cand[0], workloads, objective)
        if g["malloc"] is None or g["malloc"] > 1 - PYMALLOC_FLAT:
            return False, None
        if g["pymalloc"] is None:
            return True, (f"its gain ({pct_of(g['malloc'])}) is measured on layer=malloc rows only: Python reaches it "
                          f"with PYTHONMALLOC=malloc")
        if g["pymalloc"] > 1 - PYMALLOC_FLAT:
            return True, (f"its gain is on layer=malloc rows ({pct_of(g['malloc'])}) and small under pymalloc "
                          f"({pct_of(g['pymalloc'])})")
        return False, None

    def evidence(self, cand, workloads, weights, metric, ci):
        """(point, lo, hi) of the weighted geometric mean ratio to glibc, or None when a case has no data."""
        if metric == "time" and self.project is not None:  # replay with the program's time: project it
            return self.project.ratio(self.evidence(cand, workloads, weights, predict.projection.METRIC, ci), cand[1])
        col, pairs, ws = stats.METRICS[metric][0], [], []
        for w in workloads:
            n = len(self.pairs[w])
            for layers in self.pairs[w].values():
                p = self.params_for(layers, cand[1])
                x = self.rounds(cand[0], w, p, col) if p else {}
                base = self.rounds(runs.BASELINE, w, runs.baseline_params(layers), col)
                if not paired.log_ratios(x, base):
                    return None
                pairs.append((x, base))
                ws.append(weights.get(w, 1.0) / n)
        if sum(ws) <= 0:
            return None
        r = paired.ratio(pairs, ws, ci=ci, level=paired.confidence(self.run.meta))
        return r if r[0] is not None else None

    def same_rows(self, cand, workloads):
        return all(self.params_for(ls, cand[1]) == self.params_for(ls, self.modes[0])
                   for w in workloads for ls in self.pairs[w].values())

    def label(self, cand):
        return deploy.with_layer(cand[0], cand[1] if len(self.modes) > 1 else None, name_pymalloc=False)


def decide(model, workloads, weights, args):
    """Ranks candidates for one scope; returns (ranked [(cand, figures)], rejected [(cand, reason)])."""
    objective = OBJECTIVES[args.objective]
    ranked, rejected = [], []
    for cand in model.candidates:
        if cand[1] != model.modes[0] and model.same_rows(cand, workloads):
            continue  # no layer in these cases: PYTHONMALLOC=malloc would rank the very same rows twice
        fig = {m: model.evidence(cand, workloads, weights, m, ci=(m == objective))
               for m in dict.fromkeys(("time", "peak", "after_free", objective))}
        if any(v is None for v in fig.values()):
            rejected.append((cand, "no data for every case (failed, skipped or not run)"))
            continue
        why = violations(fig, args)
        (rejected if why else ranked).append((cand, fig) if not why else (cand, why))
    ranked.sort(key=lambda cf: (round(cf[1][objective][0], 6), model.modes.index(cf[0][1])))
    return ranked, rejected


def violations(fig, args):
    out = []
    if args.max_slowdown is not None and fig["time"][0] > 1 + args.max_slowdown / 100:
        out.append(f"time {pct_of(fig['time'][0])} vs limit {args.max_slowdown:+g} %")
    if args.max_memory is not None:
        for m in ("peak", "after_free"):
            if fig[m][0] > 1 + args.max_memory / 100:
                out.append(f"{NAMES[m]} {pct_of(fig[m][0])} vs limit {args.max_memory:+g} %")
    return "; ".join(out)


def pct_of(r):
    return f"{100 * (r - 1):+.1f} %"


def show(r):
    if r[1] is None:
        return f"{r[0]:.3f}× (no interval: fewer than 2 rounds)"
    noisy = " (too noisy to decide)" if paired.verdict(r, "time") == paired.NOISY else ""  # any family's words
    return f"{r[0]:.3f}× [{r[1]:.3f}–{r[2]:.3f}]{noisy}"


def tied(model, ranked, objective):
    """The candidates whose interval overlaps the best's (no clear winner when there are any)."""
    fb = ranked[0][1][objective]
    return [c for c, f in ranked[1:] if stats.intervals_overlap(fb, f[objective])]


def verdict_lines(model, ranked, rejected, objective, indent="", excluded=False):
    """The decision for one scope, as lines; the first says who wins (or that nobody qualifies)."""
    if not ranked:
        lines = [f"{indent}none qualifies: every configuration breaks a constraint or lacks data"]
        return lines + [f"{indent}  {model.label(c)}: {why}" for c, why in rejected]
    (best, fb), rest = ranked[0], ranked[1:]
    ev = (f"{model.names[objective]} {show(fb[objective])} of glibc's; "
          f"{model.names['time']} {pct_of(fb['time'][0])}, "
          f"peak {pct_of(fb['peak'][0])}, retained {pct_of(fb['after_free'][0])}")
    if tied(model, ranked, objective):
        head = f"{indent}no clear winner: {model.label(best)} is best on the point estimate, but its interval overlaps " \
               f"{', '.join(model.label(c) for c in tied(model, ranked, objective))}"
    else:
        head = f"{indent}{model.label(best)}"
    lines = [head, f"{indent}  {ev}"]
    if rest:
        lines.append(f"{indent}  runner-up {model.label(rest[0][0])}: {model.names[objective]} "
                     f"{show(rest[0][1][objective])}")
    if excluded and len(rest) > 1:
        lines.append(f"{indent}  then: " + ", ".join(f"{model.label(c)} {f[objective][0]:.3f}×" for c, f in rest[1:]))
    if excluded and rejected:
        lines += [f"{indent}  excluded {model.label(c)}: {why}" for c, why in rejected]
    return lines


def deploy_lines(run, model, best, workloads, objective, status, args):
    """The line to deploy the winner, what else it needs, and where it breaks the constraints."""
    row = run.config_row(best[0])
    off, why = model.needs_pymalloc_off(best, workloads, objective)
    print(f"\nDeploy{status}:\n  {deploy.line(row, pymalloc_off=off, program=model.command)}")
    if why:
        print(f"  PYTHONMALLOC=malloc because {why}")
    where = evidence.release_point(run, workloads)
    call = deploy.release_call(row, where) if where else deploy.release_call(row)
    if call:
        print(f"  and {call}")
        if row.get("allocator") != "glibc":
            print("  (not glibc's malloc_trim: under a preloaded allocator it only trims glibc's unused heap)")
    against = [w for w in workloads if violations(
        {m: model.evidence(best, [w], {}, m, ci=False) or (0, None, None) for m in ("time", "peak", "after_free")},
        args)]
    if against:
        print(f"  caveat: on {', '.join(against)} alone it breaks the constraints (see per workload above)")


def deploy_status(model, ranked, objective):
    """What the deploy line may claim: '' (a clear winner), a qualification, or None when the winner is not clearly
    better than plain glibc (its interval holds 1.0, has none, or overlaps glibc's): then there is no deploy line."""
    best, fb = ranked[0]
    base = (runs.BASELINE, model.modes[0])
    if best == base:
        return " (glibc as it is: nothing to change)"
    _, lo, hi = fb[objective]
    others = tied(model, ranked, objective)
    if lo is None or hi >= 1 or base in others:
        return None
    if others:
        return (f" (no clear winner among {', '.join(model.label(c) for c in [best] + others)}: all clearly better "
                f"than plain glibc, within noise of each other; this is the best point estimate)")
    return ""


def pymalloc_note(model, workloads, objective):
    """What an unmodified CPython (pymalloc for objects <= 512 B) gets: compare layer=pymalloc rows across configs."""
    projected = objective == "time" and model.project is not None  # the program's projected time, not replay's
    col, spread = stats.METRICS[predict.projection.METRIC if projected else objective][0], []
    for c in model.run.configs:
        pairs = model.same_layer_pairs(c, workloads, col, "pymalloc")
        if pairs and c != runs.BASELINE:
            r = paired.ratio(pairs, ci=False)[0]
            r = model.project.ratio((r, None, None), "pymalloc")[0] if projected else r
            spread.append((abs(r - 1), c, r))
    if not spread:
        if any("malloc" in ls for w in workloads for ls in model.pairs[w].values()):
            return ("The selected cases have no layer=pymalloc rows, so they show what malloc itself does; an "
                    "unmodified Python process serves objects up to 512 bytes from pymalloc and would see less of it.")
        return None
    top = max(spread)
    if top[0] < PYMALLOC_FLAT:
        return (f"Under CPython's default allocator (layer=pymalloc rows) the configurations differ from glibc by at "
                f"most {100 * top[0]:.1f} % in {model.names[objective]}: pymalloc keeps objects up to 512 bytes in its own "
                f"arenas, away from malloc, so a Python process would not benefit from swapping malloc alone; the "
                f"layer=malloc gains need PYTHONMALLOC=malloc.")
    return (f"Under CPython's default allocator (layer=pymalloc rows) configurations still differ: up to "
            f"{pct_of(top[2])} in {model.names[objective]} ({top[1]}).")


def main(args):
    run = predict.load(args.run)
    if args.host:
        run = run.on_host(args.host)
    elif len(run.hosts) > 1:  # rounds of two machines are not rounds of one experiment
        raise UsageError(f"{run.dir} holds the rows of hosts {', '.join(run.hosts)}: say whose decide with --host NAME")
    if runs.BASELINE not in run.configs:
        raise UsageError(f"{run.dir}: no `{runs.BASELINE}` rows: recommend compares against glibc")
    wanted = [w for item in (args.workloads or []) for w in split_list(item, "--workloads")]
    unknown = [w for w in wanted if w not in run.workloads]
    if unknown:
        raise UsageError(f"--workloads: {', '.join(unknown)} not in this run (it has {', '.join(run.workloads)})")
    workloads = wanted or run.workloads
    weights = parse_weights(args.weights, workloads)
    objective = OBJECTIVES[args.objective]
    project = predict.setup(run, workloads, args.program, args.max_slowdown)
    everything, c_model = workloads, None
    if evidence.has_cpython(run, workloads):  # CPython twins decide; the C model's figures are the allocator's alone
        c_model = Model(evidence.of_runtime(run, "c"), workloads)
        run, workloads = evidence.of_runtime(run, "cpython"), evidence.twins(run, workloads)
    model = Model(run, workloads)
    model.project, model.names["time"] = project, predict.time_name(run, workloads, project)
    model.command = evidence.command(run, workloads, project and project.program.run) or model.command
    limits = [f"time at most {args.max_slowdown:+g} % vs glibc" if args.max_slowdown is not None else None,
              f"peak and retained RSS at most {args.max_memory:+g} % vs glibc" if args.max_memory is not None else None]
    print(f"run {run.name}: objective {NAMES[objective]}; constraints: "
          f"{'; '.join(x for x in limits if x) or 'none'}")
    print(f"Ratios: to glibc in the same round (CPython's default pymalloc where the run has layer=pymalloc rows), "
          f"geometric mean over rounds [95 % interval]; geometric mean over cases, each workload weighing "
          f"{'as --weights says' if weights else '1'}.")
    for line in predict.header_lines(run, workloads, project) + predict.runtime_lines(c_model, everything, workloads):
        print(line)
    print("\nPer workload:")
    for w in everything:
        m = model if w in workloads else c_model
        ranked, rejected = decide(m, [w], {}, args)
        lines = verdict_lines(m, ranked, rejected, objective, indent="  ")
        print(f"  {w}: " + lines[0].strip() + (" (C model only: it has no CPython twin)" if m is c_model else ""))
        print("\n".join(lines[1:]))
        if c_model is not None and m is model and ranked:
            print(predict.c_model_line(c_model, ranked[0][0], w, objective, show))
    ranked, rejected = decide(model, workloads, weights, args)
    print(f"\nOverall ({len(workloads)} workload{'s' if len(workloads) > 1 else ''}, weighted geometric mean):")
    print("\n".join(verdict_lines(model, ranked, rejected, objective, indent="  ", excluded=True)))
    if not ranked:
        return 1
    if tryresults.is_try(run):  # the user's own program: keep what you have, or the line that was measured
        return tryresults.advise(run, model, ranked, workloads, NAMES, objective)
    status = deploy_status(model, ranked, objective)
    if status is None:
        best, fb = ranked[0]
        figure = show(fb[objective])
        print(f"\nDeploy: nothing — keep glibc as it is. {model.label(best)} is best on the point estimate, but this "
              f"run cannot tell it from plain glibc ({model.names[objective]} {figure}); more rounds "
              "(`pyalloc run --rounds auto`) or a quieter machine can decide.")
    else:
        deploy_lines(run, model, ranked[0][0], workloads, objective, status, args)
    note = pymalloc_note(model, workloads, objective)
    if note:
        print("\n" + note)
    return 0

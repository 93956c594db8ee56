# `pyalloc fidelity --try TRY_RUN REPLAY_RUN...`: replay against reality (docs/design.md §11).  Per configuration and
# layer: the growth retained at the mark (rss_after_free - rss_base) in the program (try) and in replay, the program's
# time change against glibc on the same layer as try measured it and as projection.py projects it from replay, and
# what each would recommend; the goals it misses are flagged.
import math

from . import deploy, evidence, paired, predict, projection, runs, schema, stats, units
from .errors import UsageError

GROWTH_TOLERANCE = 0.20  # retained growth: replay within +-20 % of the program's
GROWTH_FLOOR = 1 << 20   # ... or within 1 MiB (a smaller gap is noise)
RHO_MIN = 0.9            # Spearman's rho of the configurations' retained growth, per layer
TIME_GOAL = 1 / 3        # the projection's error at most this share of try's spread (best to worst) on the malloc layer
PICK_TOLERANCE = 0.05    # replay's pick, measured by try, within 5 % of try's own pick
MIB = float(1 << 20)


def by_layer(run, workload):
    """{layer: params} of a workload's cases, which must differ in the layer alone."""
    out = run.by_layer(workload)
    if len(out) != 1:
        what = "replay rows of one trace and one set of parameters" if workload == evidence.REPLAY else "one command"
        raise UsageError(f"{run.dir}: {len(out)} different {workload} cases; fidelity compares {what} (the layer "
                         f"may differ)")
    return next(iter(out.values()))


def within(x, ref):
    """A replayed growth close enough to the program's: within GROWTH_TOLERANCE of it, or within GROWTH_FLOOR."""
    return abs(x - ref) <= GROWTH_FLOOR or abs(x - ref) <= GROWTH_TOLERANCE * abs(ref)


def ratio(run, workload, cand, base, column):
    """(point, lo, hi) of one case against another, cand and base (config, params), as report takes ratios."""
    return paired.case_ratio(run, cand[0], workload, cand[1], column, baseline_params=base[1], baseline=base[0])


class SideBySide:
    """The comparison of one try run with the replay rows of the same program."""

    def __init__(self, try_run, replay_run):
        self.tr, self.rp = try_run, replay_run
        self.try_layers, self.rp_layers = by_layer(try_run, "program"), by_layer(replay_run, evidence.REPLAY)
        self.proj = predict.projection_of(replay_run, try_run, "fidelity")
        self.program = self.proj.program
        rec = self.rp_layers.get("malloc")
        self.layers = [x for x in schema.LAYER_ORDER if x in self.rp_layers and self._try_params(x)]
        g_try_rec = predict.median_growth(try_run, self._try_params("malloc") or "", workload="program")
        g_rp_rec = predict.median_growth(replay_run, rec)
        # the program's memory outside replay's growth (its code, the interpreter's mappings): from the recorded run
        self.offset = g_try_rec - g_rp_rec if g_try_rec is not None and g_rp_rec is not None else None
        if not self.layers:
            raise UsageError("fidelity: the try run and the replay rows share no layer")
        self.configs = [c for c in try_run.configs if c in replay_run.configs]
        self.rows = [self._row(c, layer) for layer in self.layers for c in self.configs]
        self.rows = [r for r in self.rows if r]

    def _try_params(self, layer):
        """try's case for a replay layer (a non-Python program's try rows have no layer; its replay is malloc)."""
        return self.try_layers.get(layer) or (self.try_layers.get(None) if layer == "malloc" else None)

    def key(self, layer):
        """The projection's name of a replay layer: try's (a non-Python program's try rows have no layer)."""
        return layer if self.program.layer is not None else None

    def _row(self, config, layer):
        tp, rp = self._try_params(layer), self.rp_layers[layer]
        if (config, "program", tp) not in self.tr.cases or (config, evidence.REPLAY, rp) not in self.rp.cases:
            return None
        g_try = predict.median_growth(self.tr, tp, config=config, workload="program")
        g_rp = predict.median_growth(self.rp, rp, config=config)
        t_try = ratio(self.tr, "program", (config, tp), (runs.BASELINE, tp), "real_ns")
        r = ratio(self.rp, evidence.REPLAY, (config, rp), (runs.BASELINE, rp), projection.COLUMN)
        known = self.key(layer) in self.proj.glibc_ns
        t_proj = self.proj.ratio(r, self.key(layer), against=self.key(layer)) if known else (None, None, None)
        t_try_med = stats.median(self.tr.values(config, "program", tp, "real_ns"))
        a = stats.median(self.rp.values(config, evidence.REPLAY, rp, projection.COLUMN))
        g_proj = g_rp + self.offset if g_rp is not None and self.offset is not None else None
        flags = []
        if g_try is not None and g_rp is not None and not within(g_rp, g_try):
            flags.append(f"retained {g_rp / g_try if g_try > 0 else math.inf:.2f}x")
        return dict(config=config, layer=layer, g_try=g_try, g_rp=g_rp, g_proj=g_proj, t_try=t_try, t_proj=t_proj, flags=flags,
                    time_try=t_try_med, time_proj=self.proj.program_ns(a, self.key(layer)) if a and known else None)

    def layer_summary(self, layer):
        rows = [r for r in self.rows if r["layer"] == layer]
        pairs = [(r["g_try"], r["g_rp"]) for r in rows if r["g_try"] is not None and r["g_rp"] is not None]
        rho = stats.spearman([a for a, _ in pairs], [b for _, b in pairs])
        meas = [r["t_try"][0] for r in rows if r["t_try"][0] is not None]
        errs = [abs(r["t_proj"][0] - r["t_try"][0]) for r in rows if r["config"] != runs.BASELINE
                and r["t_proj"][0] is not None and r["t_try"][0] is not None]
        spread = max(meas) - min(meas) if meas else None
        return dict(layer=layer, rho=rho, spread=spread, max_err=max(errs) if errs else None,
                    judged=layer in ("malloc", None))

    def layer_switch(self):
        """Ratios of glibc under pymalloc to glibc under PYTHONMALLOC=malloc: (try's, the projection's, replay's alone
        from the recorded layer's time, whether the projection measured it), or None.  With both layers' glibc time
        in the try run the projection takes the switch from try; replay alone shows what it would miss."""
        if not {"pymalloc", "malloc"} <= set(self.layers):
            return None
        py, ma = self._try_params("pymalloc"), self._try_params("malloc")
        t = ratio(self.tr, "program", (runs.BASELINE, py), (runs.BASELINE, ma), "real_ns")
        r = ratio(self.rp, evidence.REPLAY, (runs.BASELINE, self.rp_layers["pymalloc"]),
                  (runs.BASELINE, self.rp_layers["malloc"]), projection.COLUMN)
        p = self.proj
        alone = projection.Projection({self.program.layer: self.program}, p.glibc_ns, p.base_layer, self.program.layer)
        return (t, p.ratio(r, "pymalloc", against="malloc"), alone.ratio(r, "pymalloc", against="malloc"),
                p.measured("pymalloc"))

    def picks(self):
        """(objective, try's pick, replay's pick, try's value of replay's pick against its own pick's) for time and
        retained, over every configuration x layer both measured: the best point estimates, as recommend ranks."""
        out = []
        for name, t_key, r_key in (("time", "time_try", "time_proj"), ("retained", "g_try", "g_rp")):
            rows = [r for r in self.rows if r[t_key] is not None and r[r_key] is not None]
            if not rows:
                continue
            best_try = min(rows, key=lambda r: r[t_key])
            best_rp = min(rows, key=lambda r: r[r_key])
            off = best_rp[t_key] / best_try[t_key] - 1 if best_try[t_key] > 0 else (0.0 if best_rp[t_key] <= 0 else math.inf)
            out.append((name, best_try, best_rp, off))
        return out


def _label(r):
    return deploy.with_layer(r["config"], r["layer"])


def _mib(x):
    return "n/a" if x is None else f"{x / MIB:.1f}"


def _chg(r):
    return "n/a" if r is None or r[0] is None else f"{100 * (r[0] - 1):+.1f} %"


def table(sbs):
    head = ("configuration", "layer", "retained try MiB", "replay MiB", "replay/try", "projected/try", "time try",
            "projected", "error", "flag")
    lines = []
    for r in sbs.rows:
        err = "n/a" if r["t_proj"][0] is None or r["t_try"][0] is None else \
            f"{100 * (r['t_proj'][0] - r['t_try'][0]):+.1f} pp"
        rr, rp = (("n/a" if not r["g_try"] or r[k] is None else f"{r[k] / r['g_try']:.2f}") for k in ("g_rp", "g_proj"))
        lines.append((r["config"], r["layer"] or "-", _mib(r["g_try"]), _mib(r["g_rp"]), rr, rp, _chg(r["t_try"]),
                      _chg(r["t_proj"]), err, "; ".join(r["flags"]) or "ok"))
    return units.columns([head] + lines)


def summary_lines(sbs):
    out = []
    for key, what in (("g_rp", "replay's growth"), ("g_proj", "projected (replay's + the recorded run's offset)")):
        both = [r for r in sbs.rows if r["g_try"] is not None and r[key] is not None]
        near = [r for r in both if within(r[key], r["g_try"])]
        out.append(f"retained within {GROWTH_TOLERANCE:.0%} (or 1 MiB) of the program's, {what}: {len(near)} of "
                   f"{len(both)}")
    for layer in sbs.layers:
        s = sbs.layer_summary(layer)
        rho = "n/a" if math.isnan(s["rho"]) else f"{s['rho']:.2f}"
        rho_flag = "" if math.isnan(s["rho"]) or s["rho"] >= RHO_MIN else f" (MISS: below {RHO_MIN})"
        line = f"layer {layer or '-'}: retained rho {rho}{rho_flag}"
        if s["spread"] is not None and s["max_err"] is not None:
            goal = TIME_GOAL * s["spread"]
            verdict = ("ok" if s["max_err"] <= goal else "MISS") if s["judged"] else "not judged on this layer"
            line += (f"; time: try's spread {100 * s['spread']:.1f} pp, projection's largest error "
                     f"{100 * s['max_err']:.1f} pp, goal {100 * goal:.1f} pp ({verdict})")
        out.append(line)
    switch = sbs.layer_switch()
    if switch:
        t, proj, alone, measured = switch
        out.append(f"layer switch, glibc + pymalloc against glibc + PYTHONMALLOC=malloc: try {_chg(t)}, "
                   + (f"the projection takes it from try; replay alone would say {_chg(alone)}" if measured else
                      f"projected {_chg(proj)}"))
    for name, best_try, best_rp, off in sbs.picks():
        same = best_try is best_rp
        verdict = "same pick" if same else ("within 5 %" if off <= PICK_TOLERANCE else "MISS")
        unit = (lambda r: f"{r['time_try'] / 1e9:.3f} s") if name == "time" else (lambda r: f"{_mib(r['g_try'])} MiB")
        line = f"recommend by {name}: from try {_label(best_try)} ({unit(best_try)})"
        line += "" if same else f", from replay {_label(best_rp)} (try measured {unit(best_rp)}, {100 * off:+.1f} %)"
        out.append(line + f": {verdict}")
    return out


def main(try_path, replay_paths):
    try_run = runs.Run(try_path)
    if not try_run.meta.get("kind") == "try":
        raise UsageError(f"--try {try_path}: not a `pyalloc try` run")
    replay = predict.load(replay_paths)
    if evidence.REPLAY not in replay.workloads:
        raise UsageError(f"{', '.join(replay_paths)}: no replay rows (give the runs of `pyalloc run --workloads replay`)")
    sbs = SideBySide(try_run, replay)
    print(f"replay against the program: try run {try_run.name}, replay {replay.name}"
          + (f" and {len(replay_paths) - 1} more" if len(replay_paths) > 1 else ""))
    for line in evidence.replay_lines(replay, [evidence.REPLAY]):
        print(f"evidence: {line}")
    print(f"program time: {'; '.join(t.describe() for t in sbs.proj.times.values())}; projection: P(c) = T(L) + "
          f"{projection.K:g} x (A(c) - A(glibc, L)) on the candidate's layer L, A = replay's {projection.COLUMN}")
    print(f"retained = rss_after_free - rss_base at the mark, medians; time = change against glibc on the same layer "
          f"(try: measured; projected from replay); projected retained = replay's + the recorded configuration's "
          f"offset (try - replay under glibc + PYTHONMALLOC=malloc); flags: replay's retained off by more than "
          f"{GROWTH_TOLERANCE:.0%} (and 1 MiB); goals: rho >= {RHO_MIN} per layer, the time error within a third of try's spread on the "
          f"malloc layer, replay's pick within {PICK_TOLERANCE:.0%} of try's")
    for line in table(sbs):
        print(line)
    print()
    for line in summary_lines(sbs):
        print(line)
    return 0

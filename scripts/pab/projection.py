# A program's time projected from replay (docs/design.md §11): replay times the allocator's calls alone, so a
# candidate's program time is the program's own measured time with the allocator's part exchanged:
#
#     P(c) = T(L) + K * (A(c) - A(glibc, L))
#
#   L       the candidate's Python allocator layer (pymalloc, or malloc: PYTHONMALLOC=malloc)
#   T(L)    the program's wall time under glibc on layer L, from a `pyalloc try` run of the recorded command
#           (`record` does not rerun the program); its interval is that run's over rounds. The recorded layer's T
#           is needed; another layer's is used where the try run has it (else L = the recorded layer above):
#           replay cannot see what a layer switch does to the interpreter itself, which measured on the example
#           programs was most of it, so a measured T(L) replaces that part of the projection
#   A(c)    replay's time of candidate c in COLUMN (below); A(glibc, L): glibc's on that layer
#   K       how much of a change of allocator time reaches the program (below)
#
# A ratio P(c)/P(ref) is taken from replay's ratio r = A(c)/A(ref) (ref: glibc on a layer; the baseline b is glibc
# under pymalloc where the replay has that layer, as recommend's). On one anchor, with u = A(b)/P(b) the
# allocator's share of b's time, it is the line P(c)/P(b) = 1 + K * u * (r - 1): a replay ratio is never the
# program's change, it is diluted by the allocator's share. The interval takes the corners of r's interval, of
# the reference's T and of the two layers' T ratio (paired within the try's rounds). COLUMN and K were chosen by
# measurement against `try` on the six example programs (docs/design.md §11 states the models compared).
#
# Memory the same way: M(c) = M(rec) + G(c) - G(rec), with M(rec) the try run's figure (peak, after free, ...) under
# the recorded configuration and G replay's growth above its base (which holds the trace's records): the program's
# own base and what it holds outside malloc (its code, the interpreter's mappings) come from the program.
from . import deploy, paired, runs, stats
from .errors import UsageError

COLUMN = "cold_ns"  # the first replay cycle of a fresh process: a program, too, runs its allocations once, cold
METRIC = "cold"     # its key in stats.METRICS
K = 1.0             # the additive model: a fitted K (0.8-1.1 on the six programs) did not predict better


def _interval(rounds, meta):
    """(point, lo, hi) of a time over rounds ({round: ns}): paired.ratio against a constant 1, i.e. the geometric mean
    over rounds with its t interval, as every ratio the project shows."""
    return paired.ratio([(rounds, {k: 1.0 for k in rounds})], level=paired.confidence(meta))


class ProgramTime:
    """The program's own time under glibc on one layer: a try run's ok rows of it."""

    def __init__(self, run, layer):
        if run.meta.get("kind") != "try":
            raise UsageError(f"--program {run.dir}: not a `pyalloc try` run (its meta.json says kind "
                             f"{run.meta.get('kind')!r})")
        want = [p for p in run.params_of("program") if runs.layer_of(p) == layer]
        rows = [r for p in want for r in run.cases.get((runs.BASELINE, "program", p), [])]
        self.rounds = paired.by_round(rows, "real_ns")
        if not self.rounds:
            what = f"{runs.BASELINE} with layer={layer}" if layer else runs.BASELINE
            raise UsageError(f"--program {run.dir}: no ok rows of {what}, the configuration the trace was recorded "
                             f"under: run `pyalloc try --configs {runs.BASELINE}"
                             f"{' --layers ' + layer if layer else ''} -- CMD`")
        self.run, self.layer, self.params = run, layer, want
        self.level = paired.confidence(run.meta)
        self.point, self.lo, self.hi = _interval(self.rounds, run.meta)

    def median(self, col):
        """The median of a column over the recorded configuration's rows (None without values)."""
        xs = [r[col] for p in self.params for r in self.run.cases.get((runs.BASELINE, "program", p), [])
              if r.get(col) is not None]
        return stats.median(xs) if xs else None

    def describe(self):
        rounds = f"{len(self.rounds)} round{'s' if len(self.rounds) != 1 else ''}"
        span = f" [{self.lo / 1e9:.3f}–{self.hi / 1e9:.3f}]" if self.lo is not None else ""
        setup = deploy.with_layer(runs.BASELINE, self.layer)
        return f"{self.point / 1e9:.3f} s{span} ({setup}, try run {self.run.name}, {rounds})"


def program_times(run, rec_layer, layers):
    """{layer: ProgramTime}: the recorded layer's (required) and each other of `layers` the try run has glibc for."""
    times = {rec_layer: ProgramTime(run, rec_layer)}
    for layer in layers:
        if layer != rec_layer and any(run.cases.get((runs.BASELINE, "program", p)) for p in run.params_of("program")
                                      if runs.layer_of(p) == layer):
            times[layer] = ProgramTime(run, layer)
    return times


class Projection:
    """P(c) for replay ratios.  times: {layer: ProgramTime}, the recorded layer's and any other the try run
    measured; glibc_ns: {layer: A(glibc, layer)}, replay's medians; base_layer: the baseline's layer."""

    def __init__(self, times, glibc_ns, base_layer, rec_layer, k=K, memory=None):
        assert rec_layer in times and base_layer in glibc_ns and rec_layer in glibc_ns, (times, glibc_ns)
        self.times, self.glibc_ns, self.base_layer, self.k = times, glibc_ns, base_layer, k
        self.program = times[rec_layer]
        self.memory = memory or {}  # {memory column: M(rec) - G(rec)}: what the program holds that replay's growth lacks
        a_b, t_b = glibc_ns[base_layer], times[self.anchor(base_layer)]
        self.share = a_b / self.base_time()
        self.share_lo, self.share_hi = (None, None) if t_b.lo is None else \
            (a_b / self._p(a_b, base_layer, t_b.hi, 1.0), a_b / self._p(a_b, base_layer, t_b.lo, 1.0))

    def anchor(self, layer):
        """The layer whose measured time a candidate on `layer` starts from."""
        return layer if layer in self.times and layer in self.glibc_ns else self.program.layer

    def measured(self, layer):
        return self.anchor(layer) == layer

    def _q(self, layer, ref):
        """T(anchor of layer) / T(anchor of ref), paired within the try's rounds: (point, lo, hi)."""
        at, ar = self.anchor(layer), self.anchor(ref)
        if at == ar:
            return 1.0, 1.0, 1.0
        q = paired.ratio([(self.times[at].rounds, self.times[ar].rounds)], level=self.times[ar].level)
        if q[0] is None:  # no round holds both (merged runs): the ratio of the two times, without an interval
            q = (self.times[at].point / self.times[ar].point,) * 3
        return q if q[1] is not None else (q[0], q[0], q[0])

    def _p(self, a_ns, layer, t_ref, q):
        """P on `layer` for replay time a_ns, its anchor's time written as q x t_ref."""
        at = self.anchor(layer)
        return q * t_ref + self.k * (a_ns - self.glibc_ns[at])

    def base_time(self):
        """P(b): the baseline's program time (ns), measured or projected."""
        return self.program_ns(self.glibc_ns[self.base_layer], self.base_layer)

    def program_ns(self, a_ns, layer):
        """A candidate's projected program time from its replay time A(c) on `layer`."""
        return self._p(a_ns, layer, self.times[self.anchor(layer)].point, 1.0)

    def recorded_share(self):
        """A(rec)/T: the allocator's calls, as replayed, against the program's measured time."""
        return self.glibc_ns[self.program.layer] / self.program.point

    def ratio(self, r, layer, against=None):
        """(point, lo, hi) of P(c)/P(glibc on `against`, default the baseline's layer) for a replay ratio
        r = A(c)/A(glibc on `against`) = (point, lo, hi) of a candidate on `layer`; None stays None.  The
        interval takes the corners of r's, of the reference's measured time and of the two anchors' paired ratio."""
        if r is None or r[0] is None:
            return r
        ref = self.base_layer if against is None else against
        a_ref, t = self.glibc_ns[ref], self.times[self.anchor(ref)]
        q = self._q(layer, ref)

        def f(rv, tv, qv):
            return self._p(rv * a_ref, layer, tv, qv) / self._p(a_ref, ref, tv, 1.0)
        point = f(r[0], t.point, q[0])
        if r[1] is None or t.lo is None:
            return point, None, None
        ends = [f(rv, tv, qv) for rv in r[1:] for tv in (t.lo, t.hi) for qv in q[1:]]
        return point, min(ends), max(ends)

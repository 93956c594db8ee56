# A program's time projected from replay (docs/design.md §11): replay times the allocator's calls alone, so a
# candidate's program time is the program's own measured time with the allocator's part exchanged:
#
#     P(c) = T + K * (A(c) - A(rec))
#
#   T       the program's wall time under the configuration and layer the trace was recorded with (glibc, and
#           PYTHONMALLOC=malloc for a Python trace), from a `pyalloc try` run of it (`record` does not rerun the
#           program); its interval is that run's over rounds
#   A(c)    replay's time of candidate c in COLUMN (below); A(rec): the recorded configuration's
#   K       how much of a change of allocator time reaches the program (below)
#
# Against the baseline b (glibc under pymalloc where the replay has that layer, as recommend's): with r = A(c)/A(b),
# replay's own ratio with its interval, and u = A(b)/P(b), the allocator's share of b's projected program time,
#
#     P(c) / P(b) = 1 + K * u * (r - 1)
#
# so a replay ratio r is never the program's change: it is diluted by the allocator's share. The interval maps r's
# interval through this line and widens it by u's (from T's). COLUMN and K were chosen by measurement against `try`
# on the six example programs (docs/design.md §11 states the models compared and their errors).
#
# Memory the same way: M(c) = M(rec) + G(c) - G(rec), with M(rec) the try run's figure (peak, after free, ...) under
# the recorded configuration and G replay's growth above its base (which holds the trace's records): the program's
# own base and what it holds outside malloc (its code, the interpreter's mappings) come from the program.
import shlex

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
    """The program's own time: a try run's ok rows of the recorded configuration (glibc) at the recorded layer."""

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
        self.point, self.lo, self.hi = _interval(self.rounds, run.meta)
        self.command = (run.meta.get("program") or {}).get("command")
        self.argv = (run.meta.get("program") or {}).get("argv")

    def median(self, col):
        """The median of a column over the recorded configuration's rows (None without values)."""
        xs = [r[col] for p in self.params for r in self.run.cases.get((runs.BASELINE, "program", p), [])
              if r.get(col) is not None]
        return stats.median(xs) if xs else None

    def describe(self):
        rounds = f"{len(self.rounds)} round{'s' if len(self.rounds) != 1 else ''}"
        span = f" [{self.lo / 1e9:.3f}–{self.hi / 1e9:.3f}]" if self.lo is not None else ""
        setup = deploy.with_layer(runs.BASELINE, self.layer, name_pymalloc=False)
        return f"{self.point / 1e9:.3f} s{span} ({setup}, try run {self.run.name}, {rounds})"


def mismatch(program, cmdline):
    """A line when the try run's command is not the recorded one (None when they agree or one is unknown)."""
    if not program.argv or not cmdline or list(program.argv) == list(cmdline):
        return None
    return (f"note: the try run measured `{shlex.join(program.argv)}`, the trace recorded `{shlex.join(cmdline)}`: "
            f"the projection assumes they are the same program")


class Projection:
    """P(c)/P(b) from replay ratios r = A(c)/A(b); rec_ns, base_ns: replay's medians of A(rec) and A(b)."""

    def __init__(self, program, rec_ns, base_ns, k=K, memory=None):
        self.program, self.rec_ns, self.base_ns, self.k = program, rec_ns, base_ns, k
        self.memory = memory or {}  # {memory column: M(rec) - G(rec)}: what the program holds that replay's growth lacks
        self.share = self._share(program.point)
        self.share_lo = self._share(program.hi) if program.hi is not None else None
        self.share_hi = self._share(program.lo) if program.lo is not None else None

    def _share(self, t):
        return self.base_ns / self.base_time(t)

    def base_time(self, t=None):
        """P(b): the baseline's projected program time (ns)."""
        return (self.program.point if t is None else t) + self.k * (self.base_ns - self.rec_ns)

    def recorded_share(self):
        """A(rec)/T: the allocator's calls, as replayed, against the program's measured time."""
        return self.rec_ns / self.program.point

    def _line(self, r, u):
        return 1 + self.k * u * (r - 1)

    def ratio(self, r):
        """(point, lo, hi) of P(c)/P(b) for a replay ratio r = (point, lo, hi); None stays None."""
        if r is None or r[0] is None:
            return r
        point = self._line(r[0], self.share)
        if r[1] is None or self.share_lo is None:
            return point, None, None
        us = (self.share_lo, self.share_hi)
        return point, min(self._line(r[1], u) for u in us), max(self._line(r[2], u) for u in us)

    def time_ns(self, r):
        """The candidate's projected program time for a replay ratio point r."""
        return self.base_time() * self._line(r, self.share)

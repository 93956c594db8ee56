# `run --rounds auto` (docs/design.md §12): after the first rounds, another shuffled round of every case whose time
# ratios are not yet narrow enough — until each is within ±target or the time budget would be overrun; meta.json
# (and so the report) names the cases the budget left wide.
import sys
import time
from collections import Counter, defaultdict

from . import paired, planning, protocol
from .units import format_duration

MIN_ROUNDS = 3    # before any case may stop (with ADAPTIVE_CONFIDENCE, stopping this early keeps 95 % coverage)
MAX_ROUNDS = 100


def widths(rows, case, configs):
    """{config: half-width of its time ratio to the reference (protocol.reference_config) on this case}, None where
    there is no interval yet."""
    ref = protocol.reference_config(configs).name
    base = paired.by_round(rows.get((ref, case.key()), []), "real_ns")
    out = {}
    for c in configs:
        if c.name != ref:
            x = paired.by_round(rows.get((c.name, case.key()), []), "real_ns")
            out[c.name] = paired.half_width(paired.ratio([(x, base)], level=paired.ADAPTIVE_CONFIDENCE))
    return out


def settled(rows, case, configs, target, failed):
    """Whether a case needs no more rounds: every ratio within ±target, or nothing left to measure (a configuration
    that failed every round so far cannot narrow)."""
    return all(w is not None and w <= target or (c, case.key()) in failed
               for c, w in widths(rows, case, configs).items())


class Adaptive:
    """Runs rounds through run_round(jobs) -> Counter, reading each finished row from record(job, row, seconds)."""

    def __init__(self, p, target, budget, log=sys.stderr, clock=time.monotonic):
        self.p, self.target, self.budget, self.log, self.clock = p, target, budget, log, clock
        self.rows = defaultdict(list)        # (config name, case key) -> rows
        self.seconds = defaultdict(list)     # case key -> seconds per process
        self.failed_ok = defaultdict(int)    # (config name, case key) -> rounds that were not ok
        self.rounds = defaultdict(int)       # case key -> rounds run
        self.cell = {}                       # case key -> the params cell of its rows
        self.left_wide = None                # the cases wider than the target when the rounds ended

    def record(self, job, row, seconds):
        k = (job.config.name, job.case.key())
        self.cell[job.case.key()] = row.get("params")
        if row["status"] == "ok":
            self.rows[k].append(row)
        else:
            self.failed_ok[k] += 1
        self.seconds[job.case.key()].append(seconds)

    def cost(self, cases):
        """Estimated seconds of one more round of these cases."""
        return sum(self.case_cost(c) for c in cases)

    def case_cost(self, case):
        s = self.seconds[case.key()]
        return len(self.p["configs"]) * sum(s) / max(1, len(s))

    def fitting(self, cases, left):
        """The cases of the next round: all of them when their round fits in the time left, else the cheapest ones
        that fit together (the budget's end is spent on what it can still narrow)."""
        if self.cost(cases) <= left:
            return cases
        out, total = [], 0.0
        for c in sorted(cases, key=self.case_cost):
            if total + self.case_cost(c) <= left:
                out.append(c)
                total += self.case_cost(c)
        return [c for c in cases if c in out]

    def failed(self):
        """Configurations that never ran ok on a case although they ran: no interval will ever come."""
        return {k for k, n in self.failed_ok.items() if n and not self.rows.get(k)}

    def wide(self):
        failed = self.failed()
        return [c for c in self.p["cases"] if not settled(self.rows, c, self.p["configs"], self.target, failed)]

    def run(self, run_round):
        counts, start, r = Counter(), self.clock(), 0
        todo = list(self.p["cases"])
        while todo and r < MAX_ROUNDS:
            if r:
                todo = self.fitting(todo, self.budget - (self.clock() - start))
                if not todo:
                    break
            r += 1
            jobs = planning.schedule([(cfg, c) for c in todo for cfg in self.p["configs"]], 1, self.p["seed"], first=r)
            counts += run_round(jobs)
            for c in todo:
                self.rounds[c.key()] += 1
            todo = self.wide() if r >= MIN_ROUNDS else list(self.p["cases"])
            if r >= MIN_ROUNDS and todo:
                print(f"round {r}: {len(todo)} of {len(self.p['cases'])} cases still wider than "
                      f"±{100 * self.target:g} %; {format_duration(max(0, self.budget - (self.clock() - start)))} "
                      f"of the budget left", file=self.log, flush=True)
        self.left_wide = self.wide()
        return counts

    def meta(self):
        """meta.json's "adaptive": the target, the budget, rounds per case, and the cases left wide."""
        def case(c):
            return {"workload": c.workload, "params": self.cell.get(c.key(), ""), "label": c.label()}
        return {"target_ci": self.target, "budget": self.budget, "min_rounds": MIN_ROUNDS, "max_rounds": MAX_ROUNDS,
                "rounds": [dict(case(c), rounds=self.rounds[c.key()]) for c in self.p["cases"]],
                "wide": [dict(case(c), half_width=widths(self.rows, c, self.p["configs"]))
                         for c in (self.wide() if self.left_wide is None else self.left_wide)]}

# `pyalloc compare A B [--csv]`: two runs (an allocator upgrade, a tuning change, two machines) case by case:
# the change of each metric's median in %, a two-sided Mann-Whitney U test, a verdict, and geometric means per
# configuration; a configuration's time also relative to glibc in its own run, which a slower machine does not move.
import csv
import math
import sys
from collections import OrderedDict

from . import hosts, paired, runs, stats

VERDICTS = paired.WORDS  # a family's words for better and worse, the report's own
RELATIVE = "time_vs_glibc"  # the time metric taken round by round against the baseline of the same run
CSV_COLUMNS = ("config", "workload", "params", "metric", "rounds_a", "rounds_b", "median_a", "median_b",
               "change_pct", "p_value", "verdict")


METRICS = tuple(stats.METRICS) + (RELATIVE,)


def register(sub):
    p = sub.add_parser("compare", help="compare two runs case by case (Mann-Whitney U) and per configuration",
                       description="Per (configuration, case, metric): the change of B's median against A's in %, "
                                   "a two-sided Mann-Whitney U test over rounds and a verdict; geometric means per "
                                   f"configuration. `no change` when p >= {stats.ALPHA} or the change is below "
                                   f"{100 * stats.MIN_CHANGE:.0f} %%; `too few rounds` when the rounds of A and B "
                                   f"cannot give p < {stats.ALPHA} at all.")
    p.add_argument("a", metavar="A", help="the earlier (reference) run directory")
    p.add_argument("b", metavar="B", nargs="?", help="the later run directory (may be left out with --hosts)")
    p.add_argument("--hosts", metavar="A,B", help="set host A's rows (of run A) against host B's (of run B, or of "
                   "run A when B is left out): does host B change the answer?  Runs of several hosts are otherwise "
                   "compared host by host")
    p.add_argument("--csv", action="store_true", help="print a CSV table instead of Markdown")
    p.set_defaults(func=main)


def decide(family, a, b, change):
    """(p, verdict) of B's values over rounds against A's, whose change (a fraction) is given."""
    if stats.min_p(len(a), len(b)) >= stats.ALPHA:
        return None, "too few rounds"
    p = stats.mann_whitney(a, b)
    if p >= stats.ALPHA or change is None or abs(change) < stats.MIN_CHANGE:
        return p, "no change"
    better, worse = VERDICTS[family]
    return p, better if change < 0 else worse


def verdict(metric, a, b):
    """(change fraction, p, verdict) of B against A for one metric's values over rounds."""
    ma, mb = stats.median(a), stats.median(b)
    change = (mb - ma) / ma if ma else None
    return (change,) + decide(stats.METRICS[metric][1], a, b, change)


def compare(ra, rb):
    """Rows of the comparison, cases only in one run included with the verdict `only in A` / `only in B`."""
    failed = [(r["config"], r["workload"], r["params"]) for r in ra.failures + rb.failures]
    keys = list(OrderedDict.fromkeys(list(ra.cases) + list(rb.cases) + failed))
    configs = runs.order_configs(k[0] for k in keys)
    first = {k[1:]: i for i, k in reversed(list(enumerate(keys)))}
    keys.sort(key=lambda k: (first[k[1:]], configs.index(k[0])))  # case by case, the baseline first
    out = []
    for key in keys:
        for m, (col, *_rest) in stats.METRICS.items():
            a = [r[col] for r in ra.cases.get(key, []) if r[col] is not None]
            b = [r[col] for r in rb.cases.get(key, []) if r[col] is not None]
            row = dict(zip(("config", "workload", "params"), key), metric=m, rounds_a=len(a), rounds_b=len(b),
                       median_a=stats.median(a), median_b=stats.median(b), change_pct=None, p_value=None)
            if not a or not b:
                if m == "time":  # one line per case is enough to say it is missing
                    out.append(dict(row, verdict=_missing(key, ra, rb, a, b)))
                continue
            change, p, v = verdict(m, a, b)
            out.append(dict(row, change_pct=None if change is None else 100 * change, p_value=p, verdict=v))
        rel = relative(ra, rb, key)
        if rel:
            out.append(rel)
    return out


def relative(ra, rb, key):
    """The row of metric time_vs_glibc for a non-baseline configuration: its per-round log ratios to the baseline
    in A against those in B (Mann-Whitney U), the change of their geometric means.  Drift of the machine between
    the two runs moves glibc as much as the configuration, so it cancels here."""
    config, w, p = key
    if config == runs.BASELINE:
        return None
    def d(run):
        return paired.log_ratios(paired.rounds(run, config, w, p, "real_ns"),
                                 paired.rounds(run, runs.BASELINE, w, p, "real_ns"))
    da, db = d(ra), d(rb)
    if not da or not db:
        return None
    ga, gb = math.exp(sum(da) / len(da)), math.exp(sum(db) / len(db))
    row = dict(config=config, workload=w, params=p, metric=RELATIVE, rounds_a=len(da), rounds_b=len(db),
               median_a=ga, median_b=gb, change_pct=100 * (gb / ga - 1), p_value=None)
    pv, v = decide("time", da, db, gb / ga - 1)
    return dict(row, p_value=pv, verdict=v)


def _unit(metric):
    """(unit, divisor) a metric is shown in."""
    return ("× glibc", 1) if metric == RELATIVE else stats.METRICS[metric][3:5]


def _missing(key, ra, rb, a, b):
    """Why a case has no comparison: `only in A`, `only in B`, or what became of it on each side."""
    def state(run, values):
        statuses = sorted({r["status"] for r in run.failures if (r["config"], r["workload"], r["params"]) == key})
        return "ok" if values else "/".join(statuses) or None
    sa, sb = state(ra, a), state(rb, b)
    if sa is None or sb is None:
        side, other = ("B", sb) if sa is None else ("A", sa)
        return f"only in {side}" + (f" ({other} there)" if other != "ok" else "")
    return f"{sa} in A, {sb} in B"


def geomeans(rows):
    """Per configuration and metric: the geometric mean of B/A median ratios over the cases both runs have."""
    acc = OrderedDict()
    for r in rows:
        if r["median_a"] and r["median_b"] is not None and r["change_pct"] is not None:
            acc.setdefault((r["config"], r["metric"]), []).append(r["median_b"] / r["median_a"])
    return OrderedDict((k, (stats.geomean(v), len(v))) for k, v in acc.items())


def _num(v, unit_div):
    return "n/a" if v is None else f"{v / unit_div:,.3f}"


def markdown(ra, rb, rows, gm):
    out = [f"# compare: A = {ra.name} ({ra.dir}), B = {rb.name} ({rb.dir})", "",
           f"Change = median(B) / median(A) − 1 over rounds. Verdict from a two-sided Mann–Whitney U test: "
           f"`no change` when p ≥ {stats.ALPHA} or |change| < {100 * stats.MIN_CHANGE:.0f} %; `too few rounds` when "
           f"the rounds cannot reach p < {stats.ALPHA} even if every B round beat every A round "
           f"(3 vs 3 rounds: smallest p = {stats.min_p(3, 3):.2f}; 4 vs 4: {stats.min_p(4, 4):.3f}).", "",
           f"`{RELATIVE}`: a configuration's time as a ratio to glibc's in the same round of its own run (geometric "
           "mean over rounds), A against B: a machine that was slower during one run slows glibc as much, so it "
           "cancels; glibc's own `time` row is exposed to it.", "",
           "## Geometric mean per configuration (B / A over shared cases)", "",
           "| configuration | " + " | ".join(METRICS) + " |", "|---|" + "---|" * len(METRICS)]
    for c in runs.order_configs(c for c, _ in gm):
        cells = []
        for m in METRICS:
            g = gm.get((c, m))
            cells.append("n/a" if not g or g[0] is None else f"{100 * (g[0] - 1):+.1f} % ({g[1]} cases)")
        out.append(f"| {c} | " + " | ".join(cells) + " |")
    for c in runs.order_configs(list(ra.configs) + list(rb.configs)):
        if not any(k[0] == c for k in gm):
            where = "only in A" if c not in rb.configs else "only in B" if c not in ra.configs else "no shared ok case"
            out.append(f"| {c} | " + " | ".join([where] * len(METRICS)) + " |")
    out += ["", "## Per case", "", "| configuration | workload | params | metric | A | B | change | p | verdict |",
            "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        unit, div = _unit(r["metric"])
        change = "n/a" if r["change_pct"] is None else f"{r['change_pct']:+.1f} %"
        p = "n/a" if r["p_value"] is None else f"{r['p_value']:.3g}"
        out.append(f"| {r['config']} | {r['workload']} | `{r['params']}` | {r['metric']} ({unit}) "
                   f"| {_num(r['median_a'], div)} (n={r['rounds_a']}) | {_num(r['median_b'], div)} (n={r['rounds_b']}) "
                   f"| {change} | {p} | {r['verdict']} |")
    return out


def main(args):
    groups = hosts.pairs(runs.Run(args.a), runs.Run(args.b) if args.b else None, args.hosts)
    by_host = len(groups) > 1  # several hosts compared each with itself: a `host` column / a part per host
    if args.csv:
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(CSV_COLUMNS + (("host",) if by_host else ()))
    for n, (host, ra, rb) in enumerate(groups):
        rows = compare(ra, rb)
        gm = geomeans(rows)
        tail = [host] if by_host else []
        if args.csv:
            for r in rows:
                w.writerow(["" if r[k] is None else (f"{r[k]:.10g}" if isinstance(r[k], float) else r[k])
                            for k in CSV_COLUMNS] + tail)
            for (c, m), (g, k) in gm.items():
                w.writerow([c, "*", "geomean", m, k, k, "", "", "" if g is None else f"{100 * (g - 1):.6g}", "",
                            "geometric mean of B/A over shared cases"] + tail)
        else:
            print(("\n" if n else "") + "\n".join(markdown(ra, rb, rows, gm)))
    return 0

# RUN/summary.csv beside report.md: one row per (case, configuration, metric) with the baseline's and the
# configuration's medians, the ratio, its 95 % interval, the rounds and the verdict — the report's tables, for a
# notebook, a chart or a CI job; the geometric means over workloads come as workload `*`, params `geometric mean`.
import csv
import os

from . import runs, stats

COLUMNS = ("host", "workload", "params", "config", "metric", "unit", "baseline", "value", "ratio", "ratio_lo",
           "ratio_hi", "rounds", "cv", "verdict")
METRICS = ("time", "cold", "peak", "after_free", "after_release")  # what the report's tables show


def _num(v, digits=6):
    return "" if v is None else f"{v:.{digits}g}"


def rows(run, per_case, summ):
    host = getattr(run, "host", None) or run.facts().get("host") or ""
    for (w, p), cs in per_case.items():
        base = cs.get(runs.BASELINE, {})
        for c, s in cs.items():
            for m in METRICS:
                r = s.get(m + "_ratio", (None, None, None))
                yield dict(host=host, workload=w, params=p, config=c, metric=m, unit=stats.METRICS[m][3],
                           baseline=_num(base.get(m)), value=_num(s.get(m)), ratio=_num(r[0]), ratio_lo=_num(r[1]),
                           ratio_hi=_num(r[2]), rounds=s["n"], cv=_num(s.get(m + "_cv"), 4),
                           verdict="baseline" if c == runs.BASELINE else s.get(m + "_verdict") or "")
    for c, s in summ.items():
        for m in ("time", "peak", "after_free", "after_release"):
            r = s[m]
            yield dict(host=host, workload="*", params="geometric mean", config=c, metric=m, unit="ratio",
                       baseline="", value="", ratio=_num(r[0]), ratio_lo=_num(r[1]), ratio_hi=_num(r[2]),
                       rounds="", cv="", verdict="baseline" if c == runs.BASELINE else s.get(m + "_verdict") or "")


def write(path, parts):
    """parts: [(run or one host's view of it, per-case figures, summary)], as the report computed them."""
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, COLUMNS, lineterminator="\n")
        w.writeheader()
        for run, per_case, summ in parts:
            for r in rows(run, per_case, summ):
                w.writerow(r)
    os.replace(tmp, path)

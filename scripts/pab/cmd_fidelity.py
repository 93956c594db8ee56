# `pyalloc fidelity [RUN]`: how well the C model predicts real CPython (docs/design.md §7).  Rows of both runtimes in one run
# are matched by (workload, layer, other params); per metric, Spearman's rho over configurations and the memory ratio.
#
# Memory metrics subtract rss_base_bytes: the interpreter's own footprint (~10 MiB) is not part of the C model and
# would otherwise dominate every ratio; what is compared is what the workload's cycle grew, left, and kept.
import math
import os
import statistics
from collections import defaultdict

from . import replayfidelity, schema, stats, units
from .binary import REPO
from .errors import UsageError

RHO_MIN, MEM_FLOOR = replayfidelity.RHO_MIN, replayfidelity.GROWTH_FLOOR  # one rank goal, one noise floor (1 MiB)
MEM_TOLERANCE = 0.15  # the C model within 15 % of CPython (replay against the program: 20 %)
TIME_FLAT = 0.05  # configurations within 5 % of each other's time have no ordering worth comparing
METRICS = (  # name, value of a row, unit
    ("time", lambda r: r["real_ns"], "ms"),
    ("peak", lambda r: r["rss_peak_bytes"] - r["rss_base_bytes"], "MiB"),
    ("after_free", lambda r: r["rss_after_free_bytes"] - r["rss_base_bytes"], "MiB"),
    ("after_release", lambda r: r["rss_after_release_bytes"] - r["rss_base_bytes"], "MiB"),
)
SCALE = {"ms": 1e6, "MiB": float(1 << 20)}


def register(sub):
    p = sub.add_parser("fidelity", help="compare the C model with real CPython in a run of both runtimes",
                       description="For each workload, layer and metric: Spearman's rank correlation between the "
                       "C model's and CPython's ordering of configurations, and the ratio of retained memory. "
                       f"Flags rho < {RHO_MIN} and memory differing by more than {MEM_TOLERANCE:.0%}.")
    p.add_argument("run", nargs="*", help="a run directory or its results.csv (default: results/latest); with --try, "
                                          "the replay run(s) of the same program (e.g. one per layer)")
    p.add_argument("--try", dest="try_run", metavar="TRY_RUN",
                   help="replay against reality: a `pyalloc try` run of the program the replay runs recorded "
                        "(retained memory, projected time and picks side by side)")
    p.set_defaults(func=main)


def parse_params(text, where):
    out = {}
    for item in filter(None, (text or "").split(";")):
        k, sep, v = item.partition("=")
        if not sep or not k:
            raise UsageError(f"{where}: params cell {text!r} is not key=value;...")
        out[k] = v
    return out


def collect(rows):
    """{(runtime, workload): [(config, layer or None, params without runtime/layer, row)]} of the ok rows."""
    out = defaultdict(list)
    for n, r in enumerate(rows, start=2):
        if r["status"] != "ok" or any(r[k] is None for k in ("real_ns", "rss_base_bytes", "rss_peak_bytes")):
            continue
        p = parse_params(r["params"], f"row {n}")
        runtime, layer = p.pop("runtime", "c"), p.pop("layer", None)
        out[runtime, r["workload"]].append((r["config"], layer, p, r))
    return out


def group(entries, keys):
    """{(layer, case key): {config: [rows]}} with the case key over the shared parameter names."""
    g = defaultdict(lambda: defaultdict(list))
    for config, layer, p, r in entries:
        g[layer, tuple((k, p.get(k)) for k in keys)][config].append(r)
    return g


def median(rows, value):
    return statistics.median(value(r) for r in rows)


def _flat(values, unit):
    """True when the configurations' values lie within noise of each other, so their order means nothing."""
    spread = max(values) - min(values)
    return spread < MEM_FLOOR if unit == "MiB" else spread < TIME_FLAT * statistics.fmean(values)


def compare(c_cfg, py_cfg, metric):
    """One comparison over the configurations both runtimes ran: dict of n, rho, c, py (means), ratio, flags."""
    name, value, unit = metric
    configs = sorted(set(c_cfg) & set(py_cfg))
    cs = [median(c_cfg[k], value) for k in configs]
    ps = [median(py_cfg[k], value) for k in configs]
    rho = stats.spearman(cs, ps)
    c_mean, p_mean = statistics.fmean(cs), statistics.fmean(ps)
    flags = []
    if _flat(cs, unit) and _flat(ps, unit):  # both runtimes say the configurations do not differ: they agree
        flags = ["flat"]
    elif not math.isnan(rho) and rho < RHO_MIN:
        flags.append(f"rho<{RHO_MIN}")
    ratio = None
    if unit == "MiB":
        c_pos, p_pos = max(c_mean, 0.0), max(p_mean, 0.0)
        ratio = p_pos / c_pos if c_pos > 0 else (1.0 if p_pos == 0 else math.inf)
        gap = abs(p_pos - c_pos)
        if gap > MEM_FLOOR and gap > MEM_TOLERANCE * max(c_pos, p_pos):
            flags.append(f"memory {ratio:.2f}x")
    else:
        ratio = p_mean / c_mean if c_mean > 0 else math.inf
    return dict(metric=name, unit=unit, n=len(configs), rho=rho, c=c_mean, py=p_mean, ratio=ratio, flags=flags,
                configs=configs)


def comparisons(rows):
    """Every (workload, layer, case, metric) comparison, sorted; UsageError when the run lacks a runtime."""
    data = collect(rows)
    workloads = sorted({w for rt, w in data if rt == "cpython"} & {w for rt, w in data if rt == "c"})
    if not any(rt == "cpython" for rt, _ in data):
        raise UsageError("the run has no ok CPython rows (params with runtime=cpython): "
                         "run `pyalloc run --runtime both` first")
    if not workloads:
        raise UsageError("no workload has ok rows of both runtimes (C and CPython) in this run")
    out = []
    for w in workloads:
        c_rows, py_rows = data["c", w], data["cpython", w]
        keys = sorted(set.intersection(*(set(p) for _, _, p, _ in c_rows + py_rows)))
        cg, pg = group(c_rows, keys), group(py_rows, keys)
        for (layer, case), py_cfg in sorted(pg.items(), key=lambda kv: (kv[0][0] or "", kv[0][1])):
            c_cfg = cg.get((layer, case)) or cg.get((None, case))  # a C workload without a layer: every layer
            if not c_cfg or not set(c_cfg) & set(py_cfg):
                continue
            label = ",".join(f"{k}={v}" for k, v in case) or "-"
            for m in METRICS:
                out.append(dict(compare(c_cfg, py_cfg, m), workload=w, layer=layer or "-", case=label))
    if not out:
        raise UsageError("no C and CPython rows match on (workload, layer, parameters, configuration) in this run")
    return out


def fmt(x, unit=None):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if unit:
        return f"{x / SCALE[unit]:.2f}"
    return "inf" if math.isinf(x) else f"{x:.2f}"


def table(comps):
    head = ("workload", "layer", "case", "metric", "n", "rho", "C", "CPython", "unit", "ratio", "flag")
    lines = [[c["workload"], c["layer"], c["case"], c["metric"], str(c["n"]), fmt(c["rho"]), fmt(c["c"], c["unit"]),
              fmt(c["py"], c["unit"]), c["unit"], fmt(c["ratio"]), "; ".join(c["flags"]) or "ok"] for c in comps]
    return units.columns([head] + lines, sep=" ")


def summary(comps):
    out = []
    for w in sorted({c["workload"] for c in comps}):
        mine = [c for c in comps if c["workload"] == w]
        rhos = [(c["rho"], c["metric"], c["layer"]) for c in mine if not math.isnan(c["rho"])]
        mem = [c["ratio"] for c in mine if c["unit"] == "MiB" and c["ratio"] is not None and not math.isinf(c["ratio"])]
        flagged = [c for c in mine if c["flags"] and c["flags"] != ["flat"]]
        low = min(rhos) if rhos else None
        line = f"{w}: {len(mine)} comparisons; min rho " + (f"{low[0]:.2f} ({low[1]}, {low[2]})" if low else "n/a")
        line += f"; memory ratio CPython/C {min(mem):.2f}-{max(mem):.2f}" if mem else ""
        line += f"; {len(flagged)} flagged" if flagged else "; ok"
        out.append(line)
    return out


def main(args):
    if args.try_run:
        if not args.run:
            raise UsageError("fidelity --try TRY_RUN needs the replay run(s) of the same program after it")
        return replayfidelity.main(args.try_run, args.run)
    if len(args.run) > 1:
        raise UsageError("fidelity takes one run of both runtimes (several runs only with --try)")
    path = args.run[0] if args.run else os.path.join(REPO, "results", "latest")
    comps = comparisons(schema.read_rows(path))
    print(f"fidelity of the C model against CPython ({schema.results_path(path)})")
    print(f"memory = RSS minus rss_base (the cycle's own growth); ratio = CPython / C; "
          f"flag: rho < {RHO_MIN} or memory off by > {MEM_TOLERANCE:.0%} (and > 1 MiB); `flat`: in both runtimes "
          f"the configurations lie within noise (memory 1 MiB, time {TIME_FLAT:.0%}), so their order is not compared")
    for line in table(comps):
        print(line)
    print()
    for line in summary(comps):
        print(line)
    return 0

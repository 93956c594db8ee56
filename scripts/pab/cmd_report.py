# `pyalloc report [RUN]`: RUN/report.md with PNG charts in RUN/charts/, RUN/summary.csv and a one-screen summary on
# stdout: per workload time and memory normalised to glibc with 95 % intervals and verdicts, geometric means, failures.
import csv
import os
from collections import OrderedDict, defaultdict

from . import evidence, paired, report_sweep, rundir, runs, stats, summary as summary_csv, timing
from .errors import UsageError

RATIO_METRICS = ("time", "cold", "peak", "after_free", "after_release")


def register(sub):
    p = sub.add_parser("report", help="write RUN/report.md and charts, and print a summary",
                       description="Markdown report with PNG charts for a run (default: results/latest): time and "
                                   "memory per configuration relative to glibc, with 95 %% confidence intervals.")
    p.add_argument("run", nargs="?", metavar="RUN", help="a run directory (default: <repo>/results/latest)")
    p.add_argument("--no-charts", action="store_true", help="write report.md without PNG charts")
    p.set_defaults(func=main)


# --- numbers

def case_stats(run, workload, params):
    """{config: {...}} for one case: medians, CVs, ratios to glibc's medians on the same case."""
    out = OrderedDict()
    for c in run.configs:
        if (c, workload, params) not in run.cases:
            continue
        s = {"n": len(run.cases[(c, workload, params)])}
        for m in stats.METRICS:
            col, _, _, _, div = stats.METRICS[m]
            xs = run.values(c, workload, params, col)
            s[m] = stats.median(xs) / div if xs else None
            s[m + "_cv"] = stats.cv(xs)
            if m in RATIO_METRICS:
                s[m + "_ratio"] = paired.case_ratio(run, c, workload, params, col)
                s[m + "_verdict"] = paired.verdict(s[m + "_ratio"], stats.METRICS[m][1])
        ov = run.values(c, workload, params, "overhead_ratio")
        s["overhead"] = stats.median(ov) if ov else None
        out[c] = s
    return out


def summary(run, selected):
    """Per configuration: weighted geometric means over workloads (each workload weighs 1, shared by its parameter
    sets) of the ratios to glibc, with intervals, and the worst CV over its cases."""
    per_workload = defaultdict(int)
    for w, _ in selected:
        per_workload[w] += 1
    out = OrderedDict()
    for c in run.configs:
        s = {"cases": 0, "total": len(selected)}
        for m in RATIO_METRICS:
            col = stats.METRICS[m][0]
            pairs, weights = [], []
            for w, p in selected:
                xs = paired.rounds(run, c, w, p, col)
                base = paired.rounds(run, runs.BASELINE, w, p, col)
                if paired.log_ratios(xs, base):
                    pairs.append((xs, base))
                    weights.append(1.0 / per_workload[w])
            s[m] = paired.ratio(pairs, weights, level=paired.confidence(run.meta)) if pairs else (None, None, None)
            s[m + "_verdict"] = paired.verdict(s[m], stats.METRICS[m][1])
            if m == "time":
                s["cases"] = len(pairs)
        for m in ("time", "after_free"):
            cvs = [(stats.cv(run.values(c, w, p, stats.METRICS[m][0])), w, p) for w, p in selected]
            cvs = [x for x in cvs if x[0] is not None]
            s[m + "_cv"] = max(cvs) if cvs else None
        out[c] = s
    return out


# --- formatting

def fmt_ratio(r, config=None):
    return "1 (baseline)" if config == runs.BASELINE else paired.format_ratio(r)


def fmt_judged(s, m, config):
    """A ratio with its interval and what it allows one to say: `0.912 [0.890–0.934] faster`."""
    text = fmt_ratio(s[m + "_ratio"] if m + "_ratio" in s else s[m], config)
    v = s.get(m + "_verdict")
    return text if config == runs.BASELINE or v in (None, "n/a", paired.NO_INTERVAL) else f"{text} {v}"


def fmt_num(v, digits=2):
    if v is None:
        return "n/a"
    return f"{v:,.{digits}f}" if abs(v) < 1e5 else f"{v:,.0f}"


def fmt_cv(v, warn="⚠"):
    if v is None:
        return "n/a"
    return f"{100 * v:.1f} %" + (f" {warn}" if v > stats.CV_WARN else "")


def header_lines(run):
    f = run.facts()
    mem = f"{f['mem_total_bytes'] / 2**30:.1f} GiB" if f.get("mem_total_bytes") else "n/a"
    versions = OrderedDict()
    for c in run.configs:
        r = run.config_row(c)
        versions[c] = f"{r['allocator']} {r['allocator_version'] or '?'} (`{r['allocator_lib'] or '-'}`)" + \
            (f"; knobs read back: `{r['tuning']}`" if r.get("tuning") else "")
    lines = [
        ("machine", f"{f.get('host')} — {f.get('cpu_model')}, {f.get('cores')} cores, {mem}"),
        ("kernel", f"{f.get('kernel')}, transparent huge pages `{f.get('thp')}`"),
        ("glibc", f.get("glibc_version")),
        ("preset / rounds / seed", f"{f.get('preset')} / {f.get('rounds')} / {f.get('seed')}"),
        ("source", f.get("git_rev")),
    ] + [(f"config `{c}`", v) for c, v in versions.items()]
    if f.get("complete") is False:
        lines.append(("warning", "this run did not complete (interrupted or still running): figures cover what finished"))
    return lines


HOW_TO_READ = (
    "**How to read this.** Every figure is the median over rounds (one fresh process per round). A ratio compares a "
    "configuration with glibc round by round — in each round a case's configurations ran back to back — as the "
    "geometric mean of the per-round ratios: below 1.0 is faster or smaller than glibc. Brackets hold its 95 % "
    "interval (a t interval over rounds of the log ratio; computed at "
    f"{100 * paired.ADAPTIVE_CONFIDENCE:.0f} % in a `--rounds auto` run, whose stopping when narrow would otherwise "
    "make it cover less); a single round gives no interval. The word after it says "
    "what the interval allows: `faster`/`slower` (`smaller`/`larger`) when it excludes 1.0, `same` when it holds 1.0 "
    f"and lies within ±{100 * paired.MARGIN:.0f} %, `too noisy` when it is wider than that: more rounds "
    "(`--rounds auto`) or a quieter machine can decide it. Geometric means weigh every workload equally (its parameter "
    f"sets share its weight). CV = standard deviation / mean over rounds; ⚠ marks CV above {100 * stats.CV_WARN:.0f} %. "
    "Time is the median of a process's timed cycles (steady state); `cold` is its first, instrumented cycle. Memory "
    "is RSS of that instrumented cycle: peak (VmHWM), after the workload freed, after an explicit release call; "
    "`retained` = after free. Overhead = (peak − base) / live peak bytes. summary.csv holds these tables' numbers. "
    "The time of a C-model or replay case is the allocator's alone (its calls, nothing else a program does); a "
    "CPython twin's (`runtime=cpython`) or a `try` run's is a program's."
)


def summary_table(summ):
    lines = ["| configuration | time vs glibc | retained (after free) vs glibc | after release vs glibc | "
             "peak vs glibc | cases | worst time CV | worst retained CV |", "|---|---|---|---|---|---|---|---|"]
    for c, s in summ.items():
        cvs = [f"{fmt_cv(s[m][0])} ({s[m][1]})" if s[m] else "n/a" for m in ("time_cv", "after_free_cv")]
        lines.append(f"| {c} | {fmt_judged(s, 'time', c)} | {fmt_judged(s, 'after_free', c)} "
                     f"| {fmt_judged(s, 'after_release', c)} | {fmt_judged(s, 'peak', c)} | {s['cases']}/{s['total']} "
                     f"| {cvs[0]} | {cvs[1]} |")
    return lines


def case_tables(cs):
    idle = any(s.get("after_idle") is not None for s in cs.values())  # the column only where idle_ms > 0
    t = ["| configuration | rounds | time (ms) | time vs glibc [95 % CI] | time CV | cold (ms) | peak (MiB) "
         "| after free (MiB) " + ("| after idle (MiB) " if idle else "") +
         "| after release (MiB) | retained vs glibc [95 % CI] | retained CV | overhead | release (µs) |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|---|" + ("---|" if idle else "")]
    for c, s in cs.items():
        t.append(f"| {c} | {s['n']} | {fmt_num(s['time'], 3)} | {fmt_judged(s, 'time', c)} | {fmt_cv(s['time_cv'])} "
                 f"| {fmt_num(s['cold'], 3)} | {fmt_num(s['peak'], 1)} | {fmt_num(s['after_free'], 1)} "
                 + (f"| {fmt_num(s['after_idle'], 1)} " if idle else "") + f"| {fmt_num(s['after_release'], 1)} "
                 f"| {fmt_judged(s, 'after_free', c)} | {fmt_cv(s['after_free_cv'])} | {fmt_num(s['overhead'])} "
                 f"| {fmt_num(s['release'], 1)} |")
    return t


def failure_lines(run):
    groups = OrderedDict()
    for r in run.failures:
        groups.setdefault((r["config"], r["workload"], r["params"], r["status"], r["error"] or "(no reason recorded)"),
                          []).append(r["round"])
    if not groups:
        return ["None: every case ran."]
    lines = ["| configuration | workload | params | status | rounds | reason |", "|---|---|---|---|---|---|"]
    for (c, w, p, st, err), rounds in groups.items():
        err = err.replace("|", "\\|")
        lines.append(f"| {c} | {w} | `{p}` | {st} | {','.join(str(x) for x in rounds)} | {err} |")
    return lines


# --- charts

def read_timeline(run):
    path = os.path.join(run.dir, "timeline.csv")
    series = defaultdict(lambda: ([], [], []))  # (workload, params, config, round) -> (t_ms, mib, marks)
    if not os.path.exists(path):
        return {}
    try:
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                if run.host and r.get("host", run.host) != run.host:
                    continue  # another host's (a merged run's timeline says whose each row is)
                try:
                    key = (r["workload"], r["params"], r["config"], int(r["round"]))
                    t, mib = int(r["t_ns"]) / 1e6, int(r["rss_bytes"]) / 2**20
                except (KeyError, TypeError, ValueError):
                    continue
                s = series[key]
                s[0].append(t)
                s[1].append(mib)
                if r.get("event"):
                    s[2].append((t, mib, r["event"]))
    except (OSError, UnicodeDecodeError, csv.Error):
        return {}
    first = {}
    for (w, p, c, rnd) in sorted(series, key=lambda k: k[3]):
        first.setdefault((w, p, c), series[(w, p, c, rnd)])
    return first


def draw(run, per_case, chart_dir):
    """Writes the PNGs; returns {workload: [(kind, relative path)]}."""
    from . import charts
    os.makedirs(chart_dir, exist_ok=True)
    colour, timeline, made = charts.colours(run.configs), read_timeline(run), defaultdict(list)
    for w in run.workloads:
        plist = [p for p in run.params_of(w) if per_case.get((w, p))]
        if not plist:
            continue
        label = {p: runs.short_params(p, plist) for p in plist}
        configs = [c for c in run.configs if any(c in per_case[(w, p)] for p in plist)]
        groups = [label[p] for p in plist]
        name = rundir.file_name(run.host, w)
        tv = {(label[p], c): s["time_ratio"] for p in plist for c, s in per_case[(w, p)].items()}
        charts.time_chart(os.path.join(chart_dir, f"{name}-time.png"), w, groups, configs, colour, tv)
        made[w].append(("time", f"charts/{name}-time.png"))
        mv = {(label[p], m, c): s[m + "_ratio"] for p in plist for c, s in per_case[(w, p)].items()
              for m in ("peak", "after_free", "after_release")}
        gm = {(label[p], m): per_case[(w, p)].get(runs.BASELINE, {}).get(m) for p in plist
              for m in ("peak", "after_free", "after_release")}
        charts.memory_chart(os.path.join(chart_dir, f"{name}-memory.png"), w, groups, configs, colour, mv, gm)
        made[w].append(("memory", f"charts/{name}-memory.png"))
        tl = {(label[p], c): timeline[(w, p, c)] for p in plist for c in configs if (w, p, c) in timeline}
        if tl:
            tgroups = [g for g in groups if any((g, c) in tl for c in configs)]
            charts.timeline_chart(os.path.join(chart_dir, f"{name}-timeline.png"), w, tgroups, configs, colour, tl)
            made[w].append(("RSS over time", f"charts/{name}-timeline.png"))
    return made


# --- the command

def main(args):
    whole = runs.Run(args.run or runs.default_run())
    views = whole.by_host()  # a run of several hosts: one part per host, each normalised on its own host
    parts = [section(run, args) for run in views]
    md = [] if len(views) == 1 else [
        f"This run holds the rows of {len(views)} hosts ({', '.join(whole.hosts)}): each has its part below, every "
        f"ratio taken against glibc on the same host. `pyalloc compare {whole.dir} --hosts A,B` sets two against "
        "each other.", ""]
    md += [line for k, (lines, *_) in enumerate(parts) for line in ([""] if k else []) + lines]
    path = os.path.join(whole.dir, "report.md")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(md) + "\n")
    os.replace(tmp, path)
    summary_csv.write(os.path.join(whole.dir, "summary.csv"), [(run, pc, summ) for run, (_, summ, _, pc) in zip(views, parts)])
    for run, (_, summ, made, per_case) in zip(views, parts):
        print_summary(run, summ, path, made, per_case)
    return 0


def section(run, args):
    """The report of one run (or of one host's rows): (Markdown lines, summary, charts made, per-case figures)."""
    if runs.BASELINE not in run.configs and not run.meta.get("sweeps"):
        raise UsageError(f"{run.dir}: no `{runs.BASELINE}` rows, so nothing to normalise to (run it with --configs glibc,...)")
    selected = [(w, p) for w in run.workloads for p in run.params_of(w)]
    per_case = {(w, p): case_stats(run, w, p) for w, p in selected}
    summ = summary(run, [k for k in selected if per_case[k]])
    made = {} if args.no_charts else draw(run, per_case, os.path.join(run.dir, "charts"))
    md = [f"# pyalloc-bench report: run {run.name}", "", "| | |", "|---|---|"]
    md += [f"| {k} | {v} |" for k, v in header_lines(run)]
    md += ["", HOW_TO_READ, "", "## Summary (geometric mean over workloads, relative to glibc)", ""]
    md += summary_table(summ)
    md += ["", "## Timing: protocol, rounds and noise", ""] + timing.lines(run, per_case)
    md += ["", f"## Failures, skips and timeouts ({len(run.failures)} rows)", ""] + failure_lines(run)
    for w in run.workloads:
        md += ["", f"## {w}", ""]
        md += [f"![{w}: {kind}]({path})" for kind, path in made.get(w, [])]
        if w == evidence.REPLAY:
            md += ["", evidence.REPORT_NOTE]
        for p in run.params_of(w):
            md += ["", f"### {w} `{p or 'defaults'}`", ""]
            if w == evidence.REPLAY:
                md += [f"Evidence: {evidence.replay_line(run, runs.BASELINE, p)}.", ""]
            md += case_tables(per_case[(w, p)]) if per_case[(w, p)] else ["No configuration ran this case (see Failures)."]
    md += report_sweep.section(run, None if args.no_charts else os.path.join(run.dir, "charts"))
    return md, summ, made, per_case


def print_summary(run, summ, path, made, per_case):
    f = run.facts()
    print(f"run {run.name}: {f.get('host')}, kernel {f.get('kernel')}, THP {f.get('thp')}, glibc {f.get('glibc_version')}, "
          f"preset {f.get('preset')}, {f.get('rounds')} rounds, seed {f.get('seed')}")
    print("geometric mean over workloads relative to glibc (95 % CI); ! = CV over rounds above "
          f"{100 * stats.CV_WARN:.0f} %")
    w = max(len(c) for c in list(summ) + ["configuration"])
    print(f"  {'configuration':<{w}}  {'time':<32} {'retained':<32} {'after release':<32} {'peak':<32} cases")
    for c, s in summ.items():
        cols = [fmt_judged(s, m, c) + (" !" if m + "_cv" in s and s[m + "_cv"] and s[m + "_cv"][0] > stats.CV_WARN else "")
                for m in ("time", "after_free", "after_release", "peak")]
        print(f"  {c:<{w}}  " + " ".join(f"{x:<32}" for x in cols) + f" {s['cases']}/{s['total']}")
    if run.failures:
        kinds = OrderedDict()
        for r in run.failures:
            kinds[r["status"]] = kinds.get(r["status"], 0) + 1
        print("not ok: " + ", ".join(f"{n} {k}" for k, n in kinds.items()) + " (listed in the report)")
    noisy = sum(1 for cs in per_case.values() for c, x in cs.items() if x.get("time_verdict") == paired.NOISY)
    if noisy:
        print(f"{noisy} time figure(s) too noisy to decide (listed in the report's Timing section)")
    n = sum(len(v) for v in made.values())
    print(f"report: {path}" + (f" ({n} charts in {os.path.join(run.dir, 'charts')})" if n else ""))

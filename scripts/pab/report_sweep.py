# The report's sweep sections (docs/design.md §13): for each `--sweep` of a run, per workload, time and memory at
# each value (chart and table, the value the allocator applied beside the one asked), and what the sweep could and
# could not show: values that changed nothing, and the knob interactions that make a value act or not.
import os
from collections import OrderedDict

from . import knobs, rundir, runs, stats

PHASES = (("peak", "peak"), ("after_free", "after free"), ("after_idle", "after idle"),
          ("after_release", "after release"))
SAME_MIB, SAME_SHARE = 1.0, 0.03  # memory within max(1 MiB, 3 %) of the previous value's is "no change"

# What a sweep of a knob can and cannot show, whatever it measured: (labels, text).  {threads}, {idle} are filled in.
_DYNAMIC = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_",
            "glibc.malloc.trim_threshold", "glibc.malloc.mmap_threshold", "glibc.malloc.top_pad",
            "glibc.malloc.mmap_max")
LIMITS = (
    (_DYNAMIC, "Setting it to any value also turns off glibc's dynamic mmap threshold (the `tuning` column shows "
               "`glibc.dynamic_mmap_threshold=off`): plain glibc and the first value differ in that too, so compare "
               "the values with each other, not with plain glibc."),
    (("MALLOC_TRIM_THRESHOLD_", "glibc.malloc.trim_threshold"),
     "The trim threshold governs only the top of the main heap: memory freed below a live block stays whatever the "
     "value (`after release` shows what malloc_trim can still return); below top_pad + 4 KiB (132 KiB by default) "
     "every value acts alike."),
    (("MALLOC_ARENA_MAX", "glibc.malloc.arena_max"),
     "Each allocating thread gets an arena of its own while the cap allows (the main arena counts: a thread takes "
     "it when the main thread is not allocating): with {threads} thread(s) here, values above {threads} change "
     "nothing but which arena a thread lands in."),
    (("dirty_decay_ms", "muzzy_decay_ms", "background_thread", "MIMALLOC_DECOMMIT_DELAY",
      "MIMALLOC_SEGMENT_DECOMMIT_DELAY", "MIMALLOC_RESET_DELAY"),
     "A delay acts only as time passes: `after free` is read at once and cannot tell delays apart; `after idle` "
     "can ({idle}).  In a sleeping idle only an allocator's own thread acts (jemalloc's background_thread); jemalloc "
     "decays without it only during allocator activity (idle_mode=trickle), and mimalloc 2.0 runs its delayed "
     "decommits only when it is called again."),
    (("TCMALLOC_RELEASE_RATE",),
     "tcmalloc releases pages as spans return to its page heap, during allocator activity: an idle does nothing."),
)


UNSET = "unset"  # the point of the base configuration itself: the knob as the allocator has it by default


def series(run, key, points):
    """{(workload, params): {series label: [(value, config)]}} for one sweep key: a series is a base configuration
    with the other swept keys' values fixed; points in the order the values were given, after the base's own
    (`unset`) where no other key is swept with it."""
    out = OrderedDict()
    for w in run.workloads:
        for p in run.params_of(w):
            lines = OrderedDict()
            for v in key["values"]:
                for c, pt in points.items():
                    if pt["values"].get(key["label"]) != v or (c, w, p) not in run.cases:
                        continue
                    others = ", ".join(f"{k}={x}" for k, x in pt["values"].items() if k != key["label"])
                    line = lines.setdefault(pt["base"] + (f" ({others})" if others else ""), [])
                    if not line and not others and (pt["base"], w, p) in run.cases:
                        line.append((UNSET, pt["base"]))
                    line.append((v, c))
            if lines:
                out[(w, p)] = lines
    return out


def figures(run, config, w, p, label):
    """Medians (and time's min..max) of one point, and the value the allocator applied when not the one asked."""
    f = {"n": len(run.cases[(config, w, p)])}
    for m, _ in (("time", ""),) + PHASES:
        col, _, _, _, div = stats.METRICS[m]
        xs = run.values(config, w, p, col)
        f[m] = stats.median(xs) / div if xs else None
        if m == "time" and xs:
            f["time_range"] = (min(xs) / div, max(xs) / div)
    entry = knobs.parse(run.cases[(config, w, p)][0]["tuning"]).get(label)
    f["applied"] = entry["applied"] if entry and entry["asked"] is not None else None
    return f


def _same(a, b):
    mem = all(a[m] is None or b[m] is None or abs(a[m] - b[m]) <= max(SAME_MIB, SAME_SHARE * max(a[m], b[m]))
              for m, _ in PHASES)
    t = a.get("time_range") and b.get("time_range")
    return mem and (not t or (a["time_range"][0] <= b["time_range"][1] and b["time_range"][0] <= a["time_range"][1]))


def _fmt(v, digits=1):
    return "n/a" if v is None else f"{v:,.{digits}f}"


def table(label, pts):
    phases = [(m, n) for m, n in PHASES if any(f[m] is not None for _, f in pts)]  # after idle: only with idle_ms
    lines = [f"| {label} | rounds | time (ms) [min–max] | " + " | ".join(f"{n} (MiB)" for _, n in phases) + " |",
             "|---|---|---|" + "---|" * len(phases)]
    for v, f in pts:
        shown = f"{v} (applied: {f['applied']})" if f["applied"] else v
        r = f.get("time_range")
        t = f"{_fmt(f['time'], 3)} [{_fmt(r[0], 3)}–{_fmt(r[1], 3)}]" if r else "n/a"
        lines.append(f"| {shown} | {f['n']} | {t} | " + " | ".join(_fmt(f[m]) for m, _ in phases) + " |")
    return lines


def unchanged(label, pts):
    """Lines for consecutive values whose figures do not differ beyond noise."""
    out = []
    for (v0, f0), (v1, f1) in zip(pts, pts[1:]):
        if _same(f0, f1):
            out.append(f"{label}={v0} → {v1}: nothing changed beyond noise (memory within "
                       f"{SAME_MIB:g} MiB or {100 * SAME_SHARE:g} %, time ranges overlap).")
    return out


def limits(run, label, workload):
    threads = max((r["threads"] or 1 for r in run.rows if r["workload"] == workload and r["status"] == "ok"),
                  default=1)
    params = [runs.parse_params(r["params"]) for r in run.rows if r["workload"] == workload]
    ms = sorted({p.get("idle_ms", "0") for p in params})
    mode = sorted({p.get("idle_mode", "sleep") for p in params if p.get("idle_ms", "0") != "0"})
    idle = "this run: no idle (idle_ms=0)" if ms == ["0"] else \
        f"this run: idle_ms={','.join(m for m in ms if m != '0')}, idle_mode={','.join(mode)}"
    return [text.format(threads=threads, idle=idle) for labels, text in LIMITS if label in labels]


def chart(path, title, label, lines_):
    from . import charts
    plt = charts.plt
    fig, (ta, ma) = plt.subplots(1, 2, figsize=(charts.WIDTH_IN, 3.8))
    fig.subplots_adjust(left=0.08, right=0.98, top=0.86, bottom=0.3, wspace=0.25)
    styles = {"peak": ":", "after_free": "-", "after_idle": "--", "after_release": "-."}
    for i, (name, pts) in enumerate(lines_.items()):
        colour = f"C{i % 10}"  # matplotlib's default cycle: series apart at a glance
        xs = list(range(len(pts)))
        ta.errorbar(xs, [f["time"] for _, f in pts], capsize=2, color=colour, marker="o", label=name,
                    yerr=[[f["time"] - f["time_range"][0] if f.get("time_range") else 0 for _, f in pts],
                          [f["time_range"][1] - f["time"] if f.get("time_range") else 0 for _, f in pts]])
        for m, phase in PHASES:
            ys = [f[m] for _, f in pts]
            if any(y is not None for y in ys):
                ma.plot(xs, ys, styles[m], color=colour, marker=".", label=f"{name}: {phase}")
        for ax in (ta, ma):
            ax.set_xticks(xs)
            ax.set_xticklabels([v for v, _ in pts], fontsize=8)
    ta.set_ylabel("time per cycle (ms)\nmedian, min–max of rounds")
    ma.set_ylabel("RSS (MiB), median of rounds")
    for ax in (ta, ma):
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
        ax.set_ylim(bottom=0)
    handles, labels = ma.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=7, frameon=False)
    fig.suptitle(title, fontsize=10)
    fig.savefig(path, dpi=charts.DPI)
    plt.close(fig)


def section(run, chart_dir=None):
    """The report's lines for every sweep of the run ([] when it has none); charts into chart_dir when given."""
    sw = run.meta.get("sweeps") or {}
    md = []
    for k, key in enumerate(sw.get("keys", [])):
        label = key["label"]
        md += ["", f"## Sweep `{key['key']}` = {', '.join(key['values'])}", ""]
        found = series(run, key, sw.get("configs", {}))
        lim = {}  # limits(...) per workload: it scans the run's rows
        if not found:
            md.append("No derived configuration of this sweep has ok rows (see Failures).")
        for i, ((w, p), lines_) in enumerate(found.items()):
            md += ["", f"### {w} `{p or 'defaults'}`", ""]
            pts = OrderedDict((name, [(v, figures(run, c, w, p, label)) for v, c in vc]) for name, vc in lines_.items())
            if chart_dir:
                os.makedirs(chart_dir, exist_ok=True)
                safe = rundir.file_name(run.host, f"sweep{k + 1}", w, i + 1)  # one per host of a merged run
                chart(os.path.join(chart_dir, safe + ".png"), f"{w}: time and memory against {label}", label, pts)
                md += [f"![{w}: sweep of {label}](charts/{safe}.png)", ""]
            for name, vf in pts.items():
                md += [f"Base `{name}`:", ""] + table(label, vf) + [""]
                md += [f"- {x}" for x in unchanged(label, vf)]
            if w not in lim:
                lim[w] = limits(run, label, w)
            md += [f"- {x}" for x in lim[w]]
            md.append("- Time figures come from a shared machine: read the ranges, not single medians.")
    return md

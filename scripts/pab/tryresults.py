# What a `pyalloc try` run found, against what the user runs today (glibc, CPython's pymalloc, no release call):
# the table per configuration x layer that try prints, and recommend's answer on try runs (docs/try.md).
import collections

from . import deploy, native, paired, runs, schema, stats, units

MIB = 2 ** 20


def is_try(run):
    return run.meta.get("kind") == "try"


def command_text(run):
    return (run.meta.get("program") or {}).get("command") or "your command"


def table(run):
    """Lines: per configuration x layer, rounds ok, median wall time and its ratio to today's [95 % interval], and
    the medians of peak, after free and after release."""
    head = ("configuration", "layer", "ok", "time (s)", "time vs glibc+pymalloc [95 %]", "peak MiB", "after free MiB",
            "after release MiB")
    out = []
    totals = collections.Counter((r["config"], r["params"]) for r in run.rows)
    for params_by_layer in _cases(run):
        base_params = runs.baseline_params(params_by_layer)
        layers = sorted(params_by_layer.items(), key=lambda lp: schema.LAYER_ORDER.index(lp[0]))
        for c in run.configs:
            for layer, p in layers:
                total = totals[c, p]
                if not total:
                    continue
                xs = run.values(c, "program", p, "real_ns")
                r = paired.case_ratio(run, c, "program", p, "real_ns", baseline_params=base_params)
                med = [stats.median(run.values(c, "program", p, col)) for col in
                       ("rss_peak_bytes", "rss_after_free_bytes", "rss_after_release_bytes")]
                out.append((c, layer or "-", f"{len(xs)}/{total}", f"{stats.median(xs) / 1e9:.3f}" if xs else "n/a",
                            "1 (baseline)" if (c, p) == (runs.BASELINE, base_params) else paired.format_ratio(r),
                            *(f"{m / MIB:.1f}" if m is not None else "n/a" for m in med)))
    return units.columns([head] + out)


def _cases(run):
    """[{layer: params}] per command in the run (one for a single try)."""
    return list(run.by_layer("program").values())


def _change(r):
    if r is None or r[0] is None:
        return "n/a"
    text = f"{100 * (r[0] - 1):+.1f} %"
    return text + (f" [{100 * (r[1] - 1):+.1f} % … {100 * (r[2] - 1):+.1f} %]" if r[1] is not None else
                   " (no interval: one round)")


def beats_today(fig, objective):
    """Better than today beyond noise: the whole 95 % interval of the ratio is below 1."""
    r = fig[objective]
    return r[2] is not None and r[2] < 1.0


def where_release(run):
    marks = list((run.meta.get("marks") or {}))
    if not marks:
        return None
    if len(marks) == 1:
        return f"at the point you marked `{marks[0]}`"
    return "at each point you marked (" + ", ".join(f"`{m}`" for m in marks) + ")"


def advise(run, model, ranked, workloads, names, objective):
    """recommend's answer on a try run: keep what you have, or the one line to deploy that was measured, with the
    expected change of the program's time and memory.  ranked: cmd_recommend.decide's, best first."""
    today = (runs.BASELINE, model.modes[0])
    figs = {c: {m: model.evidence(c, workloads, {}, m, ci=True) for m in ("time", "peak", "after_free")}
            for c, _ in ranked}
    winners = [c for c, _ in ranked if c != today and beats_today(figs[c], objective)]
    cmd = command_text(run)
    if not winners:
        print(f"\nKeep what you have: `{cmd}` as it runs today (glibc malloc, CPython's pymalloc, no release call).")
        best = next((c for c, _ in ranked if c != today), None)
        if best is None:
            print("  Nothing else was measured.")
        else:
            r = figs[best][objective]
            why = "one round gives no interval (try --rounds 3 or more)" if r[1] is None else \
                "its interval reaches 1" if r[0] < 1 else "it is not better"
            print(f"  Nothing measured beats it beyond noise in {names[objective]}: the best other, "
                  f"{model.label(best)}, is {_change(r)} ({why}).")
        return 0
    best = winners[0]
    row = run.config_row(best[0])
    line = deploy.line(row, pymalloc_off=best[1] == "malloc" and len(model.modes) > 1, program=cmd)
    print(f"\nDeploy {model.label(best)}, as measured on your command:\n  {line}")
    release = _release_line(run, row)
    if release:
        print(f"  and {release}")
    fig = figs[best]
    print(f"  Expected change of the program against today (glibc, pymalloc, no release call), the per-round "
          f"ratios' geometric mean [95 % interval]: time {_change(fig['time'])}; peak RSS {_change(fig['peak'])}; "
          f"retained RSS {_change(fig['after_free'])}")
    return 0


def _release_line(run, row):
    """The release call a release=cycle configuration made at every mark, and where it goes; None otherwise."""
    if row.get("release_policy") != "cycle":
        return None
    where = where_release(run)
    if where is None:
        return "no release call: the program made no marks, so this configuration never released"
    if (run.meta.get("program") or {}).get("python", True):
        return deploy.release_call(row, where=where)
    a = native.allocator(row.get("allocator") or "") or {}
    return f"{where}: call {a.get('release_text') or 'the allocator’s release function'}"

# The report's "Timing" section (docs/design.md §12): the protocol each case ran under, the rounds (and what
# --rounds auto left wide), the machine's noise check, and every time figure too noisy to decide or with outliers.
from . import paired, runs
from .units import format_duration


def _case(c):
    return f"{c['workload']} `{c.get('params') or c.get('label') or ''}`"


def protocol_lines(meta):
    pr = meta.get("protocol")
    if not isinstance(pr, dict):
        return ["- Protocol: not recorded (a run made before the timing protocol was declared)."]
    cases = pr.get("cases") or []
    counts = sorted({c.get("cycles") for c in cases if c.get("cycles")})
    how = (f"calibrated per case for about {format_duration(pr.get('min_time') or 0)} of timed cycles from one warm "
           f"cycle of the baseline" if pr.get("cycles") == "auto" else f"fixed at {pr.get('cycles')}")
    span = f"{counts[0]}–{counts[-1]}" if len(counts) > 1 else (str(counts[0]) if counts else "?")
    return [f"- Protocol: per process one instrumented cycle (memory, `cold`), {pr.get('warmup')} warm-up cycle(s), "
            f"then timed cycles ({how}: {span}); time = their median. Every configuration and round of a case ran "
            "the same protocol (meta.json lists each case's)."]


def rounds_lines(meta):
    a = meta.get("adaptive")
    if not isinstance(a, dict):
        return [f"- Rounds: {meta.get('rounds', '?')} (fixed)."]
    got = [c["rounds"] for c in a.get("rounds", [])]
    lines = [f"- Rounds: auto — rounds were added to each case until every time ratio was within "
             f"±{100 * a['target_ci']:g} % or the budget ({format_duration(a['budget'])}) ran out; "
             f"{min(got, default=0)}–{max(got, default=0)} rounds per case."]
    wide = a.get("wide") or []
    if wide:
        lines.append(f"- **The budget ran out with {len(wide)} case(s) still wider than ±{100 * a['target_ci']:g} %:** "
                     + "; ".join(f"{_case(c)} ("
                                 + ", ".join(f"{k} ±{100 * v:.1f} %" if v is not None else f"{k} no interval"
                                             for k, v in (c.get("half_width") or {}).items()
                                             if v is None or v > a["target_ci"]) + ")" for c in wide))
    else:
        lines.append("- Every case reached the target.")
    return lines


def noise_lines(meta):
    n = meta.get("noise_check")
    if not isinstance(n, dict):
        return ["- Noise check: not made."]
    if not n.get("warnings"):
        return [f"- Noise check before the run: nothing found (load {n.get('load1')}, probe spread "
                f"{100 * (n.get('probe_spread') or 0):.0f} %, THP `{n.get('thp')}`)."]
    return ["- **Noise check before the run warned:** " + "; ".join(n["warnings"]) + "."]


def figure_lines(run, per_case):
    """Every non-baseline time ratio that cannot decide, and the ones whose rounds hold outliers."""
    noisy, odd, bare = [], [], 0
    for (w, p), cs in per_case.items():
        base = paired.rounds(run, runs.BASELINE, w, p, "real_ns")
        for c, s in cs.items():
            if c == runs.BASELINE:
                continue
            bare += s.get("time_verdict") == paired.NO_INTERVAL
            if s.get("time_verdict") == paired.NOISY:
                noisy.append(f"{c} on {w} `{p}` (±{100 * paired.half_width(s['time_ratio']):.1f} %)")
            d = paired.log_ratios(paired.rounds(run, c, w, p, "real_ns"), base)
            if paired.outliers(d):
                odd.append(f"{c} on {w} `{p}` ({paired.outliers(d)} of {len(d)} rounds)")
    lines = [f"- Time figures too noisy to decide (interval wider than ±{100 * paired.MARGIN:.0f} % around 1.0): "
             + (f"**{len(noisy)}**: " + "; ".join(noisy) if noisy else "none.")]
    if bare:
        lines.append(f"- Time figures without an interval (a single paired round): {bare}.")
    if odd:
        lines.append(f"- Outlier rounds (more than {paired.OUTLIER_Z:g} robust standard deviations from the median "
                     f"ratio, hyperfine's rule; left out of the interval once a case has {paired.TRIM_FROM} rounds): "
                     + "; ".join(odd))
    return lines


def lines(run, per_case):
    return protocol_lines(run.meta) + rounds_lines(run.meta) + noise_lines(run.meta) + figure_lines(run, per_case)

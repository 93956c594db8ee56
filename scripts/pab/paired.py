# Paired ratios (docs/design.md §12): a configuration's value in a round over the baseline's in the same round (the
# two ran back to back), a t interval over rounds of the mean log ratio (rounds hyperfine would call outliers left
# out, from 6 rounds on), weighted geometric means over cases, verdicts.
import math
from collections import OrderedDict

import numpy as np

from .runs import BASELINE

CONFIDENCE = 0.95    # every interval
ADAPTIVE_CONFIDENCE = 0.97  # --rounds auto stops a case once its interval is narrow, and a 95 % t interval then
# covers less (about 92 % in simulations of that rule); computed at 97 %, for stopping and for showing, it covers 95 %
MARGIN = 0.05        # an interval inside [1 - MARGIN, 1 + MARGIN] that holds 1.0 is "same"; wider is "too noisy"
MIN_CHANGE = 0.01    # a change that excludes 1.0 but is smaller than this is "same" too
OUTLIER_Z = 10.0     # hyperfine's rule: a round more than 10 robust standard deviations from the median is an outlier
TRIM_FROM = 6        # ... and is left out of a case's interval once it has this many rounds (with fewer, the median
# absolute deviation is too unsteady a yardstick: leaving rounds out then makes the interval cover less)
WORDS = {"time": ("faster", "slower"), "memory": ("smaller", "larger")}
NOISY = "too noisy"
SAME = "same"
NO_INTERVAL = "no interval"


def by_round(rows, column):
    """{(host, round): value} of ok rows (a value None or <= 0 left out)."""
    return OrderedDict(((r.get("host"), r["round"]), r[column]) for r in rows
                       if r.get("status", "ok") == "ok" and r.get(column) is not None and r[column] > 0)


def log_ratios(x, base):
    """ln(x / base) for each round both have: {round: value} dicts."""
    return [math.log(x[k] / base[k]) for k in x if k in base]


def _far(d):
    """Which of the log ratios d lie more than OUTLIER_Z robust standard deviations (1.4826 MAD) from their median."""
    if len(d) < 3:
        return [False] * len(d)
    med = float(np.median(d))
    mad = 1.4826 * float(np.median(np.abs(np.asarray(d) - med)))
    return [mad > 0 and abs(v - med) / mad > OUTLIER_Z for v in d]


def kept(d):
    """The log ratios an interval is computed from: all of them, less the outliers once there are TRIM_FROM rounds.
    A round that far off is a process the machine stalled (in A/A runs of this VM about one round in ten)."""
    return [v for v, far in zip(d, _far(d)) if not far] if len(d) >= TRIM_FROM else list(d)


def _t(df, confidence):
    from scipy.stats import t
    return float(t.ppf(0.5 + confidence / 2, df))


def confidence(meta):
    """The level a run's intervals are computed at: ADAPTIVE_CONFIDENCE for a --rounds auto run (meta.json says)."""
    return ADAPTIVE_CONFIDENCE if isinstance(meta, dict) and meta.get("adaptive") else CONFIDENCE


def ratio(pairs, weights=None, ci=True, level=CONFIDENCE):
    """Weighted geometric mean over cases of the per-round ratios x/base, with its t interval at `level`.
    pairs: [({round: x}, {round: base})], one per case.  Each case contributes the mean of its log ratios; the
    interval combines their variances (Welch–Satterthwaite degrees of freedom).  Returns (point, lo, hi); lo/hi are
    None when a case has fewer than 2 paired rounds; all None when a case has none."""
    ds = [kept(log_ratios(x, b)) for x, b in pairs]
    w = list(weights or [1.0] * len(ds))
    if not ds or any(not d for d in ds) or sum(w) <= 0:
        return None, None, None
    total = sum(w)
    point = sum(wi * float(np.mean(d)) for wi, d in zip(w, ds)) / total
    if not ci or any(len(d) < 2 for d in ds):
        return math.exp(point), None, None
    parts = [(wi / total) ** 2 * float(np.var(d, ddof=1)) / len(d) for wi, d in zip(w, ds)]
    var = sum(parts)
    if var == 0:
        return math.exp(point), math.exp(point), math.exp(point)
    df = var ** 2 / sum(p ** 2 / (len(d) - 1) for p, d in zip(parts, ds) if p > 0)
    half = _t(df, level) * math.sqrt(var)
    return math.exp(point), math.exp(point - half), math.exp(point + half)


def rounds(run, config, workload, params, column):
    """by_round of one case of a runs.Run."""
    return by_round(run.cases.get((config, workload, params), []), column)


def case_ratio(run, config, workload, params, column, baseline_params=None, baseline=BASELINE):
    """(point, lo, hi) of one case of a runs.Run against the baseline configuration (on baseline_params, default the
    same case)."""
    x = rounds(run, config, workload, params, column)
    b = rounds(run, baseline, workload, params if baseline_params is None else baseline_params, column)
    return ratio([(x, b)], level=confidence(run.meta))


def format_ratio(r):
    """`0.912 [0.890–0.934]`, `0.912` without an interval, `n/a` without a point."""
    point, lo, hi = r
    if point is None:
        return "n/a"
    return f"{point:.3f}" if lo is None else f"{point:.3f} [{lo:.3f}–{hi:.3f}]"


def half_width(r):
    """The interval's half-width relative to its point (0.03 = ±3 %), or None without an interval."""
    point, lo, hi = r
    if lo is None or point is None:
        return None
    return max(hi / point - 1, 1 - lo / point)


def verdict(r, family):
    """What an interval allows one to say: faster/slower (smaller/larger) when it excludes 1.0 by at least
    MIN_CHANGE; `same` when it holds 1.0 (or the change is below MIN_CHANGE) and lies within ±MARGIN; else
    `too noisy` (cannot tell); `no interval` with fewer than 2 rounds."""
    point, lo, hi = r
    if point is None:
        return "n/a"
    if lo is None:
        return NO_INTERVAL
    better, worse = WORDS[family]
    if lo > 1 and point - 1 >= MIN_CHANGE:
        return worse
    if hi < 1 and 1 - point >= MIN_CHANGE:
        return better
    if lo >= 1 - MARGIN and hi <= 1 + MARGIN:
        return SAME
    return NOISY


def outliers(d):
    """How many of the log ratios d are outliers by hyperfine's rule (left out of the interval when kept() says)."""
    return sum(_far(d))

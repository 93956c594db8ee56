# The statistics behind report/compare/recommend, all from scipy/numpy: medians, CV over rounds, percentile-bootstrap
# confidence intervals of ratios of medians (and of their weighted geometric means), Mann-Whitney U with its floor.
import math
import warnings
from math import comb

import numpy as np

from .paired import CONFIDENCE, MIN_CHANGE  # noqa: F401  one level and one threshold for every reader
from .schema import METRICS  # noqa: F401  metric -> (column, family, label, unit of display, divisor to that unit)

ALPHA = 0.05            # two-sided significance level of compare's Mann-Whitney U test
CV_WARN = 0.10          # a figure whose rounds vary more than this (std/mean) is flagged as not to be trusted
N_RESAMPLES = 2000      # bootstrap resamples (percentile method, fixed seed: the same run gives the same report)


def median(xs):
    return float(np.median(xs)) if len(xs) else None


def cv(xs):
    """Coefficient of variation over rounds (sample std / mean); None with fewer than 2 rounds."""
    if len(xs) < 2 or np.mean(xs) == 0:
        return None
    return float(np.std(xs, ddof=1) / abs(np.mean(xs)))


def _log_ratio_of_medians(pairs, weights, axis):
    total = sum(weights)
    acc = 0.0
    for (x, base), w in zip(pairs, weights):
        acc = acc + w * (np.log(np.median(x, axis=axis)) - np.log(np.median(base, axis=axis)))
    return acc / total


def ratio(pairs, weights=None, ci=True):
    """Weighted geometric mean over cases of median(x)/median(base), with its 95 % percentile-bootstrap interval
    (each sample's rounds resampled independently). pairs: [(x values, base values)]. Returns (point, lo, hi);
    lo/hi are None when some sample has fewer than 2 rounds; point is None when a median is not positive."""
    pairs = [(np.asarray(x, float), np.asarray(b, float)) for x, b in pairs]
    weights = list(weights or [1.0] * len(pairs))
    if not pairs or any(len(x) == 0 or len(b) == 0 or np.median(x) <= 0 or np.median(b) <= 0 for x, b in pairs):
        return None, None, None
    point = float(np.exp(_log_ratio_of_medians(pairs, weights, None)))
    if not ci or any(len(x) < 2 or len(b) < 2 for x, b in pairs) or any(min(x) <= 0 or min(b) <= 0 for x, b in pairs):
        return point, None, None
    from scipy.stats import bootstrap
    samples = [s for p in pairs for s in p]

    def stat(*s, axis=-1):
        return _log_ratio_of_medians(list(zip(s[0::2], s[1::2])), weights, axis)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = bootstrap(samples, stat, vectorized=True, paired=False, confidence_level=CONFIDENCE,
                        n_resamples=N_RESAMPLES, method="percentile", random_state=np.random.default_rng(0))
    lo, hi = res.confidence_interval
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return point, None, None
    return point, float(np.exp(lo)), float(np.exp(hi))


def geomean(values, weights=None):
    values = [v for v in values if v is not None]
    if not values or any(v <= 0 for v in values):
        return None
    w = list(weights or [1.0] * len(values))
    return float(np.exp(sum(wi * math.log(v) for v, wi in zip(values, w)) / sum(w)))


def min_p(n1, n2):
    """The smallest two-sided p-value an exact Mann-Whitney U test can reach with n1 and n2 rounds (no ties):
    both extreme orderings out of C(n1+n2, n1). 3 vs 3 -> 0.1, so it can never reach 0.05."""
    if n1 < 1 or n2 < 1:
        return 1.0
    return min(1.0, 2.0 / comb(n1 + n2, n1))


def mann_whitney(a, b):
    """Two-sided Mann-Whitney U p-value (scipy picks the exact test for small samples without ties)."""
    if len(a) < 1 or len(b) < 1:
        return None
    if len(set(a) | set(b)) == 1:
        return 1.0  # every value equal: nothing to test (scipy's normal approximation divides by zero here)
    from scipy.stats import mannwhitneyu
    return float(mannwhitneyu(a, b, alternative="two-sided").pvalue)


def intervals_overlap(a, b):
    """(point, lo, hi) tuples; a missing interval counts as overlapping (we cannot tell them apart)."""
    if a[1] is None or b[1] is None:
        return True
    return a[1] <= b[2] and b[1] <= a[2]

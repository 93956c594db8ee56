# The statistics behind report/compare/recommend besides paired.py's ratios, from scipy/numpy: medians, CV over
# rounds, geometric means, Spearman's rho, Mann-Whitney U with its floor (compare's test of raw figures).
import math
import warnings
from math import comb

import numpy as np

from .paired import MIN_CHANGE  # noqa: F401  one threshold for every reader
from .schema import METRICS  # noqa: F401  metric -> (column, family, label, unit of display, divisor to that unit)

ALPHA = 0.05            # two-sided significance level of compare's Mann-Whitney U test
CV_WARN = 0.10          # a figure whose rounds vary more than this (std/mean) is flagged as not to be trusted


def median(xs):
    return float(np.median(xs)) if len(xs) else None


def cv(xs):
    """Coefficient of variation over rounds (sample std / mean); None with fewer than 2 rounds."""
    if len(xs) < 2 or np.mean(xs) == 0:
        return None
    return float(np.std(xs, ddof=1) / abs(np.mean(xs)))


def spearman(xs, ys):
    """Spearman's rank correlation; nan with fewer than 3 pairs or when either side is constant."""
    from scipy.stats import spearmanr  # a Debian package; imported only where used
    if len(xs) < 3 or len(set(xs)) < 2 or len(set(ys)) < 2:
        return math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(spearmanr(xs, ys).statistic)


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

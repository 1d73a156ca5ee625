"""Small statistics the journey analyses share: proportions, 2x2 tables and multiple testing.

Closed forms only (no SciPy at run time): the normal distribution through ``math.erfc``.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["Z95", "bh_adjust", "odds_ratio", "risk_difference", "wilson"]

Z95 = 1.959963984540054  # the 97.5 % quantile of the standard normal


def wilson(successes: int, n: int) -> tuple[float, float]:
    """The Wilson score 95 % interval of a proportion (NaNs when ``n`` is 0)."""
    if n == 0:
        return math.nan, math.nan
    p = successes / n
    z2 = Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def risk_difference(x1: int, n1: int, x0: int, n0: int) -> tuple[float, float, float]:
    """``x1/n1 - x0/n0`` with Newcombe's hybrid-score 95 % interval (method 10, from two Wilson
    intervals); NaNs when a group is empty."""
    if n1 == 0 or n0 == 0:
        return math.nan, math.nan, math.nan
    p1, p0 = x1 / n1, x0 / n0
    l1, u1 = wilson(x1, n1)
    l0, u0 = wilson(x0, n0)
    d = p1 - p0
    low = d - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    return d, low, high


def odds_ratio(a: int, b: int, c: int, d: int) -> tuple[float, float, float, float]:
    """Odds ratio of a 2x2 table with PostHog's +1 prior on every cell, its 95 % interval (Woolf's
    log method on the same cells) and the Wald p-value of log(OR) = 0.

    ``a`` successes and ``b`` failures with the feature, ``c`` successes and ``d`` failures without.
    """
    a1, b1, c1, d1 = a + 1, b + 1, c + 1, d + 1
    log_or = math.log(a1 * d1 / (b1 * c1))
    se = math.sqrt(1 / a1 + 1 / b1 + 1 / c1 + 1 / d1)
    return (math.exp(log_or), math.exp(log_or - Z95 * se), math.exp(log_or + Z95 * se),
            math.erfc(abs(log_or / se) / math.sqrt(2)))


def bh_adjust(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values): reject where ``q <= alpha`` keeps the false
    discovery rate at ``alpha`` over the tests given."""
    p = np.asarray(p, float)
    m = p.size
    if m == 0:
        return p
    order = np.argsort(p)
    ranked = p[order] * m / np.arange(1, m + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(q, 1.0)
    return out

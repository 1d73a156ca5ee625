"""Small statistics the journey analyses share: proportions, 2x2 tables and multiple testing.

Closed forms only (no SciPy at run time): the normal distribution through ``math.erfc``.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["Z95", "bh_adjust", "mantel_haenszel", "normal_p", "odds_ratio", "risk_difference", "risk_ratio", "wilson"]

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


def normal_p(z: float) -> float:
    """Two-sided p-value of a standard normal statistic."""
    return math.erfc(abs(z) / math.sqrt(2)) if math.isfinite(z) else math.nan


def risk_ratio(x1: int, n1: int, x0: int, n0: int) -> tuple[float, float, float]:
    """``(x1/n1) / (x0/n0)`` with Katz's log 95 % interval (0.5 added to every cell when one is 0)."""
    if n1 == 0 or n0 == 0:
        return math.nan, math.nan, math.nan
    if x1 == 0 or x0 == 0 or x1 == n1 or x0 == n0:
        x1, n1, x0, n0 = x1 + 0.5, n1 + 1, x0 + 0.5, n0 + 1
    rr = (x1 / n1) / (x0 / n0)
    se = math.sqrt(1 / x1 - 1 / n1 + 1 / x0 - 1 / n0)
    return rr, rr * math.exp(-Z95 * se), rr * math.exp(Z95 * se)


def mantel_haenszel(x1: np.ndarray, n1: np.ndarray, x0: np.ndarray, n0: np.ndarray) -> dict[str, float]:
    """Mantel-Haenszel risk difference and risk ratio over strata (arrays, one entry per stratum).

    RD_MH = sum(w (p1 - p0)) / sum(w), w = n1 n0 / N, with the variance of Greenland & Robins (1985)
    under the large-strata model (sum w^2 (p1 q1 / n1 + p0 q0 / n0) / (sum w)^2); RR_MH =
    sum(x1 n0 / N) / sum(x0 n1 / N) with Greenland & Robins' variance of its log. Strata with an empty
    group carry no information and are left out. Returns rd, rd_low, rd_high, rd_p, rr, rr_low,
    rr_high and the number of strata used."""
    x1, n1, x0, n0 = (np.asarray(a, float) for a in (x1, n1, x0, n0))
    ok = (n1 > 0) & (n0 > 0)
    x1, n1, x0, n0 = x1[ok], n1[ok], x0[ok], n0[ok]
    nan = {k: math.nan for k in ("rd", "rd_low", "rd_high", "rd_p", "rr", "rr_low", "rr_high")}
    if not ok.any():
        return {**nan, "strata": 0}
    big_n = n1 + n0
    w = n1 * n0 / big_n
    p1, p0 = x1 / n1, x0 / n0
    rd = float((w * (p1 - p0)).sum() / w.sum())
    var = float((w ** 2 * (p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)).sum() / w.sum() ** 2)
    se = math.sqrt(var)
    out = {"rd": rd, "rd_low": rd - Z95 * se, "rd_high": rd + Z95 * se,
           "rd_p": normal_p(rd / se) if se > 0 else (1.0 if rd == 0 else 0.0), "strata": int(ok.sum())}
    r_num, r_den = (x1 * n0 / big_n).sum(), (x0 * n1 / big_n).sum()
    if r_num > 0 and r_den > 0:
        v = ((n1 * n0 * (x1 + x0) - x1 * x0 * big_n) / big_n ** 2).sum() / (r_num * r_den)
        rr, s = float(r_num / r_den), math.sqrt(max(float(v), 0.0))
        out.update(rr=rr, rr_low=rr * math.exp(-Z95 * s), rr_high=rr * math.exp(Z95 * s))
    else:
        out.update(rr=math.nan, rr_low=math.nan, rr_high=math.nan)
    return out

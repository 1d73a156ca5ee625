"""``jm.impact``: what a process change did to a journey KPI (P2J), as an interrupted time series or,
with a comparison group, as a difference-in-differences.

Semantics. The KPI is measured per unit: the 0/1 outcome of a :func:`~journeymine.followed_by` /
:func:`~journeymine.dropped_after` (a rate: contacts per order, repeat purchase, drop-off), or a
:func:`duration_between` (``jm.duration_between``: hours from a unit's first ``start`` event to its
first ``end`` event after it, e.g. order placed -> delivered; units without the end are left out).
Each unit has a time: its start event (its funnel entry). The change happened at ``at``; units from
``at`` on are *after*. Units whose time falls in an ``exclude`` period (e.g. a sale week) are left out.

Without ``compare`` (interrupted time series): with ``trend=True`` (the default) the estimate is the
**level change** of a segmented regression fitted by least squares on the units:
``y = a + b t + c after + d t after`` with ``t`` in days from ``at``; ``c`` is the jump at ``at`` net
of the trend before it (Wagner et al. 2002). With ``trend=False`` it is the difference of means
after − before.

With ``compare={ATTR: [values]}`` (difference-in-differences): ``ATTR`` (of the unit object) or
``TYPE.ATTR`` (of its linked object of TYPE with the lowest code, as for ``jm.explain``'s
confounders) puts units into groups: a unit whose value is one of ``values`` is *treated*, a unit with
another value is in the *comparison* group, a unit without a value is left out. With ``trend=True`` the
estimate is ``δ`` of the two-way fixed-effects model ``y = α_period + γ treated + δ treated·after``
fitted by least squares on the units, with one fixed effect per ``period`` (day or week, counted from
``at``): any shock common to both groups in a period (a sale week, a season, a holiday) is absorbed,
whatever its shape. It is computed exactly through the within-period contrast: ``δ`` is the mean of
the per-period differences treated − comparison after ``at`` minus their mean before ``at``, each
period weighted by ``n_t n_c / (n_t + n_c)``. With ``trend=False`` it is the 2 × 2 DiD
``(treated after − treated before) − (comparison after − comparison before)`` (the model with one
``after`` dummy instead of the period effects). The identifying assumption is **parallel trends**:
without the change the treated group's KPI would have moved as the comparison group's did. This is
the standard two-way fixed-effects DiD (e.g. ``linearmodels.PanelOLS`` with time effects and an
entity-group dummy, or a ``statsmodels`` OLS with ``C(period) + treated + treated:after``): the point
estimates are the same; we differ in the interval, which clusters on customers by bootstrap rather
than with an analytic cluster-robust variance.

The 95 % interval (both methods) is a percentile **cluster bootstrap over customers** (``bootstrap``
resamples, seeded: each customer's units are drawn together, so repeat customers do not count as
independent; a unit linked to no customer is its own cluster). ``periods`` gives the mean KPI per day
(or week) with the fitted line, for charts (with ``compare``: one row per period and group).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

import numpy as np
import pyarrow as pa

from ..errors import ConfigError
from ..results import Result
from ..store import Store
from ..timespan import parse_instant
from ._features import clusters, unit_values
from ._outcomes import Outcome, Units, evaluate, first_then

__all__ = ["Impact", "Metric", "duration_between", "impact"]

log = logging.getLogger(__name__)

_DAY = 86_400_000_000
_NONE = "(none)"  # unit_values' text for a unit without a value


@dataclasses.dataclass(frozen=True)
class Metric:
    """A numeric KPI per unit (build it with :func:`duration_between`)."""

    object_type: str
    start: str
    end: str
    label: str


def duration_between(object_type: str, start: str, end: str) -> Metric:
    """Hours from each unit's first ``start`` event to its first ``end`` event after it."""
    for field, value in (("object_type", object_type), ("start", start), ("end", end)):
        if not isinstance(value, str) or not value:
            raise ConfigError(f"The {field} parameter must be a name. Got {value!r} instead.", field=field)
    return Metric(object_type, start, end, f"hours from {start!r} to {end!r}")


@dataclasses.dataclass(frozen=True, eq=False)
class Impact(Result):
    """The estimated change of one KPI at ``at``: ``estimate`` with its 95 % interval (``low``,
    ``high``), the means and units before and after (with ``compare``: of the treated group, and
    ``comparison_*`` of the comparison group), and ``periods`` (mean and fitted KPI per period)."""

    kpi: str
    object_type: str
    at: dt.datetime
    method: str
    estimate: float
    low: float
    high: float
    before_mean: float
    after_mean: float
    before_units: int
    after_units: int
    periods: pa.Table = dataclasses.field(repr=False)
    compare: dict[str, list[str]] | None = None
    comparison_before_mean: float | None = None
    comparison_after_mean: float | None = None
    comparison_before_units: int | None = None
    comparison_after_units: int | None = None

    def to_arrow(self) -> pa.Table:
        return self.periods

    def to_dict(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in (
            "kpi", "object_type", "at", "method", "estimate", "low", "high", "before_mean", "after_mean",
            "before_units", "after_units", "compare", "comparison_before_mean", "comparison_after_mean",
            "comparison_before_units", "comparison_after_units")}


def _metric_units(store: Store, m: Metric) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(codes, start µs, hours) of the units of a duration metric."""
    codes, t0, t_end, ok = first_then(store, m.object_type, m.start, m.end)
    return codes[ok], t0[ok], (t_end[ok] - t0[ok]) / 3.6e9


def _fit(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    xw = x * w[:, None]
    return np.linalg.lstsq(xw.T @ x, xw.T @ y, rcond=None)[0]


def _check_compare(compare: object) -> tuple[str, list[str]]:
    """(ATTR or TYPE.ATTR, the treated values) of a ``compare`` parameter."""
    example = "e.g. {'warehouse': ['Hamburg']}"
    if not isinstance(compare, dict) or len(compare) != 1:
        raise ConfigError(f"The compare parameter must be a dict with one ATTR or TYPE.ATTR and the values that "
                          f"mark treated units, {example}. Got {compare!r} instead.", field="compare")
    ((name, values),) = compare.items()
    if not isinstance(name, str) or not name.strip(".") or name != name.strip() or name.count(".") > 1:
        raise ConfigError(f"The compare parameter must name ATTR or TYPE.ATTR. Got {name!r} instead.", field="compare")
    values = [values] if isinstance(values, str) else values
    if not isinstance(values, (list, tuple, set, frozenset)) or not values or \
            not all(isinstance(v, str) and v and v != _NONE for v in values):
        raise ConfigError(f"The compare parameter must give a non-empty list of treated values (text) for "
                          f"{name!r}, {example}. Got {compare[name]!r} instead.", field="compare")
    return name, sorted(set(values))


def _units(store: Store, kpi: object) -> tuple[np.ndarray, np.ndarray, np.ndarray, str, str]:
    """(codes, start µs, KPI value, object type, label) of the units of ``kpi``."""
    if isinstance(kpi, Metric):
        codes, start, y = _metric_units(store, kpi)
        return codes, start, y, kpi.object_type, kpi.label
    if isinstance(kpi, Outcome):
        u: Units = evaluate(store, kpi)
        return u.codes, u.start, u.outcome.astype(float), u.object_type, kpi.label
    raise ConfigError(f"The kpi parameter must be a jm.followed_by, jm.dropped_after or jm.duration_between. "
                      f"Got {kpi!r} instead.", field="kpi")


def _bootstrap(stat, cluster: np.ndarray, bootstrap: int, seed: int) -> tuple[float, float]:
    """The 2.5 and 97.5 percentiles of ``stat(weights)`` over cluster bootstrap resamples."""
    rng = np.random.default_rng(seed)
    draws = np.empty(bootstrap)
    k = int(cluster.max()) + 1
    for i in range(bootstrap):
        w = np.bincount(rng.integers(0, k, k), minlength=k)[cluster].astype(float)
        draws[i] = stat(w)
    low, high = np.nanpercentile(draws, (2.5, 97.5))
    return float(low), float(high)


def impact(store: Store, kpi: Outcome | Metric, at: object, *, compare: dict[str, list[str]] | None = None,
           trend: bool = True, exclude: list = (), period: str = "day", bootstrap: int = 500,
           seed: int = 0) -> Impact:
    """The change of ``kpi`` at ``at`` (semantics in the module docs).

    ``compare`` ({ATTR or TYPE.ATTR: treated values}) estimates by difference-in-differences against
    the units with another value. ``exclude`` lists ``(start, end)`` periods whose units are left out
    (``start <= time < end``)."""
    when = parse_instant(at, "at")
    if when is None:
        raise ConfigError("The at parameter must give the time of the change.", field="at")
    if period not in ("day", "week"):
        raise ConfigError(f"The period parameter must be day or week. Got {period!r} instead.", field="period")
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, int) or bootstrap < 100:
        raise ConfigError(f"The bootstrap parameter must be an integer of at least 100. Got {bootstrap!r} instead.",
                          field="bootstrap")
    group = _check_compare(compare) if compare is not None else None
    codes, start, y, object_type, label = _units(store, kpi)
    t_at = int(when.replace(tzinfo=dt.UTC).timestamp() * 1e6)
    keep = np.ones(codes.size, bool)
    for lo, hi in exclude:
        lo_us, hi_us = (int(parse_instant(v, "exclude").replace(tzinfo=dt.UTC).timestamp() * 1e6) for v in (lo, hi))
        keep &= ~((start >= lo_us) & (start < hi_us))
    codes, start, y = codes[keep], start[keep], y[keep]
    after = start >= t_at
    if after.sum() < 2 or (~after).sum() < 2:
        raise ConfigError(f"The change at {when.isoformat()} needs units before and after it.", field="at")
    step = _DAY * (7 if period == "week" else 1)
    bucket = np.floor_divide(start - t_at, step)
    base = {"kpi": label, "object_type": object_type, "at": when}
    if group is None:
        cluster = clusters(store, object_type, codes)  # bootstrap by customer
        return _its(base, start, y, after, bucket, step, t_at, trend, cluster, bootstrap, seed)
    name, values = group
    text = unit_values(store, Units(object_type, codes, np.zeros(codes.size, bool), start, start), name, None)
    known = text != _NONE
    treated = np.isin(text, values)
    if not treated.any() or treated.sum() == known.sum():
        found = sorted(set(text[known].tolist()))[:20]
        problem = "no unit has one of these values" if not treated.any() else "no unit has another value to compare"
        raise ConfigError(f"The compare parameter must split the units into treated and comparison units: {problem} "
                          f"({name} of the units: {found}). Got {compare!r} instead.", field="compare")
    log.debug("impact: %d treated, %d comparison and %d units without %s", treated.sum(), (known & ~treated).sum(),
              (~known).sum(), name)
    codes, start, y, after, bucket, treated = (a[known] for a in (codes, start, y, after, bucket, treated))
    cluster = clusters(store, object_type, codes)
    return _did(base, {name: values}, y, after, bucket, step, t_at, treated, trend, period, cluster, bootstrap, seed)


def _its(base: dict, start: np.ndarray, y: np.ndarray, after_b: np.ndarray, bucket: np.ndarray, step: int, t_at: int,
         trend: bool, cluster: np.ndarray, bootstrap: int, seed: int) -> Impact:
    """The interrupted time series (segmented regression, or after - before)."""
    t = (start - t_at) / _DAY
    after = after_b.astype(float)
    x = np.column_stack([np.ones_like(t), t, after, t * after]) if trend else np.column_stack([np.ones_like(t), after])
    term = 2 if trend else 1
    beta = _fit(x, y, np.ones(y.size))
    low, high = _bootstrap(lambda w: _fit(x, y, w)[term], cluster, bootstrap, seed)
    rows = []
    for b in np.unique(bucket):
        m = bucket == b
        mid = (b + 0.5) * step / _DAY
        xa = [1.0, mid, float(mid >= 0), mid * (mid >= 0)] if trend else [1.0, float(mid >= 0)]
        rows.append({"period": dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=int(t_at + b * step)),
                     "units": int(m.sum()), "mean": float(y[m].mean()), "fitted": float(np.dot(xa, beta))})
    return Impact(**base, method="interrupted time series (level change, linear trends)" if trend else "after - before",
                  estimate=float(beta[term]), low=low, high=high, before_mean=float(y[~after_b].mean()),
                  after_mean=float(y[after_b].mean()), before_units=int((~after_b).sum()),
                  after_units=int(after_b.sum()), periods=pa.Table.from_pylist(rows))


def _did_fit(cell: np.ndarray, y: np.ndarray, w: np.ndarray, cells: int,
             post: np.ndarray) -> tuple[float, float, np.ndarray, np.ndarray]:
    """(δ, γ, weight and weighted mean per (cell, group)) of the fixed-effects DiD: ``cell`` numbers the
    fixed-effect cells (periods, or before/after), ``post`` says which cells are after the change."""
    weight = np.bincount(cell, w, minlength=2 * cells).reshape(cells, 2)
    total = np.bincount(cell, w * y, minlength=2 * cells).reshape(cells, 2)
    mean = total / np.where(weight > 0, weight, 1.0)
    both = (weight > 0).all(axis=1)
    h = np.where(both, weight[:, 0] * weight[:, 1] / np.where(both, weight.sum(axis=1), 1.0), 0.0)
    diff = mean[:, 1] - mean[:, 0]
    h_pre, h_post = h * ~post, h * post
    if h_pre.sum() == 0 or h_post.sum() == 0:
        return np.nan, np.nan, weight, mean
    gamma = float(h_pre @ diff / h_pre.sum())
    return float(h_post @ diff / h_post.sum()) - gamma, gamma, weight, mean


def _did(base: dict, compare: dict, y: np.ndarray, after: np.ndarray, bucket: np.ndarray, step: int, t_at: int,
         treated: np.ndarray, trend: bool, period: str, cluster: np.ndarray, bootstrap: int, seed: int) -> Impact:
    """The difference-in-differences (period fixed effects, or the 2 x 2 table)."""
    g = treated.astype(np.int64)
    counts = [int((m & (g == k)).sum()) for k in (1, 0) for m in (~after, after)]
    if min(counts) < 2:
        raise ConfigError(f"The compare parameter must leave at least 2 treated and 2 comparison units on each side "
                          f"of the change. Got treated {counts[0]} before and {counts[1]} after, comparison "
                          f"{counts[2]} before and {counts[3]} after instead.", field="compare")
    if trend:
        first = int(bucket.min())
        cell_of, cells = bucket - first, int(bucket.max() - first) + 1
        post = np.arange(cells) + first >= 0
    else:
        cell_of, cells, post = after.astype(np.int64), 2, np.array([False, True])
    cell = 2 * cell_of + g
    delta, gamma, weight, mean = _did_fit(cell, y, np.ones(y.size), cells, post)
    if np.isnan(delta):
        raise ConfigError("The compare parameter must leave a period with treated and comparison units on each side "
                          "of the change. Got none on one side instead.", field="compare")
    low, high = _bootstrap(lambda w: _did_fit(cell, y, w, cells, post)[0], cluster, bootstrap, seed)
    # fitted per (cell, group): the period effect + γ treated + δ treated·after
    alpha = (weight[:, 0] * mean[:, 0] + weight[:, 1] * (mean[:, 1] - gamma - delta * post)) / \
        weight.sum(axis=1).clip(1)
    fitted = alpha[:, None] + np.array([0.0, 1.0])[None, :] * (gamma + delta * post[:, None])
    rows = []
    for b in np.unique(bucket):
        for k, name in ((1, "treated"), (0, "comparison")):
            m = (bucket == b) & (g == k)
            if m.any():
                c = int(b - bucket.min()) if trend else int(b >= 0)
                rows.append({"period": dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=int(t_at + b * step)),
                             "group": name, "units": int(m.sum()), "mean": float(y[m].mean()),
                             "fitted": float(fitted[c, k])})
    method = (f"difference-in-differences (two-way fixed effects: group and {period})" if trend else
              "difference-in-differences (group x after)")
    cm = [float(y[(g == 0) & m].mean()) for m in (~after, after)]
    tm = [float(y[(g == 1) & m].mean()) for m in (~after, after)]
    return Impact(**base, method=method, estimate=delta, low=low, high=high, before_mean=tm[0], after_mean=tm[1],
                  before_units=counts[0], after_units=counts[1], periods=pa.Table.from_pylist(rows), compare=compare,
                  comparison_before_mean=cm[0], comparison_after_mean=cm[1], comparison_before_units=counts[2],
                  comparison_after_units=counts[3])

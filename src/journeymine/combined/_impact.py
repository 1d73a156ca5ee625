"""``jm.impact``: what a process change did to a journey KPI (P2J), as an interrupted time series.

Semantics. The KPI is measured per unit: the 0/1 outcome of a :func:`~journeymine.followed_by` /
:func:`~journeymine.dropped_after` (a rate: contacts per order, repeat purchase, drop-off), or a
:func:`duration_between` (``jm.duration_between``: hours from a unit's first ``start`` event to its
first ``end`` event after it, e.g. order placed -> delivered; units without the end are left out).
Each unit has a time: its start event (its funnel entry). The change happened at ``at``; units from
``at`` on are *after*. Units whose time falls in an ``exclude`` period (e.g. a sale week) are left out.

With ``trend=True`` (the default) the estimate is the **level change** of a segmented regression
(interrupted time series) fitted by least squares on the units: ``y = a + b t + c after + d t after``
with ``t`` in days from ``at``; ``c`` is the jump at ``at`` net of the trend before it. With
``trend=False`` it is the difference of means after − before. The 95 % interval is a percentile
**cluster bootstrap over customers** (``bootstrap`` resamples, seeded: each customer's units are drawn
together, so repeat customers do not count as independent; a unit linked to no customer is its own
cluster). ``periods`` gives the mean KPI per day (or week) with the fitted line, for charts.

This is the standard segmented-regression ITS (Wagner et al. 2002); difference-in-differences with a
comparison group and the model-based what-if are not part of this function yet.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pyarrow as pa

from ..errors import ConfigError
from ..results import Result
from ..store import Store
from ..timespan import parse_instant
from ._features import clusters
from ._outcomes import Outcome, Units, evaluate, first_then

__all__ = ["Impact", "Metric", "duration_between", "impact"]

_DAY = 86_400_000_000


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
    ``high``), the means and units before and after, and ``periods`` (mean and fitted KPI per period)."""

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

    def to_arrow(self) -> pa.Table:
        return self.periods

    def to_dict(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in ("kpi", "object_type", "at", "method", "estimate", "low", "high",
                                              "before_mean", "after_mean", "before_units", "after_units")}


def _metric_units(store: Store, m: Metric) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(codes, start µs, hours) of the units of a duration metric."""
    codes, t0, t_end, ok = first_then(store, m.object_type, m.start, m.end)
    return codes[ok], t0[ok], (t_end[ok] - t0[ok]) / 3.6e9


def _fit(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    xw = x * w[:, None]
    return np.linalg.lstsq(xw.T @ x, xw.T @ y, rcond=None)[0]


def impact(store: Store, kpi: Outcome | Metric, at: object, *, trend: bool = True, exclude: list = (),
           period: str = "day", bootstrap: int = 500, seed: int = 0) -> Impact:
    """The change of ``kpi`` at ``at`` (semantics in the module docs).

    ``exclude`` lists ``(start, end)`` periods whose units are left out (``start <= time < end``)."""
    when = parse_instant(at, "at")
    if when is None:
        raise ConfigError("The at parameter must give the time of the change.", field="at")
    if period not in ("day", "week"):
        raise ConfigError(f"The period parameter must be day or week. Got {period!r} instead.", field="period")
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, int) or bootstrap < 100:
        raise ConfigError(f"The bootstrap parameter must be an integer of at least 100. Got {bootstrap!r} instead.",
                          field="bootstrap")
    if isinstance(kpi, Metric):
        codes, start, y = _metric_units(store, kpi)
        object_type, label = kpi.object_type, kpi.label
    elif isinstance(kpi, Outcome):
        u: Units = evaluate(store, kpi)
        codes, start, y, object_type, label = u.codes, u.start, u.outcome.astype(float), u.object_type, kpi.label
    else:
        raise ConfigError(f"The kpi parameter must be a jm.followed_by, jm.dropped_after or jm.duration_between. "
                          f"Got {kpi!r} instead.", field="kpi")
    t_at = int(when.replace(tzinfo=dt.UTC).timestamp() * 1e6)
    keep = np.ones(codes.size, bool)
    for lo, hi in exclude:
        lo_us, hi_us = (int(parse_instant(v, "exclude").replace(tzinfo=dt.UTC).timestamp() * 1e6) for v in (lo, hi))
        keep &= ~((start >= lo_us) & (start < hi_us))
    codes, start, y = codes[keep], start[keep], y[keep]
    t = (start - t_at) / _DAY
    after = (t >= 0).astype(float)
    if after.sum() < 2 or (1 - after).sum() < 2:
        raise ConfigError(f"The change at {when.isoformat()} needs units before and after it.", field="at")
    x = np.column_stack([np.ones_like(t), t, after, t * after]) if trend else np.column_stack([np.ones_like(t), after])
    term = 2 if trend else 1
    cluster = clusters(store, object_type, codes)  # bootstrap by customer
    estimate = float(_fit(x, y, np.ones(y.size))[term])
    rng = np.random.default_rng(seed)
    draws = np.empty(bootstrap)
    k = int(cluster.max()) + 1
    for i in range(bootstrap):
        w = np.bincount(rng.integers(0, k, k), minlength=k)[cluster].astype(float)
        draws[i] = _fit(x, y, w)[term]
    low, high = np.percentile(draws, (2.5, 97.5))
    beta = _fit(x, y, np.ones(y.size))
    step = _DAY * (7 if period == "week" else 1)
    bucket = np.floor_divide(start - t_at, step)
    rows = []
    for b in np.unique(bucket):
        m = bucket == b
        mid = (b + 0.5) * step / _DAY
        xa = [1.0, mid, float(mid >= 0), mid * (mid >= 0)] if trend else [1.0, float(mid >= 0)]
        rows.append({"period": dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=int(t_at + b * step)),
                     "units": int(m.sum()), "mean": float(y[m].mean()), "fitted": float(np.dot(xa, beta))})
    return Impact(kpi=label, object_type=object_type, at=when,
                  method="interrupted time series (level change, linear trends)" if trend else "after - before",
                  estimate=estimate, low=float(low), high=float(high), before_mean=float(y[after == 0].mean()),
                  after_mean=float(y[after == 1].mean()), before_units=int((after == 0).sum()),
                  after_units=int((after == 1).sum()), periods=pa.Table.from_pylist(rows))

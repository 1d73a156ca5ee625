"""``jm.what_if``: a model-based projection of a journey KPI if a process step's wait changed (P2J).

Semantics. ``outcome`` gives the units and their 0/1 KPI (as in ``jm.explain``); only units whose time
is before ``until`` are used to fit (so a projection can be checked against what happened after).
For each unit, *w* is the longest wait before ``activity`` in its linked ``process`` objects before its
cutoff (``jm.explain``'s wait feature). The **dose-response** is the outcome rate in ``bins`` quantile
bins of *w* (piecewise constant); units without *w* form their own group whose rate is kept.

The projection replaces every *w* by ``factor`` × *w* (``remove=True``: the wait is gone, factor 0)
and averages the fitted rates: the KPI the same units would have had, had only that wait changed,
with everything else (mix, season, other steps) as it was — a **model-based projection**, not an
observation, and only as good as the assumption that the wait drives the outcome. The 95 % interval
is a percentile cluster bootstrap over customers (the dose-response refitted on each resample; bins
fixed from the full fit). ``throughput_hours``/``projected_throughput_hours`` give the process side:
the units' mean wait before the activity now and under the change.
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
from ._features import clusters, longest_wait
from ._outcomes import Outcome, evaluate

__all__ = ["WhatIf", "what_if"]


@dataclasses.dataclass(frozen=True, eq=False)
class WhatIf(Result):
    """The projected KPI (``predicted`` with ``low``/``high``) against the fitted units' ``baseline``;
    ``dose_response`` holds the bins."""

    kpi: str
    activity: str
    factor: float
    until: dt.datetime | None
    units: int
    baseline: float
    predicted: float
    low: float
    high: float
    wait_hours: float
    projected_wait_hours: float
    dose_response: pa.Table = dataclasses.field(repr=False)

    def to_arrow(self) -> pa.Table:
        return self.dose_response

    def to_dict(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in ("kpi", "activity", "factor", "until", "units", "baseline",
                                              "predicted", "low", "high", "wait_hours", "projected_wait_hours")}


def _project(b: np.ndarray, b_new: np.ndarray, y: np.ndarray, w: np.ndarray, k: int) -> float:
    """Weighted mean of the fitted rates at the new bins (bin k: units without a wait)."""
    n = np.bincount(b, weights=w, minlength=k + 1)
    rates = np.bincount(b, weights=w * y, minlength=k + 1) / np.maximum(n, 1e-12)
    return float((rates[b_new] * w).sum() / w.sum())


def what_if(store: Store, outcome: Outcome, activity: str, *, process: str | None = None, factor: float | None = None,
            remove: bool = False, until: object = None, bins: int = 10, bootstrap: int = 200,
            seed: int = 0) -> WhatIf:
    """The KPI of ``outcome`` if the wait before ``activity`` were ``factor`` times as long (semantics in
    the module docs)."""
    if remove:
        factor = 0.0
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or factor < 0:
        raise ConfigError(f"The factor parameter must be a number >= 0 (or remove=True). Got {factor!r} instead.",
                          field="factor")
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 2:
        raise ConfigError(f"The bins parameter must be an integer >= 2. Got {bins!r} instead.", field="bins")
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, int) or bootstrap < 100:
        raise ConfigError(f"The bootstrap parameter must be an integer of at least 100. Got {bootstrap!r} instead.",
                          field="bootstrap")
    units = evaluate(store, outcome)
    limit = parse_instant(until, "until")
    if limit is not None:
        t = int(limit.replace(tzinfo=dt.UTC).timestamp() * 1e6)
        keep = units.start < t
        units = dataclasses.replace(units, codes=units.codes[keep], outcome=units.outcome[keep],
                                    cutoff=units.cutoff[keep], start=units.start[keep])
    w = longest_wait(store, units, process or units.object_type, activity)
    has = ~np.isnan(w)
    if has.sum() < bins:
        raise ConfigError(f"The activity parameter: too few units with a wait before {activity!r} to fit "
                          f"({int(has.sum())}).",
                          field="activity")
    edges = np.unique(np.percentile(w[has], np.linspace(0, 100, bins + 1)))
    k = edges.size - 1

    def binned(values: np.ndarray) -> np.ndarray:
        b = np.clip(np.searchsorted(edges, np.nan_to_num(values), side="right") - 1, 0, k - 1)
        return np.where(has, b, k)

    b, b_new = binned(w), binned(w * factor)
    y = units.outcome.astype(float)
    ones = np.ones(y.size)
    predicted = _project(b, b_new, y, ones, k)
    cluster = clusters(store, units.object_type, units.codes)
    m = int(cluster.max()) + 1 if cluster.size else 0
    rng = np.random.default_rng(seed)
    draws = [_project(b, b_new, y, np.bincount(rng.integers(0, m, m), minlength=m)[cluster].astype(float), k)
             for _ in range(bootstrap)]
    low, high = np.percentile(draws, (2.5, 97.5))
    rows = [{"low_hours": float(edges[i]) / 3600, "high_hours": float(edges[i + 1]) / 3600,
             "units": int((b == i).sum()), "outcome_rate": float(y[b == i].mean()) if (b == i).any() else None}
            for i in range(k)]
    return WhatIf(kpi=outcome.label, activity=activity, factor=float(factor), until=limit, units=int(y.size),
                  baseline=float(y.mean()), predicted=predicted, low=float(low), high=float(high),
                  wait_hours=float(w[has].mean()) / 3600, projected_wait_hours=float(w[has].mean() * factor) / 3600,
                  dose_response=pa.Table.from_pylist(rows))

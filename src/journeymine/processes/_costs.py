"""``jm.process_costs``: proxies of what a process costs to run, per case and in total (the P2J efficiency side).

Semantics. Cases as in the process view (one per object of ``object_type`` with events, its events by
time, ties by load order; a :class:`~journeymine.ProcessView` is read as it is, filters included). The
events of the ``contact`` activity (default ``"service contact"``) are the customer's contacts about
the case; every other event is the process's own work. Per case:

- **touches**: the number of its non-contact events. Every logged activity is one touch, whoever or
  whatever did it (a person, a machine, a carrier); an event log holds no effort, so a touch is the
  unit of work it can count;
- **rework events**: the touches beyond the first of the same activity (a case with ``picking started``
  three times has two); a case **has rework** when it has at least one;
- **contacts**: the number of its ``contact`` events (the contacts linked to the case);
- **throughput hours**: from its first to its last non-contact event (``None`` for a case with contact
  events only; such a case still counts in the other means).

Totals sum over cases; the means are per case: touches per case, the share of cases with rework,
rework events per case, contacts per case, and the mean and median throughput hours (over the cases
that have one). A case belongs to the time of its **first event** (its arrival, as ``jm.bottlenecks``'
over-time table and the ``"started"`` time rule of ``jm.process_view``): ``period`` (``"day"``,
``"week"`` starting on Monday, ``"month"``, all UTC) gives the same numbers per arrival period, and
``at`` a before/after comparison: the means of the cases that arrived before ``at`` and of those that
arrived at or after it, and their difference (after - before).

These are **proxies**: counts and hours, no money. Multiply touches or contacts by a unit cost you know
to price them. Recent cases are still open: they have fewer touches and contacts and shorter throughput
than they will have, which biases the last periods and the "after" side of ``at`` downwards; compare
on cases old enough to be complete (``jm.process_view(store, type, end=..., time_rule="started")``).

Peers: pm4py has no cost view (its ``get_all_case_durations`` gives throughput times only). Celonis'
process KPIs "touch time" (here: touches, an event count, since the log has no effort) and "rework
rate" (here: share of cases with rework) are the analogue; Celonis counts rework per activity pair
as configured, here every repeated activity counts.
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
from ._cases import Cases
from ._view import ProcessView, resolve

__all__ = ["ProcessCosts", "process_costs"]

logger = logging.getLogger(__name__)

PERIODS = ("day", "week", "month")
METRICS = ("touches_per_case", "rework_share", "rework_per_case", "contacts_per_case", "throughput_mean_hours",
           "throughput_median_hours")
_DAY = 86_400_000_000


@dataclasses.dataclass(frozen=True, eq=False)
class ProcessCosts(Result):
    """The cost proxies of one object type's cases (semantics in the module docs): totals, per-case
    means (``None`` without cases), ``per_case`` (one row per case), and the ``periods`` (with
    ``period``) and ``comparison`` (with ``at``) tables, else ``None``."""

    object_type: str
    contact: str
    period: str | None
    at: dt.datetime | None
    cases: int
    touches: int
    rework_events: int
    rework_cases: int
    contacts: int
    touches_per_case: float | None
    rework_share: float | None
    rework_per_case: float | None
    contacts_per_case: float | None
    throughput_mean_hours: float | None
    throughput_median_hours: float | None
    per_case: pa.Table = dataclasses.field(repr=False)
    periods: pa.Table | None = dataclasses.field(default=None, repr=False)
    comparison: pa.Table | None = dataclasses.field(default=None, repr=False)

    def to_arrow(self) -> pa.Table:
        return self.per_case

    def to_dict(self) -> dict[str, object]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.repr}
        out["periods"] = None if self.periods is None else self.periods.to_pylist()
        out["comparison"] = None if self.comparison is None else self.comparison.to_pylist()
        return out

    def difference(self, metric: str) -> float | None:
        """After - before of ``metric`` (a per-case mean, e.g. ``"contacts_per_case"``) in the comparison."""
        if self.comparison is None:
            raise ConfigError("The comparison needs the at parameter.", field="at")
        rows = {r["metric"]: r["difference"] for r in self.comparison.to_pylist()}
        if metric not in rows:
            raise ConfigError(f"The metric parameter must be one of {', '.join(rows)}. Got {metric!r} instead.",
                              field="metric")
        return rows[metric]


def _per_case(c: Cases, contact: str) -> dict[str, np.ndarray]:
    """Touches, rework events, contacts, first event (µs) and throughput hours of every case."""
    n = c.n_cases
    is_contact = c.activity == c.seqs.type_codes.get(contact, -2)
    work = ~is_contact
    case, act = c.case[work].astype(np.int64), c.activity[work].astype(np.int64)
    touches = np.bincount(case, minlength=n)
    distinct = np.bincount(np.unique(case * (len(c.names) + 1) + act) // (len(c.names) + 1), minlength=n)
    contacts = np.bincount(c.case[is_contact].astype(np.int64), minlength=n)
    if n:
        big = np.iinfo(np.int64).max
        first = np.minimum.reduceat(np.where(work, c.time, big), c.starts)
        last = np.maximum.reduceat(np.where(work, c.time, -big), c.starts)
        last = np.where(touches > 0, last, first)  # a case with contacts only: no span (and no overflow)
        hours = np.where(touches > 0, (last - first) / 3.6e9, np.nan)
        arrival = c.time[c.starts]
    else:
        hours, arrival = np.zeros(0), np.zeros(0, np.int64)
    return {"touches": touches, "rework": touches - distinct, "contacts": contacts, "arrival": arrival,
            "hours": hours}


def _means(m: dict[str, np.ndarray], keep: np.ndarray | None = None) -> dict[str, object]:
    """Case count, totals and per-case means of the cases in ``keep`` (all when ``None``)."""
    part = m if keep is None else {k: v[keep] for k, v in m.items()}
    n = int(part["touches"].size)
    hours = part["hours"][~np.isnan(part["hours"])]

    def mean(values: np.ndarray) -> float | None:
        return float(values.mean()) if values.size else None

    return {"cases": n, "touches": int(part["touches"].sum()), "rework_events": int(part["rework"].sum()),
            "rework_cases": int((part["rework"] > 0).sum()), "contacts": int(part["contacts"].sum()),
            "touches_per_case": mean(part["touches"]), "rework_share": mean(part["rework"] > 0),
            "rework_per_case": mean(part["rework"]), "contacts_per_case": mean(part["contacts"]),
            "throughput_mean_hours": mean(hours),
            "throughput_median_hours": float(np.median(hours)) if hours.size else None}


def _period_of(arrival: np.ndarray, period: str) -> np.ndarray:
    """The start (µs, UTC) of the day, week (from Monday) or month each arrival falls in."""
    day = arrival // _DAY
    if period == "day":
        return day * _DAY
    if period == "week":
        return (day - (day - 4) % 7) * _DAY  # day 4 since the epoch, 1970-01-05, was a Monday
    months = arrival.astype("datetime64[us]").astype("datetime64[M]")
    return months.astype("datetime64[us]").astype(np.int64)


def _periods(m: dict[str, np.ndarray], period: str) -> pa.Table:
    which = _period_of(m["arrival"], period)
    rows = [_means(m, which == p) for p in np.unique(which)]
    columns = {"period": pa.array(np.unique(which), pa.int64()).cast(pa.timestamp("us"))}
    for name in ("cases", "touches", "rework_events", "rework_cases", "contacts"):
        columns[name] = pa.array([r[name] for r in rows], pa.int64())
    for name in METRICS:
        columns[name] = pa.array([r[name] for r in rows], pa.float64())
    return pa.table(columns)


def _comparison(m: dict[str, np.ndarray], at: dt.datetime) -> pa.Table:
    t = int(at.replace(tzinfo=dt.UTC).timestamp() * 1_000_000)
    before, after = _means(m, m["arrival"] < t), _means(m, m["arrival"] >= t)
    if not before["cases"] or not after["cases"]:
        raise ConfigError(f"The at parameter must fall inside the cases' arrivals: {before['cases']} cases arrived "
                          f"before {at.isoformat()} and {after['cases']} at or after it. Got {at!r} instead.",
                          field="at")
    names = ("cases", *METRICS)
    return pa.table({
        "metric": pa.array(names, pa.string()),
        "before": pa.array([before[k] for k in names], pa.float64()),
        "after": pa.array([after[k] for k in names], pa.float64()),
        "difference": pa.array([None if before[k] is None or after[k] is None else after[k] - before[k]
                                for k in names], pa.float64()),
    })


def process_costs(source: Store | ProcessView, object_type: str | None = None, *, contact: str = "service contact",
                  period: str | None = None, at: object = None) -> ProcessCosts:
    """Touches, rework, contacts and throughput hours of ``object_type``'s cases (semantics in the module
    docs). ``object_type`` defaults to ``"order"`` for a store and to the view's type for a view.

    >>> import journeymine as jm
    >>> store = jm.connect(":memory:")
    >>> _ = jm.read_csv("data/running-example/running-example.csv", store, activity_col="concept:name",
    ...                 timestamp_col="time:timestamp", case_col="case:concept:name")
    >>> costs = jm.process_costs(store, "case")
    >>> costs.cases, costs.touches, costs.rework_events, costs.rework_cases, costs.contacts
    (6, 42, 9, 2, 0)
    """
    if not isinstance(contact, str) or not contact:
        raise ConfigError(f"The contact parameter must name the contact activity. Got {contact!r} instead.",
                          field="contact")
    if period is not None and period not in PERIODS:
        raise ConfigError(f"The period parameter must be one of {', '.join(PERIODS)} or None. Got {period!r} "
                          f"instead.", field="period")
    if object_type is None and not isinstance(source, ProcessView):
        object_type = "order"
    when = parse_instant(at, "at")
    c, store = resolve(source, object_type)
    m = _per_case(c, contact)
    if c.seqs.type_codes.get(contact) is None:
        logger.info("process_costs: no %r events in the store; contacts are 0", contact)
    per_case = pa.table({
        "case_id": c.ids(store), "first_event": pa.array(m["arrival"], pa.int64()).cast(pa.timestamp("us")),
        "touches": pa.array(m["touches"], pa.int64()), "rework_events": pa.array(m["rework"], pa.int64()),
        "contacts": pa.array(m["contacts"], pa.int64()),
        "throughput_hours": pa.array(m["hours"], pa.float64(), mask=np.isnan(m["hours"])),
    })
    return ProcessCosts(object_type=c.object_type, contact=contact, period=period, at=when, **_means(m),
                        per_case=per_case, periods=None if period is None else _periods(m, period),
                        comparison=None if when is None else _comparison(m, when))

"""``jm.bottlenecks``: where the cases of a process wait, how long activities take, rework and load.

Semantics. Cases as in the process view (one per object of the type, events by time, ties by load
order). Events become **activity instances**:

- In a log without lifecycle transitions (no event has ``lifecycle:transition`` = ``start``), every
  event is an instance that begins and ends at its time; the **waiting time** before it is the time
  since the previous event of the case (exactly the DFG's edge times), and there is no service time.
- With lifecycle transitions, an event without a transition counts as ``complete``; in case order,
  each ``complete`` of an activity takes the oldest ``start`` of that activity in the case not yet
  taken (first in, first out), and the pair is one instance whose **service time** is complete - start.
  A ``complete`` with no open start is an instance without a service time; a ``start`` never
  completed, and other transitions (``schedule``, ``suspend``...), begin no instance. The waiting time
  before an instance is from the most recent instance end (a ``complete``) in the case before it
  begins, to its begin. pm4py pairs lifecycle events the same way (``interval_lifecycle.to_interval``,
  without ``lifecycle:instance``, which is not read here); its service-time mean also counts a
  lone ``complete`` as 0 s, where it is left out here (its service time is unknown).

The first instance of a case has no waiting time. ``calendar`` (a :class:`BusinessHours`) counts only
working time in every duration (waiting, service and throughput); without it, durations are elapsed
time. Per activity: instances, cases, **rework** (cases with the activity more than once, and the
instances beyond the first), waiting (mean, median, 90th percentile, total) and service time. The
**ranking** orders activities by their total waiting time (where cases wait longest, all cases
together) and ``transitions`` the pairs (previous activity, activity) the same way. ``by`` names
attributes whose values go with long waits: an event attribute of the instance's first event
(``"org:resource"``), or a case attribute with the ``case:`` prefix (``"case:region"``); for each
activity and value with at least ``min_instances`` waits, the **excess** is the total wait of those
instances minus what they would have waited at the activity's mean; rows are ranked by excess.
**Over time** (``period`` day, week or month of UTC): arrivals (cases whose first event falls in the
period), completions (last event), mean work in progress (cases open, first event <= t < last event,
averaged over the period's time), open cases at the period's end, and the median throughput time of
the cases that arrived in it.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ConfigError
from ..results import Result
from ..store import Store
from ._calendar import BusinessHours
from ._cases import Cases, case_values, event_values
from ._view import ProcessView, resolve

__all__ = ["Bottlenecks", "bottlenecks"]

PERIODS = ("day", "week", "month")
LIFECYCLE = "lifecycle:transition"


@dataclasses.dataclass(frozen=True, eq=False)
class Bottlenecks(Result):
    """The bottleneck report of one object type (semantics in the module docs). ``activities`` (the
    ranking), ``transitions``, ``attributes`` and ``over_time`` are tables; ``throughput`` summarises
    case throughput times in seconds (``quantiles`` at 10, 25, 50, 75, 90, 95 and 100 %)."""

    object_type: str
    cases: int
    events: int
    lifecycle: bool
    calendar: dict[str, object] | None
    throughput: dict[str, object]
    activities: pa.Table = dataclasses.field(repr=False)
    transitions: pa.Table = dataclasses.field(repr=False)
    attributes: pa.Table = dataclasses.field(repr=False)
    over_time: pa.Table = dataclasses.field(repr=False)

    def to_arrow(self) -> pa.Table:
        return self.activities

    def to_dict(self) -> dict[str, object]:
        return {"object_type": self.object_type, "cases": self.cases, "events": self.events,
                "lifecycle": self.lifecycle, "calendar": self.calendar, "throughput": self.throughput,
                "activities": self.activities.to_pylist(), "transitions": self.transitions.slice(0, 20).to_pylist(),
                "attributes": self.attributes.slice(0, 20).to_pylist(), "over_time": self.over_time.to_pylist()}

    def activity(self, name: str) -> dict[str, object]:
        """The row of activity ``name`` in the ranking."""
        rows = [r for r in self.activities.to_pylist() if r["activity"] == name]
        if not rows:
            raise ConfigError(f"No activity {name!r} in the {self.object_type} cases.", field="activity")
        return rows[0]


@dataclasses.dataclass(frozen=True)
class _Instances:
    row: np.ndarray  # the row of the instance's first event (start, or the complete of an atomic one)
    activity: np.ndarray
    case: np.ndarray
    begin: np.ndarray  # µs
    end: np.ndarray  # µs
    service: np.ndarray  # µs or working µs, NaN without a start
    wait: np.ndarray  # NaN for a case's first instance
    previous: np.ndarray  # activity code of the instance ended before, -1 for none


def _instances(c: Cases, lifecycle: pa.Array | None, worked) -> _Instances:
    n, act, time, case = c.seqs.n, c.activity.astype(np.int64), c.time, c.case
    rows = np.arange(n)
    if lifecycle is None:
        ends, begins, service = rows, rows, np.full(n, np.nan)
    else:
        kind = pc.fill_null(pc.utf8_lower(lifecycle), "complete")  # no transition: complete, as pm4py reads it
        is_start = np.asarray(pc.equal(kind, "start"))
        is_end = np.asarray(pc.equal(kind, "complete"))
        # within each (case, activity), in case order, a complete takes the oldest start still open
        key = case * (len(c.names) + 1) + act
        order = np.lexsort((rows, key))
        first = np.r_[True, key[order][1:] != key[order][:-1]] if n else np.zeros(0, bool)
        sizes = np.diff(np.r_[np.flatnonzero(first), n])
        group = np.repeat(np.arange(sizes.size), sizes)

        def running(flags: np.ndarray) -> np.ndarray:  # count of flags up to each position, per group
            total = np.cumsum(flags)
            return total - np.repeat((total - flags)[first], sizes)

        s_sorted, e_sorted = is_start[order], is_end[order]
        s_count, e_count = running(s_sorted), running(e_sorted)
        # completes without an open start so far: the running maximum of (completes - starts), floored at 0
        big = 4 * (n + 1)
        lonely = np.maximum.accumulate(e_count - s_count + group * big) - group * big
        lonely = np.maximum(lonely, 0)
        before = np.r_[0, lonely[:-1]] * ~first if n else lonely
        matched_sorted = e_sorted & (lonely == before)
        m_rank = running(matched_sorted) - 1  # the m-th matched complete takes the m-th start of its group
        s_rows = order[s_sorted]
        s_key = group[s_sorted] * (n + 1) + (s_count[s_sorted] - 1)
        e_rows = order[e_sorted]
        matched = matched_sorted[e_sorted]
        e_key = group[e_sorted] * (n + 1) + m_rank[e_sorted]
        at = np.minimum(np.searchsorted(s_key, e_key), max(s_key.size - 1, 0))
        start_row = np.where(matched, s_rows[at] if s_rows.size else 0, e_rows)
        keep = np.argsort(start_row, kind="stable")
        ends, begins = e_rows[keep], start_row[keep]
        service = np.where(matched[keep], (worked(time[ends]) - worked(time[begins])).astype(float), np.nan)
    # the most recent instance end strictly before each instance begins (in case order)
    is_end_row = np.zeros(n, bool)
    is_end_row[ends] = True
    last_end = np.maximum.accumulate(np.where(is_end_row, rows, -1)) if n else rows
    before = np.where(begins > 0, last_end[np.maximum(begins - 1, 0)], -1)
    has = (before >= 0) & (case[np.maximum(before, 0)] == case[begins])
    prev = np.where(has, before, 0)
    wait = np.where(has, (worked(time[begins]) - worked(time[prev])).astype(float), np.nan)
    return _Instances(begins, act[begins], case[begins], time[begins], time[ends], service, wait,
                      np.where(has, act[prev], -1))


def _stats(values: np.ndarray) -> tuple[float | None, float | None, float | None, float]:
    v = values[~np.isnan(values)] / 1e6
    if not v.size:
        return None, None, None, 0.0
    median, p90 = np.percentile(v, (50, 90))
    return float(v.mean()), float(median), float(p90), float(v.sum())


def _activities(c: Cases, inst: _Instances) -> pa.Table:
    rows = []
    for a in np.unique(inst.activity):
        mine = inst.activity == a
        per_case = np.bincount(inst.case[mine], minlength=c.n_cases)
        w_mean, w_median, w_p90, w_total = _stats(inst.wait[mine])
        s_mean, s_median, s_p90, s_total = _stats(inst.service[mine])
        rows.append({"activity": c.names[a], "instances": int(mine.sum()), "cases": int((per_case > 0).sum()),
                     "rework_cases": int((per_case > 1).sum()), "rework_instances": int((per_case - 1).clip(0).sum()),
                     "waiting_mean_seconds": w_mean, "waiting_median_seconds": w_median,
                     "waiting_p90_seconds": w_p90, "waiting_total_seconds": w_total,
                     "service_mean_seconds": s_mean, "service_median_seconds": s_median,
                     "service_total_seconds": s_total if s_mean is not None else None})
    total = sum(r["waiting_total_seconds"] for r in rows) or 1.0
    for r in rows:
        r["waiting_share"] = r["waiting_total_seconds"] / total
    rows.sort(key=lambda r: (-r["waiting_total_seconds"], r["activity"]))
    return _table(rows, ["activity", "instances", "cases", "rework_cases", "rework_instances", "waiting_mean_seconds",
                         "waiting_median_seconds", "waiting_p90_seconds", "waiting_total_seconds", "waiting_share",
                         "service_mean_seconds", "service_median_seconds", "service_total_seconds"])


def _table(rows: list[dict], names: list[str]) -> pa.Table:
    types = {"activity": pa.string(), "source": pa.string(), "target": pa.string(), "attribute": pa.string(),
             "value": pa.string(), "period": pa.timestamp("us")}
    ints = ("instances", "cases", "rework_cases", "rework_instances", "count", "arrivals", "completions", "open_at_end")
    return pa.table({n: pa.array([r[n] for r in rows], types.get(n, pa.int64() if n in ints else pa.float64()))
                     for n in names})


def _transitions(c: Cases, inst: _Instances) -> pa.Table:
    has = inst.previous >= 0
    t = len(c.names)
    key = inst.previous[has] * t + inst.activity[has]
    wait = inst.wait[has]
    rows = []
    for k in np.unique(key):
        w = wait[key == k] / 1e6
        rows.append({"source": c.names[k // t], "target": c.names[k % t], "count": int(w.size),
                     "waiting_median_seconds": float(np.median(w)), "waiting_total_seconds": float(w.sum())})
    rows.sort(key=lambda r: (-r["waiting_total_seconds"], r["source"], r["target"]))
    return _table(rows, ["source", "target", "count", "waiting_median_seconds", "waiting_total_seconds"])


def _attributes(store: Store, c: Cases, inst: _Instances, by: list[str], least: int) -> pa.Table:
    rows = []
    for name in by:
        if name.startswith("case:"):
            values = case_values(store, c.object_type, c.seqs.actor_code, name[5:]).take(pa.array(inst.case))
        else:
            values = event_values(store, c.seqs.event[inst.row], name)
        value = np.asarray(values.fill_null("(none)"), dtype=object) if len(values) else np.zeros(0, object)
        for a in np.unique(inst.activity):
            mine = (inst.activity == a) & ~np.isnan(inst.wait)
            mean = inst.wait[mine].mean() if mine.any() else 0.0
            for v in sorted(set(value[mine].tolist())):
                w = inst.wait[mine & (value == v)]
                if w.size >= least:
                    rows.append({"attribute": name, "activity": c.names[a], "value": v, "instances": int(w.size),
                                 "waiting_median_seconds": float(np.median(w)) / 1e6,
                                 "waiting_mean_seconds": float(w.mean()) / 1e6,
                                 "excess_seconds": float(w.sum() - w.size * mean) / 1e6})
    rows.sort(key=lambda r: (-r["excess_seconds"], r["attribute"], r["activity"], r["value"]))
    return _table(rows, ["attribute", "activity", "value", "instances", "waiting_median_seconds",
                         "waiting_mean_seconds", "excess_seconds"])


def _period_starts(lo: int, hi: int, period: str) -> np.ndarray:
    """Boundaries (µs) of the UTC periods covering [lo, hi], one past the last (weeks begin on Monday)."""
    if period == "month":
        first, last = (np.datetime64(x, "us").astype("datetime64[M]") for x in (lo, hi))
        return np.arange(first, last + 2).astype("datetime64[us]").astype(np.int64)
    step = 86_400_000_000 * (7 if period == "week" else 1)
    origin = 4 * 86_400_000_000 if period == "week" else 0  # 1970-01-05 was a Monday
    first = lo - (lo - origin) % step
    return np.arange(first, hi + step + 1, step, dtype=np.int64)[: (hi - first) // step + 2]


def _over_time(first: np.ndarray, last: np.ndarray, throughput: np.ndarray, period: str) -> pa.Table:
    if not first.size:
        return _table([], ["period", "arrivals", "completions", "wip_mean", "open_at_end", "throughput_median_seconds"])
    bounds = _period_starts(int(first.min()), int(last.max()), period)
    s, e = np.sort(first), np.sort(last)
    cs, ce = np.r_[0, np.cumsum(s, dtype=np.float64)], np.r_[0, np.cumsum(e, dtype=np.float64)]

    def area(t: np.ndarray) -> np.ndarray:  # integral of open cases from -inf to t
        ks, ke = np.searchsorted(s, t, "right"), np.searchsorted(e, t, "right")
        return (ks * t - cs[ks]) - (ke * t - ce[ke])

    arrivals = np.diff(np.searchsorted(s, bounds))
    completions = np.diff(np.searchsorted(e, bounds))
    wip = np.diff(area(bounds.astype(np.float64))) / np.diff(bounds)
    open_end = np.searchsorted(s, bounds[1:] - 1, "right") - np.searchsorted(e, bounds[1:] - 1, "right")
    which = np.searchsorted(bounds, first, "right") - 1
    medians = [float(np.median(throughput[which == i])) if arrivals[i] else None for i in range(arrivals.size)]
    rows = [{"period": int(bounds[i]), "arrivals": int(arrivals[i]), "completions": int(completions[i]),
             "wip_mean": float(wip[i]), "open_at_end": int(open_end[i]), "throughput_median_seconds": medians[i]}
            for i in range(arrivals.size)]
    return _table(rows, ["period", "arrivals", "completions", "wip_mean", "open_at_end", "throughput_median_seconds"])


def bottlenecks(source: Store | ProcessView, object_type: str | None = None, *, calendar: BusinessHours | None = None,
                by: str | list[str] = (), min_instances: int = 30, period: str = "day", start: object = None,
                end: object = None) -> Bottlenecks:
    """The bottleneck report of ``object_type``'s cases (semantics in the module docs).

    >>> import journeymine as jm
    >>> store = jm.connect(":memory:")
    >>> _ = jm.read_csv("data/running-example/running-example.csv", store, activity_col="concept:name",
    ...                 timestamp_col="time:timestamp", case_col="case:concept:name")
    >>> report = jm.bottlenecks(store, by="org:resource", min_instances=2)
    >>> top = report.activities.to_pylist()[0]
    >>> top["activity"], round(top["waiting_total_seconds"] / 86400, 1), top["rework_cases"]
    ('decide', 22.2, 2)
    """
    if period not in PERIODS:
        raise ConfigError(f"The period parameter must be one of {', '.join(PERIODS)}. Got {period!r} instead.",
                          field="period")
    if calendar is not None and not isinstance(calendar, BusinessHours):
        raise ConfigError(f"The calendar parameter must be a jm.BusinessHours. Got {calendar!r} instead.",
                          field="calendar")
    by = [by] if isinstance(by, str) else list(by)
    if not all(isinstance(b, str) and b and b != "case:" for b in by):
        raise ConfigError(f"The by parameter must name attributes. Got {by!r} instead.", field="by")
    if isinstance(min_instances, bool) or not isinstance(min_instances, int) or min_instances < 1:
        raise ConfigError(f"The min_instances parameter must be a positive integer. Got {min_instances!r} instead.",
                          field="min_instances")
    c, store = resolve(source, object_type, start, end)
    worked = calendar.worked if calendar is not None else (lambda t: t)
    lifecycle = event_values(store, c.seqs.event, LIFECYCLE) if c.seqs.n else None
    uses = lifecycle is not None and bool(pc.any(pc.equal(pc.utf8_lower(lifecycle), "start")).as_py())
    inst = _instances(c, lifecycle if uses else None, worked)
    first, last = c.time[c.starts], c.time[c.ends - 1]
    throughput = (worked(last) - worked(first)) / 1e6
    q = np.percentile(throughput, (10, 25, 50, 75, 90, 95, 100)).tolist() if throughput.size else [None] * 7
    summary = {"mean_seconds": float(throughput.mean()) if throughput.size else None, "median_seconds": q[2],
               "p90_seconds": q[4], "quantiles": dict(zip(("p10", "p25", "p50", "p75", "p90", "p95", "max"), q))}
    return Bottlenecks(object_type=c.object_type, cases=c.n_cases, events=c.seqs.n, lifecycle=uses,
                       calendar=calendar.to_dict() if calendar is not None else None, throughput=summary,
                       activities=_activities(c, inst), transitions=_transitions(c, inst),
                       attributes=_attributes(store, c, inst, by, min_instances),
                       over_time=_over_time(first, last, throughput, period))

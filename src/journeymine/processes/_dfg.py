"""``jm.discover_dfg``: the directly-follows graph of an object type's cases, with frequencies and times.

Semantics. One case per object of the type (pm4py's ``ocel_flattening``: an event linked to several
objects of the type appears in each of their cases); its events ordered by time, ties by load order
(the order of the source file), as pm4py orders them. For every pair of consecutive events (a, b) of a
case, the edge a -> b gets:

- ``count``: how often b directly follows a, over all cases (pm4py's ``discover_dfg`` frequency);
- ``cases``: in how many cases it happens at least once (Disco's case frequency);
- ``mean_seconds``, ``median_seconds``, ``p90_seconds``: the time from a to b (the waiting time on
  the edge), over all its occurrences; the median of an even count is the mean of the two middle
  values, the 90th percentile interpolates linearly between the closest ranks (NumPy's default).

``start`` and ``end`` count the cases that start and end with each activity; ``activities`` counts
the events of each activity. ``keep_activities`` / ``keep_edges`` (Disco's two sliders) keep the most
frequent activities (events of the others are projected out *before* the edges are counted, so the
graph stays connected) and then the most frequent edges (ties by name).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa

from ..errors import ConfigError
from ..results import Result
from ..store import Store
from ._cases import Cases
from ._view import ProcessView, resolve

__all__ = ["DFG", "discover_dfg"]


@dataclasses.dataclass(frozen=True, eq=False)
class DFG(Result):
    """A directly-follows graph: ``edges`` (source, target, count, cases, mean_seconds, median_seconds,
    p90_seconds; most frequent first), ``start``/``end`` (activity -> cases), ``activities``
    (activity -> events), and the numbers of cases and events it was built from."""

    object_type: str
    cases: int
    events: int
    edges: pa.Table = dataclasses.field(repr=False)
    start: dict[str, int] = dataclasses.field(default_factory=dict)
    end: dict[str, int] = dataclasses.field(default_factory=dict)
    activities: dict[str, int] = dataclasses.field(default_factory=dict)

    def to_arrow(self) -> pa.Table:
        return self.edges

    def to_dict(self) -> dict[str, object]:
        keep = ("source", "target", "count", "cases", "mean_seconds", "median_seconds", "p90_seconds")
        return {"object_type": self.object_type, "cases": self.cases, "events": self.events,
                "edges": self.edges.select(list(keep)).to_pylist(), "start": self.start, "end": self.end,
                "activities": self.activities}


def _counts(names: list[str | None], codes: np.ndarray) -> dict[str, int]:
    n = np.bincount(codes, minlength=len(names)) if codes.size else np.zeros(len(names), np.int64)
    order = sorted((i for i in np.flatnonzero(n)), key=lambda i: (-n[i], names[i]))
    return {names[i]: int(n[i]) for i in order}


def _edges(c: Cases) -> pa.Table:
    """The edge table of cases ``c`` (all their events).

    Pairs of rows (i, i + 1) are edges when both rows belong to one case; the others get a sentinel
    edge code and are left out after one stable sort by edge code (a radix sort on 16-bit codes), so no
    array is compacted first. Within an edge the sort keeps case order, which counts cases per edge."""
    act, time, case = c.activity, c.time, c.case
    t = len(c.names)
    if c.seqs.n < 2:
        return _table([])
    edge = act[:-1].astype(np.int32) * t + act[1:]
    edge[case[1:] != case[:-1]] = t * t  # not an edge: the sentinel, last in the sort
    if t * t < 1 << 16:  # a lookup table of the edges present: O(rows), no sort
        present = np.bincount(edge, minlength=t * t + 1)[: t * t] > 0
        used = np.flatnonzero(present)
        lookup = np.full(t * t + 1, used.size, np.uint16)
        lookup[used] = np.arange(used.size)
        dense = lookup[edge]
        order = np.argsort(dense, kind="stable")
    else:
        used, dense = np.unique(edge, return_inverse=True)
        used = used[used < t * t]
        order = np.argsort(dense, kind="stable")
    del edge
    dense_sorted = dense[order]
    bounds = np.searchsorted(dense_sorted, np.arange(used.size + 1))
    order = order[: bounds[-1]]  # drop the sentinels
    if not order.size:
        return _table([])
    wait_sorted = np.diff(time)[order]
    who_sorted = case[1:][order]
    first_in_case = np.ones(order.size, bool)  # stable order keeps cases ascending within an edge
    first_in_case[1:] = (dense_sorted[1 : order.size] != dense_sorted[: order.size - 1]) | (who_sorted[1:] != who_sorted[:-1])
    starts, stops = bounds[:-1], bounds[1:]
    cases = np.add.reduceat(first_in_case, starts) if starts.size else np.zeros(0, np.int64)
    sums = np.add.reduceat(wait_sorted, starts) if starts.size else np.zeros(0, np.int64)
    rows = []
    for k, (lo, hi) in enumerate(zip(starts, stops)):
        median, p90 = np.percentile(wait_sorted[lo:hi], (50, 90)) / 1e6  # the median: mean of the middle two
        rows.append((c.names[used[k] // t], c.names[used[k] % t], int(hi - lo), int(cases[k]),
                     float(sums[k] / (hi - lo) / 1e6), float(median), float(p90)))
    return _table(rows)


def _table(rows: list[tuple]) -> pa.Table:
    rows.sort(key=lambda r: (-r[2], r[0], r[1]))
    names = ["source", "target", "count", "cases", "mean_seconds", "median_seconds", "p90_seconds"]
    types = [pa.string(), pa.string(), pa.int64(), pa.int64(), pa.float64(), pa.float64(), pa.float64()]
    return pa.table({n: pa.array([r[i] for r in rows], ty) for i, (n, ty) in enumerate(zip(names, types))})


def _keep(c: Cases, keep_activities: int | None) -> Cases:
    """``c`` with only the ``keep_activities`` most frequent activities (ties by name)."""
    if keep_activities is None:
        return c
    counts = _counts(c.names, c.activity)
    kept = np.array([c.seqs.type_codes[a] for a in list(counts)[:keep_activities]], np.int32)
    return c.take(np.flatnonzero(np.isin(c.activity, kept)))


def _positive(value: object, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"The {field} parameter must be a positive integer or None. Got {value!r} instead.",
                          field=field)
    return value


def discover_dfg(source: Store | ProcessView, object_type: str | None = None, *, keep_activities: int | None = None,
                 keep_edges: int | None = None, start: object = None, end: object = None) -> DFG:
    """The directly-follows graph of ``object_type``'s cases (semantics in the module docs).

    ``start``/``end`` keep events with ``start <= time < end``.

    >>> import journeymine as jm
    >>> store = jm.connect(":memory:")
    >>> _ = jm.read_csv("data/running-example/running-example.csv", store, activity_col="concept:name",
    ...                 timestamp_col="time:timestamp", case_col="case:concept:name")
    >>> dfg = jm.discover_dfg(store)
    >>> dfg.cases, dfg.start, dfg.edges.num_rows
    (6, {'register request': 6}, 16)
    """
    keep_activities, keep_edges = _positive(keep_activities, "keep_activities"), _positive(keep_edges, "keep_edges")
    c = _keep(resolve(source, object_type, start, end)[0], keep_activities)
    edges = _edges(c)
    if keep_edges is not None:
        edges = edges.slice(0, keep_edges)
    return DFG(object_type=c.object_type, cases=c.n_cases, events=c.seqs.n, edges=edges,
               start=_counts(c.names, c.activity[c.starts]), end=_counts(c.names, c.activity[c.ends - 1]),
               activities=_counts(c.names, c.activity))

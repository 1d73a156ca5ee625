"""``jm.discover_ocdfg``: the object-centric directly-follows graph (one DFG per object type, on shared events).

Semantics (pm4py's ``discover_ocdfg``; Berti & van der Aalst, "Extracting multiple viewpoint models
from relational databases", 2018). For every object type T, each object of T with events is a case:
the events linked to it (merged identities resolved, a link listed twice counted once), ordered by time,
ties by load order (the source file's order). Two consecutive events (e1, e2) of an object are one
*occurrence* of the edge ``activity(e1) -> activity(e2)`` of T. Per edge of T:

- ``count``: the distinct event pairs (e1, e2) -- pm4py's ``event_couples``. Objects of T that pass
  through e1 and then e2 together (three items of one order, placed and then confirmed by the same two
  events) count once: this is the number of times the step happened, not the number of objects moved;
- ``objects``: the distinct objects of T on which the edge occurs (pm4py's ``unique_objects``);
- ``occurrences``: the (e1, e2, object) triples (pm4py's ``total_objects``), which is the ``count`` of
  ``jm.discover_dfg(store, T)`` (the flattened log of T);
- ``mean_seconds``, ``median_seconds``, ``p90_seconds``: the time from e1 to e2 over the distinct event
  pairs (pm4py's ``edges_performance["event_couples"]``); the median of an even number of pairs is the
  mean of the two middle values, the 90th percentile interpolates linearly (NumPy's default).

Per type, ``start``/``end`` count the objects whose first/last event has each activity (pm4py's start
and end activities, ``unique_objects``); ``objects``/``events`` count the objects of T with events and
the distinct events linked to them. The ``activities`` table has, per type and activity, the distinct
events linked to at least one object of T, the distinct objects of T, and the event-object links
(pm4py's ``activities_ot``: ``events``, ``unique_objects``, ``total_objects``).

``object_types`` lists the types to include (default: every type in the store, types without events
give empty graphs); ``start``/``end`` keep the events with ``start <= time < end`` before anything is
counted (cases are cut, as pm4py's ``filter_ocel_events_timestamp`` does).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable

import numpy as np
import pyarrow as pa

from ..errors import ConfigError
from ..results import Result
from ..store import Store
from ..timespan import parse_instant
from ._cases import Cases, load_cases

__all__ = ["OCDFG", "discover_ocdfg", "distinct", "group_bounds", "read_types", "resolve_types", "to_table"]

log = logging.getLogger(__name__)

EDGE_COLUMNS = {"object_type": pa.string(), "source": pa.string(), "target": pa.string(), "count": pa.int64(),
                "objects": pa.int64(), "occurrences": pa.int64(), "mean_seconds": pa.float64(),
                "median_seconds": pa.float64(), "p90_seconds": pa.float64()}
ACTIVITY_COLUMNS = {"object_type": pa.string(), "activity": pa.string(), "events": pa.int64(),
                    "objects": pa.int64(), "links": pa.int64()}


@dataclasses.dataclass(frozen=True, eq=False)
class OCDFG(Result):
    """An object-centric directly-follows graph (semantics in the module docs).

    ``edges`` has one row per (object_type, source, target) -- ``count``, ``objects``, ``occurrences``,
    ``mean_seconds``, ``median_seconds``, ``p90_seconds`` -- by type (in ``object_types`` order), then
    most frequent first, ties by name. ``activities`` has ``object_type, activity, events, objects,
    links``. ``start``/``end`` map each type to {activity: objects}; ``objects``/``events`` each type to
    its objects with events and its distinct events."""

    object_types: tuple[str, ...]
    objects: dict[str, int]
    events: dict[str, int]
    edges: pa.Table = dataclasses.field(repr=False)
    activities: pa.Table = dataclasses.field(repr=False)
    start: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)
    end: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)

    def to_arrow(self) -> pa.Table:
        return self.edges

    def edges_of(self, object_type: str) -> dict[tuple[str, str], int]:
        """``{(source, target): count}`` of one type's edges."""
        if object_type not in self.object_types:
            raise ConfigError(f"The object_type parameter must be one of the graph's types "
                              f"({', '.join(map(repr, self.object_types))}). Got {object_type!r} instead.",
                              field="object_type")
        rows = [r for r in self.edges.to_pylist() if r["object_type"] == object_type]
        return {(r["source"], r["target"]): r["count"] for r in rows}

    def to_dict(self) -> dict[str, object]:
        return {"object_types": list(self.object_types), "objects": self.objects, "events": self.events,
                "edges": self.edges.to_pylist(), "activities": self.activities.to_pylist(),
                "start": self.start, "end": self.end}


def resolve_types(store: Store, object_types: str | Iterable[str] | None) -> list[str]:
    """The object types to analyse: ``object_types`` checked against the store's (all of them if None)."""
    known = sorted(store.query("SELECT DISTINCT type FROM object").column(0).to_pylist())
    if object_types is None:
        return known
    wanted = [object_types] if isinstance(object_types, str) else object_types
    wanted = list(wanted) if isinstance(wanted, Iterable) else wanted
    available = ", ".join(map(repr, known)) or "none"
    if not isinstance(wanted, list) or not wanted or not all(isinstance(t, str) for t in wanted):
        raise ConfigError(f"The object_types parameter must name one or more object types (the store has "
                          f"{available}). Got {object_types!r} instead.", field="object_types")
    unknown = [t for t in wanted if t not in known]
    if unknown:
        raise ConfigError(f"The object_types parameter must name object types of the store ({available}). "
                          f"Got unknown {', '.join(map(repr, unknown))} instead.", field="object_types")
    return list(dict.fromkeys(wanted))


def read_types(store: Store, types: list[str], start: object, end: object) -> list[Cases]:
    """The cases of every type in ``types`` (events with ``start <= time < end``), one read per type."""
    lo, hi = parse_instant(start, "start"), parse_instant(end, "end")
    out = [load_cases(store, t, start=lo, end=hi) for t in types]
    log.debug("read %d object types: %d rows", len(out), sum(c.seqs.n for c in out))
    return out


def group_bounds(keys: np.ndarray) -> np.ndarray:
    """Start of every run of equal values in the sorted ``keys``."""
    if not keys.size:
        return np.zeros(0, np.int64)
    return np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))


def distinct(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values (a sort: NumPy 2's hashing ``np.unique`` is far slower on int64 keys)."""
    s = np.sort(values)
    return s[group_bounds(s)]


def counts_by(names: list[str | None], codes: np.ndarray) -> dict[str, int]:
    """{name: count} of activity codes, most frequent first, ties by name."""
    n = np.bincount(codes, minlength=len(names)) if codes.size else np.zeros(len(names), np.int64)
    return {names[i]: int(n[i]) for i in sorted(np.flatnonzero(n), key=lambda i: (-n[i], names[i]))}


def distinct_per(group: np.ndarray, member: np.ndarray, groups: int) -> np.ndarray:
    """How many distinct ``member`` values each group index in [0, groups) has."""
    if not group.size:
        return np.zeros(groups, np.int64)
    span = int(member.max()) + 1
    pairs = distinct(group.astype(np.int64) * span + member)
    return np.bincount(pairs // span, minlength=groups)


def _edge_rows(c: Cases) -> list[tuple]:
    """The edge rows of one type's cases (see the module docs)."""
    follows = c.case[1:] == c.case[:-1]
    src_ev, dst_ev = c.seqs.event[:-1][follows], c.seqs.event[1:][follows]
    if not src_ev.size:
        return []
    t = len(c.names)
    pair_act = c.activity[:-1][follows].astype(np.int64) * t + c.activity[1:][follows]
    used, edge = np.unique(pair_act, return_inverse=True)
    edge = edge.ravel()
    occurrences = np.bincount(edge, minlength=used.size)
    objects = distinct_per(edge, c.case[1:][follows], used.size)
    order = np.lexsort((dst_ev, src_ev))  # the distinct event pairs (a pair always has one edge)
    key_src, key_dst = src_ev[order], dst_ev[order]
    new = np.ones(order.size, bool)
    new[1:] = (key_src[1:] != key_src[:-1]) | (key_dst[1:] != key_dst[:-1])
    first = order[new]
    wait = (c.time[1:] - c.time[:-1])[follows][first]
    couple_edge = edge[first]
    by_edge = np.argsort(couple_edge, kind="stable")
    bounds = group_bounds(couple_edge[by_edge])
    stops = np.append(bounds[1:], by_edge.size)
    rows = []
    for lo, hi in zip(bounds, stops):
        k = int(couple_edge[by_edge[lo]])
        waits = wait[by_edge[lo:hi]]
        median, p90 = np.percentile(waits, (50, 90)) / 1e6
        rows.append((c.object_type, c.names[used[k] // t], c.names[used[k] % t], int(hi - lo), int(objects[k]),
                     int(occurrences[k]), float(waits.sum() / (hi - lo) / 1e6), float(median), float(p90)))
    rows.sort(key=lambda r: (-r[3], r[1], r[2]))
    return rows


def _activity_rows(c: Cases) -> list[tuple]:
    """(object_type, activity, events, objects, links) of one type's cases, most events first."""
    t = len(c.names)
    links = np.bincount(c.activity, minlength=t) if c.seqs.n else np.zeros(t, np.int64)
    _, first = np.unique(c.seqs.event, return_index=True)
    events = np.bincount(c.activity[first], minlength=t) if first.size else np.zeros(t, np.int64)
    objects = distinct_per(c.activity, c.case, t)
    rows = [(c.object_type, c.names[a], int(events[a]), int(objects[a]), int(links[a])) for a in np.flatnonzero(links)]
    return sorted(rows, key=lambda r: (-r[2], r[1]))


def to_table(rows: list[tuple], columns: dict[str, pa.DataType]) -> pa.Table:
    """Rows (tuples in column order) as an Arrow table of the given column types."""
    return pa.table({n: pa.array([r[i] for r in rows], ty) for i, (n, ty) in enumerate(columns.items())})


def discover_ocdfg(store: Store, object_types: str | Iterable[str] | None = None, *, start: object = None,
                   end: object = None) -> OCDFG:
    """The object-centric directly-follows graph of ``object_types`` (semantics in the module docs).

    Unknown types raise :class:`~journeymine.errors.ConfigError` naming the store's types.

    >>> import journeymine as jm
    >>> store = jm.connect(":memory:")
    >>> _ = jm.read_ocel("data/ocel2-example/ocel20_example.xmlocel", store)
    >>> g = jm.discover_ocdfg(store)
    >>> g.object_types
    ('Invoice', 'Payment', 'Purchase Order', 'Purchase Requisition')
    >>> g.edges_of("Purchase Order")[("Insert Invoice", "Insert Invoice")]
    1
    >>> g.start["Invoice"], g.objects["Invoice"], g.events["Invoice"]
    ({'Insert Invoice': 3}, 3, 9)
    >>> [r for r in g.activities.to_pylist() if r["object_type"] == "Purchase Order"][1]
    {'object_type': 'Purchase Order', 'activity': 'Insert Invoice', 'events': 2, 'objects': 1, 'links': 2}
    """
    if not isinstance(store, Store):
        raise ConfigError(f"discover_ocdfg reads a Store. Got {type(store).__name__} instead.", field="store")
    types = resolve_types(store, object_types)
    edges, activities = [], []
    objects, events, starts, ends = {}, {}, {}, {}
    for c in read_types(store, types, start, end):
        edges += _edge_rows(c)
        activities += _activity_rows(c)
        objects[c.object_type] = c.n_cases
        events[c.object_type] = int(distinct(c.seqs.event).size)
        starts[c.object_type] = counts_by(c.names, c.activity[c.starts])
        ends[c.object_type] = counts_by(c.names, c.activity[c.ends - 1])
    return OCDFG(object_types=tuple(types), objects=objects, events=events, edges=to_table(edges, EDGE_COLUMNS),
                 activities=to_table(activities, ACTIVITY_COLUMNS), start=starts, end=ends)

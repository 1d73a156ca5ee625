"""``jm.process_view``: the cases of an object type, filtered the way process explorers filter them.

Semantics. The process view of an object type has one case per object of the type that has events
(pm4py's ``ocel_flattening``), its events ordered by time, ties by load order (the source file's
order). The filters apply in this fixed order, each to what the previous ones left:

1. **time frame** ``start``/``end`` (``start <= time < end``) by ``time_rule``: ``"events"`` keeps the
   events inside (cases are cut; pm4py's ``filter_time_range(mode="events")``), ``"contained"`` keeps
   whole cases that start and end inside (``traces_contained``), ``"intersecting"`` whole cases whose
   span from first to last event overlaps the frame, even without an event inside
   (``traces_intersecting``), ``"started"`` whole cases whose first event is
   inside (Celonis' and Disco's "started in" cohort, used for before/after comparisons);
2. ``cases``: only these cases (object ids, or a :class:`~journeymine.results.Segment` of the type);
3. ``case_attributes``: ``{name: value or list of values}`` on the case object's attributes, compared
   as text (``20.5`` matches the JSON number 20.5, ``True`` matches ``true``); a case without the
   attribute never matches;
4. ``starts_with`` / ``ends_with``: cases whose first / last activity is one of those given;
5. ``min_duration`` / ``max_duration``: throughput time (first to last event) within the bounds,
   both inclusive;
6. ``variants``: cases whose activity sequence is one of the sequences given; ``top_variants``: cases
   of the k most frequent variants (ties: the variant whose first case comes first);
7. ``activities`` / ``exclude_activities``: the events of other / of these activities are projected
   out (the cases keep their other events; a case left with none disappears).

Every filter keeps whole cases except 1 with ``"events"`` and 7. A view is passed to the process
analyses in place of a store (``jm.discover_dfg(view)``); it reads the store once, so several analyses
of one view do not read it again. A view can be filtered further: ``jm.process_view(view, ...)``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ConfigError
from ..results import Result, Segment
from ..store import Store
from ..timespan import parse_duration, parse_instant
from ._cases import Cases, case_values, group_variants, load_cases

__all__ = ["ProcessView", "process_view", "resolve"]

TIME_RULES = ("events", "contained", "intersecting", "started")


@dataclasses.dataclass(frozen=True, eq=False)
class ProcessView(Result):
    """The filtered cases of one object type, read once from ``store``.

    ``filters`` records the filters applied (JSON-ready), ``total_cases`` the cases before them."""

    store: Store = dataclasses.field(repr=False)
    object_type: str
    cases: Cases = dataclasses.field(repr=False)
    total_cases: int
    filters: dict[str, object] = dataclasses.field(default_factory=dict)

    @property
    def n_cases(self) -> int:
        return self.cases.n_cases

    @property
    def n_events(self) -> int:
        return self.cases.seqs.n

    def to_arrow(self) -> pa.Table:
        """``case_id, activity, time`` of every event, in case, time and load order."""
        c = self.cases
        names = pa.array([n or "" for n in c.names], pa.string())
        return pa.table({
            "case_id": self.cases.ids(self.store).take(pa.array(c.case)),
            "activity": names.take(pa.array(c.activity.astype(np.int64))),
            "time": pa.array(c.time, pa.int64()).cast(pa.timestamp("us")),
        })

    def to_dict(self) -> dict[str, object]:
        return {"object_type": self.object_type, "cases": self.n_cases, "events": self.n_events,
                "total_cases": self.total_cases, "filters": self.filters}


def _names(value: object, field: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    value = list(value) if isinstance(value, Iterable) else value
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"The {field} parameter must be activity names. Got {value!r} instead.", field=field)
    return value


def _codes(c: Cases, names: list[str]) -> np.ndarray:
    wanted = set(names)
    return np.array([i for i, n in enumerate(c.names) if n in wanted], np.int64)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def _by_time(c: Cases, start: dt.datetime | None, end: dt.datetime | None, rule: str) -> Cases:
    lo = None if start is None else int(start.replace(tzinfo=dt.UTC).timestamp() * 1_000_000)
    hi = None if end is None else int(end.replace(tzinfo=dt.UTC).timestamp() * 1_000_000)
    inside = np.ones(c.seqs.n, bool)
    if lo is not None:
        inside &= c.time >= lo
    if hi is not None:
        inside &= c.time < hi
    if rule == "events":
        return c.take(np.flatnonzero(inside))
    if rule == "started":
        return c.keep(inside[c.starts])
    if rule == "contained":
        return c.keep(np.logical_and.reduceat(inside, c.starts) if c.n_cases else np.zeros(0, bool))
    first, last = c.time[c.starts], c.time[c.ends - 1]
    return c.keep((first < (hi if hi is not None else np.iinfo(np.int64).max))
                  & (last >= (lo if lo is not None else np.iinfo(np.int64).min)))


def _by_ids(c: Cases, store: Store, cases: object) -> Cases:
    if isinstance(cases, Segment):
        if cases.object_type != c.object_type or cases.session_starts is not None:
            raise ConfigError(f"The cases segment {cases.name!r} holds {cases.object_type} "
                              f"{'sessions' if cases.session_starts is not None else 'objects'}, not "
                              f"{c.object_type} cases.", field="cases")
        return c.keep(np.isin(c.seqs.actor_code, cases.codes))
    if isinstance(cases, str) or not isinstance(cases, Iterable):
        raise ConfigError(f"The cases parameter must be case ids or a Segment. Got {cases!r} instead.", field="cases")
    wanted = pa.array([str(x) for x in cases], pa.string())
    return c.keep(np.asarray(pc.is_in(c.ids(store), value_set=wanted)))


def _by_attributes(c: Cases, store: Store, wanted: object) -> Cases:
    if not isinstance(wanted, dict) or not all(isinstance(k, str) and k for k in wanted):
        raise ConfigError(f"The case_attributes parameter must map attribute names to values. "
                          f"Got {wanted!r} instead.", field="case_attributes")
    keep = np.ones(c.n_cases, bool)
    for name, value in wanted.items():
        values = value if isinstance(value, (list, tuple, set, frozenset)) else [value]
        have = case_values(store, c.object_type, c.seqs.actor_code, name)
        keep &= np.asarray(pc.is_in(have, value_set=pa.array([_text(v) for v in values], pa.string())).fill_null(False))
    return c.keep(keep)


def _by_variants(c: Cases, variants: object, top: int | None) -> Cases:
    inverse, first = group_variants(c)
    keep = np.ones(first.size, bool)
    if variants is not None:
        if isinstance(variants, str) or not isinstance(variants, Iterable):
            raise ConfigError("The variants parameter must be a list of activity sequences. "
                              f"Got {variants!r} instead.", field="variants")
        wanted = {tuple(_names(v, "variants")) for v in variants}
        keep &= np.array([tuple(c.names[a] for a in c.activity[c.starts[f]:c.ends[f]]) in wanted for f in first], bool)
    if top is not None:
        counts = np.bincount(inverse, minlength=first.size)
        order = np.lexsort((first, -counts))
        ranked = np.zeros(first.size, bool)
        ranked[order[:top]] = True
        keep &= ranked
    return c.keep(keep[inverse])


def process_view(
    source: Store | ProcessView, object_type: str | None = None, *, start: object = None, end: object = None,
    time_rule: str = "events", cases: object = None, case_attributes: dict | None = None,
    starts_with: Iterable[str] | None = None, ends_with: Iterable[str] | None = None,
    min_duration: object = None, max_duration: object = None, variants: Iterable[Iterable[str]] | None = None,
    top_variants: int | None = None, activities: Iterable[str] | None = None,
    exclude_activities: Iterable[str] | None = None,
) -> ProcessView:
    """The cases of ``object_type`` (default ``"case"``), filtered (semantics in the module docs).

    >>> import journeymine as jm
    >>> store = jm.connect(":memory:")
    >>> _ = jm.read_csv("data/running-example/running-example.csv", store, activity_col="concept:name",
    ...                 timestamp_col="time:timestamp", case_col="case:concept:name")
    >>> view = jm.process_view(store, ends_with=["reject request"], exclude_activities=["examine casually"])
    >>> view.n_cases, view.total_cases, jm.discover_dfg(view).end
    (3, 6, {'reject request': 3})
    """
    if time_rule not in TIME_RULES:
        raise ConfigError(f"The time_rule parameter must be one of {', '.join(TIME_RULES)}. "
                          f"Got {time_rule!r} instead.", field="time_rule")
    if top_variants is not None and (isinstance(top_variants, bool) or not isinstance(top_variants, int)
                                     or top_variants < 1):
        raise ConfigError(f"The top_variants parameter must be a positive integer. Got {top_variants!r} instead.",
                          field="top_variants")
    lo, hi = parse_instant(start, "start"), parse_instant(end, "end")
    if isinstance(source, ProcessView):
        if object_type is not None and object_type != source.object_type:
            raise ConfigError(f"The view holds {source.object_type} cases, not {object_type!r} cases.",
                              field="object_type")
        store, c, total, applied = source.store, source.cases, source.total_cases, dict(source.filters)
    else:
        store, applied = source, {}
        c = load_cases(store, "case" if object_type is None else object_type, start=lo if time_rule == "events" else None,
                       end=hi if time_rule == "events" else None)
        total = c.n_cases
    if lo is not None or hi is not None:
        c = _by_time(c, lo, hi, time_rule)
        applied.update(start=lo, end=hi, time_rule=time_rule)
    if cases is not None:
        c = _by_ids(c, store, cases)
        applied["cases"] = len(cases) if isinstance(cases, Segment) else "ids"
    if case_attributes is not None:
        c = _by_attributes(c, store, case_attributes)
        applied["case_attributes"] = {k: v if not isinstance(v, (set, frozenset)) else sorted(v, key=str)
                                      for k, v in case_attributes.items()}
    for field, value in (("starts_with", starts_with), ("ends_with", ends_with)):
        names = _names(value, field)
        if names is not None:
            rows = c.starts if field == "starts_with" else c.ends - 1
            c = c.keep(np.isin(c.activity[rows], _codes(c, names)))
            applied[field] = names
    if min_duration is not None or max_duration is not None:
        seconds = (c.time[c.ends - 1] - c.time[c.starts]) / 1e6 if c.n_cases else np.zeros(0)
        keep = np.ones(c.n_cases, bool)
        if min_duration is not None:
            keep &= seconds >= (low := parse_duration(min_duration, "min_duration"))
            applied["min_duration"] = low
        if max_duration is not None:
            keep &= seconds <= (high := parse_duration(max_duration, "max_duration"))
            applied["max_duration"] = high
        c = c.keep(keep)
    if variants is not None or top_variants is not None:
        c = _by_variants(c, variants, top_variants)
        applied.update({k: v for k, v in (("variants", None if variants is None else [list(v) for v in variants]),
                                          ("top_variants", top_variants)) if v is not None})
    for field, value, inside in (("activities", activities, True), ("exclude_activities", exclude_activities, False)):
        names = _names(value, field)
        if names is not None:
            c = c.take(np.flatnonzero(np.isin(c.activity, _codes(c, names)) == inside))
            applied[field] = names
    return ProcessView(store=store, object_type=c.object_type, cases=c, total_cases=total, filters=applied)


def resolve(source: Store | ProcessView, object_type: str | None, start: object = None,
            end: object = None) -> tuple[Cases, Store]:
    """The cases an analysis works on: a view's (cut to ``start``/``end``), or the store's cases of
    ``object_type`` (default ``"case"``) with events in ``start <= time < end``."""
    if isinstance(source, ProcessView):
        if start is not None or end is not None or (object_type is not None and object_type != source.object_type):
            source = process_view(source, object_type, start=start, end=end)
        return source.cases, source.store
    if not isinstance(source, Store):
        raise ConfigError(f"Process analyses read a Store or a ProcessView. Got {type(source).__name__} instead.",
                          field="store")
    return load_cases(source, "case" if object_type is None else object_type, start=parse_instant(start, "start"),
                      end=parse_instant(end, "end")), source

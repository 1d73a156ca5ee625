"""``jm.summarize_objects``: object lifecycles, convergence and divergence, and the links between object types.

Semantics. Every count is over the store's event-object links (merged identities resolved, a link listed
twice counted once) of the events with ``start <= time < end``; an object's *lifecycle* is its events
ordered by time. Three tables:

``types`` -- one row per object type: ``stored_objects`` (objects of the type in the store, with or
without events), ``objects`` (those with events), ``events`` (distinct events linked to the type),
``links`` (event-object links), the lifecycle length in events per object (``mean_events``,
``median_events``, ``max_events``) and the lifecycle duration, first to last event (``mean_seconds``,
``median_seconds``); ``None`` for a type without events.

``activities`` -- one row per (object type T, activity a) with events: ``events`` (a-events linked to
at least one object of T), ``objects`` (distinct objects of T linked to an a-event), ``links`` and

- **convergence** (one event, many objects): ``convergent_events`` are the a-events linked to more than
  one object of T -- flattening on T copies each of them into several cases (one 'place order' event in
  the cases of its four items). ``mean/median/max_objects_per_event``: objects of T per a-event;
- **divergence** (one object, many independent events): ``repeated_objects`` are the objects of T with
  two or more a-events; ``divergent_objects`` those of them whose a-events are not all linked to the
  same objects of the *other* types -- flattening on T shows such events as a repetition although they
  concern different objects (a customer's 'place order' events for different orders). A repetition with
  the same other objects (rework) is repeated but not divergent. ``mean/median/max_events_per_object``:
  a-events per object of T.

pm4py's ``convergence_divergence_diagnostics`` flags (a, T) as convergent when the median objects per
event exceeds 1 and as divergent when the median events per object exceeds 1; both medians are here.
Sets of objects are compared by a 64-bit fingerprint (a sum of SplitMix64 hashes of the object codes);
two different sets compare equal with probability about 2**-64.

``links`` -- one row per ordered pair of types (source_type S, target_type T, S may equal T) that share
an event or an object-to-object link: ``events`` (events linked to objects of both S and T; for S = T,
events linked to two or more objects of S), ``object_pairs`` (distinct unordered pairs of two different
objects, one of S and one of T, that share at least one event), ``linked_objects`` (objects of S sharing
an event with an object of T), ``mean_partners``/``max_partners`` (distinct objects of T per linked
object of S), and ``o2o_links`` (the store's distinct object-to-object links from an object of S to an
object of T, as stored: directed, not cut by ``start``/``end``, identities not merged).

``object_types`` picks the types reported (rows of ``types`` and ``activities``, sources of ``links``;
default all); the other types are still read, since divergence and links look at them. Cost: one read of
every type's events, plus the object pairs of every event (memory grows with the distinct pairs).
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
from ._cases import Cases
from ._ocdfg import distinct, group_bounds, read_types, resolve_types, to_table

__all__ = ["ObjectSummary", "summarize_objects"]

log = logging.getLogger(__name__)

PAIR_CHUNK = 1 << 21  # object pairs generated at a time (bounds the memory of the pair step)
I, F, S = pa.int64(), pa.float64(), pa.string()
TYPE_COLUMNS = {"object_type": S, "stored_objects": I, "objects": I, "events": I, "links": I, "mean_events": F,
                "median_events": F, "max_events": I, "mean_seconds": F, "median_seconds": F}
ACTIVITY_COLUMNS = {"object_type": S, "activity": S, "events": I, "objects": I, "links": I, "convergent_events": I,
                    "mean_objects_per_event": F, "median_objects_per_event": F, "max_objects_per_event": I,
                    "repeated_objects": I, "divergent_objects": I, "mean_events_per_object": F,
                    "median_events_per_object": F, "max_events_per_object": I}
LINK_COLUMNS = {"source_type": S, "target_type": S, "events": I, "object_pairs": I, "linked_objects": I,
                "mean_partners": F, "max_partners": I, "o2o_links": I}


@dataclasses.dataclass(frozen=True, eq=False)
class ObjectSummary(Result):
    """Object lifecycles, convergence/divergence and type links (tables ``types``, ``activities``,
    ``links``; columns and semantics in the module docs). ``to_arrow()`` is the ``activities`` table."""

    object_types: tuple[str, ...]
    types: pa.Table = dataclasses.field(repr=False)
    activities: pa.Table = dataclasses.field(repr=False)
    links: pa.Table = dataclasses.field(repr=False)

    def to_arrow(self) -> pa.Table:
        return self.activities

    def to_dict(self) -> dict[str, object]:
        return {"object_types": list(self.object_types), "types": self.types.to_pylist(),
                "activities": self.activities.to_pylist(), "links": self.links.to_pylist()}


def _splitmix(x: np.ndarray) -> np.ndarray:
    """SplitMix64 of every value (uint64 arithmetic wraps)."""
    with np.errstate(over="ignore"):
        z = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _group_stats(group: np.ndarray, value: np.ndarray, groups: int) -> tuple[list, list, list]:
    """(mean, median, max) of ``value`` per group index in [0, groups); ``None`` for empty groups."""
    mean, median, top = [None] * groups, [None] * groups, [None] * groups
    if not group.size:
        return mean, median, top
    order = np.lexsort((value, group))
    g, v = group[order], value[order].astype(np.float64)
    lo = group_bounds(g)
    hi = np.append(lo[1:], g.size)
    sums = np.add.reduceat(v, lo)
    mid = (v[lo + (hi - lo - 1) // 2] + v[lo + (hi - lo) // 2]) / 2
    for k, a in enumerate(g[lo].tolist()):
        mean[a], median[a], top[a] = float(sums[k] / (hi[k] - lo[k])), float(mid[k]), int(v[hi[k] - 1])
    return mean, median, top


def _type_row(c: Cases, stored: int) -> tuple:
    lengths = c.ends - c.starts
    seconds = (c.time[c.ends - 1] - c.time[c.starts]) / 1e6 if c.n_cases else np.zeros(0)
    events = int(distinct(c.seqs.event).size)
    if not c.n_cases:
        return (c.object_type, stored, 0, 0, 0, None, None, None, None, None)
    return (c.object_type, stored, c.n_cases, events, c.seqs.n, float(lengths.mean()), float(np.median(lengths)),
            int(lengths.max()), float(seconds.mean()), float(np.median(seconds)))


def _activity_rows(c: Cases, ev: np.ndarray, other: np.ndarray) -> list[tuple]:
    """The ``activities`` rows of type ``c``; ``ev`` is the dense event index of each row, ``other`` the
    fingerprint of the row's event's objects of the other types."""
    t = len(c.names)
    by_event = np.argsort(ev, kind="stable")
    starts = group_bounds(ev[by_event])
    per_event = np.diff(np.append(starts, ev.size))  # objects of the type per event
    event_act = c.activity[by_event[starts]].astype(np.int64)
    n_events = np.bincount(event_act, minlength=t)
    convergent = np.bincount(event_act[per_event > 1], minlength=t)
    ope = _group_stats(event_act, per_event, t)
    key = c.case.astype(np.int64) * t + c.activity  # (object, activity)
    order = np.lexsort((other, key))
    key_sorted, other_sorted = key[order], other[order]
    first = group_bounds(key_sorted)
    per_object = np.diff(np.append(first, key.size))  # a-events per object
    object_act = key_sorted[first] % t
    new_set = np.ones(key.size, bool)
    new_set[1:] = (key_sorted[1:] != key_sorted[:-1]) | (other_sorted[1:] != other_sorted[:-1])
    sets = np.add.reduceat(new_set, first) if first.size else np.zeros(0, np.int64)
    n_objects = np.bincount(object_act, minlength=t)
    repeated = np.bincount(object_act[per_object > 1], minlength=t)
    divergent = np.bincount(object_act[sets > 1], minlength=t)
    epo = _group_stats(object_act, per_object, t)
    links = np.bincount(c.activity, minlength=t) if c.seqs.n else np.zeros(t, np.int64)
    rows = [(c.object_type, c.names[a], int(n_events[a]), int(n_objects[a]), int(links[a]), int(convergent[a]),
             ope[0][a], ope[1][a], ope[2][a], int(repeated[a]), int(divergent[a]), epo[0][a], epo[1][a], epo[2][a])
            for a in np.flatnonzero(links)]
    return sorted(rows, key=lambda r: (-r[2], r[1]))


def _object_pairs(obj: np.ndarray, ev: np.ndarray, n_objects: int) -> np.ndarray:
    """Distinct ordered pairs ``a * n_objects + b`` of different objects sharing an event (rows sorted by ``ev``)."""
    starts = group_bounds(ev)
    sizes = np.diff(np.append(starts, ev.size))
    cost = np.cumsum(sizes.astype(np.int64) ** 2)
    chunk = cost // PAIR_CHUNK
    found = []
    cuts = group_bounds(chunk)
    for lo_ev, hi_ev in zip(cuts, np.append(cuts[1:], chunk.size)):
        lo, hi = starts[lo_ev], (starts[hi_ev] if hi_ev < starts.size else ev.size)
        g = np.repeat(sizes[lo_ev:hi_ev], sizes[lo_ev:hi_ev])  # the event size of every row
        s = np.repeat(starts[lo_ev:hi_ev], sizes[lo_ev:hi_ev])
        left = np.repeat(np.arange(lo, hi), g)
        offset = np.arange(left.size) - np.repeat(np.cumsum(g) - g, g)
        right = np.repeat(s, g) + offset
        keep = left != right
        found.append(distinct(obj[left[keep]] * n_objects + obj[right[keep]]))
    pairs = distinct(np.concatenate(found)) if found else np.zeros(0, np.int64)
    log.debug("object pairs: %d distinct from %d events in %d parts", pairs.size, starts.size, len(found))
    return pairs


def _link_rows(cases: list[Cases], evs: list[np.ndarray], wanted: list[str], o2o: dict) -> list[tuple]:
    """The ``links`` rows (see the module docs)."""
    k = len(cases)
    offsets = np.cumsum([0] + [c.n_cases for c in cases])
    obj = np.concatenate([c.case + offsets[i] for i, c in enumerate(cases)]).astype(np.int64)
    ev = np.concatenate(evs)
    type_of = np.repeat(np.arange(k), [c.n_cases for c in cases])
    order = np.argsort(ev, kind="stable")
    n = int(offsets[-1])
    pairs = _object_pairs(obj[order], ev[order], max(n, 1))
    a, b = pairs // max(n, 1), pairs % max(n, 1)
    combo = type_of[a] * k + type_of[b]  # (type of a, type of b)
    per_a = group_bounds(a * k + type_of[b])  # pairs are sorted by a, then b (objects of a type are contiguous)
    partners = np.diff(np.append(per_a, a.size))
    per_combo = combo[per_a]
    n_pairs, n_linked = np.bincount(combo, minlength=k * k), np.bincount(per_combo, minlength=k * k)
    top = np.zeros(k * k, np.int64)
    np.maximum.at(top, per_combo, partners)
    typed = [distinct(e) for e in evs]
    rows = []
    for i in (i for i, c in enumerate(cases) if c.object_type in wanted):
        for j in range(k):
            m, s, t = i * k + j, cases[i].object_type, cases[j].object_type
            if not n_pairs[m] and not o2o.get((s, t)):
                continue
            if i == j:
                counts = np.bincount(np.searchsorted(typed[i], evs[i]), minlength=typed[i].size)
                shared = int((counts > 1).sum())
            else:
                shared = int(np.intersect1d(typed[i], typed[j], assume_unique=True).size)
            rows.append((s, t, shared, int(n_pairs[m] // (2 if i == j else 1)), int(n_linked[m]),
                         float(n_pairs[m] / n_linked[m]) if n_linked[m] else None,
                         int(top[m]) if n_linked[m] else None, int(o2o.get((s, t), 0))))
    rank = {t: r for r, t in enumerate(wanted)}
    return sorted(rows, key=lambda r: (rank[r[0]], r[1]))


def summarize_objects(store: Store, object_types: str | Iterable[str] | None = None, *, start: object = None,
                      end: object = None) -> ObjectSummary:
    """Object lifecycles, convergence and divergence per activity, and links between object types
    (semantics in the module docs). Unknown types raise :class:`~journeymine.errors.ConfigError`.

    >>> import journeymine as jm
    >>> store = jm.connect(":memory:")
    >>> _ = jm.read_ocel("data/ocel2-example/ocel20_example.xmlocel", store)
    >>> s = jm.summarize_objects(store, "Purchase Order")
    >>> s.types.select(["objects", "events", "mean_events", "max_events"]).to_pylist()
    [{'objects': 2, 'events': 5, 'mean_events': 2.5, 'max_events': 4}]
    >>> row = s.activities.to_pylist()[1]
    >>> row["activity"], row["events"], row["repeated_objects"], row["divergent_objects"]
    ('Insert Invoice', 2, 1, 1)
    >>> [(r["target_type"], r["object_pairs"], r["o2o_links"]) for r in s.links.to_pylist()]
    [('Invoice', 3, 3), ('Purchase Requisition', 1, 0)]
    """
    if not isinstance(store, Store):
        raise ConfigError(f"summarize_objects reads a Store. Got {type(store).__name__} instead.", field="store")
    wanted = resolve_types(store, object_types)
    every = resolve_types(store, None)
    cases = read_types(store, every, start, end)
    if not cases:  # a store without objects
        return ObjectSummary(object_types=(), types=to_table([], TYPE_COLUMNS),
                             activities=to_table([], ACTIVITY_COLUMNS), links=to_table([], LINK_COLUMNS))
    codes = np.concatenate([c.seqs.event for c in cases])
    event_codes, dense = np.unique(codes, return_inverse=True)
    evs = np.split(dense.ravel().astype(np.int64), np.cumsum([c.seqs.n for c in cases])[:-1])
    # the fingerprint of every event's objects, and of its objects of each type
    total = np.zeros(event_codes.size, np.uint64)
    own = []
    for c, ev in zip(cases, evs):
        mine = np.zeros(event_codes.size, np.uint64)
        np.add.at(mine, ev, _splitmix(c.seqs.actor_code[c.case]))
        own.append(mine)
        with np.errstate(over="ignore"):
            total += mine
    stored = {r["type"]: int(r["n"]) for r in store.query("SELECT type, count(*) AS n FROM object GROUP BY type")
              .to_pylist()}
    o2o = {(r["source_type"], r["target_type"]): int(r["n"]) for r in store.query(
        """SELECT s.type AS source_type, t.type AS target_type, count(*) AS n
           FROM (SELECT DISTINCT source_code, target_code FROM object_object) l
           JOIN object s ON s.code = l.source_code JOIN object t ON t.code = l.target_code
           GROUP BY s.type, t.type""").to_pylist()}
    type_rows, activity_rows = [], []
    for name in wanted:
        i = every.index(name)
        c, ev = cases[i], evs[i]
        with np.errstate(over="ignore"):
            other = total[ev] - own[i][ev]
        type_rows.append(_type_row(c, stored.get(name, 0)))
        activity_rows += _activity_rows(c, ev, other)
    return ObjectSummary(object_types=tuple(wanted), types=to_table(type_rows, TYPE_COLUMNS),
                         activities=to_table(activity_rows, ACTIVITY_COLUMNS),
                         links=to_table(_link_rows(cases, evs, wanted, o2o), LINK_COLUMNS))

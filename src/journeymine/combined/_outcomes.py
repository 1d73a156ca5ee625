"""Journey outcomes per unit, for ``jm.explain``: who had the outcome, and until when causes may act.

An :class:`Outcome` is a recipe; :func:`evaluate` turns it into :class:`Units`: the units (objects of
one type, e.g. sessions or orders), a 0/1 outcome per unit, and a **cutoff** per unit (µs): only
process events strictly before the cutoff can be causes (temporal precedence).

- :func:`dropped_after` (``jm.dropped_after``): units are the funnel's actors that reached step ``k``;
  the outcome is 1 when they did not reach step k + 1. The cutoff is the time of step k + 1 for those
  who went on, and the end of the funnel window (entry + window) for those who dropped.
- :func:`followed_by` (``jm.followed_by``): units are the objects of a type with a ``start`` event
  (their first one); the outcome is 1 when an ``event`` follows in the unit's own journey within
  ``within`` of that start (``start < t <= start + within``). The cutoff is that event's time, else
  start + within. ``negate=True`` turns it around (no repeat purchase within 90 days). Units whose
  ``start + within`` lies after the last event of the store are not observed long enough and are left
  out (``Units.censored`` counts them).
- :func:`scored` (``jm.scored``): units are the objects of a type with a **rated** ``event`` (the first
  one whose numeric ``attribute`` parses and whose ``where`` attributes match, e.g. a survey answer
  with ``survey = "nps"``); the outcome is 1 when that value is ``<= at_most`` (or ``>= at_least``), e.g.
  a detractor (NPS <= 6). The cutoff is the answer's time; the unit's time is its first event. Only
  units that answered are units: a rate among respondents, with whatever selection answering has.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import numpy as np
import pyarrow as pa

from ..errors import ConfigError
from ..journeys._funnel import funnel
from ..journeys._units import load, parse_unit
from ..store import Store
from ..timespan import parse_duration

__all__ = ["Outcome", "Units", "dropped_after", "evaluate", "first_then", "followed_by", "scored"]


@dataclasses.dataclass(frozen=True)
class Outcome:
    """A journey outcome per unit (build it with :func:`dropped_after` or :func:`followed_by`)."""

    kind: str
    object_type: str
    label: str
    params: dict[str, object] = dataclasses.field(default_factory=dict, compare=False)


@dataclasses.dataclass(frozen=True, eq=False)
class Units:
    object_type: str
    codes: np.ndarray  # object codes, ascending
    outcome: np.ndarray  # bool
    cutoff: np.ndarray  # µs
    start: np.ndarray  # µs: entry into the funnel, or the start event
    censored: int = 0


def dropped_after(steps: Iterable[str], step: int | str, *, window: object = "1h", by: str = "object:session",
                  **funnel_options: object) -> Outcome:
    """Units that reached funnel step ``step`` (1-based index or name) and did not reach the next one."""
    steps = [str(s) for s in steps]
    k = steps.index(step) + 1 if isinstance(step, str) and step in steps else step
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k < len(steps):
        raise ConfigError(f"The step parameter must be a step of the funnel before its last (1 to {len(steps) - 1} "
                          f"or a name). Got {step!r} instead.", field="step")
    unit = parse_unit(by)
    if unit.sessions is not None:
        raise ConfigError("Outcomes need stored units (an object type such as 'object:session'), not derived "
                          "sessions.", field="by")
    return Outcome("dropped_after", unit.object_type, f"dropped after {steps[k - 1]!r}",
                   {"steps": steps, "k": k, "window": window, "by": by, **funnel_options})


def followed_by(object_type: str, start: str, event: str, within: object, *, negate: bool = False) -> Outcome:
    """Units of ``object_type`` whose ``start`` is followed by ``event`` within ``within`` (or not)."""
    for field, value in (("object_type", object_type), ("start", start), ("event", event)):
        if not isinstance(value, str) or not value:
            raise ConfigError(f"The {field} parameter must be a name. Got {value!r} instead.", field=field)
    seconds = parse_duration(within, "within")
    label = f"{'not ' if negate else ''}followed by {event!r} within {within} of {start!r}"
    return Outcome("followed_by", object_type, label, {"start": start, "event": event, "seconds": seconds,
                                                       "negate": bool(negate)})


def scored(object_type: str, event: str, attribute: str, *, at_most: float | None = None,
           at_least: float | None = None, where: dict[str, str] | None = None) -> Outcome:
    """Units of ``object_type`` whose first rated ``event`` has ``attribute <= at_most`` (or ``>= at_least``)."""
    for field, value in (("object_type", object_type), ("event", event), ("attribute", attribute)):
        if not isinstance(value, str) or not value:
            raise ConfigError(f"The {field} parameter must be a name. Got {value!r} instead.", field=field)
    bounds = [v for v in (at_most, at_least) if v is not None]
    if len(bounds) != 1 or isinstance(bounds[0], bool) or not isinstance(bounds[0], (int, float)):
        raise ConfigError(f"Give exactly one of at_most and at_least, a number. Got at_most={at_most!r}, "
                          f"at_least={at_least!r} instead.", field="at_most")
    where = dict(where or {})
    if not all(isinstance(k, str) and k and isinstance(v, str) for k, v in where.items()):
        raise ConfigError(f"The where parameter must map attribute names to text values. Got {where!r} instead.",
                          field="where")
    sign = "<=" if at_most is not None else ">="
    cond = ", ".join(f"{k} = {v}" for k, v in sorted(where.items()))
    return Outcome("scored", object_type, f"rated {attribute} {sign} {bounds[0]:g} in {event!r}"
                   + (f" ({cond})" if cond else ""),
                   {"event": event, "attribute": attribute, "at_most": at_most, "at_least": at_least, "where": where})


def _scored_units(store: Store, outcome: Outcome) -> Units:
    p = outcome.params
    names = [p["attribute"], *sorted(p["where"])]
    rows = store.sequences(outcome.object_type, event_attributes=names)
    actor, time = rows.column("actor").to_numpy(), rows.column("time").cast(pa.int64()).to_numpy()
    first = np.r_[True, actor[1:] != actor[:-1]] if actor.size else np.zeros(0, bool)
    starts = dict(zip(actor[first].tolist(), time[first].tolist()))
    ok = rows.column("type").to_numpy() == store.event_types().get(p["event"], -2)
    for k, v in p["where"].items():
        ok &= np.array([x == v for x in rows.column(f"e.{k}").to_pylist()], bool)
    value = np.full(actor.size, np.nan)
    for i in np.flatnonzero(ok):
        try:
            value[i] = float(rows.column(f"e.{p['attribute']}")[int(i)].as_py())
        except (TypeError, ValueError):
            continue
    rated = np.flatnonzero(~np.isnan(value))
    units, at = np.unique(actor[rated], return_index=True)  # the first rated event of each unit
    rows_ = rated[at]
    hit = value[rows_] <= p["at_most"] if p["at_most"] is not None else value[rows_] >= p["at_least"]
    start = np.array([starts[u] for u in units.tolist()], np.int64)
    order = np.argsort(units, kind="stable")
    return Units(outcome.object_type, units[order], hit[order], time[rows_][order], start[order])


def _micros(column: pa.ChunkedArray) -> np.ndarray:
    return column.cast(pa.int64()).fill_null(-1).to_numpy()


def first_then(store: Store, object_type: str, start: str, event: str) -> tuple[np.ndarray, ...]:
    """For every object of the type with a ``start`` event: its code, the time of its first ``start``,
    the time of the first ``event`` after it in its journey (µs), and whether there is one."""
    seqs = load(store, parse_unit(f"object:{object_type}"), types=sorted({start, event}))
    types = store.event_types()
    first = np.flatnonzero(seqs.type == types.get(start, -2))
    actors, at = np.unique(seqs.actor[first], return_index=True)  # the first start of each actor
    rows = first[at]
    last = max(seqs.n - 1, 0)
    idx = np.where(seqs.type == types.get(event, -2), np.arange(seqs.n), seqs.n)
    following = np.minimum.accumulate(idx[::-1])[::-1] if seqs.n else idx  # the next `event` row from each row
    cand = np.where(rows + 1 < seqs.n, following[np.minimum(rows + 1, last)], seqs.n)
    found = (cand < seqs.n) & (seqs.actor[np.minimum(cand, last)] == actors)
    return seqs.actor_code[actors], seqs.time[rows], seqs.time[np.minimum(cand, last)], found


def evaluate(store: Store, outcome: Outcome) -> Units:
    """The units, outcomes and cutoffs of ``outcome`` on ``store``."""
    if not isinstance(outcome, Outcome):
        raise ConfigError(f"The outcome parameter must be a jm.dropped_after(...), jm.followed_by(...) or "
                          f"jm.scored(...). "
                          f"Got {outcome!r} instead.", field="outcome")
    p = outcome.params
    if outcome.kind == "dropped_after":
        options = {k: v for k, v in p.items() if k not in ("steps", "k")}
        f = funnel(store, p["steps"], **options)
        k = p["k"]
        depth = f.actors.column("depth").to_numpy()
        keep = depth >= k
        codes = f.actors.column("object_code").to_numpy()[keep]
        nxt = _micros(f.actors.column(f"step_{k + 1}_time"))[keep]
        entry = _micros(f.actors.column("step_1_time"))[keep]
        dropped = depth[keep] == k
        cutoff = np.where(dropped, entry + int(round(f.window_seconds * 1e6)), nxt)
        order = np.argsort(codes, kind="stable")
        return Units(outcome.object_type, codes[order], dropped[order], cutoff[order], entry[order])
    if outcome.kind == "scored":
        return _scored_units(store, outcome)
    codes, t0, t_event, found = first_then(store, outcome.object_type, p["start"], p["event"])
    span = int(round(p["seconds"] * 1e6))
    horizon = int(store.query("SELECT max(time) AS t FROM event").column(0).cast(pa.int64()).to_numpy()[0]) \
        if codes.size else 0
    hit = found & (t_event > t0) & (t_event <= t0 + span)
    observed = t0 + span <= horizon
    result = hit != p["negate"]
    cutoff = np.where(hit, t_event, t0 + span)
    keep = observed
    return Units(outcome.object_type, codes[keep], result[keep], cutoff[keep], t0[keep],
                 censored=int((~observed).sum()))

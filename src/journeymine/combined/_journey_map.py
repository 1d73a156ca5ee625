"""``jm.journey_map``: the customer journey map computed from the store, with the process steps behind it.

Semantics. ``stages`` is an ordered mapping stage -> event types (see ``_stages``; default
:data:`~journeymine.combined._stages.RETAIL_STAGES`). The **actors** are the objects of type ``actor``
with at least one event in ``[start, end)`` (merged identities resolved: a visitor's events count for
the customer it was merged into); an event belongs to an actor when it is linked to it. Only events in
``[start, end)`` are read. The stage an actor **is in** at time t is the stage of its last stage event
at or before t (ties in time: the last in load order). Per lane and stage (``stages`` table):

- ``actors``: actors with at least one event of the stage; ``share``: of all the lane's actors;
- ``drop_off``: of the actors of the **previous stage** (the one before it in the mapping's order),
  the share that never reach this stage in the time frame; ``median_seconds_from_previous``: median time
  from an actor's first event of the previous stage to its first event of this stage, over the actors
  that reached both with this one not earlier;
- **emotion**: every ``survey`` event of the actor (attributes ``survey``, ``score``, ``touchpoint``)
  scored on -2..+2: NPS (0-10) as ``(score - 5) / 2.5``, CSAT (1-5) as ``score - 3`` (other kinds or
  scores out of range are left out); its stage is ``touchpoint_stages[touchpoint]`` (default
  ``{"delivery": "delivery", "service": "service"}``), else the stage the actor is in when answering.
  ``answers``, mean ``emotion`` and its 95 % Student-t interval (mean ± t(0.975, n-1)·s/√n);
- **contacts**: every ``contact`` event is attributed to the stage of the actor's last stage event at
  or before it that is not in a stage holding the contact type itself (the service stage): where the
  customer was when it called; ``contacts_per_100`` = contacts / stage actors × 100 (none for stages
  that hold the contact type).

``touchpoints``: per lane, stage, event type and ``channel`` (the event attribute; ``(none)`` where
absent; ``all`` for the total) the events and the distinct actors.

``process_steps`` (the service blueprint's backstage): the **process objects** of an actor are the
objects of the ``processes`` types (default: every type sharing an event with the actors, except the
actor type, ``visitor`` and ``session``) that share an event with it, linked to exactly one actor (a
campaign or a store serves many and is left out). Every event of a process object whose type is in no
stage, nor the survey or contact type, is a process step. It is hung under the stage of its **own
object's** last touchpoint at or before it (an order's picking under the stage of its "order placed",
its transit under "shipped"; an e-mail or a contact linked to the order is one of its touchpoints too),
as a service blueprint draws backstage steps between the touchpoints they serve; an object without a
touchpoint before the step (a payment's verification) falls back to the stage its actor is in at that
time. Per lane, stage, process type and activity: ``events``, ``objects``, and the median and 90th
percentile (linear interpolation) of the **wait** before it: the time since the previous event of the
same object (in the time frame; the object's first event has none). Steps, answers and contacts before
the actor's first stage event are counted in ``unattributed``.

Every table has a ``lane`` column: ``all`` and, with ``lanes`` (an attribute of the actor objects, or a
mapping actor id -> lane), one lane per value (``(none)`` for actors without one).

Peers: journey maps are drawn by hand in Miro, Smaply or the Celonis/Signavio journey modelers and
filled with survey numbers; a service blueprint (Shostack 1984) draws the backstage processes under the
touchpoints. This computes both from events; there is no peer implementation to match numerically.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ConfigError
from ..results import Result
from ..store import Store
from ..timespan import parse_instant
from ._stages import (
    Lanes,
    Stage,
    Timeline,
    assign_stages,
    parse_stages,
    quantiles,
    survey_emotions,
    t975,
)

log = logging.getLogger(__name__)

__all__ = ["JourneyMap", "journey_map"]

TOUCHPOINT_STAGES = {"delivery": "delivery", "service": "service"}
_NONE = np.iinfo(np.int64).max


@dataclasses.dataclass(frozen=True, eq=False)
class JourneyMap(Result):
    """The journey map of one actor type: ``stages`` (one row per lane and stage, emotion and contacts
    included; the main table), ``touchpoints``, ``process_steps`` and the lane names ``lanes``."""

    actor: str
    lane_by: str | None
    lanes: tuple[str, ...]
    stage_names: tuple[str, ...]
    actors: int
    unattributed: dict[str, int]
    stages: pa.Table = dataclasses.field(repr=False)
    touchpoints: pa.Table = dataclasses.field(repr=False)
    process_steps: pa.Table = dataclasses.field(repr=False)

    def to_arrow(self) -> pa.Table:
        return self.stages

    def stage(self, name: str, lane: str = "all") -> dict[str, object]:
        """The ``stages`` row of one stage and lane as a dict."""
        for row in self.stages.to_pylist():
            if row["stage"] == name and row["lane"] == lane:
                return row
        raise ConfigError(f"The name parameter must be one of {list(self.stage_names)} and lane one of "
                          f"{list(self.lanes)}. Got {name!r}, {lane!r} instead.", field="name")

    def to_dict(self) -> dict[str, object]:
        return {"actor": self.actor, "lane_by": self.lane_by, "lanes": list(self.lanes),
                "stage_names": list(self.stage_names), "actors": self.actors, "unattributed": self.unattributed,
                "stages": self.stages.to_pylist(), "touchpoints": self.touchpoints.to_pylist(),
                "process_steps": self.process_steps.to_pylist()}


def _text(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"The {field} parameter must be a non-empty text. Got {value!r} instead.", field=field)
    return value


def journey_map(store: Store, stages: Mapping[str, object] | None = None, *, actor: str = "customer",
                lanes: str | Mapping[str, object] | None = None, survey: str = "survey answered",
                contact: str = "service contact", touchpoint_stages: Mapping[str, str] | None = None,
                processes: Sequence[str] | None = None, start: object = None, end: object = None) -> JourneyMap:
    """The journey map of ``actor`` objects over ``stages`` (semantics in the module docs).

    ``lanes`` names an attribute of the actor objects (``"segment"``) or maps actor ids to lanes;
    ``processes`` names the process object types whose steps are hung under the stages."""
    actor, survey, contact = _text(actor, "actor"), _text(survey, "survey"), _text(contact, "contact")
    start, end = parse_instant(start, "start"), parse_instant(end, "end")
    if start is not None and end is not None and not start < end:
        raise ConfigError(f"The end parameter must be after start. Got {start} .. {end} instead.", field="end")
    known = store.event_types()
    spec = parse_stages(stages, known)
    names = [s.name for s in spec]
    tp_stages = _touchpoint_stages(touchpoint_stages, names)
    window, params = _window(start, end)
    actors = store.query(f"SELECT DISTINCT object_code AS code FROM seq WHERE object_type = $t{window} "
                         "ORDER BY code", {"t": actor, **params}).column("code").to_numpy()
    if not actors.size:
        types = store.query("SELECT DISTINCT type FROM object ORDER BY type").column("type").to_pylist()
        if actor not in types:
            raise ConfigError(f"The actor parameter must be an object type of the store, one of {types}. "
                              f"Got {actor!r} instead.", field="actor")
    lane = Lanes.of(store, actor, actors, lanes)
    wanted = sorted({t for s in spec for t in s.types} | ({survey, contact} & known.keys()))
    rows = store.sequences(actor, types=wanted, event_attributes=["channel"], start=start, end=end)
    code = rows.column("actor").to_numpy()
    time = rows.column("time").cast(pa.int64()).to_numpy()
    kind = rows.column("type").to_numpy().astype(np.int64)
    event = rows.column("event").to_numpy()
    who = np.searchsorted(actors, code)
    stage = assign_stages(spec, code, kind, known)
    on = stage >= 0
    unattributed: dict[str, int] = {}

    table = _stage_table(spec, lane, who[on], stage[on], time[on], actors.size)
    # emotion
    answer = np.flatnonzero(kind == known.get(survey, -2))
    emotion, touchpoint = survey_emotions(store, survey, event[answer])
    timeline = Timeline(code[on], time[on], stage[on])
    where = timeline.at(code[answer], time[answer])
    fixed = np.array([names.index(tp_stages[t]) if t in tp_stages else -1 for t in touchpoint], np.int64)
    where = np.where(fixed >= 0, fixed, where)
    scored = ~np.isnan(emotion)
    unattributed["surveys"] = int((scored & (where < 0)).sum())
    unattributed["surveys_unscored"] = int((~scored).sum())
    ok = scored & (where >= 0)
    table.update(_emotions(lane, who[answer][ok], where[ok], emotion[ok], len(spec)))
    # contacts
    holds = [i for i, s in enumerate(spec) if contact in s.types]
    before = on & ~np.isin(stage, holds)
    call = np.flatnonzero(kind == known.get(contact, -2))
    at = Timeline(code[before], time[before], stage[before]).at(code[call], time[call])
    unattributed["contacts"] = int((at < 0).sum())
    counts = lane.count(who[call][at >= 0], at[at >= 0], len(spec))
    table["contacts"] = counts.ravel()
    per = np.full(counts.shape, np.nan)
    actors_ls = table["actors"].reshape(counts.shape)
    np.divide(100.0 * counts, actors_ls, out=per, where=actors_ls > 0)
    per[:, holds] = np.nan
    table["contacts_per_100"] = per.ravel()

    channel = rows.column("e.channel").combine_chunks().fill_null("(none)")
    touch = _touchpoints(spec, lane, who[on], stage[on], kind[on], channel.filter(pa.array(on)), known, actors.size)
    excluded = {t for s in spec for t in s.types} | {survey, contact}
    order = np.argsort(event[on], kind="stable")
    staged = (event[on][order], stage[on][order])
    steps, skipped = _process_steps(store, actor, spec, lane, actors, timeline, staged, known, excluded, processes,
                                    start, end)
    unattributed.update(skipped)
    log.debug("journey map of %d %ss over %d stages and %d lanes", actors.size, actor, len(spec), len(lane.names))
    return JourneyMap(actor=actor, lane_by=lane.by, lanes=lane.names, stage_names=tuple(names),
                      actors=int(actors.size), unattributed=unattributed, stages=_nulls(table),
                      touchpoints=touch, process_steps=steps)


def _nulls(columns: dict[str, object]) -> pa.Table:
    """The columns as a table with NaN as null (undefined: no actors, no answers, no previous stage)."""
    return pa.table({k: pa.array(v, pa.float64(), from_pandas=True) if isinstance(v, np.ndarray) and v.dtype.kind == "f"
                     else v for k, v in columns.items()})


def _window(start: dt.datetime | None, end: dt.datetime | None) -> tuple[str, dict[str, object]]:
    sql, params = "", {}
    if start is not None:
        sql, params["start"] = sql + " AND time >= $start", start
    if end is not None:
        sql, params["end"] = sql + " AND time < $end", end
    return sql, params


def _touchpoint_stages(given: Mapping[str, str] | None, names: list[str]) -> dict[str, str]:
    if given is None:
        return {k: v for k, v in TOUCHPOINT_STAGES.items() if v in names}
    if not isinstance(given, Mapping) or not all(isinstance(v, str) and v in names for v in given.values()):
        raise ConfigError(f"The touchpoint_stages parameter must map survey touchpoints to stages, one of {names}. "
                          f"Got {given!r} instead.", field="touchpoint_stages")
    return dict(given)


def _stage_table(spec: tuple[Stage, ...], lane: Lanes, who: np.ndarray, stage: np.ndarray, time: np.ndarray,
                 n: int) -> dict[str, object]:
    """Reach, share, drop-off and time from the previous stage per lane and stage (lane-major rows)."""
    s_count = len(spec)
    first = np.full(n * s_count, _NONE, np.int64)
    key, idx = np.unique(who * s_count + stage, return_index=True)  # rows are in time order per actor
    first[key] = time[idx]
    first = first.reshape(n, s_count)
    reached = first != _NONE
    size = lane.sizes()
    hit = lane.count_actors(reached)  # (lanes, stages)
    drop = np.full(hit.shape, np.nan)
    median = np.full(hit.shape, np.nan)
    for s in range(1, s_count):
        prev = hit[:, s - 1]
        lost = lane.count_actors((reached[:, s - 1] & ~reached[:, s])[:, None])[:, 0]
        np.divide(lost, prev, out=drop[:, s], where=prev > 0)
        both = np.flatnonzero(reached[:, s - 1] & reached[:, s] & (first[:, s] >= first[:, s - 1]))
        gap = (first[both, s] - first[both, s - 1]) / 1e6
        group, values = lane.expand(both, gap)
        median[:, s] = quantiles(group, values, len(lane.names), (0.5,))[:, 0]
    share = np.full(hit.shape, np.nan)
    np.divide(hit, size[:, None], out=share, where=size[:, None] > 0)
    n_lanes = len(lane.names)
    return {"lane": np.repeat(np.array(lane.names, dtype=object), s_count).tolist(),
            "position": np.tile(np.arange(1, s_count + 1), n_lanes),
            "stage": [s.name for s in spec] * n_lanes,
            "previous": [None, *(s.name for s in spec[:-1])] * n_lanes,
            "actors": hit.ravel(), "share": share.ravel(), "drop_off": drop.ravel(),
            "median_seconds_from_previous": median.ravel()}


def _emotions(lane: Lanes, who: np.ndarray, stage: np.ndarray, emotion: np.ndarray, s_count: int) -> dict:
    """Answers, mean emotion and its 95 % t interval per lane and stage."""
    n_lanes = len(lane.names)
    group, rows = lane.expand(who, np.arange(who.size))
    key = group * s_count + stage[rows]
    size = n_lanes * s_count
    n = np.bincount(key, minlength=size).astype(float)
    total = np.bincount(key, emotion[rows], minlength=size)
    mean = np.full(size, np.nan)
    np.divide(total, n, out=mean, where=n > 0)
    dev = (emotion[rows] - mean[key]) ** 2
    sq = np.bincount(key, dev, minlength=size)
    half = np.full(size, np.nan)
    for k in np.flatnonzero(n > 1):
        half[k] = t975(int(n[k]) - 1) * math.sqrt(sq[k] / (n[k] - 1) / n[k])
    return {"answers": n.astype(np.int64), "emotion": mean, "emotion_low": mean - half, "emotion_high": mean + half}


def _touchpoints(spec: tuple[Stage, ...], lane: Lanes, who: np.ndarray, stage: np.ndarray, kind: np.ndarray,
                 channel: pa.Array, known: Mapping[str, int], n: int) -> pa.Table:
    """Events and distinct actors per lane, stage, touchpoint and channel (``all`` for the total)."""
    encoded = pc.dictionary_encode(channel)
    channels = [*encoded.dictionary.to_pylist(), "all"]
    ch = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    n_types, n_ch = max(known.values(), default=0) + 1, len(channels)
    base = (stage * n_types + kind) * n_ch
    combos, dense = np.unique(np.concatenate([base + ch, base + n_ch - 1]), return_inverse=True)
    pair, events = np.unique(dense.ravel() * max(n, 1) + np.concatenate([who, who]), return_counts=True)
    pair_combo, pair_who = np.divmod(pair, max(n, 1))
    group, rows = lane.expand(pair_who, np.arange(pair.size))
    key = group * combos.size + pair_combo[rows]
    size = len(lane.names) * combos.size
    n_events = np.bincount(key, events[rows], minlength=size).astype(np.int64)
    n_actors = np.bincount(key, minlength=size)
    keep = np.flatnonzero(n_actors > 0)
    lane_i, combo_i = np.divmod(keep, combos.size)
    st_ty, c_i = np.divmod(combos[combo_i], n_ch)
    s_i, t_i = np.divmod(st_ty, n_types)
    type_names = {v: k for k, v in known.items()}
    touchpoint = np.array([type_names[i] for i in t_i], dtype=object)
    channel_name = np.array([channels[i] for i in c_i], dtype=object)
    order = np.lexsort((channel_name, -n_events[keep], c_i != n_ch - 1, touchpoint, s_i, lane_i))
    return pa.table({
        "lane": pa.array([lane.names[i] for i in lane_i[order]], pa.string()),
        "stage": pa.array([spec[i].name for i in s_i[order]], pa.string()),
        "touchpoint": pa.array(touchpoint[order].tolist(), pa.string()),
        "channel": pa.array(channel_name[order].tolist(), pa.string()),
        "events": pa.array(n_events[keep][order], pa.int64()), "actors": pa.array(n_actors[keep][order], pa.int64())})


def _owners(store: Store, actor: str, processes: Sequence[str] | None) -> tuple[list[str], np.ndarray, np.ndarray,
                                                                                     np.ndarray, int]:
    """The process types; the code, actor code and type index of every process object linked to exactly
    one actor (sorted by code); and how many objects were linked to several."""
    linked = store.query("""
        SELECT DISTINCT s.object_code AS actor, b.object_code AS other, o.type AS kind
        FROM seq s JOIN event_object b ON b.event_code = s.event_code JOIN object o ON o.code = b.object_code
        WHERE s.object_type = $a AND o.type <> $a""", {"a": actor})
    kinds = linked.column("kind").to_numpy(zero_copy_only=False).astype(object)
    if processes is None:
        chosen = sorted(set(kinds.tolist()) - {"visitor", "session"})
    else:
        types = store.query("SELECT DISTINCT type FROM object ORDER BY type").column("type").to_pylist()
        if isinstance(processes, str) or not all(isinstance(p, str) and p in types for p in processes):
            raise ConfigError(f"The processes parameter must list object types of the store, of {types}. "
                              f"Got {processes!r} instead.", field="processes")
        chosen = sorted(set(processes) - {actor})
    mine = np.isin(kinds, chosen)
    other, owner = linked.column("other").to_numpy()[mine], linked.column("actor").to_numpy()[mine]
    kind = np.searchsorted(np.array(chosen, dtype=object), kinds[mine]) if chosen else np.zeros(0, np.int64)
    order = np.lexsort((owner, other))
    other, owner, kind = other[order], owner[order], kind[order]
    objects, counts = np.unique(other, return_counts=True)
    at = np.searchsorted(other, objects[counts == 1])
    return chosen, other[at], owner[at], kind[at], int((counts > 1).sum())


def _process_steps(store: Store, actor: str, spec: tuple[Stage, ...], lane: Lanes, actors: np.ndarray,
                   timeline: Timeline, staged: tuple[np.ndarray, np.ndarray], known: Mapping[str, int],
                   excluded: set[str], processes: Sequence[str] | None, start: dt.datetime | None,
                   end: dt.datetime | None) -> tuple[pa.Table, dict[str, int]]:
    """Events, objects and waits of the process steps per lane, stage, process type and activity.
    ``staged``: the actors' stage events (event codes ascending) and their stages."""
    chosen, objects, owners, kinds, shared = _owners(store, actor, processes)
    window, params = _window(start, end)
    params.update({f"p{i}": t for i, t in enumerate(chosen)})
    rows = store.query(f"""SELECT object_code AS o, time, type_code AS type, event_code AS ev FROM seq
        WHERE object_type IN ({", ".join(f"$p{i}" for i in range(len(chosen))) or "NULL"}){window}
        ORDER BY o, time, ev""", params)
    obj, activity = rows.column("o").to_numpy(), rows.column("type").to_numpy().astype(np.int64)
    time, event = rows.column("time").cast(pa.int64()).to_numpy(), rows.column("ev").to_numpy()
    wait = np.full(obj.size, np.nan)
    if obj.size > 1:
        same = obj[1:] == obj[:-1]
        wait[1:][same] = (time[1:] - time[:-1])[same] / 1e6
    at = np.minimum(np.searchsorted(objects, obj), max(objects.size - 1, 0))
    skip = [c for t, c in known.items() if t in excluded]
    keep = np.flatnonzero((objects[at] == obj) & ~np.isin(activity, skip)) if objects.size else np.zeros(0, np.int64)
    owner = owners[at[keep]]
    # the stage of the object's own last touchpoint before the step, else the stage its actor is in
    hit = np.minimum(np.searchsorted(staged[0], event), max(staged[0].size - 1, 0))
    own = (staged[0][hit] == event) if staged[0].size else np.zeros(event.size, bool)
    stage = Timeline(obj[own], time[own], staged[1][hit[own]]).at(obj[keep], time[keep])
    stage = np.where(stage >= 0, stage, timeline.at(owner, time[keep]))
    ok, lost = keep[stage >= 0], int((stage < 0).sum())
    who, kind, stage = np.searchsorted(actors, owners[at[ok]]), kinds[at[ok]], stage[stage >= 0]
    activity, event, obj, wait = activity[ok], event[ok], obj[ok], wait[ok]
    names = {c: t for t, c in known.items()}
    n_act = int(activity.max()) + 1 if activity.size else 1
    combos, dense = np.unique((stage * max(len(chosen), 1) + kind) * n_act + activity, return_inverse=True)
    group, rows = lane.expand(who.astype(np.int64), np.arange(who.size))
    key = group * combos.size + dense.ravel()[rows]
    size = len(lane.names) * combos.size
    n_events = _distinct(key, event[rows], size)
    n_objects = _distinct(key, obj[rows], size)
    waits = quantiles(key, wait[rows].astype(float), size, (0.5, 0.9))
    keep = np.flatnonzero(n_events > 0)
    lane_i, combo_i = np.divmod(keep, max(combos.size, 1))
    st_kind, act = np.divmod(combos[combo_i], n_act)
    s_i, k_i = np.divmod(st_kind, max(len(chosen), 1))
    process = np.array([chosen[i] for i in k_i], dtype=object)
    activity_name = np.array([names[i] for i in act], dtype=object)
    order = np.lexsort((activity_name, process, -n_events[keep], s_i, lane_i))
    table = pa.table({
        "lane": pa.array([lane.names[i] for i in lane_i[order]], pa.string()),
        "stage": pa.array([spec[i].name for i in s_i[order]], pa.string()),
        "process": pa.array(process[order].tolist(), pa.string()),
        "activity": pa.array(activity_name[order].tolist(), pa.string()),
        "events": pa.array(n_events[keep][order], pa.int64()), "objects": pa.array(n_objects[keep][order], pa.int64()),
        "median_wait_seconds": pa.array(waits[keep, 0][order], pa.float64(), from_pandas=True),
        "p90_wait_seconds": pa.array(waits[keep, 1][order], pa.float64(), from_pandas=True)})
    return table, {"process_events": lost, "shared_objects": shared}


def _distinct(key: np.ndarray, item: np.ndarray, size: int) -> np.ndarray:
    """The number of distinct ``item`` values per ``key`` (``0..size-1``)."""
    if not key.size:
        return np.zeros(size, np.int64)
    pairs = np.unique(key.astype(np.int64) * (int(item.max()) + 1) + item.astype(np.int64))
    return np.bincount(pairs // (int(item.max()) + 1), minlength=size)

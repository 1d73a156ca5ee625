"""Journey stages and swim lanes for ``jm.journey_map``: the stage mapping, which stage each event
belongs to, which stage an actor was in at a given time, the lanes actors are grouped in, and the
small statistics the map reports (the emotion scale of survey answers, grouped quantiles, the
Student-t quantile).

A stage mapping is an ordered mapping ``stage name -> event types`` (the stage's touchpoints); the
order is the journey order. A stage may instead be a **repeat** stage, written ``{"repeat": [types]}``:
its events are the actor's second and later events of those types, counted together (the default
``loyalty`` stage: a second purchase, online or in store). An event type may be in one plain stage
and in one repeat stage at most; where both claim an event, the repeat stage takes it (a repeat order
is a loyalty event, not a buy event). Event types the store does not hold are ignored; a mapping of
which no type exists is refused.

:data:`RETAIL_STAGES` is the default, in the vocabulary of the simulator (``jm.simulate``) and of a
typical shop log. Events of the process objects (picking, verification, ticket handling) are in no
stage on purpose: they are the backstage steps the journey map hangs under the stages.
"""

from __future__ import annotations

import dataclasses
import types as _types
from collections.abc import Mapping, Sequence

import numpy as np

from ..errors import ConfigError
from ..journeys._stats import Z95
from ..store import Store

__all__ = ["RETAIL_STAGES", "Lanes", "Stage", "Timeline", "assign_stages", "parse_stages", "quantiles",
           "survey_emotions", "t975"]

# the 97.5 % quantile of Student's t for 1..30 degrees of freedom; beyond, the Cornish-Fisher series
_T975 = (12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004, 2.262157, 2.228139,
         2.200985, 2.178813, 2.160369, 2.144787, 2.131450, 2.119905, 2.109816, 2.100922, 2.093024, 2.085963,
         2.079614, 2.073873, 2.068658, 2.063899, 2.059539, 2.055529, 2.051831, 2.048407, 2.045230, 2.042272)

RETAIL_STAGES: Mapping[str, object] = _types.MappingProxyType({
    "discover": ("page viewed", "search", "product viewed", "store visited", "email opened", "email clicked",
                 "push opened"),
    "consider": ("added to cart", "logged in", "account registered"),
    "buy": ("checkout address", "checkout delivery", "checkout payment", "order placed", "in-store purchase"),
    "delivery": ("shipped", "delivery attempted", "delivered", "ready for pickup", "picked up in store"),
    "use": ("return requested",),
    "service": ("service contact",),
    "loyalty": _types.MappingProxyType({"repeat": ("order placed", "in-store purchase")}),
})


@dataclasses.dataclass(frozen=True)
class Stage:
    """One stage: its name, the event types given for it that the store holds, and whether it is a
    repeat stage (the actor's second and later events of ``types``)."""

    name: str
    types: tuple[str, ...]
    repeat: bool = False


def _type_list(name: str, value: object) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Sequence) or not value or \
            not all(isinstance(t, str) and t for t in value):
        raise ConfigError(f"The stages parameter must map stage {name!r} to a non-empty list of event types "
                          f"(or {{'repeat': [event types]}}). Got {value!r} instead.", field="stages")
    return list(value)


def parse_stages(stages: Mapping[str, object] | None, known: Mapping[str, int]) -> tuple[Stage, ...]:
    """The stages of ``stages`` (default :data:`RETAIL_STAGES`), with the event types ``known`` to the
    store kept; raises :class:`ConfigError` for a malformed mapping, a type in two stages of a kind, or
    a mapping none of whose types the store holds."""
    if stages is None:
        stages = RETAIL_STAGES
    if not isinstance(stages, Mapping) or not stages:
        raise ConfigError("The stages parameter must be a non-empty mapping of stage name to event types. "
                          f"Got {stages!r} instead.", field="stages")
    out: list[Stage] = []
    seen: dict[tuple[str, bool], str] = {}
    for name, value in stages.items():
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"The stages parameter must name every stage with text. Got {name!r} instead.",
                              field="stages")
        repeat = isinstance(value, Mapping)
        if repeat:
            if set(value) != {"repeat"}:
                raise ConfigError(f"The stages parameter's stage {name!r} must be a list of event types or "
                                  f"{{'repeat': [event types]}}. Got {dict(value)!r} instead.", field="stages")
            value = value["repeat"]
        types = list(dict.fromkeys(_type_list(name, value)))
        for t in types:
            other = seen.setdefault((t, repeat), name)
            if other != name:
                kind = "repeat stage" if repeat else "stage"
                raise ConfigError(f"The stages parameter must put an event type in one {kind} only. Got "
                                  f"{t!r} in {other!r} and {name!r} instead.", field="stages")
        out.append(Stage(name, tuple(t for t in types if t in known), repeat))
    if not any(s.types for s in out):
        given = sorted({t for (t, _) in seen})
        raise ConfigError(f"The stages parameter must name event types the store holds. Got {given[:8]!r}"
                          f"{' ...' if len(given) > 8 else ''}, none of which is stored, instead.", field="stages")
    return tuple(out)


def assign_stages(stages: tuple[Stage, ...], actor: np.ndarray, type_code: np.ndarray,
                  known: Mapping[str, int]) -> np.ndarray:
    """The stage index of every row (``-1``: in no stage) of rows ordered by actor, then time."""
    top = max(known.values(), default=-1) + 1
    plain = np.full(max(top, 1), -1, np.int64)
    for i, s in enumerate(stages):
        if not s.repeat:
            plain[[known[t] for t in s.types]] = i
    out = plain[type_code] if type_code.size else np.zeros(0, np.int64)
    for i, s in enumerate(stages):
        if not s.repeat or not s.types:
            continue
        rows = np.flatnonzero(np.isin(type_code, [known[t] for t in s.types]))
        if not rows.size:
            continue
        a = actor[rows]
        new = np.r_[True, a[1:] != a[:-1]]
        first = np.maximum.accumulate(np.where(new, np.arange(rows.size), 0))
        out[rows[np.arange(rows.size) - first >= 1]] = i  # the second and later of the actor's
    return out


class Timeline:
    """Which stage an actor is in at a time: the stage of its last stage event at or before that time
    (of stage events at the same time, the last in journey order). Built once from the stage events
    (rows ordered by actor, time, load order); :meth:`at` answers many queries by binary search."""

    def __init__(self, actor: np.ndarray, time: np.ndarray, stage: np.ndarray) -> None:
        new = np.r_[True, actor[1:] != actor[:-1]] if actor.size else np.zeros(0, bool)
        self._actors, block = actor[new], np.cumsum(new) - 1
        self._stage = stage
        self._low = int(time.min()) - 1 if time.size else 0
        self._width = int(time.max()) - self._low + 1 if time.size else 1
        self._times = None
        if self._actors.size * self._width >= 2 ** 62:  # times too far apart: rank them instead
            self._times, self._low = np.unique(time), 0
            self._width = self._times.size + 1
        self._keys = block * self._width + self._rank(time, "left")

    def _rank(self, time: np.ndarray, side: str) -> np.ndarray:
        """Offsets of times within a block (order-preserving; at or before ``time`` for queries)."""
        if self._times is not None:
            return np.searchsorted(self._times, time, side=side) + (side == "left")
        return np.clip(time - self._low, 0, self._width - 1)

    def at(self, actor: np.ndarray, time: np.ndarray) -> np.ndarray:
        """The stage index at each query (``-1``: the actor had no stage event yet)."""
        out = np.full(actor.size, -1, np.int64)
        if not self._keys.size or not actor.size:
            return out
        block = np.minimum(np.searchsorted(self._actors, actor), self._actors.size - 1)
        known = self._actors[block] == actor
        keys = block * self._width + self._rank(time, "right")
        row = np.searchsorted(self._keys, keys, side="right") - 1
        ok = known & (row >= 0)
        ok[ok] &= self._keys[row[ok]] // self._width == block[ok]
        out[ok] = self._stage[row[ok]]
        return out


def survey_emotions(store: Store, survey: str, events: np.ndarray) -> tuple[np.ndarray, list]:
    """The emotion of each survey event (by code) on -2..+2 (NaN: not scorable) and its touchpoint:
    NPS (``survey = "nps"``, score 0-10) as ``(score - 5) / 2.5``, CSAT (score 1-5) as ``score - 3``."""
    table = store.query("SELECT code, json_extract_string(attributes, $k) AS kind, "
                        "json_extract_string(attributes, $s) AS score, json_extract_string(attributes, $t) AS tp "
                        "FROM event WHERE type = $type ORDER BY code",
                        {"k": "$.survey", "s": "$.score", "t": "$.touchpoint", "type": survey})
    codes = table.column("code").to_numpy()
    at = np.minimum(np.searchsorted(codes, events), max(codes.size - 1, 0))
    kinds, scores, tps = (table.column(c).to_pylist() for c in ("kind", "score", "tp"))
    emotion = np.full(events.size, np.nan)
    touchpoint: list = [None] * events.size
    for i, j in enumerate(at.tolist()):
        if not codes.size or codes[j] != events[i]:
            continue
        touchpoint[i] = tps[j]
        try:
            score = float(scores[j])
        except (TypeError, ValueError):
            continue
        kind = (kinds[j] or "").lower()
        if kind == "nps" and 0 <= score <= 10:
            emotion[i] = (score - 5) / 2.5
        elif kind == "csat" and 1 <= score <= 5:
            emotion[i] = score - 3
    return emotion, touchpoint


def t975(df: int) -> float:
    """The 97.5 % quantile of Student's t with ``df`` degrees of freedom (table to 30, then the
    Cornish-Fisher expansion of Abramowitz & Stegun 26.7.5, error below 1e-7)."""
    if df <= len(_T975):
        return _T975[df - 1]
    z = Z95
    g = ((z ** 3 + z) / 4, (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96,
         (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384,
         (79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z) / 92160)
    return z + sum(gi / df ** (i + 1) for i, gi in enumerate(g))


def quantiles(group: np.ndarray, values: np.ndarray, n: int, qs: tuple[float, ...]) -> np.ndarray:
    """The quantiles ``qs`` (linear interpolation, as numpy and DuckDB's ``quantile_cont``) of the
    non-NaN ``values`` of each group ``0..n-1``; NaN for groups without values."""
    out = np.full((n, len(qs)), np.nan)
    ok = ~np.isnan(values)
    g, v = group[ok], values[ok]
    order = np.lexsort((v, g))
    g, v = g[order], v[order]
    bounds = np.searchsorted(g, np.arange(n + 1))
    for k in np.flatnonzero(np.diff(bounds) > 0):
        out[k] = np.quantile(v[bounds[k]:bounds[k + 1]], qs)
    return out


@dataclasses.dataclass(frozen=True, eq=False)
class Lanes:
    """Swim lanes: ``names`` (``"all"`` first, then the lane values in order) and the lane index
    (``1..``) of every actor (by dense index among the actors; 0 without lanes)."""

    by: str | None
    names: tuple[str, ...]
    of_actor: np.ndarray

    @classmethod
    def of(cls, store: Store, actor: str, actors: np.ndarray, lanes: str | Mapping[str, object] | None) -> Lanes:
        """The lanes of ``actors`` (sorted object codes): none, an attribute of the actor objects, or a
        mapping actor id -> lane (actors it does not name, like those without the attribute, are in
        lane ``(none)``)."""
        if lanes is None:
            return cls(None, ("all",), np.zeros(actors.size, np.int64))
        if isinstance(lanes, str) and lanes.strip():
            rows = store.query("SELECT code, json_extract_string(attributes, $p) AS v FROM object WHERE type = $t "
                               "ORDER BY code", {"p": "$." + lanes, "t": actor})
            by, raw = lanes, rows.column("v").to_pylist()
        elif isinstance(lanes, Mapping) and lanes:
            rows = store.query("SELECT code, id FROM object WHERE type = $t ORDER BY code", {"t": actor})
            found = [lanes.get(i) for i in rows.column("id").to_pylist()]
            by, raw = "mapping", [None if v is None else str(v) for v in found]
        else:
            raise ConfigError(f"The lanes parameter must name an attribute of the {actor} objects or map {actor} "
                              f"ids to lanes. Got {lanes!r} instead.", field="lanes")
        if all(v is None for v in raw):
            raise ConfigError(f"The lanes parameter must give a lane to some {actor}. Got {by!r}, which gives "
                              f"none, instead.", field="lanes")
        codes = rows.column("code").to_numpy()
        value = np.array(["(none)" if v is None else v for v in raw], dtype=object)
        at = np.minimum(np.searchsorted(codes, actors), codes.size - 1)
        mine = value[at]
        names, index = np.unique(mine.astype(str), return_inverse=True)
        if "all" in names.tolist():
            raise ConfigError("The lanes parameter must not give a lane named 'all' (the lane of every actor). "
                              "Got one instead.", field="lanes")
        return cls(by, ("all", *names.tolist()), index.ravel().astype(np.int64) + 1)

    def expand(self, who: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(lane index, value) of every item of actor ``who``: once in lane ``all``, once in its own."""
        if len(self.names) == 1:
            return np.zeros(who.size, np.int64), values
        return np.concatenate([np.zeros(who.size, np.int64), self.of_actor[who]]), np.concatenate([values, values])

    def count(self, who: np.ndarray, index: np.ndarray, size: int) -> np.ndarray:
        """Items of actors ``who`` counted per lane and ``index`` (``0..size-1``): shape (lanes, size)."""
        group, rows = self.expand(who, index)
        return np.bincount(group * size + rows, minlength=len(self.names) * size).reshape(len(self.names), size)

    def count_actors(self, flags: np.ndarray) -> np.ndarray:
        """Actors with each flag (``flags`` has one row per actor) counted per lane: (lanes, flags)."""
        out = np.zeros((len(self.names), flags.shape[1]), np.int64)
        out[0] = flags.sum(axis=0)
        if len(self.names) > 1:
            np.add.at(out, self.of_actor, flags.astype(np.int64))
        return out

    def sizes(self) -> np.ndarray:
        """Actors per lane."""
        return self.count_actors(np.ones((self.of_actor.size, 1), bool))[:, 0]

"""Counting units and the sequence arrays the journey kernels run on.

A counting unit (``by=``) is who a funnel, path or report counts:

- ``"customer"`` (the default) or any other object type name, e.g. ``"order"``: the store's objects
  of that type, with merged identities resolved (a visitor stitched into a customer is the customer);
- ``"object:TYPE"``: the same, spelled explicitly; needed for a stored type that is literally named
  ``session`` (``"object:session"``), since a bare ``"session"`` means the next item;
- ``"session"``: sessions **derived** from each customer's journey by inactivity (see
  :class:`SessionRule`, default 30 minutes of inactivity and at most 24 hours), computed on the fly
  from all of the customer's events.

:func:`load` pulls a unit's events from the store (ordered by actor, time, load order) into
:class:`Sequences`: NumPy arrays with a dense actor index, which every kernel shares.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Iterable, Iterator

import numpy as np
import pyarrow as pa

from ..errors import ConfigError
from ..results import Segment
from ..store import Store
from ..timespan import parse_duration

__all__ = ["SessionRule", "Sequences", "Unit", "load", "load_parts", "parse_unit", "split_sessions"]


PARTS = 1  # parts load_parts reads a unit in: one query is fastest now that the kernel is compiled (ADR 0008)


@dataclasses.dataclass(frozen=True)
class SessionRule:
    """How a customer's journey splits into sessions.

    A new session starts at an event that comes more than ``gap`` after the customer's previous
    event (exactly ``gap`` later is the same session), or more than ``max_length`` after the first
    event of the current session (so a session spans at most ``max_length``, bound inclusive). These
    are the rules of PostHog and Google Analytics (30 minutes, 24 hours). ``of`` is the object type
    whose journeys are split.
    """

    gap: object = "30m"
    max_length: object = "24h"
    of: str = "customer"

    def seconds(self) -> tuple[float, float]:
        return parse_duration(self.gap, "gap"), parse_duration(self.max_length, "max_length")


@dataclasses.dataclass(frozen=True)
class Unit:
    """A parsed ``by=``: an object type, or derived sessions of an object type's journeys."""

    object_type: str
    sessions: SessionRule | None = None

    @property
    def label(self) -> str:
        """``"session"`` for derived sessions, ``"object:session"`` for stored ones, else the type."""
        if self.sessions is not None:
            return "session"
        return "object:session" if self.object_type == "session" else self.object_type


def parse_unit(by: object, session: SessionRule | None = None) -> Unit:
    """``by`` as a :class:`Unit` (see the module docs); ``session`` sets the rule for ``"session"``."""
    if isinstance(by, Unit):
        return by
    if isinstance(by, SessionRule):
        return Unit(by.of, by)
    if not isinstance(by, str) or not by.strip():
        raise ConfigError(f"The by parameter must be 'customer', 'session' or an object type. Got {by!r} instead.",
                          field="by")
    by = by.strip()
    if by == "session":
        rule = session or SessionRule()
        rule.seconds()  # validate
        return Unit(rule.of, rule)
    if by.startswith("object:"):
        by = by.removeprefix("object:")
        if not by:
            raise ConfigError("The by parameter 'object:TYPE' needs an object type after 'object:'.", field="by")
    return Unit(by)


@dataclasses.dataclass(frozen=True, eq=False)
class Sequences:
    """Events of one counting unit as arrays ordered by (actor, time, load order).

    ``codes`` is the store's object code of each row's actor (for sessions: the customer's);
    ``session`` (sessions only) the row's session number, dense and in order, and ``session_start``
    each session's first event time in µs. ``actor`` is a dense index ``0..n_actors-1`` of the rows'
    actors in that order (computed on first use) and ``actor_code`` maps it to the object code. ``time``
    is µs since the epoch (UTC), ``type`` the event type code, ``event`` the event code, ``attrs`` the
    requested attribute columns (``e.NAME``/``o.NAME``) as Arrow arrays.
    """

    unit: Unit
    codes: np.ndarray
    session: np.ndarray | None
    session_start: np.ndarray | None
    time: np.ndarray
    type: np.ndarray
    event: np.ndarray
    attrs: dict[str, pa.Array]
    type_codes: dict[str, int]

    @functools.cached_property
    def _actors(self) -> tuple[np.ndarray, np.ndarray]:
        if self.session is None:
            return _dense(self.codes)
        return self.session, self.codes[np.flatnonzero(np.diff(self.session, prepend=-1))]

    @property
    def actor(self) -> np.ndarray:
        return self._actors[0]

    @property
    def key(self) -> np.ndarray:
        """Per row, a non-decreasing key that is equal exactly within one actor (the session number or
        the object code): for kernels that only compare actors, with no dense index to compute."""
        return self.codes if self.session is None else self.session

    @property
    def actor_code(self) -> np.ndarray:
        return self._actors[1]

    @property
    def n(self) -> int:
        return int(self.time.size)

    @property
    def n_actors(self) -> int:
        return int(self.actor_code.size)

    def take(self, rows: np.ndarray) -> Sequences:
        """The rows ``rows`` (sorted), with the actor index made dense again."""
        session, session_start = None, None
        if self.session is not None:
            session, keep = _dense(self.session[rows])
            session_start = self.session_start[keep]
        return dataclasses.replace(
            self, codes=self.codes[rows], session=session, session_start=session_start,
            time=self.time[rows], type=self.type[rows], event=self.event[rows],
            attrs={k: v.take(pa.array(rows)) for k, v in self.attrs.items()})

    def split(self, parts: int) -> list[Sequences]:
        """About ``parts`` parts of whole actors (views, no copy), in order, for kernels run side by side.
        Derived sessions are not split (their numbering is dense from 0)."""
        if parts < 2 or self.session is not None or self.n < parts:
            return [self]
        cuts = [0]
        for i in range(1, parts):
            at = int(np.searchsorted(self.codes, self.codes[i * self.n // parts]))  # that actor's first row
            if at > cuts[-1]:
                cuts.append(at)
        cuts.append(self.n)
        return [dataclasses.replace(self, codes=self.codes[a:b], time=self.time[a:b], type=self.type[a:b],
                                    event=self.event[a:b], attrs={k: v.slice(a, b - a) for k, v in self.attrs.items()})
                for a, b in zip(cuts, cuts[1:])]

    def segment(self, name: str, actors: np.ndarray) -> Segment:
        """The actors with dense index in ``actors`` as a :class:`~journeymine.results.Segment`."""
        starts = None if self.session_start is None else self.session_start[actors]
        return Segment(name, self.unit.object_type, self.actor_code[actors], starts)


def _dense(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense index of a sorted code array and the code of each index."""
    if codes.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    new = np.empty(codes.size, bool)
    new[0] = True
    np.not_equal(codes[1:], codes[:-1], out=new[1:])
    return np.cumsum(new) - 1, codes[new]


def split_sessions(actor: np.ndarray, time: np.ndarray, gap_us: int, max_us: int) -> np.ndarray:
    """Session number (dense, in order) of each row of rows ordered by (actor, time)."""
    n = time.size
    if n == 0:
        return np.zeros(0, np.int64)
    new = np.empty(n, bool)
    new[0] = True
    new[1:] = (actor[1:] != actor[:-1]) | (np.diff(time) > gap_us)
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], n)
    long = np.flatnonzero(time[ends - 1] - time[starts] > max_us)
    for i in long:  # rare: sessions longer than max_length split at the first event beyond it
        lo, hi = starts[i], ends[i]
        while True:
            cut = lo + int(np.searchsorted(time[lo:hi], time[lo] + max_us, side="right"))
            if cut >= hi:
                break
            new[cut] = True
            lo = cut
    return np.cumsum(new) - 1


def load(store: Store, unit: Unit, *, types: Iterable[str] | None = None, event_attributes: Iterable[str] = (),
         object_attributes: Iterable[str] = (), start: dt.datetime | None = None, end: dt.datetime | None = None,
         actors: Segment | None = None) -> Sequences:
    """The unit's events (only ``types`` if given) with the requested attributes, as :class:`Sequences`.

    For derived sessions every event of the journeys is read (inactivity depends on all of them) and
    the rows are cut to ``types`` after the sessions are numbered. ``actors`` keeps only the actors of a
    segment (a segment of sessions keeps those sessions)."""
    types = None if types is None else sorted(set(types))
    _check_segment(unit, actors)
    table = store.sequences(unit.object_type, types=None if unit.sessions else types,
                            event_attributes=event_attributes, object_attributes=object_attributes,
                            start=start, end=end)
    return _to_sequences(table, unit, types, actors, store.event_types())


def load_parts(store: Store, unit: Unit, *, types: Iterable[str] | None = None,
               event_attributes: Iterable[str] = (), object_attributes: Iterable[str] = (),
               start: dt.datetime | None = None, end: dt.datetime | None = None,
               actors: Segment | None = None, type_codes: dict[str, int] | None = None) -> Iterator[Sequences]:
    """:func:`load` in parts of whole actors (by ranges of their codes), each with its own dense actor
    index, in order: the next part is read from the store while the caller works on this one.
    ``type_codes``: ``store.event_types()`` if the caller has it already."""
    types = None if types is None else sorted(set(types))
    _check_segment(unit, actors)
    type_codes = store.event_types() if type_codes is None else type_codes
    for table in store.sequence_parts(unit.object_type, types=None if unit.sessions else types,
                                      event_attributes=event_attributes, object_attributes=object_attributes,
                                      start=start, end=end, parts=PARTS, type_codes=type_codes):
        seqs = _to_sequences(table, unit, types, actors, type_codes)
        if seqs.n:
            yield seqs


def _check_segment(unit: Unit, actors: Segment | None) -> None:
    if actors is not None and (actors.object_type != unit.object_type
                               or (actors.session_starts is None) != (unit.sessions is None)):
        raise ConfigError(f"The actors segment {actors.name!r} holds {actors.object_type} "
                          f"{'sessions' if actors.session_starts is not None else 'objects'}; this analysis "
                          f"counts {unit.label}s.", field="actors")


def _to_sequences(table: pa.Table, unit: Unit, types: list[str] | None, actors: Segment | None,
                  type_codes: dict[str, int]) -> Sequences:
    """Rows of :meth:`Store.sequences` as :class:`Sequences`: dense actors or derived sessions, then
    cut to ``types`` (sessions) and to the segment ``actors``."""
    codes = table.column("actor").to_numpy()
    time = table.column("time").cast(pa.int64()).to_numpy()
    session = session_start = None
    if unit.sessions is not None:
        gap, longest = unit.sessions.seconds()
        session = split_sessions(codes, time, round(gap * 1e6), round(longest * 1e6))
        session_start = time[np.flatnonzero(np.diff(session, prepend=-1))]
    seqs = Sequences(unit, codes, session, session_start, time, table.column("type").to_numpy(),
                     table.column("event").to_numpy(), {k: table.column(k).combine_chunks()
                                                        for k in table.column_names[4:]}, type_codes)
    keep = None
    if unit.sessions is not None and types is not None:
        wanted = np.array([type_codes[t] for t in types if t in type_codes], np.int32)
        keep = np.isin(seqs.type, wanted)
    if actors is not None:
        if unit.sessions is None:
            inside = np.isin(seqs.actor_code, actors.codes)
        else:
            pairs = set(zip(actors.codes.tolist(), actors.session_starts.tolist()))
            inside = np.array([p in pairs for p in zip(seqs.actor_code.tolist(), seqs.session_start.tolist())], bool)
        row_in = inside[seqs.actor]
        keep = row_in if keep is None else keep & row_in
    if keep is not None:
        seqs = seqs.take(np.flatnonzero(keep))
    return seqs

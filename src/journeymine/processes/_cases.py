"""The case arrays the process analyses share: one case per object of a type, its events by time.

:func:`load_cases` reads the process view (``Store.sequences`` over the ``seq`` projection, ordered by
case, time and load order: ties in time keep the order of the source file) as NumPy arrays and adds
what every process analysis needs: where each case starts and ends, and the activity names of the type
codes. pm4py orders the events of a case the same way (a stable sort by timestamp of the file's order).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ConfigError
from ..store import Store
from ..journeys._units import Sequences, load, parse_unit

__all__ = ["Cases", "case_values", "event_values", "group_variants", "load_cases"]

_P1, _P2 = np.uint64(1_000_003), np.uint64(0x9E3779B97F4A7C15)


@dataclasses.dataclass(frozen=True, eq=False)
class Cases:
    """Events of the cases of one object type as arrays (rows in case, time, load order).

    ``case`` is the dense case index of each row, ``starts``/``ends`` the first row and one past the
    last row of each case, ``codes`` the object code of each case, ``names`` the activity name of each
    event type code (``None`` for codes not in the store)."""

    object_type: str
    seqs: Sequences
    starts: np.ndarray
    ends: np.ndarray
    names: list[str | None]

    @property
    def n_cases(self) -> int:
        return int(self.starts.size)

    @property
    def case(self) -> np.ndarray:
        return self.seqs.actor

    @property
    def time(self) -> np.ndarray:
        return self.seqs.time

    @property
    def activity(self) -> np.ndarray:
        return self.seqs.type

    def take(self, rows: np.ndarray) -> Cases:
        """The events at ``rows`` (sorted); cases left without events disappear."""
        return _with_bounds(self.object_type, self.seqs.take(rows), self.names)

    def keep(self, cases: np.ndarray) -> Cases:
        """Only the cases whose mask in ``cases`` (one bool per case) is true, with all their events."""
        return self.take(np.flatnonzero(np.repeat(cases, self.ends - self.starts)))

    def ids(self, store: Store) -> pa.Array:
        """The object id of every case, in case order."""
        rows = store.query("SELECT code, id FROM object WHERE type = $t ORDER BY code", {"t": self.object_type})
        known = rows.column("code").to_numpy()
        if not known.size:
            return pa.array([], pa.string())
        return rows.column("id").combine_chunks().take(pa.array(np.searchsorted(known, self.seqs.actor_code)))


def load_cases(store: Store, object_type: str, *, start: dt.datetime | None = None,
               end: dt.datetime | None = None) -> Cases:
    """The cases of ``object_type`` (every object of the type with at least one event)."""
    if not isinstance(object_type, str) or not object_type:
        raise ConfigError(f"The object_type parameter must name an object type. Got {object_type!r} instead.",
                          field="object_type")
    seqs = load(store, parse_unit(f"object:{object_type}"), start=start, end=end)
    top = max(seqs.type_codes.values(), default=-1)
    names: list[str | None] = [None] * (top + 1)
    for name, code in seqs.type_codes.items():
        names[code] = name
    return _with_bounds(object_type, seqs, names)


def _with_bounds(object_type: str, seqs: Sequences, names: list[str | None]) -> Cases:
    n = seqs.n
    if n:
        new = np.empty(n, bool)
        new[0] = True
        np.not_equal(seqs.actor[1:], seqs.actor[:-1], out=new[1:])
        starts = np.flatnonzero(new)
    else:
        starts = np.zeros(0, np.int64)
    ends = np.append(starts[1:], n).astype(np.int64) if starts.size else np.zeros(0, np.int64)
    return Cases(object_type, seqs, starts, ends, names)


def _hashes(c: Cases) -> tuple[np.ndarray, np.ndarray]:
    """Two polynomial hashes of every case's activity sequence (uint64 arithmetic wraps)."""
    n = c.seqs.n
    position = np.arange(n) - np.repeat(c.starts, c.ends - c.starts)
    longest = int((c.ends - c.starts).max()) if c.n_cases else 0
    out = []
    for base in (_P1, _P2):
        powers = np.ones(max(longest, 1), np.uint64)
        with np.errstate(over="ignore"):
            if longest > 1:
                powers[1:] = base
                powers = np.cumprod(powers, dtype=np.uint64)
            terms = (c.activity.astype(np.uint64) + np.uint64(1)) * powers[position]
        out.append(np.add.reduceat(terms, c.starts) if n else np.zeros(0, np.uint64))
    return out[0], out[1]


def group_variants(c: Cases) -> tuple[np.ndarray, np.ndarray]:
    """(variant index of every case, first case of every variant), variants in order of first case."""
    if c.n_cases == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    h1, h2 = _hashes(c)
    with np.errstate(over="ignore"):  # one 64-bit key of both hashes and the length (collisions verified below)
        key = h1 ^ (h2 * np.uint64(0xBF58476D1CE4E5B9)) ^ ((c.ends - c.starts).astype(np.uint64) << np.uint64(40))
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    # check every case against its group's first case, element by element
    rep = first[inverse]
    lengths = c.ends - c.starts
    offsets = np.arange(c.seqs.n) - np.repeat(c.starts, lengths)
    mine = c.activity
    theirs = c.activity[np.repeat(c.starts[rep], lengths) + offsets]
    if not np.array_equal(mine, theirs):  # a hash collision: group by exact tuples instead
        seqs = [tuple(c.activity[lo:hi].tolist()) for lo, hi in zip(c.starts, c.ends)]
        index: dict[tuple, int] = {}
        inverse = np.array([index.setdefault(s, len(index)) for s in seqs], np.int64)
        first = np.array([seqs.index(s) for s in index], np.int64)
    return inverse.ravel().astype(np.int64), first


def event_values(store: Store, events: np.ndarray, name: str) -> pa.Array:
    """The event attribute ``name`` (as text, ``None`` where absent) of the events with codes ``events``."""
    table = store.query("SELECT code, json_extract_string(attributes, $p) AS v FROM event "
                        "WHERE json_extract_string(attributes, $p) IS NOT NULL ORDER BY code", {"p": "$." + name})
    return _lookup(table, events)


def case_values(store: Store, object_type: str, codes: np.ndarray, name: str) -> pa.Array:
    """The attribute ``name`` (as text, ``None`` where absent) of the objects with codes ``codes``."""
    table = store.query("SELECT code, json_extract_string(attributes, $p) AS v FROM object "
                        "WHERE type = $t AND json_extract_string(attributes, $p) IS NOT NULL ORDER BY code",
                        {"p": "$." + name, "t": object_type})
    return _lookup(table, codes)


def _lookup(table: pa.Table, codes: np.ndarray) -> pa.Array:
    known = table.column("code").to_numpy()
    values = table.column("v").combine_chunks()
    if not known.size:
        return pa.nulls(codes.size, pa.string())
    at = np.minimum(np.searchsorted(known, codes), known.size - 1)
    found = known[at] == codes
    return pc.if_else(pa.array(found), values.take(pa.array(at)), pa.scalar(None, pa.string()))

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

from ..errors import ConfigError
from ..store import Store
from ..journeys._units import Sequences, load, parse_unit

__all__ = ["Cases", "load_cases"]


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
    n = seqs.n
    if n:
        new = np.empty(n, bool)
        new[0] = True
        np.not_equal(seqs.actor[1:], seqs.actor[:-1], out=new[1:])
        starts = np.flatnonzero(new)
    else:
        starts = np.zeros(0, np.int64)
    ends = np.append(starts[1:], n).astype(np.int64) if starts.size else np.zeros(0, np.int64)
    top = max(seqs.type_codes.values(), default=-1)
    names: list[str | None] = [None] * (top + 1)
    for name, code in seqs.type_codes.items():
        names[code] = name
    return Cases(object_type, seqs, starts, ends, names)

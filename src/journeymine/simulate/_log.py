"""Collect generated events, objects and relations column-wise and turn them into one store Batch.

Each ``add`` call brings many events of one type at once. ``batch()`` numbers them in the order they were
added: that is the load order, so ties in time are broken by the order of the ``add`` calls, then row,
the same in every run. Event ids are ``E`` + chunk + number, so they never need hashing.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from ..store import Batch

__all__ = ["EventLog", "pick"]

Ids = pa.Array  # a string array, null where an event has no link of that type


def _json(attrs: dict[str, object], n: int) -> pa.Array:
    if not attrs:
        return pa.nulls(n, pa.string())
    cols = {}
    for key, value in attrs.items():
        if isinstance(value, (pa.Array, pa.ChunkedArray)):
            cols[key] = pl.from_arrow(value)
        elif isinstance(value, np.ndarray):
            cols[key] = pl.Series(key, value)
        else:
            cols[key] = pl.repeat(value, n, eager=True)
        cols[key] = cols[key].alias(key)
    frame = pl.DataFrame(list(cols.values()))
    return frame.select(pl.struct(pl.all()).struct.json_encode()).to_series().to_arrow().cast(pa.string())


class EventLog:
    def __init__(self, chunk: int, horizon: int):
        self.chunk = chunk
        self.horizon = horizon  # events at or after it (µs) have not happened yet when the data is taken
        self._events: list[tuple[str, np.ndarray, pa.Array]] = []
        self._kept: list[np.ndarray] = []
        self._links: list[tuple[int, np.ndarray | None, str, Ids, str | None]] = []  # (part, rows, type, ids, qualifier)
        self._objects: list[pa.Table] = []
        self._relations: list[pa.Table] = []

    def add(self, type: str, time: np.ndarray, links: dict[str, Ids], attrs: dict[str, object] | None = None,
            qualifiers: dict[str, str] | None = None) -> None:
        """``len(time)`` events of ``type`` at ``time`` (µs), each linked to the object of every type in
        ``links`` whose id is not null, with JSON attributes from the columns in ``attrs``."""
        time = np.asarray(time, np.int64)
        if time.size == 0:
            return
        part = len(self._events)
        self._events.append((type, time, _json(attrs or {}, time.size)))
        self._kept.append(time < self.horizon)
        for object_type, object_ids in links.items():
            if len(object_ids) != time.size:
                raise ValueError(f"{type}: {object_type} ids have {len(object_ids)} rows for {time.size} events")
            self._links.append((part, None, object_type, object_ids, (qualifiers or {}).get(object_type)))

    def link_rows(self, rows: np.ndarray, object_type: str, object_ids: Ids) -> None:
        """More links for the events of the last ``add``: event ``rows[i]`` to ``object_ids[i]``."""
        if len(object_ids):
            self._links.append((len(self._events) - 1, np.asarray(rows, np.int64), object_type, object_ids, None))

    def objects(self, type: str, object_ids: pa.Array, attrs: dict[str, object] | None = None) -> None:
        if len(object_ids):
            self._objects.append(pa.table({"type": pa.repeat(pa.scalar(type), len(object_ids)),
                                           "id": object_ids, "attributes": _json(attrs or {}, len(object_ids))}))

    def relate(self, source_type: str, source_ids: pa.Array, target_type: str, target_ids: pa.Array,
               qualifier: str) -> None:
        n = len(source_ids)
        if n:
            self._relations.append(pa.table({
                "source_type": pa.repeat(pa.scalar(source_type), n), "source_id": source_ids,
                "target_type": pa.repeat(pa.scalar(target_type), n), "target_id": target_ids,
                "qualifier": pa.repeat(pa.scalar(qualifier), n)}))

    @property
    def size(self) -> int:
        return sum(t.size for _, t, _ in self._events)

    def batch(self) -> Batch:
        """All events in the order they were added (ties in time therefore keep add order, then row),
        without those at or after the horizon, with their links, objects and relations."""
        objects = pa.concat_tables(self._objects) if self._objects else None
        relations = pa.concat_tables(self._relations) if self._relations else None
        if not self._events:
            return Batch(objects=objects, object_objects=relations)
        sizes = np.array([t.size for _, t, _ in self._events], np.int64)
        starts = np.r_[0, np.cumsum(sizes)[:-1]]
        kept = np.concatenate(self._kept)
        rank = np.cumsum(kept) - 1
        rank[~kept] = -1
        mask = pa.array(kept)
        m = int(kept.sum())
        time = np.concatenate([t for _, t, _ in self._events])[kept]
        names = pa.array([name for name, _, _ in self._events])
        types = names.take(pa.array(np.repeat(np.arange(sizes.size), sizes)[kept]))
        attrs = pa.chunked_array([a for _, _, a in self._events], pa.string()).combine_chunks().filter(mask)
        ident = pc.binary_join_element_wise(f"E{self.chunk}-", pc.cast(pa.array(np.arange(m)), pa.string()), "")
        events = pa.table({
            "ord": pa.array(np.arange(m, dtype=np.int64)), "id": ident, "key": pa.nulls(m, pa.string()),
            "type": types, "time": pa.array(time.astype("datetime64[us]")), "attributes": attrs})
        links = []
        for p, given, object_type, object_ids, qualifier in self._links:
            valid = np.asarray(pc.is_valid(object_ids).to_numpy(zero_copy_only=False), bool)
            rows = np.arange(len(object_ids)) if given is None else given
            ords = rank[starts[p] + rows]
            valid &= ords >= 0  # links of events beyond the horizon go with them
            ords = ords[valid]
            links.append(pa.table({
                "event_ord": pa.array(ords), "object_type": pa.repeat(pa.scalar(object_type), ords.size),
                "object_id": object_ids.filter(pa.array(valid)),
                "qualifier": pa.repeat(pa.scalar(qualifier, pa.string()), ords.size)}))
        return Batch(events=events, event_objects=pa.concat_tables(links) if links else None, objects=objects,
                     object_objects=relations)


def pick(vocabulary, codes: np.ndarray) -> pa.Array:
    """``vocabulary[codes]`` as an Arrow string array (fast: no Python strings per row)."""
    return pa.array(list(vocabulary), pa.string()).take(pa.array(np.asarray(codes, np.int64)))

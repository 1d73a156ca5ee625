"""What ingest hands to the store: a :class:`Batch` of Arrow tables, and the :class:`ImportReport` back.

``Store.load`` is the only way records get into a store. Importers turn any source into a stream of
batches; the store dedupes, assigns integer codes, resolves object references and writes everything of
one import in one transaction.

Column contract (Arrow types; every column shown is required in a table that is given, ``None`` means
the table is absent from the batch):

``events``
    ``ord`` int64 — position of the event in this import, unique across all batches of the import;
    ``id`` string — the event id from the source, or null when the format has none;
    ``key`` string — content key used when ``id`` is null (the store derives the id as
    ``md5(key)`` plus the occurrence number of that key in this import, so re-importing the same file
    gives the same ids); ``type`` string (activity); ``time`` timestamp[us] (UTC, no zone);
    ``attributes`` string (a JSON object, or null).
``objects``
    ``type`` string, ``id`` string, ``attributes`` string (JSON object or null). An object already in
    the store (same type and id) is kept as it is.
``event_objects``
    ``event_ord`` int64 (the ``ord`` of an event of this import), ``object_type`` string (null means
    "look the id up": the store resolves it when exactly one object has that id), ``object_id``
    string, ``qualifier`` string (nullable). A link to an object that exists neither in the batch nor in
    the store is refused into the quarantine.
``object_objects``
    ``source_type``, ``source_id``, ``target_type``, ``target_id`` (types nullable as above),
    ``qualifier``.
``object_changes``
    ``object_type`` (nullable as above), ``object_id``, ``time`` timestamp[us], ``field``, ``value``
    string (JSON scalar).
``quarantine``
    ``position`` string (where in the source: "line 12", "trace 3 event 5"), ``reason`` string,
    ``record`` string (the refused record as the source had it, as JSON or text).
"""

from __future__ import annotations

import dataclasses
import json

import pyarrow as pa

__all__ = ["Batch", "ImportReport", "SCHEMAS"]

_TS = pa.timestamp("us")

SCHEMAS: dict[str, pa.Schema] = {
    "events": pa.schema(
        [
            ("ord", pa.int64()),
            ("id", pa.string()),
            ("key", pa.string()),
            ("type", pa.string()),
            ("time", _TS),
            ("attributes", pa.string()),
        ]
    ),
    "objects": pa.schema([("type", pa.string()), ("id", pa.string()), ("attributes", pa.string())]),
    "event_objects": pa.schema(
        [
            ("event_ord", pa.int64()),
            ("object_type", pa.string()),
            ("object_id", pa.string()),
            ("qualifier", pa.string()),
        ]
    ),
    "object_objects": pa.schema(
        [
            ("source_type", pa.string()),
            ("source_id", pa.string()),
            ("target_type", pa.string()),
            ("target_id", pa.string()),
            ("qualifier", pa.string()),
        ]
    ),
    "object_changes": pa.schema(
        [
            ("object_type", pa.string()),
            ("object_id", pa.string()),
            ("time", _TS),
            ("field", pa.string()),
            ("value", pa.string()),
        ]
    ),
    "quarantine": pa.schema([("position", pa.string()), ("reason", pa.string()), ("record", pa.string())]),
}


def _conform(name: str, table: pa.Table | None) -> pa.Table | None:
    if table is None:
        return None
    schema = SCHEMAS[name]
    missing = [f.name for f in schema if f.name not in table.column_names]
    if missing:
        raise ValueError(f"Batch.{name} lacks column(s) {missing}; it has {table.column_names}")
    return table.select(schema.names).cast(schema)


@dataclasses.dataclass(frozen=True)
class Batch:
    """One chunk of an import. Tables are cast to :data:`SCHEMAS` on construction."""

    events: pa.Table | None = None
    objects: pa.Table | None = None
    event_objects: pa.Table | None = None
    object_objects: pa.Table | None = None
    object_changes: pa.Table | None = None
    quarantine: pa.Table | None = None

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            object.__setattr__(self, field.name, _conform(field.name, getattr(self, field.name)))

    @staticmethod
    def refused(rows: list[tuple[str, str, str]]) -> pa.Table:
        """A quarantine table from ``(position, reason, record)`` tuples."""
        cols = list(zip(*rows)) if rows else ([], [], [])
        return pa.table(
            {name: pa.array(list(col), pa.string()) for name, col in zip(SCHEMAS["quarantine"].names, cols)}
        )


@dataclasses.dataclass(frozen=True)
class ImportReport:
    """What one import took and what it refused. Also stored as a row of the store's ``import_run``."""

    run_id: int
    source: str
    format: str
    events_imported: int
    objects_imported: int
    links_imported: int
    refused: int
    duplicates_skipped: int
    seconds: float

    def to_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

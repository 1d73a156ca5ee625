"""OCEL 2.0 SQLite (``.sqlite``/``.sqlite3``/``.db``), read with the stdlib ``sqlite3`` module, read-only.

Tables read (the OCEL 2.0 relational layout):

- ``event(ocel_id, ocel_type)``, ``event_map_type(ocel_type, ocel_type_map)`` and one
  ``event_<map>(ocel_id, ocel_time, <attributes>..)`` per event type;
- ``object(ocel_id, ocel_type)``, ``object_map_type(ocel_type, ocel_type_map)`` and one
  ``object_<map>(ocel_id, ocel_time, ocel_changed_field, <attributes>..)`` per object type: rows with a
  null ``ocel_changed_field`` (or tables without that column) hold initial values, every other row the
  new value of the one attribute it names, at ``ocel_time``;
- ``event_object(ocel_event_id, ocel_object_id, ocel_qualifier)`` and
  ``object_object(ocel_source_id, ocel_target_id, ocel_qualifier)``.

Attribute kinds come from the declared column types (``INTEGER``, ``REAL``, ``BOOLEAN``,
``TIMESTAMP``, else text). Events are read in ``event`` table order. A database without the six fixed
tables is not OCEL 2.0 (FormatError). Positions name the table and row: ``event 'e3' (event row 3)``.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from ..errors import FormatError
from ..store import Batch
from ._ocel import SQLITE_MAGIC, _Builder

__all__ = ["sqlite_batches"]

REQUIRED = ("event", "event_map_type", "event_object", "object", "object_map_type", "object_object")
_FIXED = {"ocel_id", "ocel_time", "ocel_changed_field"}


def _connect(path: Path) -> sqlite3.Connection:
    with open(path, "rb") as fh:
        head = fh.read(len(SQLITE_MAGIC))
    if head[:2] == b"\x1f\x8b":
        raise FormatError(f"{path.name} is gzip-compressed; gunzip an OCEL 2.0 SQLite file before importing it",
                          path=str(path))
    if head != SQLITE_MAGIC:
        raise FormatError(f"{path.name} is not an SQLite database", path=str(path))
    try:
        con = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise FormatError(f"{path.name} cannot be opened as an SQLite database: {exc}", path=str(path)) from exc
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
    except sqlite3.Error as exc:
        con.close()
        raise FormatError(f"{path.name} is not a readable SQLite database: {exc}", path=str(path)) from exc
    missing = [t for t in REQUIRED if t not in tables]
    if missing:
        con.close()
        raise FormatError(f"{path.name} is an SQLite database but not OCEL 2.0: it lacks table(s) {missing}",
                          path=str(path))
    return con


def sqlite_batches(path: Path, b: _Builder, batch_size: int) -> Iterator[Batch]:
    """Batches of an OCEL 2.0 SQLite file. The file is checked before the first batch is asked for."""
    con = _connect(path)

    def run() -> Iterator[Batch]:
        try:
            yield from _read(con, path, b, batch_size)
        except sqlite3.Error as exc:
            raise FormatError(f"{path.name}: reading the OCEL 2.0 tables failed: {exc}", path=str(path)) from exc
        finally:
            con.close()

    return run()


def _columns(con: sqlite3.Connection, table: str) -> list[tuple[str, str]] | None:
    """(name, declared type) of a table's columns; None when the table does not exist."""
    cols = [(r[1], r[2] or "") for r in con.execute(f"PRAGMA table_info({_quote(table)})")]
    return cols or None


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _rows(con: sqlite3.Connection, table: str) -> Iterator[dict[str, object]]:
    cur = con.execute(f"SELECT * FROM {_quote(table)}")
    names = [d[0] for d in cur.description]
    for row in cur:
        yield dict(zip(names, row))


def _read(con: sqlite3.Connection, path: Path, b: _Builder, batch_size: int) -> Iterator[Batch]:
    maps = {}
    for scope in ("object", "event"):
        maps[scope] = {t: m for t, m in con.execute(f"SELECT ocel_type, ocel_type_map FROM {scope}_map_type")}
        for type_name, m in maps[scope].items():
            cols = _columns(con, f"{scope}_{m}")
            if cols is not None:
                b.declare(scope, type_name, [(c, t) for c, t in cols if c not in _FIXED])

    # objects: initial rows and change rows of every object_<map> table, by (type, id)
    values: dict[tuple[str, str], list] = defaultdict(list)
    for otype, m in maps["object"].items():
        table = f"object_{m}"
        cols = _columns(con, table)
        if cols is None:
            continue
        attrs = [c for c, _ in cols if c not in _FIXED]
        for n, row in enumerate(_rows(con, table), 1):
            key = (otype, row.get("ocel_id"))
            changed = row.get("ocel_changed_field")
            if changed is None:
                values[key] += [(c, None, row[c], True) for c in attrs if row[c] is not None]
            elif changed in attrs:
                values[key].append((changed, row.get("ocel_time"), row[changed], False))
            else:
                b.refuse(f"object {row.get('ocel_id')!r} ({table} row {n})",
                         f"changed field {changed!r} is not a column of {table} (column {table}.ocel_changed_field)",
                         json.dumps(row, default=str))
    relations: dict[object, list] = defaultdict(list)
    o2o = con.execute("SELECT ocel_source_id, ocel_target_id, ocel_qualifier FROM object_object")
    for source, target, qualifier in o2o:
        relations[source].append((target, qualifier))
    labels = {"id": "column object.ocel_id", "type": "column object.ocel_type", "name": "column name",
              "relation": "column object_object.ocel_target_id"}
    for n, (oid, otype) in enumerate(con.execute("SELECT ocel_id, ocel_type FROM object"), 1):
        table = f"object_{maps['object'].get(otype, '?')}"
        b.object(oid, otype, values.pop((otype, oid), []), relations.pop(oid, []),
                 position=f"object {oid!r} (object row {n})" if oid else f"object (object row {n})",
                 record=lambda oid=oid, otype=otype: json.dumps({"ocel_id": oid, "ocel_type": otype}, default=str),
                 labels=labels | {"attribute_time": f"column {table}.ocel_time"})
        if b.pending_objects >= batch_size:
            yield b.flush(events=False)
    for (otype, oid), vals in values.items():  # attribute rows of objects missing from `object`
        b.refuse(f"object {oid!r} (object_{maps['object'][otype]})",
                 f"unknown object reference {oid!r} of type {otype!r} (column object_{maps['object'][otype]}.ocel_id)",
                 json.dumps({"ocel_id": oid, "values": vals}, default=str))
    for source, rels in relations.items():  # relationships of objects missing from `object`: the store decides
        for target, qualifier in rels:
            b.relation(source, target, qualifier, position=f"object_object row for source {source!r}")

    # events: time and attributes from event_<map>, links from event_object
    details: dict[object, tuple[dict, str]] = {}
    for etype, m in maps["event"].items():
        table = f"event_{m}"
        if _columns(con, table) is None:
            continue
        for row in _rows(con, table):
            details.setdefault(row.get("ocel_id"), (row, table))
    links: dict[object, list] = defaultdict(list)
    for eid, oid, qualifier in con.execute("SELECT ocel_event_id, ocel_object_id, ocel_qualifier FROM event_object"):
        links[eid].append((oid, qualifier))
    base = {"id": "column event.ocel_id", "type": "column event.ocel_type",
            "relation": "column event_object.ocel_object_id"}
    for n, (eid, etype) in enumerate(con.execute("SELECT ocel_id, ocel_type FROM event"), 1):
        row, table = details.pop(eid, (None, None))
        if row is None:
            table = f"event_{maps['event'].get(etype, '?')}"
            when, attributes, where = None, [], f"no row in table {table}"
        else:
            when = row.get("ocel_time")
            attributes = [(c, v) for c, v in row.items() if c not in _FIXED and v is not None]
            where = f"column {table}.ocel_time"
        rels = links.pop(eid, [])
        b.event(eid, etype, when, attributes, rels,
                position=f"event {eid!r} (event row {n})" if eid else f"event (event row {n})",
                record=lambda eid=eid, etype=etype, when=when, attributes=attributes, rels=rels: json.dumps(
                    {"ocel_id": eid, "ocel_type": etype, "ocel_time": when, "attributes": dict(attributes),
                     "objects": rels}, default=str),
                labels=base | {"time": where})
        if b.pending_events >= batch_size:
            yield b.flush(events=True)
    for eid, rels in links.items():
        b.refuse(f"event_object rows of event {eid!r}",
                 f"unknown event reference {eid!r} (column event_object.ocel_event_id)",
                 json.dumps({"ocel_event_id": eid, "objects": rels}, default=str))
    yield b.flush(events=True, relations=True)

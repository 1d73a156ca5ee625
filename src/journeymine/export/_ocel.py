"""Writing a store as an OCEL 2.0 log: JSON or SQLite (:func:`write_ocel`).

Reads the store only through :meth:`Store.query` (portable SQL), so a read-only store can be exported.
The SQLite file is written with the stdlib ``sqlite3`` module (OCEL 2.0 SQLite is a file format).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import sqlite3
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ..errors import ExportError

if TYPE_CHECKING:
    from ..store import Store

log = logging.getLogger(__name__)

__all__ = ["write_ocel"]

FORMATS = ("json", "sqlite")
_SUFFIXES = {".json": "json", ".jsonocel": "json", ".sqlite": "sqlite", ".sqlite3": "sqlite", ".db": "sqlite"}
_EPOCH_JSON = "1970-01-01T00:00:00Z"
_EPOCH_SQL = "1970-01-01 00:00:00"
_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?$")
_SQL_TYPES = {"string": "TEXT", "integer": "INTEGER", "float": "REAL", "boolean": "BOOLEAN", "time": "TIMESTAMP"}
_FIXED = {"ocel_id", "ocel_time", "ocel_changed_field"}


# -- reading the store ------------------------------------------------------------------------------
def _kind(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str) and _ISO.match(value):
        return "time"
    return "string"


def _merge(kinds: set[str]) -> str:
    if len(kinds) == 1:
        return next(iter(kinds))
    if kinds == {"integer", "float"}:
        return "float"
    return "string"


def _cast(value: object, kind: str) -> object:
    """A stored JSON value as the declared kind (``time`` stays ISO text; the writers format it)."""
    if kind == "string":
        return value if isinstance(value, str) else json.dumps(value)
    if kind == "float":
        return float(value)  # type: ignore[arg-type]
    return value



def _grouped(store: Store, sql: str, row) -> tuple[dict[int, list], int]:
    """Rows of a query grouped by their first column (a code); ``row`` makes an entry of the others.
    Returns the groups and the number of rows."""
    table = store.query(sql)
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    groups: dict[int, list] = defaultdict(list)
    for key, *rest in zip(*columns):
        groups[key].append(row(*rest))
    return groups, table.num_rows

class _Log:
    """Everything of the store that OCEL 2.0 holds, read with portable SQL and grouped for writing."""

    def __init__(self, store: Store):
        objects = store.query("SELECT code, type, id, attributes FROM object ORDER BY code").to_pydict()
        shared = set(store.query("SELECT id FROM object GROUP BY id HAVING count(*) > 1").column(0).to_pylist())
        self.object_type: dict[int, str] = dict(zip(objects["code"], objects["type"]))
        self.object_id: dict[int, str] = {
            code: f"{otype}:{oid}" if oid in shared else oid
            for code, otype, oid in zip(objects["code"], objects["type"], objects["id"])
        }
        self.prefixed = sum(1 for oid in objects["id"] if oid in shared)
        if len(set(self.object_id.values())) != len(self.object_id):
            taken = [oid for oid in self.object_id.values() if ":" in oid]
            raise ExportError(
                f"Object ids shared by several types are written as 'type:id', but some of those ids "
                f"(e.g. {sorted(taken)[:3]}) are already used by other objects; OCEL 2.0 needs unique object ids"
            )
        if self.prefixed:
            log.warning("%d objects share their id with an object of another type; written as 'type:id'",
                        self.prefixed)
        self.object_codes: list[int] = objects["code"]
        self.object_attrs: dict[int, dict] = {
            code: json.loads(a) for code, a in zip(objects["code"], objects["attributes"]) if a
        }
        self.changes, self.n_changes = _grouped(
            store, "SELECT object_code, time, field, value FROM object_change ORDER BY object_code, time, field",
            lambda time, field, value: (time, field, json.loads(value) if value is not None else None),
        )
        self.o2o, self.n_o2o = _grouped(
            store, "SELECT source_code, target_code, qualifier FROM object_object ORDER BY source_code, target_code, qualifier",
            lambda target, qualifier: (target, qualifier or ""),
        )
        self.events = store.query("SELECT code, id, type, time, attributes FROM event ORDER BY code").to_pydict()
        self.e2o, self.n_e2o = _grouped(
            store, "SELECT event_code, object_code, qualifier FROM event_object ORDER BY event_code, object_code, qualifier",
            lambda obj, qualifier: (obj, qualifier or ""),
        )
        self.event_attrs: list[dict] = [json.loads(a) if a else {} for a in self.events["attributes"]]
        extra: dict[str, dict[str, set]] = defaultdict(dict)
        for code, rows in self.changes.items():
            for _, field, value in rows:
                extra[self.object_type[code]].setdefault(field, set()).add(_kind(value))
        self.object_decl = self._declare(((self.object_type[c], a) for c, a in self.object_attrs.items()), extra)
        for otype in set(self.object_type.values()):
            self.object_decl.setdefault(otype, {})
        self.event_decl = self._declare(zip(self.events["type"], self.event_attrs))
        for etype in set(self.events["type"]):
            self.event_decl.setdefault(etype, {})

    @staticmethod
    def _declare(rows: Iterable[tuple[str, dict]], extra: dict | None = None) -> dict[str, dict[str, str]]:
        """Per type, each attribute's kind from the values it has (ints and floats: float; mixed: string)."""
        seen: dict[str, dict[str, set]] = defaultdict(dict)
        for type_name, attrs in rows:
            for name, value in attrs.items():
                seen[type_name].setdefault(name, set()).add(_kind(value))
        for type_name, names in (extra or {}).items():
            for name, kinds in names.items():
                seen[type_name].setdefault(name, set()).update(kinds)
        return {t: {n: _merge(k - {None} or {"string"}) for n, k in names.items()} for t, names in seen.items()}


def _json_time(t: dt.datetime) -> str:
    return t.isoformat() + "Z"


def _sql_time(t: dt.datetime) -> str:
    return t.isoformat(sep=" ")


def _iso_value(text: str, sql: bool) -> str:
    return text.replace("T", " ") if sql else text + "Z"


# -- JSON -------------------------------------------------------------------------------------------
def _json_value(value: object, kind: str) -> object:
    value = _cast(value, kind)
    return _iso_value(value, False) if kind == "time" and isinstance(value, str) else value


def _write_json(lg: _Log, fh: TextIO) -> None:
    def types(decl: dict[str, dict[str, str]]) -> list[dict]:
        return [{"name": t, "attributes": [{"name": n, "type": k} for n, k in sorted(decl[t].items())]}
                for t in sorted(decl)]

    dump = lambda obj: json.dumps(obj, ensure_ascii=False)  # noqa: E731
    fh.write('{"objectTypes": ' + dump(types(lg.object_decl)) + ",\n")
    fh.write('"eventTypes": ' + dump(types(lg.event_decl)) + ',\n"objects": [')
    for n, code in enumerate(lg.object_codes):
        otype = lg.object_type[code]
        decl = lg.object_decl[otype]
        attributes = [{"name": k, "time": _EPOCH_JSON, "value": _json_value(v, decl[k])}
                      for k, v in lg.object_attrs.get(code, {}).items() if v is not None]
        attributes += [{"name": f, "time": _json_time(t), "value": _json_value(v, decl[f])}
                       for t, f, v in lg.changes.get(code, []) if v is not None]
        obj = {"id": lg.object_id[code], "type": otype, "attributes": attributes,
               "relationships": [{"objectId": lg.object_id[t], "qualifier": q} for t, q in lg.o2o.get(code, [])]}
        fh.write(("\n" if n == 0 else ",\n") + dump(obj))
    fh.write('\n],\n"events": [')
    ev = lg.events
    for n, (code, eid, etype, time) in enumerate(zip(ev["code"], ev["id"], ev["type"], ev["time"])):
        decl = lg.event_decl[etype]
        event = {
            "id": eid, "type": etype, "time": _json_time(time),
            "attributes": [{"name": k, "value": _json_value(v, decl[k])}
                           for k, v in lg.event_attrs[n].items() if v is not None],
            "relationships": [{"objectId": lg.object_id[o], "qualifier": q} for o, q in lg.e2o.get(code, [])],
        }
        fh.write(("\n" if n == 0 else ",\n") + dump(event))
    fh.write("\n]}\n")


# -- SQLite -----------------------------------------------------------------------------------------
def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _map_names(type_names: Iterable[str]) -> dict[str, str]:
    """Table-name suffixes: the type name's ASCII letters and digits, made unique (case-insensitively)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for t in sorted(type_names):
        base = re.sub(r"[^0-9A-Za-z]", "", t) or "Type"
        name, n = base, 1
        while name.lower() in used:
            n += 1
            name = f"{base}{n}"
        used.add(name.lower())
        out[t] = name
    return out


def _columns(scope: str, type_name: str, decl: dict[str, str]) -> list[str]:
    names = sorted(decl)
    lower = [n.lower() for n in names]
    clash = [n for n in names if n.lower() in _FIXED or lower.count(n.lower()) > 1]
    if clash:
        raise ExportError(
            f"The {scope} type {type_name!r} has attribute(s) {clash} that cannot be SQLite columns next to "
            f"{sorted(_FIXED)} (SQLite column names ignore case); export it as OCEL JSON instead"
        )
    return names


def _sql_value(value: object, kind: str) -> object:
    if value is None:
        return None
    value = _cast(value, kind)
    if kind == "time" and isinstance(value, str):
        return _iso_value(value, True)
    if isinstance(value, bool):
        return int(value)
    return value


def _write_sqlite(lg: _Log, con: sqlite3.Connection) -> None:
    emap, omap = _map_names(lg.event_decl), _map_names(lg.object_decl)
    con.executescript(
        """
        CREATE TABLE event_map_type (ocel_type TEXT PRIMARY KEY, ocel_type_map TEXT);
        CREATE TABLE object_map_type (ocel_type TEXT PRIMARY KEY, ocel_type_map TEXT);
        CREATE TABLE event (ocel_id TEXT PRIMARY KEY, ocel_type TEXT REFERENCES event_map_type (ocel_type));
        CREATE TABLE object (ocel_id TEXT PRIMARY KEY, ocel_type TEXT REFERENCES object_map_type (ocel_type));
        CREATE TABLE event_object (
            ocel_event_id TEXT REFERENCES event (ocel_id), ocel_object_id TEXT REFERENCES object (ocel_id),
            ocel_qualifier TEXT, PRIMARY KEY (ocel_event_id, ocel_object_id, ocel_qualifier));
        CREATE TABLE object_object (
            ocel_source_id TEXT REFERENCES object (ocel_id), ocel_target_id TEXT REFERENCES object (ocel_id),
            ocel_qualifier TEXT, PRIMARY KEY (ocel_source_id, ocel_target_id, ocel_qualifier));
        """
    )
    con.executemany("INSERT INTO event_map_type VALUES (?, ?)", sorted(emap.items()))
    con.executemany("INSERT INTO object_map_type VALUES (?, ?)", sorted(omap.items()))
    # objects: one initial row (at the epoch) and one row per change
    for otype, m in omap.items():
        decl = lg.object_decl[otype]
        cols = _columns("object", otype, decl)
        defs = "".join(f", {_quote(c)} {_SQL_TYPES[decl[c]]}" for c in cols)
        con.execute(f"CREATE TABLE {_quote('object_' + m)} (ocel_id TEXT REFERENCES object (ocel_id), "
                    f"ocel_time TIMESTAMP, ocel_changed_field TEXT{defs})")
    rows_by_type: dict[str, list[tuple]] = defaultdict(list)
    for code in lg.object_codes:
        otype = lg.object_type[code]
        decl = lg.object_decl[otype]
        cols = sorted(decl)
        attrs = lg.object_attrs.get(code, {})
        oid = lg.object_id[code]
        rows_by_type[otype].append((oid, _EPOCH_SQL, None, *(_sql_value(attrs.get(c), decl[c]) for c in cols)))
        for t, f, v in lg.changes.get(code, []):
            values = (_sql_value(v, decl[c]) if c == f else None for c in cols)
            rows_by_type[otype].append((oid, _sql_time(t), f, *values))
    for otype, rows in rows_by_type.items():
        marks = ", ".join("?" * (3 + len(lg.object_decl[otype])))
        con.executemany(f"INSERT INTO {_quote('object_' + omap[otype])} VALUES ({marks})", rows)
    con.executemany("INSERT INTO object VALUES (?, ?)",
                    [(lg.object_id[c], lg.object_type[c]) for c in lg.object_codes])
    con.executemany("INSERT INTO object_object VALUES (?, ?, ?)",
                    [(lg.object_id[s], lg.object_id[t], q) for s, rel in lg.o2o.items() for t, q in rel])
    # events: event, event_<map> and event_object
    ev = lg.events
    for etype, m in emap.items():
        decl = lg.event_decl[etype]
        defs = "".join(f", {_quote(c)} {_SQL_TYPES[decl[c]]}" for c in _columns("event", etype, decl))
        con.execute(f"CREATE TABLE {_quote('event_' + m)} (ocel_id TEXT PRIMARY KEY REFERENCES event (ocel_id), "
                    f"ocel_time TIMESTAMP{defs})")
    per_type: dict[str, list[tuple]] = defaultdict(list)
    for n, (eid, etype, time) in enumerate(zip(ev["id"], ev["type"], ev["time"])):
        decl = lg.event_decl[etype]
        attrs = lg.event_attrs[n]
        per_type[etype].append((eid, _sql_time(time), *(_sql_value(attrs.get(c), decl[c]) for c in sorted(decl))))
    for etype, rows in per_type.items():
        marks = ", ".join("?" * (2 + len(lg.event_decl[etype])))
        con.executemany(f"INSERT INTO {_quote('event_' + emap[etype])} VALUES ({marks})", rows)
    con.executemany("INSERT INTO event VALUES (?, ?)", zip(ev["id"], ev["type"]))
    con.executemany("INSERT INTO event_object VALUES (?, ?, ?)",
                    [(eid, lg.object_id[o], q)
                     for code, eid in zip(ev["code"], ev["id"]) for o, q in lg.e2o.get(code, [])])


# -- entry point ------------------------------------------------------------------------------------
def _format(path: Path, format: str | None) -> str:
    if format is not None:
        fmt = format.lower().removeprefix("ocel-")
        if fmt not in FORMATS:
            raise ExportError(f"The format parameter of write_ocel must be one of {list(FORMATS)}. "
                              f"Got {format!r} instead.")
        return fmt
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise ExportError(
            f"The OCEL format of {str(path)!r} cannot be told from its suffix; name it .jsonocel/.json or "
            f".sqlite, or pass format= one of {list(FORMATS)} (OCEL XML export is not supported)"
        )
    return fmt


def write_ocel(store: Store, path: str | os.PathLike[str], *, format: str | None = None) -> dict[str, object]:
    """Write the store as an OCEL 2.0 log, JSON or SQLite; return what was written (counts).

    ``format`` is ``"json"`` or ``"sqlite"``; ``None`` takes it from the suffix (``.json``/``.jsonocel``
    → json, ``.sqlite``/``.sqlite3``/``.db`` → sqlite). An existing file is replaced; the file is
    written under a temporary name next to it and moved into place at the end, so a failed export leaves
    no partial file.

    What is written:

    - ``objectTypes``/``eventTypes`` (SQLite: ``object_map_type``/``event_map_type`` and one
      ``object_<Type>``/``event_<Type>`` table each, the suffix being the type name's ASCII letters and
      digits, made unique) with every attribute name and its type, inferred from the stored JSON values:
      ``boolean``, ``integer``, ``float`` (integers mixed with floats), ``time`` (text of the form
      ``YYYY-MM-DDTHH:MM:SS[.ffffff]``, as :func:`read_ocel` stores time values), else ``string``
      (mixed kinds are written as text).
    - objects with their initial attributes at the epoch ``1970-01-01T00:00:00Z`` (SQLite: a row with
      null ``ocel_changed_field`` at ``1970-01-01 00:00:00``) and every object change at its time
      (SQLite: one row per change naming the field); object-object links with qualifiers.
    - events with id, type, time, typed attributes and event-object links with qualifiers.

    Times are UTC: JSON writes ``...Z``, SQLite writes ``YYYY-MM-DD HH:MM:SS[.ffffff]`` without offset
    (which :func:`read_ocel` takes as UTC). A missing qualifier is written as ``""``.

    Object ids must be unique in OCEL 2.0, but the store keys objects by (type, id): when objects of
    several types share an id, each of them is written with the id ``"<type>:<id>"`` (the links follow);
    other ids are written unchanged. If such a prefixed id is already the id of another object,
    :class:`~journeymine.errors.ExportError` is raised. Identity merges (``alias``) are not part of
    OCEL and are not written. The store is only read.
    """
    out = Path(path)
    fmt = _format(out, format)
    lg = _Log(store)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    tmp = Path(tmp_name)
    try:
        if fmt == "json":
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                _write_json(lg, fh)
        else:
            os.close(fd)
            tmp.unlink()
            con = sqlite3.connect(tmp)
            try:
                with con:
                    _write_sqlite(lg, con)
            finally:
                con.close()
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    summary = {
        "path": str(out), "format": fmt, "events": len(lg.events["id"]), "objects": len(lg.object_codes),
        "event_object_links": lg.n_e2o, "object_object_links": lg.n_o2o, "object_changes": lg.n_changes,
        "prefixed_object_ids": lg.prefixed,
    }
    log.info("wrote OCEL 2.0 %s %s: %d events, %d objects", fmt, out, summary["events"], summary["objects"])
    return summary

"""Importing OCEL 2.0 logs (XML, JSON, SQLite) into the store: :func:`read_ocel`.

The three OCEL 2.0 formats carry the same model; each reader (``_ocel_xml``, ``_ocel_json``,
``_ocel_sqlite``) walks its file and hands records to one :class:`_Builder`, which validates them,
types attribute values and cuts :class:`~journeymine.store.Batch` es for :meth:`Store.load`. The mapping
and the timestamp rule are documented on :func:`read_ocel` and in ``docs/formats/ocel.md``.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import logging
import math
import zoneinfo
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa

from ..errors import ConfigError, FormatError
from ..store import Batch, ImportReport, Store
from ._common import TS, check_source

log = logging.getLogger(__name__)

__all__ = ["read_ocel"]

FORMATS = ("xml", "json", "sqlite")
SUFFIXES = {
    ".xml": "xml", ".xmlocel": "xml", ".json": "json", ".jsonocel": "json",
    ".sqlite": "sqlite", ".sqlite3": "sqlite", ".db": "sqlite",
}
_ALIASES = {"xmlocel": "xml", "ocel-xml": "xml", "jsonocel": "json", "ocel-json": "json", "ocel-sqlite": "sqlite"}
SQLITE_MAGIC = b"SQLite format 3\x00"
BATCH_SIZE = 50_000

_EPOCH = dt.datetime(1970, 1, 1)
_US = dt.timedelta(microseconds=1)
_MISSING = object()


# -- values -----------------------------------------------------------------------------------------
def kind(declared: str | None) -> str:
    """The attribute kind (``string``, ``integer``, ``float``, ``boolean``, ``time``) of an OCEL type
    name (``"float"``) or an SQLite column type (``"REAL"``); anything unknown is ``string``."""
    t = (declared or "").strip().lower()
    if "int" in t:
        return "integer"
    if any(k in t for k in ("float", "double", "real", "numeric", "decimal", "number")):
        return "float"
    if "bool" in t:
        return "boolean"
    if "time" in t or "date" in t:
        return "time"
    return "string"


def iso(micros: int) -> str:
    """Microseconds since the epoch as ``YYYY-MM-DDTHH:MM:SS[.ffffff]`` (UTC, no zone)."""
    return (_EPOCH + dt.timedelta(microseconds=micros)).isoformat()


class _Times:
    """ISO 8601 text to microseconds since 1970-01-01 UTC: values with an offset (``Z``, ``+02:00``)
    are converted to UTC; values without one are wall time in ``zone`` (``None`` = UTC)."""

    def __init__(self, zone: dt.tzinfo | None):
        self.zone = zone
        self._cache: dict[str, int] = {}

    def __call__(self, value: object) -> int:
        text = value if isinstance(value, str) else str(value)
        hit = self._cache.get(text)
        if hit is not None:
            return hit
        d = dt.datetime.fromisoformat(text.strip())  # ValueError when unparsable
        if d.tzinfo is None and self.zone is not None:
            d = d.replace(tzinfo=self.zone)  # fold=0: the earlier reading of an ambiguous wall time
        if d.tzinfo is not None:
            d = d.astimezone(dt.UTC).replace(tzinfo=None)
        micros = (d - _EPOCH) // _US
        if len(self._cache) < 1_000_000:
            self._cache[text] = micros
        return micros


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# -- the builder ------------------------------------------------------------------------------------
class _Builder:
    """Collects validated OCEL records of one import and cuts them into Batches.

    Readers call :meth:`declare`, :meth:`object`, :meth:`event` and :meth:`refuse` in source order and
    :meth:`flush` whenever they want a batch out. Event links and object-object links are typed from the
    objects of this file (OCEL object ids are unique in a file); an id not in the file, or given to
    objects of two types, goes to the store untyped, which looks it up or refuses it.
    """

    def __init__(self, zone: dt.tzinfo | None):
        self.time = _Times(zone)
        self.declared: dict[tuple[str, str], dict[str, str]] = {}
        self.object_types: dict[str, str | None] = {}
        self.mismatched: dict[tuple[str, str, str], int] = {}
        self.ord = 0
        self.counts = {"events": 0, "objects": 0, "refused": 0}
        self._reset()
        self._o2o: list[tuple[str, str, str | None]] = []

    def _reset(self) -> None:
        self._obj: tuple[list, list, list] = ([], [], [])
        self._chg: tuple[list, list, list, list, list] = ([], [], [], [], [])
        self._ev: tuple[list, list, list, list, list] = ([], [], [], [], [])
        self._lk: tuple[list, list, list] = ([], [], [])
        self._refused: list[tuple[str, str, str]] = []

    @property
    def pending_events(self) -> int:
        return len(self._ev[0])

    @property
    def pending_objects(self) -> int:
        return len(self._obj[0]) + len(self._chg[0])

    # -- declarations and values ------------------------------------------------------------------
    def declare(self, scope: str, type_name: object, attributes: list[tuple[object, object]]) -> None:
        """Attribute declarations of an object type (``scope="object"``) or event type (``"event"``)."""
        if _blank(type_name):
            return
        decl = self.declared.setdefault((scope, str(type_name)), {})
        for name, declared in attributes:
            if not _blank(name):
                decl[str(name)] = kind(declared if declared is None else str(declared))

    def value(self, scope: str, type_name: str, name: str, value: object) -> object:
        """An attribute value typed by its declaration; ``None`` for a missing value. A value that does
        not fit its declared type is kept as it is (text) and counted."""
        if value is None or isinstance(value, (bytes, bytearray)):
            return None if value is None else bytes(value).hex()
        k = self.declared.get((scope, type_name), {}).get(name)
        if k is None:  # undeclared: as the source has it
            return _finite(value)
        if isinstance(value, str) and not value.strip() and k != "string":
            return None
        try:
            if k == "string":
                return value if isinstance(value, str) else json.dumps(value)
            if k == "integer":
                if isinstance(value, bool):
                    raise ValueError
                if isinstance(value, float):
                    if not value.is_integer():
                        raise ValueError
                    return int(value)
                return int(value) if isinstance(value, int) else int(str(value).strip())
            if k == "float":
                if isinstance(value, bool):
                    raise ValueError
                f = float(value)
                if not math.isfinite(f):
                    raise ValueError
                return f
            if k == "boolean":
                if isinstance(value, bool):
                    return value
                text = str(value).strip().lower()
                if text in ("true", "1", "yes"):
                    return True
                if text in ("false", "0", "no"):
                    return False
                raise ValueError
            return iso(self.time(value))  # time
        except (ValueError, TypeError, OverflowError):
            key = (scope, type_name, name)
            self.mismatched[key] = self.mismatched.get(key, 0) + 1
            return _finite(value)

    # -- records ----------------------------------------------------------------------------------
    def refuse(self, position: str, reason: str, record: str) -> None:
        self._refused.append((position, reason, record))
        self.counts["refused"] += 1

    def object(
        self, oid: object, otype: object, values: list[tuple[object, object, object, bool]],
        relations: list[tuple[object, object]], *, position: str, record: Callable[[], str],
        labels: dict[str, str],
    ) -> None:
        """One object: ``values`` are ``(name, time, value, initial)``; ``relations`` ``(target id,
        qualifier)``. Initial values (``initial=True``, or a time that is empty, ``"0"`` or the epoch
        1970-01-01T00:00:00Z) become the object's attributes; every other value is an object change,
        and the earliest one also stands as the initial value of an attribute that has none."""
        reasons = []
        if _blank(oid):
            reasons.append(f"missing object id ({labels['id']})")
        if _blank(otype):
            reasons.append(f"missing object type ({labels['type']})")
        if reasons:
            self.refuse(position, "; ".join(reasons), record())
            return
        oid, otype = str(oid), str(otype)
        known = self.object_types.get(oid, _MISSING)
        if known is _MISSING:
            self.object_types[oid] = otype
        elif known != otype:
            log.warning("object id %r has types %r and %r; links to it are left to the store", oid, known, otype)
            self.object_types[oid] = None
        initial: dict[str, object] = {}
        earliest: dict[str, tuple[int, object]] = {}
        ot, oi, tm, fd, vl = self._chg
        for name, when, raw, is_initial in values:
            if _blank(name):
                self.refuse(position, f"attribute without a name ({labels['name']})",
                            json.dumps({"name": name, "time": when, "value": raw}, default=str))
                continue
            name = str(name)
            v = self.value("object", otype, name, raw)
            if v is None:
                continue
            if is_initial or _blank(when) or str(when).strip() == "0":
                initial.setdefault(name, v)
                continue
            try:
                micros = self.time(when)
            except (ValueError, TypeError, OverflowError):
                self.refuse(f"{position} attribute {name!r}",
                            f"unparsable timestamp {when!r} ({labels['attribute_time']})",
                            json.dumps({"name": name, "time": when, "value": raw}, default=str))
                continue
            if micros == 0:
                initial.setdefault(name, v)
                continue
            ot.append(otype), oi.append(oid), tm.append(micros), fd.append(name), vl.append(json.dumps(v))
            if name not in earliest or micros < earliest[name][0]:
                earliest[name] = (micros, v)
        attributes = initial | {name: v for name, (_, v) in earliest.items() if name not in initial}
        self._obj[0].append(otype), self._obj[1].append(oid), self._obj[2].append(_dumps(attributes))
        for target, qualifier in relations:
            if _blank(target):
                self.refuse(position, f"relationship without an object id ({labels['relation']})",
                            json.dumps({"source": oid, "target": target, "qualifier": qualifier}, default=str))
                continue
            self._o2o.append((oid, str(target), _qualifier(qualifier)))
        self.counts["objects"] += 1

    def relation(self, source: object, target: object, qualifier: object, *, position: str) -> None:
        """One object-object relationship given on its own (SQLite ``object_object``)."""
        if _blank(source) or _blank(target):
            self.refuse(position, "object relationship without source or target id",
                        json.dumps({"source": source, "target": target, "qualifier": qualifier}, default=str))
            return
        self._o2o.append((str(source), str(target), _qualifier(qualifier)))

    def event(
        self, eid: object, etype: object, when: object, attributes: list[tuple[object, object]],
        relations: list[tuple[object, object]], *, position: str, record: Callable[[], str],
        labels: dict[str, str],
    ) -> None:
        """One event with its attributes ``(name, value)`` and links ``(object id, qualifier)``. A
        missing id or type, a missing or unparsable time, or a link without object id refuses it."""
        position_ord = self.ord
        self.ord += 1
        reasons = []
        if _blank(eid):
            reasons.append(f"missing event id ({labels['id']})")
        if _blank(etype):
            reasons.append(f"missing event type ({labels['type']})")
        micros = None
        if _blank(when):
            reasons.append(f"missing timestamp ({labels['time']})")
        else:
            try:
                micros = self.time(when)
            except (ValueError, TypeError, OverflowError):
                reasons.append(f"unparsable timestamp {when!r} ({labels['time']})")
        if any(_blank(target) for target, _ in relations):
            reasons.append(f"relationship without an object id ({labels['relation']})")
        if reasons:
            self.refuse(position, "; ".join(reasons), record())
            return
        etype = str(etype)
        attrs: dict[str, object] = {}
        for name, raw in attributes:
            if _blank(name):
                continue
            v = self.value("event", etype, str(name), raw)
            if v is not None:
                attrs[str(name)] = v
        o, i, ty, tm, at = self._ev
        o.append(position_ord), i.append(str(eid)), ty.append(etype), tm.append(micros), at.append(_dumps(attrs))
        lo, li, lq = self._lk
        for target, qualifier in relations:
            lo.append(position_ord), li.append(str(target)), lq.append(_qualifier(qualifier))
        self.counts["events"] += 1

    # -- batches ----------------------------------------------------------------------------------
    def flush(self, *, events: bool = True, relations: bool = False) -> Batch:
        """A batch of the objects, changes and refusals collected so far, with the events (and their
        links) when ``events``, and the object-object links when ``relations`` (give those last: their
        targets are typed from every object of the file)."""
        s = pa.string()
        types = self.object_types
        batch = {
            "objects": pa.table({"type": pa.array(self._obj[0], s), "id": pa.array(self._obj[1], s),
                                 "attributes": pa.array(self._obj[2], s)}),
            "object_changes": pa.table({
                "object_type": pa.array(self._chg[0], s), "object_id": pa.array(self._chg[1], s),
                "time": pa.array(self._chg[2], TS), "field": pa.array(self._chg[3], s),
                "value": pa.array(self._chg[4], s),
            }),
            "quarantine": Batch.refused(self._refused),
        }
        if events:
            o, i, ty, tm, at = self._ev
            batch["events"] = pa.table({
                "ord": pa.array(o, pa.int64()), "id": pa.array(i, s), "key": pa.nulls(len(o), s),
                "type": pa.array(ty, s), "time": pa.array(tm, TS), "attributes": pa.array(at, s),
            })
            lo, li, lq = self._lk
            batch["event_objects"] = pa.table({
                "event_ord": pa.array(lo, pa.int64()), "object_type": pa.array([types.get(x) for x in li], s),
                "object_id": pa.array(li, s), "qualifier": pa.array(lq, s),
            })
            keep_ev, keep_lk = ([], [], [], [], []), ([], [], [])
        else:
            keep_ev, keep_lk = self._ev, self._lk
        if relations:
            src, tgt, qual = (list(c) for c in zip(*self._o2o)) if self._o2o else ([], [], [])
            batch["object_objects"] = pa.table({
                "source_type": pa.array([types.get(x) for x in src], s), "source_id": pa.array(src, s),
                "target_type": pa.array([types.get(x) for x in tgt], s), "target_id": pa.array(tgt, s),
                "qualifier": pa.array(qual, s),
            })
            self._o2o = []
        self._reset()
        self._ev, self._lk = keep_ev, keep_lk
        return Batch(**batch)

    def summary(self) -> None:
        for (scope, type_name, name), n in sorted(self.mismatched.items()):
            log.warning("%d value(s) of %s attribute %r of type %r do not fit the declared type; kept as given",
                        n, scope, name, type_name)


def _qualifier(value: object) -> str | None:
    """A relationship qualifier; an empty one is stored as null (no qualifier)."""
    return None if value is None or value == "" else str(value)


def _finite(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return value


def _dumps(attributes: dict[str, object]) -> str | None:
    return json.dumps(attributes, ensure_ascii=False, separators=(",", ":")) if attributes else None


# -- entry point ------------------------------------------------------------------------------------
def _head(path: Path, n: int = 64) -> bytes:
    """The first bytes of the file, gunzipped if it is gzip (as far as it can be read)."""
    with open(path, "rb") as fh:
        head = fh.read(n)
    if head[:2] == b"\x1f\x8b":
        try:
            with gzip.open(path, "rb") as gz:
                return gz.read(n)
        except (OSError, EOFError) as exc:
            raise FormatError(f"{path.name} is not a complete gzip file: {exc}", path=str(path)) from exc
    return head


def _sniff(path: Path) -> str | None:
    head = _head(path)
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<"):
        return "xml"
    if text.startswith((b"{", b"[")):
        return "json"
    return None


def guess_ocel_format(path: str | Path) -> str:
    """``xml``, ``json`` or ``sqlite`` from the file name (``.gz`` looked through), else from the
    first bytes; :class:`FormatError` when neither tells."""
    p = Path(path)
    suffixes = [s.lower() for s in p.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    fmt = SUFFIXES.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        fmt = _sniff(p)
    if fmt is None:
        raise FormatError(f"{p.name} is neither OCEL 2.0 XML, JSON nor SQLite (judged by its name and first "
                          f"bytes); pass format= one of {list(FORMATS)} if it is one", path=str(p))
    return fmt


def _zone(timezone: str) -> dt.tzinfo | None:
    if timezone.upper() in ("UTC", "Z", "ETC/UTC"):
        return None
    try:
        return zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"The timezone parameter of read_ocel must be an IANA zone name such as "
                          f"'Europe/Amsterdam' or 'UTC'. Got {timezone!r} instead.") from exc


def read_ocel(
    path: str | Path, store: Store, *, format: str | None = None, timezone: str = "UTC",
    batch_size: int = BATCH_SIZE,
) -> ImportReport:
    """Import an OCEL 2.0 log: XML (``.xml``/``.xmlocel``), JSON (``.json``/``.jsonocel``), either
    optionally gzipped (``.gz``), or SQLite (``.sqlite``/``.sqlite3``/``.db``).

    ``format`` is ``"xml"``, ``"json"`` or ``"sqlite"``; ``None`` takes it from the suffix (looking
    through ``.gz``), else from the first bytes. Mapping:

    - OCEL events → events: id, type, time; attributes as one JSON object whose values are typed by
      the event type's attribute declarations (``integer``/``float``/``boolean`` → JSON numbers and
      booleans, ``time`` → ISO text in UTC, ``string`` → text; undeclared attributes as the source has
      them; a value that does not fit its declared type is kept as given and a warning logged).
    - OCEL objects → objects (type, id). Initial attribute values (XML/JSON: time missing, ``"0"`` or
      the epoch ``1970-01-01T00:00:00Z``; SQLite: rows of ``object_<Type>`` whose
      ``ocel_changed_field`` is null, their ``ocel_time`` not kept) become the object's JSON
      attributes. Every other timestamped value becomes an object change (``time``, ``field``, JSON
      scalar ``value``); for an attribute without initial value, its earliest change is also taken as
      its initial value.
    - event-object relationships → event links with qualifier; object-object relationships → object
      links with qualifier. Identical (event, object, qualifier) triples are stored once.

    Timestamps (event times, attribute times, ``time``-typed values) are ISO 8601. A value with an
    offset (``Z``, ``+02:00``) is converted to UTC; a value without one is wall time in ``timezone``
    (an IANA name; default ``"UTC"``: taken as UTC). Stored as UTC without zone, microseconds.
    Note the bundled ``ocel20_example`` files: the XML and SQLite variants write local wall times
    without offset (UTC+1: the SQLite even writes the epoch as ``1970-01-01 01:00:00``) while the JSON
    variant writes the same instants in UTC with ``+00:00``; by this rule the JSON events read one hour
    earlier, and with ``timezone="Europe/Amsterdam"`` all three read identically.

    Refused into the quarantine, with position (``event 'e17' (events[16])``, XML adds the line,
    SQLite names the table) and a reason naming the field: an event with missing id, missing type,
    missing/empty or unparsable time (``2024-13-45``) or a relationship without object id; an object
    without id or type; an object attribute value with an unparsable time. The store itself refuses an
    event that links an object neither in the file nor in the store (``unknown object reference``).
    Events whose id is already stored are skipped, so re-importing a file adds nothing.

    A file that is not what it claims (not XML, not JSON, not an OCEL 2.0 SQLite database, truncated
    gzip) raises :class:`~journeymine.errors.FormatError` and leaves the store as it was; a missing
    file raises :class:`~journeymine.errors.SourceNotFoundError`. XML is parsed as a stream
    (``lxml.etree.iterparse``) and loaded in batches of ``batch_size`` events; JSON and SQLite are read
    whole.
    """
    p = check_source(path)
    if format is None:
        fmt = guess_ocel_format(p)
    else:
        fmt = _ALIASES.get(format.lower(), format.lower())
        if fmt not in FORMATS:
            raise ConfigError(f"The format parameter of read_ocel must be one of {list(FORMATS)}. "
                              f"Got {format!r} instead.")
    if batch_size < 1:
        raise ConfigError(f"The batch_size parameter of read_ocel must be at least 1. Got {batch_size!r} instead.")
    builder = _Builder(_zone(timezone))
    batches: Iterator[Batch]
    if fmt == "xml":
        from ._ocel_xml import xml_batches

        batches = xml_batches(p, builder, batch_size)
    elif fmt == "json":
        from ._ocel_json import json_batches, load_json

        batches = json_batches(load_json(p), p, builder, batch_size)
    else:
        from ._ocel_sqlite import sqlite_batches

        batches = sqlite_batches(p, builder, batch_size)
    report = store.load(batches, source=str(p), format=f"ocel-{fmt}",
                        parameters={"format": fmt, "timezone": timezone})
    builder.summary()
    return report

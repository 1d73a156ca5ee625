"""Writing the process view of one object type as an XES log (IEEE 1849), plain or gzipped.

Semantics of :func:`write_xes`:

- One ``<trace>`` per object of ``object_type`` (objects merged into another by an identity alias are
  part of their target's trace, not traces of their own; objects without events are empty traces), in
  the store's object order. The trace's ``concept:name`` is the object id; the object's JSON attributes
  follow as trace attributes.
- The trace's events are its process view (:meth:`Store.process_view`): every event linked to the
  object, by time, ties in load order. Each event has ``concept:name`` = its type and
  ``time:timestamp`` = its time (the store's UTC time, written with ``+00:00``), then its JSON attributes
  (keys ``concept:name`` and ``time:timestamp`` inside the attributes are not repeated). Event ids that
  the store derived are not written; an ``identity:id`` attribute is written back as a string.
- Types come from the JSON values: ``true``/``false`` -> ``<boolean>``, integers -> ``<int>``, other
  numbers -> ``<float>``, strings that are ISO 8601 date-times (``2011-10-01T00:38:44.546``, with or
  without offset; without one it is UTC) -> ``<date>``, other strings -> ``<string>``; arrays and
  objects are written as ``<string>`` holding their JSON; nulls are left out.
- Values are XML-escaped (``& < > "`` and tab, newline, carriage return as character references, so
  they survive attribute-value normalisation); other control characters, which XML 1.0 cannot carry,
  are dropped.
- The file is gzipped when its name ends in ``.gz``. It is written to ``<name>.part`` and renamed when
  complete, so a failed export leaves no half-written log.

Reading goes through :meth:`Store.query` only (portable SQL), one page of objects at a time, so memory
stays bounded on large stores. An unknown ``object_type`` is an :class:`ExportError` that lists the
object types the store has.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import logging
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ExportError

if TYPE_CHECKING:
    from ..store import Store

log = logging.getLogger(__name__)

__all__ = ["write_xes"]

_PAGE = 20_000  # objects per query
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?\Z")
_ZONED = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})\Z")
_ESCAPES = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;", ord('"'): "&quot;",
            ord("\t"): "&#9;", ord("\n"): "&#10;", ord("\r"): "&#13;"}
_ESCAPES.update({c: None for c in range(32) if c not in (9, 10, 13)})
_ESCAPES.update({0xFFFE: None, 0xFFFF: None})
_HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1849-2016" xes.features="nested-attributes" xmlns="http://www.xes-standard.org/">
  <extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
  <extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>
  <extension name="Lifecycle" prefix="lifecycle" uri="http://www.xes-standard.org/lifecycle.xesext"/>
  <extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>
  <extension name="Identity" prefix="identity" uri="http://www.xes-standard.org/identity.xesext"/>
  <classifier name="Activity" keys="concept:name"/>
  <string key="concept:name" value={name}/>
  <string key="source" value="journeymine"/>
"""

_EVENTS = """
    SELECT s.object_code AS code, e.type AS activity, s.time, CAST(e.attributes AS VARCHAR) AS attributes
    FROM seq s JOIN event e ON e.code = s.event_code
    WHERE s.object_type = $t AND s.object_code >= $lo AND s.object_code < $hi
    ORDER BY s.object_code, s.time, s.event_code
"""
_OBJECTS = """
    SELECT o.code, o.id, CAST(o.attributes AS VARCHAR) AS attributes FROM object o
    WHERE o.type = $t AND o.code >= $lo AND o.code < $hi
      AND o.code NOT IN (SELECT a.source_code FROM alias a)
    ORDER BY o.code
"""


def _q(text: str) -> str:
    """An XML attribute value in double quotes."""
    return '"' + text.translate(_ESCAPES) + '"'


def _attribute(key: str, value: object) -> str | None:
    """One XES attribute element for a JSON value (None for null)."""
    if value is None:
        return None
    if isinstance(value, bool):
        tag, text = "boolean", "true" if value else "false"
    elif isinstance(value, int):
        tag, text = "int", str(value)
    elif isinstance(value, float):
        tag, text = "float", repr(value)
    elif isinstance(value, str) and _DATE.match(value):
        tag, text = "date", value if _ZONED.search(value) else value + "+00:00"
    elif isinstance(value, str):
        tag, text = "string", value
    else:
        tag, text = "string", json.dumps(value, ensure_ascii=False)
    return f"<{tag} key={_q(key)} value={_q(text)}/>"


def _attributes(text: str | None, skip: tuple[str, ...], indent: str) -> list[str]:
    if not text:
        return []
    items = json.loads(text)
    if not isinstance(items, dict):
        return [indent + _attribute("attributes", items)]  # type: ignore[operator]
    return [indent + a for k, v in items.items() if k not in skip and (a := _attribute(k, v)) is not None]


def _times(col: pa.ChunkedArray) -> list[str]:
    """Store times (naive UTC) as xs:dateTime text with +00:00."""
    text = pc.strftime(col.cast(pa.timestamp("us")), format="%Y-%m-%dT%H:%M:%S")  # %S carries the fraction
    return pc.binary_join_element_wise(text, "+00:00", "").to_pylist()


def _object_types(store: Store) -> list[str]:
    return store.query("SELECT DISTINCT type FROM object ORDER BY type").column(0).to_pylist()


def _pages(store: Store, object_type: str):
    """``(objects, events)`` tables for successive ranges of object codes of the type."""
    bounds = store.query("SELECT min(code) AS lo, max(code) AS hi FROM object WHERE type = $t",
                         {"t": object_type}).to_pylist()[0]
    if bounds["lo"] is None:
        return
    lo = bounds["lo"]
    while lo <= bounds["hi"]:
        codes = store.query(  # the next page: up to _PAGE objects of the type from lo on
            "SELECT code FROM object WHERE type = $t AND code >= $lo ORDER BY code LIMIT $n",
            {"t": object_type, "lo": lo, "n": _PAGE}).column(0)
        hi = codes[-1].as_py() + 1
        params = {"t": object_type, "lo": lo, "hi": hi}
        yield store.query(_OBJECTS, params), store.query(_EVENTS, params)
        lo = hi


def _write(out, store: Store, object_type: str) -> tuple[int, int]:
    out.write(_HEADER.format(name=_q(f"{object_type} process view")))
    n_traces = n_events = 0
    for objects, events in _pages(store, object_type):
        codes, acts, attrs = (events.column(c).to_pylist() for c in ("code", "activity", "attributes"))
        times = _times(events.column("time"))
        i, lines = 0, []
        for code, oid, oattrs in zip(*(objects.column(c).to_pylist() for c in ("code", "id", "attributes"))):
            lines.append("  <trace>")
            lines.append(f'    <string key="concept:name" value={_q(oid)}/>')
            lines.extend(_attributes(oattrs, ("concept:name",), "    "))
            while i < len(codes) and codes[i] < code:
                i += 1  # events of objects outside this page's list (should not happen)
            while i < len(codes) and codes[i] == code:
                lines.append("    <event>")
                lines.append(f'      <string key="concept:name" value={_q(acts[i])}/>')
                lines.append(f'      <date key="time:timestamp" value="{times[i]}"/>')
                lines.extend(_attributes(attrs[i], ("concept:name", "time:timestamp"), "      "))
                lines.append("    </event>")
                i += 1
            lines.append("  </trace>")
        out.write("\n".join(lines) + "\n")
        n_traces += objects.num_rows
        n_events += len(codes)
    out.write("</log>\n")
    return n_traces, n_events


def write_xes(store: Store, path: str | Path, *, object_type: str = "case") -> Path:
    """Write the process view of ``object_type`` as an XES log (gzipped when the name ends in ``.gz``);
    returns the path. Exact semantics in the module docs.

    >>> import journeymine as jm, tempfile, pathlib
    >>> store = jm.connect(":memory:")
    >>> _ = jm.read_xes("data/running-example/running-example.xes", store)
    >>> out = jm.write_xes(store, pathlib.Path(tempfile.mkdtemp()) / "again.xes")
    >>> jm.read_xes(out, jm.connect(":memory:")).events_imported
    42
    """
    types = _object_types(store)
    if object_type not in types:
        raise ExportError(
            f"The object_type parameter of write_xes must name an object type of the store: one of {types}. "
            f"Got {object_type!r} instead.", object_type=object_type, available=types)
    target = Path(path)
    part = target.with_name(target.name + ".part")
    started = dt.datetime.now()
    try:
        opener = gzip.open if target.suffix.lower() == ".gz" else open
        with opener(part, "wt", encoding="utf-8", newline="\n") as out:
            n_traces, n_events = _write(out, store, object_type)
        os.replace(part, target)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise ExportError(f"Cannot write {str(target)!r}: {exc}", path=str(target)) from exc
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    log.info("wrote %d traces, %d events of %s to %s in %.2fs", n_traces, n_events, object_type, target,
             (dt.datetime.now() - started).total_seconds())
    return target

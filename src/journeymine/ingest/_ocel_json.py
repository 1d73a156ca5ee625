"""OCEL 2.0 JSON (``.json``/``.jsonocel``, optionally gzipped), read whole with the stdlib ``json``.

Layout read (the OCEL 2.0 JSON schema)::

    {"objectTypes": [{"name": .., "attributes": [{"name": .., "type": ..}]}],
     "eventTypes":  [{"name": .., "attributes": [{"name": .., "type": ..}]}],
     "objects": [{"id": .., "type": .., "attributes": [{"name": .., "time": .., "value": ..}],
                  "relationships": [{"objectId": .., "qualifier": ..}]}],
     "events":  [{"id": .., "type": .., "time": .., "attributes": [{"name": .., "value": ..}],
                  "relationships": [{"objectId": .., "qualifier": ..}]}]}

Objects are handled before events whatever the key order. ``attributes`` may also be given as a plain
``{name: value}`` object. Positions are JSON paths: ``event 'e17' (events[16])``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from ..errors import FormatError
from ..store import Batch
from ._common import read_gzip_or_plain
from ._ocel import _Builder

__all__ = ["json_batches", "load_json"]

_KEYS = ("objectTypes", "eventTypes", "objects", "events")
_LABELS = {
    "id": "field 'id'", "type": "field 'type'", "time": "field 'time'", "name": "field 'name'",
    "attribute_time": "field 'time'", "relation": "field 'objectId'",
}


def load_json(path: Path) -> dict:
    """The parsed document; FormatError when it is not JSON or not shaped like OCEL 2.0 JSON."""
    raw = read_gzip_or_plain(path)
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise FormatError(f"{path.name} is not JSON: {exc}", path=str(path)) from exc
    if not isinstance(doc, dict) or not any(k in doc for k in _KEYS):
        found = sorted(doc)[:8] if isinstance(doc, dict) else type(doc).__name__
        hint = " (OCEL 1.0 JSON is not supported)" if isinstance(doc, dict) and "ocel:events" in doc else ""
        raise FormatError(f"{path.name} is JSON but not OCEL 2.0 JSON: expected keys {list(_KEYS)}, "
                          f"found {found}{hint}", path=str(path))
    for key in _KEYS:
        if key in doc and not isinstance(doc[key], list):
            raise FormatError(f"{path.name}: {key!r} must be a JSON array, got {type(doc[key]).__name__}",
                              path=str(path))
    return doc


def _pairs(items: object, keys: tuple[str, ...]) -> list[tuple]:
    """``[{k1: .., k2: ..}, ..]`` as tuples; a ``{name: value}`` object as (name, value) pairs."""
    if isinstance(items, dict):
        return [(k, v) for k, v in items.items()]
    if not isinstance(items, list):
        return []
    return [tuple(it.get(k) for k in keys) for it in items if isinstance(it, dict)]


def _relations(rels: object) -> list[tuple]:
    return _pairs(rels, ("objectId", "qualifier")) if isinstance(rels, list) else []


def json_batches(doc: dict, path: Path, b: _Builder, batch_size: int) -> Iterator[Batch]:
    for scope, key in (("object", "objectTypes"), ("event", "eventTypes")):
        for t in doc.get(key) or []:
            if isinstance(t, dict):
                b.declare(scope, t.get("name"), _pairs(t.get("attributes"), ("name", "type")))
    for i, o in enumerate(doc.get("objects") or []):
        oid = o.get("id") if isinstance(o, dict) else None
        position = f"object {oid!r} (objects[{i}])" if oid else f"object (objects[{i}])"
        if not isinstance(o, dict):
            b.refuse(position, "object is not a JSON object", json.dumps(o, default=str))
            continue
        attrs = o.get("attributes")
        values = ([(k, None, v, True) for k, v in attrs.items()] if isinstance(attrs, dict)
                  else [(n, t, v, False) for n, t, v in _pairs(attrs, ("name", "time", "value"))])
        b.object(oid, o.get("type"), values, _relations(o.get("relationships")), position=position,
                 record=lambda o=o: json.dumps(o, ensure_ascii=False, default=str), labels=_LABELS)
        if b.pending_objects >= batch_size:
            yield b.flush(events=False)
    for i, e in enumerate(doc.get("events") or []):
        eid = e.get("id") if isinstance(e, dict) else None
        position = f"event {eid!r} (events[{i}])" if eid else f"event (events[{i}])"
        if not isinstance(e, dict):
            b.ord += 1
            b.refuse(position, "event is not a JSON object", json.dumps(e, default=str))
            continue
        b.event(eid, e.get("type"), e.get("time"), _pairs(e.get("attributes"), ("name", "value")),
                _relations(e.get("relationships")), position=position,
                record=lambda e=e: json.dumps(e, ensure_ascii=False, default=str), labels=_LABELS)
        if b.pending_events >= batch_size:
            yield b.flush(events=True)
    yield b.flush(events=True, relations=True)

"""OCEL 2.0 XML (``.xml``/``.xmlocel``, optionally gzipped), parsed as a stream with lxml ``iterparse``.

Layout read (the OCEL 2.0 XML schema)::

    <log>
      <object-types><object-type name=".."><attributes><attribute name=".." type=".."/>..
      <event-types><event-type name=".."><attributes><attribute name=".." type=".."/>..
      <objects><object id=".." type="..">
          <attributes><attribute name=".." time="..">value</attribute>..</attributes>
          <objects><relationship object-id=".." qualifier=".."/>..</objects></object>..
      <events><event id=".." type=".." time="..">
          <attributes><attribute name="..">value</attribute>..</attributes>
          <objects><relationship object-id=".." qualifier=".."/>..</objects></event>..
    </log>

Each ``object-type``, ``event-type``, ``object`` and ``event`` element is handled when it closes and then
dropped, so memory stays flat. Events are loaded in batches once the ``objects`` section is complete (if
a file puts events first they are held until the end). Positions name the element's index in its section
and its line: ``event 'e17' (events[16], line 230)``.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from lxml import etree

from ..errors import FormatError
from ..store import Batch
from ._ocel import _Builder

__all__ = ["xml_batches"]

_SECTION = {"object-type": "object-types", "event-type": "event-types", "object": "objects", "event": "events"}
_LABELS = {
    "id": "attribute 'id'", "type": "attribute 'type'", "time": "attribute 'time'",
    "name": "attribute 'name'", "attribute_time": "attribute 'time'", "relation": "attribute 'object-id'",
}


def _open(path: Path) -> BinaryIO:
    with open(path, "rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def xml_batches(path: Path, b: _Builder, batch_size: int) -> Iterator[Batch]:
    """Batches of an OCEL 2.0 XML file; a malformed file or truncated gzip raises FormatError."""
    fh = _open(path)
    try:
        yield from _parse(fh, path, b, batch_size)
    except etree.XMLSyntaxError as exc:
        raise FormatError(f"{path.name} is not well-formed XML: {exc}", path=str(path)) from exc
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise FormatError(f"{path.name} is not a complete gzip file: {exc}", path=str(path)) from exc
    finally:
        fh.close()


def _text(el: etree._Element) -> str:
    return el.text if el.text is not None else ""


def _parse(fh: BinaryIO, path: Path, b: _Builder, batch_size: int) -> Iterator[Batch]:
    context = etree.iterparse(
        fh, events=("end",), tag=tuple(_SECTION), resolve_entities=False, no_network=True,
        remove_comments=True, remove_pis=True,
    )
    index = {"object": 0, "event": 0}
    objects_done: bool | None = None
    for _, el in context:
        parent = el.getparent()
        section = _SECTION[el.tag]
        grand = parent.getparent() if parent is not None else None
        in_place = parent is not None and parent.tag == section and grand is not None and grand.tag == "log"
        if not in_place or grand.getparent() is not None:
            where = "the document root" if parent is None else f"<{parent.tag}>"
            raise FormatError(
                f"{path.name} is not OCEL 2.0 XML: <{el.tag}> at line {el.sourceline} sits in {where}, "
                f"not in <log><{section}>", path=str(path),
            )
        if el.tag in ("object-type", "event-type"):
            b.declare(el.tag.split("-")[0], el.get("name"),
                      [(a.get("name"), a.get("type")) for a in el.iterfind("attributes/attribute")])
        elif el.tag == "object":
            i = index["object"]
            index["object"] += 1
            oid = el.get("id")
            b.object(
                oid, el.get("type"),
                [(a.get("name"), a.get("time"), _text(a), False) for a in el.iterfind("attributes/attribute")],
                [(r.get("object-id"), r.get("qualifier")) for r in el.iterfind("objects/relationship")],
                position=_position("object", oid, i, el.sourceline),
                record=lambda el=el: etree.tostring(el, encoding="unicode", with_tail=False), labels=_LABELS,
            )
            if b.pending_objects >= batch_size:
                yield b.flush(events=False)
        else:
            if objects_done is None:  # first event: has the objects section been read already?
                objects_done = any(s.tag == "objects" for s in parent.itersiblings(preceding=True))
            i = index["event"]
            index["event"] += 1
            eid = el.get("id")
            b.event(
                eid, el.get("type"), el.get("time"),
                [(a.get("name"), _text(a)) for a in el.iterfind("attributes/attribute")],
                [(r.get("object-id"), r.get("qualifier")) for r in el.iterfind("objects/relationship")],
                position=_position("event", eid, i, el.sourceline),
                record=lambda el=el: etree.tostring(el, encoding="unicode", with_tail=False), labels=_LABELS,
            )
            if objects_done and b.pending_events >= batch_size:
                yield b.flush(events=True)
        el.clear(keep_tail=True)
        while el.getprevious() is not None:
            del parent[0]
    root = context.root
    if root is None or root.tag != "log" or not {c.tag for c in root} & set(_SECTION.values()):
        tag = "nothing" if root is None else f"<{root.tag}>"
        raise FormatError(
            f"{path.name} is not OCEL 2.0 XML: its root is {tag} without object-types, event-types, "
            "objects or events sections", path=str(path),
        )
    yield b.flush(events=True, relations=True)


def _position(kind: str, ident: str | None, i: int, line: int | None) -> str:
    name = f"{kind} {ident!r} " if ident else f"{kind} "
    return f"{name}({kind}s[{i}], line {line})"

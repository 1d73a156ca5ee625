"""Importing XES event logs (IEEE 1849; ``.xes`` or ``.xes.gz``). Semantics of :func:`read_xes`:

- Each ``<trace>`` is an object of type ``object_type`` (default ``"case"``), id = its ``concept:name``,
  attributes = its other trace attributes (keys as written, no ``case:`` prefix). Traces sharing a name
  are one object (first attributes win); a trace without events is still an object.
- Each ``<event>`` is an event linked to its trace's object (qualifier null): type (activity) =
  ``concept:name`` (no classifier or lifecycle applied); time = ``time:timestamp`` in UTC (an offset or
  ``Z`` is applied, none means UTC, a date alone is midnight, sub-microsecond digits are cut); JSON
  attributes = all others (``identity:id`` too), typed by element: ``string``/``id`` strings,
  ``int``/``float`` numbers, ``boolean`` true/false, ``date`` UTC ISO text (``2011-09-30T22:38:44.546``);
  a value not parsing as its type stays the string written; a key repeated in an element: first wins.
- Event id = ``identity:id`` (else ``id``); without one the store hashes a content key (case id, activity,
  time, attributes joined by ``\x1f``) and numbers repeats: re-importing adds nothing, identical events
  in a trace are all kept. ``ord`` = position in the file.
- Quarantined (the rest imports): events without ``concept:name`` ("missing activity (concept:name)"),
  without ``time:timestamp`` ("missing timestamp (time:timestamp)"), with a time that is no xs:dateTime
  ("unparsable timestamp '...' (time:timestamp)"), in a nameless trace or outside traces ("missing case
  id (trace concept:name)"); nameless empty traces. Positions: ``trace 12 (case 'X') event 3`` (from 1).
- Not imported: log attributes, extensions, globals (defaults not applied), classifiers, ``list`` and
  ``container`` attributes, attributes nested in attributes (counted in the run's parameters).
- Not XES (not XML, other root, broken or truncated gzip or document, mismatched tags): FormatError,
  raised before anything is written.

pm4py differs: traces become rows with ``case:`` attributes and empty ones vanish; its own parser makes
unparsable times NaT silently and lets a repeated key's last value win; rustxes fills missing event
attributes from globals, makes unparsable and date-only times null (printing them), wants UUID ``id``
values, turns mixed-type columns into text and panics (a BaseException) on broken files.
How: a first pass finds every ``<``, ``>``, ``"``, the tag names and the attribute quotes (C,
``_scan.c``, with a NumPy twin used without a compiler: ADR 0008); element kinds, depth and parents
are array operations; keys and values are Arrow string views into the buffer, typed with Polars,
joined to JSON with Arrow; chunks of whole traces are parsed on two threads while the next one
decompresses.
"""

from __future__ import annotations

import codecs
import concurrent.futures as cf
import json
import logging
import re
import threading
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import FormatError
from ..store import Batch, ImportReport, Store
from ._common import check_source

from isal import isal_zlib as zlib  # ISA-L inflates gzip about twice as fast as the stdlib's zlib

try:  # the compiled first pass (setup.py builds it; optional)
    from . import _scan as _compiled
except ImportError:  # pragma: no cover - only without a C compiler at install time
    _compiled = None

log = logging.getLogger(__name__)

__all__ = ["read_xes"]

OTHER, LOG, TRACE, EVENT, STRING, DATE, INT, FLOAT, BOOLEAN, ID, LIST, CONTAINER = range(12)  # element kinds
_NAMES = {b"log": LOG, b"trace": TRACE, b"event": EVENT, b"string": STRING, b"date": DATE, b"int": INT,
          b"float": FLOAT, b"boolean": BOOLEAN, b"id": ID, b"list": LIST, b"container": CONTAINER}
_TABLE = sorted((int.from_bytes(name[:8], "little"), len(name), kind) for name, kind in _NAMES.items())
_TV, _TL, _TK = (np.array(col, dtype) for col, dtype in zip(zip(*_TABLE), (np.uint64, np.int64, np.int8)))
_MASK64 = np.array([(1 << (8 * i)) - 1 for i in range(8)] + [(1 << 64) - 1], np.uint64)
_VIEW0 = np.array([int(_MASK64[min(k, 4)]) << 32 for k in range(14)], np.uint64)  # by length (13: long)
_VIEW1 = np.array([int(_MASK64[min(max(k - 4, 0), 8)]) if k <= 12 else 0 for k in range(14)], np.uint64)
_VIEW2 = np.array([0] * 13 + [(1 << 64) - 1], np.uint64)
_DELIM, _BAD_START = np.zeros(256, bool), np.zeros(256, bool)
_DELIM[list(b" \t\r\n/>")] = _BAD_START[list(b" \t\r\n/>0123456789-.")] = True
_KEY_EQ, _VALUE_EQ = int.from_bytes(b"key=", "little"), int.from_bytes(b" value=", "little")
_CHUNK, _BLOCK, _PAD = 4 << 20, 2 << 20, 16
_LOCAL = threading.local()  # per-thread scratch buffers of _structure
_SPECIAL = r"[&\\\t\n\r]"  # needs XML decoding or JSON escaping ('"' only occurs in tags parsed in Python)
_ATTR = re.compile(r'([^\s=/<>]+)\s*=\s*(?:"([^"]*)"|\'([^\']*)\')')
_ENTITY = re.compile(r"&(#[0-9]+|#x[0-9a-fA-F]+|amp|lt|gt|quot|apos);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
_OPEN_CLOSE = ((b"<!--", b"-->"), (b"<![CDATA[", b"]]>"))
_MARKUP = re.compile(rb"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<!DOCTYPE[^\[>]*(?:\[.*?\])?\s*>|<![^>]*>", re.S)


def _bad(path: Path, what: str, near: bytes = b"") -> FormatError:
    text = bytes(near[:60]).rstrip(b"\0").decode("utf-8", "replace")
    near_text = f" near {text!r}" if text else ""
    return FormatError(f"{path.name} is not a valid XES file: {what}{near_text}", path=str(path))


# -- bytes: decompression, encoding, chunks of whole traces ----------------------------------------------
def _blocks(path: Path):
    """The decompressed bytes in blocks of at most _BLOCK (gzip told by its magic; members joined)."""
    with open(path, "rb") as fh:
        gz, d = fh.read(2) == b"\x1f\x8b", zlib.decompressobj(31)
        fh.seek(0)
        for raw in iter(lambda: fh.read(_BLOCK // 8 if gz else _BLOCK), b""):
            while gz and raw:
                d = zlib.decompressobj(31) if d.eof else d
                try:
                    out = d.decompress(raw, _BLOCK)
                except zlib.error as exc:
                    raise _bad(path, f"broken gzip data ({exc})") from exc
                raw = d.unused_data if d.eof else d.unconsumed_tail
                yield out
            if not gz:
                yield raw
        if gz and not d.eof:
            raise _bad(path, "the gzip stream is truncated (an incomplete download or copy?)")


def _recoder(path: Path, head: bytes):
    """Re-encoding to UTF-8 when a BOM or the XML declaration names another encoding, else None."""
    m = re.match(rb'\s*<\?xml[^>]*?encoding\s*=\s*["\']([A-Za-z0-9._-]+)', head)
    enc = "utf-16" if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) else m[1].decode() if m else "utf-8"
    try:
        dec = codecs.getincrementaldecoder(enc)("strict")
    except LookupError as exc:
        raise _bad(path, f"unknown encoding {enc!r} in the XML declaration") from exc
    return None if codecs.lookup(enc).name in ("utf-8", "ascii") else lambda b, last=False: dec.decode(b, last).encode()


def _markup(buf, start: int, end: int) -> int:
    """Index of the next ``<!`` in ``buf[start:end]`` or -1 (looks for the rare ``!``: '<' is everywhere)."""
    i = buf.find(b"!", start + 1, end)
    while i > 0 and buf[i - 1] != 60:
        i = buf.find(b"!", i + 1, end)
    return i - 1 if i > 0 else -1


def _cut(buf: bytearray) -> int:
    """End of the last ``</trace>`` not inside a comment or CDATA section; 0 if none."""
    pos, marked = len(buf), _markup(buf, 0, len(buf)) >= 0
    while (pos := buf.rfind(b"</trace", 0, pos)) >= 0:
        if not marked or all(buf.rfind(o, 0, pos) <= buf.rfind(c, 0, pos) for o, c in _OPEN_CLOSE):
            return buf.find(b">", pos) + 1
    return 0


def _clean(path: Path, buf: bytearray, cut: int, head: bool) -> tuple[bytes, int, bool]:
    """``buf[:cut]`` without comments, CDATA and DOCTYPE (they may hold '<') and, in the ``head`` chunk,
    without the log's content before its first trace if that holds no event; then _PAD zero bytes."""
    if cut >= 1 << 31:
        raise _bad(path, "a single trace larger than 2 GB")
    with memoryview(buf) as mv:
        keep, pos, i = [], 0, _markup(buf, 0, cut)
        while i >= 0:
            if (m := _MARKUP.match(buf, i, cut)) is None:
                raise _bad(path, "an unterminated comment, CDATA section or declaration", mv[i:])
            keep.append(mv[pos:i])
            pos, i = m.end(), _markup(buf, m.end(), cut)
        out = b"".join([*keep, mv[pos:cut], bytes(_PAD)])
        del keep
    if head and (log_at := out.find(b"<log")) >= 0 and (trace_at := out.find(b"<trace", log_at)) > 0:
        if (log_end := out.find(b">", log_at) + 1) < trace_at and out.find(b"<event", log_end, trace_at) < 0:
            out = out[:log_end] + out[trace_at:]  # log attributes, extensions, globals: not imported
    return out, len(out) - _PAD, False


def _chunks(path: Path):
    """``(buffer, xml_length, last)`` for pieces of whole traces; buffers are zero padded."""
    pending, recode, head = bytearray(), None, True
    for i, block in enumerate(_blocks(path)):
        if i == 0:
            recode = _recoder(path, block := block.removeprefix(codecs.BOM_UTF8))
        pending += recode(block) if recode else block
        while len(pending) >= _CHUNK and (cut := _cut(pending)):
            yield _clean(path, pending, cut, head)
            del pending[:cut]
            head = False
    pending += recode(b"", True) if recode else b""
    yield *_clean(path, pending, len(pending), head)[:2], True


# -- structure: every '<' starts a token; kinds, depth and nesting as arrays -----------------------------
def _unaligned(buf: bytes, dtype: str) -> np.ndarray:
    """Element i holds the bytes starting at byte i."""
    return np.ndarray((len(buf) - np.dtype(dtype).itemsize + 1,), dtype, buf, 0, (1,))


def _scratch(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Two boolean buffers of n bytes, kept per thread and reused from chunk to chunk."""
    if getattr(_LOCAL, "size", 0) < n:
        _LOCAL.size, _LOCAL.bufs = n + _CHUNK, (np.empty(n + _CHUNK, bool), np.empty(n + _CHUNK, bool))
    return _LOCAL.bufs[0][:n], _LOCAL.bufs[1][:n]


def _marks(buf: bytes, n: int, compiled: bool | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions of every '<', '>' and '"' in ``buf[:n]``, the byte at each and the indices of the '<'
    among them: one SSE2 pass in C (``_scan.c``) when it was built, else NumPy comparisons in reused
    buffers (no fresh pages); the same arrays either way (tested)."""
    if (_compiled is not None) if compiled is None else compiled:
        mark, mt, li = _compiled.marks(buf, n)
        return np.frombuffer(mark, np.int64), np.frombuffer(mt, np.uint8), np.frombuffer(li, np.int64)
    arr = np.frombuffer(buf, np.uint8)
    hit, quote = _scratch(n)
    np.equal(np.bitwise_or(arr[:n], 2, out=hit.view(np.uint8)), 62, out=hit)
    mark = np.flatnonzero(np.logical_or(hit, np.equal(arr[:n], 34, out=quote), out=hit))
    mt = arr[mark]
    return mark, mt, np.flatnonzero(mt == 60)


def _names(buf: bytes, arr: np.ndarray, u64: np.ndarray, npos: np.ndarray, named: np.ndarray, start: np.ndarray,
           compiled: bool | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per tag (name at ``npos``): the name's length, its first 8 bytes (masked to the length) and the
    element kind of a start tag (else OTHER). In C when ``_scan`` was built, else NumPy (tested equal)."""
    if (_compiled is not None) if compiled is None else compiled:
        nl, hm, kind = _compiled.names(buf, np.ascontiguousarray(npos, np.int64), np.ascontiguousarray(named, bool),
                                       np.ascontiguousarray(start, bool), _TV, _TL, _TK)
        return np.frombuffer(nl, np.int64), np.frombuffer(hm, np.uint64), np.frombuffer(kind, np.int8)
    h = u64[npos]  # name length: bytes before whitespace, '/' or '>' (SWAR over 8 bytes; longer names below)
    ones, highs = np.uint64(0x0101010101010101), np.uint64(0x8080808080808080)
    hit = (h - np.uint64(0x21) * ones) & ~h & highs
    for c in (0x2F, 0x3E):
        x = h ^ (np.uint64(c) * ones)
        hit |= (x - ones) & ~x & highs
    nl = np.where(hit == 0, 8, (np.frexp((hit & (~hit + np.uint64(1))).astype(np.float64))[1] - 1) >> 3)
    todo, k = np.flatnonzero(named & (nl == 8)), 8
    while todo.size:
        stop = _DELIM[arr[npos[todo] + k]]
        nl[todo[stop]] = k
        todo, k = todo[~stop], k + 1
    hm = h & _MASK64[np.minimum(nl, 8)]
    ti = np.minimum(np.searchsorted(_TV, hm), _TV.size - 1)
    kind = np.where(start & (_TV[ti] == hm) & (_TL[ti] == nl), _TK[ti], OTHER).astype(np.int8)
    return nl, hm, kind


def _structure(path: Path, buf: bytes, n: int, depth0: int, last: bool):
    arr, u64 = np.frombuffer(buf, np.uint8), _unaligned(buf, "<u8")
    try:  # one string: validating it checks UTF-8 for every view cut out of it later
        offsets = pa.py_buffer(np.array([0, n], np.int32))
        pa.Array.from_buffers(pa.string(), 1, [None, offsets, pa.py_buffer(buf)]).validate(full=True)
    except pa.ArrowInvalid as exc:
        raise _bad(path, "bytes that are not UTF-8 (and no other encoding is declared)") from exc
    mark, mt, li = _marks(buf, n)
    lt = mark[li]
    if (lead := buf[: lt[0] if lt.size else n]).strip():
        raise _bad(path, "text outside any element (this is not XML)", lead)
    if not lt.size:
        if depth0 == 0 or last:
            raise _bad(path, "no XML element at all" if depth0 == 0 else "it ends before </log> (truncated?)")
        return None
    ei = np.append(li[1:], mark.size) - 1  # each tag ends at the last '>' before the next '<'
    if (broken := mt[ei] != 62).any():
        i = lt[np.argmax(broken)]
        raise _bad(path, "an unterminated tag (truncated?)", buf[i:])
    end, first = mark[ei], arr[lt + 1]
    close = first == 47
    start = ~close & (first != 63) & (first != 33)  # not </, <? or <!
    named = start | close
    npos = lt + 1 + close
    if (badname := named & _BAD_START[arr[npos]]).any():
        i = lt[np.argmax(badname)]
        raise _bad(path, "'<' not followed by an element name", buf[i:])
    nl, hm, kind = _names(buf, arr, u64, npos, named, start)
    delta = (start & (arr[end - 1] != 47)).astype(np.int64) - close  # +1 opens, -1 closes
    after = np.cumsum(delta) + depth0
    before = after - delta
    if after.min() < 0 or after[-1] != (0 if last else 1):
        i = lt[np.argmax(after < 0)] if after.min() < 0 else lt[-1]
        raise _bad(path, "a closing tag without opening tag" if after.min() < 0 else "it ends before all "
                   "elements are closed (truncated?)" if after[-1] > 0 else "content after </log>", buf[i:])
    oc = np.flatnonzero(delta)  # per depth, opening and closing tags alternate: their names must match
    lv = np.where(delta[oc] > 0, before[oc], after[oc])
    order = np.argsort(lv, kind="stable")
    oc = oc[order][lv[order] >= 1]
    o, c = oc[0::2], oc[1::2]
    if (mismatch := (hm[o] != hm[c]) | (nl[o] != nl[c])).any():
        i = lt[c[np.argmax(mismatch)]]
        raise _bad(path, "a closing tag that does not match its opening tag", buf[i:])
    roots = np.flatnonzero(start & (before == 0))
    if depth0 == 0 and (not roots.size or kind[roots[0]] != LOG or roots[0] != np.argmax(named)):
        raise _bad(path, "the root element is not <log>", buf[lt[np.argmax(named)]:])
    if roots.size > (depth0 == 0):
        raise _bad(path, "more than one root element", buf[lt[roots[-1]]:])
    return lt, end, kind, before, start, nl, mark, mt, li


# -- attributes: keys and values cut out of the buffer, typed, joined into JSON objects ------------------
def _views(buf: bytes, u32: np.ndarray, u64: np.ndarray, starts: np.ndarray, ends: np.ndarray,
           compiled: bool | None = None) -> pl.Series:
    """``buf[starts[i]:ends[i]]`` as Arrow string views into ``buf`` (no copy; ``buf`` is valid UTF-8),
    built in C when ``_scan`` was built, else with NumPy (the same bytes; tested)."""
    if (_compiled is not None) if compiled is None else compiled:
        v = _compiled.views(buf, np.ascontiguousarray(starts, np.int64), np.ascontiguousarray(ends, np.int64))
        return pl.from_arrow(pa.Array.from_buffers(pa.string_view(), starts.size,
                                                   [None, pa.py_buffer(v), pa.py_buffer(buf)]))
    lens = ends - starts
    c = np.minimum(lens, 13)  # view: length, 4 prefix bytes, then 8 more bytes inline or buffer 0 and offset
    v = np.empty((lens.size, 2), np.uint64)
    np.bitwise_or(np.left_shift(u64[starts], np.uint64(32)) & _VIEW0[c], lens.view(np.uint64), out=v[:, 0])
    np.bitwise_or(u64[starts + 4] & _VIEW1[c], np.left_shift(starts.view(np.uint64), np.uint64(32)) & _VIEW2[c],
                  out=v[:, 1])
    return pl.from_arrow(pa.Array.from_buffers(pa.string_view(), lens.size, [None, pa.py_buffer(v), pa.py_buffer(buf)]))


def _decode(text: str) -> str:
    """XML attribute-value normalisation (tab, newline -> space) and character/entity references."""
    def ref(m: re.Match) -> str:
        cp = -1 if m[1] in _ENTITIES else int(m[1][2:], 16) if m[1][1] == "x" else int(m[1][1:])
        return _ENTITIES.get(m[1]) or (chr(cp) if cp < 0xD800 or 0xDFFF < cp <= 0x10FFFF else m[0])

    text = text.replace("\t", " ").replace("\n", " ").replace("\r", " ")
    return _ENTITY.sub(ref, text) if "&" in text else text


def _quotes(buf: bytes, s: np.ndarray, e: np.ndarray, nl: np.ndarray, mark: np.ndarray, mt: np.ndarray,
            ia: np.ndarray, compiled: bool | None = None):
    """Per attribute tag: whether it is exactly ``<name key="K" value="V"`` (``fast``), then the positions of
    its four quotes (0 where not fast), the key's length, a fingerprint of the key from its bytes 0-7,
    8-15, its last 8 and its length, and whether the key and the value of a fast tag hold a byte that
    needs XML decoding or JSON escaping (``&``, a backslash, tab, LF, CR). In C when ``_scan`` was built, else
    NumPy (the same arrays; tested)."""
    if (_compiled is not None) if compiled is None else compiled:
        i64 = [np.ascontiguousarray(x, np.int64) for x in (s, e, nl, mark)]
        out = _compiled.quotes(buf, *i64, np.ascontiguousarray(mt, np.uint8), np.ascontiguousarray(ia, np.int64))
        fast = np.frombuffer(out[0], bool)
        q0, q1, q2, q3, klen = (np.frombuffer(x, np.int64) for x in out[1:6])
        fp = np.frombuffer(out[6], np.uint64).copy()  # (written to later)
        return fast, q0, q1, q2, q3, klen, fp, np.frombuffer(out[7], bool).copy(), np.frombuffer(out[8], bool).copy()
    arr, u32, u64 = np.frombuffer(buf, np.uint8), _unaligned(buf, "<u4"), _unaligned(buf, "<u8")
    at = [np.minimum(ia + i, mark.size - 1) for i in range(6)]
    q0, q1, q2, q3 = (mark[j] for j in at[1:5])
    fast = ((mt[at[1]] == 34) & (mt[at[2]] == 34) & (mt[at[3]] == 34) & (mt[at[4]] == 34) & (mark[at[5]] == e)
            & (q0 == s + nl + 6) & (arr[s + nl + 1] == 32) & (u32[q0 - 4] == _KEY_EQ) & (q2 == q1 + 8)
            & ((u64[q1 + 1] & _MASK64[7]) == _VALUE_EQ))  # exactly <name key="K" value="V"
    q0, q1, q2, q3 = (np.where(fast, x, 0) for x in (q0, q1, q2, q3))
    klen = np.maximum(q1 - q0 - 1, 0)  # fingerprint of each key from its bytes 0-7, 8-15, last 8 and length
    fp = (u64[q0 + 1] & _MASK64[np.minimum(klen, 8)]) ^ klen.astype(np.uint64)
    fp ^= (u64[q0 + 9] & _MASK64[np.clip(klen - 8, 0, 8)]) * np.uint64(0xC2B2AE3D27D4EB4F)
    fp ^= np.where(klen > 16, u64[np.maximum(q1 - 8, 0)], 0).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    key_special, value_special = (fast & _views(buf, u32, u64, lo + fast, hi).str.contains(_SPECIAL).to_numpy()
                                  for lo, hi in ((q0, q1), (q2, q3)))
    return fast, q0, q1, q2, q3, klen, fp, key_special, value_special


def _fingerprint(key: str) -> int:
    """The fingerprint ``_quotes`` computes from a key's bytes in the buffer, from the key's text."""
    b = key.encode()
    n = len(b)
    word = lambda part: int.from_bytes(part.ljust(8, b"\0")[:8], "little")  # noqa: E731
    fp = word(b[:min(n, 8)]) ^ n
    fp ^= (word(b[8:8 + max(0, min(n - 8, 8))]) * 0xC2B2AE3D27D4EB4F) & 0xFFFFFFFFFFFFFFFF
    if n > 16:
        fp ^= (word(b[n - 8:]) * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    return fp


def _key_values(path: Path, buf: bytes, s: np.ndarray, e: np.ndarray, nl: np.ndarray, mark, mt, ia):
    """Decoded keys and values of the attribute tags starting at ``s`` (``ia``: their '<' among the marks),
    a fingerprint of each key, and a function giving rows' keys and values as JSON strings."""
    u32, u64 = _unaligned(buf, "<u4"), _unaligned(buf, "<u8")
    fast, q0, q1, q2, q3, klen, fp, key_special, special = _quotes(buf, s, e, nl, mark, mt, ia)
    keys, vals = _views(buf, u32, u64, q0 + fast, q1), _views(buf, u32, u64, q2 + fast, q3)
    slow = np.flatnonzero(~fast)
    if slow.size:  # other quoting, attribute order or spacing: parse those tags one by one
        found = []
        for r in slow:
            got: dict[str, str] = {}
            for m in _ATTR.finditer(buf[s[r] + 1 + nl[r]: e[r]].decode("utf-8")):
                got.setdefault(m[1], m[2] if m[2] is not None else m[3])
            if "key" not in got or "value" not in got:
                raise _bad(path, "an attribute element without key or value", buf[s[r]:])
            found.append((got["key"], got["value"]))
        keys, vals = (col.scatter(slow, pl.Series(x, dtype=pl.String)) for col, x in zip((keys, vals), zip(*found)))
    key_special[slow] = True
    special |= key_special
    if (sp := np.flatnonzero(special)).size:
        kt, vt = ([_decode(x) for x in col.gather(sp).to_list()] for col in (keys, vals))
        # the fingerprint is a function of the decoded key, so a key spelled with references and the same
        # key spelled plainly (or next to a value that needed decoding) are found to be one key
        redo = key_special[sp]
        fp[sp[redo]] = [_fingerprint(k) for k, r in zip(kt, redo) if r]
        keys, vals = (col.scatter(sp, pl.Series(x, dtype=pl.String)) for col, x in ((keys, kt), (vals, vt)))

    def quoted(rows: np.ndarray) -> tuple[pl.Series, pl.Series]:
        """Keys and values of ``rows`` as JSON strings: the quoted text in the buffer, or json.dumps."""
        f = fast[rows]
        kq, vq = _views(buf, u32, u64, q0[rows], q1[rows] + f), _views(buf, u32, u64, q2[rows], q3[rows] + f)
        if (sub := np.flatnonzero(special[rows])).size:
            dumps = [[json.dumps(x, ensure_ascii=False) for x in col.gather(rows[sub]).to_list()]
                     for col in (keys, vals)]
            kq, vq = (q.scatter(sub, pl.Series(d, dtype=pl.String)) for q, d in zip((kq, vq), dumps))
        return kq, vq

    return keys, vals, fp, quoted


def _firsts(rows: np.ndarray, owner: np.ndarray, fp: np.ndarray, keys: pl.Series) -> np.ndarray:
    """For ``rows`` (an owner's rows adjacent): False where the key already occurred for the same owner."""
    o, f = owner[rows], fp[rows]
    dup = np.zeros(rows.size, bool)
    width = int(np.bincount(o).max()) if rows.size else 0
    if width > 64:
        frame = pl.DataFrame({"o": o, "k": keys.gather(rows)})
        return frame.select(pl.struct("o", "k").is_first_distinct()).to_series().to_numpy()
    for d in range(1, width):
        if (cand := np.flatnonzero((o[d:] == o[:-d]) & (f[d:] == f[:-d])) + d).size:
            dup[cand[(keys.gather(rows[cand]) == keys.gather(rows[cand - d])).to_numpy()]] = True
    return ~dup


def _dates(text: pa.Array) -> pa.Array:
    """xs:dateTime text -> naive UTC timestamp[us] (offset or Z applied, none means UTC, a date alone is
    midnight, a space for the T accepted); null where it does not parse."""
    try:  # fast path: every value has a zone
        return pc.cast(pc.cast(text, pa.timestamp("us", "UTC")), pa.timestamp("us"))
    except pa.ArrowInvalid:
        pass
    s = pl.from_arrow(text).str.strip_chars().str.replace(r"[zZ]$", "+00:00").str.replace(" ", "T", literal=True)
    tries = [s.str.to_datetime(fmt, strict=False, time_unit="us") for fmt in
             ("%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%z", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d")]
    tries = [t.dt.replace_time_zone(None) if t.dtype.time_zone else t for t in tries]  # type: ignore[union-attr]
    return pl.select(pl.coalesce(tries)).to_series().to_arrow().cast(pa.timestamp("us"))


def _fragments(kinds: np.ndarray, vals: pl.Series, at: np.ndarray, kq: pl.Series, vq: pl.Series) -> pa.Array:
    """``"key":value`` JSON members (values ``vals[at]``) by XES type; a value that does not parse as its type
    stays a string."""
    lit = vq
    for kind in (INT, FLOAT, BOOLEAN, DATE):
        if not (rows := np.flatnonzero(kinds == kind)).size:
            continue
        sub = vals.gather(at[rows]).str.strip_chars()
        if kind == INT:
            conv = sub.str.to_integer(strict=False).cast(pl.String)
        elif kind == FLOAT:
            f = sub.cast(pl.Float64, strict=False)
            conv = pl.select(pl.when(f.is_finite()).then(f.cast(pl.String))).to_series()
        elif kind == BOOLEAN:
            conv = sub.str.to_lowercase().replace_strict({"true": "true", "1": "true", "false": "false", "0": "false"},
                                                          default=None, return_dtype=pl.String)
        else:
            conv = '"' + pl.from_arrow(_dates(sub.to_arrow())).dt.to_string("%Y-%m-%dT%H:%M:%S%.f") + '"'
        ok = conv.is_not_null().to_numpy()
        lit = lit.scatter(rows[ok], conv.filter(ok))
    return pc.binary_join_element_wise(kq.to_arrow(), lit.to_arrow(), pa.scalar(":", pa.large_string()))


def _pick(owner: np.ndarray, rows: np.ndarray, values: pl.Series, size: int) -> pa.Array:
    """Per owner (event or trace), the value of its row among ``rows`` (at most one each), else null."""
    if not (found := np.flatnonzero(rows)).size:
        return pa.nulls(size, pa.string())
    at = np.full(size, -1, np.int64)
    at[owner[found]] = found
    return values.gather(pl.from_arrow(pa.array(at, mask=at < 0))).to_arrow().cast(pa.string())


def _objects(frag: pa.Array, owner: np.ndarray, rows: np.ndarray, size: int, compiled: bool | None = None) -> pa.Array:
    """Per owner, ``{fragment,...}`` of its rows (owners ascending), null when it has none: one pass in C
    when ``_scan`` was built, else Arrow's list join (the same strings; tested)."""
    r = np.flatnonzero(rows)
    counts = np.bincount(owner[r], minlength=size)
    offsets = np.zeros(size + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    if (_compiled is not None) if compiled is None else compiled:
        frag = frag.cast(pa.large_string())
        frag = pa.concat_arrays([frag]) if frag.offset else frag
        valid = np.ones(len(frag), bool) if frag.null_count == 0 else frag.is_valid().to_numpy(zero_copy_only=False)
        fo = np.frombuffer(frag.buffers()[1], np.int64, len(frag) + 1)
        data = frag.buffers()[2] if frag.buffers()[2] is not None else b""
        o, d, v = _compiled.objects(fo, data, np.ascontiguousarray(valid, bool), r.astype(np.int64), offsets)
        validity = np.frombuffer(v, bool)
        bitmap = None if validity.all() else pa.py_buffer(np.packbits(validity, bitorder="little"))
        return pa.Array.from_buffers(pa.string(), size, [bitmap, pa.py_buffer(o), pa.py_buffer(d)],
                                     null_count=int(size - np.count_nonzero(validity)))
    ls = pa.large_string()
    body = pc.binary_join(pa.LargeListArray.from_arrays(pa.array(offsets), frag.take(pa.array(r))), pa.scalar(",", ls))
    out = pc.binary_join_element_wise(pa.scalar("{", ls), body, pa.scalar("}", ls), pa.scalar("", ls))
    return pc.if_else(pa.array(counts > 0), out, pa.scalar(None, ls)).cast(pa.string())


# -- one chunk -> events, objects, links, refusals (chunk-local numbers) ---------------------------------
def _scan(path: Path, buf: bytes, n: int, depth0: int, last: bool) -> dict | None:
    if (found := _structure(path, buf, n, depth0, last)) is None:
        return None
    lt, end, kind, before, start, nl, mark, mt, li = found
    idx = np.arange(lt.size)
    own1, own2 = (np.maximum.accumulate(np.where(start & (before == d), idx, -1)) for d in (1, 2))
    kx = np.append(kind, np.int8(OTHER))  # index -1 (no owner yet) -> OTHER
    k1, k2 = kx[own1], kx[own2]
    is_trace, is_event = start & (kind == TRACE), start & (kind == EVENT)
    if (wrong := (is_trace & (before != 1)) | (is_event & (before != 1) & ((before != 2) | (k1 != TRACE)))).any():
        raise _bad(path, "a <trace> outside <log> or an <event> outside <trace>",
                   buf[lt[np.argmax(wrong)]:])
    attr = start & (kind >= STRING)
    ev_attr = attr & (((before == 3) & (k2 == EVENT)) | ((before == 2) & (k1 == EVENT)))
    used = (ev_attr | (attr & (before == 2) & (k1 == TRACE))) & (kind < LIST)
    ev_no, tr_no = np.cumsum(is_event) - 1, np.cumsum(is_trace) - 1  # per token: the last event / trace
    ev, a = np.flatnonzero(is_event), np.flatnonzero(used)
    n_ev, n_tr, a_ev = ev.size, int(tr_no[-1]) + 1, ev_attr[a]
    ev_trace = np.where(before[ev] == 2, tr_no[own1[ev]], -1)
    parent = np.where(before[a] == 3, own2[a], own1[a])
    owner = np.where(a_ev, ev_no[parent], tr_no[parent])
    keys, vals, fp, quoted = _key_values(path, buf, lt[a], end[a], nl[a], mark, mt, li[a])
    first = np.zeros(a.size, bool)
    for part in (np.flatnonzero(a_ev), np.flatnonzero(~a_ev)):
        first[part] = _firsts(part, owner, fp, keys)
    is_name, is_time = (keys == "concept:name").to_numpy(), (keys == "time:timestamp").to_numpy()
    ev_rows, tr_rows = a_ev & first, ~a_ev & first
    act, raw_time = _pick(owner, ev_rows & is_name, vals, n_ev), _pick(owner, ev_rows & is_time, vals, n_ev)
    ident = pc.coalesce(*(_pick(owner, ev_rows & (keys == k).to_numpy(), vals, n_ev) for k in ("identity:id", "id")))
    case, times = _pick(owner, tr_rows & is_name, vals, n_tr), _dates(raw_time)
    r = np.flatnonzero(first & ~is_name & ~(is_time & a_ev))  # the rows that become JSON attributes
    frag = _fragments(kind[a][r], vals, r, *quoted(r))
    attrs, case_attrs = _objects(frag, owner[r], a_ev[r], n_ev), _objects(frag, owner[r], ~a_ev[r], n_tr)
    case_ev = case.take(pa.array(ev_trace, mask=ev_trace < 0))
    flags = [np.asarray(f.to_numpy(zero_copy_only=False), bool) for f in (
        pc.fill_null(pc.equal(pc.utf8_trim_whitespace(act), ""), True), pc.is_null(raw_time),
        pc.and_(pc.is_null(times), pc.is_valid(raw_time)), pc.is_null(case_ev))]
    bad = flags[0] | flags[1] | flags[2] | flags[3]
    key = pc.binary_join_element_wise(case_ev, act, pc.cast(times, pa.string()), pc.fill_null(attrs, ""), "\x1f")
    events = pa.table({"ord": pa.array(np.arange(n_ev)), "id": ident, "type": act, "time": times, "attributes": attrs,
                       "key": pc.if_else(pc.is_null(ident), key, pa.scalar(None, pa.string())), "object_id": case_ev})
    has_case = np.asarray(pc.is_valid(case).to_numpy(zero_copy_only=False), bool)
    refused = []
    if bad.any() or not has_case.all():  # refusals: position parts, reason, the element's attributes
        events, ko, vo = events.filter(pa.array(~bad)), keys.to_list(), vals.to_list()
        rows_of = (np.flatnonzero(~a_ev), np.flatnonzero(a_ev))

        def record(is_ev: bool, i: int) -> str:
            got, rows = {}, rows_of[is_ev]
            for j in rows[slice(*np.searchsorted(owner[rows], [i, i + 1]))]:
                got.setdefault(ko[j], vo[j])
            return json.dumps(got, ensure_ascii=False)

        runs = np.r_[True, ev_trace[1:] != ev_trace[:-1]] if n_ev else np.zeros(0, bool)
        rank = idx[:n_ev] - np.maximum.accumulate(np.where(runs, idx[:n_ev], 0)) + 1
        reasons = ("missing activity (concept:name)", "missing timestamp (time:timestamp)",
                   "unparsable timestamp {!r} (time:timestamp)", "missing case id (trace concept:name)")
        for i in np.flatnonzero(bad):
            why = "; ".join(w.format(raw_time[i].as_py()) for w, f in zip(reasons, flags) if f[i])
            refused.append((int(ev_trace[i]), case_ev[i].as_py(), int(rank[i]), int(i), why, record(True, i)))
        for t in np.flatnonzero(~has_case & ~np.isin(np.arange(n_tr), ev_trace)):
            refused.append((int(t), None, 0, -1, reasons[3], record(False, t)))
    objects = pa.table({"id": case, "attributes": case_attrs}).filter(pa.array(has_case))
    return {"events": events, "objects": objects, "refused": refused, "n_ev": n_ev, "n_tr": n_tr,
            "skipped": int((attr & (before >= 2)).sum() - used.sum())}


def _batch(parts: list[dict], object_type: str) -> Batch:
    """One Batch of all chunks, with file-wide ``ord`` and trace numbers."""
    ev_off = tr_off = 0
    events, refused = [], []
    for part in parts:
        events.append(part["events"].set_column(0, "ord", pc.add(part["events"]["ord"], ev_off)))
        for t, case, rank, i, reason, record in part["refused"]:
            refused.append((f"event {i + ev_off + 1} (outside any trace)" if t < 0 else f"trace {t + tr_off + 1}"
                            + (f" (case {case!r})" if case is not None else "") + (f" event {rank}" if i >= 0 else ""),
                            reason, record))
        ev_off, tr_off = ev_off + part["n_ev"], tr_off + part["n_tr"]
    ev, ob = pa.concat_tables(events), pa.concat_tables([part["objects"] for part in parts])
    typed = lambda n: pa.repeat(pa.scalar(object_type, pa.string()), n)  # noqa: E731
    links = pa.table({"event_ord": ev["ord"], "object_type": typed(ev.num_rows), "object_id": ev["object_id"],
                      "qualifier": pa.nulls(ev.num_rows, pa.string())})
    return Batch(events=ev, objects=ob.append_column("type", typed(ob.num_rows)), event_objects=links,
                 quarantine=Batch.refused(refused))


def read_xes(path: str | Path, store: Store, *, object_type: str = "case") -> ImportReport:
    """Import an XES log (``.xes`` or ``.xes.gz``): traces become ``object_type`` objects named by their
    ``concept:name``, events link to them. Exact semantics in the module docs.

    >>> import journeymine as jm
    >>> store = jm.connect(":memory:")
    >>> report = jm.read_xes("data/running-example/running-example.xes", store)
    >>> report.events_imported, report.objects_imported, report.refused
    (42, 6, 0)
    """
    p = check_source(path)
    parameters: dict[str, object] = {"object_type": object_type, "activity": "concept:name",
                                      "timestamp": "time:timestamp"}

    def batches():  # parsed inside Store.load, so the report's seconds cover the whole import
        pool = cf.ThreadPoolExecutor(2, thread_name_prefix="journeymine-xes")
        try:
            futures = [pool.submit(_scan, p, buf, n, 0 if i == 0 else 1, last)
                       for i, (buf, n, last) in enumerate(_chunks(p))]
            parts = [part for f in futures if (part := f.result()) is not None]
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        if skipped := sum(part["skipped"] for part in parts):
            log.warning("%s: %d list, container or nested attributes not imported", p.name, skipped)
        parameters["attributes_not_imported"] = skipped  # recorded when the import finishes
        yield _batch(parts, object_type)

    return store.load(batches(), source=str(p), format="xes", parameters=parameters)

"""The HTML skeleton of a report: escaping, number formats, tables, tiles, sections and the page.

Everything a report page needs is written into the one file: the CSS is inline, charts are inline SVG,
there is no script, no web font and no reference to any URL, so the file opens offline and can be
mailed or archived as it is. Text from the data (activity names, attribute values, titles) is always
escaped with :func:`esc`; characters XML cannot hold become U+FFFD, so an inline SVG stays well-formed.

Number formats (one place, used by every section, so a number reads the same everywhere):
:func:`fmt_int` ``12,345``; :func:`fmt_num` four significant digits (trailing zeros dropped), thousands
separated; :func:`fmt_pct` a share as ``12.3 %``; :func:`fmt_pp` a difference of shares as ``+9.1 pp``;
:func:`fmt_p` a p- or q-value as ``0.027`` or ``< 0.0001``;
:func:`fmt_seconds` a duration as ``45 s``, ``3.5 min``, ``2.0 h``, ``1.5 d``. ``None`` and NaN are ``–``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable, Iterable, Sequence

import pyarrow as pa

__all__ = ["Column", "Section", "esc", "fmt_int", "fmt_num", "fmt_p", "fmt_pct", "fmt_pp", "fmt_seconds", "page",
           "section", "table", "tiles"]

DASH = "\u2013"


@dataclasses.dataclass(frozen=True)
class Section:
    """One part of a report: ``id`` (the HTML id), ``title``, its ``html`` (a whole ``<section>``
    element) and ``rows``, the number of data rows it shows (0 when it shows an error or a note
    instead, whose text is then ``error``)."""

    id: str
    title: str
    html: str
    rows: int
    error: str | None = None


def _clean(text: str) -> str:
    return "".join(c if c in "\t\n\r" or " " <= c <= "\ud7ff" or "\ue000" <= c <= "\ufffd"
                   or c >= "\U00010000" else "\ufffd" for c in text)


def esc(value: object) -> str:
    """``value`` as text safe inside HTML/SVG elements and double-quoted attributes."""
    text = _clean(str(value))
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            .replace("'", "&#39;"))


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def fmt_int(value: object) -> str:
    """``12,345`` (rounded to a whole number)."""
    return DASH if _missing(value) else f"{round(float(value)):,}"


def fmt_num(value: object) -> str:
    """Four significant digits without trailing zeros, thousands separated: ``0.1235``, ``96.99``, ``12,346``."""
    if _missing(value):
        return DASH
    v = float(value)
    if v == 0:
        return "0"
    if abs(v) < 0.001:
        return f"{v:.2e}"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    decimals = max(0, 3 - math.floor(math.log10(abs(v))))
    text = f"{v:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def fmt_pct(value: object, decimals: int = 1) -> str:
    """A share (0..1) as a percentage: ``12.3 %``."""
    return DASH if _missing(value) else f"{100 * float(value):.{decimals}f} %"


def fmt_pp(value: object) -> str:
    """A difference of shares as signed percentage points: ``+9.1 pp``."""
    return DASH if _missing(value) else f"{100 * float(value):+.1f} pp"


def fmt_p(value: object) -> str:
    """A p- or q-value: two significant digits, ``< 0.0001`` below that."""
    if _missing(value):
        return DASH
    return "< 0.0001" if float(value) < 0.0001 else f"{float(value):.2g}"


def fmt_seconds(value: object) -> str:
    """A duration for people: ``45 s``, ``3.5 min``, ``2.0 h``, ``1.5 d``."""
    if _missing(value):
        return DASH
    v = float(value)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if abs(v) >= 2 * size:
            return f"{v / size:.1f} {unit}"
    return f"{v:.0f} s"


def _fmt_any(value: object) -> str:
    if _missing(value):
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return fmt_int(value)
    if isinstance(value, float):
        return fmt_num(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M") if (value.hour, value.minute) != (0, 0) else f"{value:%Y-%m-%d}"
    if isinstance(value, (list, tuple)):
        return " \u2192 ".join(str(v) for v in value)
    return str(value)


@dataclasses.dataclass(frozen=True)
class Column:
    """A table column: the row ``key``, its ``header``, how to format a value (default by type) and
    whether it holds numbers (right-aligned)."""

    key: str
    header: str
    fmt: Callable[[object], str] | None = None
    numeric: bool = True


def table(rows: pa.Table | Sequence[dict], columns: Sequence[Column], *, caption: str | None = None) -> str:
    """An HTML table of ``rows`` (a pyarrow.Table or dicts) showing ``columns``; values are escaped."""
    data = rows.to_pylist() if isinstance(rows, pa.Table) else list(rows)
    head = "".join(f'<th class="{"num" if c.numeric else "txt"}" scope="col">{esc(c.header)}</th>' for c in columns)
    body = []
    for r in data:
        cells = []
        for c in columns:
            value = r.get(c.key)
            text = (c.fmt or _fmt_any)(value)
            cells.append(f'<td class="{"num" if c.numeric else "txt"}">{esc(text)}</td>')
        body.append(f"<tr>{''.join(cells)}</tr>")
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return (f'<div class="table-wrap"><table>{cap}<thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>")


def tiles(items: Iterable[tuple[str, str, str]]) -> str:
    """Headline tiles, each (label, value, small print)."""
    parts = [f'<div class="tile"><div class="tile-label">{esc(label)}</div><div class="tile-value">{esc(value)}'
             f'</div><div class="tile-note">{esc(note)}</div></div>' for label, value, note in items]
    return f'<div class="tiles">{"".join(parts)}</div>'


def section(id: str, title: str, body: str, rows: int, *, intro: str | None = None, error: str | None = None
            ) -> Section:
    """A report section: ``<section id=... data-rows=N>`` with a heading, an optional intro line and
    ``body`` (trusted HTML built by this package), or the one-line ``error`` instead of a body."""
    lead = f'<p class="intro">{esc(intro)}</p>' if intro else ""
    if error is not None:
        body, rows = f'<p class="error">{esc(error)}</p>', 0
    html = (f'<section id="{esc(id)}" data-rows="{int(rows)}">\n<h2>{esc(title)}</h2>\n{lead}{body}\n</section>')
    return Section(id=id, title=title, html=html, rows=int(rows), error=error)


_CSS = """
:root { --ink: #1f2a36; --muted: #5f6b7a; --line: #d8dee6; --accent: #1c63a8; --bad: #b3261e; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       color: var(--ink); background: #f6f8fa; }
header { padding: 24px 32px 8px; }
header h1 { margin: 0 0 4px; font-size: 24px; }
header p { margin: 0; color: var(--muted); }
nav { padding: 4px 32px 12px; }
nav a { color: var(--accent); margin-right: 14px; text-decoration: none; }
main { padding: 0 32px 32px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 16px 20px;
          margin: 16px 0; }
section h2 { margin: 0 0 8px; font-size: 19px; }
section h3 { margin: 18px 0 6px; font-size: 15px; }
p.intro, p.summary { color: var(--muted); margin: 4px 0 10px; }
p.error, p.note { color: var(--bad); font-weight: 600; }
p.note { color: var(--muted); }
ul.sentences { margin: 6px 0 10px 18px; padding: 0; }
.table-wrap { overflow-x: auto; margin: 8px 0; }
table { border-collapse: collapse; font-size: 13px; }
caption { text-align: left; color: var(--muted); padding-bottom: 4px; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef2f6; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.txt, th.txt { text-align: left; }
.tiles { display: flex; flex-wrap: wrap; gap: 10px; margin: 6px 0 12px; }
.tile { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; min-width: 150px; background: #fbfcfd; }
.tile-label { color: var(--muted); font-size: 12px; }
.tile-value { font-size: 22px; font-weight: 600; }
.tile-note { color: var(--muted); font-size: 11px; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
svg.chart { display: block; max-width: 100%; height: auto; margin: 6px 0; }
.process-map svg { max-width: 100%; height: auto; }
footer { color: var(--muted); padding: 0 32px 24px; font-size: 12px; }
"""


def page(title: str, sections: Sequence[Section], *, subtitle: str = "", footer: str = "") -> str:
    """The whole self-contained HTML document: inline CSS, a table of contents and the sections."""
    nav = "".join(f'<a href="#{esc(s.id)}">{esc(s.title)}</a>' for s in sections)
    body = "\n".join(s.html for s in sections)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{esc(title)}</title>\n'
            f"<style>{_CSS}</style>\n</head>\n<body>\n<header><h1>{esc(title)}</h1><p>{esc(subtitle)}</p></header>\n"
            f"<nav>{nav}</nav>\n<main>\n{body}\n</main>\n<footer>{esc(footer)}</footer>\n</body>\n</html>\n")

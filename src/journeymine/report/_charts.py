"""Charts of a report as inline SVG, in pure Python: bars, a funnel, a line with a band, dots and whiskers.

Every chart is one ``<svg class="chart" ...>`` element sized by its ``viewBox`` (no script, no external
font or style: it renders offline and in any browser, and prints). The data marks carry the class
``mark`` (bars, funnel stages, line points, estimate dots and whiskers) and a ``<title>`` tooltip with
the exact label and value; labels and values are written as ``<text>``, escaped with :func:`esc`, and
long labels are shortened with an ellipsis (the tooltip keeps them whole). ``None`` and NaN values
draw no mark. Axes use "nice" ticks (1, 2 or 5 times a power of ten) that cover the data.

The functions take plain sequences, not result objects: the sections (``_sections``) pick the numbers
from the results and hand them over, so the same chart serves every analysis.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence

from ._page import esc, fmt_int, fmt_num

__all__ = ["bars", "dot_whisker", "funnel_chart", "line_chart"]

Fmt = Callable[[object], str]
FONT, SMALL = 12.0, 11.0
BLUE, GREY, ORANGE, RED = "#1c63a8", "#9aa5b1", "#e0641c", "#b3261e"
BAND = "#cfe1f2"


def _ok(v: object) -> bool:
    return v is not None and isinstance(v, (int, float)) and math.isfinite(float(v))


def _n(v: float) -> str:
    """A coordinate with at most one decimal."""
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _width(text: str, size: float = FONT) -> float:
    return 0.6 * size * len(text)


def _short(text: str, pixels: float, size: float = FONT) -> str:
    """``text`` cut with an ellipsis to about ``pixels`` wide."""
    room = max(int(pixels / (0.6 * size)), 4)
    return text if len(text) <= room else text[: room - 1] + "\u2026"


def _svg(width: float, height: float, title: str, body: list[str]) -> str:
    return (f'<svg class="chart" viewBox="0 0 {_n(width)} {_n(height)}" width="{_n(width)}" height="{_n(height)}" '
            f'role="img" aria-label="{esc(title)}" font-family="system-ui, Helvetica, Arial, sans-serif" '
            f'font-size="{_n(FONT)}"><title>{esc(title)}</title>{"".join(body)}</svg>')


def _text(x: float, y: float, text: str, *, anchor: str = "start", size: float = FONT, fill: str = "#1f2a36",
          cls: str = "label") -> str:
    return (f'<text class="{cls}" x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" font-size="{_n(size)}" '
            f'fill="{fill}">{esc(text)}</text>')


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Nice tick values covering ``lo..hi``."""
    if not hi > lo:
        lo, hi = (lo - 1, hi + 1) if lo == hi else (hi, lo)
    raw = (hi - lo) / n
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(lo / step) * step
    count = math.ceil((hi - first) / step - 1e-9)
    return [round(first + i * step, 12) for i in range(count + 1)]


def _thin(ticks: list[tuple[float, str]], size: float = SMALL, lo: float = 0.0, hi: float = math.inf
          ) -> list[tuple[float, str]]:
    """The (x, label) ticks that fit side by side, each kept inside ``lo..hi``, in order."""
    kept, right = [], -math.inf
    for x, label in ticks:
        half = _width(label, size) / 2
        x = min(max(x, lo + half), hi - half)
        if x - half >= right + 6:
            kept.append((x, label))
            right = x + half
    return kept


def _empty(title: str) -> str:
    return _svg(320, 40, title, [_text(8, 24, "no data", fill=GREY)])


def bars(labels: Sequence[str], values: Sequence[float | None], *, title: str, fmt: Fmt = fmt_num,
         horizontal: bool = True, width: float = 640, color: str = BLUE) -> str:
    """A bar per label; horizontal bars (labels left, values at the bar ends) or vertical columns."""
    labels = [str(x) for x in labels]
    if not labels:
        return _empty(title)
    finite = [float(v) for v in values if _ok(v)]
    lo, hi = min([0.0, *finite]), max([0.0, *finite])
    hi = hi if hi > lo else lo + 1
    body = []
    if horizontal:
        label_w = min(max(_width(x) for x in labels) + 10, width * 0.45)
        value_w = max([_width(fmt(v)) for v in values] + [30]) + 8
        plot_w = width - label_w - value_w - 8
        row, top = 22.0, 6.0
        height = top + row * len(labels) + 6

        def sx(v: float) -> float:
            return label_w + (v - lo) / (hi - lo) * plot_w

        for i, (label, v) in enumerate(zip(labels, values)):
            y = top + i * row
            body.append(_text(label_w - 6, y + 15, _short(label, label_w - 8), anchor="end"))
            if _ok(v):
                x0, x1 = sorted((sx(0.0), sx(float(v))))
                body.append(f'<rect class="mark" x="{_n(x0)}" y="{_n(y + 3)}" width="{_n(max(x1 - x0, 0.5))}" '
                            f'height="{_n(row - 6)}" fill="{color}"><title>{esc(label)}: {esc(fmt(v))}</title></rect>')
                body.append(_text(max(x1, sx(0.0)) + 4, y + 15, fmt(v), size=SMALL, cls="value"))
        return _svg(width, height, title, body)
    plot_h, top, bottom = 180.0, 18.0, 34.0
    slot = (width - 20) / len(labels)
    height = top + plot_h + bottom

    def sy(v: float) -> float:
        return top + (hi - v) / (hi - lo) * plot_h

    for i, (label, v) in enumerate(zip(labels, values)):
        x = 10 + i * slot
        if _ok(v):
            y0, y1 = sorted((sy(0.0), sy(float(v))))
            body.append(f'<rect class="mark" x="{_n(x + slot * 0.15)}" y="{_n(y0)}" width="{_n(slot * 0.7)}" '
                        f'height="{_n(max(y1 - y0, 0.5))}" fill="{color}"><title>{esc(label)}: {esc(fmt(v))}</title></rect>')
            body.append(_text(x + slot / 2, y0 - 4, fmt(v), anchor="middle", size=SMALL, cls="value"))
        body.append(_text(x + slot / 2, top + plot_h + 16, _short(label, slot - 4, SMALL), anchor="middle", size=SMALL))
    return _svg(width, height, title, body)


def funnel_chart(labels: Sequence[str], counts: Sequence[int], *, title: str, width: float = 640) -> str:
    """A centred bar per step, width proportional to its count, with the count and the share of the
    first step; grey trapezoids between the steps show what is lost."""
    labels = [str(x) for x in labels]
    if not labels or not counts or not counts[0]:
        return _empty(title)
    label_w = min(max(_width(x) for x in labels) + 12, width * 0.4)
    plot_w = width - label_w - 10
    row, gap, top = 26.0, 12.0, 6.0
    height = top + len(labels) * (row + gap)
    centre = label_w + plot_w / 2
    body, prev = [], None
    for i, (label, n) in enumerate(zip(labels, counts)):
        y = top + i * (row + gap)
        w = max(plot_w * n / counts[0], 1.0)
        if prev is not None:
            body.append(f'<polygon class="connector" points="{_n(centre - prev / 2)},{_n(y - gap)} '
                        f'{_n(centre + prev / 2)},{_n(y - gap)} {_n(centre + w / 2)},{_n(y)} {_n(centre - w / 2)},'
                        f'{_n(y)}" fill="#e6ebf0"/>')
        share = n / counts[0]
        note = f"{fmt_int(n)} ({100 * share:.1f} %)"
        body.append(f'<rect class="mark" x="{_n(centre - w / 2)}" y="{_n(y)}" width="{_n(w)}" height="{_n(row)}" '
                    f'fill="{BLUE}"><title>{esc(label)}: {esc(note)}</title></rect>')
        body.append(_text(label_w - 8, y + 17, _short(label, label_w - 10), anchor="end"))
        inside = _width(note, SMALL) + 8 < w
        body.append(_text(centre if inside else centre + w / 2 + 4, y + 17, note, anchor="middle" if inside else "start",
                          size=SMALL, fill="#ffffff" if inside else "#1f2a36", cls="value"))
        prev = w
    return _svg(width, height, title, body)


def _x_number(x: object) -> float:
    if isinstance(x, dt.datetime):
        return x.replace(tzinfo=dt.UTC).timestamp() if x.tzinfo is None else x.timestamp()
    if isinstance(x, dt.date):
        return dt.datetime(x.year, x.month, x.day, tzinfo=dt.UTC).timestamp()
    return float(x)


def _x_label(x: object) -> str:
    return f"{x:%Y-%m-%d}" if isinstance(x, dt.date) else fmt_num(x)


def line_chart(x: Sequence[object], series: Sequence[tuple[str, Sequence[float | None]]], *, title: str,
               band: tuple[Sequence[float | None], Sequence[float | None]] | None = None, fmt: Fmt = fmt_num,
               marker: tuple[object, str] | None = None, width: float = 640, height: float = 240,
               points: Sequence[bool] | None = None) -> str:
    """Lines over ``x`` (dates or numbers): ``series`` are (name, values); the first is drawn with a
    shaded ``band`` (lows, highs) when given; ``marker`` (x, text) draws a dashed vertical line.
    ``points[i]`` draws series i as dots (default: the first series has dots, the others are plain)."""
    xs = [_x_number(v) for v in x]
    ys = [float(v) for _, vals in series for v in vals if _ok(v)]
    if band is not None:
        ys += [float(v) for part in band for v in part if _ok(v)]
    if not xs or not ys:
        return _empty(title)
    left = max(_width(fmt(v), SMALL) for v in _ticks(min(ys), max(ys))) + 12
    top, right, bottom = 10.0, 12.0, 48.0
    plot_w, plot_h = width - left - right, height - top - bottom
    yt = _ticks(min(ys), max(ys))
    x_lo, x_hi = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1

    def sx(v: float) -> float:
        return left + (v - x_lo) / (x_hi - x_lo) * plot_w

    def sy(v: float) -> float:
        return top + (yt[-1] - v) / (yt[-1] - yt[0]) * plot_h

    body = []
    for t in yt:
        body.append(f'<line x1="{_n(left)}" x2="{_n(left + plot_w)}" y1="{_n(sy(t))}" y2="{_n(sy(t))}" '
                    f'stroke="#e6ebf0"/>')
        body.append(_text(left - 6, sy(t) + 4, fmt(t), anchor="end", size=SMALL, fill="#5f6b7a", cls="tick"))
    every = sorted({0, *range(0, len(x), max(1, math.ceil(len(x) / 6)))})
    for at, label in _thin([(sx(xs[i]), _x_label(x[i])) for i in every], lo=0.0, hi=width):
        body.append(_text(at, top + plot_h + 16, label, anchor="middle", size=SMALL, fill="#5f6b7a", cls="tick"))
    if band is not None:
        pts = [(sx(xs[i]), sy(float(lo)), sy(float(hi))) for i, (lo, hi) in enumerate(zip(*band))
               if _ok(lo) and _ok(hi)]
        if pts:
            ring = [f"{_n(a)},{_n(b)}" for a, b, _ in pts] + [f"{_n(a)},{_n(c)}" for a, _, c in reversed(pts)]
            body.append(f'<polygon class="band" points="{" ".join(ring)}" fill="{BAND}" fill-opacity="0.7"/>')
    colors = (BLUE, ORANGE, GREY, RED)
    legend_x = left
    for k, (name, vals) in enumerate(series):
        color = colors[k % len(colors)]
        dots = points[k] if points is not None else k == 0
        runs, run = [], []
        for i, v in enumerate(vals):
            if _ok(v):
                run.append((sx(xs[i]), sy(float(v)), x[i], v))
            elif run:
                runs.append(run)
                run = []
        runs += [run] if run else []
        for r in runs:
            path = "M" + " L".join(f"{_n(a)},{_n(b)}" for a, b, _, _ in r)
            body.append(f'<path class="line" d="{path}" fill="none" stroke="{color}" stroke-width="{2 if k else 1.5}"/>')
            if dots:
                body += [f'<circle class="mark" cx="{_n(a)}" cy="{_n(b)}" r="2.5" fill="{color}"><title>'
                         f'{esc(_x_label(xv))}: {esc(fmt(v))}</title></circle>' for a, b, xv, v in r]
        label = _short(name, width - legend_x - 20, SMALL)
        body.append(f'<rect x="{_n(legend_x)}" y="{_n(height - 14)}" width="12" height="4" fill="{color}"/>')
        body.append(_text(legend_x + 16, height - 9, label, size=SMALL, cls="legend"))
        legend_x += _width(label, SMALL) + 36
    if marker is not None:
        mx = sx(_x_number(marker[0]))
        body.append(f'<line class="marker" x1="{_n(mx)}" x2="{_n(mx)}" y1="{_n(top)}" y2="{_n(top + plot_h)}" '
                    f'stroke="{RED}" stroke-dasharray="4 3"/>')
        body.append(_text(mx + 4, top + 12, marker[1], size=SMALL, fill=RED))
    return _svg(width, height, title, body)


def dot_whisker(labels: Sequence[str], estimates: Sequence[float | None], lows: Sequence[float | None],
                highs: Sequence[float | None], *, title: str, fmt: Fmt = fmt_num, zero: float | None = 0.0,
                width: float = 640) -> str:
    """An estimate per label as a dot with its 95 % interval as a whisker, on one shared axis; a dashed
    line at ``zero`` (no effect); the estimate and interval are written at the right."""
    labels = [str(x) for x in labels]
    vals = [float(v) for v in (*estimates, *lows, *highs) if _ok(v)] + ([zero] if zero is not None else [])
    if not labels or not vals:
        return _empty(title)
    ticks = _ticks(min(vals), max(vals), 4)
    label_w = min(max(_width(x) for x in labels) + 10, width * 0.45)
    notes = [f"{fmt(e)} [{fmt(lo)}, {fmt(hi)}]" for e, lo, hi in zip(estimates, lows, highs)]
    note_w = max(_width(n, SMALL) for n in notes) + 10
    plot_w = width - label_w - note_w - 10
    row, top = 24.0, 8.0
    height = top + row * len(labels) + 24

    def sx(v: float) -> float:
        return label_w + (v - ticks[0]) / (ticks[-1] - ticks[0]) * plot_w

    body = []
    for t in ticks:
        body.append(f'<line x1="{_n(sx(t))}" x2="{_n(sx(t))}" y1="{_n(top)}" y2="{_n(height - 20)}" stroke="#eef2f6"/>')
    for at, label in _thin([(sx(t), fmt(t)) for t in ticks]):
        body.append(_text(at, height - 6, label, anchor="middle", size=SMALL, fill="#5f6b7a", cls="tick"))
    if zero is not None:
        body.append(f'<line class="zero" x1="{_n(sx(zero))}" x2="{_n(sx(zero))}" y1="{_n(top)}" '
                    f'y2="{_n(height - 20)}" stroke="{GREY}" stroke-dasharray="4 3"/>')
    for i, (label, e, lo, hi, note) in enumerate(zip(labels, estimates, lows, highs, notes)):
        y = top + i * row + row / 2
        body.append(_text(label_w - 8, y + 4, _short(label, label_w - 10), anchor="end"))
        tip = f"<title>{esc(label)}: {esc(note)}</title>"
        if _ok(lo) and _ok(hi):
            body.append(f'<line class="mark whisker" x1="{_n(sx(float(lo)))}" x2="{_n(sx(float(hi)))}" y1="{_n(y)}" '
                        f'y2="{_n(y)}" stroke="{BLUE}" stroke-width="2">{tip}</line>')
        if _ok(e):
            body.append(f'<circle class="mark dot" cx="{_n(sx(float(e)))}" cy="{_n(y)}" r="4.5" fill="{BLUE}">'
                        f"{tip}</circle>")
        body.append(_text(label_w + plot_w + 10, y + 4, note, size=SMALL, cls="value"))
    return _svg(width, height, title, body)

"""``draw_dfg``: a directly-follows graph as a standalone SVG process map, in pure Python.

Semantics. One rounded box per activity of a :class:`~journeymine.processes._dfg.DFG` (its name and
number of events), a green start circle above and a red end circle below, and one arrow per edge:
``a -> b`` for every directly-follows pair, ``start -> a`` for every start activity and ``a -> end``
for every end activity (dashed; their numbers are cases). ``measure="frequency"`` shades the boxes
light to dark blue by events (square root of events over the most frequent activity's) and labels and
shades the edges (light to dark grey) by count; ``measure="performance"`` leaves the boxes neutral,
labels the edges with their median waiting time ("45 s", "3.2 h", "2.1 d") and colours them grey (fast)
through orange to dark red (slow) on a log scale between the fastest and the slowest edge. In both, an
edge's width grows with the square root of its count, and every box and arrow has a ``<title>``
tooltip with the exact numbers.

Layout: :mod:`._layout` (cycles broken keeping heavy edges forward, longest-path layers, barycentre
crossing reduction, least-squares x placement). Edges going with the flow run downward as cubic Béziers
through the dummy nodes of the layers they cross; loop-backs leave and enter the boxes at their sides
and run upward; an activity that follows itself gets a small loop at the left of its box. No Graphviz
and no other binary: the SVG is written here, byte-identical for the same DFG. Boxes are
``<g class="node activity" data-activity=...>`` (``node start``, ``node end`` for the circles), arrows
``<g class="edge KIND" data-source=... data-target=...>`` with KIND ``flow``, ``back``, ``loop``,
``start`` or ``end``; text is escaped, characters XML cannot hold become U+FFFD.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import unicodedata
from pathlib import Path

import pyarrow as pa

from ..errors import ConfigError
from ..results import Result
from ._dfg import DFG
from ._layout import bezier_at, cubic_run, layered_layout, place_labels, route_edges

__all__ = ["ProcessMap", "draw_dfg"]

logger = logging.getLogger(__name__)

MEASURES = ("frequency", "performance")
FONT = "Helvetica, Arial, sans-serif"
NAME_SIZE, COUNT_SIZE, LABEL_SIZE = 12.0, 10.5, 10.5
PAD_X, PAD_Y, LINE, RADIUS, MARGIN, LOOP = 12.0, 7.0, 15.0, 15.0, 16.0, 30.0
NODE_SCALE = ("#f3f8fd", "#cfe1f2", "#93c3df", "#4a97c9", "#1c63a8", "#0a3a72")
GREY_SCALE = ("#b8b8b8", "#2e2e2e")
SLOW_SCALE = ("#b8b8b8", "#f0b43c", "#e0641c", "#c0282a", "#6e0b0b")
START_FILL, END_FILL, TERMINAL_EDGE = "#4caf50", "#d84a3f", "#9a9a9a"


@dataclasses.dataclass(frozen=True, eq=False)
class ProcessMap(Result):
    """A drawn DFG: the ``svg`` document (``width`` x ``height`` px), the ``measure`` it shows, and its
    layout: ``nodes`` (name, kind, x, y, width, height, layer, events; centres in SVG coordinates; start
    and end have no name and count cases) and ``edges`` (source, target, kind, count, label, colour,
    stroke_width)."""

    measure: str
    width: float
    height: float
    svg: str = dataclasses.field(repr=False)
    nodes: pa.Table = dataclasses.field(repr=False)
    edges: pa.Table = dataclasses.field(repr=False)

    def to_arrow(self) -> pa.Table:
        return self.nodes

    def to_dict(self) -> dict[str, object]:
        return {"measure": self.measure, "width": self.width, "height": self.height, "svg": self.svg,
                "nodes": self.nodes.to_pylist(), "edges": self.edges.to_pylist()}

    def save(self, path: str | Path) -> Path:
        """Write the SVG to ``path`` (UTF-8) and return the path."""
        path = Path(path)
        path.write_text(self.svg, encoding="utf-8")
        return path

    def _repr_svg_(self) -> str:
        return self.svg


def _clean(text: str) -> str:
    """``text`` with the characters XML 1.0 cannot hold replaced by U+FFFD."""
    return "".join(c if c in "\t\n\r" or " " <= c <= "\ud7ff" or "\ue000" <= c <= "\ufffd"
                   or c >= "\U00010000" else "\ufffd" for c in text)


def _esc(text: str, attr: bool = False) -> str:
    out = _clean(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if attr:
        out = out.replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")
    return out


def _char_em(c: str) -> float:
    """Advance of ``c`` in em, roughly DejaVu Sans (the widest common sans-serif, so text fits)."""
    if unicodedata.combining(c):
        return 0.0
    if unicodedata.east_asian_width(c) in "WF":
        return 1.0
    for chars, em in (("ijlI.,:;'|J", 0.31), (" ", 0.32), ("frt()[]-/!\"", 0.40), ("mwMW@%&<>", 0.95)):
        if c in chars:
            return em
    return 0.72 if c.isupper() else 0.64 if c.isdigit() else 0.60


def _text_width(text: str, size: float, bold: bool = False) -> float:
    return size * sum(_char_em(c) for c in text) * (1.1 if bold else 1.0)


def _wrap(name: str) -> list[str]:
    """``name`` on one line, or on two split at the space that balances them when it is long."""
    cuts = [i for i, c in enumerate(name) if c == " " and 0 < i < len(name) - 1]
    if _text_width(name, NAME_SIZE, True) <= 200 or not cuts:
        return [name]
    i = min(cuts, key=lambda k: (max(_text_width(name[:k], 1), _text_width(name[k + 1:], 1)), k))
    return [name[:i], name[i + 1:]]


def _human_seconds(seconds: float) -> str:
    """A waiting time for a label: ``"45 s"``, ``"12 min"``, ``"3.2 h"``, ``"2.1 d"``, ``"1.4 y"``."""
    if not math.isfinite(seconds):
        return "n/a"
    value, unit = seconds, "s"
    for name, size in (("y", 365.25 * 86400), ("d", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= size:
            value, unit = seconds / size, name
            break
    text = f"{value:.1f}" if value < 9.95 else f"{value:,.0f}"
    return f"{text.removesuffix('.0')} {unit}"


def _num(v: float) -> str:
    text = f"{v:.1f}"
    text = text[:-2] if text.endswith(".0") else text
    return "0" if text == "-0" else text


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _scale(stops: tuple[str, ...], t: float, steps: int = 0) -> str:
    """The colour at ``t`` in [0, 1] along ``stops`` (linear in RGB), optionally snapped to ``steps``."""
    t = min(max(t, 0.0), 1.0)
    if steps:
        t = round(t * steps) / steps
    k = min(int(t * (len(stops) - 1)), len(stops) - 2)
    f = t * (len(stops) - 1) - k
    a, b = _rgb(stops[k]), _rgb(stops[k + 1])
    return "#" + "".join(f"{round(x + (y - x) * f):02x}" for x, y in zip(a, b))


def _ink(fill: str) -> str:
    r, g, b = _rgb(fill)
    return "#ffffff" if 0.299 * r + 0.587 * g + 0.114 * b < 140 else "#1f2933"


@dataclasses.dataclass
class _Box:
    name: str | None
    kind: str  # activity, start, end
    events: int  # cases for start and end
    lines: list[str]
    width: float
    height: float


def _box(name: str, events: int) -> _Box:
    lines = _wrap(name)
    inner = max([_text_width(s, NAME_SIZE, True) for s in lines] + [_text_width(f"{events:,}", COUNT_SIZE)])
    return _Box(name, "activity", events, lines, max(64.0, inner + 2 * PAD_X),
                2 * PAD_Y + LINE * len(lines) + COUNT_SIZE + 3)


@dataclasses.dataclass
class _Edge:
    kind: str  # flow, back, loop, start, end
    u: int
    v: int
    row: dict | None  # the DFG edge row; None for start and end edges
    count: int
    colour: str = ""
    width: float = 1.0
    label: str = ""
    start: tuple[float, float] = (0.0, 0.0)
    segs: list = dataclasses.field(default_factory=list)
    at: tuple[float, float] = (0.0, 0.0)  # label centre

    @property
    def arrow(self) -> float:
        return 6.0 + 1.2 * self.width


def _check(dfg: object, measure: object) -> None:
    if measure not in MEASURES:
        raise ConfigError(f"The 'measure' parameter of draw_dfg must be one of {', '.join(map(repr, MEASURES))}. "
                          f"Got {measure!r} instead.", field="measure")
    if not isinstance(dfg, DFG):
        raise ConfigError(f"The 'dfg' parameter of draw_dfg must be a DFG (from discover_dfg). "
                          f"Got {type(dfg).__name__} instead.", field="dfg")


def _style(edges: list[_Edge], perf: bool) -> None:
    """Colour, width and label of every edge (see the module docs)."""
    biggest = max([e.count for e in edges] + [1])
    logs = [math.log1p(max(e.row["median_seconds"], 0.0)) for e in edges
            if e.row is not None and math.isfinite(e.row["median_seconds"])]
    lo, hi = min(logs, default=0.0), max(logs, default=0.0)
    for e in edges:
        e.width = round((1.0 + 5.5 * math.sqrt(e.count / biggest)) * 2) / 2
        if e.row is None:
            e.colour, e.label = TERMINAL_EDGE, "" if perf else f"{e.count:,}"
        elif perf:
            median = e.row["median_seconds"]
            t = (math.log1p(max(median, 0.0)) - lo) / (hi - lo) if hi > lo and math.isfinite(median) else 0.0
            e.colour, e.label = _scale(SLOW_SCALE, t, 8), _human_seconds(median)
        else:
            e.colour, e.label = _scale(GREY_SCALE, math.sqrt(e.count / biggest), 8), f"{e.count:,}"


def draw_dfg(dfg: DFG, *, measure: str = "frequency") -> ProcessMap:
    """Draw ``dfg`` as an SVG process map, top to bottom, without Graphviz (details in the module docs).

    Drawn: a rounded box per activity (name and events), a start circle above and an end circle below
    them, an arrow per directly-follows edge (downward along the flow; up along the sides when it loops
    back, as chosen by the layout's cycle breaking; a small loop left of the box when an activity
    follows itself) and a dashed arrow per start and end activity. ``measure="frequency"``: boxes light
    to dark blue by events, edges labelled with and shaded by their count. ``measure="performance"``:
    neutral boxes, edges labelled with their median waiting time and coloured grey (fast) to dark red
    (slow). Widths follow counts in both; ``<title>`` tooltips give the exact numbers. Same DFG, same
    bytes. A DFG without events gives a small SVG that says so.

    >>> import journeymine as jm
    >>> store = jm.connect(":memory:")
    >>> _ = jm.read_csv("data/running-example/running-example.csv", store, activity_col="concept:name",
    ...                 timestamp_col="time:timestamp", case_col="case:concept:name")
    >>> pic = jm.draw_dfg(jm.discover_dfg(store))
    >>> pic.svg.startswith("<svg")
    True
    >>> pic.nodes.num_rows, pic.edges.num_rows  # 8 activities + start + end; 16 edges + 1 start + 2 ends
    (10, 19)
    """
    _check(dfg, measure)
    rows = dfg.edges.select(["source", "target", "count", "cases", "mean_seconds", "median_seconds",
                             "p90_seconds"]).to_pylist()
    names = list(dict.fromkeys([*dfg.activities, *(r[c] for r in rows for c in ("source", "target")),
                                *dfg.start, *dfg.end]))
    if not names:
        return _empty(measure)
    k, index = len(names), {a: i for i, a in enumerate(names)}
    boxes = [_box(a, dfg.activities.get(a, 0)) for a in names]
    boxes += [_Box(None, kind, sum(ends.values()), [], 2 * RADIUS, 2 * RADIUS)
              for kind, ends in (("start", dfg.start), ("end", dfg.end))]
    edges = [_Edge("loop" if r["source"] == r["target"] else "flow", index[r["source"]], index[r["target"]], r,
                   r["count"]) for r in rows]
    edges += [_Edge("start", k, index[a], None, n) for a, n in dfg.start.items()]
    edges += [_Edge("end", index[a], k + 1, None, n) for a, n in dfg.end.items()]
    _style(edges, measure == "performance")

    room = {e.u: LOOP + 6 + _text_width(e.label, LABEL_SIZE) for e in edges if e.kind == "loop"}
    extents = [(b.width / 2 + room.get(i, 0.0), b.width / 2, b.height) for i, b in enumerate(boxes)]
    laid = [e for e in edges if e.kind != "loop"]
    lay = layered_layout(extents, [(e.u, e.v, float(e.count)) for e in laid], first=k, last=k + 1)
    routes = route_edges(lay, [b.width for b in boxes], [b.height for b in boxes],
                         [0.7 * b.width if b.kind == "activity" else 0.0 for b in boxes], [e.arrow for e in laid])
    for e, (upward, start, segs) in zip(laid, routes):
        e.start, e.segs = start, segs
        e.kind = "back" if upward else e.kind
    candidates = []
    for e in edges:
        if e.kind == "loop":
            xl, y, s = lay.x[e.u] - boxes[e.u].width / 2, lay.y[e.u], math.hypot(1.0, 0.6)
            e.start, e.segs = cubic_run([(xl, y - 6, -1 / s, -0.6 / s), (xl, y + 6, 1 / s, -0.6 / s)],
                                        e.arrow, 40.0)
            half = _text_width(e.label, LABEL_SIZE) / 2
            candidates.append([(xl - LOOP - 2 - half, y), (xl - half, y - 22), (xl - half, y + 22)])
        else:
            mid = (len(e.segs) - 1) / 2
            near = sorted(range(len(e.segs)), key=lambda i: (abs(i - mid), i))[:3]
            candidates.append([bezier_at(e.segs[i], t) for i in near for t in (0.5, 0.3, 0.7)])
    sizes = [(_text_width(e.label, LABEL_SIZE) + 4, LABEL_SIZE + 3) for e in edges]
    obstacles = [(lay.x[v] - b.width / 2, lay.y[v] - b.height / 2, lay.x[v] + b.width / 2, lay.y[v] + b.height / 2)
                 for v, b in enumerate(boxes)]
    order = sorted((i for i, e in enumerate(edges) if e.label), key=lambda i: (-edges[i].count, i))
    for e, at in zip(edges, place_labels(candidates, sizes, obstacles, order)):
        e.at = at
    return _emit(dfg, measure, boxes, lay, edges, obstacles, sizes)


def _edge_title(e: _Edge, boxes: list[_Box]) -> str:
    if e.kind == "start":
        return f"start → {boxes[e.v].name}\n{e.count:,} cases start here"
    if e.kind == "end":
        return f"{boxes[e.u].name} → end\n{e.count:,} cases end here"
    r = e.row
    times = ", ".join(f"{what} {_human_seconds(r[col])} ({r[col]:,.1f} s)" for what, col in
                      (("median", "median_seconds"), ("mean", "mean_seconds"), ("90th percentile", "p90_seconds")))
    return f"{r['source']} → {r['target']}\n{e.count:,} times in {r['cases']:,} cases\nwaiting time: {times}"


def _marker(e: _Edge) -> str:
    return f"jm-arrow-{e.colour[1:]}-{round(e.width * 10)}"


def _edge_svg(e: _Edge, boxes: list[_Box], pt) -> str:
    ends = (("source", None if e.kind == "start" else boxes[e.u].name),
            ("target", None if e.kind == "end" else boxes[e.v].name))
    attrs = "".join(f' data-{key}="{_esc(val, True)}"' for key, val in ends if val is not None)
    d = f"M{pt(e.start)} " + " ".join(f"C{pt(c1)} {pt(c2)} {pt(p)}" for _, c1, c2, p in e.segs)
    dash = ' stroke-dasharray="5 4"' if e.kind in ("start", "end") else ""
    out = (f'<g class="edge {e.kind}"{attrs} data-count="{e.count}"><title>{_esc(_edge_title(e, boxes))}</title>\n'
           f'<path d="{d}" fill="none" stroke="{e.colour}" stroke-width="{_num(e.width)}"{dash} '
           f'marker-end="url(#{_marker(e)})"/>\n')
    if e.label:
        x, y = pt((e.at[0], e.at[1] + LABEL_SIZE * 0.35)).split(",")
        out += (f'<text x="{x}" y="{y}" text-anchor="middle" font-size="{_num(LABEL_SIZE)}" fill="#333333" '
                f'stroke="#ffffff" stroke-width="3" stroke-linejoin="round" paint-order="stroke">'
                f'{_esc(e.label)}</text>\n')
    return out + "</g>"


def _node_svg(b: _Box, cx: float, cy: float, fill: str, stroke: str, dfg: DFG) -> str:
    if b.kind != "activity":
        mark = (f'<path d="M{_num(cx - 4)},{_num(cy - 6)} L{_num(cx + 7)},{_num(cy)} L{_num(cx - 4)},{_num(cy + 6)} z"'
                if b.kind == "start" else f'<rect x="{_num(cx - 5)}" y="{_num(cy - 5)}" width="10" height="10"')
        return (f'<g class="node {b.kind}" data-cases="{b.events}"><title>{b.kind}\n{b.events:,} cases</title>\n'
                f'<circle cx="{_num(cx)}" cy="{_num(cy)}" r="{_num(RADIUS)}" fill="{fill}"/>'
                f'{mark} fill="#ffffff"/></g>')
    ink, top = _ink(fill), cy - b.height / 2
    tip = f"{b.name}\n{b.events:,} events"
    tip += f"\nfirst in {dfg.start[b.name]:,} cases" if dfg.start.get(b.name) else ""
    tip += f"\nlast in {dfg.end[b.name]:,} cases" if dfg.end.get(b.name) else ""
    out = [f'<g class="node activity" data-activity="{_esc(b.name, True)}" data-events="{b.events}">'
           f'<title>{_esc(tip)}</title>',
           f'<rect x="{_num(cx - b.width / 2)}" y="{_num(top)}" width="{_num(b.width)}" height="{_num(b.height)}" '
           f'rx="6" fill="{fill}" stroke="{stroke}" stroke-width="1"/>']
    out += [f'<text x="{_num(cx)}" y="{_num(top + PAD_Y + LINE * i + 11)}" text-anchor="middle" '
            f'font-size="{_num(NAME_SIZE)}" font-weight="bold" fill="{ink}">{_esc(line)}</text>'
            for i, line in enumerate(b.lines)]
    out.append(f'<text class="count" x="{_num(cx)}" y="{_num(top + PAD_Y + LINE * len(b.lines) + COUNT_SIZE)}" '
               f'text-anchor="middle" font-size="{_num(COUNT_SIZE)}" fill="{ink}">{b.events:,}</text></g>')
    return "\n".join(out)


def _emit(dfg: DFG, measure: str, boxes: list[_Box], lay, edges: list[_Edge], obstacles: list,
          sizes: list) -> ProcessMap:
    """The SVG document and the layout tables, all shifted so that the drawing starts at the margin."""
    perf = measure == "performance"
    hull = [p for box in obstacles for p in (box[:2], box[2:])]
    for e, (w, h) in zip(edges, sizes):
        hull += [e.start] + [p for s in e.segs for p in s[1:]]
        if e.label:
            hull += [(e.at[0] - w / 2, e.at[1] - h / 2), (e.at[0] + w / 2, e.at[1] + h / 2)]
    minx, miny = min(p[0] for p in hull), min(p[1] for p in hull)
    ox, oy = MARGIN - minx, MARGIN - miny
    width = float(math.ceil(max(p[0] for p in hull) - minx + 2 * MARGIN))
    height = float(math.ceil(max(p[1] for p in hull) - miny + 2 * MARGIN))

    def pt(p: tuple[float, float]) -> str:
        return f"{_num(p[0] + ox)},{_num(p[1] + oy)}"

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_num(width)}" height="{_num(height)}" '
           f'viewBox="0 0 {_num(width)} {_num(height)}" class="jm-process-map" data-measure="{measure}" '
           f'font-family="{FONT}">', "<defs>"]
    for e in sorted({_marker(e): e for e in edges}.values(), key=_marker):
        a, h = e.arrow, 3.0 + 0.8 * e.width
        out.append(f'<marker id="{_marker(e)}" viewBox="0 0 {_num(a)} {_num(2 * h)}" refX="0" refY="{_num(h)}" '
                   f'markerWidth="{_num(a)}" markerHeight="{_num(2 * h)}" markerUnits="userSpaceOnUse" '
                   f'orient="auto"><path d="M0,0 L{_num(a)},{_num(h)} L0,{_num(2 * h)} z" fill="{e.colour}"/></marker>')
    out += ["</defs>", f'<rect class="background" width="{_num(width)}" height="{_num(height)}" fill="#ffffff"/>',
            '<g class="edges">', *(_edge_svg(e, boxes, pt) for e in edges), "</g>", '<g class="nodes">']
    most = max([b.events for b in boxes if b.kind == "activity"] + [1])
    for v, b in enumerate(boxes):
        fill = {"start": START_FILL, "end": END_FILL}.get(b.kind) or (
            "#f4f4f4" if perf else _scale(NODE_SCALE, math.sqrt(b.events / most)))
        out.append(_node_svg(b, lay.x[v] + ox, lay.y[v] + oy, fill, "#8c8c8c" if perf else "#3d6690", dfg))
    out += ["</g>", "</svg>", ""]
    logger.debug("drew %d boxes and %d edges on %s x %s px", len(boxes), len(edges), width, height)
    return ProcessMap(measure=measure, width=width, height=height, svg="\n".join(out),
                      nodes=_node_table(boxes, [x + ox for x in lay.x], [y + oy for y in lay.y], lay.layer),
                      edges=_edge_table(edges, boxes))


def _node_table(boxes: list[_Box], x: list[float], y: list[float], layer: list[int]) -> pa.Table:
    n = len(boxes)
    return pa.table({"name": pa.array([b.name for b in boxes], pa.string()),
                     "kind": pa.array([b.kind for b in boxes], pa.string()),
                     "x": pa.array(x[:n], pa.float64()), "y": pa.array(y[:n], pa.float64()),
                     "width": pa.array([b.width for b in boxes], pa.float64()),
                     "height": pa.array([b.height for b in boxes], pa.float64()),
                     "layer": pa.array(layer[:n], pa.int64()),
                     "events": pa.array([b.events for b in boxes], pa.int64())})


def _edge_table(edges: list[_Edge], boxes: list[_Box]) -> pa.Table:
    columns = {"source": [None if e.kind == "start" else boxes[e.u].name for e in edges],
               "target": [None if e.kind == "end" else boxes[e.v].name for e in edges],
               "kind": [e.kind for e in edges], "count": [e.count for e in edges], "label": [e.label for e in edges],
               "colour": [e.colour for e in edges], "stroke_width": [e.width for e in edges]}
    types = {"count": pa.int64(), "stroke_width": pa.float64()}
    return pa.table({c: pa.array(v, types.get(c, pa.string())) for c, v in columns.items()})


def _empty(measure: str) -> ProcessMap:
    """The picture of a DFG without events: a short note, and empty tables."""
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="240" height="60" viewBox="0 0 240 60" '
           f'class="jm-process-map" data-measure="{measure}" font-family="{FONT}">\n'
           '<rect class="background" width="240" height="60" fill="#ffffff"/>\n'
           '<text class="empty" x="120" y="34" text-anchor="middle" font-size="13" fill="#555555">'
           'No events to draw</text>\n</svg>\n')
    return ProcessMap(measure=measure, width=240.0, height=60.0, svg=svg, nodes=_node_table([], [], [], []),
                      edges=_edge_table([], []))

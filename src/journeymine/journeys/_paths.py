"""``jm.paths`` and ``jm.step_matrix``: what actors do after (or before) an anchor event, step by step.

Exact semantics (``docs/paths.md`` has worked examples). Each actor of the counting unit has its
events in time order, ties by load order. Two optional clean-ups come first, in this order:
``exclude`` removes the events matching any of its steps (as if never recorded), and
``collapse_repeats=True`` keeps only the first event of each run of consecutive events of the same
type (``a a b a`` becomes ``a b a``; types are compared, not attributes). Then:

- **Anchor.** ``occurrence="first"`` anchors an actor at its first event matching ``anchor``,
  ``"last"`` at its last one. Actors without an anchor are left out, and every share is relative to
  the actors with one (``actors_total``). Each actor has one path; for one path per visit count
  ``by="session"``.
- **Steps.** Forward step k is the k-th event after the anchor in that order. An event at the same
  time as the anchor but loaded after it counts as after it. Backward step k is the k-th event before
  the anchor and is numbered -k. Step 0 is the anchor.
- **Ends.** If a journey ends before step k, the path gets the node ``(end)`` at step k and stops
  there. Going backward, the node is ``(start)``. A period bound (``start=``/``end=``) ends a journey too.
- **Folding.** With ``top=N``, at each step the N event types with the most actors keep their names
  (ties broken by name) and the others become ``other``. ``(end)`` and ``(start)`` are never folded.
  Folding is done per step, so a link ``other -> x`` gathers every folded event at that step.
- **Output.** ``nodes`` (step, event, actors, share); ``links`` from a node at step s to one at
  step s + 1, in time order (so backward links run from -k-1 to -k); ``paths``: each actor's folded
  path from its earliest step to its latest, counted and ranked by actors. Ties are ranked by the
  labels compared step by step in time order, alphabetically (a missing step sorts first).

:func:`step_matrix` gives the share of actors whose k-th event is e. Without an anchor, k counts from
the start of the journey (step 1 is the first event). With an anchor, k counts after the anchor and
``before=B`` adds columns -B..-1 before it. A journey that is too short is padded with ``(end)``
(and with ``(start)`` before the anchor), so every column sums to 1; this is retentioneering's ENDED.
"""

from __future__ import annotations

import dataclasses
import logging
import time as _time
from collections.abc import Iterable, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ConfigError
from ..results import Result, Segment
from ..store import Store
from ..timespan import parse_instant
from ._steps import Step, attribute_names, match, parse_steps
from ._units import Sequences, load, parse_unit

__all__ = ["PathsResult", "StepMatrix", "paths", "step_matrix"]

logger = logging.getLogger(__name__)

END_LABEL, START_LABEL, OTHER_LABEL, ARROW = "(end)", "(start)", "other", " → "
_END, _START, _OTHER, _ANCHOR, _NONE = -1, -2, -3, -4, -5  # codes beside the event type codes (>= 0)
DIRECTIONS, OCCURRENCES = ("forward", "backward"), ("first", "last")
I64, STR, F64 = pa.int64(), pa.string(), pa.float64()
NODE_SCHEMA = pa.schema([("node", I64), ("step", I64), ("event", STR), ("actors", I64), ("share", F64)])
LINK_SCHEMA = pa.schema([("step", I64), ("source", STR), ("target", STR), ("source_node", I64),
                         ("target_node", I64), ("actors", I64), ("share", F64)])
PATH_SCHEMA = pa.schema([("path", STR), ("length", I64), ("actors", I64), ("share", F64)])


@dataclasses.dataclass(frozen=True, eq=False)
class PathsResult(Result):
    """Paths from (or to) an anchor: Sankey-ready ``nodes`` and ``links``, and the counted ``paths``.

    ``nodes``: ``node`` (an id, 0..), ``step``, ``event``, ``actors``, ``share``. ``links``: ``step``
    (the source's step; the target is at step + 1), ``source``, ``target``, ``source_node``,
    ``target_node``, ``actors``, ``share``. ``paths``: ``path`` (labels joined by " → " in time order),
    ``length`` (events besides the anchor, not counting ``(end)``/``(start)``), ``actors``, ``share``. It
    holds the ``max_paths`` most common paths; ``paths_distinct`` says how many there were. ``actors``
    has one row per actor: ``object_code`` (and ``session_start``), ``anchor_time`` and a ``step_K``
    column with the folded label of each step (null past the path's end).
    """

    anchor: str
    direction: str
    steps: int
    top: int | None
    occurrence: str
    collapse_repeats: bool
    exclude: tuple[str, ...]
    by: str
    object_type: str
    actors_total: int
    actors_seen: int
    paths_distinct: int
    nodes: pa.Table = dataclasses.field(repr=False)
    links: pa.Table = dataclasses.field(repr=False)
    paths: pa.Table = dataclasses.field(repr=False)
    actors: pa.Table = dataclasses.field(repr=False)

    def to_arrow(self) -> pa.Table:
        """The links table (one row per link of the Sankey diagram)."""
        return self.links

    def to_dict(self) -> dict[str, object]:
        keys = ("anchor", "direction", "steps", "top", "occurrence", "collapse_repeats", "by", "actors_total",
                "actors_seen", "paths_distinct")
        return {**{k: getattr(self, k) for k in keys}, "exclude": list(self.exclude),
                "nodes": self.nodes.to_pylist(), "links": self.links.to_pylist(), "paths": self.paths.to_pylist()}

    def at(self, step: int, event: str) -> Segment:
        """The actors at node (``step``, ``event``), e.g. ``at(1, "other")``; (0, anchor) is every actor."""
        column = f"step_{step}"
        if isinstance(step, bool) or not isinstance(step, int) or (step and column not in self.actors.column_names):
            raise ConfigError(f"The step parameter must be a step of these paths (0, and 1..{self.steps} forward or "
                              f"-{self.steps}..-1 backward). Got {step!r} instead.", field="step")
        keep = (np.full(self.actors.num_rows, event == self.anchor) if step == 0 else
                pc.equal(self.actors.column(column).cast(pa.string()), event).fill_null(False).to_numpy(False))
        starts = self.actors.column("session_start").cast(pa.int64()).to_numpy()[keep] \
            if "session_start" in self.actors.column_names else None
        return Segment(f"{event} at step {step} of the paths {self.direction} of {self.anchor}", self.object_type,
                       self.actors.column("object_code").to_numpy()[keep], starts)


@dataclasses.dataclass(frozen=True, eq=False)
class StepMatrix(Result):
    """Share of actors whose event at step k is ``event``: one row per event, one column per step.

    ``events`` are the row labels (events by total actors over the columns, ties by name, then
    ``other``, ``(start)``, ``(end)``), ``columns`` the step numbers and ``counts`` the actors
    (rows x columns); each column sums to ``actors_total``.
    """

    anchor: str | None
    steps: int
    before: int
    top: int | None
    occurrence: str
    collapse_repeats: bool
    exclude: tuple[str, ...]
    by: str
    object_type: str
    actors_total: int
    events: tuple[str, ...]
    columns: tuple[int, ...]
    counts: np.ndarray = dataclasses.field(repr=False)

    @property
    def shares(self) -> np.ndarray:
        return self.counts / self.actors_total if self.actors_total else np.zeros(self.counts.shape)

    def to_arrow(self, values: str = "share") -> pa.Table:
        """``event`` and one column per step named ``"1"``, ``"2"``, ... (``"-1"``... before the anchor);
        ``values="actors"`` gives counts instead of shares."""
        data = {"actors": self.counts, "share": self.shares}.get(values)
        if data is None:
            raise ConfigError(f"The values parameter must be 'share' or 'actors'. Got {values!r} instead.",
                              field="values")
        cols = {"event": pa.array(self.events, pa.string())}
        cols |= {str(c): pa.array(data[:, i]) for i, c in enumerate(self.columns)}
        return pa.table(cols)

    def to_dict(self) -> dict[str, object]:
        keys = ("anchor", "steps", "before", "top", "occurrence", "collapse_repeats", "by", "actors_total")
        shares = self.shares
        return {**{k: getattr(self, k) for k in keys}, "exclude": list(self.exclude), "columns": list(self.columns),
                "rows": [{"event": e, "shares": shares[i].tolist(), "actors": self.counts[i].tolist()}
                         for i, e in enumerate(self.events)]}


def _int(value: object, field: str, low: int, none: bool = False) -> int | None:
    if value is None and none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"The {field} parameter must be an integer >= {low}{' or None' if none else ''}. "
                          f"Got {value!r} instead.", field=field)
    return value


def _choice(value: object, allowed: tuple[str, ...], field: str) -> str:
    if value not in allowed:
        raise ConfigError(f"The {field} parameter must be one of {list(allowed)}. Got {value!r} instead.", field=field)
    return str(value)


@dataclasses.dataclass(frozen=True)
class _Rows:
    """The unit's events after ``exclude`` and ``collapse_repeats``: ``rows`` index ``seqs``."""

    seqs: Sequences
    anchor: Step | None
    exclude: tuple[str, ...]
    rows: np.ndarray
    actor: np.ndarray
    type: np.ndarray
    hit: np.ndarray | None  # rows matching the anchor

    @property
    def names(self) -> dict[int, str]:
        return {c: n for n, c in self.seqs.type_codes.items()}


def _prepare(store, by, anchor, exclude, collapse, start, end, actors) -> _Rows:
    steps = None if anchor is None else parse_steps(anchor, "anchor")
    if steps is not None and len(steps) != 1:
        raise ConfigError(f"The anchor parameter must be one event type, dict or jm.Step. Got {anchor!r} instead.",
                          field="anchor")
    step = steps[0] if steps else None
    excl = parse_steps(exclude if isinstance(exclude, (str, Step, Mapping)) else list(exclude), "exclude", minimum=0)
    if step is not None and any(x.event == step.event and not x.where for x in excl):
        raise ConfigError(f"The exclude parameter removes every anchor event {step.event!r}; exclude other events.",
                          field="exclude")
    if not isinstance(collapse, bool):
        raise ConfigError(f"The collapse_repeats parameter must be True or False. Got {collapse!r} instead.",
                          field="collapse_repeats")
    seqs = load(store, parse_unit(by), event_attributes=attribute_names([*([step] if step else []), *excl]),
                start=parse_instant(start, "start"), end=parse_instant(end, "end"), actors=actors)
    rows = np.flatnonzero(~np.logical_or.reduce([match(seqs, x) for x in excl]) if excl else np.ones(seqs.n, bool))
    actor, typ = seqs.actor[rows], seqs.type[rows].astype(np.int64)
    if collapse and rows.size:
        keep = np.ones(rows.size, bool)
        keep[1:] = (actor[1:] != actor[:-1]) | (typ[1:] != typ[:-1])
        rows, actor, typ = rows[keep], actor[keep], typ[keep]
    hit = match(seqs, step)[rows] if step is not None else None
    return _Rows(seqs, step, tuple(x.label for x in excl), rows, actor, typ, hit)


def _anchors(actor: np.ndarray, hit: np.ndarray, occurrence: str) -> np.ndarray:
    """Each actor's first (or last) row where ``hit`` holds."""
    rows = np.flatnonzero(hit)
    if rows.size == 0:
        return rows
    a, keep = actor[rows], np.ones(rows.size, bool)
    if occurrence == "first":
        keep[1:] = a[1:] != a[:-1]
    else:
        keep[:-1] = a[:-1] != a[1:]
    return rows[keep]


def _walk(actor: np.ndarray, typ: np.ndarray, origin: np.ndarray, offsets: Iterable[int]) -> np.ndarray:
    """Type code of row ``origin + o`` for each offset (walking away from the origin), shape (offsets, origins):
    ``_END`` at the first offset outside the origin's actor, ``_NONE`` beyond it. No loop over actors."""
    offsets = list(offsets)
    n, m = actor.size, origin.size
    out = np.empty((len(offsets), m), np.int64)
    owner, alive = actor[origin], np.ones(m, bool)
    for i, o in enumerate(offsets):
        r = origin + o
        ok = (r >= 0) & (r < n)
        r = np.clip(r, 0, max(n - 1, 0))
        if n:
            ok &= actor[r] == owner
        out[i] = np.where(ok, typ[r] if n else _NONE, np.where(alive, _END, _NONE))
        alive = ok
    return out


def _tally(keys: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct non-negative ``keys`` (< ``size``) and their counts, by counting instead of sorting."""
    if size <= 1 << 24:
        n = np.bincount(keys, minlength=size)
        found = np.flatnonzero(n)
        return found, n[found]
    return np.unique(keys, return_counts=True)


def _fold_steps(codes: np.ndarray, top: int | None, names: dict[int, str]) -> np.ndarray:
    """Per step (row), the event types outside the ``top`` with most actors (ties by name) become ``_OTHER``."""
    if top is None:
        return codes
    out = codes.copy()
    for i, row in enumerate(codes):
        real = row >= 0
        uniq, n = _tally(row[real], max(names, default=0) + 1)
        if uniq.size > top:
            kept = [c for _, _, c in sorted((-int(k), names[int(c)], int(c)) for c, k in zip(uniq, n))[:top]]
            out[i, real & ~np.isin(row, kept)] = _OTHER
    return out


def _graph(v: np.ndarray, size: int, step_numbers: list[int], label, share) -> tuple[pa.Table, pa.Table]:
    """Nodes and links from shifted codes ``v`` (steps in time order x actors; 0 = no step)."""
    nodes = []
    for i, s in enumerate(step_numbers):
        found, n = _tally(v[i], size)
        nodes += sorted(({"step": s, "event": label(int(c)), "actors": int(k), "share": share(int(k))}
                         for c, k in zip(found, n) if c), key=lambda r: (-r["actors"], r["event"]))
    node_id = {(r["step"], r["event"]): i for i, r in enumerate(nodes)}
    links = []
    for i, s in enumerate(step_numbers[:-1]):
        ok = (v[i] > 0) & (v[i + 1] > 0)
        found, n = _tally(v[i][ok] * size + v[i + 1][ok], size * size)
        for key, k in zip(found, n):
            a, b = label(int(key // size)), label(int(key % size))
            links.append({"step": s, "source": a, "target": b, "source_node": node_id[(s, a)],
                          "target_node": node_id[(s + 1, b)], "actors": int(k), "share": share(int(k))})
    links.sort(key=lambda r: (r["step"], -r["actors"], r["source_node"], r["target_node"]))
    return (pa.Table.from_pylist([{"node": i, **r} for i, r in enumerate(nodes)], NODE_SCHEMA),
            pa.Table.from_pylist(links, LINK_SCHEMA))


def _count_paths(v: np.ndarray, size: int, body: list[int], label, share, max_paths: int | None):
    """(paths table, distinct paths, per-step dictionary columns) from shifted codes ``v``; ``body`` are the
    rows of the steps besides the anchor. Ties in count rank by labels step by step (a missing step first)."""
    present, _ = _tally(v[body].ravel(), size)
    order = sorted(range(present.size), key=lambda j: (present[j] != 0, label(int(present[j])) if present[j] else ""))
    lookup = np.zeros(size, np.int64)
    lookup[present[order]] = np.arange(present.size)
    codes, m, radix = lookup[v[body]], v.shape[1], max(present.size, 1)
    if m and radix ** len(body) < 2**62:
        key = np.zeros(m, np.int64)
        for row in codes:
            key = key * radix + row
        _, first, counts = np.unique(key, return_index=True, return_counts=True)
    elif m:
        _, first, counts = np.unique(codes.T, axis=0, return_index=True, return_counts=True)
    else:
        first = counts = np.zeros(0, np.int64)
    rows = []
    for j in np.argsort(-counts, kind="stable")[:max_paths]:
        col = [int(c) for c in v[:, first[j]] if c]
        rows.append({"path": ARROW.join(label(c) for c in col), "actors": int(counts[j]),
                     "length": sum(c + _NONE >= 0 or c + _NONE == _OTHER for c in col), "share": share(int(counts[j]))})
    dictionary = pa.array([label(int(present[j])) if present[j] else "" for j in order], pa.string())
    columns = [pa.DictionaryArray.from_arrays(pa.array(row, pa.int32(), mask=v[i] == 0), dictionary)
               for i, row in zip(body, codes)]
    return pa.Table.from_pylist(rows, PATH_SCHEMA), int(counts.size), columns


def paths(store: Store, anchor: str | Step | dict, *, direction: str = "forward", steps: int = 5, top: int | None = 5,
          by: object = "customer", occurrence: str = "first", collapse_repeats: bool = False,
          exclude: Iterable[str | Step | dict] = (), max_paths: int | None = 20, start: object = None,
          end: object = None, actors: Segment | None = None) -> PathsResult:
    """The paths of ``steps`` events after (``direction="forward"``) or before (``"backward"``) each actor's
    anchor event (semantics in the module docs). ``max_paths`` caps the ``paths`` table (None keeps all).

    >>> import datetime as dt, pandas as pd, journeymine as jm
    >>> store = jm.connect(":memory:")
    >>> df = pd.DataFrame({"who": ["u", "u", "u", "v", "v"], "what": ["home", "cart", "buy", "home", "help"],
    ...                    "at": [dt.datetime(2024, 1, 1, 0, m) for m in range(5)]})
    >>> _ = jm.read_frame(df, store, activity_col="what", timestamp_col="at", customer_col="who")
    >>> r = jm.paths(store, "home", steps=2)
    >>> r.paths.select(["path", "actors"]).to_pylist()
    [{'path': 'home → cart → buy', 'actors': 1}, {'path': 'home → help → (end)', 'actors': 1}]
    """
    began = _time.perf_counter()
    direction = _choice(direction, DIRECTIONS, "direction")
    occurrence = _choice(occurrence, OCCURRENCES, "occurrence")
    steps, top = _int(steps, "steps", 1), _int(top, "top", 1, none=True)
    max_paths = _int(max_paths, "max_paths", 1, none=True)
    if anchor is None:
        raise ConfigError("The anchor parameter must be an event type, dict or jm.Step. Got None instead.",
                          field="anchor")
    r = _prepare(store, by, anchor, exclude, collapse_repeats, start, end, actors)
    seqs, actor, names = r.seqs, r.actor, r.names
    origin = _anchors(actor, r.hit, occurrence)
    m, sign = origin.size, 1 if direction == "forward" else -1
    walked = _fold_steps(_walk(actor, r.type, origin, range(sign, sign * (steps + 1), sign)), top, names)
    anchor_row = np.full((1, m), _ANCHOR, np.int64)
    if sign > 0:
        grid, step_numbers = np.vstack([anchor_row, walked]), list(range(0, steps + 1))
    else:  # time order: the farthest step first; a journey that starts too late has "(start)"
        grid = np.vstack([np.where(walked == _END, _START, walked)[::-1], anchor_row])
        step_numbers = list(range(-steps, 1))
    v, size = grid - _NONE, max(names, default=-1) + 1 - _NONE  # shifted codes: 0 = no step
    special = {_END: END_LABEL, _START: START_LABEL, _OTHER: OTHER_LABEL, _ANCHOR: r.anchor.label}
    label = lambda c: special[c + _NONE] if c + _NONE < 0 else names[c + _NONE]  # noqa: E731  (of a shifted code)
    share = (lambda n: n / m) if m else (lambda n: 0.0)
    nodes, links = _graph(v, size, step_numbers, label, share)
    body = [i for i, s in enumerate(step_numbers) if s != 0]
    table, distinct, columns = _count_paths(v, size, body, label, share, max_paths)
    who = actor[origin]
    cols = {"object_code": pa.array(seqs.actor_code[who], pa.int64())}
    if seqs.session_start is not None:
        cols["session_start"] = pa.array(seqs.session_start[who], pa.int64()).cast(pa.timestamp("us"))
    cols["anchor_time"] = pa.array(seqs.time[r.rows[origin]], pa.int64()).cast(pa.timestamp("us"))
    cols |= {f"step_{step_numbers[i]}": c for i, c in zip(body, columns)}
    logger.debug("paths over %d rows, %d actors in %.2fs", actor.size, m, _time.perf_counter() - began)
    return PathsResult(
        anchor=r.anchor.label, direction=direction, steps=steps, top=top, occurrence=occurrence,
        collapse_repeats=collapse_repeats, exclude=r.exclude, by=seqs.unit.label, object_type=seqs.unit.object_type,
        actors_total=m, actors_seen=int(np.count_nonzero(np.diff(actor)) + 1) if actor.size else 0,
        paths_distinct=distinct, nodes=nodes, links=links, paths=table, actors=pa.table(cols))


def step_matrix(store: Store, *, steps: int = 10, anchor: str | Step | dict | None = None, before: int = 0,
                by: object = "customer", top: int | None = None, occurrence: str = "first",
                collapse_repeats: bool = False, exclude: Iterable[str | Step | dict] = (), start: object = None,
                end: object = None, actors: Segment | None = None) -> StepMatrix:
    """Share of actors whose k-th event (from the start, or after ``anchor``) is e, k = 1..``steps``
    (semantics in the module docs). ``top=N`` keeps the N event types with the largest count in any
    column (ties by name) and sums the others into ``other``.

    >>> import datetime as dt, pandas as pd, journeymine as jm
    >>> store = jm.connect(":memory:")
    >>> df = pd.DataFrame({"who": ["u", "u", "u", "v", "v"], "what": ["home", "cart", "buy", "home", "help"],
    ...                    "at": [dt.datetime(2024, 1, 1, 0, m) for m in range(5)]})
    >>> _ = jm.read_frame(df, store, activity_col="what", timestamp_col="at", customer_col="who")
    >>> sm = jm.step_matrix(store, steps=3)
    >>> sm.to_arrow().to_pylist()[-1], [r["event"] for r in sm.to_arrow().to_pylist()]
    ({'event': '(end)', '1': 0.0, '2': 0.0, '3': 0.5}, ['home', 'buy', 'cart', 'help', '(end)'])
    """
    began = _time.perf_counter()
    steps, before, top = _int(steps, "steps", 1), _int(before, "before", 0), _int(top, "top", 1, none=True)
    occurrence = _choice(occurrence, OCCURRENCES, "occurrence")
    if before and anchor is None:
        raise ConfigError(f"The before parameter counts steps before an anchor; set anchor. Got before={before!r} "
                          "without one.", field="before")
    r = _prepare(store, by, anchor, exclude, collapse_repeats, start, end, actors)
    actor, names = r.actor, r.names
    if r.anchor is None:
        origin = np.flatnonzero(np.diff(actor, prepend=-1)) if actor.size else np.zeros(0, np.int64)
        grid = _walk(actor, r.type, origin, range(0, steps))
    else:
        origin = _anchors(actor, r.hit, occurrence)
        grid = _walk(actor, r.type, origin, range(1, steps + 1))
    grid = np.where(grid == _NONE, _END, grid)
    columns = list(range(1, steps + 1))
    if before:
        back = _walk(actor, r.type, origin, range(-1, -before - 1, -1))
        grid = np.vstack([np.where(back < 0, _START, back)[::-1], grid])
        columns = list(range(-before, 0)) + columns
    m, n_cols = origin.size, len(columns)
    size = max(names, default=-1) + 1 - _NONE
    keys = ((grid - _NONE) * n_cols + np.arange(n_cols)[:, None]).ravel()
    counts = np.bincount(keys, minlength=size * n_cols).reshape(size, n_cols)
    present = np.flatnonzero(counts.sum(axis=1))
    uniq, counts = present + _NONE, counts[present]
    real = [i for i in range(uniq.size) if uniq[i] >= 0]
    kept, other = real, None
    if top is not None and len(real) > top:
        ranked = sorted(real, key=lambda i: (-int(counts[i].max()), names[int(uniq[i])]))
        kept, other = ranked[:top], counts[ranked[top:]].sum(axis=0)
    table = [(names[int(uniq[i])], counts[i]) for i in sorted(kept, key=lambda i: (-int(counts[i].sum()),
                                                                                  names[int(uniq[i])]))]
    table += [(OTHER_LABEL, other)] if other is not None else []
    table += [(name, counts[uniq == code][0]) for code, name in ((_START, START_LABEL), (_END, END_LABEL))
              if code in uniq]
    logger.debug("step matrix over %d rows, %d actors in %.2fs", actor.size, m, _time.perf_counter() - began)
    return StepMatrix(
        anchor=None if r.anchor is None else r.anchor.label, steps=steps, before=before, top=top,
        occurrence=occurrence, collapse_repeats=collapse_repeats, exclude=r.exclude, by=r.seqs.unit.label,
        object_type=r.seqs.unit.object_type, actors_total=m, events=tuple(t[0] for t in table),
        columns=tuple(columns), counts=np.array([t[1] for t in table], np.int64).reshape(len(table), n_cols))

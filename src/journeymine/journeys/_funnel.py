"""``jm.funnel``: how many actors go through a sequence of steps, where they drop and how long it takes.

Exact semantics (``docs/funnels.md`` has worked examples). For each actor of the counting unit, its
events ordered by time (ties by load order):

- **Entry.** ``entry="first"``: the funnel starts at the actor's *first* step-1 event, t1; later
  step-1 events never restart it (Mixpanel's default). ``entry="any"``: every step-1 event starts a
  chain and the actor counts with its deepest chain (ClickHouse ``windowFunnel(W,
  'strict_increase')`` and PostHog count the same depth); among equally deep chains the
  latest-starting one gives the times and the first-touch value (PostHog times a conversion from the
  most recent step-1 event before it).
- **Order** ``"ordered"`` (default): step k (k >= 2) is reached at the *earliest* step-k event
  strictly after step k-1's event and with ``time - t1 <= window`` (bound inclusive).
  ``"strict"``: step k must also be the actor's very next event after step k-1 (any event of the
  unit in between, of any type, ends the chain). ``"any_order"``: the steps may happen in any order;
  depth = number of distinct steps with an event in ``[t1, t1 + window]`` (an event at t1 counts), and
  step k of the result reads "k of the steps done".
- **Ties.** ``ties="strict"`` (default): events with equal timestamps never chain. ``ties="allow"``:
  they chain in load order (the order of the source file, then of the imports), i.e. step k may be
  an event at the same time as step k-1 that was loaded after it.
- **Exclusions.** An exclusion event strictly between t1 and the time of the last step the actor
  reached removes the actor from every count.
- **Counts.** depth = last step reached; ``count[k]`` = actors with depth >= k; conversions are
  relative to ``count[1]`` (from start) and ``count[k-1]`` (from previous, with a Wilson 95 %
  interval). Times from start are ``t_k - t1``, from previous ``t_k - t_{k-1}``, over the actors that
  reached step k; medians of an even count are the mean of the two middle values.
- **Ignored rows.** The store refuses events without time or type at import, so the rows a funnel
  ignores are events of the step types that are linked to no actor of the unit (e.g. page views of
  anonymous visitors never stitched to a customer, when counting customers); ``ignored_rows`` says
  how many.

Breakdowns give every actor one value of a property: the event attribute at its step-1 event
(``attribution="first_touch"``), at the last step it reached (``"last_touch"``) or at step k
(``"step=k"``, actors short of step k get ``(none)``), or an attribute of the actor object
(``breakdown_from="actor"``). The ``breakdown_limit`` values with most entrants are kept, the rest
fold into ``other``.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
from collections.abc import Iterable

import numpy as np
import pyarrow as pa

from ..errors import ConfigError
from ..results import Result, Segment
from ..store import Store
from ..timespan import parse_duration, parse_instant
from . import _chains
from ._stats import wilson
from ._steps import Step, attribute_names, match, parse_steps
from ._units import SessionRule, Sequences, Unit, load_parts, parse_unit

__all__ = ["FunnelResult", "FunnelStep", "funnel"]

ENTRIES = ("first", "any")
ORDERS = ("ordered", "strict", "any_order")
TIES = ("strict", "allow")
NONE_VALUE, OTHER_VALUE = "(none)", "other"
THREADS = 2  # threads that match the chains of one part of the rows


@dataclasses.dataclass(frozen=True)
class FunnelStep:
    """One step's numbers. Times are seconds; ``None`` where no actor reached the step."""

    name: str
    count: int
    conversion_from_start: float | None
    conversion_from_prev: float | None
    conversion_from_prev_low: float | None
    conversion_from_prev_high: float | None
    median_seconds_from_start: float | None
    median_seconds_from_prev: float | None
    mean_seconds_from_start: float | None
    mean_seconds_from_prev: float | None
    dropped: int  # actors whose deepest step this is (depth == k)


@dataclasses.dataclass(frozen=True, eq=False)
class FunnelResult(Result):
    """A funnel's steps, metadata, time-to-convert histogram, breakdown groups and per-actor table.

    ``actors`` has one row per actor that entered: ``object_code`` (and ``session_start`` for
    sessions), ``depth`` and ``step_K_time`` for each step (null past the depth).
    """

    steps: tuple[FunnelStep, ...]
    window_seconds: float
    entry: str
    order: str
    ties: str
    by: str
    object_type: str
    actors_total: int
    ignored_rows: int
    histogram_edges: tuple[float, ...]
    histogram_counts: tuple[int, ...]
    breakdown: str | None
    attribution: str | None
    groups: dict[str, tuple[FunnelStep, ...]]
    actors: pa.Table = dataclasses.field(repr=False)

    def step_table(self, steps: tuple[FunnelStep, ...] | None = None) -> pa.Table:
        rows = [dataclasses.asdict(s) | {"step": i + 1} for i, s in enumerate(steps or self.steps)]
        return pa.Table.from_pylist(rows).select(["step", *[f.name for f in dataclasses.fields(FunnelStep)]])

    def to_arrow(self) -> pa.Table:
        """One row per step (and per breakdown value, with a ``value`` column, when broken down)."""
        if not self.groups:
            return self.step_table()
        parts = []
        for value, steps in self.groups.items():
            t = self.step_table(steps)
            parts.append(t.add_column(0, "value", pa.array([value] * t.num_rows, pa.string())))
        return pa.concat_tables(parts)

    def to_dict(self) -> dict[str, object]:
        def steps(ss: tuple[FunnelStep, ...]) -> list[dict[str, object]]:
            return [dataclasses.asdict(s) for s in ss]

        d: dict[str, object] = {
            "steps": steps(self.steps), "window_seconds": self.window_seconds, "entry": self.entry,
            "order": self.order, "ties": self.ties, "by": self.by, "actors_total": self.actors_total,
            "ignored_rows": self.ignored_rows,
            "histogram": {"edges_seconds": list(self.histogram_edges), "counts": list(self.histogram_counts)},
        }
        if self.breakdown is not None:
            d["breakdown"] = {"property": self.breakdown, "attribution": self.attribution,
                              "groups": [{"value": v, "steps": steps(s)} for v, s in self.groups.items()]}
        return d

    def _segment(self, name: str, keep: np.ndarray) -> Segment:
        codes = self.actors.column("object_code").to_numpy()[keep]
        starts = None
        if "session_start" in self.actors.column_names:
            starts = self.actors.column("session_start").cast(pa.int64()).to_numpy()[keep]
        return Segment(name, self.object_type, codes, starts)

    def dropped_after(self, k: int) -> Segment:
        """The actors whose last reached step is step ``k`` (1-based): they dropped before step k+1."""
        if not 1 <= k <= len(self.steps):
            raise ConfigError(f"The k parameter must be a step number from 1 to {len(self.steps)}. Got {k!r}.",
                              field="k")
        depth = self.actors.column("depth").to_numpy()
        return self._segment(f"dropped after step {k} ({self.steps[k - 1].name})", depth == k)

    def converted(self) -> Segment:
        """The actors who reached the last step."""
        depth = self.actors.column("depth").to_numpy()
        return self._segment("converted", depth == len(self.steps))


def _median_seconds(us: np.ndarray) -> float:
    """The median of µs values in seconds; an even count takes the mean of the two middle values (as
    ``np.median``, with one partition instead of two)."""
    m = us.size // 2
    part = np.partition(us, m)
    middle = float(part[m]) if us.size % 2 else (float(part[:m].max()) + float(part[m])) / 2
    return middle / 1e6


def _stats(names: list[str], depth: np.ndarray, times: np.ndarray) -> tuple[FunnelStep, ...]:
    """Per-step numbers from depths (actors,) and step times (steps, actors) in µs."""
    out = []
    at_depth = np.bincount(depth, minlength=len(names) + 1)
    counts = [int(at_depth[k + 1:].sum()) for k in range(len(names))]
    first = times[0]
    for k, name in enumerate(names):
        conv_prev = counts[k] / counts[k - 1] if k and counts[k - 1] else (1.0 if counts[k] else None)
        low, high = wilson(counts[k], counts[k - 1]) if k and counts[k - 1] else (None, None)
        if k == 0:
            from_start = from_prev = np.zeros(min(counts[0], 1), np.int64)  # all zero: the median and mean are 0
        else:
            reached = np.flatnonzero(depth > k)
            at = times[k][reached]
            from_start, from_prev = at - first[reached], at - times[k - 1][reached]
        has = from_start.size > 0
        out.append(FunnelStep(
            name=name, count=counts[k],
            conversion_from_start=counts[k] / counts[0] if counts[0] else None,
            conversion_from_prev=conv_prev, conversion_from_prev_low=low, conversion_from_prev_high=high,
            median_seconds_from_start=_median_seconds(from_start) if has else None,
            median_seconds_from_prev=_median_seconds(from_prev) if has else None,
            mean_seconds_from_start=float(from_start.mean()) / 1e6 if has else None,
            mean_seconds_from_prev=float(from_prev.mean()) / 1e6 if has else None,
            dropped=int(at_depth[k + 1]),
        ))
    return tuple(out)


def _timestamps(us: np.ndarray) -> pa.Array:
    """µs since the epoch as a ``timestamp[us]`` array, null where ``NONE``."""
    valid = us != _chains.NONE
    if valid.all():
        return pa.array(us, pa.timestamp("us"))
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(pa.timestamp("us"), us.size, [bitmap, pa.py_buffer(np.ascontiguousarray(us))],
                                 null_count=int(us.size - np.count_nonzero(valid)))


def _choice(value: object, allowed: tuple[str, ...], field: str) -> str:
    if value not in allowed:
        raise ConfigError(f"The {field} parameter must be one of {list(allowed)}. Got {value!r} instead.", field=field)
    return str(value)


def _attribution(value: str, n_steps: int, order: str) -> int | str:
    if value in ("first_touch", "last_touch"):
        if value == "last_touch" and order == "any_order":
            raise ConfigError("The attribution parameter 'last_touch' needs an ordered funnel (order='any_order' "
                              "has no last step event); use 'first_touch'.", field="attribution")
        return value
    if value.startswith("step="):
        try:
            k = int(value.removeprefix("step="))
        except ValueError:
            k = 0
        if 1 <= k <= n_steps and order != "any_order":
            return k
    raise ConfigError(f"The attribution parameter must be 'first_touch', 'last_touch' or 'step=K' with K from 1 "
                      f"to {n_steps} (ordered funnels only). Got {value!r} instead.", field="attribution")


def _match_chains(seqs: Sequences, masks: list[np.ndarray], entry: str, order: str, ties: str,
                  window_us: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, int]:
    """(start row, depth, step times (steps, actors), step rows or None) of each entering actor, and
    the number of actors in ``seqs``."""
    time = seqs.time
    if order == "ordered":
        found = _chains.match_ordered(seqs.key, time, masks, window_us, entry=entry, ties=ties)
        return found.start, found.depth, found.times, found.rows, found.actors
    actor = seqs.actor
    start_mask = masks[0] if order != "any_order" else np.logical_or.reduce(masks)
    starts = _chains.first_rows(actor, start_mask) if entry == "first" else np.flatnonzero(start_mask)
    if order == "any_order":
        times = _chains.any_order(actor, time, masks, starts, window_us)
        rows = None
        depth = (times != _chains.NONE).sum(axis=0)
        if entry == "any":
            pick = _chains.deepest(actor[starts], depth)
            starts, depth, times = starts[pick], depth[pick], times[:, pick]
        return starts, depth, times, rows, seqs.n_actors
    rows, depth = _chains.ordered(actor, time, masks, starts, window_us, ties=ties, adjacent=True)  # order "strict"
    if entry == "any":
        pick = _chains.deepest(actor[starts], depth)
        starts, depth, rows = starts[pick], depth[pick], rows[:, pick]
    times = np.where(rows != _chains.NONE, time[np.maximum(rows, 0)], _chains.NONE)
    return starts, depth, times, rows, seqs.n_actors


def _excluded(seqs: Sequences, exclusion: np.ndarray, starts: np.ndarray, depth: np.ndarray,
              times: np.ndarray) -> np.ndarray:
    """Whether an exclusion event lies strictly between each actor's t1 and its last reached step."""
    if not exclusion.any() or starts.size == 0:
        return np.zeros(starts.size, bool)
    cand, found, _ = _chains.StepRows(exclusion).next(seqs.key, seqs.time, starts, "strict")
    last = times[np.maximum(depth - 1, 0), np.arange(starts.size)]
    return found & (seqs.key[cand] == seqs.key[starts]) & (seqs.time[cand] < last)


def _ignored(store: Store, events: list[str], held: int, start, end, totals: dict[str, int | None]) -> int:
    """Events of the step types in the period that no actor of the unit holds: all such events (``totals``
    per type, kept with the store's projection; counted when a period is given) minus the ``held``
    distinct events the unit's actors hold."""
    if start is None and end is None:
        total = sum(int(totals.get(e) or 0) for e in events)
    else:
        params: dict[str, object] = {f"s{i}": e for i, e in enumerate(events)}
        where = [f"type IN ({', '.join('$' + k for k in params)})"]
        for name, value, op in (("start", start, ">="), ("end", end, "<")):
            if value is not None:
                where.append(f"time {op} ${name}")
                params[name] = value
        total = store.query(f"SELECT count(*) AS n FROM event WHERE {' AND '.join(where)}", params).column(0)[0].as_py()
    return int(total - held)


@dataclasses.dataclass(frozen=True)
class _Part:
    """The matched chains of one part of whole actors."""

    actor_code: np.ndarray
    session_start: np.ndarray | None
    depth: np.ndarray
    times: np.ndarray
    values: np.ndarray | None  # breakdown values (object), None without a breakdown
    actors_total: int


def _part(seqs: Sequences, steps: list[Step], excl: list[Step], entry: str, order: str, ties: str, window_us: int,
          step_codes: np.ndarray, only_steps: bool, breakdown: str | None, how: int | str | None) -> _Part:
    masks = [match(seqs, s) for s in steps]
    starts, depth, times, rows, n_actors = _match_chains(seqs, masks, entry, order, ties, window_us)
    if excl:
        out = _excluded(seqs, np.logical_or.reduce([match(seqs, s) for s in excl]), starts, depth, times)
        if out.any():
            keep = ~out
            starts, depth, times = starts[keep], depth[keep], times[:, keep]
            rows = rows[:, keep] if rows is not None else None
    values = None
    if breakdown is not None:
        column = seqs.attrs[breakdown]
        if breakdown.startswith("o.") or how == "first_touch":
            at = starts
        elif how == "last_touch":
            at = rows[depth - 1, np.arange(depth.size)]
        else:
            at = rows[how - 1]
        values = np.array(column.take(pa.array(np.maximum(at, 0))).to_pylist(), dtype=object)
        values[(at < 0) | (values == None)] = NONE_VALUE  # noqa: E711 (elementwise)
    step_rows = None if only_steps else np.isin(seqs.type, step_codes)
    return _Part(
        actor_code=seqs.codes[starts],
        session_start=None if seqs.session is None else seqs.session_start[seqs.session[starts]],
        depth=depth, times=times, values=values,
        actors_total=n_actors if only_steps else int(_chains.first_rows(seqs.key, step_rows).size),
    )


def funnel(
    store: Store, steps: Iterable[str | Step | dict], window: object = "7d", *, entry: str = "first",
    order: str = "ordered", ties: str = "strict", exclusions: Iterable[str | Step | dict] = (),
    by: object = "customer", session: SessionRule | None = None, breakdown: str | None = None,
    breakdown_from: str = "event", attribution: str = "first_touch", breakdown_limit: int = 10,
    start: object = None, end: object = None, actors: Segment | None = None, histogram_bins: int = 10,
) -> FunnelResult:
    """A conversion funnel over ``steps`` within ``window`` of entry (semantics in the module docs).

    ``by`` is the counting unit ("customer", "session" for derived sessions, an object type, or
    "object:TYPE"); ``start``/``end`` keep events with ``start <= time < end``; ``actors`` restricts
    the funnel to a segment (e.g. another funnel's ``dropped_after(k)``).

    >>> import journeymine as jm
    >>> store = jm.simulate(customers=300, days=30, seed=2).store
    >>> f = jm.funnel(store, ["checkout address", "checkout delivery", "checkout payment", "order placed"],
    ...               window="1h", by="object:session")
    >>> [s.count for s in f.steps] == sorted([s.count for s in f.steps], reverse=True)
    True
    >>> f.steps[3].count == len(f.converted())
    True
    """
    steps = parse_steps(steps)
    excl = parse_steps(list(exclusions), "exclusions", minimum=0)
    entry, order, ties = _choice(entry, ENTRIES, "entry"), _choice(order, ORDERS, "order"), _choice(ties, TIES, "ties")
    window_s = parse_duration(window, "window")
    unit = parse_unit(by, session)
    breakdown_from = _choice(breakdown_from, ("event", "actor"), "breakdown_from")
    how = _attribution(attribution, len(steps), order) if breakdown is not None else None
    if not isinstance(breakdown_limit, int) or breakdown_limit < 1:
        raise ConfigError(f"The breakdown_limit parameter must be a positive integer. Got {breakdown_limit!r}.",
                          field="breakdown_limit")
    if not isinstance(histogram_bins, int) or histogram_bins < 1:
        raise ConfigError(f"The histogram_bins parameter must be a positive integer. Got {histogram_bins!r}.",
                          field="histogram_bins")
    t_start, t_end = parse_instant(start, "start"), parse_instant(end, "end")
    event_attrs = set(attribute_names([*steps, *excl]))
    if breakdown is not None and breakdown_from == "event":
        event_attrs.add(breakdown)
    step_events = sorted({s.event for s in steps})
    types = None if order == "strict" else {*step_events, *(s.event for s in excl)}
    only_steps = types is not None and not excl and unit.sessions is None  # every row is of a step type
    known = store.query("SELECT name, code, events FROM event_type").to_pylist()
    type_codes = {r["name"]: r["code"] for r in known}
    step_codes = np.array([type_codes.get(e, -1) for e in step_events], np.int32)
    column = None if breakdown is None else ("e." if breakdown_from == "event" else "o.") + breakdown
    reading = dict(types=types, event_attributes=sorted(event_attrs),
                   object_attributes=[breakdown] if column and column[0] == "o" else [], start=t_start, end=t_end,
                   actors=actors, type_codes=type_codes)

    def part(seqs: Sequences) -> _Part:
        return _part(seqs, steps, excl, entry, order, ties, round(window_s * 1e6), step_codes, only_steps, column, how)

    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        # each part of the store's rows is cut in halves of whole actors, matched side by side (the C kernel
        # and most NumPy passes release the GIL); the next part is read meanwhile
        parts, held = [], []
        for seqs in load_parts(store, unit, **reading):
            parts.extend(pool.map(part, seqs.split(THREADS)))
            held.append(seqs.event if only_steps else seqs.event[np.isin(seqs.type, step_codes)])
        n_held = pool.submit(_chains.count_distinct, np.concatenate(held) if len(held) != 1 else held[0])
        result = _result(parts, steps, names=[s.label for s in steps], entry=entry, order=order, ties=ties,
                         unit=unit, window_s=window_s, histogram_bins=histogram_bins, breakdown=breakdown,
                         attribution=attribution, breakdown_limit=breakdown_limit)
        totals = {r["name"]: r["events"] for r in known}
        ignored = _ignored(store, step_events, n_held.result(), t_start, t_end, totals)
    return dataclasses.replace(result, ignored_rows=ignored)


def _result(parts: list[_Part], steps: list[Step], *, names: list[str], entry: str, order: str,
            ties: str, unit: Unit, window_s: float, histogram_bins: int, breakdown: str | None, attribution: str,
            breakdown_limit: int) -> FunnelResult:
    """The result from the parts' chains (``ignored_rows`` left at -1 for the caller)."""
    k_steps = len(steps)
    depth = np.concatenate([p.depth for p in parts]) if parts else np.zeros(0, np.int64)
    times = np.concatenate([p.times for p in parts], axis=1) if parts else np.zeros((k_steps, 0), np.int64)
    result_steps = _stats(names, depth, times)
    done = times[-1, depth == k_steps] - times[0, depth == k_steps]
    if done.size:
        counts, edges = np.histogram(done / 1e6, bins=histogram_bins, range=(0.0, max(float(done.max()) / 1e6, 1e-6)))
    else:
        counts, edges = np.zeros(0, np.int64), np.zeros(0)
    groups: dict[str, tuple[FunnelStep, ...]] = {}
    if breakdown is not None:
        values = np.concatenate([p.values for p in parts]) if parts else np.zeros(0, object)
        uniq, inverse, n = np.unique(values.astype(str), return_inverse=True, return_counts=True)
        ranked = sorted(range(uniq.size), key=lambda i: (-n[i], uniq[i]))
        kept = set(ranked[:breakdown_limit])
        labels = np.array([uniq[i] if i in kept else OTHER_VALUE for i in range(uniq.size)], dtype=object)[inverse]
        for value in [uniq[i] for i in ranked[:breakdown_limit]] + ([OTHER_VALUE] if uniq.size > breakdown_limit else []):
            sel = labels == value
            groups[str(value)] = _stats(names, depth[sel], times[:, sel])
    columns: dict[str, pa.Array] = {
        "object_code": pa.array(np.concatenate([p.actor_code for p in parts]) if parts else [], pa.int64())}
    if unit.sessions is not None:
        columns["session_start"] = pa.array(np.concatenate([p.session_start for p in parts]) if parts else [],
                                            pa.int64()).cast(pa.timestamp("us"))
    columns["depth"] = pa.array(depth.astype(np.int32))
    for k in range(k_steps):
        columns[f"step_{k + 1}_time"] = _timestamps(times[k])
    return FunnelResult(
        steps=result_steps, window_seconds=window_s, entry=entry, order=order, ties=ties, by=unit.label,
        object_type=unit.object_type, actors_total=sum(p.actors_total for p in parts),
        ignored_rows=-1,
        histogram_edges=tuple(float(e) for e in edges), histogram_counts=tuple(int(c) for c in counts),
        breakdown=breakdown, attribution=None if breakdown is None else str(attribution), groups=groups,
        actors=pa.table(columns),
    )


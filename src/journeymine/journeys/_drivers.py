"""``drivers``: which events, properties, attributes and delays make a funnel's success more or less likely.

The moments of truth of a funnel (PostHog's correlation analysis, plus intervals and false-discovery
control). Full semantics and worked examples in ``docs/drivers.md``; in short:

- **Outcome.** :func:`~journeymine.journeys._funnel.funnel` runs with the same arguments; an entrant is a
  *success* when it reached the last step, else a *failure*.
- **Observation interval.** A success is observed from entry (t1) up to, not including, its last step;
  a failure from t1 through t1 + window. The outcome and what follows cannot have caused it.
- **Features.** ``"events"``: an event type (not a step's) occurred in the interval. ``"properties"``:
  an event there had ``attribute = value``. ``"attributes"``: the actor object's (for derived sessions
  the customer's) stored attribute. ``"durations"``: step k-1 -> k took longer than a threshold.
  Numbers with more than 10 distinct values are binned at their quartiles (``[1.2, 3.0)``); per
  attribute only the ``top_values`` values held by most actors are kept.
- **Population.** All entrants, except that a duration of step k and a property of step k's event
  type (ordered funnels) are compared among the actors that reached step k (k = 2 .. n-1 for durations).
- **Statistics.** Per feature a 2x2 table of actors: odds ratio with PostHog's +1 prior on every cell,
  Woolf 95 % interval, Wald p-value; conversion difference with Newcombe's 95 % interval; Benjamini-
  Hochberg q-values over all features tested, ``significant = q <= alpha``. Tested only when the
  population has both outcomes and at least ``min_actors`` actors have the feature and as many do not.
  These are associations, not causes.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
from collections.abc import Iterable, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ConfigError
from ..results import Result, Segment
from ..store import Store
from ..timespan import parse_duration
from ._chains import NONE
from ._funnel import funnel
from ._stats import bh_adjust, odds_ratio, risk_difference
from ._steps import Step, parse_steps
from ._units import SessionRule, Sequences, Unit, load, parse_unit

__all__ = ["Driver", "DriversResult", "drivers"]

log = logging.getLogger(__name__)

FEATURES = ("events", "properties", "attributes", "durations")
BINS, NUMERIC_DISTINCT = 4, 10
US = pa.timestamp("us")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclasses.dataclass(frozen=True)
class Driver:
    """One tested feature: its 2x2 table of actors and statistics (conversion = successes / actors)."""

    kind: str
    feature: str
    event: str | None
    attribute: str | None
    value: str | None
    step: int | None
    threshold_seconds: float | None
    population: int
    actors_with: int
    actors_without: int
    successes_with: int
    successes_without: int
    conversion_with: float
    conversion_without: float
    odds_ratio: float
    odds_ratio_low: float
    odds_ratio_high: float
    p_value: float
    q_value: float
    risk_difference: float
    risk_difference_low: float
    risk_difference_high: float
    significant: bool


_TYPES = {"str": pa.string(), "str | None": pa.string(), "int": pa.int64(), "int | None": pa.int32(),
          "bool": pa.bool_()}
SCHEMA = pa.schema([(f.name, _TYPES.get(f.type, pa.float64())) for f in dataclasses.fields(Driver)])


@dataclasses.dataclass(frozen=True, eq=False)
class DriversResult(Result):
    """The tested features, most significant first (by q, then by |log odds ratio|), and the metadata.

    ``actors`` has one row per entrant: ``object_code`` (and ``session_start``), ``depth``,
    ``success`` and its observation interval ``observed_from`` .. ``observed_until`` (exclusive).
    """

    steps: tuple[str, ...]
    window_seconds: float
    by: str
    object_type: str
    entry: str
    order: str
    features: tuple[str, ...]
    min_actors: int
    alpha: float
    top_values: int
    duration_thresholds: dict[int, tuple[float, ...]]
    actors_total: int
    successes: int
    features_considered: int
    features_tested: int
    features_below_support: int
    features_without_contrast: int
    drivers: tuple[Driver, ...]
    actors: pa.Table = dataclasses.field(repr=False)

    def significant(self) -> tuple[Driver, ...]:
        """The drivers with ``q <= alpha``."""
        return tuple(d for d in self.drivers if d.significant)

    def to_arrow(self) -> pa.Table:
        """One row per tested feature (the :class:`Driver` fields)."""
        return pa.Table.from_pylist([dataclasses.asdict(d) for d in self.drivers], schema=SCHEMA)

    def to_dict(self) -> dict[str, object]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("drivers", "actors")}
        d |= {"steps": list(self.steps), "features": list(self.features),
              "duration_thresholds": {str(k): list(v) for k, v in self.duration_thresholds.items()},
              "failures": self.actors_total - self.successes,
              "significant": len(self.significant()), "drivers": [dataclasses.asdict(x) for x in self.drivers]}
        return d


@dataclasses.dataclass(frozen=True, eq=False)
class _Cohort:
    """The entrants: codes (and session starts), depth, step times (steps x actors, µs) and interval."""

    codes: np.ndarray
    starts: np.ndarray | None
    depth: np.ndarray
    times: np.ndarray
    lo: np.ndarray
    hi: np.ndarray


class _Tables:
    """Collects each feature's description and counts: population, its successes, with, successes with."""

    def __init__(self, success: np.ndarray) -> None:
        self.success, self.meta, self.counts = success.astype(float), [], []

    def add(self, population: np.ndarray, ids: np.ndarray, actor: np.ndarray, labels: list[dict],
            top: int | None = None) -> None:
        """Features ``labels[i]`` held by the (feature ``ids``, ``actor``) pairs (repeats allowed),
        compared within ``population``; with ``top``, only the ``top`` held by most actors."""
        n = max(self.success.size, 1)
        keep = population[actor]
        key = np.unique(ids[keep].astype(np.int64) * n + actor[keep])
        with_ = np.bincount(key // n, minlength=len(labels))
        wins = np.bincount(key // n, weights=self.success[key % n], minlength=len(labels)).round().astype(np.int64)
        pop, pop_wins = int(population.sum()), int(self.success[population].sum())
        ranked = sorted(np.flatnonzero(with_).tolist(), key=lambda i: (-with_[i], labels[i]["feature"]))
        for i in sorted(ranked[:top]):
            self.meta.append(labels[i])
            self.counts.append((pop, pop_wins, int(with_[i]), int(wins[i])))

    def values(self, population: np.ndarray, column: pa.Array, actor: np.ndarray, top: int, **fields) -> None:
        """``attribute = value`` (or ``in`` a quartile bin) features from text values, one per row of ``actor``."""
        valid = column.is_valid().to_numpy(zero_copy_only=False) & population[actor]
        if not valid.any():
            return
        column, actor = column.filter(pa.array(valid)), actor[valid]
        try:
            numbers = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            numbers = None
        binned = numbers is not None and np.isfinite(numbers).all() and np.unique(numbers).size > NUMERIC_DISTINCT
        if binned:
            edges = np.unique(np.quantile(numbers, np.linspace(0, 1, BINS + 1)))
            last = edges.size - 2
            ids = np.minimum(np.searchsorted(edges, numbers, side="right") - 1, last)
            text = next(t for p in range(3, 18) if len(set(t := [f"{e:.{p}g}" for e in edges])) == edges.size)
            values = [f"[{text[i]}, {text[i + 1]}{']' if i == last else ')'}" for i in range(last + 1)]
        else:
            uniq, ids = np.unique(np.asarray(column.to_pylist(), dtype=object).astype(str), return_inverse=True)
            values = [str(u) for u in uniq]
        head = f"{fields['event']}: {fields['attribute']}" if fields["kind"] == "properties" else fields["attribute"]
        self.add(population, ids, actor, [{"feature": f"{head} {'in' if binned else '='} {v}", "value": v, **fields}
                                          for v in values], top)


def _inside(seqs: Sequences, cohort: _Cohort) -> tuple[np.ndarray, np.ndarray]:
    """Per row: its entrant's index (-1 for none) and whether the row lies in the observation interval.

    Entrants are matched to the rows' actors by (object code, session start) with one lexsort."""
    na, nf = seqs.n_actors, cohort.codes.size
    code = np.concatenate([seqs.actor_code, cohort.codes])
    start = np.zeros(code.size, np.int64) if cohort.starts is None else np.concatenate([seqs.session_start,
                                                                                         cohort.starts])
    tag = np.repeat([0, 1], [na, nf])
    order = np.lexsort((tag, start, code))
    c, s, t = code[order], start[order], tag[order]
    hit = np.flatnonzero((t[1:] == 1) & (t[:-1] == 0) & (c[1:] == c[:-1]) & (s[1:] == s[:-1])) + 1
    entrant = np.full(na, -1)
    entrant[order[hit - 1]] = order[hit] - na
    row_f = entrant[seqs.actor]
    at = np.maximum(row_f, 0)
    inside = (row_f >= 0) & (seqs.time >= cohort.lo[at]) & (seqs.time < cohort.hi[at]) if nf else row_f >= 0
    return row_f, inside


def _events(seqs: Sequences, row_f: np.ndarray, inside: np.ndarray, tables: _Tables, steps: list[Step]) -> None:
    rows = np.flatnonzero(inside & ~np.isin(seqs.type, [seqs.type_codes.get(s.event, -1) for s in steps]))
    uniq, ids = np.unique(seqs.type[rows], return_inverse=True)
    names = {c: n for n, c in seqs.type_codes.items()}
    tables.add(np.ones(tables.success.size, bool), ids, row_f[rows],
               [{"kind": "events", "feature": names[int(c)], "event": names[int(c)]} for c in uniq])


def _properties(store: Store, unit: Unit, cohort: _Cohort, tables: _Tables, types: list[str],
                names: list[str] | None, top: int, reached: dict[str, int], period: dict) -> None:
    """Event type + ``attribute = value`` among the events in the interval (``reached``: type -> step k)."""
    if names is None:
        params = {f"t{i}": t for i, t in enumerate(types)}
        found = store.query(
            "SELECT x.type AS type, x.k AS attribute FROM (SELECT type, unnest(json_keys(attributes)) AS k FROM event "
            f"WHERE type IN ({', '.join('$' + p for p in params)})) x GROUP BY x.type, x.k", params).to_pylist()
        per_type: dict[str, set[str]] = {}
        for r in found:
            if _NAME.fullmatch(r["attribute"]):
                per_type.setdefault(r["type"], set()).add(r["attribute"])
        names = sorted(set().union(*per_type.values()))
    else:
        per_type = dict.fromkeys(types, set(names))
    if not names:
        return
    seqs = load(store, unit, types=types, event_attributes=names, **period)
    row_f, inside = _inside(seqs, cohort)
    for event in types:
        k = reached.get(event)
        population = np.ones(cohort.codes.size, bool) if k is None else cohort.depth >= k
        rows = pa.array(np.flatnonzero(inside & (seqs.type == seqs.type_codes[event])))
        for attribute in sorted(per_type.get(event, ())):
            tables.values(population, seqs.attrs[f"e.{attribute}"].take(rows), row_f[rows.to_numpy()], top,
                          kind="properties", event=event, attribute=attribute, step=k)


def _attributes(store: Store, object_type: str, cohort: _Cohort, tables: _Tables, names: list[str] | None,
                top: int) -> None:
    """The actor object's ``attribute = value``."""
    if names is None:
        found = store.query("SELECT x.k AS attribute FROM (SELECT unnest(json_keys(attributes)) AS k FROM object "
                            "WHERE type = $t) x GROUP BY x.k", {"t": object_type}).column(0).to_pylist()
        names = sorted(n for n in found if _NAME.fullmatch(n))
    if not names or cohort.codes.size == 0:
        return
    params: dict[str, object] = {"t": object_type} | {f"a{i}": "$." + n for i, n in enumerate(names)}
    columns = ", ".join(f'json_extract_string(attributes, $a{i}) AS "a{i}"' for i in range(len(names)))
    rows = store.query(f"SELECT code, {columns} FROM object WHERE type = $t ORDER BY code", params)
    codes = rows.column("code").to_numpy()
    if codes.size == 0:
        return
    at = np.minimum(np.searchsorted(codes, cohort.codes), codes.size - 1)
    found, everyone = pa.array(codes[at] == cohort.codes), np.ones(cohort.codes.size, bool)
    for i, name in enumerate(names):
        column = pc.if_else(found, rows.column(f"a{i}").combine_chunks().take(pa.array(at)), None)
        tables.values(everyone, column, np.arange(cohort.codes.size), top, kind="attributes", event=None,
                      attribute=name, step=None)


def _durations(cohort: _Cohort, tables: _Tables, names: list[str], given: dict[int, list[float]] | None
               ) -> dict[int, tuple[float, ...]]:
    """Step k-1 -> k took longer than each threshold (k = 2 .. n-1), among the actors that reached k."""
    used = {}
    for k in range(2, len(names)):
        population = cohort.depth >= k
        seconds = (cohort.times[k - 1] - cohort.times[k - 2])[population] / 1e6
        if given is not None:
            thresholds = given.get(k, [])
        else:
            thresholds = sorted({float(f"{q:.3g}") for q in np.quantile(seconds, [0.5, 0.9])}) if seconds.size else []
        if thresholds:
            used[k] = tuple(thresholds)
            longer = [np.flatnonzero(population)[seconds > t] for t in thresholds]
            tables.add(population, np.repeat(np.arange(len(thresholds)), [x.size for x in longer]),
                       np.concatenate(longer), [
                {"kind": "durations", "feature": f"{names[k - 2]} -> {names[k - 1]} took longer than {t:g} s",
                 "step": k, "threshold_seconds": t} for t in thresholds])
    return used


def _test(tables: _Tables, min_actors: int, alpha: float) -> tuple[tuple[Driver, ...], int, int]:
    """The features that pass the contrast and support rules as drivers with q-values; the skip counts."""
    kept = [(m, c) for m, c in zip(tables.meta, tables.counts) if c[1] not in (0, c[0])]
    flat = len(tables.meta) - len(kept)
    kept = [(m, c) for m, c in kept if min(c[2], c[0] - c[2]) >= min_actors]
    tables_ = [(wins_with, with_ - wins_with, wins - wins_with, pop - wins - with_ + wins_with)
               for _, (pop, wins, with_, wins_with) in kept]
    ors = [odds_ratio(*t) for t in tables_]
    q = bh_adjust(np.array([o[3] for o in ors], float))
    out = []
    for (meta, (pop, *_)), (a, b, c, d), (o, lo, hi, p), qv in zip(kept, tables_, ors, q.tolist()):
        rd = risk_difference(a, a + b, c, c + d)
        fields = {"event": None, "attribute": None, "value": None, "step": None, "threshold_seconds": None} | meta
        out.append(Driver(
            **fields, population=pop, actors_with=a + b, actors_without=c + d, successes_with=a,
            successes_without=c, conversion_with=a / (a + b), conversion_without=c / (c + d), odds_ratio=o,
            odds_ratio_low=lo, odds_ratio_high=hi, p_value=p, q_value=qv, risk_difference=rd[0],
            risk_difference_low=rd[1], risk_difference_high=rd[2], significant=qv <= alpha))
    out.sort(key=lambda r: (r.q_value, -abs(math.log(r.odds_ratio)), r.kind, r.feature))
    return tuple(out), len(tables.meta) - flat - len(out), flat


def _check(min_actors: object, top_values: object, alpha: object, features: object, **names: object) -> list[str]:
    """The feature kinds; a :class:`ConfigError` naming the parameter for any bad value."""
    for field, value in (("min_actors", min_actors), ("top_values", top_values)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"The {field} parameter must be a positive integer. Got {value!r} instead.", field=field)
    if not isinstance(alpha, (int, float)) or isinstance(alpha, bool) or not 0 < alpha < 1:
        raise ConfigError(f"The alpha parameter must be a number between 0 and 1. Got {alpha!r}.", field="alpha")
    kinds = [features] if isinstance(features, str) else list(features) if isinstance(features, Iterable) else []
    if not kinds or any(k not in FEATURES for k in kinds):
        raise ConfigError(f"The features parameter must list some of {list(FEATURES)}. Got {features!r} instead.",
                          field="features")
    for field, value in names.items():
        if value is not None and not (isinstance(value, list) and all(isinstance(n, str) and _NAME.fullmatch(n)
                                                                      for n in value)):
            raise ConfigError(f"The {field} parameter must be a list of attribute names (letters, digits, '_'). "
                              f"Got {value!r} instead.", field=field)
    return kinds


def _thresholds(value: object, steps: list[Step]) -> dict[int, list[float]] | None:
    """``duration_thresholds`` as {step k: seconds}; one list applies to every step k = 2 .. n-1."""
    field, n = "duration_thresholds", len(steps)
    if value is None:
        return None
    labels = {s.label: k for k, s in enumerate(steps, 1)}
    out = {}
    for key, seconds in (value if isinstance(value, Mapping) else dict.fromkeys(range(2, n), value)).items():
        k = labels.get(key, key)
        if not isinstance(k, int) or isinstance(k, bool) or not 2 <= k < n:
            raise ConfigError(f"The {field} parameter's keys must be step numbers from 2 to {n - 1} (or step "
                              f"names); the last step's duration is the outcome itself. Got {key!r} instead.",
                              field=field)
        items = [seconds] if isinstance(seconds, (str, int, float)) else list(seconds)
        out[k] = sorted({parse_duration(s, field) for s in items})
    return out


def drivers(
    store: Store, steps: Iterable[str | Step | dict], window: object = "7d", *, by: object = "customer",
    entry: str = "first", order: str = "ordered", features: Iterable[str] = FEATURES,
    properties: Iterable[str] | None = None, attributes: Iterable[str] | None = None,
    duration_thresholds: object = None, min_actors: int = 30, alpha: float = 0.05, top_values: int = 10,
    session: SessionRule | None = None, start: object = None, end: object = None, actors: Segment | None = None,
) -> DriversResult:
    """Which features seen between entry and outcome make reaching the last step more or less likely.

    Semantics in the module docs. ``features`` picks the kinds; ``properties``/``attributes``
    restrict the attribute names (default: all found); ``duration_thresholds`` are seconds or
    durations ("2m") for every step k = 2 .. n-1, or a dict {step number or name: thresholds}
    (default: each step's median and 90th percentile, to 3 significant digits). ``by``, ``entry``,
    ``order``, ``session``, ``start``, ``end`` and ``actors`` are the funnel's.

    >>> import journeymine as jm
    >>> store = jm.simulate(customers=1_000, days=30, seed=3).store
    >>> d = jm.drivers(store, ["checkout payment", "order placed"], "1h", by="object:session", min_actors=10)
    >>> d.actors_total > d.successes > 0 and d.features_tested > 0
    True
    >>> [r.q_value for r in d.drivers] == sorted(r.q_value for r in d.drivers)
    True
    """
    steps = parse_steps(steps)
    props, attrs = ([*v] if isinstance(v, Iterable) and not isinstance(v, str) else v for v in (properties, attributes))
    kinds = _check(min_actors, top_values, alpha, features, properties=props, attributes=attrs)
    props, attrs = (None if v is None else sorted(set(v)) for v in (props, attrs))
    given = _thresholds(duration_thresholds, steps)
    unit = parse_unit(by, session)
    f = funnel(store, steps, window, entry=entry, order=order, by=unit, start=start, end=end, actors=actors)
    table, n = f.actors, len(steps)
    times = np.stack([table.column(f"step_{k}_time").cast(pa.int64()).fill_null(NONE).to_numpy()
                      for k in range(1, n + 1)]) if table.num_rows else np.zeros((n, 0), np.int64)
    depth = table.column("depth").to_numpy().astype(np.int64)
    success = depth == n
    hi = np.where(success, times[-1], times[0] + round(f.window_seconds * 1e6) + 1)
    starts = table.column("session_start").cast(pa.int64()).to_numpy() if unit.sessions is not None else None
    cohort = _Cohort(table.column("object_code").to_numpy(), starts, depth, times, times[0], hi)
    tables, period = _Tables(success), {"start": start, "end": end, "actors": actors}
    used: dict[int, tuple[float, ...]] = {}
    if "events" in kinds or "properties" in kinds:
        seqs = load(store, unit, **period)
        row_f, inside = _inside(seqs, cohort)
        if "events" in kinds:
            _events(seqs, row_f, inside, tables, steps)
        names = {c: t for t, c in seqs.type_codes.items()}
        seen = sorted(names[int(c)] for c in np.unique(seqs.type[inside]))
        if "properties" in kinds and seen:
            reached: dict[str, int] = {}
            for k, s in enumerate(steps if f.order != "any_order" else [], 1):
                reached.setdefault(s.event, k)
            _properties(store, unit, cohort, tables, seen, props, top_values, reached, period)
    if "attributes" in kinds:
        _attributes(store, unit.object_type, cohort, tables, attrs, top_values)
    if "durations" in kinds:
        labels = [s.label for s in steps] if f.order != "any_order" else [f"{k} of {n} steps" for k in range(1, n + 1)]
        used = _durations(cohort, tables, labels, given)
    found, below, flat = _test(tables, min_actors, alpha)
    log.debug("drivers: %d entrants, %d features, %d tested", success.size, len(tables.meta), len(found))
    table = table.select([c for c in ("object_code", "session_start", "depth") if c in table.column_names])
    for name, values in (("success", success), ("observed_from", cohort.lo), ("observed_until", hi)):
        table = table.append_column(name, pa.array(values) if name == "success" else pa.array(values).cast(US))
    return DriversResult(
        steps=tuple(s.label for s in steps), window_seconds=f.window_seconds, by=f.by, object_type=f.object_type,
        entry=f.entry, order=f.order, features=tuple(k for k in FEATURES if k in kinds), min_actors=min_actors,
        alpha=float(alpha), top_values=top_values, duration_thresholds=used, actors_total=int(success.size),
        successes=int(success.sum()), features_considered=len(tables.meta), features_tested=len(found),
        features_below_support=below, features_without_contrast=flat, drivers=found, actors=table)

"""``jm.check_conformance``: which cases follow a reference model, what they break, and what it costs.

Semantics. The cases are the process view of an object type (``start <= time < end`` keeps events);
a case's events are in **case order**: by time, ties by load order (the source file's order). "Before"
and "after" always mean earlier and later in case order, so of two events with the same timestamp the
one loaded first precedes the other. Each check gives violations, each naming its constraint and
where it happened: the event (1-based position in the case) and its time, or nothing for a case-level
violation. A case **fits** when it has no violation. The :class:`~journeymine.ReferenceModel` parts:

- **unknown activity 'X'** (checked when the model gives ``edges`` or ``activities``): every event of
  an activity outside the model's alphabet. Start, end and edge checks skip such events (one
  violation per stray event, not three);
- **start 'X' not allowed** / **end 'X' not allowed**: the first / last event (if ``start`` / ``end``
  is given);
- **edge 'A' -> 'B' not allowed**: every pair of consecutive events not in ``edges``, at the second
  event (if ``edges`` is given);
- ``precedence`` **'A' must precede 'B'**: every B with no A before it in the case;
- ``response`` **'A' must be responded by 'B' [within T]**: every A with no B after it, or, with
  ``within``, whose next B comes more than T later (``time(B) - time(A) <= T`` passes: inclusive);
- ``not_coexist`` **'A' and 'B' must not coexist**: a case with both, once, at the first event by
  which both have occurred;
- ``at_most_once`` **'A' at most once**: every A after the first;
- ``existence`` **'A' must occur**: a case without A (case level, no event);
- ``init`` **case must start with 'A'**: a case whose first event is not A, at event 1.

The result: per case ``fits``, the number and list of violations and the throughput time (first to
last event); the **fitness rate** (share of fitting cases) with its Wilson score 95 % interval; the
violations ranked by the number of cases they occur in; the fitness rate by period of case start
(UTC days, ISO weeks from Monday, or months); and the **effect of deviating on throughput time**:
median and mean throughput of fitting and deviating cases, the difference of medians (deviating minus
fitting) with a 95 % percentile-bootstrap interval (10,000 resamples, fixed seed 0, so the interval is
deterministic; each resample's median is drawn from its exact distribution, an order statistic of
uniforms, instead of resampling every case), and the two-sided Mann-Whitney U p-value (normal
approximation with tie correction and continuity correction, as SciPy's ``method="asymptotic"``).

Peers. The rules are Declare templates with the semantics of pm4py's declare conformance (pm4py
2.7: ``precedence``, ``response``, ``noncoexistence``, ``existence``, ``init``; ``response`` with
``within`` is our extension), compared case by case on real logs in the tests; the DFG part is the
"allowed connections" model of Celonis' conformance checker and the footprint of Disco's process maps.
Everything is vectorised over all cases (one NumPy pass per rule, O(occurrences)).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ConfigError
from ..journeys._stats import wilson
from ..results import Result
from ..store import Store
from ._cases import Cases
from ._model import ReferenceModel, Rule, as_model
from ._view import ProcessView, resolve

__all__ = ["Conformance", "check_conformance", "settled_violations"]

PERIODS = ("day", "week", "month")
RESAMPLES, SEED, EXAMPLES = 10_000, 0, 10
_DAY_US = 86_400_000_000


@dataclasses.dataclass(frozen=True, eq=False)
class Conformance(Result):
    """Conformance of ``cases`` cases to ``model``: ``table`` per case (``case_id``, ``start``,
    ``events``, ``duration_seconds``, ``fits``, ``violation_count``, ``violations``: list of
    {``constraint``, ``event``, ``time``}), ``fitness`` with its 95 % interval, ``violations`` ranked
    (``kind``, ``constraint``, ``cases``, ``share``, ``occurrences``), ``over_time`` (``period``,
    ``cases``, ``fitting``, ``fitness``, ``fitness_low``, ``fitness_high``) and ``throughput`` (the
    effect of deviating on throughput time)."""

    object_type: str
    model: ReferenceModel = dataclasses.field(repr=False)
    period: str
    cases: int
    fitting: int
    fitness: float | None
    fitness_low: float | None
    fitness_high: float | None
    throughput: dict[str, object] = dataclasses.field(repr=False)
    table: pa.Table = dataclasses.field(repr=False)
    violations: pa.Table = dataclasses.field(repr=False)
    over_time: pa.Table = dataclasses.field(repr=False)

    def to_arrow(self) -> pa.Table:
        return self.table

    def to_dict(self) -> dict[str, object]:
        deviating = self.table.filter(pc.invert(self.table.column("fits"))).slice(0, EXAMPLES)
        examples = [{"case_id": r["case_id"], "violations": [_message(v) for v in r["violations"]]}
                    for r in deviating.select(["case_id", "violations"]).to_pylist()]
        over_time = [{**r, "period": r["period"].isoformat()} for r in self.over_time.to_pylist()]
        return {"object_type": self.object_type, "model": self.model.to_dict(), "period": self.period,
                "cases": self.cases, "fitting": self.fitting, "fitness": self.fitness,
                "fitness_low": self.fitness_low, "fitness_high": self.fitness_high,
                "violations": self.violations.to_pylist(), "over_time": over_time,
                "throughput": self.throughput, "deviating_examples": examples}


def _message(v: dict) -> str:
    return v["constraint"] if v["event"] is None else f"{v['constraint']} (event {v['event']}, {v['time'].isoformat()})"


class _Found:
    """The violations found so far: (case, row or -1, constraint id), constraints by label."""

    def __init__(self, c: Cases) -> None:
        self.c, self.labels, self.kinds, self.ids = c, [], [], {}
        self.cases: list[np.ndarray] = []
        self.rows: list[np.ndarray] = []
        self.which: list[np.ndarray] = []

    def constraint(self, kind: str, label: str) -> int:
        if label not in self.ids:
            self.ids[label] = len(self.labels)
            self.labels.append(label)
            self.kinds.append(kind)
        return self.ids[label]

    def at_rows(self, rows: np.ndarray, kind: str, label: str) -> None:
        self.add(self.c.case[rows], rows, np.full(rows.size, self.constraint(kind, label), np.int64))

    def by_activity(self, rows: np.ndarray, keys: np.ndarray, kind: str, label) -> None:
        """Violations at ``rows``, one constraint per distinct ``keys`` value (``label(key)``)."""
        if rows.size:
            uniq, inverse = np.unique(keys, return_inverse=True)
            ids = np.array([self.constraint(kind, label(int(k))) for k in uniq], np.int64)
            self.add(self.c.case[rows], rows, ids[inverse.ravel()])

    def add(self, cases: np.ndarray, rows: np.ndarray, which: np.ndarray) -> None:
        if cases.size:
            self.cases.append(cases.astype(np.int64))
            self.rows.append(rows.astype(np.int64))
            self.which.append(which)


def _first_per_case(c: Cases, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mask of rows that are the first of their case among ``rows``, first row of every case or -1)."""
    first = np.ones(rows.size, bool)
    cases = c.case[rows]
    first[1:] = cases[1:] != cases[:-1]
    at = np.full(c.n_cases, -1, np.int64)
    at[cases[first]] = rows[first]
    return first, at


def _check_dfg(c: Cases, model: ReferenceModel, codes: dict[str, int], found: _Found) -> None:
    t = len(c.names)
    act = c.activity.astype(np.int64)
    known = np.ones(t, bool)
    if model.alphabet is not None:
        known[:] = False
        known[[codes[a] for a in model.alphabet if a in codes]] = True
        rows = np.flatnonzero(~known[act])
        found.by_activity(rows, act[rows], "activity", lambda k: f"unknown activity '{c.names[k]}'")
    for part, rows in (("start", c.starts), ("end", c.ends - 1)):
        allowed = getattr(model, part)
        if allowed is not None and rows.size:
            ok = np.zeros(t, bool)
            ok[[codes[a] for a in allowed if a in codes]] = True
            bad = rows[~ok[act[rows]] & known[act[rows]]]
            found.by_activity(bad, act[bad], part, lambda k, p=part: f"{p} '{c.names[k]}' not allowed")
    if model.edges is not None and c.seqs.n > 1:
        follows = c.case[1:] == c.case[:-1]
        key = act[:-1] * t + act[1:]
        allowed = np.array([codes[a] * t + codes[b] for a, b in model.edges if a in codes and b in codes], np.int64)
        bad = np.flatnonzero(follows & ~np.isin(key, allowed) & known[act[:-1]] & known[act[1:]])
        found.by_activity(bad + 1, key[bad], "edge",
                          lambda k: f"edge '{c.names[k // t]}' -> '{c.names[k % t]}' not allowed")


def _check_rule(c: Cases, rule: Rule, codes: dict[str, int], found: _Found) -> None:
    def rows_of(name: str | None) -> np.ndarray:
        code = codes.get(name, -1)
        return np.flatnonzero(c.activity == code) if code >= 0 else np.zeros(0, np.int64)

    a = rows_of(rule.a)
    first_a, first_at = _first_per_case(c, a)
    if rule.type == "precedence":
        b = rows_of(rule.b)
        before = first_at[c.case[b]]
        found.at_rows(b[(before < 0) | (before >= b)], rule.type, rule.label)
    elif rule.type == "response":
        b = rows_of(rule.b)
        j = np.searchsorted(b, a, side="right")  # the next B after each A, if in the same case
        nxt = b[np.minimum(j, b.size - 1)] if b.size else np.zeros(a.size, np.int64)
        ok = (j < b.size) & (nxt < c.ends[c.case[a]])
        if rule.within_seconds is not None:
            ok &= (c.time[nxt] - c.time[a]) <= round(rule.within_seconds * 1e6)
        found.at_rows(a[~ok], rule.type, rule.label)
    elif rule.type == "not_coexist":
        _, first_b = _first_per_case(c, rows_of(rule.b))
        both = np.flatnonzero((first_at >= 0) & (first_b >= 0))
        found.at_rows(np.maximum(first_at[both], first_b[both]), rule.type, rule.label)
    elif rule.type == "at_most_once":
        found.at_rows(a[~first_a], rule.type, rule.label)
    elif rule.type == "existence":
        missing = np.flatnonzero(first_at < 0)
        found.add(missing, np.full(missing.size, -1), np.full(missing.size, found.constraint(rule.type, rule.label)))
    else:  # init
        found.at_rows(c.starts[c.activity[c.starts] != codes.get(rule.a, -1)], rule.type, rule.label)


def _violation_lists(c: Cases, found: _Found) -> tuple[pa.Array, np.ndarray, np.ndarray, np.ndarray]:
    """(list of violations per case, count per case, case and constraint of every violation)."""
    cases = np.concatenate(found.cases) if found.cases else np.zeros(0, np.int64)
    rows = np.concatenate(found.rows) if found.rows else np.zeros(0, np.int64)
    which = np.concatenate(found.which) if found.which else np.zeros(0, np.int64)
    order = np.lexsort((which, np.where(rows < 0, np.iinfo(np.int64).max, rows), cases))
    cases, rows, which = cases[order], rows[order], which[order]
    counts = np.bincount(cases, minlength=c.n_cases)
    offsets = np.zeros(c.n_cases + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    case_level = rows < 0
    safe = np.where(case_level, 0, rows)
    values = pa.StructArray.from_arrays([
        pa.array(found.labels, pa.string()).take(pa.array(which)),
        pa.array(safe - c.starts[cases] + 1, pa.int64(), mask=case_level),
        pa.array(c.time[safe], pa.int64(), mask=case_level).cast(pa.timestamp("us")),
    ], names=["constraint", "event", "time"])
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int64()).cast(pa.int32()), values), counts, cases, which


def _ranking(found: _Found, cases: np.ndarray, which: np.ndarray, n_cases: int) -> pa.Table:
    k = len(found.labels)
    occurrences = np.bincount(which, minlength=k)
    pairs = np.unique(cases * max(k, 1) + which)
    per_case = np.bincount(pairs % max(k, 1), minlength=k) if pairs.size else np.zeros(k, np.int64)
    order = sorted((i for i in range(k) if per_case[i]), key=lambda i: (-per_case[i], -occurrences[i], found.labels[i]))
    return pa.table({
        "kind": pa.array([found.kinds[i] for i in order], pa.string()),
        "constraint": pa.array([found.labels[i] for i in order], pa.string()),
        "cases": pa.array([int(per_case[i]) for i in order], pa.int64()),
        "share": pa.array([per_case[i] / n_cases for i in order], pa.float64()),
        "occurrences": pa.array([int(occurrences[i]) for i in order], pa.int64()),
    })


def _period_days(start_us: np.ndarray, period: str) -> np.ndarray:
    """Days since 1970-01-01 of the UTC day, ISO week (Monday) or month each time falls in."""
    day = start_us // _DAY_US
    if period == "day":
        return day
    if period == "week":
        return day - (day + 3) % 7  # 1970-01-01 was a Thursday
    return start_us.astype("datetime64[us]").astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def _over_time(start_us: np.ndarray, fits: np.ndarray, period: str) -> pa.Table:
    keys, inverse = np.unique(_period_days(start_us, period), return_inverse=True)
    n = np.bincount(inverse.ravel(), minlength=keys.size)
    ok = np.bincount(inverse.ravel(), weights=fits, minlength=keys.size).astype(np.int64)
    bounds = [wilson(int(x), int(m)) for x, m in zip(ok, n)]
    return pa.table({
        "period": pa.array(keys.astype(np.int32), pa.int32()).cast(pa.date32()),
        "cases": pa.array(n, pa.int64()), "fitting": pa.array(ok, pa.int64()),
        "fitness": pa.array(ok / np.maximum(n, 1), pa.float64()),
        "fitness_low": pa.array([b[0] for b in bounds], pa.float64()),
        "fitness_high": pa.array([b[1] for b in bounds], pa.float64()),
    })


def bootstrap_medians(values: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Medians of ``resamples`` bootstrap resamples of ``values`` (sorted), drawn without resampling:
    the k-th smallest of n resampled indices is ``floor(n * U)`` with ``U`` the k-th order statistic
    of n uniforms, ``Beta(k, n - k + 1)``; the next one follows ``U + (1 - U) * Beta(1, n - k)``."""
    n = values.size
    k = (n + 1) // 2
    u = rng.beta(k, n - k + 1, resamples)
    low = values[np.minimum((u * n).astype(np.int64), n - 1)]
    if n % 2:
        return low
    v = u + (1 - u) * rng.beta(1, n - k, resamples)
    return (low + values[np.minimum((v * n).astype(np.int64), n - 1)]) / 2


def mann_whitney_p(x: np.ndarray, y: np.ndarray) -> float | None:
    """Two-sided Mann-Whitney U p-value (normal approximation, tie and continuity corrected)."""
    n1, n2 = x.size, y.size
    n = n1 + n2
    if not n1 or not n2:
        return None
    both = np.concatenate([x, y])
    order = np.argsort(both, kind="stable")
    s = both[order]
    first = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    ties = np.diff(np.r_[first, n]).astype(np.float64)
    ranks = np.empty(n)
    ranks[order] = np.repeat(first + (ties + 1) / 2, ties.astype(np.int64))
    u = ranks[:n1].sum() - n1 * (n1 + 1) / 2
    variance = n1 * n2 / 12 * ((n + 1) - (ties ** 3 - ties).sum() / (n * (n - 1)))
    if not variance > 0:
        return None
    z = (abs(u - n1 * n2 / 2) - 0.5) / math.sqrt(variance)
    return min(1.0, math.erfc(z / math.sqrt(2)))


def _throughput(seconds: np.ndarray, fits: np.ndarray) -> dict[str, object]:
    groups = {"fitting": np.sort(seconds[fits]), "deviating": np.sort(seconds[~fits])}
    out: dict[str, object] = {name: {"cases": int(v.size), "median_seconds": float(np.median(v)) if v.size else None,
                                     "mean_seconds": float(v.mean()) if v.size else None}
                              for name, v in groups.items()}
    fit, dev = groups["fitting"], groups["deviating"]
    diff = low = high = None
    if fit.size and dev.size:
        rng = np.random.default_rng(SEED)
        draws = bootstrap_medians(dev, RESAMPLES, rng) - bootstrap_medians(fit, RESAMPLES, rng)
        diff = float(np.median(dev) - np.median(fit))
        low, high = (float(q) for q in np.percentile(draws, (2.5, 97.5)))
    out.update(median_difference_seconds=diff, difference_low=low, difference_high=high,
               p_value=mann_whitney_p(dev, fit), method=f"percentile bootstrap ({RESAMPLES} resamples, seed {SEED});"
                                                        " Mann-Whitney U (normal approximation)")
    return out


def settled_violations(c: Cases, model: ReferenceModel) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """The violations of ``model`` that a case cut off at some time can already show: (case, constraint
    index and **settled time** (µs) of each violation, constraint labels). Found exactly as
    :func:`check_conformance` finds them, on the whole cases; a prefix of a case (its events before a
    cutoff) shows a violation when the settled time is before the cutoff.

    The checks a prefix can judge are the safety ones, whose violation no later event undoes: unknown
    activity, start, edge, ``precedence``, ``not_coexist``, ``at_most_once`` and ``init``, each settled
    at the event it is found at (the earliest event that shows it); and ``response`` with ``within`` T,
    settled at time(A) + T. Left out, because they are judged only on a finished case: ``end``,
    ``existence`` and ``response`` without ``within``."""
    found = _Found(c)
    codes = c.seqs.type_codes
    _check_dfg(c, model, codes, found)
    delay: dict[str, int] = {}
    for rule in dict.fromkeys(model.rules):
        if rule.type == "existence" or (rule.type == "response" and rule.within_seconds is None):
            continue
        if rule.type == "response":
            delay[rule.label] = round(rule.within_seconds * 1e6)
        _check_rule(c, rule, codes, found)
    cases = np.concatenate(found.cases) if found.cases else np.zeros(0, np.int64)
    rows = np.concatenate(found.rows) if found.rows else np.zeros(0, np.int64)
    which = np.concatenate(found.which) if found.which else np.zeros(0, np.int64)
    keep = np.array([kind != "end" for kind in found.kinds], bool)[which] if which.size else np.zeros(0, bool)
    cases, rows, which = cases[keep], rows[keep], which[keep]
    extra = np.array([delay.get(label, 0) for label in found.labels], np.int64)
    return cases, which, c.time[rows] + extra[which] if rows.size else np.zeros(0, np.int64), found.labels


def check_conformance(source: Store | ProcessView, model: ReferenceModel | str | dict, object_type: str | None = None,
                      *, start: object = None, end: object = None, period: str = "week") -> Conformance:
    """Check ``object_type``'s cases against a reference ``model`` (semantics in the module docs).

    ``model`` is a :class:`~journeymine.ReferenceModel`, the path of a ``.toml`` or ``.json`` model
    file or its dict form; ``object_type`` defaults to the view's type, else to the model's
    ``object_type``, else ``"case"``.
    ``start``/``end`` keep events with ``start <= time < end``; ``period`` (``"day"``, ``"week"``,
    ``"month"``) groups the fitness rate over time by the UTC period of each case's first event.

    >>> import journeymine as jm
    >>> store = jm.connect(":memory:")
    >>> _ = jm.read_csv("data/running-example/running-example.csv", store, activity_col="concept:name",
    ...                 timestamp_col="time:timestamp", case_col="case:concept:name")
    >>> rules = [{"type": "precedence", "a": "check ticket", "b": "decide"},
    ...          {"type": "at_most_once", "a": "decide"}]
    >>> result = jm.check_conformance(store, {"end": ["pay compensation"], "rules": rules})
    >>> result.cases, result.fitting, result.violations.column("constraint").to_pylist()
    (6, 2, ["end 'reject request' not allowed", "'decide' at most once"])
    """
    model = as_model(model)
    if period not in PERIODS:
        raise ConfigError(f"The period parameter must be one of {', '.join(PERIODS)}. Got {period!r} instead.",
                          field="period")
    if object_type is None and not isinstance(source, ProcessView):
        object_type = model.object_type
    c, store = resolve(source, object_type, start, end)
    found = _Found(c)
    codes = c.seqs.type_codes
    _check_dfg(c, model, codes, found)
    for rule in dict.fromkeys(model.rules):  # a rule given twice is checked once
        _check_rule(c, rule, codes, found)
    lists, counts, cases, which = _violation_lists(c, found)
    fits = counts == 0
    first = c.time[c.starts]
    seconds = (c.time[c.ends - 1] - first) / 1e6 if c.n_cases else np.zeros(0)
    table = pa.table({
        "case_id": c.ids(store), "start": pa.array(first, pa.int64()).cast(pa.timestamp("us")),
        "events": pa.array(c.ends - c.starts, pa.int64()), "duration_seconds": pa.array(seconds, pa.float64()),
        "fits": pa.array(fits, pa.bool_()), "violation_count": pa.array(counts, pa.int64()), "violations": lists,
    })
    fitting = int(fits.sum())
    low, high = wilson(fitting, c.n_cases)
    return Conformance(
        object_type=c.object_type, model=model, period=period, cases=c.n_cases, fitting=fitting,
        fitness=fitting / c.n_cases if c.n_cases else None, fitness_low=None if math.isnan(low) else low,
        fitness_high=None if math.isnan(high) else high, throughput=_throughput(seconds, fits), table=table,
        violations=_ranking(found, cases, which, max(c.n_cases, 1)), over_time=_over_time(first, fits, period))

"""``retention``: of the actors who first did something in a period, how many came back, and when.

Exact semantics (``docs/retention.md`` has worked examples and the comparison with PostHog and
Amplitude). For each actor of the counting unit, its events ordered by time (ties by load order):

- **Cohort.** The actor's *first* ``start_event`` (among the events with ``start <= time < end``)
  puts it in the cohort of the UTC calendar period that contains it: the day, the ISO week (Monday
  to Sunday) or the calendar month. An actor belongs to exactly one cohort; actors without a start
  event are not counted.
- **Returns.** A return is a ``return_event`` (default: the start event) *strictly later in time*
  than the cohort event; an event at the same microsecond never counts, and neither does the cohort
  event itself. Its period number N is the count of calendar periods between the cohort's period and
  the return's (0 = a later return in the same period, 1 = the next period, ...).
- **Which returns.** ``returns="recurring"``: every return counts, so an actor can be retained in
  several periods. ``"first_time"``: only the actor's first return counts.
- **Mode.** ``mode="on"``: an actor is retained in N when a counted return falls in period N.
  ``"on_or_after"``: when a counted return falls in period N or any later one, up to the end of the
  data (PostHog's "on or after", Amplitude's "return on or after" / unbounded retention).
- **Observation.** The data is observed up to ``end`` (exclusive) and at most to just after the
  store's last event (of any type). Period N of a cohort is *observed* when it ends no later than
  that; a period still running is null in the cohort table, never 0. The curve's point N pools only
  the cohorts that observed N: ``share = sum(retained) / sum(size)`` over them (a size-weighted
  mean), with a Wilson 95 % interval.

Starting and return events are event types, or dicts / :class:`~journeymine.journeys._steps.Step`
with property filters, as funnel steps are. Derived sessions are not a counting unit here (a session
lasts at most a day, so it has no later periods to return in); objects of a stored ``session`` type
are (``by="object:session"``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time as clock

import numpy as np
import pyarrow as pa

from ..errors import ConfigError
from ..results import Result, Segment
from ..store import Store
from ..timespan import parse_instant
from . import _chains
from ._stats import wilson
from ._steps import Step, attribute_names, match, parse_steps
from ._units import load, parse_unit

__all__ = ["RetentionCohort", "RetentionPoint", "RetentionResult", "retention"]

log = logging.getLogger(__name__)

PERIODS = ("day", "week", "month")
RETURNS = ("recurring", "first_time")
MODES = ("on", "on_or_after")
DAY_US = 86_400_000_000
EPOCH = dt.datetime(1970, 1, 1)


@dataclasses.dataclass(frozen=True)
class RetentionCohort:
    """One cohort: its period's first day, its size, and per period N the retained actors and their
    share of the cohort (``None`` where period N is not fully observed)."""

    start: dt.date
    size: int
    retained: tuple[int | None, ...]
    share: tuple[float | None, ...]


@dataclasses.dataclass(frozen=True)
class RetentionPoint:
    """Period N of the retention curve, pooled over the ``cohorts`` that observed it."""

    period: int
    cohorts: int
    at_risk: int
    retained: int
    share: float | None
    share_low: float | None
    share_high: float | None


@dataclasses.dataclass(frozen=True, eq=False)
class RetentionResult(Result):
    """A retention analysis: the cohort table, the curve and the per-actor table.

    ``actors`` has one row per cohort actor: ``object_code``, ``cohort`` (the period's first day),
    ``cohort_time`` (the start event), ``observed_periods`` (how many periods of its cohort are fully
    observed, at most ``periods``) and ``return_periods`` (the distinct period numbers of its counted
    returns, any number, ascending). ``observed_until`` is where observation ends (exclusive).
    """

    start_event: str
    return_event: str
    period: str
    periods: int
    returns: str
    mode: str
    by: str
    object_type: str
    observed_until: dt.datetime | None
    actors_total: int
    cohorts: tuple[RetentionCohort, ...]
    curve: tuple[RetentionPoint, ...]
    actors: pa.Table = dataclasses.field(repr=False)

    def to_arrow(self) -> pa.Table:
        """The cohort table in long form: one row per (cohort, period) with ``size``, ``retained``
        and ``share`` (null where the period is not fully observed)."""
        rows = [{"cohort": c.start, "period": n, "size": c.size, "retained": c.retained[n], "share": c.share[n]}
                for c in self.cohorts for n in range(self.periods)]
        schema = pa.schema([("cohort", pa.date32()), ("period", pa.int32()), ("size", pa.int64()),
                            ("retained", pa.int64()), ("share", pa.float64())])
        return pa.Table.from_pylist(rows, schema=schema)

    def curve_table(self) -> pa.Table:
        """The curve: one row per period N."""
        schema = pa.schema([("period", pa.int32()), ("cohorts", pa.int64()), ("at_risk", pa.int64()),
                            ("retained", pa.int64()), ("share", pa.float64()), ("share_low", pa.float64()),
                            ("share_high", pa.float64())])
        return pa.Table.from_pylist([dataclasses.asdict(p) for p in self.curve], schema=schema)

    def cohort_table(self, values: str = "share") -> pa.Table:
        """The cohort table in wide form: ``cohort``, ``size`` and one column per period N
        (``period_0``, ...) holding ``values`` ("share" or "retained")."""
        if values not in ("share", "retained"):
            raise ConfigError(f"The values parameter must be 'share' or 'retained'. Got {values!r} instead.",
                              field="values")
        columns: dict[str, pa.Array] = {"cohort": pa.array([c.start for c in self.cohorts], pa.date32()),
                                        "size": pa.array([c.size for c in self.cohorts], pa.int64())}
        kind = pa.float64() if values == "share" else pa.int64()
        for n in range(self.periods):
            columns[f"period_{n}"] = pa.array([getattr(c, values)[n] for c in self.cohorts], kind)
        return pa.table(columns)

    def to_dict(self) -> dict[str, object]:
        return {
            "start_event": self.start_event, "return_event": self.return_event, "period": self.period,
            "periods": self.periods, "returns": self.returns, "mode": self.mode, "by": self.by,
            "observed_until": self.observed_until, "actors_total": self.actors_total,
            "cohorts": [{"cohort": c.start, "size": c.size, "retained": list(c.retained), "share": list(c.share)}
                        for c in self.cohorts],
            "curve": [dataclasses.asdict(p) for p in self.curve],
        }

    def _who(self, n: int, retained: bool) -> Segment:
        if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n < self.periods:
            raise ConfigError(f"The n parameter must be a period number from 0 to {self.periods - 1}. "
                              f"Got {n!r} instead.", field="n")
        observed = self.actors.column("observed_periods").to_numpy() > n
        lists = self.actors.column("return_periods").combine_chunks()
        values = lists.flatten().to_numpy()
        offsets = lists.offsets.to_numpy() - lists.offsets[0].as_py()
        hit = np.zeros(len(lists), bool)
        if self.mode == "on":
            hit[np.repeat(np.arange(len(lists)), np.diff(offsets))[values == n]] = True
        else:  # periods are ascending: the last one is the latest return
            has = np.diff(offsets) > 0
            hit[has] = values[offsets[1:][has] - 1] >= n
        keep = observed & (hit if retained else ~hit)
        codes = self.actors.column("object_code").to_numpy()[keep]
        word = "retained" if retained else "not retained"
        return Segment(f"{word} in {self.period} {n} after {self.start_event}", self.object_type, codes)

    def retained(self, n: int) -> Segment:
        """The actors counted as retained in period ``n`` (of cohorts that observed it)."""
        return self._who(n, True)

    def not_retained(self, n: int) -> Segment:
        """The actors of cohorts that observed period ``n`` who are not retained in it."""
        return self._who(n, False)


def _choice(value: object, allowed: tuple[str, ...], field: str) -> str:
    if value not in allowed:
        raise ConfigError(f"The {field} parameter must be one of {list(allowed)}. Got {value!r} instead.", field=field)
    return str(value)


def period_index(time_us: np.ndarray, period: str) -> np.ndarray:
    """The UTC calendar period number of each time (µs): days, Monday weeks or months since 1970."""
    days = np.floor_divide(time_us, DAY_US)
    if period == "day":
        return days
    if period == "week":
        return np.floor_divide(days + 3, 7)  # 1970-01-01 was a Thursday: week 0 starts Monday 1969-12-29
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def period_start(index: np.ndarray, period: str) -> np.ndarray:
    """The first day (days since 1970) of each period number."""
    if period == "day":
        return index
    if period == "week":
        return index * 7 - 3
    return index.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def _last_event_us(store: Store) -> int | None:
    """The time (µs) of the store's last event of any type, ``None`` for an empty store."""
    column = store.query("SELECT max(time) AS last_time FROM event").column("last_time")
    value = column.cast(pa.timestamp("us")).cast(pa.int64())[0].as_py()
    return None if value is None else int(value)


def _counted_returns(actor: np.ndarray, time: np.ndarray, returning: np.ndarray, cohort_us: np.ndarray,
                     cohort_period: np.ndarray, period: str, first_time: bool) -> tuple[np.ndarray, np.ndarray]:
    """(actor, period number) of each distinct counted return, ordered by actor then period."""
    rows = np.flatnonzero(returning)
    a = actor[rows]
    later = time[rows] > cohort_us[a]  # actors without a cohort have the largest time
    rows, a = rows[later], a[later]
    n = period_index(time[rows], period) - cohort_period[a]
    if a.size:  # rows are ordered by (actor, time): keep each actor's first row, or first row per period
        new = np.empty(a.size, bool)
        new[0] = True
        np.not_equal(a[1:], a[:-1], out=new[1:])
        if not first_time:
            new[1:] |= n[1:] != n[:-1]
        a, n = a[new], n[new]
    return a, n


def retention(
    store: Store, start_event: str | Step | dict, return_event: str | Step | dict | None = None, *,
    period: str = "week", periods: int = 8, returns: str = "recurring", mode: str = "on",
    by: object = "customer", start: object = None, end: object = None, actors: Segment | None = None,
) -> RetentionResult:
    """Cohort retention from a start event to a return event (semantics in the module docs).

    ``period`` is "day", "week" (ISO, from Monday) or "month", in UTC; ``periods`` the number of
    periods reported per cohort (N = 0 .. periods-1). ``by`` is the counting unit ("customer", an
    object type or "object:TYPE"); ``start``/``end`` keep events with ``start <= time < end``;
    ``actors`` restricts the analysis to a segment.

    >>> import journeymine as jm
    >>> store = jm.simulate(customers=300, days=30, seed=2).store
    >>> r = jm.retention(store, "page viewed", period="week", periods=4)
    >>> [c.start.isoformat() for c in r.cohorts][:2], r.cohorts[-1].retained[1] is None
    (['2026-01-05', '2026-01-12'], True)
    >>> r.curve[1].retained == len(r.retained(1))
    True
    """
    start_step = parse_steps(start_event, "start_event")
    if len(start_step) != 1:
        raise ConfigError(f"The start_event parameter must be one event. Got {start_event!r} instead.",
                          field="start_event")
    return_step = start_step if return_event is None else parse_steps(return_event, "return_event")
    if len(return_step) != 1:
        raise ConfigError(f"The return_event parameter must be one event. Got {return_event!r} instead.",
                          field="return_event")
    s_step, r_step = start_step[0], return_step[0]
    period = _choice(period, PERIODS, "period")
    returns, mode = _choice(returns, RETURNS, "returns"), _choice(mode, MODES, "mode")
    if not isinstance(periods, int) or isinstance(periods, bool) or not 1 <= periods <= 1000:
        raise ConfigError(f"The periods parameter must be an integer from 1 to 1000. Got {periods!r} instead.",
                          field="periods")
    unit = parse_unit(by)
    if unit.sessions is not None:
        raise ConfigError("The by parameter cannot be 'session' for retention: a derived session lasts at most "
                          "a day, so it has no later periods to return in. Use 'customer', an object type or "
                          "'object:session' for stored session objects.", field="by")
    t_start, t_end = parse_instant(start, "start"), parse_instant(end, "end")
    began = clock.perf_counter()
    seqs = load(store, unit, types={s_step.event, r_step.event}, event_attributes=attribute_names([s_step, r_step]),
                start=t_start, end=t_end, actors=actors)
    loaded = clock.perf_counter()

    first = _chains.first_rows(seqs.actor, match(seqs, s_step))
    cohort_actor = seqs.actor[first]
    cohort_us = np.full(seqs.n_actors, np.iinfo(np.int64).max, np.int64)
    cohort_us[cohort_actor] = seqs.time[first]
    cohort_period = np.zeros(seqs.n_actors, np.int64)
    cohort_period[cohort_actor] = period_index(seqs.time[first], period)
    ret_a, ret_n = _counted_returns(seqs.actor, seqs.time, match(seqs, r_step), cohort_us, cohort_period, period,
                                    returns == "first_time")

    last = _last_event_us(store)
    horizon = None if last is None else last + 1
    if t_end is not None:
        end_us = (t_end - EPOCH) // dt.timedelta(microseconds=1)
        horizon = end_us if horizon is None else min(horizon, end_us)
    labels, cohort_of = np.unique(cohort_period[cohort_actor], return_inverse=True)
    n_cohorts = labels.size
    limit = period_index(np.array([horizon if horizon is not None else 0], np.int64), period)[0]
    observed = np.clip(limit - labels, 0, periods)  # period N of cohort c is observed when N < observed[c]

    # retained[c, N] from the distinct (actor, N) pairs
    where = np.zeros(seqs.n_actors, np.int64)
    where[cohort_actor] = cohort_of
    if mode == "on":
        keep = ret_n < periods
        flat = np.bincount(where[ret_a[keep]] * periods + ret_n[keep], minlength=n_cohorts * periods)
        counts = flat.reshape(n_cohorts, periods)
    else:
        last_row = np.flatnonzero(np.append(ret_a[1:] != ret_a[:-1], True)) if ret_a.size else ret_a
        top = np.minimum(ret_n[last_row], periods - 1)  # an actor is retained in every N <= its latest return
        hist = np.bincount(where[ret_a[last_row]] * periods + top, minlength=n_cohorts * periods)
        counts = np.cumsum(hist.reshape(n_cohorts, periods)[:, ::-1], axis=1)[:, ::-1]
    sizes = np.bincount(cohort_of, minlength=n_cohorts)
    starts = period_start(labels, period)
    cohorts = []
    for c in range(n_cohorts):
        seen = range(int(observed[c]))
        retained = tuple(int(counts[c, n]) if n in seen else None for n in range(periods))
        share = tuple(r / int(sizes[c]) if r is not None else None for r in retained)
        cohorts.append(RetentionCohort((EPOCH + dt.timedelta(days=int(starts[c]))).date(), int(sizes[c]), retained,
                                       share))
    curve = []
    for n in range(periods):
        pool = observed > n
        at_risk, got = int(sizes[pool].sum()), int(counts[pool, n].sum())
        low, high = wilson(got, at_risk) if at_risk else (None, None)
        curve.append(RetentionPoint(n, int(pool.sum()), at_risk, got, got / at_risk if at_risk else None, low, high))

    offsets = np.searchsorted(ret_a, np.arange(seqs.n_actors + 1))
    per_actor = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), pa.array(ret_n, pa.int32()))
    table = pa.table({
        "object_code": pa.array(seqs.actor_code[cohort_actor], pa.int64()),
        "cohort": pa.array(starts[cohort_of].astype(np.int32), pa.int32()).cast(pa.date32()),
        "cohort_time": pa.array(seqs.time[first], pa.int64()).cast(pa.timestamp("us")),
        "observed_periods": pa.array(observed[cohort_of].astype(np.int32)),
        "return_periods": per_actor.take(pa.array(cohort_actor, pa.int64())),
    })
    log.debug("retention: loaded %d rows in %.3fs, computed %d cohorts in %.3fs", seqs.n, loaded - began,
              n_cohorts, clock.perf_counter() - loaded)
    return RetentionResult(
        start_event=s_step.label, return_event=r_step.label, period=period, periods=periods, returns=returns,
        mode=mode, by=unit.label, object_type=unit.object_type,
        observed_until=None if horizon is None else EPOCH + dt.timedelta(microseconds=int(horizon)),
        actors_total=int(cohort_actor.size), cohorts=tuple(cohorts), curve=tuple(curve), actors=table,
    )

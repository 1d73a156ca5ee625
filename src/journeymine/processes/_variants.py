"""``jm.variants`` and ``jm.case_durations``: the distinct paths through a process and how long cases take.

Semantics. A case's **variant** is the sequence of its activities, its events ordered by time, ties by
load order (as pm4py's ``get_variants``). Two cases have the same variant when their sequences are
equal. A case's **duration** (throughput time) is the time from its first to its last event, in
seconds (pm4py's ``get_all_case_durations``); a case with one event takes 0 s.

Variants are found without building a string per case: each case's sequence gets two independent
64-bit polynomial hashes (vectorised), cases are grouped by (hashes, length), and every case is then
compared element by element with its group's first case, so a hash collision can never merge two
different variants (if one ever occurs, the grouping falls back to exact tuples).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa

from ..errors import ConfigError
from ..results import Result
from ..store import Store
from ._cases import group_variants
from ._view import ProcessView, resolve

__all__ = ["CaseDurations", "Variants", "case_durations", "variants"]

@dataclasses.dataclass(frozen=True, eq=False)
class Variants(Result):
    """The variants of a process: ``table`` with ``variant`` (list of activities), ``cases``,
    ``share`` and ``mean_seconds`` (mean throughput time), most frequent first (ties: the variant whose
    first case comes first, in object code order); ``total_cases`` and ``total_variants`` before any
    ``top``/``coverage`` cut."""

    object_type: str
    total_cases: int
    total_variants: int
    table: pa.Table = dataclasses.field(repr=False)

    def to_arrow(self) -> pa.Table:
        return self.table

    def to_dict(self) -> dict[str, object]:
        return {"object_type": self.object_type, "total_cases": self.total_cases,
                "total_variants": self.total_variants, "variants": self.table.to_pylist()}

    def counts(self) -> dict[tuple[str, ...], int]:
        """{variant as a tuple of activities: cases}, as pm4py's ``get_variants`` gives."""
        return {tuple(v): n for v, n in zip(self.table.column("variant").to_pylist(),
                                            self.table.column("cases").to_pylist())}


@dataclasses.dataclass(frozen=True, eq=False)
class CaseDurations(Result):
    """Throughput time of every case: ``table`` with ``case_id``, ``start``, ``end``, ``events`` and
    ``duration_seconds`` (in case order), plus the distribution's summary."""

    object_type: str
    cases: int
    mean_seconds: float | None
    median_seconds: float | None
    p90_seconds: float | None
    table: pa.Table = dataclasses.field(repr=False)

    def to_arrow(self) -> pa.Table:
        return self.table

    def to_dict(self) -> dict[str, object]:
        return {"object_type": self.object_type, "cases": self.cases, "mean_seconds": self.mean_seconds,
                "median_seconds": self.median_seconds, "p90_seconds": self.p90_seconds}


def variants(source: Store | ProcessView, object_type: str | None = None, *, top: int | None = None, coverage: float | None = None,
             start: object = None, end: object = None) -> Variants:
    """The variants of ``object_type``'s cases (semantics in the module docs).

    ``top`` keeps the most frequent variants; ``coverage`` (0-1] keeps the most frequent variants until
    they cover that share of cases. ``start``/``end`` keep events with ``start <= time < end``.

    >>> import journeymine as jm
    >>> store = jm.connect(":memory:")
    >>> _ = jm.read_csv("data/running-example/running-example.csv", store, activity_col="concept:name",
    ...                 timestamp_col="time:timestamp", case_col="case:concept:name")
    >>> v = jm.variants(store)
    >>> v.total_cases, v.total_variants, v.table.column("cases").to_pylist()[0]
    (6, 6, 1)
    """
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 1):
        raise ConfigError(f"The top parameter must be a positive integer or None. Got {top!r} instead.", field="top")
    if coverage is not None and not (isinstance(coverage, (int, float)) and 0 < coverage <= 1):
        raise ConfigError(f"The coverage parameter must be in (0, 1]. Got {coverage!r} instead.", field="coverage")
    c, store = resolve(source, object_type, start, end)
    inverse, first = group_variants(c)
    cases = np.bincount(inverse, minlength=first.size)
    seconds = (c.time[c.ends - 1] - c.time[c.starts]) / 1e6 if c.n_cases else np.zeros(0)
    mean = np.bincount(inverse, weights=seconds, minlength=first.size) / np.maximum(cases, 1)
    order = np.lexsort((first, -cases)) if first.size else first  # most cases first, ties by first case
    if coverage is not None:
        covered = np.cumsum(cases[order]) / max(c.n_cases, 1)
        order = order[: int(np.searchsorted(covered, coverage - 1e-12)) + 1]
    if top is not None:
        order = order[:top]
    reps = first[order]
    lengths = (c.ends - c.starts)[reps]
    offsets = np.zeros(reps.size + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    rows = np.repeat(c.starts[reps] - offsets[:-1], lengths) + np.arange(offsets[-1])
    names = pa.array([n or "" for n in c.names], pa.string())
    table = pa.table({
        "variant": pa.ListArray.from_arrays(pa.array(offsets, pa.int32()),
                                            names.take(pa.array(c.activity[rows].astype(np.int64)))),
        "cases": pa.array(cases[order], pa.int64()),
        "share": pa.array(cases[order] / max(c.n_cases, 1), pa.float64()),
        "mean_seconds": pa.array(mean[order], pa.float64()),
    })
    return Variants(object_type=c.object_type, total_cases=c.n_cases, total_variants=int(first.size), table=table)


def case_durations(source: Store | ProcessView, object_type: str | None = None, *, start: object = None,
                   end: object = None) -> CaseDurations:
    """The throughput time of every case of ``object_type`` (first to last event, seconds).

    >>> import journeymine as jm
    >>> store = jm.connect(":memory:")
    >>> _ = jm.read_csv("data/running-example/running-example.csv", store, activity_col="concept:name",
    ...                 timestamp_col="time:timestamp", case_col="case:concept:name")
    >>> d = jm.case_durations(store)
    >>> d.cases, round(d.median_seconds / 86400, 1)
    (6, 9.4)
    """
    c, store = resolve(source, object_type, start, end)
    first, last = c.time[c.starts], c.time[c.ends - 1] if c.n_cases else np.zeros(0, np.int64)
    seconds = (last - first) / 1e6
    has = seconds.size > 0
    table = pa.table({
        "case_id": c.ids(store),
        "start": pa.array(first, pa.int64()).cast(pa.timestamp("us")),
        "end": pa.array(last, pa.int64()).cast(pa.timestamp("us")),
        "events": pa.array(c.ends - c.starts, pa.int64()),
        "duration_seconds": pa.array(seconds, pa.float64()),
    })
    return CaseDurations(object_type=c.object_type, cases=c.n_cases,
                         mean_seconds=float(seconds.mean()) if has else None,
                         median_seconds=float(np.median(seconds)) if has else None,
                         p90_seconds=float(np.percentile(seconds, 90)) if has else None, table=table)

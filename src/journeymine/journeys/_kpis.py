"""``kpis``: the headline KPIs of a store over a period, by calendar period and by customer segment.

Every KPI row states its numerator and denominator; a KPI the store has no data for (no surveys, no
orders, no previous period) is ``None`` with denominator 0, never an error. Exact definitions (the
event names are parameters; defaults are the simulator's, ``docs/simulate.md``), over events with
``start <= time < end``:

- ``session_conversion``: ``session_type`` objects with an event in the period that have an
  ``order_event`` event in it / ``session_type`` objects with an event in the period;
- ``customer_conversion``: customers with an order event in the period / customers with any event in it;
- ``repeat_purchase_rate``: customers with at least 2 order events in the period / those with at least 1;
- ``retention_rate``: customers who ordered in the previous period and order again in this one /
  customers who ordered in the previous period: without ``interval`` the span of the same length just
  before ``start``, with one the whole calendar week or month before the row's (so it reads orders
  before ``start``); ``None`` when nobody ordered then;
- ``average_order_value``: sum of the order events' ``value_property`` / order events with a numeric one;
- ``purchase_frequency``: order events of ordering customers / customers with at least one order;
- ``contact_rate``: 100 * ``contact_event`` events / order events (contacts per 100 orders);
- ``nps``: 100 * (promoters scoring 9-10 - detractors scoring 0-6) / ``survey_event`` events with
  ``survey`` = ``nps`` and a numeric ``score``; ``csat``: sum / number of the ``score`` of those with
  ``survey`` = ``csat`` (the mean score).

95 % intervals (``low``, ``high``): Wilson for the four rates; for order value and CSAT the normal
approximation of a mean (z * sd / sqrt(n)); for NPS the normal approximation with variance
(p + d - (p - d)^2) / n of the promoter and detractor shares, clipped to -100..100; none below 2
answers or orders. All treat units as independent (a customer's sessions and orders are not quite).
Purchase frequency and contact rate have none: ratios of counts that cluster per customer.

Customers are ``customer_type`` objects with identities resolved (a visitor merged into a customer is
the customer). Customer-level KPIs count a customer's linked events; event-level KPIs (order value,
contacts, surveys) count each event once. A **segment** is an attribute of the customer object (e.g.
``region``, ``segment``, ``language``; its stored value): an event or session belongs to the lowest-coded
customer it is linked to in the period; ``(none)`` holds customers without the attribute and events or
sessions linked to no customer. The ``(all)`` rows add up every segment. ``interval="week"`` (ISO weeks
from Monday 00:00 UTC) or ``"month"`` splits the period into calendar periods; the first and last are
clipped to ``start`` and ``end``. Whole-store numbers agree with ``jm.overview``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re

import numpy as np
import pyarrow as pa

from ..errors import ConfigError
from ..results import Result, Segment
from ..store import Store
from ..timespan import parse_instant
from ._stats import Z95, wilson

__all__ = ["KPIS", "KpiResult", "KpiRow", "kpis"]

KPIS = ("session_conversion", "customer_conversion", "repeat_purchase_rate", "retention_rate",
        "average_order_value", "purchase_frequency", "contact_rate", "nps", "csat")
INTERVALS = ("week", "month")
ALL, NONE = "(all)", "(none)"
_US = dt.timedelta(microseconds=1)


def definitions(order: str, value: str, contact: str, survey: str, session: str, customer: str) -> dict[str, str]:
    """The definition text of every KPI for these event and object names."""
    o, in_p = f"'{order}' event", "in the period"
    return {
        "session_conversion": f"'{session}' objects with an event {in_p} and an {o} in it / those with an event {in_p}",
        "customer_conversion": f"'{customer}' objects with an {o} {in_p} / those with any event {in_p}",
        "repeat_purchase_rate": f"customers with at least 2 {o}s {in_p} / customers with at least 1",
        "retention_rate": f"customers with an {o} in the previous period and {in_p} / those with one in the previous",
        "average_order_value": f"sum of the '{value}' of {o}s / {o}s with a numeric '{value}'",
        "purchase_frequency": f"{o}s of ordering customers / customers with at least 1 {o}",
        "contact_rate": f"100 * '{contact}' events / {o}s (contacts per 100 orders)",
        "nps": f"100 * (promoters (score 9-10) - detractors (0-6)) / '{survey}' events with survey 'nps' and a score",
        "csat": f"sum of scores / '{survey}' events with survey 'csat' and a score (the mean score)",
    }


@dataclasses.dataclass(frozen=True)
class KpiRow:
    """One KPI of one segment in one period; ``low``/``high`` is its 95 % interval where it has one."""

    kpi: str
    segment: str
    period_start: dt.datetime | None
    period_end: dt.datetime | None
    value: float | None
    numerator: float
    denominator: int
    low: float | None
    high: float | None
    definition: str


_SCHEMA = pa.schema([("kpi", pa.string()), ("segment", pa.string()), ("period_start", pa.timestamp("us")),
                     ("period_end", pa.timestamp("us")), *[(c, pa.float64()) for c in ("value", "numerator")],
                     ("denominator", pa.int64()), ("low", pa.float64()), ("high", pa.float64()),
                     ("definition", pa.string())])


@dataclasses.dataclass(frozen=True, eq=False)
class KpiResult(Result):
    """KPI rows ordered by KPI (as in ``KPIS``), segment (``(all)`` first) and period."""

    rows: tuple[KpiRow, ...]
    start: dt.datetime | None
    end: dt.datetime | None
    interval: str | None
    segment: str | None
    parameters: dict[str, str]

    def to_arrow(self) -> pa.Table:
        return pa.Table.from_pylist([dataclasses.asdict(r) for r in self.rows], schema=_SCHEMA)

    def to_dict(self) -> dict[str, object]:
        return {"start": self.start, "end": self.end, "interval": self.interval, "segment": self.segment,
                "parameters": dict(self.parameters), "rows": [dataclasses.asdict(r) for r in self.rows]}

    def row(self, kpi: str, segment: str = ALL, period: int = 0) -> KpiRow:
        """The row of ``kpi`` for ``segment`` in the ``period``-th period (0-based)."""
        found = [r for r in self.rows if r.kpi == kpi and r.segment == segment]
        if not found or not -len(found) <= period < len(found):
            raise ConfigError(f"The kpi, segment and period parameters must name a row: kpi one of {list(KPIS)}, "
                              f"segment one of {sorted({r.segment for r in self.rows})}, period below "
                              f"{len(found)}. Got {kpi!r}, {segment!r}, {period!r} instead.", field="kpi")
        return found[period]


# -- periods -------------------------------------------------------------------------------------------
def _floor(t: dt.datetime, interval: str) -> dt.datetime:
    day = dt.datetime(t.year, t.month, t.day)
    return day - dt.timedelta(days=t.weekday()) if interval == "week" else day.replace(day=1)


def _next(t: dt.datetime, interval: str) -> dt.datetime:
    if interval == "week":
        return t + dt.timedelta(days=7)
    return t.replace(year=t.year + t.month // 12, month=t.month % 12 + 1)


def _calendar(start: dt.datetime, end: dt.datetime, interval: str | None) -> list[dt.datetime]:
    """Period starts, unclipped, from the previous period's: [previous, first, ..., last, after last]."""
    if interval is None:
        return [start - (end - start), start, end]
    first = _floor(start, interval)
    cal = [_floor(first - _US, interval), first]
    while cal[-1] < end:
        cal.append(_next(cal[-1], interval))
    return cal


# -- the three fact queries ----------------------------------------------------------------------------
def _query(store: Store, sql: str, params: dict[str, object]) -> pa.Table:
    """``store.query`` with only the parameters ``sql`` names (DuckDB refuses unused ones)."""
    return store.query(sql, {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)})


def _bucket(col: str, interval: str | None) -> str:
    return f"CASE WHEN {col} >= $start THEN 0 ELSE -1 END" if interval is None else f"date_trunc('{interval}', {col})"


def _index(column: pa.ChunkedArray, interval: str | None, cal: list[dt.datetime]) -> np.ndarray:
    """Period index of each fact row (-1: the previous period)."""
    if interval is None:
        return column.to_numpy().astype(np.int64)
    us = np.array([int((c - dt.datetime(1970, 1, 1)) / _US) for c in cal], np.int64)
    return np.searchsorted(us, column.cast(pa.timestamp("us")).cast(pa.int64()).to_numpy(), side="right") - 2


def _customer_facts(store: Store, p: dict, interval: str | None, orders: str) -> pa.Table:
    """Per (customer, period): events and orders from start, and whether it ordered in the whole
    calendar period (including orders before ``start``, for retention)."""
    return _query(store, f"""
        SELECT s.object_code AS customer, {_bucket('s.time', interval)} AS bucket,
               sum(CASE WHEN s.time >= $start THEN 1 ELSE 0 END) AS events,
               sum(CASE WHEN s.time >= $start AND s.type_code IN ({orders}) THEN 1 ELSE 0 END) AS orders,
               max(CASE WHEN s.type_code IN ({orders}) THEN 1 ELSE 0 END) AS ordered
        FROM seq s
        WHERE s.object_type = $ct AND s.time >= $lo AND s.time < $end
          AND (s.time >= $start OR s.type_code IN ({orders}))
        GROUP BY 1, 2
        """, p)


def _session_facts(store: Store, p: dict, interval: str | None, orders: str, by_customer: bool) -> pa.Table:
    """Per (customer or NULL, period): sessions with an event and sessions with an order."""
    inner = f"""
        SELECT s.object_code AS session, {_bucket('s.time', interval)} AS bucket,
               max(CASE WHEN s.type_code IN ({orders}) THEN 1 ELSE 0 END) AS converted
        FROM seq s WHERE s.object_type = $st AND s.time >= $start AND s.time < $end GROUP BY 1, 2"""
    if not by_customer:
        return _query(store, f"""SELECT CAST(NULL AS BIGINT) AS customer, y.bucket, y.sessions, y.converted
                                FROM (SELECT x.bucket, count(*) AS sessions, sum(x.converted) AS converted
                                      FROM ({inner}) x GROUP BY x.bucket) y""", p)
    return _query(store, f"""
        WITH x AS ({inner}),
        owner AS (
            SELECT a.object_code AS session, min(c.object_code) AS customer
            FROM seq a JOIN seq c ON c.event_code = a.event_code
            WHERE a.object_type = $st AND c.object_type = $ct AND a.time >= $start AND a.time < $end
              AND c.time >= $start AND c.time < $end
            GROUP BY 1)
        SELECT w.customer, x.bucket, count(*) AS sessions, sum(x.converted) AS converted
        FROM x LEFT JOIN owner w ON w.session = x.session GROUP BY 1, 2
        """, p)


def _event_facts(store: Store, p: dict, interval: str | None, codes: str, by_customer: bool) -> pa.Table:
    """One row per order, contact and NPS/CSAT survey event: its period, customer, kind and number."""
    kind = ("CASE WHEN e.type = $order THEN 0 WHEN e.type = $contact THEN 1 "
            "WHEN json_extract_string(e.attributes, '$.survey') = 'nps' THEN 2 ELSE 3 END")
    number = "TRY_CAST(json_extract_string(e.attributes, CASE WHEN e.type = $order THEN $vp ELSE $sp END) AS DOUBLE)"
    customer, join = "CAST(NULL AS BIGINT)", ""
    if by_customer:
        customer = "c.customer"
        join = f"""LEFT JOIN (SELECT s.event_code, min(s.object_code) AS customer FROM seq s
                              WHERE s.object_type = $ct AND s.type_code IN ({codes})
                                AND s.time >= $start AND s.time < $end GROUP BY 1) c ON c.event_code = e.code"""
    return _query(store, f"""
        SELECT e.code AS event, {_bucket('e.time', interval)} AS bucket, {customer} AS customer,
               {kind} AS kind, {number} AS number
        FROM event e {join}
        WHERE e.time >= $start AND e.time < $end
          AND (e.type IN ($order, $contact)
               OR (e.type = $survey AND json_extract_string(e.attributes, '$.survey') IN ('nps', 'csat')))
        """, p)


# -- aggregation ---------------------------------------------------------------------------------------
def _mean_ci(n: float, total: float, squares: float) -> tuple[float | None, float | None]:
    if n < 2:
        return None, None
    mean = total / n
    half = Z95 * math.sqrt(max(squares - n * mean * mean, 0.0) / (n - 1) / n)
    return mean - half, mean + half


_RATES = {"session_conversion": ("converted", "sessions"), "customer_conversion": ("buyers", "active"),
          "repeat_purchase_rate": ("repeaters", "buyers"), "retention_rate": ("retained", "previous"),
          "purchase_frequency": ("customer_orders", "buyers"), "contact_rate": ("contacts", "orders")}
_WILSON = tuple(_RATES)[:4]


def _row_values(kpi: str, f: dict[str, np.ndarray], k: int) -> tuple:
    """(value, numerator, denominator, low, high) of one KPI from the summed facts of one group."""
    if kpi in _RATES:
        num, den = (f[name][k] for name in _RATES[kpi])
        low, high = wilson(int(num), int(den)) if den and kpi in _WILSON else (None, None)
        return ((100 if kpi == "contact_rate" else 1) * num / den if den else None), num, int(den), low, high
    if kpi == "nps":
        n, pro, det = f["nps_n"][k], f["promoters"][k], f["detractors"][k]
        value = 100 * (pro - det) / n if n else None
        if n < 2:
            return value, pro - det, int(n), None, None
        half = 100 * Z95 * math.sqrt(max(pro / n + det / n - (value / 100) ** 2, 0.0) / n)
        return value, pro - det, int(n), max(-100.0, value - half), min(100.0, value + half)
    n, total, squares = (f[f"{'value' if kpi == 'average_order_value' else 'csat'}_{x}"][k] for x in ("n", "sum", "sq"))
    return (total / n if n else None), total, int(n), *_mean_ci(n, total, squares)


def _segment_of(store: Store, p: dict, segment: str | None, customers: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Index of each customer code's segment value (-1 codes: no customer) and the value labels."""
    if segment is None:
        return np.zeros(customers.size, np.int64), [ALL]
    table = store.query("SELECT code, json_extract_string(attributes, $path) AS v FROM object WHERE type = $ct "
                        "ORDER BY code", {"ct": p["ct"], "path": "$." + segment})
    codes = table.column("code").to_numpy()
    values = np.array([NONE if v is None else v for v in table.column("v").to_pylist()] + [NONE], dtype=object)
    at = np.minimum(np.searchsorted(codes, customers), max(codes.size - 1, 0))
    hit = codes[at] == customers if codes.size else np.zeros(customers.size, bool)
    labels, index = np.unique(values[np.where(hit, at, codes.size)].astype(str), return_inverse=True)
    return index.astype(np.int64), [str(v) for v in labels]


def _sums(name: str, table: pa.Table, who: np.ndarray, key: np.ndarray, period: np.ndarray, mine: np.ndarray,
          n_periods: int, size: int) -> dict[str, np.ndarray]:
    """The summed facts of one fact table by group key (segment * n_periods + period)."""
    inside = mine & (period >= 0)
    col = {c: table.column(c).to_numpy(zero_copy_only=False) for c in table.column_names[2:]}
    out: dict[str, np.ndarray] = {}

    def add(sum_name: str, keep: np.ndarray, weights: np.ndarray | None = None, at: np.ndarray = key) -> None:
        w = None if weights is None else np.asarray(weights, float)[keep]
        out[sum_name] = np.bincount(at[keep], w, minlength=size).astype(float)

    if name == "c":
        ordering = col["orders"] > 0
        add("active", inside & (col["events"] > 0))
        add("buyers", inside & ordering)
        add("repeaters", inside & (col["orders"] > 1))
        add("customer_orders", inside, col["orders"])
        # retention: the (customer, period) pairs that ordered in the whole calendar period before another
        base = mine & (col["ordered"] > 0) & (period < n_periods - 1)
        pairs = who * (n_periods + 1) + period + 1
        after = key + (period >= 0)  # the next period's key (period -1 keys to period 0)
        add("previous", base, at=after)
        add("retained", base & np.isin(pairs + 1, pairs[inside & ordering]), at=after)
    elif name == "s":
        add("sessions", inside, col["sessions"])
        add("converted", inside, col["converted"])
    else:
        kind, valued = col["kind"], ~np.isnan(col["number"])
        x = np.where(valued, col["number"], 0.0)
        order, nps, csat = inside & (kind == 0), inside & (kind == 2) & valued, inside & (kind == 3) & valued
        add("orders", order)
        add("contacts", inside & (kind == 1))
        for prefix, keep in (("value", order & valued), ("csat", csat)):
            add(f"{prefix}_n", keep)
            add(f"{prefix}_sum", keep, x)
            add(f"{prefix}_sq", keep, x * x)
        add("nps_n", nps)
        add("promoters", nps & (x >= 9))
        add("detractors", nps & (x <= 6))
    return out


def kpis(store: Store, *, start: object = None, end: object = None, segment: str | None = None,
         interval: str | None = None, order_event: str = "order placed", value_property: str = "value",
         contact_event: str = "service contact", survey_event: str = "survey answered",
         session_type: str = "session", customer_type: str = "customer",
         actors: Segment | None = None) -> KpiResult:
    """Conversion, repeat purchase, retention, order value, frequency, contact rate, NPS and CSAT.

    Semantics in the module docs. ``start``/``end`` bound the period (default: the store's first event
    to just after its last); ``segment`` names a customer attribute to break every KPI down by;
    ``interval`` is ``"week"`` or ``"month"``; ``actors`` (a segment of customers) keeps only their
    customers, sessions and events.

    >>> import journeymine as jm
    >>> store = jm.simulate(customers=300, days=30, seed=2).store
    >>> k = jm.kpis(store, segment="region")
    >>> r = k.row("contact_rate")
    >>> r.value == 100 * r.numerator / r.denominator == jm.overview(store).contact_rate
    True
    >>> (sum(k.row("customer_conversion", s).denominator for s in ("east", "north", "south", "west"))
    ...  == k.row("customer_conversion").denominator)
    True
    """
    if interval is not None and interval not in INTERVALS:
        raise ConfigError(f"The interval parameter must be one of {list(INTERVALS)} or None. Got {interval!r} "
                          "instead.", field="interval")
    if segment is not None and (not isinstance(segment, str) or not segment.strip()):
        raise ConfigError(f"The segment parameter must be the name of a customer attribute. Got {segment!r} "
                          "instead.", field="segment")
    if actors is not None and (actors.object_type != customer_type or actors.session_starts is not None):
        raise ConfigError(f"The actors parameter must be a segment of {customer_type!r} objects. Got "
                          f"{actors.name!r} of {actors.object_type!r} instead.", field="actors")
    t_start, t_end = parse_instant(start, "start"), parse_instant(end, "end")
    if t_start is not None and t_end is not None and t_start >= t_end:
        raise ConfigError(f"The start parameter must be before end. Got {t_start} and {t_end} instead.",
                          field="start")
    if t_start is None or t_end is None:
        span = store.query("SELECT min(time) AS first, max(time) AS last FROM event").to_pylist()[0]
        t_start = t_start if t_start is not None else span["first"]
        t_end = t_end if t_end is not None else (span["last"] + _US if span["last"] is not None else None)
    params = {"order_event": order_event, "value_property": value_property, "contact_event": contact_event,
              "survey_event": survey_event, "session_type": session_type, "customer_type": customer_type}
    texts = definitions(order_event, value_property, contact_event, survey_event, session_type, customer_type)
    if t_start is None or t_end is None or t_start >= t_end:  # an empty store, or a period past its data
        rows = tuple(KpiRow(k, ALL, t_start, t_end, None, 0.0, 0, None, None, texts[k]) for k in KPIS)
        return KpiResult(rows, t_start, t_end, interval, segment, params)
    cal = _calendar(t_start, t_end, interval)
    types = store.event_types()
    orders = str(int(types.get(order_event, -1)))
    codes = ", ".join(str(int(types.get(t, -1))) for t in (order_event, contact_event, survey_event))
    p = {"start": t_start, "end": t_end, "lo": cal[0], "ct": customer_type, "st": session_type, "order": order_event,
         "contact": contact_event, "survey": survey_event, "vp": "$." + value_property, "sp": "$.score"}
    by_customer = segment is not None or actors is not None
    cust = _customer_facts(store, p, interval, orders)
    sess = _session_facts(store, p, interval, orders, by_customer)
    ev = _event_facts(store, p, interval, codes, by_customer)
    # the event rows sorted by event: the same float sums, in the same order, on every backend
    facts = {"c": cust, "s": sess, "e": ev.sort_by("event")}
    n_periods = len(cal) - 2
    who = {n: t.column("customer").fill_null(-1).to_numpy().astype(np.int64) for n, t in facts.items()}
    seg_index, labels = _segment_of(store, p, segment, np.concatenate(list(who.values())))
    segs = dict(zip(facts, np.split(seg_index, np.cumsum([w.size for w in who.values()])[:-1])))
    sums = {}
    for name, table in facts.items():
        period = _index(table.column("bucket"), interval, cal)
        mine = np.isin(who[name], actors.codes) if actors is not None else np.ones(period.size, bool)
        sums |= _sums(name, table, who[name], segs[name] * n_periods + np.maximum(period, 0), period, mine,
                      n_periods, len(labels) * n_periods)
    n_groups = len(labels)
    grouped = {k: v.reshape(n_groups, n_periods) for k, v in sums.items()}
    if segment is not None:
        grouped = {k: np.vstack([v.sum(axis=0), v]) for k, v in grouped.items()}
        labels = [ALL, *labels]
    flat = {k: v.reshape(-1) for k, v in grouped.items()}
    periods = [(max(cal[i + 1], t_start), min(cal[i + 2], t_end)) for i in range(n_periods)]
    rows = []
    for kpi in KPIS:
        for g, label in enumerate(labels):
            for i, (lo, hi) in enumerate(periods):
                value, num, den, low, high = (None if v is None else float(v)
                                              for v in _row_values(kpi, flat, g * n_periods + i))
                rows.append(KpiRow(kpi, label, lo, hi, value, num, int(den), low, high, texts[kpi]))
    return KpiResult(tuple(rows), t_start, t_end, interval, segment, params)

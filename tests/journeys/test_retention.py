"""retention: a hand-checked store for every option, calendar periods against pandas, a pandas recount
on the small simulated company, segments and the result forms."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

import journeymine as jm
from journeymine.errors import ConfigError
from journeymine.journeys._retention import period_index, period_start, retention

T0 = dt.datetime(2024, 1, 1)  # a Monday


def at(day: int, hour: float = 10) -> dt.datetime:
    return T0 + dt.timedelta(days=day, hours=hour)


def store_of(rows, attrs: dict[str, list] | None = None) -> jm.Store:
    """rows: (customer, activity, datetime) in load order; attrs: extra attribute columns."""
    store = jm.connect(":memory:")
    df = pd.DataFrame({"customer": [r[0] for r in rows], "activity": [r[1] for r in rows],
                       "ts": [r[2] for r in rows], **(attrs or {})})
    jm.read_frame(df, store, activity_col="activity", timestamp_col="ts", customer_col="customer",
                  attribute_cols=list(attrs or {}))
    return store


# Weeks from Mon 1 Jan 2024: W0 = Jan 1-7, W1 = Jan 8-14, W2 = Jan 15-21, W3 = Jan 22-28. The store's last
# event is on Jan 24, so W3 is not fully observed.
HAND = [
    ("u1", "a", at(0)), ("u1", "a", at(0, 12)), ("u1", "a", at(8)), ("u1", "a", at(9)), ("u1", "a", at(22)),
    ("u2", "x", at(1)), ("u2", "a", at(2)), ("u2", "b", at(15)), ("u2", "a", at(16)),
    ("u3", "x", at(-2)), ("u3", "a", at(7)), ("u3", "a", at(7)), ("u3", "a", at(14)),
    ("u4", "a", at(9)),
    ("u5", "x", at(23, 12)),
]


@pytest.fixture(scope="module")
def hand():
    store = store_of(HAND)
    yield store
    store.close()


def table(r) -> dict[str, tuple]:
    return {c.start.isoformat(): (c.size, c.retained) for c in r.cohorts}


@pytest.mark.parametrize(("kw", "expected"), [
    # u1 returns in W0, W1 (twice) and W3; u2 in W2; u3's same-time "a" is no return, its next one is W1 later
    ({}, {"2024-01-01": (2, (1, 1, 1, None)), "2024-01-08": (2, (0, 1, None, None))}),
    ({"returns": "first_time"}, {"2024-01-01": (2, (1, 0, 1, None)), "2024-01-08": (2, (0, 1, None, None))}),
    ({"mode": "on_or_after"}, {"2024-01-01": (2, (2, 2, 2, None)), "2024-01-08": (2, (1, 1, None, None))}),
    ({"returns": "first_time", "mode": "on_or_after"},
     {"2024-01-01": (2, (2, 1, 1, None)), "2024-01-08": (2, (1, 1, None, None))}),
    ({"return_event": "b"}, {"2024-01-01": (2, (0, 0, 1, None)), "2024-01-08": (2, (0, 0, None, None))}),
    ({"end": "2024-01-15"}, {"2024-01-01": (2, (1, 1, None, None)), "2024-01-08": (2, (0, None, None, None))}),
    # u2's first "a" in the window is on Jan 17: it moves to the W2 cohort
    ({"start": "2024-01-05"}, {"2024-01-08": (3, (1, 1, None, None)), "2024-01-15": (1, (0, None, None, None))}),
])
def test_hand_checked_cohort_tables(hand, kw, expected):
    kw = dict(kw)
    r = retention(hand, "a", kw.pop("return_event", None), period="week", periods=4, **kw)
    assert table(r) == expected
    assert r.actors_total == sum(size for size, _ in expected.values())


def test_the_curve_pools_only_cohorts_that_observed_the_period(hand):
    r = retention(hand, "a", period="week", periods=4)
    assert [(p.cohorts, p.at_risk, p.retained) for p in r.curve] == [(2, 4, 1), (2, 4, 2), (1, 2, 1), (0, 0, 0)]
    assert r.curve[2].share == 0.5 and r.curve[2].share_low < 0.5 < r.curve[2].share_high
    assert r.curve[3].share is None and r.curve[3].share_low is None
    assert r.cohorts[0].share == (0.5, 0.5, 0.5, None)
    assert r.observed_until == at(23, 12) + dt.timedelta(microseconds=1)  # just after the store's last event


def test_segments_split_the_actors_at_risk(hand):
    r = retention(hand, "a", period="week", periods=4)
    assert sorted(r.retained(1).ids(hand)) == ["u1", "u3"]
    assert sorted(r.not_retained(1).ids(hand)) == ["u2", "u4"]
    assert sorted(r.retained(2).ids(hand)) == ["u2"] and sorted(r.not_retained(2).ids(hand)) == ["u1"]
    assert len(r.retained(3)) == 0 and len(r.not_retained(3)) == 0  # nobody observed W3
    after = retention(hand, "a", period="week", periods=4, mode="on_or_after")
    assert sorted(after.retained(2).ids(hand)) == ["u1", "u2"]
    again = retention(hand, "a", period="week", periods=4, actors=r.retained(1))
    assert again.actors_total == 2 and table(again)["2024-01-08"][1][:2] == (0, 1)
    with pytest.raises(ConfigError, match="n parameter"):
        r.retained(4)


def test_calendar_periods_day_and_month():
    rows = [("u", "a", dt.datetime(2024, 1, 31, 23, 0)), ("u", "a", dt.datetime(2024, 2, 1, 0, 30)),
            ("v", "a", dt.datetime(2024, 2, 1, 8, 0)), ("v", "a", dt.datetime(2024, 3, 31, 8, 0)),
            ("w", "x", dt.datetime(2024, 4, 2, 8, 0))]
    store = store_of(rows)
    months = retention(store, "a", period="month", periods=3)
    # 90 minutes later is the next calendar month; the store ends on Apr 2 so March is the last full month
    assert table(months) == {"2024-01-01": (1, (0, 1, 0)), "2024-02-01": (1, (0, 1, None))}
    days = retention(store, "a", period="day", periods=2)
    assert table(days)["2024-01-31"] == (1, (0, 1)) and table(days)["2024-02-01"] == (1, (0, 0))
    assert [c.start.isoformat() for c in days.cohorts] == ["2024-01-31", "2024-02-01"]


def test_period_numbers_match_pandas_calendars():
    rng = np.random.default_rng(1)
    us = rng.integers(-5 * 10**15, 5 * 10**15, 2000)  # from 1811 to 2128
    ts = pd.to_datetime(us, unit="us")
    for period, freq in (("day", "D"), ("week", "W-SUN"), ("month", "M")):
        starts = pd.PeriodIndex(ts, freq=freq).start_time
        got = period_start(period_index(us, period), period)
        assert (pd.to_datetime(got, unit="D") == starts).all(), period
    assert (pd.to_datetime(period_start(period_index(us, "week"), "week"), unit="D").day_of_week == 0).all()


def test_property_filters_on_start_and_return():
    rows = [("u", "v", at(0)), ("u", "v", at(1)), ("w", "v", at(0)), ("w", "v", at(1)), ("z", "x", at(3))]
    store = store_of(rows, {"page": ["home", "sale", "sale", "home"] + [None]})
    r = retention(store, {"event": "v", "where": {"page": "home"}}, {"event": "v", "where": {"page": "sale"}},
                  period="day", periods=2)
    assert r.start_event == "v [page=home]" and r.return_event == "v [page=sale]"
    assert table(r) == {"2024-01-01": (1, (0, 1)), "2024-01-02": (1, (0, 0))}  # w's sale came first


@pytest.mark.parametrize(("kw", "field"), [
    ({"period": "quarter"}, "period"), ({"mode": "after"}, "mode"), ({"returns": "first"}, "returns"),
    ({"periods": 0}, "periods"), ({"by": "session"}, "by"), ({"end": "soon"}, "end"),
])
def test_bad_parameters_name_their_field(hand, kw, field):
    with pytest.raises(ConfigError, match=f"The {field} parameter") as info:
        retention(hand, "a", **kw)
    assert info.value.context["field"] == field


def test_unknown_events_and_empty_stores_give_empty_results(hand):
    r = retention(hand, "nope", periods=3)
    assert r.cohorts == () and r.actors_total == 0 and r.to_arrow().num_rows == 0
    assert [p.at_risk for p in r.curve] == [0, 0, 0] and r.curve[0].share is None
    empty = retention(jm.connect(":memory:"), "a")
    assert empty.observed_until is None and empty.actors.num_rows == 0


def test_result_forms(hand):
    r = retention(hand, "a", period="week", periods=4)
    long = r.to_arrow()
    assert long.column_names == ["cohort", "period", "size", "retained", "share"]
    assert long.num_rows == 8 and long.column("retained").null_count == 3
    wide = r.cohort_table("retained")
    assert wide.column("period_1").to_pylist() == [1, 1] and wide.column("period_3").to_pylist() == [None, None]
    assert r.curve_table().column("at_risk").to_pylist() == [4, 4, 2, 0]
    d = json.loads(r.to_json())
    assert d["cohorts"][0] == {"cohort": "2024-01-01", "size": 2, "retained": [1, 1, 1, None],
                               "share": [0.5, 0.5, 0.5, None]}
    assert d["curve"][3]["share"] is None and d["period"] == "week" and d["mode"] == "on"
    assert r.actors.column("return_periods").to_pylist() == [[0, 1, 3], [2], [1], []]
    assert r.to_pandas().shape == (8, 5)


# -- an independent recount on the small simulated company ----------------------------------------------------

def recount(store: jm.Store, start_event: str, return_event: str, period: str, periods: int, returns: str,
            mode: str) -> dict[str, tuple]:
    """Straight pandas over raw rows: customers' start and return events, calendar periods from pandas."""
    raw = store.query("""
        SELECT DISTINCT o.code AS actor, e.code AS event, e.type AS type, e.time AS time FROM event e
        JOIN event_object eo ON eo.event_code = e.code JOIN object o ON o.code = eo.object_code
        WHERE o.type = 'customer' AND e.type IN ($s, $r)""", {"s": start_event, "r": return_event}).to_pandas()
    horizon = store.query("SELECT max(time) AS t FROM event").to_pandas()["t"][0] + pd.Timedelta(microseconds=1)
    freq = {"day": "D", "week": "W-SUN", "month": "M"}[period]
    step = {"day": pd.DateOffset(days=1), "week": pd.DateOffset(weeks=1), "month": pd.DateOffset(months=1)}[period]
    first = raw[raw["type"] == start_event].groupby("actor")["time"].min()
    out: dict[str, list] = {}
    for actor, t0 in first.items():
        c0 = pd.Period(t0, freq).start_time
        later = raw[(raw["actor"] == actor) & (raw["type"] == return_event) & (raw["time"] > t0)]["time"].sort_values()
        if returns == "first_time":
            later = later[:1]
        ns = {len(pd.period_range(c0, pd.Period(t, freq).start_time, freq=freq)) - 1 for t in later}
        key = c0.date().isoformat()
        row = out.setdefault(key, [0, [0] * periods, c0])
        row[0] += 1
        for n in range(periods):
            row[1][n] += (n in ns) if mode == "on" else any(k >= n for k in ns)
    return {k: (size, tuple(r if c0 + step * (n + 1) <= horizon else None for n, r in enumerate(ret)))
            for k, (size, ret, c0) in sorted(out.items())}


@pytest.mark.parametrize(("start_event", "return_event", "period", "returns", "mode"), [
    ("order placed", "order placed", "week", "recurring", "on"),
    ("order placed", "service contact", "day", "first_time", "on_or_after"),
    ("order placed", "service contact", "week", "recurring", "on_or_after"),
    ("order placed", "order placed", "month", "first_time", "on"),
])
def test_equals_a_pandas_recount_on_the_small_company(small, start_event, return_event, period, returns, mode):
    r = retention(small.store, start_event, return_event, period=period, periods=6, returns=returns, mode=mode)
    expected = recount(small.store, start_event, return_event, period, 6, returns, mode)
    assert table(r) == expected
    assert sum(n or 0 for c in r.cohorts for n in c.retained) > 0  # the check is not vacuous

"""Retention gives identical results on DuckDB and on Spark (the Parquet export)."""

from __future__ import annotations

import datetime as dt

import pytest

from journeymine.journeys._retention import retention


@pytest.mark.parametrize("kw", [
    {"start_event": "page viewed"},
    {"start_event": "order placed", "return_event": "service contact", "period": "day", "periods": 10,
     "returns": "first_time", "mode": "on_or_after"},
    {"start_event": {"event": "page viewed", "where": {"channel": "app"}}, "return_event": "order placed",
     "period": "month", "periods": 2, "start": "2026-01-10", "end": "2026-02-01"},
    {"start_event": "order placed", "return_event": "delivered", "by": "order", "period": "day", "periods": 7},
], ids=["same-event-weeks", "first-time-on-or-after", "filters-months-window", "orders"])
def test_retention_is_identical_on_both_backends(sim_backend, sim_reference, kw):
    kw = dict(kw)
    start_event = kw.pop("start_event")
    got, expected = retention(sim_backend, start_event, **kw), retention(sim_reference, start_event, **kw)
    assert got.to_dict() == expected.to_dict()
    assert got.to_arrow().equals(expected.to_arrow()) and got.actors.equals(expected.actors)
    assert expected.actors_total > 0 and any(p.retained for p in expected.curve)


def test_cohort_sizes_are_the_customers_who_ordered(sim_backend, sim_reference):
    r = retention(sim_backend, "order placed", period="month", periods=1)
    ordered = sim_reference.query("""
        SELECT count(DISTINCT eo.object_code) AS n FROM event e JOIN event_object eo ON eo.event_code = e.code
        JOIN object o ON o.code = eo.object_code WHERE e.type = 'order placed' AND o.type = 'customer'
        """).column("n")[0].as_py()
    assert r.actors_total == sum(c.size for c in r.cohorts) == ordered > 0
    last = sim_reference.query("SELECT max(time) AS t FROM event").column("t")[0].as_py()
    assert r.observed_until - last.replace(tzinfo=None) == dt.timedelta(microseconds=1)

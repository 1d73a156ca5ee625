"""jm.process_costs: a hand-made log with known answers, per-case numbers against direct SQL on the
simulated company, the planted faster picking from day 45 in the before/after comparison, and a store
against a filtered process view."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import journeymine as jm
from journeymine.errors import ConfigError
from journeymine.processes._costs import process_costs

T0 = dt.datetime(2024, 1, 1)  # a Monday
H = 3600

ROWS = [  # (order, activity, hours after T0)
    ("o1", "order placed", 0), ("o1", "picking", 2), ("o1", "picking", 3), ("o1", "service contact", 4),
    ("o1", "picking", 5), ("o1", "shipped", 10),  # 5 touches, rework 2, 1 contact, 10 h
    ("o2", "order placed", 24), ("o2", "shipped", 30), ("o2", "service contact", 40),
    ("o2", "service contact", 41),  # 2 touches, no rework, 2 contacts, 6 h (contacts after the last touch)
    ("o3", "order placed", 24 * 8), ("o3", "picking", 24 * 8 + 1),  # next week: 2 touches, 1 h
    ("o4", "service contact", 24 * 9),  # contacts only: no touch, no throughput
]


def hand_store() -> jm.Store:
    store = jm.connect(":memory:")
    df = pd.DataFrame({"order": [r[0] for r in ROWS], "activity": [r[1] for r in ROWS],
                       "ts": [T0 + dt.timedelta(hours=r[2]) for r in ROWS]})
    jm.read_frame(df, store, activity_col="activity", timestamp_col="ts", case_col="order", case_type="order")
    return store


def test_touches_rework_contacts_and_throughput_of_a_hand_made_log():
    c = process_costs(hand_store())
    rows = {r["case_id"]: r for r in c.per_case.to_pylist()}
    assert {k: (r["touches"], r["rework_events"], r["contacts"], r["throughput_hours"]) for k, r in rows.items()} == {
        "o1": (5, 2, 1, 10.0), "o2": (2, 0, 2, 6.0), "o3": (2, 0, 0, 1.0), "o4": (0, 0, 1, None)}
    assert (c.object_type, c.cases, c.touches, c.rework_events, c.rework_cases, c.contacts) == ("order", 4, 9, 2, 1, 4)
    assert c.touches_per_case == 9 / 4 and c.rework_share == 1 / 4 and c.rework_per_case == 2 / 4
    assert c.contacts_per_case == 1.0
    assert c.throughput_mean_hours == pytest.approx(17 / 3) and c.throughput_median_hours == 6.0
    assert c.periods is None and c.comparison is None and c.to_arrow().equals(c.per_case)
    # without the contact activity in the store every event is a touch
    other = process_costs(hand_store(), contact="phone call")
    assert (other.touches, other.contacts, other.rework_events) == (13, 0, 2 + 1)


def test_periods_and_before_after_on_the_hand_made_log():
    c = process_costs(hand_store(), period="week", at=T0 + dt.timedelta(days=7))
    weeks = c.periods.to_pylist()
    assert [w["period"] for w in weeks] == [T0, T0 + dt.timedelta(days=7)]  # weeks begin on Monday
    assert [(w["cases"], w["touches"], w["contacts"]) for w in weeks] == [(2, 7, 3), (2, 2, 1)]
    rows = {r["metric"]: r for r in c.comparison.to_pylist()}
    assert (rows["cases"]["before"], rows["cases"]["after"]) == (2, 2)
    assert rows["touches_per_case"]["difference"] == pytest.approx(1.0 - 3.5)
    assert rows["throughput_median_hours"]["before"] == 8.0 and rows["throughput_median_hours"]["after"] == 1.0
    assert c.difference("contacts_per_case") == pytest.approx(0.5 - 1.5)
    months = process_costs(hand_store(), period="month").periods
    assert months.num_rows == 1 and months.column("cases").to_pylist() == [4]
    d = c.to_dict()
    assert d["cases"] == 4 and len(d["periods"]) == 2 and len(d["comparison"]) == 7 and c.to_json()


def test_per_case_numbers_equal_direct_sql_on_the_company(company):
    costs = process_costs(company.store, "order")
    expected = company.store.query("""
        SELECT o.id AS case_id,
               count(*) FILTER (WHERE e.type <> 'service contact') AS touches,
               count(*) FILTER (WHERE e.type <> 'service contact')
                 - count(DISTINCT e.type) FILTER (WHERE e.type <> 'service contact') AS rework_events,
               count(*) FILTER (WHERE e.type = 'service contact') AS contacts,
               (epoch_us(max(e.time) FILTER (WHERE e.type <> 'service contact'))
                 - epoch_us(min(e.time) FILTER (WHERE e.type <> 'service contact'))) / 3.6e9 AS hours
        FROM object o JOIN event_object eo ON eo.object_code = o.code JOIN event e ON e.code = eo.event_code
        WHERE o.type = 'order' GROUP BY o.id ORDER BY o.id""").to_pandas().set_index("case_id")
    got = costs.per_case.to_pandas().set_index("case_id").loc[expected.index]
    assert costs.cases == len(expected) > 5_000
    for col in ("touches", "rework_events", "contacts"):
        assert (got[col].to_numpy() == expected[col].to_numpy()).all(), col
    np.testing.assert_allclose(got["throughput_hours"].to_numpy(), expected["hours"].to_numpy(), rtol=1e-9)
    assert costs.contacts == int(expected["contacts"].sum()) > 0
    assert costs.throughput_median_hours == pytest.approx(float(np.median(expected["hours"])))


def test_faster_picking_from_day_45_lowers_throughput_and_contacts(company):
    start = dt.datetime.fromisoformat(str(company.truth.parameters["start"]))
    day = start + dt.timedelta(days=company.truth.parameters["effects"]["faster_picking"]["day"])
    last = company.store.query("SELECT max(time) AS t FROM event").column("t")[0].as_py()
    # cases old enough to be complete (14 days before the end), so the after side is not cut short
    view = jm.process_view(company.store, "order", end=last - dt.timedelta(days=14), time_rule="started")
    costs = process_costs(view, at=day)
    rows = {r["metric"]: r for r in costs.comparison.to_pylist()}
    assert rows["cases"]["before"] > 3_000 and rows["cases"]["after"] > 2_000
    assert rows["throughput_median_hours"]["difference"] < -10  # the queue lost about 10 working hours
    assert rows["throughput_mean_hours"]["difference"] < -10
    assert rows["contacts_per_case"]["difference"] < -0.03  # fewer where-is-my-order calls
    assert abs(rows["touches_per_case"]["difference"]) < 0.5  # the same work, done sooner
    # the before side is the same whether read from the store or from the view (cases started before `day`)
    whole = process_costs(company.store, "order", at=day).comparison.to_pylist()
    assert [r["before"] for r in whole] == [rows[m]["before"] for m in rows]


def test_a_store_and_a_filtered_view_give_the_same_numbers_for_the_same_cases(company):
    view = jm.process_view(company.store, "order", case_attributes={"shipping": "express"})
    from_view = process_costs(view)
    from_store = process_costs(company.store, "order").per_case.to_pandas().set_index("case_id")
    mine = from_view.per_case.to_pandas().set_index("case_id")
    assert 0 < len(mine) < len(from_store)
    pd.testing.assert_frame_equal(mine, from_store.loc[mine.index])
    assert from_view.touches == int(mine["touches"].sum()) and from_view.contacts == int(mine["contacts"].sum())
    assert from_view.object_type == "order"  # the view's type, without naming it


@pytest.mark.parametrize("kwargs, field", [
    ({"period": "year"}, "period"), ({"at": "soon"}, "at"), ({"at": "2030-01-01"}, "at"), ({"contact": ""}, "contact"),
    ({"object_type": ""}, "object_type"),
])
def test_bad_parameters_name_the_field(kwargs, field):
    with pytest.raises(ConfigError, match=field) as e:
        process_costs(hand_store(), **kwargs)
    assert e.value.context["field"] == field


def test_a_view_of_another_type_and_a_non_store_are_refused():
    store = hand_store()
    with pytest.raises(ConfigError) as e:
        process_costs(jm.process_view(store, "order"), "ticket")
    assert e.value.context["field"] == "object_type"
    with pytest.raises(ConfigError) as e:
        process_costs("store.duckdb")
    assert e.value.context["field"] == "store"
    c = process_costs(store, "ticket")  # a type without cases: zeros and no means
    assert (c.cases, c.touches, c.touches_per_case, c.throughput_median_hours) == (0, 0, None, None)

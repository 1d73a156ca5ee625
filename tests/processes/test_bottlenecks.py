"""jm.bottlenecks: hand-made logs with known answers, a brute-force reference for lifecycle pairing,
and the simulator's planted process effects (slow payment verification, faster picking from day 45)."""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pandas as pd
import pytest

import journeymine as jm
from journeymine.errors import ConfigError

T0 = dt.datetime(2024, 1, 1)  # a Monday
H = 3600


def store_of(rows, extra=()) -> jm.Store:
    """rows: (case, activity, seconds after T0, *extra values); extra: names of event attributes."""
    store = jm.connect(":memory:")
    df = pd.DataFrame({"case": [r[0] for r in rows], "activity": [r[1] for r in rows],
                       "ts": [T0 + dt.timedelta(seconds=r[2]) for r in rows]})
    for i, name in enumerate(extra):
        df[name] = [r[3 + i] for r in rows]
    jm.read_frame(df, store, activity_col="activity", timestamp_col="ts", case_col="case", attribute_cols=list(extra))
    return store


PLAIN = [  # waits: b after a; rework of b in c2
    ("c1", "a", 0, "ann"), ("c1", "b", 100, "bob"), ("c1", "c", 130, "ann"),
    ("c2", "a", 0, "ann"), ("c2", "b", 300, "bob"), ("c2", "b", 320, "ann"), ("c2", "c", 400, "ann"),
    ("c3", "a", 50, "ann"), ("c3", "c", 60, "ann"),
]


def test_waiting_rework_and_the_ranking_on_a_plain_log():
    r = jm.bottlenecks(store_of(PLAIN, ["org:resource"]))
    assert not r.lifecycle and (r.cases, r.events) == (3, 9)
    rows = {x["activity"]: x for x in r.activities.to_pylist()}
    b, c = rows["b"], rows["c"]
    assert (b["instances"], b["cases"], b["rework_cases"], b["rework_instances"]) == (3, 2, 1, 1)
    assert b["waiting_total_seconds"] == 100 + 300 + 20 and b["waiting_median_seconds"] == 100
    assert c["waiting_total_seconds"] == 30 + 80 + 10 and c["service_mean_seconds"] is None
    assert rows["a"]["waiting_mean_seconds"] is None and rows["a"]["waiting_total_seconds"] == 0
    assert r.activities.column("activity").to_pylist() == ["b", "c", "a"]  # most waiting first
    assert rows["b"]["waiting_share"] == pytest.approx(420 / 540)
    top = r.transitions.to_pylist()[0]
    assert (top["source"], top["target"], top["count"], top["waiting_total_seconds"]) == ("a", "b", 2, 400)
    assert r.throughput["median_seconds"] == 130 and r.throughput["quantiles"]["max"] == 400


def test_attribute_values_that_go_with_long_waits():
    r = jm.bottlenecks(store_of(PLAIN, ["org:resource"]), by=["org:resource"], min_instances=1)
    first = r.attributes.to_pylist()[0]
    # at b (mean wait 140 s), bob's two waits total 400 s: 120 s more than the mean would give
    assert (first["activity"], first["value"], first["instances"]) == ("b", "bob", 2)
    assert first["excess_seconds"] == pytest.approx(400 - 2 * 140)
    assert jm.bottlenecks(store_of(PLAIN, ["org:resource"]), by="org:resource").attributes.num_rows == 0  # < 30


LIFE = [  # case, activity, seconds, transition
    ("c1", "a", 0, "complete"), ("c1", "b", 10, "schedule"), ("c1", "b", 20, "start"), ("c1", "b", 50, "complete"),
    ("c1", "c", 60, "start"), ("c1", "b", 70, "start"), ("c1", "c", 90, "complete"), ("c1", "b", 95, "complete"),
    ("c2", "b", 0, "complete"), ("c2", "b", 5, "start"), ("c2", "b", 8, "complete"), ("c2", "d", 9, None),
]


def test_lifecycle_pairs_each_complete_with_the_oldest_open_start():
    r = jm.bottlenecks(store_of(LIFE, ["lifecycle:transition"]))
    assert r.lifecycle
    rows = {x["activity"]: x for x in r.activities.to_pylist()}
    # b: c1 (20->50) and (70->95), c2 a lone complete at 0 (no service time) and (5->8)
    assert rows["b"]["instances"] == 4 and rows["b"]["service_total_seconds"] == 30 + 25 + 3
    assert rows["b"]["service_median_seconds"] == 25 and rows["b"]["rework_cases"] == 2
    assert rows["c"]["service_total_seconds"] == 30
    # waits: b(20) after a's end (0): 20; c(60) after b's end (50): 10; b(70) after b(50): 20; c2 b(5) after 0: 5
    assert rows["b"]["waiting_total_seconds"] == 20 + 20 + 5 and rows["c"]["waiting_total_seconds"] == 10
    assert rows["d"]["waiting_total_seconds"] == 1 and rows["d"]["service_mean_seconds"] is None  # no value: complete


def brute_pairs(rows):
    """Reference: a queue per (case, activity), in case order; returns sorted service times."""
    out, queues = [], {}
    for case, act, t, kind in sorted(rows, key=lambda r: (r[0], r[2])):  # stable: load order in ties
        kind = (kind or "complete").lower()
        q = queues.setdefault((case, act), [])
        if kind == "start":
            q.append(t)
        elif kind == "complete" and q:
            out.append(t - q.pop(0))
    return sorted(out)


def test_lifecycle_pairing_equals_a_queue_on_random_logs():
    rng = random.Random(3)
    for _ in range(20):
        rows, t = [], 0
        for case in range(rng.randint(1, 6)):
            for _ in range(rng.randint(1, 12)):
                t += rng.choice([0, 1, 5])
                rows.append((f"c{case}", rng.choice("ab"), t, rng.choice(["start", "complete", "complete", None,
                                                                         "schedule"])))
        rows.append(("z", "a", 0, "start"))  # so every log counts as a lifecycle log
        r = jm.bottlenecks(store_of(rows, ["lifecycle:transition"]))
        table = r.activities.to_pylist()
        expected = brute_pairs(rows)
        total = sum(x["service_total_seconds"] or 0 for x in table)
        assert total == pytest.approx(sum(expected)), rows


def test_business_hours_count_only_working_time():
    friday_evening = (dt.datetime(2024, 1, 5, 16) - T0).total_seconds()
    monday_morning = (dt.datetime(2024, 1, 8, 10) - T0).total_seconds()
    rows = [("c1", "a", friday_evening), ("c1", "b", monday_morning)]
    cal = jm.BusinessHours("Mon-Fri", "09:00", "17:00")
    r = jm.bottlenecks(store_of(rows), calendar=cal)
    assert r.activity("b")["waiting_total_seconds"] == 2 * H and r.throughput["median_seconds"] == 2 * H
    assert r.calendar == cal.to_dict()
    assert jm.bottlenecks(store_of(rows)).activity("b")["waiting_total_seconds"] == 66 * H


def test_arrivals_completions_and_work_in_progress_per_day():
    day = 86400
    rows = [("c1", "a", 0), ("c1", "b", day // 2), ("c2", "a", day // 2), ("c2", "b", day + day // 2),
            ("c3", "a", day + day // 4), ("c3", "b", day + day // 4)]
    r = jm.bottlenecks(store_of(rows), period="day")
    got = r.over_time.to_pylist()
    assert [g["period"] for g in got] == [T0, T0 + dt.timedelta(days=1)]
    assert [(g["arrivals"], g["completions"], g["open_at_end"]) for g in got] == [(2, 1, 1), (1, 2, 0)]
    assert got[0]["wip_mean"] == pytest.approx(1.0) and got[1]["wip_mean"] == pytest.approx(0.5)
    assert got[0]["throughput_median_seconds"] == 0.75 * day  # c1 half a day, c2 a whole one
    weeks = jm.bottlenecks(store_of(rows), period="week").over_time.to_pylist()
    assert [w["period"] for w in weeks] == [T0] and weeks[0]["arrivals"] == 3  # ISO week from Monday


@pytest.mark.parametrize("kwargs, field", [({"period": "hour"}, "period"), ({"calendar": "9-5"}, "calendar"),
                                           ({"by": [""]}, "by"), ({"min_instances": 0}, "min_instances")])
def test_bad_parameters_name_the_field(kwargs, field):
    with pytest.raises(ConfigError, match=field) as e:
        jm.bottlenecks(store_of(PLAIN, ["org:resource"]), **kwargs)
    assert e.value.context["field"] == field


def test_a_filtered_view_is_analysed_like_the_store():
    store = store_of(PLAIN, ["org:resource"])
    view = jm.process_view(store, exclude_activities=["b"])
    assert jm.bottlenecks(view).activity("c")["waiting_total_seconds"] == 130 + 400 + 10


# --- the simulator's planted effects (20,000 people, 90 days, seed 11) ------------------------------

WORKING = jm.BusinessHours("Mon-Sat", "06:00", "22:00")  # the simulator's working hours (docs/simulate.md)


def test_faster_picking_from_day_45_shows_its_planted_size(company):
    """Effect 5: the picking queue's median drops from 14 to 4 working hours for orders from day 45 on
    (times the day's warehouse load, about 1 outside the sale week, days 20-27)."""
    store, fx = company.store, company.truth.parameters["effects"]["faster_picking"]
    start = dt.datetime.fromisoformat(str(company.truth.parameters["start"]))
    day = start + dt.timedelta(days=fx["day"])
    before = jm.process_view(store, "order", start=start + dt.timedelta(days=28), end=day, time_rule="started")
    after = jm.process_view(store, "order", start=day, time_rule="started")
    queue, share = {}, {}
    for name, view in (("before", before), ("after", after)):
        report = jm.bottlenecks(view, calendar=WORKING)
        share[name] = report.activity("picking started")["waiting_share"]
        if name == "before":  # one of the two places where orders wait longest in total
            assert report.activities.column("activity").to_pylist().index("picking started") <= 1
        pair = jm.process_view(view, activities=["order placed", "picking started"])  # the queue itself
        queue[name] = jm.bottlenecks(pair, calendar=WORKING).activity("picking started")["waiting_median_seconds"] / H
    assert share["after"] < share["before"] / 2  # its share of all waiting falls (0.28 -> 0.11 here)
    assert queue["before"] == pytest.approx(fx["median_hours_before"], rel=0.07)
    assert queue["after"] == pytest.approx(fx["median_hours_after"], rel=0.07)
    assert queue["after"] / queue["before"] == pytest.approx(fx["median_hours_after"] / fx["median_hours_before"],
                                                             rel=0.1)


def test_payment_verification_is_the_payment_process_bottleneck_with_its_planted_times(company):
    """Verification takes a log-normal time with median 30 s and sigma 1.1 (docs/simulate.md):
    90th percentile 30 e^(1.1 * 1.2816) = 122.8 s."""
    report = jm.bottlenecks(company.store, "payment")
    top = report.activities.to_pylist()[0]
    assert top["activity"] == "payment verification completed" and top["waiting_share"] > 0.9
    assert top["waiting_median_seconds"] == pytest.approx(30, rel=0.05)
    assert top["waiting_p90_seconds"] == pytest.approx(30 * np.exp(1.1 * 1.2816), rel=0.05)

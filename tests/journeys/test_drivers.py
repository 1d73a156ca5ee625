"""drivers: hand-checked 2x2 tables, a pandas re-computation from raw rows, and the simulator's truth
(the slow payment step is found with its planted size; the null fraud check is not)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

import journeymine as jm
from journeymine.errors import ConfigError
from journeymine.journeys._drivers import Driver, DriversResult, drivers

T0 = dt.datetime(2024, 1, 1)
Z = 1.959963984540054


def store_of(rows, customer_attrs: dict[str, str] | None = None) -> jm.Store:
    """rows: (customer, activity, seconds, color or None) in load order; customer_attrs: tier per customer."""
    store = jm.connect(":memory:")
    tiers = customer_attrs or {}
    df = pd.DataFrame({"customer": [r[0] for r in rows], "activity": [r[1] for r in rows],
                       "ts": [T0 + dt.timedelta(seconds=r[2]) for r in rows], "color": [r[3] for r in rows],
                       "tier": [tiers.get(r[0]) for r in rows]})
    jm.read_frame(df, store, activity_col="activity", timestamp_col="ts", customer_col="customer",
                  attribute_cols=["color"], object_attribute_cols={"customer": ["tier"]})
    return store


def by_feature(result: DriversResult) -> dict[str, Driver]:
    return {d.feature: d for d in result.drivers}


# Funnel a -> c within 100 s. S = success, F = failure; x counts only inside [t1, t_c) or [t1, t1 + 100].
HAND = [
    ("u1", "a", 0, None), ("u1", "x", 5, "red"), ("u1", "c", 10, None),      # S, x red
    ("u2", "a", 0, None), ("u2", "x", 5, "blue"), ("u2", "c", 10, None),     # S, x blue
    ("u3", "a", 0, None), ("u3", "c", 10, None), ("u3", "x", 20, "red"),     # S, x after the outcome: no
    ("u4", "a", 0, None), ("u4", "x", 50, "red"),                            # F, x red
    ("u5", "a", 0, None), ("u5", "x", 150, "red"),                           # F, x after the window: no
    ("u6", "a", 0, None), ("u6", "x", 100, "red"),                           # F, x at the inclusive bound
    ("u7", "a", 0, None),                                                    # F
    ("u8", "x", 0, "red"), ("u8", "a", 1, None), ("u8", "c", 5, None),       # S, x before entry: no
    ("u9", "a", 0, None), ("u9", "x", 1, "red"), ("u9", "c", 2, None),       # S, x red
    ("u9", "c", 3, "green"),                                                 # a second c: after the outcome
]


def test_hand_checked_two_by_two_tables():
    store = store_of(HAND, {"u1": "gold", "u2": "gold", "u4": "gold", "u5": "silver"})
    r = drivers(store, ["a", "c"], window=100, min_actors=1)
    assert (r.actors_total, r.successes) == (9, 5)
    rows = by_feature(r)
    x = rows["x"]  # with x: u1 u2 u9 (S), u4 u6 (F); without: u3 u8 (S), u5 u7 (F)
    assert (x.kind, x.population, x.successes_with, x.actors_with, x.successes_without, x.actors_without) == (
        "events", 9, 3, 5, 2, 4)
    a, b, c, d = 3 + 1, 2 + 1, 2 + 1, 2 + 1  # PostHog's +1 prior on every cell
    assert x.odds_ratio == pytest.approx(a * d / (b * c)) == pytest.approx(4 / 3)
    se = math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    assert x.odds_ratio_low == pytest.approx(4 / 3 * math.exp(-Z * se))
    assert x.odds_ratio_high == pytest.approx(4 / 3 * math.exp(Z * se))
    assert x.p_value == pytest.approx(math.erfc(abs(math.log(4 / 3)) / se / math.sqrt(2)))
    assert x.risk_difference == pytest.approx(3 / 5 - 2 / 4)
    assert x.risk_difference_low < 0.1 < x.risk_difference_high
    assert "a" not in rows and "c" not in rows  # step event types are not "events" features
    red = rows["x: color = red"]  # u1 u9 (S), u4 u6 (F) have a red x inside their interval
    assert (red.kind, red.successes_with, red.actors_with, red.successes_without, red.actors_without) == (
        "properties", 2, 4, 3, 5)
    assert rows["x: color = blue"].actors_with == 1
    assert "c: color = green" not in rows  # the outcome and what follows never count
    gold = rows["tier = gold"]  # u1 u2 (S), u4 (F)
    assert (gold.kind, gold.successes_with, gold.actors_with, gold.actors_without) == ("attributes", 2, 3, 6)
    assert rows["tier = silver"].actors_with == 1
    q = [d.q_value for d in r.drivers]
    assert q == sorted(q) and all(d.significant == (d.q_value <= 0.05) for d in r.drivers)
    assert r.features_tested + r.features_below_support + r.features_without_contrast == r.features_considered
    success = dict(zip(r.actors.column("object_code").to_pylist(), r.actors.column("success").to_pylist()))
    assert sum(success.values()) == 5


def test_durations_and_step_properties_compare_only_actors_who_reached_the_step():
    rows = []
    for name, b_at, c_at, lane in [("d1", 5, 6, "fast"), ("d2", 20, 25, "slow"), ("d3", 30, None, "slow"),
                                   ("d4", 8, None, "fast"), ("d5", 12, None, "slow"), ("d6", None, None, None),
                                   ("d7", 10, 11, "fast")]:
        rows.append((name, "a", 0, None))
        if b_at is not None:
            rows.append((name, "b", b_at, lane))
        if c_at is not None:
            rows.append((name, "c", c_at, None))
    r = drivers(store_of(rows), ["a", "b", "c"], window=100, min_actors=1, duration_thresholds=[10],
                features=["durations", "properties"])
    assert r.duration_thresholds == {2: (10.0,)}
    slow = by_feature(r)["a -> b took longer than 10 s"]  # d2 (S), d3 d5 (F); not: d1 d7 (S; 10 s is not longer), d4
    assert (slow.step, slow.threshold_seconds, slow.population) == (2, 10.0, 6)
    assert (slow.successes_with, slow.actors_with, slow.successes_without, slow.actors_without) == (1, 3, 2, 3)
    assert slow.odds_ratio == pytest.approx(2 * 2 / (3 * 3))
    lane = by_feature(r)["b: color = fast"]  # the property of step 2's event: among the 6 that reached b
    assert (lane.population, lane.step, lane.actors_with, lane.successes_with) == (6, 2, 3, 2)
    by_name = drivers(store_of(rows), ["a", "b", "c"], window=100, min_actors=1, duration_thresholds={"b": "10s"},
                      features=["durations"])
    assert by_name.drivers == (slow,)
    default = drivers(store_of(rows), ["a", "b", "c"], window=100, min_actors=1, features=["durations"])
    assert default.duration_thresholds == {2: (float(np.median([5, 20, 30, 8, 12, 10])),
                                               float(np.quantile([5, 20, 30, 8, 12, 10], 0.9)))}


def test_support_and_parameter_errors():
    store = store_of(HAND)
    r = drivers(store, ["a", "c"], window=100, min_actors=4)
    assert {d.feature for d in r.drivers} == {"x", "x: color = red"}  # 5/4 and 4/5 actors with/without
    assert r.features_below_support == r.features_considered - 2 == 1  # blue: 1 with
    for kw, field in [({"min_actors": 0}, "min_actors"), ({"alpha": 1.5}, "alpha"),
                      ({"features": ["nope"]}, "features"), ({"duration_thresholds": {3: [5]}}, "duration_thresholds"),
                      ({"properties": ["a b"]}, "properties"), ({"properties": "minutes"}, "properties"),
                      ({"window": "soon"}, "window")]:
        with pytest.raises(ConfigError) as info:
            drivers(store, ["a", "b", "c"], **{"window": 100, **kw})
        assert info.value.context["field"] == field


def test_result_forms():
    r = drivers(store_of(HAND), ["a", "c"], window=100, min_actors=1)
    table = r.to_arrow()
    assert table.num_rows == r.features_tested and table.column("feature").to_pylist() == [d.feature for d in r.drivers]
    d = r.to_dict()
    assert d["actors_total"] == 9 and d["failures"] == 4 and len(d["drivers"]) == r.features_tested
    assert '"significant"' in r.to_json() and r.to_pandas().shape[0] == r.features_tested
    empty = drivers(store_of(HAND), ["zzz", "c"], window=100)
    assert empty.actors_total == 0 and empty.to_arrow().num_rows == 0 and empty.to_arrow().schema == table.schema


def test_events_and_properties_match_a_pandas_recomputation(small):
    """An order funnel recomputed from the raw event/object links with pandas."""
    store = small.store
    window = 14 * 86400
    r = drivers(store, ["order placed", "service contact"], "14d", by="order", min_actors=5,
                features=["events", "properties"], properties=["carrier"])
    raw = store.query("""
        SELECT o.id AS actor, e.type AS type, e.time AS time, e.code AS ord,
               json_extract_string(e.attributes, '$.carrier') AS carrier
        FROM event_object eo JOIN event e ON e.code = eo.event_code JOIN object o ON o.code = eo.object_code
        WHERE o.type = 'order'""").to_pandas().sort_values(["actor", "time", "ord"])
    raw["t"] = (raw["time"] - pd.Timestamp("1970-01-01")) // pd.Timedelta("1us")
    t1 = raw[raw.type == "order placed"].groupby("actor")["t"].min()
    raw = raw[raw.actor.isin(t1.index)].assign(t1=lambda x: x.actor.map(t1))
    contact = raw[(raw.type == "service contact") & (raw.t > raw.t1) & (raw.t - raw.t1 <= window * 10**6)]
    t2 = contact.groupby("actor")["t"].min()
    success = pd.Series(t1.index.isin(t2.index), index=t1.index)
    end = t1 + window * 10**6 + 1
    end[t2.index] = t2
    inside = raw[(raw.t >= raw.t1) & (raw.t < raw.actor.map(end))]
    assert (r.actors_total, r.successes) == (len(t1), int(success.sum()))
    expected = {}
    features = [(t, inside[inside.type == t]) for t in set(inside.type) - {"order placed", "service contact"}]
    carriers = inside.dropna(subset=["carrier"]).groupby(["type", "carrier"])
    features += [(f"{t}: carrier = {c}", g) for (t, c), g in carriers]
    for name, rows in features:
        holders = set(rows.actor)
        with_, wins = len(holders), int(success[list(holders)].sum())
        if min(with_, len(t1) - with_) >= 5:
            expected[name] = (with_, wins)
    got = {d.feature: (d.actors_with, d.successes_with) for d in r.drivers}
    assert got == expected and len(got) >= 5


def test_slow_payment_is_found_with_its_planted_size(company):
    truth = company.truth.effect("slow_payment")
    r = drivers(company.store, ["payment verification started", "payment verification completed", "order placed"],
                "1h", by="object:session", duration_thresholds=[120])
    slow = by_feature(r)["payment verification started -> payment verification completed took longer than 120 s"]
    assert slow.significant and slow.odds_ratio_high < 1 and slow.risk_difference_high < 0
    assert slow.risk_difference_low <= -truth["true_effect"] <= slow.risk_difference_high  # -0.15 conversion
    assert (slow.actors_with, slow.population) == (truth["treated"], truth["units"])  # the truth's sessions
    assert r.drivers[0] is slow  # the strongest driver of this funnel


def test_the_null_fraud_check_is_not_significant_and_the_confounder_is_only_an_association(company):
    r = drivers(company.store, ["order placed", "service contact"], "14d", by="order")
    minutes = [d for d in r.drivers if d.attribute == "minutes"]
    assert len(minutes) == 4 and not any(d.significant for d in minutes)  # quartile bins, nothing depends on them
    assert company.truth.effect("null_fraud_check")["true_effect"] == 0
    # Express orders contact more only because one persona both picks express and calls more: the naive
    # association is there (as in the truth's observed means), the true effect of express is zero.
    confounder = company.truth.effect("confounder")
    express = by_feature(r)["shipping = express"]
    assert express.significant and express.risk_difference_low > 0
    assert confounder["true_effect"] == 0 and confounder["mean_treated"] > confounder["mean_untreated"]

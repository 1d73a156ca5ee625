"""jm.explain (J2P): a hand-made log checked by direct computation, temporal precedence, the
Mantel-Haenszel estimators, and the simulator's planted process causes, null effect and confounder."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

import journeymine as jm
from journeymine.errors import ConfigError
from journeymine.journeys._stats import mantel_haenszel, risk_ratio

T0 = dt.datetime(2024, 3, 1)
H = 3600


def order_store(orders) -> jm.Store:
    """orders: (id, wait before picking in hours, contact after placing in hours or None, warehouse)."""
    rows = []
    for oid, wait, contact, warehouse in orders:
        rows.append((oid, "order placed", 0, warehouse))
        rows.append((oid, "picking started", wait * H, warehouse))
        if contact is not None:
            rows.append((oid, "service contact", contact * H, warehouse))
    rows.append(("zz-last", "order placed", 30 * 24 * H, "A"))  # the store's horizon: everyone observed 14 d
    store = jm.connect(":memory:")
    df = pd.DataFrame({"order": [r[0] for r in rows], "activity": [r[1] for r in rows],
                       "ts": [T0 + dt.timedelta(seconds=r[2]) for r in rows], "warehouse": [r[3] for r in rows]})
    jm.read_frame(df, store, activity_col="activity", timestamp_col="ts", case_col="order", case_type="order",
                  attribute_cols=["warehouse"])
    return store


def hand_orders():
    rng = np.random.default_rng(5)
    out = []
    for i in range(400):
        slow = i % 4 == 0  # 100 slow orders (wait 30 h), 300 fast (2 h)
        wait = 30 if slow else 2
        contacted = rng.random() < (0.5 if slow else 0.1)
        contact = wait + 5 if contacted else None  # after picking: picking precedes the contact
        out.append((f"o{i:03d}", wait, contact, "A" if i % 3 == 0 else "B"))  # a quarter slow in both
    return out


def test_risk_difference_and_attributable_equal_a_direct_computation():
    orders = hand_orders()
    store = order_store(orders)
    e = jm.explain(store, jm.followed_by("order", "order placed", "service contact", "14d"), process="order",
                   thresholds={"picking started": ["24h"]}, attributes=["warehouse"], min_support=10)
    slow = [o for o in orders if o[1] == 30]
    fast = [o for o in orders if o[1] == 2]
    p1 = sum(o[2] is not None for o in slow) / len(slow)
    p0 = sum(o[2] is not None for o in fast) / len(fast)
    top = e.top(1)[0]
    assert (top["kind"], top["activity"], top["threshold_seconds"]) == ("wait", "picking started", 24 * H)
    assert (top["exposed"], top["unexposed"]) == (100, 300) and e.units == 400  # "zz-last" not observed 14 d
    assert e.censored == 1
    assert top["risk_difference"] == pytest.approx(p1 - p0) and top["attributable"] == pytest.approx((p1 - p0) * 100)
    assert top["rd_low"] < p1 - p0 < top["rd_high"] and top["significant"]
    assert "over 24.0 h" in top["sentence"] and e.sentences()[0] == top["sentence"]
    warehouse = [r for r in e.findings.to_pylist() if r["kind"] == "attribute"]
    assert {r["detail"] for r in warehouse} == {"warehouse = A", "warehouse = B"}
    assert not any(r["significant"] for r in warehouse)  # the warehouse is unrelated to slowness and outcome


def test_only_events_before_the_outcome_count():
    # contacts come 1 h after the order, before picking (2 h or 30 h): picking can never be a cause
    orders = [(f"o{i:03d}", 30 if i % 4 == 0 else 2, 1 if i % 3 == 0 else None, "A") for i in range(200)]
    e = jm.explain(order_store(orders),
                   jm.followed_by("order", "order placed", "service contact", "14d"), process="order", min_support=10)
    occurred = [r for r in e.findings.to_pylist() if r["kind"] == "occurred" and r["activity"] == "picking started"]
    # contacted orders were cut at the contact: none of them had picking before it
    assert occurred and occurred[0]["rate_exposed"] == 0.0
    assert not [r for r in e.findings.to_pylist() if r["kind"] == "wait" and r["rate_exposed"] > 0]


def test_mantel_haenszel_by_hand_and_reduces_to_the_crude_estimates_with_one_stratum():
    # two strata: (x1, n1, x0, n0) = (10, 50, 5, 50) and (30, 60, 10, 40)
    x1, n1, x0, n0 = np.array([10, 30]), np.array([50, 60]), np.array([5, 10]), np.array([50, 40])
    mh = mantel_haenszel(x1, n1, x0, n0)
    w = n1 * n0 / (n1 + n0)
    rd = (w * (x1 / n1 - x0 / n0)).sum() / w.sum()
    rr = (x1 * n0 / (n1 + n0)).sum() / (x0 * n1 / (n1 + n0)).sum()
    assert mh["rd"] == pytest.approx(rd) and mh["rr"] == pytest.approx(rr) and mh["strata"] == 2
    one = mantel_haenszel([30], [60], [10], [40])
    assert one["rd"] == pytest.approx(0.5 - 0.25) and one["rr"] == pytest.approx(2.0)
    se = math.sqrt(0.5 * 0.5 / 60 + 0.25 * 0.75 / 40)
    assert one["rd_high"] - one["rd"] == pytest.approx(1.959963984540054 * se)
    rr, low, high = risk_ratio(30, 60, 10, 40)
    assert rr == pytest.approx(2.0) and low == pytest.approx(2 * math.exp(-1.959963984540054 * math.sqrt(
        1 / 30 - 1 / 60 + 1 / 10 - 1 / 40)))
    assert math.isnan(mantel_haenszel([1], [0], [1], [3])["rd"])  # no stratum with both groups


@pytest.mark.parametrize("make, field", [
    (lambda: jm.dropped_after(["a", "b"], 2), "step"), (lambda: jm.dropped_after(["a", "b"], "c"), "step"),
    (lambda: jm.followed_by("order", "", "x", "1d"), "start"), (lambda: jm.followed_by("order", "a", "b", "soon"),
                                                               "within"),
])
def test_bad_outcomes_name_the_field(make, field):
    with pytest.raises(ConfigError, match=field) as e:
        make()
    assert e.value.context["field"] == field


def test_bad_parameters_name_the_field():
    store = order_store(hand_orders()[:20])
    with pytest.raises(ConfigError, match="outcome"):
        jm.explain(store, "dropped")
    with pytest.raises(ConfigError, match="min_support"):
        jm.explain(store, jm.followed_by("order", "order placed", "service contact", "14d"), min_support=0)


# --- the simulator's planted effects (20,000 people, 90 days, seed 11) ------------------------------

CHECKOUT = ["checkout payment", "payment verification completed", "order placed"]


def test_slow_payment_verification_is_the_top_cause_of_payment_drop_with_its_true_size(company):
    e = jm.explain(company.store, jm.dropped_after(CHECKOUT, "payment verification completed", window="1h"),
                   process="payment", thresholds={"payment verification completed": ["2m"]}, attributes=["method"])
    top = e.top(1)[0]
    truth = company.truth.effect("slow_payment")
    assert (top["activity"], top["threshold_seconds"], top["significant"]) == ("payment verification completed",
                                                                               120.0, True)
    assert top["rd_low"] <= truth["true_effect"] <= top["rd_high"]
    assert e.units == company.truth.units.filter(
        company.truth.units.column("effect").to_numpy(zero_copy_only=False) == "slow_payment").num_rows


def test_the_null_fraud_check_is_not_a_cause_of_contacts_and_the_confounder_vanishes_after_adjustment(company):
    persona = company.truth.people.select(["customer_id", "persona"]).rename_columns(["id", "persona"])
    outcome = jm.followed_by("order", "order placed", "service contact", "14d")
    naive = jm.explain(company.store, outcome, process="order", attributes=["shipping"])
    adjusted = jm.explain(company.store, outcome, process="order", attributes=["shipping"],
                          confounders=["customer.persona"], confounder_data={"customer": persona})
    for e in (naive, adjusted):
        fraud = [r for r in e.findings.to_pylist() if r["activity"] == "fraud check completed" and r["kind"] == "wait"]
        assert fraud and not any(r["significant"] for r in fraud)
    express = {name: [r for r in e.findings.to_pylist() if r["detail"] == "shipping = express"][0]
               for name, e in (("naive", naive), ("adjusted", adjusted))}
    assert express["naive"]["significant"] and express["naive"]["rd_low"] > 0.05
    assert not express["adjusted"]["significant"] and express["adjusted"]["rd_low"] < 0 < express["adjusted"]["rd_high"]
    # the picking queue (effect 5 via late deliveries) is what goes with contacts, adjusted or not
    assert adjusted.top(1)[0]["activity"] == "picking started" and adjusted.top(1)[0]["significant"]


def test_over_ten_seeds_the_planted_sizes_are_covered_and_the_null_and_the_confounder_behave():
    """Issue 7's acceptance on several seeds (10,000 people, 60 days each): the slow payment's true
    effect lies inside the top finding's interval in at least 90 % of seeds; the null effect is never
    significant; express is significant naively and not after adjusting for the persona."""
    covered = significant = null = naive = adjusted = 0
    outcome = jm.followed_by("order", "order placed", "service contact", "14d")
    for seed in range(1, 11):
        sim = jm.simulate(customers=10_000, days=60, seed=seed)
        e = jm.explain(sim.store, jm.dropped_after(CHECKOUT, 2, window="1h"), process="payment",
                       thresholds={"payment verification completed": ["2m"]}, attributes=["method"])
        top, truth = e.top(1)[0], sim.truth.effect("slow_payment")["true_effect"]
        covered += top["threshold_seconds"] == 120.0 and top["rd_low"] <= truth <= top["rd_high"]
        significant += top["significant"]
        persona = sim.truth.people.select(["customer_id", "persona"]).rename_columns(["id", "persona"])
        plain = jm.explain(sim.store, outcome, process="order", attributes=["shipping"])
        fair = jm.explain(sim.store, outcome, process="order", attributes=["shipping"],
                          confounders=["customer.persona"], confounder_data={"customer": persona})
        express = [[r for r in x.findings.to_pylist() if r["detail"] == "shipping = express"][0]["significant"]
                   for x in (plain, fair)]
        naive, adjusted = naive + express[0], adjusted + express[1]
        null += any(r["significant"] for x in (plain, fair) for r in x.findings.to_pylist()
                    if r["activity"] == "fraud check completed" and r["kind"] == "wait")
        sim.store.close()
    assert covered >= 9 and significant == 10 and null == 0
    assert naive >= 9 and adjusted <= 1

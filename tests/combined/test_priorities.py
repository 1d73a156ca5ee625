"""jm.priorities: on the simulated company the planted slow payment is the top pain of the payment
drop-off and the picking queue is among the levers; pains rank before levers; every number equals what
jm.explain, jm.bottlenecks and jm.what_if give directly; bad parameters name their field."""

from __future__ import annotations

import pytest

import journeymine as jm
from journeymine.combined._defaults import retail_outcomes
from journeymine.combined._priorities import priorities
from journeymine.errors import ConfigError

VERIFY = "payment verification completed"


@pytest.fixture(scope="module")
def ranked(company):
    return priorities(company.store, bootstrap=200, seed=0)


def test_the_slow_payment_is_the_top_pain_of_the_drop_off(ranked, company):
    items = ranked.items.to_pylist()
    drop = [r for r in items if r["kind"] == "pain" and r["outcome"] == "payment drop-off"]
    top = drop[0]
    assert (top["process"], top["activity"]) == ("payment", VERIFY)
    assert top["action"].startswith(f"Shorten the wait before {VERIFY!r} (over ")
    truth = company.truth.effect("slow_payment")["true_effect"]  # +15 pp abandonment when verification > 120 s
    assert top["rd_low"] <= truth <= top["rd_high"] and top["low"] > 50
    assert 60 <= top["threshold_seconds"] <= 180  # the percentile threshold nearest the planted 120 s wins


def test_pains_rank_before_levers_and_each_side_is_ordered(ranked):
    items = ranked.items.to_pylist()
    kinds = [r["kind"] for r in items]
    assert kinds == sorted(kinds, key=lambda k: k != "pain") and "pain" in kinds and "lever" in kinds
    assert [r["rank"] for r in items] == list(range(1, len(items) + 1))
    pains = [r for r in items if r["kind"] == "pain"]
    assert [r["low"] for r in pains] == sorted((r["low"] for r in pains), reverse=True)  # lower bound first
    assert all(r["risk_difference"] > 0 and r["unit"] == "outcomes avoided" for r in pains)
    assert len({(r["outcome"], r["process"], r["activity"]) for r in pains if r["activity"]}) == len(pains)
    waits = [r for r in items if r["kind"] == "lever" and r["unit"] == "hours waited"]
    assert len(waits) == 5 and [r["value"] for r in waits] == sorted((r["value"] for r in waits), reverse=True)
    assert not [r for r in items if r["kind"] == "lever" and r["activity"] == "service contact"]
    assert len(ranked.sentences()) == len(items) and ranked.sentences()[0].startswith("1. ")


def test_picking_is_a_lever_and_its_projection_is_what_if_directly(ranked, company):
    levers = {r["activity"]: r for r in ranked.items.to_pylist() if r["kind"] == "lever"}
    assert {"picking started", "delivered"} <= set(levers)
    picking = levers["picking started"]
    outcome, _ = retail_outcomes(company.store)["contact after order"]
    w = jm.what_if(company.store, outcome, "picking started", process="order", factor=0.5, bootstrap=200, seed=0)
    assert picking["outcome"] == "contact after order" and picking["baseline"] == pytest.approx(w.baseline)
    assert picking["projected_change"] == pytest.approx(w.predicted - w.baseline)
    assert (picking["projected_low"], picking["projected_high"]) == pytest.approx((w.low - w.baseline,
                                                                                  w.high - w.baseline))
    assert picking["projected_high"] < 0  # a shorter picking queue, fewer contacts (the planted effect 5)
    assert "model-based projection" in picking["evidence"]
    row = jm.bottlenecks(company.store, "order").activity("picking started")
    assert picking["value"] == pytest.approx(row["waiting_total_seconds"] / 3600)
    assert picking["waiting_share"] == pytest.approx(row["waiting_share"])


def test_no_projection_for_a_wait_that_mostly_comes_after_the_outcome(ranked, company):
    """Most where-is-my-order contacts come before the delivery: halving the wait before 'delivered'
    is not projected onto the contacts (what_if would read the cutoff as a dose-response)."""
    delivered = next(r for r in ranked.items.to_pylist() if r["kind"] == "lever" and r["activity"] == "delivered")
    assert delivered["projected_change"] is None and delivered["baseline"] is None
    assert "not projected on 'contact after order'" in delivered["evidence"]
    share = company.store.query("""
        WITH o AS (SELECT eo.object_code AS code, min(e.time) FILTER (WHERE e.type = 'order placed') AS placed,
                          min(e.time) FILTER (WHERE e.type = 'delivered') AS delivered
                   FROM event e JOIN event_object eo ON eo.event_code = e.code JOIN object ob ON ob.code = eo.object_code
                   WHERE ob.type = 'order' GROUP BY eo.object_code),
             c AS (SELECT o.code, o.delivered, min(e.time) AS contact
                   FROM o JOIN event_object eo ON eo.object_code = o.code JOIN event e ON e.code = eo.event_code
                   WHERE e.type = 'service contact' AND e.time > o.placed AND e.time <= o.placed + INTERVAL 14 DAY
                   GROUP BY o.code, o.delivered)
        SELECT avg(CASE WHEN delivered < contact THEN 1.0 ELSE 0.0 END) AS share FROM c""").column(0)[0].as_py()
    assert share < 0.5


def test_pain_numbers_equal_explain_directly(ranked, company):
    outcome, process = retail_outcomes(company.store)["payment drop-off"]
    e = jm.explain(company.store, outcome, process=process)
    assert ranked.explanations["payment drop-off"].findings.equals(e.findings)
    found = [r for r in e.findings.to_pylist() if r["significant"] and r["risk_difference"] > 0
             and r["kind"] == "wait" and r["activity"] == VERIFY]
    best = max(found, key=lambda r: (r["attributable_low"], r["attributable"]))
    top = next(r for r in ranked.items.to_pylist() if r["outcome"] == "payment drop-off" and r["kind"] == "pain")
    assert (top["value"], top["low"], top["high"]) == (best["attributable"], best["attributable_low"],
                                                       best["attributable_high"])
    assert (top["exposed"], top["threshold_seconds"], top["evidence"]) == (best["exposed"], best["threshold_seconds"],
                                                                            best["sentence"])
    d = ranked.to_dict()
    assert set(d["outcomes"]) == {"contact after order", "payment drop-off"} and d["processes"] == ["order", "payment"]
    assert d["outcomes"]["payment drop-off"]["units"] == e.units and len(d["items"]) == ranked.items.num_rows


def test_given_outcomes_levers_and_process(company):
    outcome = jm.followed_by("order", "order placed", "service contact", "14d")
    p = priorities(company.store, outcomes={"calls": outcome}, process="order", levers=2, bootstrap=100)
    items = p.items.to_pylist()
    assert {r["outcome"] for r in items if r["kind"] == "pain"} == {"calls"} and p.processes == ("order",)
    assert len([r for r in items if r["kind"] == "lever"]) == 2
    assert all(r["outcome"] in (None, "calls") for r in items)  # a bare outcome searches every linked process
    none = priorities(company.store, outcomes={"calls": (outcome, "order")}, levers=0, bootstrap=100)
    assert {r["kind"] for r in none.items.to_pylist()} == {"pain"}


def test_rework_levers_come_after_the_waiting_levers():
    import datetime as dt

    import pandas as pd

    rows = []  # every order checked twice (60 rework events); the longest waits are before shipping
    for i in range(60):
        placed = dt.datetime(2024, 1, 1) + dt.timedelta(hours=2 * i)
        rows += [(f"o{i}", "order placed", placed), (f"o{i}", "check", placed + dt.timedelta(hours=1 + i % 3)),
                 (f"o{i}", "check", placed + dt.timedelta(hours=5)),
                 (f"o{i}", "shipped", placed + dt.timedelta(hours=50 + i % 5))]
    df = pd.DataFrame(rows, columns=["order", "activity", "ts"])
    store = jm.connect(":memory:")
    jm.read_frame(df, store, activity_col="activity", timestamp_col="ts", case_col="order", case_type="order")
    p = priorities(store, outcomes={"x": (jm.followed_by("order", "order placed", "refund", "1d"), "order")},
                   levers=1, bootstrap=100)
    levers = [r for r in p.items.to_pylist() if r["kind"] == "lever"]
    assert [r["unit"] for r in levers] == ["hours waited", "rework events"]
    assert levers[1]["value"] == 60 and levers[1]["action"].startswith("Remove the rework of 'check'")


@pytest.mark.parametrize("kwargs, field", [
    ({"outcomes": {}}, "outcomes"), ({"outcomes": {"x": "dropped"}}, "outcomes"),
    ({"outcomes": {"x": (jm.followed_by("order", "a", "b", "1d"), 3)}}, "outcomes"),
    ({"levers": -1}, "levers"), ({"levers": 1.5}, "levers"), ({"bootstrap": 10}, "bootstrap"),
    ({"confounders": "customer.segment"}, "confounders"), ({"process": [3]}, "process"),
    ({"min_support": 0}, "min_support"), ({"alpha": 2}, "alpha"),
])
def test_bad_parameters_name_the_field(small, kwargs, field):
    with pytest.raises(ConfigError, match=field) as e:
        priorities(small.store, **kwargs)
    assert e.value.context["field"] == field


def test_a_store_without_the_default_outcomes_needs_outcomes():
    store = jm.connect(":memory:")
    with pytest.raises(ConfigError, match="outcomes") as e:
        priorities(store)
    assert e.value.context["field"] == "outcomes"

"""jm.explain on the real OCEL 2.0 Order Management log: orders (units) get a payment reminder within
30 days of being placed (the outcome); causes come from the items and packages linked to them. One
finding is recomputed directly in SQL (an independent path through the store's tables)."""

from __future__ import annotations

from pathlib import Path

import pytest

import journeymine as jm

LOG = Path(__file__).resolve().parents[2] / "data" / "ocel2-order-management" / "order-management.xml.gz"

DIRECT = """
WITH place AS (
    SELECT eo.object_code AS o, min(e.time) AS t FROM event e JOIN event_object eo ON eo.event_code = e.code
    JOIN object ob ON ob.code = eo.object_code WHERE ob.type = 'orders' AND e.type = 'place order' GROUP BY 1),
reminder AS (
    SELECT p.o, min(e.time) AS t FROM place p JOIN event_object eo ON eo.object_code = p.o
    JOIN event e ON e.code = eo.event_code
    WHERE e.type = 'payment reminder' AND e.time > p.t AND e.time <= p.t + INTERVAL 30 DAY GROUP BY 1),
units AS (
    SELECT p.o, r.t IS NOT NULL AS outcome, coalesce(r.t, p.t + INTERVAL 30 DAY) AS cutoff FROM place p
    LEFT JOIN reminder r USING (o) WHERE p.t + INTERVAL 30 DAY <= (SELECT max(time) FROM event)),
linked AS (
    SELECT DISTINCT a.object_code AS o, b.object_code AS item FROM event_object a
    JOIN event_object b ON b.event_code = a.event_code JOIN object x ON x.code = b.object_code
    WHERE x.type = 'items' AND a.object_code IN (SELECT o FROM units)),
exposed AS (
    SELECT DISTINCT u.o FROM units u JOIN linked l ON l.o = u.o JOIN event_object eo ON eo.object_code = l.item
    JOIN event e ON e.code = eo.event_code WHERE e.type = $activity AND e.time < u.cutoff)
SELECT u.o IN (SELECT o FROM exposed) AS exposed, count(*) AS n, sum(CASE WHEN u.outcome THEN 1 ELSE 0 END) AS x
FROM units u WHERE u.o IN (SELECT o FROM linked) GROUP BY 1 ORDER BY 1
"""


@pytest.fixture(scope="module")
def store():
    with jm.connect(":memory:") as s:
        jm.read_ocel(LOG, s)
        yield s


@pytest.mark.parametrize("activity", ["item out of stock", "pay order"])
def test_an_occurrence_finding_equals_a_direct_sql_computation(store, activity):
    e = jm.explain(store, jm.followed_by("orders", "place order", "payment reminder", "30d"),
                   process=["items", "packages"])
    assert e.units == 2000 and e.outcomes == 443
    row = [r for r in e.findings.to_pylist() if (r["process"], r["kind"], r["activity"]) == ("items", "occurred",
                                                                                            activity)][0]
    (n0, x0), (n1, x1) = [(r["n"], r["x"]) for r in store.query(DIRECT, {"activity": activity}).to_pylist()]
    assert (row["exposed"], row["unexposed"]) == (n1, n0)
    assert row["rate_exposed"] == pytest.approx(x1 / n1) and row["rate_unexposed"] == pytest.approx(x0 / n0)


def test_paying_before_the_reminder_is_the_finding_that_matters(store):
    e = jm.explain(store, jm.followed_by("orders", "place order", "payment reminder", "30d"), process="items")
    top = e.top(1)[0]
    # orders whose items saw "pay order" before day 30 got no reminder: a late payment is what a reminder follows
    assert (top["activity"], top["kind"], top["significant"]) == ("pay order", "occurred", True)
    assert top["rate_exposed"] == 0.0 and top["risk_difference"] < -0.9

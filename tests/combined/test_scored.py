"""jm.scored: a survey score as a journey outcome (e.g. NPS detractors), checked against direct SQL, traced
to the process by jm.explain (late deliveries lower the planted NPS by 3 points) and measured by jm.impact."""

from __future__ import annotations

import pytest

import journeymine as jm
from journeymine.combined._outcomes import evaluate
from journeymine.errors import ConfigError

DETRACTOR = jm.scored("order", "survey answered", "score", at_most=6, where={"survey": "nps"})


def test_units_and_outcomes_match_sql(company):
    u = evaluate(company.store, DETRACTOR)
    direct = company.store.query("""
        WITH a AS (SELECT eo.object_code AS o, e.time AS t, e.code AS ev,
                          CAST(json_extract_string(e.attributes, '$.score') AS DOUBLE) AS score,
                          row_number() OVER (PARTITION BY eo.object_code ORDER BY e.time, e.code) AS k
                   FROM event e JOIN event_object eo ON eo.event_code = e.code JOIN object ob ON ob.code = eo.object_code
                   WHERE ob.type = 'order' AND e.type = 'survey answered'
                     AND json_extract_string(e.attributes, '$.survey') = 'nps')
        SELECT count(*) AS n, count(*) FILTER (WHERE score <= 6) AS low FROM a WHERE k = 1""").to_pylist()[0]
    assert u.codes.size == direct["n"] > 1000 and int(u.outcome.sum()) == direct["low"] > 100
    assert (u.cutoff >= u.start).all()


def test_detractors_trace_back_to_slow_order_handling_not_to_the_fraud_check(company):
    e = jm.explain(company.store, DETRACTOR, process="order")
    top = e.top(1)[0]
    assert top["significant"] and top["kind"] == "wait" and top["risk_difference"] > 0.1
    assert top["activity"] in {"picking started", "shipped", "delivered"}
    fraud = [r for r in e.findings.to_pylist() if r["activity"] == "fraud check completed" and r["kind"] == "wait"]
    assert fraud and not any(r["significant"] for r in fraud)  # the planted null effect
    assert "rated score <= 6 in 'survey answered' (survey = nps)" in e.sentences()[0]


def test_faster_picking_lowers_the_detractor_share(company):
    m = jm.impact(company.store, DETRACTOR, "2026-02-19", trend=False, bootstrap=200)
    assert m.high < 0 and m.after_mean < m.before_mean
    assert m.before_units + m.after_units == evaluate(company.store, DETRACTOR).codes.size


@pytest.mark.parametrize("kwargs, field", [
    ({"at_most": None}, "at_most"), ({"at_most": 6, "at_least": 9}, "at_most"), ({"at_most": "6"}, "at_most"),
    ({"at_most": 6, "where": {"survey": 1}}, "where"), ({"at_most": 6, "attribute": ""}, "attribute"),
])
def test_bad_parameters_name_the_field(kwargs, field):
    args = {"object_type": "order", "event": "survey answered", "attribute": "score"} | kwargs
    with pytest.raises(ConfigError) as exc:
        jm.scored(**args)
    assert exc.value.context["field"] == field

"""jm.explain gives identical findings on DuckDB and on Spark (the Parquet export)."""

from __future__ import annotations

import pytest

import journeymine as jm

OUTCOMES = {
    "contact after order": (jm.followed_by("order", "order placed", "service contact", "7d"),
                            {"process": "order", "attributes": ["shipping"], "confounders": ["customer.segment"]}),
    "payment drop": (jm.dropped_after(["checkout payment", "payment verification completed", "order placed"], 2),
                     {"process": "payment", "thresholds": ["2m"], "attributes": ["method"]}),
}


@pytest.mark.parametrize("name", sorted(OUTCOMES))
def test_explain_is_identical(sim_backend, sim_reference, name):
    outcome, options = OUTCOMES[name]
    got = jm.explain(sim_backend, outcome, min_support=5, **options)
    expected = jm.explain(sim_reference, outcome, min_support=5, **options)
    assert expected.units > 0 and expected.tested > 0
    assert got.to_dict() == expected.to_dict()
    assert got.findings.equals(expected.findings) and got.dose_response.equals(expected.dose_response)


def test_impact_is_identical(sim_backend, sim_reference):
    kpis = [jm.followed_by("order", "order placed", "service contact", "7d"),
            jm.duration_between("order", "order placed", "delivered")]
    for kpi in kpis:
        got, expected = (jm.impact(s, kpi, "2026-01-20", bootstrap=200) for s in (sim_backend, sim_reference))
        assert expected.before_units > 0 and expected.after_units > 0
        assert got.to_dict() == expected.to_dict() and got.periods.equals(expected.periods)


def test_what_if_is_identical(sim_backend, sim_reference):
    outcome = jm.followed_by("order", "order placed", "service contact", "7d")
    got, expected = (jm.what_if(s, outcome, "picking started", factor=0.5, bins=4, until="2026-01-25")
                     for s in (sim_backend, sim_reference))
    assert expected.units > 0
    assert got.to_dict() == expected.to_dict() and got.dose_response.equals(expected.dose_response)


def test_impact_did_is_identical(sim_backend, sim_reference):
    kpis = [jm.followed_by("order", "order placed", "service contact", "7d"),
            jm.duration_between("order", "order placed", "delivered")]
    for kpi in kpis:
        for trend in (True, False):
            got, expected = (jm.impact(s, kpi, "2026-01-20", compare={"warehouse": ["Hamburg", "Leipzig"]},
                                       trend=trend, bootstrap=200) for s in (sim_backend, sim_reference))
            assert expected.before_units > 0 and expected.comparison_after_units > 0
            assert expected.method.startswith("difference-in-differences")
            assert got.to_dict() == expected.to_dict() and got.periods.equals(expected.periods)


def test_scored_outcome_is_identical(sim_backend, sim_reference):
    outcome = jm.scored("order", "survey answered", "score", at_most=6, where={"survey": "nps"})
    got, expected = (jm.explain(s, outcome, process="order", min_support=5) for s in (sim_backend, sim_reference))
    assert expected.units > 0 and expected.outcomes > 0 and expected.tested > 0
    assert got.to_dict() == expected.to_dict() and got.findings.equals(expected.findings)

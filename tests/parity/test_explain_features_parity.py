"""jm.explain's violation and variant features are identical on DuckDB and on Spark (the Parquet export)."""

from __future__ import annotations

import dataclasses

import journeymine as jm
from journeymine.combined._explain import explain
from journeymine.processes._model import Rule


def test_violation_and_variant_findings_are_identical(sim_backend, sim_reference):
    model = jm.derive_model(sim_reference, "order", top_variants=3)
    model = dataclasses.replace(model, rules=(Rule("response", "order placed", "shipped", "2d"),
                                              Rule("at_most_once", "service contact")))
    outcome = jm.followed_by("order", "order placed", "service contact", "7d")
    got, expected = (explain(s, outcome, process="order", model=model, top_variants=5, min_support=5)
                     for s in (sim_backend, sim_reference))
    kinds = set(expected.findings.column("kind").to_pylist())
    assert {"violation", "variant"} <= kinds
    assert got.to_dict() == expected.to_dict() and got.findings.equals(expected.findings)

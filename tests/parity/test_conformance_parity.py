"""Conformance checking gives identical results on DuckDB and on Spark (the Parquet export)."""

from __future__ import annotations

import journeymine as jm
from journeymine.processes._conformance import check_conformance
from journeymine.processes._model import derive_model, read_model


def test_conformance_is_identical(sim_backend, sim_reference):
    model = read_model("docs/examples/order-model.toml")
    got, expected = check_conformance(sim_backend, model, period="day"), check_conformance(sim_reference, model, period="day")
    assert got.to_dict() == expected.to_dict() and got.table.equals(expected.table)
    assert got.violations.equals(expected.violations) and got.over_time.equals(expected.over_time)
    assert 0 < expected.fitting < expected.cases == jm.discover_dfg(sim_reference, "order").cases
    derived = derive_model(sim_backend, "order", top_variants=3)
    assert derived == derive_model(sim_reference, "order", top_variants=3)
    assert check_conformance(sim_backend, derived).to_dict() == check_conformance(sim_reference, derived).to_dict()

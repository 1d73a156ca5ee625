"""Process analytics give identical results on DuckDB and on Spark (the Parquet export)."""

from __future__ import annotations

import pytest

import journeymine as jm


@pytest.mark.parametrize("object_type", ["order", "ticket"])
def test_dfg_variants_and_durations_are_identical(sim_backend, sim_reference, object_type):
    got, expected = jm.discover_dfg(sim_backend, object_type), jm.discover_dfg(sim_reference, object_type)
    assert got.to_dict() == expected.to_dict() and got.edges.equals(expected.edges)
    raw = sim_reference.query("""SELECT count(*) AS n FROM event e JOIN event_object eo ON eo.event_code = e.code
                                 JOIN object o ON o.code = eo.object_code WHERE o.type = $t""",
                              {"t": object_type}).column(0)[0].as_py()
    assert expected.events == raw and sum(expected.start.values()) == expected.cases > 0
    assert sum(e["count"] for e in expected.to_dict()["edges"]) == expected.events - expected.cases
    v_got, v_exp = jm.variants(sim_backend, object_type), jm.variants(sim_reference, object_type)
    assert v_got.to_dict() == v_exp.to_dict() and v_exp.total_cases == expected.cases
    d_got, d_exp = jm.case_durations(sim_backend, object_type), jm.case_durations(sim_reference, object_type)
    assert d_got.to_dict() == d_exp.to_dict() and d_got.table.equals(d_exp.table)

"""jm.journey_map gives identical maps on DuckDB and on Spark (the Parquet export)."""

from __future__ import annotations

import pytest

from journeymine.combined._journey_map import journey_map


@pytest.mark.parametrize("kw", [
    {},
    {"lanes": "segment", "start": "2026-01-08", "end": "2026-01-28"},
    {"stages": {"browse": ["page viewed", "search"], "pay": ["checkout payment"],
                "again": {"repeat": ["order placed"]}}, "lanes": "region", "processes": ["payment", "order"]},
], ids=["default", "lanes-time-frame", "custom"])
def test_journey_map_is_identical(sim_backend, sim_reference, kw):
    got, expected = journey_map(sim_backend, **kw), journey_map(sim_reference, **kw)
    assert expected.actors > 0 and expected.process_steps.num_rows > 0
    assert sum(r["answers"] for r in expected.stages.to_pylist()) > 0 or "stages" in kw
    assert got.to_dict() == expected.to_dict()
    for name in ("stages", "touchpoints", "process_steps"):
        assert getattr(got, name).equals(getattr(expected, name)), name

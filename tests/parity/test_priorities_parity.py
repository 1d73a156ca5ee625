"""jm.process_costs (and the process side of jm.priorities) give identical results on DuckDB and on Spark."""

from __future__ import annotations

import pytest

import journeymine as jm
from journeymine.processes._costs import process_costs


@pytest.mark.parametrize("object_type, contact", [("order", "service contact"), ("ticket", "service contact"),
                                                   ("payment", "payment verification started")])
def test_process_costs_are_identical(sim_backend, sim_reference, object_type, contact):
    got, expected = (process_costs(s, object_type, contact=contact, period="week", at="2026-01-20")
                     for s in (sim_backend, sim_reference))
    assert expected.cases > 0 and expected.touches > 0
    assert got.to_dict() == expected.to_dict()
    assert got.per_case.equals(expected.per_case) and got.periods.equals(expected.periods)
    assert got.comparison.equals(expected.comparison)


def test_process_costs_of_a_filtered_view_are_identical(sim_backend, sim_reference):
    def costs(store):
        view = jm.process_view(store, "order", start="2026-01-10", time_rule="started",
                               case_attributes={"shipping": ["standard", "express"]})
        return process_costs(view, period="month")

    got, expected = costs(sim_backend), costs(sim_reference)
    assert 0 < expected.cases and expected.contacts > 0
    assert got.to_dict() == expected.to_dict() and got.per_case.equals(expected.per_case)


def test_priorities_are_identical(sim_backend, sim_reference):
    from journeymine.combined._priorities import priorities

    got, expected = (priorities(s, levers=2, min_support=5, bootstrap=100) for s in (sim_backend, sim_reference))
    assert expected.items.num_rows > 2 and "pain" in expected.items.column("kind").to_pylist()
    assert got.to_dict() == expected.to_dict() and got.items.equals(expected.items)

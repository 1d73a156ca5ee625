"""Simulated companies shared by the journey-analytics tests.

``company`` is the simulator's test company (20,000 people over 90 days, seed 11) with its ground
truth: the planted effects are checked against it. ``small`` is a quick one for mechanics.
"""

from __future__ import annotations

import pytest

import journeymine as jm


@pytest.fixture(scope="session")
def company(tmp_path_factory) -> jm.Simulation:
    store = jm.connect(tmp_path_factory.mktemp("company") / "company.duckdb")
    sim = jm.simulate(customers=20_000, days=90, seed=11, store=store)
    yield sim
    store.close()


@pytest.fixture(scope="session")
def small() -> jm.Simulation:
    sim = jm.simulate(customers=1_000, days=30, seed=4)
    yield sim
    sim.store.close()

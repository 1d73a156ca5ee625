"""Shared fixtures: the bundled data folder, a fresh DuckDB store per test, and simulated companies.

``company`` is the simulator's test company (20,000 people over 90 days, seed 11) with its ground
truth: the planted effects of the journey and process analyses are checked against it (built once per
test session, only when a test asks for it). ``small`` is a quick one for mechanics.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import journeymine as jm

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture()
def store(tmp_path):
    """A store in a real DuckDB file under the test's temporary folder."""
    with jm.connect(tmp_path / "store.duckdb") as s:
        yield s


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

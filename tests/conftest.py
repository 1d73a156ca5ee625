"""Shared fixtures: the bundled data folder and a fresh DuckDB store per test."""

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

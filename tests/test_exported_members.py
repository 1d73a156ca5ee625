"""The facade: ``__all__`` lists exactly the public names, sorted (httpx's habit)."""

from __future__ import annotations

import journeymine as jm


def test_all_is_sorted_and_complete():
    public = {n for n in dir(jm) if not n.startswith("_")} - {"annotations", "logging"}
    public -= {"cli", "combined", "export", "ingest", "journeys", "processes", "report", "results", "store",
               "timespan"}  # packages and modules, not API
    assert jm.__all__ == sorted(jm.__all__)
    assert set(jm.__all__) - {"__version__"} == public


def test_every_public_name_has_a_docstring():
    for name in jm.__all__:
        obj = getattr(jm, name)
        if callable(obj):
            assert obj.__doc__, f"jm.{name} has no docstring"

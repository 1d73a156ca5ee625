"""Funnels and derived sessions give identical results on DuckDB and on Spark (the Parquet export)."""

from __future__ import annotations

import pytest

import journeymine as jm

CHECKOUT = ["checkout address", "checkout delivery", "checkout payment", "order placed"]
BROWSE = ["page viewed", "added to cart", "checkout address", "order placed"]


@pytest.mark.parametrize("kw", [
    {"steps": CHECKOUT, "window": "1h", "by": "object:session", "breakdown": "channel"},
    {"steps": BROWSE, "window": "7d", "entry": "any", "breakdown": "region", "breakdown_from": "actor"},
    {"steps": BROWSE, "window": "2h", "by": "session", "attribution": "last_touch", "breakdown": "channel"},
    {"steps": ["page viewed", "search"], "window": "1h", "order": "strict", "by": "session"},
    {"steps": BROWSE[::-1], "window": "3d", "order": "any_order"},
    {"steps": [{"event": "page viewed", "where": {"page": ["/sale", "/c/tents"]}}, "order placed"], "window": "7d",
     "exclusions": ["service contact"], "start": "2026-01-10", "end": "2026-01-25"},
], ids=["sessions-objects", "any-actor-breakdown", "derived-sessions", "strict", "any-order", "filters"])
def test_funnel_is_identical_on_both_backends(sim_backend, sim_reference, kw):
    kw = dict(kw)
    steps = kw.pop("steps")
    got, expected = jm.funnel(sim_backend, steps, **kw), jm.funnel(sim_reference, steps, **kw)
    assert got.to_dict() == expected.to_dict()
    assert got.actors.equals(expected.actors)
    assert expected.steps[0].count > expected.steps[-1].count > 0 or kw.get("order") == "strict"


def test_sessions_are_identical_on_both_backends(sim_backend, sim_reference):
    got, expected = jm.sessions(sim_backend), jm.sessions(sim_reference)
    assert got.to_dict() == expected.to_dict() and got.to_arrow().equals(expected.to_arrow())
    stored = sim_reference.query("SELECT count(*) AS n FROM object WHERE type = 'session'").column(0)[0].as_py()
    assert 0.5 * stored < expected.sessions < 1.5 * stored  # derived sessions track the stored ones

"""The object-centric DFG and the object summary are identical on DuckDB and on Spark (the Parquet export)."""

from __future__ import annotations

import pytest

from journeymine.processes._objects import summarize_objects
from journeymine.processes._ocdfg import discover_ocdfg

CASES = [
    {},
    {"object_types": ["order", "item", "payment", "customer"]},
    {"object_types": "session", "start": "2026-01-10", "end": "2026-01-20"},
]
IDS = ["all-types", "order-item-payment-customer", "sessions-in-a-window"]


@pytest.mark.parametrize("kw", CASES, ids=IDS)
def test_ocdfg_is_identical_on_both_backends(sim_backend, sim_reference, kw):
    got, expected = discover_ocdfg(sim_backend, **kw), discover_ocdfg(sim_reference, **kw)
    assert got.to_dict() == expected.to_dict()
    assert got.edges.equals(expected.edges) and got.activities.equals(expected.activities)
    assert expected.edges.num_rows > 0
    for object_type in expected.object_types:  # n events in an object's lifecycle make n - 1 steps
        rows = [r for r in expected.edges.to_pylist() if r["object_type"] == object_type]
        links = sum(r["links"] for r in expected.activities.to_pylist() if r["object_type"] == object_type)
        assert sum(r["occurrences"] for r in rows) == links - expected.objects[object_type]
        assert all(r["objects"] <= r["occurrences"] and r["count"] <= r["occurrences"] for r in rows)


@pytest.mark.parametrize("kw", CASES, ids=IDS)
def test_object_summary_is_identical_on_both_backends(sim_backend, sim_reference, kw):
    got, expected = summarize_objects(sim_backend, **kw), summarize_objects(sim_reference, **kw)
    assert got.to_dict() == expected.to_dict()
    assert got.types.equals(expected.types) and got.links.equals(expected.links)
    rows = expected.activities.to_pylist()
    assert any(r["divergent_objects"] for r in rows) or kw.get("object_types") == "session"
    assert all(r["divergent_objects"] <= r["repeated_objects"] <= r["objects"] for r in rows)


def test_the_simulated_company_has_links_both_ways(sim_reference):
    s = summarize_objects(sim_reference, ["order", "item"])
    links = {(r["source_type"], r["target_type"]): r for r in s.links.to_pylist()}
    assert links[("order", "item")]["object_pairs"] == links[("item", "order")]["object_pairs"] > 0
    assert links[("order", "item")]["o2o_links"] > 0 and links[("order", "customer")]["o2o_links"] > 0
    conv = {r["activity"]: r["convergent_events"] for r in s.activities.to_pylist() if r["object_type"] == "item"}
    assert conv["order placed"] > 0  # an order of several items is placed by one event

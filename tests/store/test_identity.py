"""Identity stitching: anonymous journeys merge into a known customer, with history, idempotently."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import journeymine as jm


@pytest.fixture()
def shop(store):
    web = pd.DataFrame({
        "visitor": ["v1", "v1", "v2", None],
        "customer": [None, None, None, "c1"],
        "event": ["view", "add_to_cart", "view", "login"],
        "ts": ["2024-05-01T10:00:00", "2024-05-01T10:01:00", "2024-05-02T09:00:00", "2024-05-01T10:02:00"],
    })
    jm.read_frame(web, store, activity_col="event", timestamp_col="ts",
                  objects={"visitor": "visitor", "customer": "customer"})
    return store


def test_identify_merges_anonymous_journey_into_customer(shop):
    assert shop.journey("c1")["activity"].to_pylist() == ["login"]
    assert shop.identify("v1", "c1") is True
    assert shop.journey("c1")["activity"].to_pylist() == ["view", "add_to_cart", "login"]
    assert shop.journey_view("customer")["object_id"].unique().to_pylist() == ["c1"]
    assert "v1" not in shop.process_view("visitor")["case_id"].to_pylist()


def test_identify_is_idempotent_and_keeps_history(shop):
    at = dt.datetime(2024, 5, 1, 10, 2, tzinfo=dt.UTC)
    assert shop.identify("v1", "c1", at=at) is True
    assert shop.identify("v1", "c1") is False
    history = shop.query("SELECT * FROM alias").to_pylist()
    assert len(history) == 1 and history[0]["merged_at"] == dt.datetime(2024, 5, 1, 10, 2)
    assert shop.info().aliases == 1


def test_cross_device_merges_chain(shop):
    shop.identify("v2", "c2")
    shop.identify("c2", "c1", anonymous_type="customer")
    assert shop.identify_many([("v1", "c1")]) == 1
    assert shop.journey("c1")["activity"].to_pylist() == ["view", "add_to_cart", "login", "view"]


def test_conflicting_or_cyclic_merges_are_refused(shop):
    shop.identify("v1", "c1")
    with pytest.raises(jm.errors.IdentityConflictError, match="already merged"):
        shop.identify("v1", "c9")
    shop.identify("c1", "c2", anonymous_type="customer")
    with pytest.raises(jm.errors.IdentityConflictError, match="cycle"):
        shop.identify("c2", "c1", anonymous_type="customer")


def test_identify_before_events_arrive(store):
    store.identify("v7", "c7")
    web = pd.DataFrame({"visitor": ["v7"], "event": ["view"], "ts": ["2024-05-01T10:00:00"]})
    jm.read_frame(web, store, activity_col="event", timestamp_col="ts", objects={"visitor": "visitor"})
    assert store.journey("c7")["activity"].to_pylist() == ["view"]

"""jm.discover_dfg, jm.variants, jm.case_durations on hand-made logs with known answers."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import journeymine as jm
from journeymine.errors import ConfigError
from journeymine.processes import _cases

T0 = dt.datetime(2024, 1, 1)
LOG = [  # case, activity, seconds after T0 (load order breaks the tie in case c3)
    ("c1", "a", 0), ("c1", "b", 10), ("c1", "c", 30),
    ("c2", "a", 0), ("c2", "b", 20), ("c2", "b", 25), ("c2", "c", 45),
    ("c3", "a", 5), ("c3", "c", 5), ("c3", "b", 9),
    ("c4", "a", 0), ("c4", "b", 40), ("c4", "c", 60),
]


def log_store(rows=LOG) -> jm.Store:
    store = jm.connect(":memory:")
    df = pd.DataFrame({"case": [r[0] for r in rows], "activity": [r[1] for r in rows],
                       "ts": [T0 + dt.timedelta(seconds=r[2]) for r in rows]})
    jm.read_frame(df, store, activity_col="activity", timestamp_col="ts", case_col="case")
    return store


def test_edges_counts_cases_and_waiting_times():
    d = jm.discover_dfg(log_store())
    edges = {(e["source"], e["target"]): e for e in d.edges.to_pylist()}
    assert {k: e["count"] for k, e in edges.items()} == {("a", "b"): 3, ("b", "c"): 3, ("b", "b"): 1,
                                                        ("a", "c"): 1, ("c", "b"): 1}
    ab = edges[("a", "b")]
    assert ab["cases"] == 3 and ab["mean_seconds"] == pytest.approx(70 / 3) and ab["median_seconds"] == 20.0
    assert ab["p90_seconds"] == pytest.approx(36.0)  # linear between 20 and 40
    assert edges[("a", "c")]["median_seconds"] == 0.0  # the tie, in load order
    assert d.start == {"a": 4} and d.end == {"c": 3, "b": 1}
    assert d.activities == {"b": 5, "c": 4, "a": 4} and (d.cases, d.events) == (4, 13)
    assert d.edges.column("count").to_pylist() == sorted(d.edges.column("count").to_pylist(), reverse=True)
    assert d.to_dict()["edges"][0] == {k: ab[k] for k in ("source", "target", "count", "cases", "mean_seconds",
                                                           "median_seconds", "p90_seconds")}


def test_keep_activities_projects_the_others_out_and_keep_edges_cuts():
    d = jm.discover_dfg(log_store(), keep_activities=2)  # b (5) and then a/c (4 each): a by name
    assert {(e["source"], e["target"]): e["count"] for e in d.edges.to_pylist()} == {("a", "b"): 4, ("b", "b"): 1}
    assert jm.discover_dfg(log_store(), keep_edges=2).edges.num_rows == 2
    with pytest.raises(ConfigError, match="keep_edges"):
        jm.discover_dfg(log_store(), keep_edges=0)


def test_variants_and_shares():
    v = jm.variants(log_store())
    assert v.counts() == {("a", "b", "c"): 2, ("a", "b", "b", "c"): 1, ("a", "c", "b"): 1}
    first = v.table.to_pylist()[0]
    assert first["share"] == 0.5 and first["mean_seconds"] == 45.0  # c1 30 s, c4 60 s
    assert (v.total_cases, v.total_variants) == (4, 3)
    assert jm.variants(log_store(), top=1).table.num_rows == 1
    assert jm.variants(log_store(), coverage=0.75).table.num_rows == 2
    with pytest.raises(ConfigError, match="coverage"):
        jm.variants(log_store(), coverage=1.5)


def test_a_hash_collision_never_merges_different_variants(monkeypatch):
    zeros = lambda c: (_cases.np.zeros(c.n_cases, _cases.np.uint64),) * 2  # noqa: E731  (every case collides)
    monkeypatch.setattr(_cases, "_hashes", zeros)
    assert jm.variants(log_store()).counts() == {("a", "b", "c"): 2, ("a", "b", "b", "c"): 1, ("a", "c", "b"): 1}


def test_case_durations():
    d = jm.case_durations(log_store())
    assert d.table.column("case_id").to_pylist() == ["c1", "c2", "c3", "c4"]
    assert d.table.column("duration_seconds").to_pylist() == [30.0, 45.0, 4.0, 60.0]
    assert d.median_seconds == 37.5 and d.cases == 4


def test_an_unknown_type_has_no_cases():
    d = jm.discover_dfg(log_store(), "order")
    assert (d.cases, d.edges.num_rows, d.start) == (0, 0, {})
    assert jm.variants(log_store(), "order").total_cases == 0
    with pytest.raises(ConfigError, match="object_type"):
        jm.discover_dfg(log_store(), "")

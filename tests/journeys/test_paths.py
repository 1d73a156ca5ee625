"""jm.paths and jm.step_matrix: hand-checked tiny stores, a plain-Python re-computation on a simulated
company, and the result forms."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

import numpy as np
import pandas as pd
import pytest

import journeymine as jm
from journeymine.errors import ConfigError
from journeymine.journeys._paths import paths, step_matrix

T0 = dt.datetime(2024, 1, 1)

# (customer, event, seconds) in load order; u5's "d" has the same time as its "a" but was loaded after it
ROWS = [("u1", "a", 0), ("u1", "b", 1), ("u1", "c", 2), ("u1", "b", 3),
        ("u2", "x", 0), ("u2", "a", 1), ("u2", "b", 2),
        ("u3", "a", 0), ("u3", "a", 1), ("u3", "c", 2),
        ("u4", "x", 0), ("u4", "y", 1),
        ("u5", "a", 0), ("u5", "d", 0)]


def store_of(rows, attrs: dict[str, list] | None = None) -> jm.Store:
    store = jm.connect(":memory:")
    df = pd.DataFrame({"customer": [r[0] for r in rows], "activity": [r[1] for r in rows],
                       "ts": [T0 + dt.timedelta(seconds=r[2]) for r in rows], **(attrs or {})})
    jm.read_frame(df, store, activity_col="activity", timestamp_col="ts", customer_col="customer",
                  attribute_cols=list(attrs or {}))
    return store


@pytest.fixture(scope="module")
def tiny() -> jm.Store:
    store = store_of(ROWS)
    yield store
    store.close()


def triples(table, *cols):
    return sorted(tuple(r[c] for c in cols) for r in table.to_pylist())


def test_forward_nodes_links_and_paths_by_hand(tiny):
    r = paths(tiny, "a", steps=2, top=None)
    assert (r.actors_total, r.actors_seen, r.paths_distinct) == (4, 5, 4)
    assert r.nodes.to_pylist()[0] == {"node": 0, "step": 0, "event": "a", "actors": 4, "share": 1.0}
    assert [(n["step"], n["event"], n["actors"]) for n in r.nodes.to_pylist()] == [
        (0, "a", 4), (1, "b", 2), (1, "a", 1), (1, "d", 1), (2, "(end)", 2), (2, "c", 2)]
    assert triples(r.links, "step", "source", "target", "actors") == [
        (0, "a", "a", 1), (0, "a", "b", 2), (0, "a", "d", 1),
        (1, "a", "c", 1), (1, "b", "(end)", 1), (1, "b", "c", 1), (1, "d", "(end)", 1)]
    nodes = {n["node"]: (n["step"], n["event"]) for n in r.nodes.to_pylist()}
    for link in r.links.to_pylist():  # node ids point at the right nodes
        assert nodes[link["source_node"]] == (link["step"], link["source"])
        assert nodes[link["target_node"]] == (link["step"] + 1, link["target"])
    # ties in count rank by the labels step by step; "(end)" sorts before letters
    assert r.paths.to_pylist() == [
        {"path": p, "length": n, "actors": 1, "share": 0.25}
        for p, n in [("a → a → c", 2), ("a → b → (end)", 1), ("a → b → c", 2), ("a → d → (end)", 1)]]
    assert r.to_arrow() is r.links


def test_top_folds_the_rest_into_other_per_step(tiny):
    r = paths(tiny, "a", steps=2, top=1)
    assert [(n["step"], n["event"], n["actors"]) for n in r.nodes.to_pylist()] == [
        (0, "a", 4), (1, "b", 2), (1, "other", 2), (2, "(end)", 2), (2, "c", 2)]
    assert triples(r.links, "step", "source", "target", "actors") == [
        (0, "a", "b", 2), (0, "a", "other", 2),
        (1, "b", "(end)", 1), (1, "b", "c", 1), (1, "other", "(end)", 1), (1, "other", "c", 1)]
    assert sorted(r.at(1, "other").ids(tiny)) == ["u3", "u5"]
    assert len(r.at(0, "a")) == 4 and len(r.at(2, "zzz")) == 0


def test_backward_occurrence_exclude_and_start(tiny):
    r = paths(tiny, "c", direction="backward", steps=2, top=None)
    assert [p["path"] for p in r.paths.to_pylist()] == ["a → a → c", "a → b → c"]
    r = paths(tiny, "b", direction="backward", steps=3, occurrence="last", top=None)
    assert [p["path"] for p in r.paths.to_pylist()] == ["(start) → x → a → b", "a → b → c → b"]
    assert triples(r.links, "step", "source", "target") == [
        (-3, "(start)", "x"), (-3, "a", "b"), (-2, "b", "c"), (-2, "x", "a"), (-1, "a", "b"), (-1, "c", "b")]
    assert {n["step"] for n in r.nodes.to_pylist()} == {-3, -2, -1, 0}
    assert r.actors.column("step_-3").to_pylist() == ["a", "(start)"]
    r = paths(tiny, "b", direction="backward", steps=3, exclude=["x"], top=None)
    assert [(p["path"], p["actors"], p["length"]) for p in r.paths.to_pylist()] == [("(start) → a → b", 2, 1)]


def test_collapse_ties_and_where_anchor():
    store = store_of(ROWS)
    assert [p["path"] for p in paths(store, "a", steps=1, collapse_repeats=True, top=None).paths.to_pylist()] == [
        "a → b", "a → c", "a → d"]
    # the tie: u5's d has a's time but was loaded after it, so it is after a and a is before it
    assert paths(store, "d", direction="backward", steps=1).paths.column("path").to_pylist() == ["a → d"]
    store = store_of([("u", "page", 0), ("u", "page", 1), ("u", "buy", 2)], {"url": ["/home", "/cart", None]})
    r = paths(store, {"event": "page", "where": {"url": "/cart"}}, steps=1)
    assert r.paths.column("path").to_pylist() == ["page [url=/cart] → buy"]


def test_step_matrix_by_hand(tiny):
    sm = step_matrix(tiny, steps=4)
    assert sm.actors_total == 5 and sm.columns == (1, 2, 3, 4)
    assert sm.events == ("a", "b", "c", "x", "d", "y", "(end)")
    assert sm.counts.tolist() == [[3, 2, 0, 0], [0, 1, 1, 1], [0, 0, 2, 0], [2, 0, 0, 0], [0, 1, 0, 0],
                                  [0, 1, 0, 0], [0, 0, 2, 4]]
    np.testing.assert_allclose(sm.shares.sum(axis=0), 1.0)
    assert sm.to_arrow().column("1").to_pylist() == [0.6, 0.0, 0.0, 0.4, 0.0, 0.0, 0.0]
    assert sm.to_arrow("actors").column("4").to_pylist()[-1] == 4
    folded = step_matrix(tiny, steps=4, top=2)  # largest counts: a 3, then c and x 2 (c wins by name)
    assert folded.events == ("a", "c", "other", "(end)")
    assert folded.counts[2].tolist() == [2, 3, 1, 1]


def test_step_matrix_after_an_anchor_with_steps_before(tiny):
    sm = step_matrix(tiny, steps=2, anchor="a", before=1)
    assert sm.columns == (-1, 1, 2) and sm.actors_total == 4
    rows = dict(zip(sm.events, sm.counts.tolist()))
    assert rows == {"b": [0, 2, 0], "c": [0, 0, 2], "a": [0, 1, 0], "d": [0, 1, 0], "x": [1, 0, 0],
                    "(start)": [3, 0, 0], "(end)": [0, 0, 2]}
    assert sm.events[-2:] == ("(start)", "(end)")
    assert json.loads(json.dumps(sm.to_dict()))["rows"][-1]["actors"] == [0, 0, 2]


def test_bad_parameters_name_the_field(tiny):
    for kwargs, field in [({"direction": "sideways"}, "direction"), ({"steps": 0}, "steps"), ({"top": 0}, "top"),
                          ({"occurrence": "every"}, "occurrence"), ({"exclude": ["a"]}, "exclude"),
                          ({"collapse_repeats": "yes"}, "collapse_repeats"), ({"by": ""}, "by")]:
        with pytest.raises(ConfigError) as e:
            paths(tiny, "a", **kwargs)
        assert e.value.context["field"] == field
    with pytest.raises(ConfigError, match="before"):
        step_matrix(tiny, before=2)
    with pytest.raises(ConfigError, match="values"):
        step_matrix(tiny).to_arrow("percent")
    with pytest.raises(ConfigError, match="step"):
        paths(tiny, "a", steps=2).at(3, "b")
    empty = paths(tiny, "nope")
    assert empty.actors_total == 0 and empty.nodes.num_rows == 0 and empty.paths.num_rows == 0


# -- an independent plain-Python re-computation on the simulated company ----------------------------------
def journeys(store: jm.Store) -> dict[str, list[str]]:
    view = store.journey_view("customer").to_pandas()
    return {k: list(g["activity"]) for k, g in view.groupby("object_id", sort=False)}


def reference_paths(seqs, anchor, steps, direction, top, occurrence="first", collapse=False, exclude=()):
    """Per actor the list of labels in time order (anchor included), then folding and counting."""
    per_actor = []
    for events in seqs.values():
        ev = [e for e in events if e not in exclude]
        if collapse:
            ev = [e for i, e in enumerate(ev) if i == 0 or ev[i - 1] != e]
        if anchor not in ev:
            continue
        i = ev.index(anchor) if occurrence == "first" else len(ev) - 1 - ev[::-1].index(anchor)
        if direction == "forward":
            after = ev[i + 1:i + 1 + steps]
            steps_ = after + (["(end)"] if len(after) < steps else [])
        else:
            before = ev[max(0, i - steps):i][::-1]
            steps_ = before + (["(start)"] if len(before) < steps else [])
        per_actor.append(steps_)  # step 1, 2, ... away from the anchor
    for k in range(steps):
        counts = Counter(p[k] for p in per_actor if len(p) > k and p[k] not in ("(end)", "(start)"))
        kept = {e for e, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]} if top else set(counts)
        for p in per_actor:
            if len(p) > k and p[k] not in kept and p[k] not in ("(end)", "(start)"):
                p[k] = "other"
    sign = 1 if direction == "forward" else -1
    nodes, links, full = Counter(), Counter(), Counter()
    for p in per_actor:
        labelled = [(0, anchor)] + [(sign * (k + 1), e) for k, e in enumerate(p)]
        nodes.update(labelled)
        labelled.sort()
        links.update((a[0], a[1], b[1]) for a, b in zip(labelled, labelled[1:]))
        full[" → ".join(e for _, e in labelled)] += 1
    return len(per_actor), nodes, links, full


@pytest.mark.parametrize("kwargs", [
    {"anchor": "added to cart", "steps": 4, "direction": "forward", "top": 4},
    {"anchor": "order placed", "steps": 3, "direction": "backward", "top": 3, "occurrence": "last"},
    {"anchor": "page viewed", "steps": 5, "direction": "forward", "top": None, "collapse": True,
     "exclude": ("email sent", "email opened")},
])
def test_paths_match_a_plain_python_recomputation(small, kwargs):
    seqs = journeys(small.store)
    n, nodes, links, full = reference_paths(seqs, **kwargs)
    r = paths(small.store, kwargs["anchor"], steps=kwargs["steps"], direction=kwargs["direction"],
              top=kwargs["top"], occurrence=kwargs.get("occurrence", "first"),
              collapse_repeats=kwargs.get("collapse", False), exclude=kwargs.get("exclude", ()), max_paths=None)
    seen = sum(any(e not in kwargs.get("exclude", ()) for e in ev) for ev in seqs.values())
    assert n > 50 and r.actors_total == n and r.actors_seen == seen
    assert Counter({(x["step"], x["event"]): x["actors"] for x in r.nodes.to_pylist()}) == nodes
    assert Counter({(x["step"], x["source"], x["target"]): x["actors"] for x in r.links.to_pylist()}) == links
    assert {x["path"]: x["actors"] for x in r.paths.to_pylist()} == dict(full)
    counts = r.paths.column("actors").to_pylist()
    assert counts == sorted(counts, reverse=True) and r.paths_distinct == len(full)


def test_step_matrix_matches_a_plain_python_recomputation(small):
    seqs = journeys(small.store)
    sm = step_matrix(small.store, steps=6)
    got = {(e, c): int(n) for i, e in enumerate(sm.events) for c, n in zip(sm.columns, sm.counts[i]) if n}
    want = Counter((ev[k] if k < len(ev) else "(end)", k + 1) for ev in seqs.values() for k in range(6))
    assert sm.actors_total == len(seqs) and got == dict(want)
    anchored = step_matrix(small.store, steps=3, anchor="added to cart", before=2, occurrence="last")
    want = Counter()
    for ev in seqs.values():
        if "added to cart" in ev:
            i = len(ev) - 1 - ev[::-1].index("added to cart")
            for k in (-2, -1, 1, 2, 3):
                j = i + k
                want[(ev[j] if 0 <= j < len(ev) else "(start)" if k < 0 else "(end)", k)] += 1
    got = {(e, c): int(n) for i, e in enumerate(anchored.events) for c, n in zip(anchored.columns, anchored.counts[i])
           if n}
    assert got == dict(want)


def test_sessions_and_segments_restrict_the_actors(small):
    by_session = paths(small.store, "checkout payment", by="session", steps=2)
    assert by_session.by == "session" and by_session.actors.column_names[:2] == ["object_code", "session_start"]
    placed = by_session.at(1, "payment verification started")
    again = paths(small.store, "checkout payment", by="session", steps=2, actors=placed)
    assert again.actors_total == len(placed) > 0
    assert again.nodes.to_pylist()[1]["event"] == "payment verification started"
    assert json.loads(by_session.to_json())["paths"][0]["actors"] == by_session.paths.column("actors")[0].as_py()

"""jm.discover_ocdfg and jm.summarize_objects: pm4py on the OCEL 2.0 Order Management log, and a hand-made log.

On the Order Management log (read once per module by journeymine and by pm4py 2.7.23's
``read_ocel2_xml``) the object-centric DFG equals ``pm4py.discover_ocdfg``: per object type and edge,
``count`` = ``event_couples``, ``objects`` = ``unique_objects``, ``occurrences`` = ``total_objects``,
the mean and median waiting time over the event couples, start/end activities (objects) and the
activities per type (events, unique objects, total objects). Convergence/divergence statistics equal
pm4py's ``objects_per_type_per_activity`` / ``events_per_type_per_activity`` and its
``convergence_divergence_diagnostics`` flags, computed on pm4py's relations *without duplicates*: the
log links 78 'send package' events twice to the same employee (as forwarder and as shipper); pm4py's
DFG drops such duplicates, its diagnostics count them twice, the store keeps one link per (event,
object). Divergent objects and the type links are checked against a brute-force count in plain Python
over pm4py's relations.

The hand-made log is small enough to work every number out by hand (see ``hand_made``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict

import numpy as np
import pm4py  # test-only dependency
import pyarrow as pa
import pytest
from pm4py.objects.ocel.util import convergence_divergence_diagnostics as diagnostics
from pm4py.objects.ocel.util import events_per_type_per_activity, objects_per_type_per_activity

import journeymine as jm
from journeymine.errors import ConfigError
from journeymine.processes import _objects as objects_module
from journeymine.processes._objects import summarize_objects
from journeymine.processes._ocdfg import discover_ocdfg

LOG = "ocel2-order-management/order-management.xml.gz"
EID, OID, TYPE, ACT = "ocel:eid", "ocel:oid", "ocel:type", "ocel:activity"


def differences(ours: dict, theirs: dict, what: str, tolerance: float = 0.0) -> list[str]:
    keys = sorted(set(ours) | set(theirs), key=repr)
    return [f"{what} {k!r}: journeymine {ours.get(k)} != pm4py {theirs.get(k)}" for k in keys
            if k not in ours or k not in theirs or not abs(ours[k] - theirs[k]) <= tolerance]


def brute_force(relations) -> tuple[dict, dict, dict, dict]:
    """(divergent objects and convergent events per (type, activity), distinct object pairs and shared
    events per ordered type pair), counted in plain Python from (event, activity, object, type) rows."""
    objects_of, type_of, activity = defaultdict(set), {}, {}
    for e, a, o, t in zip(relations[EID], relations[ACT], relations[OID], relations[TYPE]):
        objects_of[e].add(o)
        type_of[o], activity[e] = t, a
    events_of = defaultdict(list)
    pairs, shared, convergent = defaultdict(set), defaultdict(int), defaultdict(int)
    for e, objs in objects_of.items():
        per_type = defaultdict(int)
        for o in objs:
            events_of[(o, activity[e])].append(e)
            per_type[type_of[o]] += 1
        for s in per_type:
            convergent[(s, activity[e])] += per_type[s] > 1
            for t in per_type:
                shared[(s, t)] += s != t or per_type[s] > 1
        for a in objs:
            for b in objs - {a}:
                pairs[(type_of[a], type_of[b])].add((a, b))
    divergent = defaultdict(int)
    for (o, a), events in events_of.items():
        others = {frozenset(x for x in objects_of[e] if type_of[x] != type_of[o]) for e in events}
        divergent[(type_of[o], a)] += len(others) > 1
    return (dict(divergent), dict(convergent), {k: len(v) for k, v in pairs.items()},
            {k: n for k, n in shared.items() if n})


@pytest.fixture(scope="module")
def om(data_dir):
    """The Order Management log: our store, pm4py's OC-DFG and diagnostics (on deduplicated relations)."""
    ocel = pm4py.read_ocel2_xml(str(data_dir / LOG))
    raw_links = len(ocel.relations)
    theirs = pm4py.discover_ocdfg(ocel)
    ocel.relations = ocel.relations.drop_duplicates([EID, OID])
    answers = {
        "ocdfg": theirs, "raw_links": raw_links, "links": len(ocel.relations),
        "objects_per_event": objects_per_type_per_activity.apply(ocel),
        "events_per_object": events_per_type_per_activity.apply(ocel),
        "flags": diagnostics.apply(ocel), "brute": brute_force(ocel.relations),
    }
    with jm.connect(":memory:") as store:
        report = jm.read_ocel(data_dir / LOG, store)
        assert report.refused == 0 and report.events_imported == len(ocel.events)
        yield store, answers


@pytest.fixture(scope="module")
def om_graph(om):
    return discover_ocdfg(om[0])


def pm4py_edges(ocdfg: dict, metric: str) -> dict[tuple[str, str, str], int]:
    return {(t, a, b): len(v) for t, edges in ocdfg["edges"][metric].items() for (a, b), v in edges.items()}


def our_edges(graph, column: str) -> dict[tuple[str, str, str], float]:
    rows = graph.edges.to_pylist()
    keyed = {(r["object_type"], r["source"], r["target"]): r[column] for r in rows}
    assert len(keyed) == len(rows), "an edge is listed twice"
    return keyed


def test_what_the_log_has(om, om_graph):
    store, p = om
    assert om_graph.object_types == ("customers", "employees", "items", "orders", "packages", "products")
    assert om_graph.objects == {"customers": 15, "employees": 18, "items": 7_659, "orders": 2_000,
                                "packages": 1_128, "products": 20}
    assert (p["raw_links"], p["links"]) == (147_463, 147_385)  # 78 links listed twice
    assert sum(om_graph.activities.column("links").to_pylist()) == p["links"]
    assert om_graph.edges.num_rows == 225
    # counts of event couples are below the occurrences where objects of a type move together
    assert sum(our_edges(om_graph, "count").values()) < sum(our_edges(om_graph, "occurrences").values())


def test_ocdfg_edge_counts_equal_pm4py(om, om_graph):
    theirs = om[1]["ocdfg"]
    for column, metric in (("count", "event_couples"), ("objects", "unique_objects"),
                           ("occurrences", "total_objects")):
        assert differences(our_edges(om_graph, column), pm4py_edges(theirs, metric), column) == []


def test_ocdfg_waiting_times_equal_pm4py(om, om_graph):
    times = {(t, a, b): v for t, edges in om[1]["ocdfg"]["edges_performance"]["event_couples"].items()
             for (a, b), v in edges.items()}
    for column, stat in (("mean_seconds", np.mean), ("median_seconds", np.median)):
        theirs = {k: float(stat(v)) for k, v in times.items()}
        assert differences(our_edges(om_graph, column), theirs, column, tolerance=1e-6) == []


def test_start_end_and_activities_equal_pm4py(om, om_graph):
    theirs = om[1]["ocdfg"]
    for ours, key in ((om_graph.start, "start_activities"), (om_graph.end, "end_activities")):
        for metric in ("unique_objects", "total_objects"):
            expected = {(t, a): len(v) for t, acts in theirs[key][metric].items() for a, v in acts.items()}
            got = {(t, a): n for t, acts in ours.items() for a, n in acts.items()}
            assert differences(got, expected, key) == []
    rows = om_graph.activities.to_pylist()
    for column, metric in (("events", "events"), ("objects", "unique_objects"), ("links", "total_objects")):
        expected = {(t, a): len(v) for t, acts in theirs["activities_ot"][metric].items() for a, v in acts.items()}
        assert differences({(r["object_type"], r["activity"]): r[column] for r in rows}, expected, column) == []


def test_occurrences_are_the_flattened_dfg(om, om_graph):
    store = om[0]
    for object_type in ("orders", "items", "employees"):
        flat = jm.discover_dfg(store, object_type).edges.to_pylist()
        ours = {(a, b): n for (t, a, b), n in our_edges(om_graph, "occurrences").items() if t == object_type}
        assert ours == {(r["source"], r["target"]): r["count"] for r in flat}


def test_the_comparison_detects_a_difference(om, om_graph):
    theirs = pm4py_edges(om[1]["ocdfg"], "event_couples")
    ours = our_edges(om_graph, "count")
    edge = ("items", "place order", "pick item")
    assert ours[edge] == theirs[edge] == 1_915
    assert differences({**ours, edge: ours[edge] + 1}, theirs, "edge") != []
    assert differences({k: v for k, v in ours.items() if k != edge}, theirs, "edge") != []
    assert differences(our_edges(om_graph, "occurrences"), theirs, "edge") != []  # triples are not couples
    assert differences({**ours, edge: ours[edge] + 1e-3}, theirs, "edge", tolerance=1e-6) != []


def test_convergence_and_divergence_equal_pm4py_diagnostics(om):
    store, p = om
    summary = summarize_objects(store)
    rows = {(r["object_type"], r["activity"]): r for r in summary.activities.to_pylist()}
    for stats, what in ((p["objects_per_event"], "objects_per_event"), (p["events_per_object"], "events_per_object")):
        for stat in ("mean", "median", "max"):
            theirs = {(t, a): float(s[stat]) for a, per in stats.items() for t, s in per.items()}
            ours = {k: float(r[f"{stat}_{what}"]) for k, r in rows.items()}
            assert differences(ours, theirs, f"{stat} {what}", tolerance=1e-9) == []
    flags = p["flags"]
    convergent = {(t, a) for a, t in flags["convergence"]}
    assert {k for k, r in rows.items() if r["median_objects_per_event"] > 1} == convergent
    assert {k for k, r in rows.items() if r["median_events_per_object"] > 1} == {(t, a) for a, t in flags["divergence"]}
    assert rows[("orders", "place order")]["convergent_events"] == 0
    assert 0 < rows[("items", "place order")]["convergent_events"] < rows[("items", "place order")]["events"]


def test_divergence_convergence_and_links_equal_a_brute_force_count(om):
    store, p = om
    divergent, convergent, pairs, shared = p["brute"]
    summary = summarize_objects(store)
    ours = {(r["object_type"], r["activity"]): r["divergent_objects"] for r in summary.activities.to_pylist()}
    assert differences(ours, {k: divergent.get(k, 0) for k in ours}, "divergent objects") == []
    conv = {(r["object_type"], r["activity"]): r["convergent_events"] for r in summary.activities.to_pylist()}
    assert differences(conv, {k: convergent.get(k, 0) for k in conv}, "convergent events") == []
    assert sum(ours.values()) > 0 and ours[("items", "failed delivery")] == 0  # repeated, never divergent
    links = {(r["source_type"], r["target_type"]): r for r in summary.links.to_pylist()}
    expected = {k: n // 2 if k[0] == k[1] else n for k, n in pairs.items()}
    assert differences({k: r["object_pairs"] for k, r in links.items() if r["object_pairs"]}, expected, "pairs") == []
    assert differences({k: r["events"] for k, r in links.items() if r["events"]}, shared, "events") == []
    assert links[("orders", "items")]["o2o_links"] == 7_659 and links[("orders", "items")]["max_partners"] == 16


# --- a hand-made log ------------------------------------------------------------------------------------

T0 = dt.datetime(2024, 5, 1, 9, 0)
EVENTS = [  # (id, activity, minutes after T0, objects)
    ("e1", "place order", 0, [("customer", "c1"), ("order", "o1"), ("item", "i1"), ("item", "i2")]),
    ("e2", "place order", 10, [("customer", "c1"), ("order", "o2"), ("item", "i3")]),
    ("e3", "pick item", 20, [("order", "o1"), ("item", "i1"), ("item", "i2")]),
    ("e4", "pick item", 40, [("order", "o2"), ("item", "i3")]),
    ("e5", "pay order", 40, [("customer", "c1"), ("order", "o1"), ("order", "o2")]),  # tie with e4: load order
    ("e6", "create package", 60, [("package", "p1"), ("item", "i1"), ("item", "i2"), ("item", "i3")]),
    ("e7", "pick item", 70, [("order", "o1"), ("item", "i1")]),  # i1 picked again for the same order
    ("e8", "deliver", 80, [("package", "p1"), ("customer", "c1")]),
]
OBJECTS = [("customer", "c1"), ("order", "o1"), ("order", "o2"), ("order", "o3"), ("item", "i1"), ("item", "i2"),
           ("item", "i3"), ("package", "p1")]  # o3 has no events
O2O = [("order", "o1", "customer", "c1"), ("order", "o2", "customer", "c1"), ("order", "o3", "customer", "c1"),
       ("package", "p1", "item", "i1")]


def hand_made(store: jm.Store) -> jm.Store:
    links = [(k, t, o) for k, (_, _, _, objs) in enumerate(EVENTS) for t, o in objs]
    batch = jm.Batch(
        events=pa.table({"ord": pa.array(range(len(EVENTS)), pa.int64()), "id": [e[0] for e in EVENTS],
                         "key": pa.array([None] * len(EVENTS), pa.string()), "type": [e[1] for e in EVENTS],
                         "time": pa.array([T0 + dt.timedelta(minutes=e[2]) for e in EVENTS], pa.timestamp("us")),
                         "attributes": pa.array([None] * len(EVENTS), pa.string())}),
        objects=pa.table({"type": [o[0] for o in OBJECTS], "id": [o[1] for o in OBJECTS],
                          "attributes": pa.array([None] * len(OBJECTS), pa.string())}),
        event_objects=pa.table({"event_ord": pa.array([x[0] for x in links], pa.int64()),
                                "object_type": [x[1] for x in links], "object_id": [x[2] for x in links],
                                "qualifier": pa.array([None] * len(links), pa.string())}),
        object_objects=pa.table({"source_type": [x[0] for x in O2O], "source_id": [x[1] for x in O2O],
                                 "target_type": [x[2] for x in O2O], "target_id": [x[3] for x in O2O],
                                 "qualifier": ["placed_by"] * 3 + ["contains"]}),
    )
    report = store.load([batch])
    assert report.refused == 0 and report.events_imported == 8
    return store


@pytest.fixture()
def small(store):
    return hand_made(store)


def test_hand_made_ocdfg(small):
    g = discover_ocdfg(small)
    assert g.object_types == ("customer", "item", "order", "package")
    assert g.objects == {"customer": 1, "item": 3, "order": 2, "package": 1}  # o3 has no events
    assert g.events == {"customer": 4, "item": 6, "order": 6, "package": 2}
    edges = {(r["object_type"], r["source"], r["target"]): (r["count"], r["objects"], r["occurrences"],
                                                            r["mean_seconds"], r["median_seconds"], r["p90_seconds"])
             for r in g.edges.to_pylist()}
    assert edges == {
        ("customer", "place order", "place order"): (1, 1, 1, 600.0, 600.0, 600.0),
        ("customer", "place order", "pay order"): (1, 1, 1, 1800.0, 1800.0, 1800.0),
        ("customer", "pay order", "deliver"): (1, 1, 1, 2400.0, 2400.0, 2400.0),
        # i1 and i2 move together: e1 -> e3 is one couple on two items
        ("item", "place order", "pick item"): (2, 3, 3, 1500.0, 1500.0, 1740.0),
        ("item", "pick item", "create package"): (2, 3, 3, 1800.0, 1800.0, 2280.0),
        ("item", "create package", "pick item"): (1, 1, 1, 600.0, 600.0, 600.0),
        ("order", "place order", "pick item"): (2, 2, 2, 1500.0, 1500.0, 1740.0),
        # o2: e4 and e5 at the same time, in load order: pick, then pay (0 s)
        ("order", "pick item", "pay order"): (2, 2, 2, 600.0, 600.0, 1080.0),
        ("order", "pay order", "pick item"): (1, 1, 1, 1800.0, 1800.0, 1800.0),
        ("package", "create package", "deliver"): (1, 1, 1, 1200.0, 1200.0, 1200.0),
    }
    assert g.to_arrow().column("object_type").to_pylist()[:3] == ["customer"] * 3
    assert g.start == {"customer": {"place order": 1}, "item": {"place order": 3}, "order": {"place order": 2},
                       "package": {"create package": 1}}
    assert g.end == {"customer": {"deliver": 1}, "item": {"create package": 2, "pick item": 1},
                     "order": {"pay order": 1, "pick item": 1}, "package": {"deliver": 1}}
    acts = {(r["object_type"], r["activity"]): (r["events"], r["objects"], r["links"])
            for r in g.activities.to_pylist()}
    assert acts[("item", "pick item")] == (3, 3, 4) and acts[("order", "pay order")] == (1, 2, 2)
    assert acts[("item", "place order")] == (2, 3, 3) and acts[("customer", "place order")] == (2, 1, 2)
    assert g.edges_of("package") == {("create package", "deliver"): 1}
    assert json.loads(g.to_json())["start"]["order"] == {"place order": 2}


def test_hand_made_ocdfg_of_some_types_in_a_time_frame(small):
    g = discover_ocdfg(small, ["order", "item"], start=T0 + dt.timedelta(minutes=15),
                       end=(T0 + dt.timedelta(minutes=60)).isoformat())  # e3, e4, e5 (e6 at 60 is out)
    assert g.object_types == ("order", "item")
    assert [(r["object_type"], r["source"], r["target"], r["count"], r["objects"]) for r in g.edges.to_pylist()] == [
        ("order", "pick item", "pay order", 2, 2)]
    assert g.start == {"order": {"pick item": 2}, "item": {"pick item": 3}}
    assert g.end == {"order": {"pay order": 2}, "item": {"pick item": 3}}
    assert discover_ocdfg(small, "package", end=T0).objects == {"package": 0}


def test_hand_made_summary(small):
    s = summarize_objects(small)
    types = {r.pop("object_type"): r for r in s.types.to_pylist()}
    assert types["order"] == {"stored_objects": 3, "objects": 2, "events": 6, "links": 7, "mean_events": 3.5,
                              "median_events": 3.5, "max_events": 4, "mean_seconds": 3000.0, "median_seconds": 3000.0}
    assert types["item"] == {"stored_objects": 3, "objects": 3, "events": 6, "links": 10, "mean_events": 10 / 3,
                             "median_events": 3.0, "max_events": 4, "mean_seconds": 3600.0, "median_seconds": 3600.0}
    assert types["customer"]["mean_seconds"] == 4800.0 and types["package"]["links"] == 2
    cols = ["events", "objects", "links", "convergent_events", "mean_objects_per_event", "median_objects_per_event",
            "max_objects_per_event", "repeated_objects", "divergent_objects", "mean_events_per_object",
            "median_events_per_object", "max_events_per_object"]
    acts = {(r["object_type"], r["activity"]): tuple(r[c] for c in cols) for r in s.activities.to_pylist()}
    # o1's picks (e3, e7) concern different items: divergent; i1's picks (e3, e7) both concern o1: rework
    assert acts[("order", "pick item")] == (3, 2, 3, 0, 1.0, 1.0, 1, 1, 1, 1.5, 1.5, 2)
    assert acts[("item", "pick item")] == (3, 3, 4, 1, 4 / 3, 1.0, 2, 1, 0, 4 / 3, 1.0, 2)
    assert acts[("order", "pay order")] == (1, 2, 2, 1, 2.0, 2.0, 2, 0, 0, 1.0, 1.0, 1)  # one payment, two orders
    assert acts[("item", "create package")] == (1, 3, 3, 1, 3.0, 3.0, 3, 0, 0, 1.0, 1.0, 1)
    assert acts[("customer", "place order")] == (2, 1, 2, 0, 1.0, 1.0, 1, 1, 1, 2.0, 2.0, 2)
    assert len(acts) == 11
    link_cols = ["events", "object_pairs", "linked_objects", "mean_partners", "max_partners", "o2o_links"]
    links = {(r["source_type"], r["target_type"]): tuple(r[c] for c in link_cols) for r in s.links.to_pylist()}
    assert links == {
        ("customer", "item"): (2, 3, 1, 3.0, 3, 0), ("customer", "order"): (3, 2, 1, 2.0, 2, 0),
        ("customer", "package"): (1, 1, 1, 1.0, 1, 0),
        ("item", "customer"): (2, 3, 3, 1.0, 1, 0), ("item", "item"): (3, 3, 3, 2.0, 2, 0),
        ("item", "order"): (5, 3, 3, 1.0, 1, 0), ("item", "package"): (1, 3, 3, 1.0, 1, 0),
        ("order", "customer"): (3, 2, 2, 1.0, 1, 3), ("order", "item"): (5, 3, 2, 1.5, 2, 0),
        ("order", "order"): (1, 1, 2, 1.0, 1, 0),
        ("package", "customer"): (1, 1, 1, 1.0, 1, 0), ("package", "item"): (1, 3, 1, 3.0, 3, 1),
    }
    assert [(r["source_type"], r["target_type"]) for r in s.links.to_pylist()][:3] == [
        ("customer", "item"), ("customer", "order"), ("customer", "package")]
    assert s.to_arrow() is s.activities and json.loads(s.to_json())["types"][0]["object_type"] == "customer"


def test_hand_made_summary_of_one_type_still_looks_at_the_others(small):
    s = summarize_objects(small, "order")
    assert s.types.column("object_type").to_pylist() == ["order"]
    assert set(s.activities.column("object_type").to_pylist()) == {"order"}
    assert s.links.column("source_type").to_pylist() == ["order"] * 3
    assert s.to_dict()["activities"] == [r for r in summarize_objects(small).to_dict()["activities"]
                                         if r["object_type"] == "order"]
    # the window leaves o1 one pick (e3): no repetition; o3 never has events
    cut = summarize_objects(small, "order", end=T0 + dt.timedelta(minutes=60))
    row = next(r for r in cut.activities.to_pylist() if r["activity"] == "pick item")
    assert (row["events"], row["repeated_objects"], row["divergent_objects"]) == (2, 0, 0)


def test_object_pairs_are_the_same_in_small_parts(small, monkeypatch):
    """The pair step generates object pairs a few events at a time; tiny parts give the same links."""
    whole = summarize_objects(small).links
    monkeypatch.setattr(objects_module, "PAIR_CHUNK", 4)  # 16 pairs in e6 alone: every event its own part
    assert summarize_objects(small).links.equals(whole)


def test_an_empty_store(store):
    assert discover_ocdfg(store).to_dict() == {"object_types": [], "objects": {}, "events": {}, "edges": [],
                                               "activities": [], "start": {}, "end": {}}
    assert summarize_objects(store).to_dict() == {"object_types": [], "types": [], "activities": [], "links": []}


def test_a_type_without_events(store):
    store.load([jm.Batch(objects=pa.table({"type": ["product"], "id": ["p"],
                                           "attributes": pa.array([None], pa.string())}))])
    g = discover_ocdfg(store)
    assert (g.object_types, g.objects, g.edges.num_rows, g.start) == (("product",), {"product": 0}, 0, {"product": {}})
    s = summarize_objects(store)
    assert s.types.to_pylist()[0] == {"object_type": "product", "stored_objects": 1, "objects": 0, "events": 0,
                                      "links": 0, "mean_events": None, "median_events": None, "max_events": None,
                                      "mean_seconds": None, "median_seconds": None}
    assert s.activities.num_rows == s.links.num_rows == 0


@pytest.mark.parametrize("analysis", [discover_ocdfg, summarize_objects])
@pytest.mark.parametrize("bad", ["invoice", ["order", "invoice"], [], [3], 7])
def test_unknown_object_types_are_refused(small, analysis, bad):
    with pytest.raises(ConfigError) as info:
        analysis(small, bad)
    assert info.value.context["field"] == "object_types"
    assert "'customer', 'item', 'order', 'package'" in info.value.message


def test_bad_times_and_sources_are_refused(small):
    with pytest.raises(ConfigError) as info:
        discover_ocdfg(small, start="yesterday")
    assert info.value.context["field"] == "start"
    with pytest.raises(ConfigError):
        summarize_objects("store.duckdb")
    with pytest.raises(ConfigError):
        discover_ocdfg(small).edges_of("invoice")

"""Store.load semantics, the two views, info and transactions, on a real DuckDB file."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

import journeymine as jm
from journeymine.errors import ConfigError

T0 = dt.datetime(2024, 5, 1, 10, 0)


def _events(rows):
    """rows: (ord, id, key, type, seconds after T0, attributes)"""
    cols = list(zip(*rows))
    return pa.table({
        "ord": pa.array(cols[0], pa.int64()), "id": pa.array(cols[1], pa.string()),
        "key": pa.array(cols[2], pa.string()), "type": pa.array(cols[3], pa.string()),
        "time": pa.array([T0 + dt.timedelta(seconds=s) for s in cols[4]], pa.timestamp("us")),
        "attributes": pa.array(cols[5], pa.string()),
    })


def _objects(rows):
    return pa.table({"type": [r[0] for r in rows], "id": [r[1] for r in rows],
                     "attributes": pa.array([None] * len(rows), pa.string())})


def _links(rows):
    return pa.table({"event_ord": pa.array([r[0] for r in rows], pa.int64()),
                     "object_type": pa.array([r[1] for r in rows], pa.string()),
                     "object_id": [r[2] for r in rows], "qualifier": pa.array([None] * len(rows), pa.string())})


def _shop_batch():
    events = _events([
        (0, "e1", None, "view", 0, None),
        (1, "e2", None, "add_to_cart", 30, None),
        (2, "e3", None, "checkout", 60, '{"amount": 20.5}'),
        (3, "e4", None, "pick", 3600, None),
        (4, "e5", None, "deliver", 86400, None),
    ])
    objects = _objects([("customer", "c1"), ("order", "o1")])
    links = _links([(0, "customer", "c1"), (1, "customer", "c1"), (2, "customer", "c1"), (2, "order", "o1"),
                    (3, "order", "o1"), (4, "order", "o1"), (4, "customer", "c1")])
    return jm.Batch(events=events, objects=objects, event_objects=links)


def test_load_reports_counts_and_info_matches(store):
    report = store.load([_shop_batch()], source="shop")
    assert (report.events_imported, report.objects_imported, report.links_imported) == (5, 2, 7)
    assert report.refused == 0 and report.duplicates_skipped == 0
    info = store.info()
    assert info.events == 5 and info.objects_by_type == {"customer": 1, "order": 1}
    assert info.first_event == T0 and info.last_event == T0 + dt.timedelta(days=1)
    assert info.events_by_type["checkout"] == 1
    runs = store.runs().to_pylist()
    assert runs[0]["source"] == "shop" and runs[0]["events_imported"] == 5


def test_an_event_linked_to_order_and_customer_is_in_both_views(store):
    store.load([_shop_batch()])
    journey = store.journey("c1")
    assert journey["activity"].to_pylist() == ["view", "add_to_cart", "checkout", "deliver"]
    process = store.process_view("order")
    assert process["case_id"].to_pylist() == ["o1"] * 3
    assert process["activity"].to_pylist() == ["checkout", "pick", "deliver"]
    assert set(journey["event_id"].to_pylist()) & set(process["event_id"].to_pylist()) == {"e3", "e5"}


def test_seq_projection_is_ordered_by_object_and_time_with_integer_types(store):
    store.load([_shop_batch()])
    seq = store.query("SELECT * FROM seq").to_pylist()
    keys = [(r["object_type"], r["object_code"], r["time"], r["event_code"]) for r in seq]
    assert keys == sorted(keys)
    assert all(isinstance(r["type_code"], int) for r in seq)
    names = store.query("SELECT name FROM event_type")["name"].to_pylist()
    assert sorted(names) == ["add_to_cart", "checkout", "deliver", "pick", "view"]


def test_reload_adds_nothing_and_counts_duplicates(store):
    store.load([_shop_batch()])
    again = store.load([_shop_batch()])
    assert again.events_imported == 0 and again.duplicates_skipped == 5 and again.objects_imported == 0
    assert store.info().events == 5 and store.info().event_object_links == 7


def test_content_hash_ids_keep_identical_events_within_one_import(store):
    events = _events([(0, None, "same", "click", 0, None), (1, None, "same", "click", 0, None),
                      (2, None, "other", "click", 5, None)])
    batch = jm.Batch(events=events, objects=_objects([("customer", "c1")]),
                     event_objects=_links([(0, "customer", "c1"), (1, "customer", "c1"), (2, "customer", "c1")]))
    assert store.load([batch]).events_imported == 3
    ids = store.query("SELECT id FROM event ORDER BY code")["id"].to_pylist()
    assert len(set(ids)) == 3 and ids[1] == ids[0] + "-1"
    assert store.load([batch]).events_imported == 0


def test_repeat_key_across_batches_of_one_import_is_numbered_on(store):
    def batch(ord_):
        return jm.Batch(events=_events([(ord_, None, "same", "click", 0, None)]),
                        objects=_objects([("customer", "c1")]), event_objects=_links([(ord_, "customer", "c1")]))
    assert store.load([batch(0), batch(1)]).events_imported == 2


def test_unknown_object_reference_refuses_the_event_into_quarantine(store):
    events = _events([(0, "ok", None, "view", 0, None), (1, "bad", None, "view", 1, None)])
    batch = jm.Batch(events=events, objects=_objects([("customer", "c1")]),
                     event_objects=_links([(0, "customer", "c1"), (1, "customer", "ghost")]))
    report = store.load([batch])
    assert report.events_imported == 1 and report.refused == 1
    q = store.quarantine().to_pylist()
    assert len(q) == 1 and "unknown object reference" in q[0]["reason"] and '"ghost"' in q[0]["reason"]
    assert '"bad"' in q[0]["position"] and q[0]["run_id"] == report.run_id


def test_null_object_type_resolves_a_unique_id_and_refuses_an_ambiguous_one(store):
    store.load([jm.Batch(objects=_objects([("customer", "x"), ("order", "x"), ("order", "o9")]))])
    events = _events([(0, "a", None, "pay", 0, None), (1, "b", None, "pay", 1, None)])
    report = store.load([jm.Batch(events=events, event_objects=_links([(0, None, "o9"), (1, None, "x")]))])
    assert report.events_imported == 1
    assert "ambiguous object reference" in store.quarantine()["reason"][0].as_py()


def test_object_ids_are_scoped_by_type(store):
    report = store.load([jm.Batch(objects=_objects([("customer", "1"), ("order", "1"), ("order", "1")]))])
    assert report.objects_imported == 2


def test_failure_inside_an_import_leaves_the_store_unchanged(store):
    store.load([_shop_batch()])
    before = store.info().to_dict()

    def broken():
        yield jm.Batch(events=_events([(0, "n1", None, "view", 0, None)]), objects=_objects([("customer", "c2")]),
                       event_objects=_links([(0, "customer", "c2")]))
        raise jm.errors.FormatError("truncated input")

    with pytest.raises(jm.errors.FormatError):
        store.load(broken())
    assert store.info().to_dict() == before


def test_object_links_and_changes(store):
    store.load([_shop_batch()])
    o2o = pa.table({"source_type": ["order", "order"], "source_id": ["o1", "o1"], "target_type": ["customer", None],
                    "target_id": ["c1", "nobody"], "qualifier": ["placed by", None]})
    changes = pa.table({"object_type": ["order"], "object_id": ["o1"],
                        "time": pa.array([T0], pa.timestamp("us")), "field": ["status"], "value": ['"paid"']})
    report = store.load([jm.Batch(object_objects=o2o, object_changes=changes)])
    assert report.links_imported == 1 and report.refused == 1
    assert store.query("SELECT count(*) AS n FROM object_change")["n"][0].as_py() == 1
    assert store.load([jm.Batch(object_objects=o2o, object_changes=changes)]).links_imported == 0


def test_journey_of_unknown_object_names_the_parameter(store):
    with pytest.raises(ConfigError, match="object_id parameter of journey"):
        store.journey("nobody")


def test_batch_with_missing_column_is_rejected():
    with pytest.raises(ValueError, match="lacks column"):
        jm.Batch(events=pa.table({"ord": [0]}))


def test_store_file_persists_across_connections(tmp_path):
    path = tmp_path / "s.duckdb"
    with jm.connect(path) as s:
        s.load([_shop_batch()])
    with jm.connect(path, read_only=True) as s:
        assert s.info().events == 5
        with pytest.raises(jm.errors.ReadOnlyStoreError):
            s.load([_shop_batch()])


def test_links_to_events_outside_the_batch_are_not_stored(store):
    batch = jm.Batch(events=_events([(0, "e1", None, "view", 0, None)]), objects=_objects([("customer", "c1")]),
                     event_objects=_links([(0, "customer", "c1"), (5, "customer", "c1")]))
    assert store.load([batch]).links_imported == 1
    assert store.info().event_object_links == 1


def test_content_ids_stay_with_their_events_in_a_large_multi_chunk_batch(store):
    n, chunks = 300_000, 7
    keys = [f"k{i}" for i in range(n)]
    step = n // chunks + 1
    events = pa.table({
        "ord": pa.chunked_array([pa.array(range(i, min(i + step, n)), pa.int64()) for i in range(0, n, step)]),
        "id": pa.nulls(n, pa.string()), "key": keys, "type": [f"t{i % 13}" for i in range(n)],
        "time": pa.array([T0 + dt.timedelta(seconds=i) for i in range(n)], pa.timestamp("us")),
        "attributes": [f'{{"k": "k{i}"}}' for i in range(n)],
    })
    links = pa.table({"event_ord": pa.array(range(n), pa.int64()), "object_type": ["customer"] * n,
                      "object_id": [f"c{i % 1000}" for i in range(n)], "qualifier": pa.nulls(n, pa.string())})
    objects = pa.table({"type": ["customer"] * 1000, "id": [f"c{i}" for i in range(1000)],
                        "attributes": pa.nulls(1000, pa.string())})
    assert store.load([jm.Batch(events=events, objects=objects, event_objects=links)]).events_imported == n
    mismatched = store.query(
        """SELECT count(*) AS n FROM event
           WHERE id <> substr(md5(json_extract_string(attributes, '$.k')), 1, 20)
              OR type <> 't' || (CAST(substr(json_extract_string(attributes, '$.k'), 2) AS BIGINT) % 13)
              OR code <> CAST(substr(json_extract_string(attributes, '$.k'), 2) AS BIGINT)"""
    )["n"][0].as_py()
    assert mismatched == 0
    links_back = store.query(
        """SELECT o.id AS object_id, json_extract_string(e.attributes, '$.k') AS k
           FROM event_object eo JOIN event e ON e.code = eo.event_code JOIN object o ON o.code = eo.object_code"""
    ).to_pylist()
    assert len(links_back) == n
    assert all(r["object_id"] == f"c{int(r['k'][1:]) % 1000}" for r in links_back)


def test_bulk_builds_the_projection_once_at_the_end(tmp_path):
    def batch(ids, customer):
        return jm.Batch(events=pa.table({"ord": list(range(len(ids))), "id": ids, "key": [None] * len(ids),
                                         "type": ["view"] * len(ids),
                                         "time": pa.array([1_000_000 * (i + 1) for i in range(len(ids))],
                                                          pa.timestamp("us")),
                                         "attributes": [None] * len(ids)}),
                        objects=pa.table({"type": ["customer"], "id": [customer], "attributes": [None]}),
                        event_objects=pa.table({"event_ord": list(range(len(ids))), "object_type": ["customer"] * len(ids),
                                                "object_id": [customer] * len(ids), "qualifier": [None] * len(ids)}))

    with jm.connect(tmp_path / "b.duckdb") as store:
        with store.bulk():
            store.load([batch(["a1", "a2"], "c1")])
            store.load([batch(["b1"], "c2")])
            assert store.query("SELECT count(*) FROM seq").column(0)[0].as_py() == 0  # stale inside the block
            store.identify("c2", "c1", anonymous_type="customer")
        assert store.journey("c1").column("event_id").to_pylist() == ["a1", "b1", "a2"]
        assert store.info().import_runs == 2


def test_ord_repeated_across_batches_of_one_import_is_refused(store):
    def batch(ids):
        n = len(ids)
        return jm.Batch(events=pa.table({"ord": list(range(n)), "id": ids, "key": [None] * n, "type": ["view"] * n,
                                         "time": pa.array([1_000_000] * n, pa.timestamp("us")),
                                         "attributes": [None] * n}))

    with pytest.raises(jm.errors.IngestError, match="repeat an ord"):
        store.load([batch(["a", "b"]), batch(["c"])])
    assert store.info().events == 0  # the import was rolled back

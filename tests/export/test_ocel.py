"""OCEL 2.0 export (JSON, SQLite): round trips through read_ocel, declarations, the spec's table layout,
ids shared by several object types."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pyarrow as pa
import pytest

import journeymine as jm
from journeymine.export._ocel import write_ocel
from journeymine.ingest._ocel import read_ocel

SOURCES = {
    "example": "ocel2-example/ocel20_example.xmlocel",
    "order-management": "ocel2-order-management/order-management.xml.gz",
}
TS = pa.timestamp("us")


def _snapshot(store) -> dict[str, object]:
    """Everything OCEL carries, keyed by ids (codes differ between stores); JSON compared parsed."""
    info = store.info()
    objects = {(r["type"], r["id"]): json.loads(r["attributes"]) if r["attributes"] else None
               for r in store.query("SELECT type, id, attributes FROM object").to_pylist()}
    events = {(r["id"], r["type"], r["time"]): json.loads(r["attributes"]) if r["attributes"] else None
              for r in store.query("SELECT id, type, time, attributes FROM event").to_pylist()}
    e2o = store.query(
        "SELECT e.id AS e, o.type AS t, o.id AS o, l.qualifier AS q FROM event_object l "
        "JOIN event e ON e.code = l.event_code JOIN object o ON o.code = l.object_code").to_pylist()
    o2o = store.query(
        "SELECT s.id AS s, t.id AS t, l.qualifier AS q FROM object_object l "
        "JOIN object s ON s.code = l.source_code JOIN object t ON t.code = l.target_code").to_pylist()
    changes = store.query(
        "SELECT o.type, o.id, c.time, c.field, CAST(c.value AS VARCHAR) AS v FROM object_change c "
        "JOIN object o ON o.code = c.object_code").to_pylist()
    return {
        "counts": (info.events, info.objects, info.event_object_links, info.object_object_links),
        "objects_by_type": info.objects_by_type, "events_by_type": info.events_by_type,
        "objects": objects, "events": events,
        "e2o": sorted(tuple(r.values()) for r in e2o), "o2o": sorted(tuple(r.values()) for r in o2o),
        "changes": sorted((r["type"], r["id"], r["time"], r["field"], json.loads(r["v"])) for r in changes),
    }


@pytest.fixture(scope="module", params=list(SOURCES))
def source(request, data_dir, tmp_path_factory):
    with jm.connect(tmp_path_factory.mktemp(request.param) / "src.duckdb") as store:
        read_ocel(data_dir / SOURCES[request.param], store)
        yield request.param, store, _snapshot(store)


@pytest.mark.parametrize("suffix", [".jsonocel", ".sqlite"])
def test_round_trip_keeps_everything(source, suffix, tmp_path):
    name, store, snap = source
    out = tmp_path / f"{name}{suffix}"
    written = write_ocel(store, out)
    assert written["format"] == ("json" if suffix == ".jsonocel" else "sqlite")
    keys = ("events", "objects", "event_object_links", "object_object_links")
    assert tuple(written[k] for k in keys) == snap["counts"]
    assert written["object_changes"] == len(snap["changes"]) and written["prefixed_object_ids"] == 0
    with jm.connect(tmp_path / "back.duckdb") as back:
        report = read_ocel(out, back)
        assert report.refused == 0
        again = _snapshot(back)
    assert again["counts"] == snap["counts"]
    assert set(again["events"]) == set(snap["events"])  # (event id, type, time)
    assert again == snap  # attributes, links with qualifiers, object changes too
    if name == "order-management":
        assert snap["counts"] == (21_008, 10_840, 147_463, 28_391)
    else:
        assert snap["counts"] == (13, 9, 20, 7)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_json_layout_and_declarations(data_dir, tmp_path):
    with jm.connect(tmp_path / "s.duckdb") as store:
        read_ocel(data_dir / SOURCES["order-management"], store)
        write_ocel(store, tmp_path / "om.json")
    doc = json.loads((tmp_path / "om.json").read_text())
    assert list(doc) == ["objectTypes", "eventTypes", "objects", "events"]
    otypes = {t["name"]: {a["name"]: a["type"] for a in t["attributes"]} for t in doc["objectTypes"]}
    assert otypes == {"customers": {}, "employees": {"role": "string"}, "items": {"price": "float", "weight": "float"},
                      "orders": {"price": "float"}, "packages": {"weight": "float"},
                      "products": {"price": "float", "weight": "float"}}
    assert {t["name"] for t in doc["eventTypes"]} >= {"place order", "pick item"}
    order = next(o for o in doc["objects"] if o["id"] == "o-990001")
    assert order["type"] == "orders"
    assert order["attributes"] == [{"name": "price", "time": "1970-01-01T00:00:00Z", "value": 1353.98},
                                   {"name": "price", "time": "2023-04-03T10:08:18Z", "value": 1353.98}]
    assert {"objectId": "i-880001", "qualifier": "comprises"} in order["relationships"]
    event = doc["events"][0]
    assert set(event) == {"id", "type", "time", "attributes", "relationships"}
    assert event["time"].endswith("Z") and all(set(r) == {"objectId", "qualifier"} for r in event["relationships"])


def test_sqlite_layout_follows_the_spec(data_dir, tmp_path):
    with jm.connect(tmp_path / "s.duckdb") as store:
        read_ocel(data_dir / "ocel2-example/ocel20_example.jsonocel", store)
        write_ocel(store, tmp_path / "ex.sqlite")
    con = sqlite3.connect(tmp_path / "ex.sqlite")
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert tables == {
            "event", "object", "event_object", "object_object", "event_map_type", "object_map_type",
            "event_ApprovePurchaseRequisition", "event_ChangePOQuantity", "event_CreatePurchaseOrder",
            "event_CreatePurchaseRequisition", "event_InsertInvoice", "event_InsertPayment",
            "event_RemovePaymentBlock", "event_SetPaymentBlock",
            "object_Invoice", "object_Payment", "object_PurchaseOrder", "object_PurchaseRequisition",
        }
        assert dict(con.execute("SELECT * FROM object_map_type"))["Purchase Order"] == "PurchaseOrder"
        cols = [r[1] for r in con.execute("PRAGMA table_info(object_PurchaseOrder)")]
        assert cols == ["ocel_id", "ocel_time", "ocel_changed_field", "po_product", "po_quantity"]
        rows = con.execute("SELECT * FROM object_PurchaseOrder WHERE ocel_id = 'PO1' ORDER BY ocel_time").fetchall()
        assert rows == [("PO1", "1970-01-01 00:00:00", None, "Cows", "500"),
                        ("PO1", "2022-01-13 11:00:00", "po_quantity", None, "600")]
        times = con.execute("SELECT ocel_time FROM event_CreatePurchaseRequisition").fetchall()
        assert times == [("2022-01-09 14:00:00",)]
        assert con.execute("SELECT count(*) FROM event_object").fetchone() == (20,)
        assert con.execute("SELECT * FROM object_object WHERE ocel_source_id = 'PR1'").fetchall() == [
            ("PR1", "PO1", "PO from PR")]
    finally:
        con.close()


def _shared_id_store(path: Path) -> jm.Store:
    store = jm.connect(path)
    t = pa.array([dt.datetime(2024, 1, 1, 10), dt.datetime(2024, 1, 1, 11)], TS)
    store.load([jm.Batch(
        objects=pa.table({"type": ["customer", "order", "order"], "id": ["1", "1", "2"],
                          "attributes": ['{"age": 40}', None, None]}),
        events=pa.table({"ord": [0, 1], "id": ["e1", "e2"], "key": pa.nulls(2, pa.string()),
                         "type": ["place", "place"], "time": t, "attributes": [None, '{"n": 1, "x": "a"}']}),
        event_objects=pa.table({"event_ord": [0, 0, 1], "object_type": ["customer", "order", "order"],
                                "object_id": ["1", "1", "2"], "qualifier": [None, "placed", None]}),
        object_objects=pa.table({"source_type": ["order"], "source_id": ["1"], "target_type": ["customer"],
                                 "target_id": ["1"], "qualifier": [None]}),
    )])
    return store


@pytest.mark.parametrize("suffix", [".jsonocel", ".sqlite"])
def test_ids_shared_by_two_types_get_the_type_prefix(tmp_path, suffix):
    with _shared_id_store(tmp_path / "s.duckdb") as store:
        written = write_ocel(store, tmp_path / f"out{suffix}")
    assert written["prefixed_object_ids"] == 2
    with jm.connect(tmp_path / "back.duckdb") as back:
        assert read_ocel(tmp_path / f"out{suffix}", back).refused == 0
        ids = back.query("SELECT type, id FROM object ORDER BY type, id").to_pylist()
        assert [(r["type"], r["id"]) for r in ids] == [("customer", "customer:1"), ("order", "2"), ("order", "order:1")]
        links = back.query("SELECT e.id, o.id AS oid, l.qualifier FROM event_object l "
                           "JOIN event e ON e.code = l.event_code JOIN object o ON o.code = l.object_code "
                           "ORDER BY e.id, o.id").to_pylist()
        # a missing qualifier is written as "" and read back as no qualifier
        assert [tuple(r.values()) for r in links] == [("e1", "customer:1", None), ("e1", "order:1", "placed"),
                                                      ("e2", "2", None)]
        assert back.info().object_object_links == 1
        attrs = back.query("SELECT attributes FROM event WHERE id = 'e2'").column(0)[0].as_py()
        assert json.loads(attrs) == {"n": 1, "x": "a"}


def test_prefix_collision_is_an_export_error(tmp_path):
    with _shared_id_store(tmp_path / "s.duckdb") as store:
        store.load([jm.Batch(objects=pa.table({"type": ["note"], "id": ["order:1"], "attributes": [None]}))])
        with pytest.raises(jm.errors.ExportError, match="unique object ids"):
            write_ocel(store, tmp_path / "out.jsonocel")
    assert not list(tmp_path.glob("out*"))


def test_format_choice(tmp_path, data_dir):
    with jm.connect(tmp_path / "s.duckdb") as store:
        read_ocel(data_dir / "ocel2-example/ocel20_example.xmlocel", store)
        with pytest.raises(jm.errors.ExportError, match="cannot be told"):
            write_ocel(store, tmp_path / "out.xmlocel")
        with pytest.raises(jm.errors.ExportError, match="format parameter"):
            write_ocel(store, tmp_path / "out.json", format="xml")
        assert write_ocel(store, tmp_path / "out.data", format="ocel-sqlite")["format"] == "sqlite"
        assert (tmp_path / "out.data").read_bytes().startswith(b"SQLite format 3\x00")
        target = tmp_path / "out.json"
        target.write_text("old")
        write_ocel(store, target)  # an existing file is replaced
        assert len(json.loads(target.read_text())["events"]) == 13


def test_read_only_store_can_be_exported(tmp_path, data_dir):
    with jm.connect(tmp_path / "s.duckdb") as store:
        read_ocel(data_dir / "ocel2-example/ocel20_example.xmlocel", store)
    with jm.connect(tmp_path / "s.duckdb", read_only=True) as store:
        assert write_ocel(store, tmp_path / "ro.sqlite")["events"] == 13
